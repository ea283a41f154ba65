"""voc: Pascal VOC detection, one XML file per image.

```
dataset/
  Annotations/a.xml          <annotation><filename>a.jpg</filename><size>...</size>
                               <object><name>cat</name><difficult>0</difficult>
                               <bndbox><xmin>10</xmin>...<ymax>40</ymax></bndbox></object>
  JPEGImages/a.jpg
  ImageSets/Main/train.txt   one image id (the XML file's stem) a line: the split
  labelmap.txt               written for Datumaro; not read
```

Every image named by an XML file is a data object; its annotation is in the common
shape of ``formats.shapes``: ``size`` (width, height and depth), pixel ``boxes``
(x = xmin, y = ymin, w = xmax - xmin, h = ymax - ymin, as Datumaro and
label-studio-converter read them) whose ``voc`` block keeps the object's other fields
(``difficult``, ``truncated``, ``pose``, ``occluded``, ...) and its ``bndbox`` as written,
``split`` from the ImageSets file that lists it, and the file's other fields
(``filename``, ``folder``, ``source``, ``segmented``, ...) under ``voc``. An image in
``JPEGImages/`` without an XML file is indexed without annotation. Indexing a folder
again when none of its files changed (paths, sizes and modification times) reads no XML.

XML files are untrusted data: they are read by expat with every document type
declaration refused, so no entity is ever expanded or fetched (``parse_xml``).
"""

from __future__ import annotations

import io
import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ldb_clone.errors import FormatError, ObjectNotFoundError
from ldb_clone.formats.base import IndexItem, ParseContext
from ldb_clone.formats.classes import dataset_classes, yolo_ids
from ldb_clone.formats.convert import (
    UniqueNames,
    image_size,
    item_shapes,
    recorded_name,
    safe_name,
)
from ldb_clone.formats.exporting import (
    ExportContext,
    ExportItem,
    ExportPlan,
    ItemOutput,
    OutFile,
    safe_component,
    safe_relpath,
)
from ldb_clone.formats.shapes import Box, Shapes, tidy
from ldb_clone.formats.splits import object_splits
from ldb_clone.fs import LOCAL, FileEntry, Listing, join_url

ANNOTATIONS_DIR = "Annotations"
IMAGES_DIR = "JPEGImages"
SPLITS_DIR = "ImageSets/Main"
LABELMAP = "labelmap.txt"
NO_SPLIT = "default"  # Datumaro's name for the images of no subset: not stored as a split
SPLIT_ORDER = ("train", "val", "test")  # an image in several lists takes the first of these
IMAGE_SUFFIXES = {
    ".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp",
}  # fmt: skip
KEY = "voc"
COORDINATES = ("xmin", "ymin", "xmax", "ymax")
DOCUMENT = "Pascal VOC file"
_INTEGER = re.compile(r"^-?[0-9]+$")


# reading XML safely -----------------------------------------------------------------------


def parse_xml(data: bytes, url: str) -> ET.Element:
    """The root element of an XML document, read by expat with DTDs refused.

    NOTE: ``xml.etree.ElementTree.fromstring`` would expand internal entities (the
    "billion laughs" document); a VOC file never needs a DTD, so one is an error."""
    from xml.parsers import expat

    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()

    def refuse(*_: Any) -> None:
        raise FormatError(
            f"Unsafe XML in {url}: a document type declaration (<!DOCTYPE or <!ENTITY) is not "
            "allowed in a Pascal VOC file"
        )

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
        return builder.close()
    except expat.ExpatError as exc:
        raise FormatError(
            f"Invalid XML in {url} line {exc.lineno} column {exc.offset + 1}: "
            f"{expat.errors.messages[exc.code]}"
        ) from exc


def element_value(element: ET.Element) -> Any:
    """An element as JSON: its text (an int when it is one) when it has no children,
    else an object of its children (a tag repeated gives a list)."""
    children = list(element)
    if not children:
        text = (element.text or "").strip()
        return int(text) if _INTEGER.match(text) else text
    value: dict[str, Any] = {}
    for child in children:
        if child.tag in value:
            if not isinstance(value[child.tag], list):
                value[child.tag] = [value[child.tag]]
            value[child.tag].append(element_value(child))
        else:
            value[child.tag] = element_value(child)
    return value


