"""coco: a COCO detection / segmentation annotation file beside or above its images.

```
dataset/
  annotations.json   {"images": [...], "annotations": [...], "categories": [...]}
  images/000001.jpg  (or beside annotations.json; or -p images=DIR)
```

Every image becomes a data object. Its annotation is in the common shape of
``formats.shapes`` (``size``, ``boxes`` with category names), and carries the COCO fields
needed to write it back: each box keeps its annotation's fields (``id``,
``category_id``, ``area``, ``iscrowd``, ``segmentation``, ...) under ``coco``; the record
keeps the image entry, the categories its boxes use, the image's license and the file's
``info`` under ``coco``:

```json
{"size": {"width": 640, "height": 480},
 "boxes": [{"label": "cat", "x": 64, "y": 96, "w": 192, "h": 192,
            "coco": {"id": 1, "category_id": 17, "area": 36864, "iscrowd": 0}}],
 "coco": {"image": {"id": 1, "file_name": "cat1.jpg", "width": 640, "height": 480},
          "categories": [{"id": 17, "name": "cat", "supercategory": "animal"}]}}
```

Instantiating writes ``images/`` and ``annotations.json`` from any annotation with
boxes (see ``formats.shapes``); COCO holds boxes, so a classification label alone is
not written (counted in a warning).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ldb_clone.errors import FormatError, ObjectNotFoundError
from ldb_clone.formats.base import IndexItem, ParseContext
from ldb_clone.formats.classes import coco_ids, dataset_classes
from ldb_clone.formats.coco import IMAGES_PARAM, LAYOUT_PARAM, SINGLE_FILE, STANDARD
from ldb_clone.formats.coco.check import is_valid_coco
from ldb_clone.formats.convert import (
    UniqueNames,
    fit_boxes,
    image_size,
    is_classification,
    item_shapes,
    safe_name,
)
from ldb_clone.formats.exporting import (
    ExportContext,
    ExportItem,
    ExportPlan,
    ItemOutput,
    OutFile,
    dump_annotation,
    safe_relpath,
)
from ldb_clone.formats.shapes import Box, Shapes, tidy
from ldb_clone.formats.splits import SPLIT_PARAM, object_splits
from ldb_clone.formats.validation import schema_validator
from ldb_clone.fs import FileEntry, Listing, join_url

ANNOTATIONS_FILE = "annotations.json"  # the single-file layout
ANNOTATIONS_DIR = "annotations"  # the standard layout: annotations/instances_<subset>.json
INSTANCES_FILE = re.compile(r"instances_(.+)\.json")
IMAGES_DIR = "images"
KEY = "coco"  # where a record and its boxes keep their COCO fields
DOCUMENT = "COCO annotation file"


def looks_like_coco(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("images"), list)
        and isinstance(doc.get("annotations"), list)
    )


# indexing ---------------------------------------------------------------------------------


@dataclass
class _Source:
    """One COCO file: its entry, its parsed document, the files listed with it (when a
    folder was given) to find images without a request per image, and its subset (the
    ``<subset>`` of the standard layout's ``annotations/instances_<subset>.json``)."""

    entry: FileEntry
    doc: dict[str, Any]
    listed: dict[str, FileEntry] | None
    subset: str | None = None


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    items: list[IndexItem] = []
    # NOTE: every file is read and checked before the first item is handed over, so that a
    # bad file stops the run before anything is written
    for source in _sources(ctx, listings):
        items.extend(_items(ctx, source))
    return iter(items)


def instances_subset(path: str) -> str | None:
    """``train`` for ``.../annotations/instances_train.json`` (the standard layout), else
    None."""
    folder, name = posixpath.split(path)
    if posixpath.basename(folder) != ANNOTATIONS_DIR:
        return None
    match = INSTANCES_FILE.fullmatch(name)
    return match.group(1) if match else None


def _sources(ctx: ParseContext, listings: list[Listing]) -> list[_Source]:
    found: dict[str, _Source] = {}
    others: list[str] = []
    for listing in listings:
        if not listing.is_dir:
            entry = listing.entries[0]
            doc = ctx.read_json(entry) if entry.is_json else None
            if not looks_like_coco(doc):
                raise FormatError(
                    f"Not a COCO annotation file: {listing.arg} (a JSON object with images, "
                    "annotations and categories)"
                )
            subset = instances_subset(entry.path)
            found.setdefault(entry.url, _Source(entry, doc, None, subset))
            continue
        listed = {e.path: e for e in listing.entries}
        candidates = [e for e in listing.entries if e.is_json]
        standard = [e for e in candidates if instances_subset(e.path) is not None]
        if standard:
            # the standard layout (Datumaro's output, COCO's own releases): the instances
            # files; other tasks' files (captions, keypoints, image_info, ...) are not read
            others.extend(e.url for e in candidates if instances_subset(e.path) is None)
            candidates = standard
        for entry in candidates:
            doc = ctx.read_json(entry)
            if looks_like_coco(doc):
                found[entry.url] = _Source(entry, doc, listed, instances_subset(entry.path))
            else:
                others.append(entry.url)
        if not any(s.listed is listed for s in found.values()):
            raise FormatError(
                f"No COCO annotation file (JSON with images and annotations) in {listing.arg}"
            )
    if others:
        ctx.warn(
            f"{len(others)} JSON files that are not COCO instances files were not read "
            f"(first: {others[0]})"
        )
    return list(found.values())


def _by_key(
    records: list[dict[str, Any]], what: str, url: str, key: str = "id"
) -> dict[Any, dict[str, Any]]:
    """``record[key]`` -> record; a value given twice is an error naming both places."""
    found: dict[Any, int] = {}
    for position, record in enumerate(records):
        value = record[key]
        if value in found:
            raise FormatError(
                f"Invalid {DOCUMENT} {url} at {what}[{position}].{key}: {value!r} is also the "
                f"{key} of {what}[{found[value]}]"
            )
        found[value] = position
    return {value: records[position] for value, position in found.items()}


def _items(ctx: ParseContext, source: _Source) -> list[IndexItem]:
    url = source.entry.url
    doc = source.doc
    if not is_valid_coco(doc):  # NOTE: the fast answer; jsonschema says what is wrong
        schema_validator("coco", DOCUMENT).check(doc, url)
    categories = _by_key(doc["categories"], "categories", url)
    images = _by_key(doc["images"], "images", url)
    _by_key(doc["images"], "images", url, key="file_name")
    boxes: dict[Any, list[tuple[dict[str, Any], dict[str, Any]]]] = {key: [] for key in images}
    for position, annotation in enumerate(doc["annotations"]):
        where = f"Invalid {DOCUMENT} {url} at annotations[{position}]"
        if annotation["image_id"] not in images:
            raise FormatError(f"{where}.image_id: no image with id {annotation['image_id']!r}")
        category = categories.get(annotation["category_id"])
        if category is None:
            raise FormatError(
                f"{where}.category_id: no category with id {annotation['category_id']!r}"
            )
        boxes[annotation["image_id"]].append((annotation, category))
    licenses = {
        lic["id"]: lic for lic in doc.get("licenses") or [] if isinstance(lic, dict) and "id" in lic
    }
    entries = _image_files(ctx, source, doc["images"])
    # NOTE: every record carries the file's whole category list (not just the categories
    # its boxes use), so that a subset written out keeps every category's id
    all_categories = sorted(doc["categories"], key=lambda c: _id_order(c["id"]))
    return [
        IndexItem(
            data=entry,
            annotation=_record(
                image, boxes[image["id"]], licenses, doc, all_categories, source.subset
            ),
        )
        for image, entry in zip(doc["images"], entries)
    ]


def _image_files(
    ctx: ParseContext, source: _Source, images: list[dict[str, Any]]
) -> list[FileEntry]:
    """The file of every image: ``-p images=DIR`` / file_name, else file_name relative to
    the COCO file's folder, else ``images/`` / file_name there. A missing one is an error
    naming it (and counting the others)."""
    candidates = [_candidates(ctx, image["file_name"], source.subset) for image in images]
    if source.listed is None:
        ctx.prefetch((url, _base(ctx, source)) for urls in candidates for url in urls[:1])
    entries: list[FileEntry] = []
    missing: list[int] = []
    for position, urls in enumerate(candidates):
        entry = _find(ctx, source, urls, f"images[{position}].file_name of {source.entry.url}")
        if entry is None:
            missing.append(position)
        else:
            entries.append(entry)
    if missing:
        first = missing[0]
        more = f" ({len(missing) - 1} more missing)" if len(missing) > 1 else ""
        looked = " or ".join(candidates[first])
        raise ObjectNotFoundError(
            f"Image not found: {images[first]['file_name']} (images[{first}] of "
            f"{source.entry.url}; looked for {looked}){more}"
        )
    return entries


def _candidates(ctx: ParseContext, file_name: str, subset: str | None) -> list[str]:
    folder = ctx.params.get(IMAGES_PARAM)
    if folder:
        return [f"{folder.rstrip('/')}/{file_name.lstrip('/')}"]
    if file_name.startswith("/") or "://" in file_name:
        return [file_name]
    found = [file_name, f"{IMAGES_DIR}/{file_name}"]
    if subset is not None:
        # the standard layout: annotations/instances_<subset>.json, images/<subset>/
        found.insert(0, f"../{IMAGES_DIR}/{subset}/{file_name}")
    return found


def _base(ctx: ParseContext, source: _Source) -> FileEntry | None:
    """Relative candidates are relative to the COCO file, except -p images (relative to
    the working directory, as any path on the command line)."""
    return None if ctx.params.get(IMAGES_PARAM) else source.entry


def _find(ctx: ParseContext, source: _Source, urls: list[str], named_in: str) -> FileEntry | None:
    base = _base(ctx, source)
    if source.listed is not None and base is not None:
        for url in urls:
            if not url.startswith("/") and "://" not in url:
                entry = source.listed.get(posixpath.normpath(f"{base.parent}/{url}"))
                if entry is not None:
                    return entry
    for url in urls:
        if url.startswith("../") and base is not None:
            # NOTE: resolved from the file's folder here, as remote paths are not normalised
            url = join_url(base.protocol, posixpath.normpath(f"{base.parent}/{url}"))
        entry = ctx.resolve(url, base=base, named_in=named_in)
        if entry is not None:
            return entry
    return None


def _record(
    image: dict[str, Any],
    boxes: list[tuple[dict[str, Any], dict[str, Any]]],
    licenses: dict[Any, dict[str, Any]],
    doc: dict[str, Any],
    categories: list[dict[str, Any]],
    subset: str | None = None,
) -> dict[str, Any]:
    """An image's annotation: the common shape plus the COCO fields to write it back."""
    record: dict[str, Any] = {}
    width, height = image.get("width"), image.get("height")
    if width and height:
        record["size"] = {"width": width, "height": height}
    record["boxes"] = [_box(annotation, category) for annotation, category in boxes]
    if subset is not None:
        record["split"] = subset
    coco: dict[str, Any] = {"image": image, "categories": categories}
    if image.get("license") in licenses:
        coco["licenses"] = [licenses[image["license"]]]
    if isinstance(doc.get("info"), dict):
        coco["info"] = doc["info"]
    record[KEY] = coco
    return record


def _box(annotation: dict[str, Any], category: dict[str, Any]) -> dict[str, Any]:
    x, y, w, h = annotation["bbox"]
    fields = {k: v for k, v in annotation.items() if k not in ("bbox", "image_id")}
    return {"label": category["name"], "x": x, "y": y, "w": w, "h": h, KEY: fields}


def _id_order(value: Any) -> tuple[int, Any, str]:
    """Integers in order, then strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


# instantiating ----------------------------------------------------------------------------

DEFAULT_SUBSET = "default"  # the subset of objects without a split (as Datumaro names it)
INFO = {"description": "Written by ldb"}


@dataclass
class _Image:
    item: ExportItem
    shapes: Shapes | None
    coco: dict[str, Any]  # the record's coco block ({} when another format indexed it)
    subset: str = ""  # the annotation file it goes into ("" in the single-file layout)

    @property
    def entry(self) -> dict[str, Any]:
        image = self.coco.get("image")
        return image if isinstance(image, dict) else {}

    def order(self) -> tuple:
        """COCO images by id (integers, then strings), then the others by file name."""
        if "id" in self.entry:
            return (*_id_order(self.entry["id"]), "", self.item.object_id)
        return (2, 0, self.item.file_name, self.item.object_id)


def _coco_block(item: ExportItem) -> dict[str, Any]:
    annotation = item.annotation if item.has_annotation else None
    block = annotation.get(KEY) if isinstance(annotation, dict) else None
    return block if isinstance(block, dict) else {}


def export(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    """The standard layout, ``annotations/instances_<subset>.json`` beside
    ``images/<subset>/`` (one subset per split; ``default`` for objects without one), or
    with ``-p layout=single-file`` one ``annotations.json`` beside ``images/``."""
    single_file = _single_file(ctx.params)
    images = [_Image(item, item_shapes(ctx, item, True), _coco_block(item)) for item in items]
    shapes = [image.shapes for image in images]
    if is_classification(shapes):
        labelled = sum(1 for s in shapes if s is not None and s.label is not None)
        raise FormatError(
            f"COCO holds boxes, and the {labelled} selected annotations are classification "
            "labels without boxes: write them with -m yolo (its classify layout), -m "
            "tensorflow-inferred or -m platform"
        )
    if not single_file:
        for image, split in zip(images, object_splits(ctx, items, shapes)):
            image.subset = (split or DEFAULT_SUBSET).replace("/", "_")
    images.sort(key=_Image.order)
    lost_labels = sum(1 for s in shapes if s is not None and s.label is not None)
    ctx.note_loss("classification labels (COCO holds boxes: see -m infer or platform)", lost_labels)
    categories, numbers = _categories(ctx, images)
    plan = ExportPlan(runs_transforms=False)
    names: dict[str, UniqueNames] = {}
    entries = []
    for image in images:
        folder = f"{IMAGES_DIR}/{image.subset}" if image.subset else IMAGES_DIR
        taken = names.setdefault(image.subset, UniqueNames())
        file_name = taken.claim(_file_name(image), image.item.object_id)
        path = safe_relpath(f"{folder}/{file_name}", f"file_name of id:{image.item.object_id}")
        files = [] if ctx.annotations_only else [OutFile(path, item=image.item)]
        plan.items.append(ItemOutput(image.item, files, folder))
        plan.data_objects += len(files)
        entries.append(_image_entry(ctx, image, file_name))
    renamed = UniqueNames()
    renamed.renamed = sum(n.renamed for n in names.values())
    renamed.report(ctx)
    _number(ctx, entries, "images")
    annotations = [
        [_annotation(box, entry["id"], numbers) for box in _boxes(ctx, image, entry)]
        for image, entry in zip(images, entries)
    ]
    _number(ctx, [a for group in annotations for a in group], "annotations")
    plan.annotations = sum(1 for item in items if item.has_annotation)
    for subset in sorted({image.subset for image in images} or {DEFAULT_SUBSET}):
        chosen = [i for i, image in enumerate(images) if image.subset == subset]
        doc = _document(
            [images[i] for i in chosen],
            [entries[i] for i in chosen],
            [a for i in chosen for a in annotations[i]],
            categories,
        )
        path = f"{ANNOTATIONS_DIR}/instances_{subset}.json" if subset else ANNOTATIONS_FILE
        plan.extra.append(OutFile(safe_relpath(path, "subset"), dump_annotation(doc)))
    return plan


def _single_file(params: dict[str, str]) -> bool:
    layout = params.get(LAYOUT_PARAM, STANDARD)
    if layout not in (STANDARD, SINGLE_FILE):
        raise FormatError(
            f"Invalid value for parameter {LAYOUT_PARAM}: {layout!r} (expected {STANDARD} or "
            f"{SINGLE_FILE})"
        )
    if layout == SINGLE_FILE and SPLIT_PARAM in params:
        raise FormatError(
            f"-p {SPLIT_PARAM} needs the standard layout (annotations/instances_<split>.json): "
            f"the {SINGLE_FILE} layout has no splits"
        )
    return layout == SINGLE_FILE


def _file_name(image: _Image) -> str:
    name = image.entry.get("file_name")
    if name is None and isinstance(image.item.annotation, dict):
        name = image.item.annotation.get("file_name")  # a platform record
    return safe_name(name, image.item)


def _image_entry(ctx: ExportContext, image: _Image, file_name: str) -> dict[str, Any]:
    entry = {**image.entry, "file_name": file_name}
    size = image_size(ctx, image.item, image.shapes)
    if size is not None:
        entry["width"], entry["height"] = size
    elif not (entry.get("width") and entry.get("height")):
        ctx.note_loss(
            "image sizes (not recorded, and not readable by Pillow: width and height null)"
        )
        entry["width"] = entry["height"] = None
    return entry


def _boxes(ctx: ExportContext, image: _Image, entry: dict[str, Any]) -> list[Box]:
    """An image's boxes, clipped to it when its size is known."""
    boxes = image.shapes.boxes if image.shapes else []
    width, height = entry.get("width"), entry.get("height")
    if boxes and isinstance(width, int | float) and isinstance(height, int | float):
        return fit_boxes(ctx, boxes, width, height)
    return boxes


def _categories(
    ctx: ExportContext, images: list[_Image]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The categories of the selection's sources (their whole lists, also categories no
    selected box uses) and name -> id: the sources' ids (from 1), see ``classes``."""
    numbers = coco_ids(dataset_classes(ctx, (image.shapes for image in images)))
    records: dict[str, dict[str, Any]] = {}
    for image in images:
        if len(records) == len(numbers):
            break  # NOTE: every record of a source holds its whole list: usually the first
        for category in image.coco.get("categories") or []:
            if isinstance(category, dict) and category.get("name") in numbers:
                records.setdefault(category["name"], category)
    categories = [
        {**records.get(name, {}), "id": cid, "name": name} for name, cid in numbers.items()
    ]
    categories.sort(key=lambda c: _id_order(c["id"]))
    return categories, numbers


def _annotation(box: Box, image_id: Any, numbers: dict[str, int]) -> dict[str, Any]:
    """A COCO annotation of a box: a box indexed from COCO keeps its own fields (id, area,
    iscrowd, segmentation, ...); what is missing is filled in as COCO tools expect it:
    ``area``, ``iscrowd`` 0, the box as ``segmentation`` polygon, the confidence as
    ``score``."""
    fields = dict((box.source or {}).get(KEY) or {})
    if box.confidence is not None and KEY not in (box.source or {}):
        fields["score"] = box.confidence
    fields.setdefault("area", tidy(box.w * box.h))
    fields.setdefault("iscrowd", 0)
    if not fields.get("segmentation"):
        x0, y0 = box.x, box.y
        x1, y1 = tidy(box.x + box.w), tidy(box.y + box.h)
        fields["segmentation"] = [[x0, y0, x1, y0, x1, y1, x0, y1]]
    return {
        **fields,
        "image_id": image_id,
        "category_id": numbers[box.label],
        "bbox": [box.x, box.y, box.w, box.h],
    }


def _number(ctx: ExportContext, records: list[dict[str, Any]], what: str) -> None:
    """Keep the records' ids where they are unique positive integers; give the others
    (none, 0 or below, not an integer, or taken by an earlier record) the next numbers
    after the largest one. COCO tools start at 1: COCOeval reads id 0 as "no match"."""
    ids = [r.get("id") for r in records]
    next_id = max((i for i in ids if _positive_id(i)), default=0)
    seen: set[Any] = set()
    renumbered = 0
    for record in records:
        key = record.get("id")
        if not _positive_id(key) or key in seen:
            renumbered += key is not None
            next_id += 1
            record["id"] = next_id
        seen.add(record["id"])
    if renumbered:
        ctx.warn(
            f"{renumbered} {what} had an id below 1, not a number or the same as another "
            "one, and got new ids"
        )


def _positive_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _document(
    images: list[_Image],
    entries: list[dict[str, Any]],
    annotations: list[dict[str, Any]],
    categories: list[dict[str, Any]],
) -> dict[str, Any]:
    """One annotation file; ``info`` and ``licenses`` are always there (pycocotools'
    ``info()`` needs the first)."""
    info = next((i.coco["info"] for i in images if isinstance(i.coco.get("info"), dict)), INFO)
    licenses: dict[Any, dict[str, Any]] = {}
    for image in images:
        for lic in image.coco.get("licenses") or []:
            if isinstance(lic, dict) and "id" in lic:
                licenses.setdefault(lic["id"], lic)
    return {
        "info": info,
        "licenses": [licenses[k] for k in sorted(licenses, key=_id_order)],
        "images": entries,
        "annotations": annotations,
        "categories": categories,
    }