def add_elements(parent: ET.Element, tag: str, value: Any) -> None:
    """The inverse of ``element_value``: ``value`` as ``<tag>`` children of ``parent``."""
    if isinstance(value, list):
        for each in value:
            add_elements(parent, tag, each)
        return
    element = ET.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, each in value.items():
            add_elements(element, key, each)
    elif value is not None:
        element.text = _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# indexing ---------------------------------------------------------------------------------


@dataclass
class _Dataset:
    root: str
    url: str
    listed: dict[str, FileEntry]  # path below the root -> entry


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    items: list[IndexItem] = []
    # NOTE: every file is read and checked before the first item is handed over, so that
    # a bad file stops the run before anything is written
    for dataset in _datasets(listings):
        fingerprint = _fingerprint(dataset)
        key = f"voc:{dataset.url}"
        if ctx.recall(key) == fingerprint:
            # NOTE: no file of the folder changed since it was last indexed: its images
            # are handed on without annotations (the stat cache vouches for them), and no
            # XML file or ImageSets list is read
            ctx.info(f"{dataset.url} is unchanged since it was last indexed: XML files not read")
            items.extend(IndexItem(data=entry) for entry in _images(dataset).values())
            continue
        items.extend(_items(ctx, dataset))
        ctx.remember(key, fingerprint)
    return iter(items)


def _fingerprint(dataset: _Dataset) -> str:
    """A digest of every file's path, size and modification time in the folder."""
    import hashlib

    digest = hashlib.sha256()
    for rel, entry in sorted(dataset.listed.items()):
        digest.update(f"{rel}\0{entry.size}\0{entry.mtime_ns}\n".encode())
    return digest.hexdigest()


def _images(dataset: _Dataset) -> dict[str, FileEntry]:
    """Every image in JPEGImages/, by its path below the dataset folder."""
    return {
        rel: entry
        for rel, entry in dataset.listed.items()
        if rel.startswith(IMAGES_DIR + "/") and posixpath.splitext(rel)[1].lower() in IMAGE_SUFFIXES
    }


def _datasets(listings: list[Listing]) -> list[_Dataset]:
    datasets = []
    for listing in listings:
        if not listing.is_dir:
            raise FormatError(
                f"voc indexes dataset folders, and '{listing.arg}' is a file; pass the folder "
                f"holding {ANNOTATIONS_DIR}/ and {IMAGES_DIR}/"
            )
        root = listing.root.rstrip("/")
        listed = {e.path[len(root) + 1 :]: e for e in listing.entries}
        if not any(_is_annotation(rel) for rel in listed):
            raise FormatError(
                f"No {ANNOTATIONS_DIR}/*.xml in {listing.arg}: a Pascal VOC dataset folder holds "
                f"{ANNOTATIONS_DIR}/, {IMAGES_DIR}/ and {SPLITS_DIR}/"
            )
        datasets.append(_Dataset(root, join_url(listing.entries[0].protocol, root), listed))
    return datasets


def _is_annotation(rel: str) -> bool:
    return rel.startswith(ANNOTATIONS_DIR + "/") and rel.lower().endswith(".xml")


def _items(ctx: ParseContext, dataset: _Dataset) -> list[IndexItem]:
    splits = _splits(ctx, dataset)
    images = _images(dataset)
    by_stem: dict[str, str] = {}
    for rel in sorted(images):
        by_stem.setdefault(posixpath.splitext(rel[len(IMAGES_DIR) + 1 :])[0], rel)
    items: list[IndexItem] = []
    used: set[str] = set()
    for rel in sorted(r for r in dataset.listed if _is_annotation(r)):
        entry = dataset.listed[rel]
        image_id = posixpath.splitext(rel[len(ANNOTATIONS_DIR) + 1 :])[0]
        root = parse_xml(ctx.read_bytes(entry), entry.url)
        image_rel = _image_of(root, image_id, images, by_stem, entry)
        used.add(image_rel)
        record = _record(ctx, root, entry, images[image_rel])
        if image_id in splits:
            record["split"] = splits[image_id]
        items.append(IndexItem(data=images[image_rel], annotation=record))
    lone = [rel for rel in sorted(images) if rel not in used]
    if lone:
        ctx.info(
            f"{len(lone)} images in {dataset.url}/{IMAGES_DIR}/ have no annotation file and "
            "were indexed without annotation"
        )
        items.extend(IndexItem(data=images[rel]) for rel in lone)
    return items


def _image_of(
    root: ET.Element,
    image_id: str,
    images: dict[str, FileEntry],
    by_stem: dict[str, str],
    entry: FileEntry,
) -> str:
    """The image an annotation file names: JPEGImages/<filename>, else the image of the
    same stem as the XML file."""
    filename = (root.findtext("filename") or "").strip()
    if filename and f"{IMAGES_DIR}/{filename}" in images:
        return f"{IMAGES_DIR}/{filename}"
    for stem in (posixpath.splitext(filename)[0], image_id):
        if stem in by_stem:
            return by_stem[stem]
    named = f"{IMAGES_DIR}/{filename or image_id + '.*'}"
    raise ObjectNotFoundError(f"Image not found: {named} (the image of {entry.url})")


def _splits(ctx: ParseContext, dataset: _Dataset) -> dict[str, str]:
    """image id -> split, from ImageSets/Main/<split>.txt (one id a line). Files of
    ``<class>_<split>.txt`` (an id and 1, 0 or -1 a line) are not splits and are skipped."""
    found: dict[str, list[str]] = {}
    prefix = SPLITS_DIR + "/"
    for rel in sorted(dataset.listed):
        if not rel.startswith(prefix) or not rel.endswith(".txt") or "/" in rel[len(prefix) :]:
            continue
        split = rel[len(prefix) : -len(".txt")]
        lines = [line.split() for line in _decode(ctx, dataset.listed[rel]).splitlines()]
        lines = [line for line in lines if line]
        if any(len(line) != 1 for line in lines):
            continue
        for (image_id,) in lines:
            found.setdefault(image_id, []).append(split)
    order = {name: position for position, name in enumerate(SPLIT_ORDER)}
    chosen = {
        image_id: min(names, key=lambda n: (order.get(n, len(order)), n))
        for image_id, names in found.items()
    }
    return {image_id: split for image_id, split in chosen.items() if split != NO_SPLIT}


def _decode(ctx: ParseContext, entry: FileEntry) -> str:
    data = ctx.read_bytes(entry)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"Not a UTF-8 text: {entry.url}: byte at offset {exc.start}") from exc


def _record(
    ctx: ParseContext, root: ET.Element, entry: FileEntry, image: FileEntry
) -> dict[str, Any]:
    where = f"Invalid {DOCUMENT} {entry.url} at"
    if root.tag != "annotation":
        raise FormatError(f"{where} {root.tag}: the root element must be <annotation>")
    record: dict[str, Any] = {"size": _size(ctx, root, where, image), "boxes": []}
    for position, obj in enumerate(root.findall("object"), 1):
        record["boxes"].append(_box(obj, f"{where} annotation/object[{position}]"))
    fields = {
        child.tag: element_value(child) for child in root if child.tag not in ("object", "size")
    }
    if fields:
        record[KEY] = fields
    return record


def _size(ctx: ParseContext, root: ET.Element, where: str, image: FileEntry) -> dict[str, Any]:
    """width, height (and depth) from <size>, else read from the image's header."""
    size: dict[str, Any] = {}
    element = root.find("size")
    for key in ("width", "height", "depth"):
        text = element.findtext(key) if element is not None else None
        if text is None or not text.strip():
            continue
        value = _number(text, f"{where} annotation/size/{key}")
        size[key] = int(value) if float(value).is_integer() else value
    if not size.get("width") or not size.get("height"):
        size["width"], size["height"] = _read_size(ctx, image)
    return size


def _read_size(ctx: ParseContext, entry: FileEntry) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        source: Any = entry.path if entry.protocol == LOCAL else io.BytesIO(ctx.read_bytes(entry))
        with Image.open(source) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FormatError(f"Cannot read the size of image {entry.url}: {reason}") from exc


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if value != value or value in (float("inf"), float("-inf")):
        raise FormatError(f"{where}: expected a number, got {text.strip()[:40]!r}")
    return value


def _box(obj: ET.Element, where: str) -> dict[str, Any]:
    name = (obj.findtext("name") or "").strip()
    if not name:
        raise FormatError(f"{where}/name: every object needs a class name")
    bndbox = obj.find("bndbox")
    if bndbox is None:
        raise FormatError(f"{where}/bndbox: every object needs a box")
    numbers = {}
    for key in COORDINATES:
        text = bndbox.findtext(key)
        if text is None:
            raise FormatError(f"{where}/bndbox/{key}: missing")
        numbers[key] = tidy(_number(text, f"{where}/bndbox/{key}"))
    for low, high in (("xmin", "xmax"), ("ymin", "ymax")):
        if numbers[high] < numbers[low]:
            raise FormatError(
                f"{where}/bndbox/{high}: {numbers[high]} is less than {low} {numbers[low]}"
            )
    fields = {c.tag: element_value(c) for c in obj if c.tag not in ("name", "bndbox")}
    fields["bndbox"] = numbers
    return {
        "label": name,
        "x": numbers["xmin"],
        "y": numbers["ymin"],
        "w": tidy(numbers["xmax"] - numbers["xmin"]),
        "h": tidy(numbers["ymax"] - numbers["ymin"]),
        KEY: fields,
    }


# instantiating ----------------------------------------------------------------------------


@dataclass
class _Image:
    item: ExportItem
    shapes: Shapes | None
    split: str = NO_SPLIT
    name: str = ""  # the image's file name in JPEGImages/


def export(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    """``JPEGImages/<name>``, ``Annotations/<stem>.xml``, ``ImageSets/Main/<split>.txt``
    (``default.txt`` for images without a split, as Datumaro) and ``labelmap.txt``."""
    images = [_Image(item, item_shapes(ctx, item)) for item in items]
    lost_labels = sum(1 for i in images if i.shapes is not None and i.shapes.label is not None)
    if lost_labels and not any(i.shapes is not None and i.shapes.boxes for i in images):
        # NOTE: an XML file without objects for each would be a dataset that "succeeds" empty
        raise FormatError(
            f"VOC holds boxes, and the {lost_labels} selected annotations are classification "
            "labels without boxes: write them with -m yolo (its classify layout), -m "
            "tensorflow-inferred or -m platform"
        )
    ctx.note_loss("classification labels (VOC holds boxes: see -m infer or platform)", lost_labels)
    splits = object_splits(ctx, items, [image.shapes for image in images])
    _place(ctx, images, splits)
    plan = ExportPlan(runs_transforms=False)
    lists: dict[str, list[str]] = {}
    for image in images:
        where = f"file name of id:{image.item.object_id}"
        stem = posixpath.splitext(image.name)[0]
        image_path = safe_relpath(f"{IMAGES_DIR}/{image.name}", where)
        xml_path = safe_relpath(f"{ANNOTATIONS_DIR}/{stem}.xml", where)
        files = [] if ctx.annotations_only else [OutFile(image_path, item=image.item)]
        files.append(OutFile(xml_path, annotation_xml(ctx, image.item, image.shapes, image.name)))
        plan.items.append(ItemOutput(image.item, files, IMAGES_DIR))
        plan.data_objects += 0 if ctx.annotations_only else 1
        lists.setdefault(image.split, []).append(stem)
    plan.annotations = sum(1 for item in items if item.has_annotation)
    for split, stems in sorted(lists.items()):
        text = "".join(f"{stem}\n" for stem in sorted(stems))
        plan.extra.append(OutFile(f"{SPLITS_DIR}/{split}.txt", text.encode("utf-8")))
    plan.extra.append(OutFile(LABELMAP, labelmap(ctx, images).encode("utf-8")))
    return plan


def _place(ctx: ExportContext, images: list[_Image], splits: list[str | None]) -> None:
    """Split lists and unique file names (by stem: a.png and a.jpg would share
    Annotations/a.xml; one folder for every split), in a fixed order."""
    names = UniqueNames(by_stem=True)
    order = sorted(
        range(len(images)), key=lambda i: (images[i].item.file_name, images[i].item.object_id)
    )
    for image, split in ((images[i], splits[i]) for i in order):
        if split:
            try:
                image.split = safe_component(split, "split")
            except FormatError:
                ctx.note_loss("splits that are not a plain file name (written as default)")
        own = posixpath.basename(safe_name(recorded_name(image.item), image.item))
        image.name = names.claim(own, image.item.object_id)
    names.report(ctx)


def annotation_xml(
    ctx: ExportContext, item: ExportItem, shapes: Shapes | None, file_name: str
) -> bytes:
    """The ``<annotation>`` of one image: its kept VOC fields, ``filename``, ``size`` and
    an ``<object>`` per box."""
    annotation = item.annotation if isinstance(item.annotation, dict) else {}
    kept = annotation.get(KEY) if isinstance(annotation.get(KEY), dict) else {}
    root = ET.Element("annotation")
    add_elements(root, "folder", kept.get("folder", IMAGES_DIR))
    add_elements(root, "filename", file_name)
    for key, value in kept.items():
        if key not in ("folder", "filename", "segmented"):
            add_elements(root, key, value)
    size = ET.SubElement(root, "size")
    width, height = image_size(ctx, item, shapes) or (0, 0)
    if not width:
        ctx.note_loss("image sizes (not recorded, and not readable by Pillow: written as 0)")
    recorded = annotation.get("size") if isinstance(annotation.get("size"), dict) else {}
    depth = recorded.get("depth", 3)
    for key, value in (("width", width), ("height", height), ("depth", depth)):
        add_elements(size, key, value)
    add_elements(root, "segmented", kept.get("segmented", 0))
    for box in shapes.boxes if shapes is not None else []:
        _add_object(ctx, root, box)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode").encode("utf-8") + b"\n"


def _add_object(ctx: ExportContext, root: ET.Element, box: Box) -> None:
    """name, pose, truncated, difficult (kept, else Unspecified, 0, 0), the other kept
    fields, then bndbox: a box read from VOC whose pixels are unchanged keeps its numbers."""
    kept = dict((box.source or {}).get(KEY) or {})
    obj = ET.SubElement(root, "object")
    add_elements(obj, "name", box.label)
    for key, default in (("pose", "Unspecified"), ("truncated", 0), ("difficult", 0)):
        add_elements(obj, key, kept.pop(key, default))
    original = kept.pop("bndbox", None)
    for key, value in kept.items():
        add_elements(obj, key, value)
    if box.confidence is not None:
        ctx.note_loss("box confidences (VOC has no field for them)")
    add_elements(obj, "bndbox", _bndbox(box, original))


def _bndbox(box: Box, original: Any) -> dict[str, Any]:
    computed = {
        "xmin": box.x,
        "ymin": box.y,
        "xmax": tidy(box.x + box.w),
        "ymax": tidy(box.y + box.h),
    }
    if isinstance(original, dict) and all(
        isinstance(original.get(k), int | float) and not isinstance(original.get(k), bool)
        for k in COORDINATES
    ):
        as_read = {k: original[k] for k in COORDINATES}
        if (box.x, box.y, box.w, box.h) == (
            as_read["xmin"],
            as_read["ymin"],
            tidy(as_read["xmax"] - as_read["xmin"]),
            tidy(as_read["ymax"] - as_read["ymin"]),
        ):
            return as_read
    return computed


def labelmap(ctx: ExportContext, images: list[_Image]) -> str:
    """Datumaro's label map (``name:color::``), so that it reads classes other than the
    20 of Pascal VOC; classes in the order of their source ids, else by name."""
    numbers = yolo_ids(dataset_classes(ctx, (image.shapes for image in images)))
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    for position, name in enumerate(sorted(numbers, key=lambda n: (numbers[n], n)), 1):
        lines.append(f"{name}:{_color(position)}::")
    return "\n".join(lines) + "\n"


def _color(position: int) -> str:
    """Pascal VOC's colour map: the bits of the class index spread over R, G and B."""
    red = green = blue = 0
    for shift in range(7, -1, -1):
        red |= (position & 1) << shift
        green |= ((position >> 1) & 1) << shift
        blue |= ((position >> 2) & 1) << shift
        position >>= 3
    return f"{red},{green},{blue}"
