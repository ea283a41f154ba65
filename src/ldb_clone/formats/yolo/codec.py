"""yolo: the Ultralytics layout, ``images/`` and ``labels/`` side by side.

```
dataset/
  data.yaml             names: [cat, dog]   (or {0: cat, 1: dog}; or classes.txt)
  images/train/a.jpg    (split folders are optional)
  labels/train/a.txt    one line per box: class cx cy w h [confidence], normalised 0-1
```

Every image is a data object; its annotation is in the common shape of
``formats.shapes``: ``size`` (read by Pillow from the image header), pixel ``boxes``
whose ``yolo`` block keeps the class id and the normalised numbers as written (so that
an unchanged box is written back exactly), and ``split`` when the image is in a split
folder. An image without a label file, or with an empty one, has no boxes.
"""

from __future__ import annotations

import io
import math
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ldb_clone.errors import FormatError
from ldb_clone.formats.base import IndexItem, ParseContext
from ldb_clone.formats.classes import dataset_classes, yolo_ids
from ldb_clone.formats.convert import (
    UniqueNames,
    fit_boxes,
    image_size,
    is_classification,
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
    safe_relpath,
)
from ldb_clone.formats.shapes import Box, Shapes, tidy
from ldb_clone.formats.splits import SPLIT_PARAM, object_splits
from ldb_clone.fs import LOCAL, FileEntry, Listing, join_url

IMAGES_DIR = "images"
LABELS_DIR = "labels"
YAML_NAMES = ("data.yaml", "data.yml", "dataset.yaml")
CLASSES_TXT = "classes.txt"
IMAGE_SUFFIXES = {
    ".bmp", ".dng", ".gif", ".jpeg", ".jpg", ".mpo", ".png", ".tif", ".tiff", ".webp", ".pfm",
}  # fmt: skip
KEY = "yolo"
CLASSIFY_DEFAULT_SPLIT = "train"
DIGITS = 6  # decimals of computed normalised numbers
# How far outside 0..1 a normalised number may be (rounding by the tool that wrote it)
# before its box is skipped. Kept boxes keep their numbers as written (no clipping).
TOLERANCE = 0.01


# indexing ---------------------------------------------------------------------------------


@dataclass
class _Dataset:
    root: str  # the dataset folder's path (below its protocol)
    url: str  # for messages
    listed: dict[str, FileEntry]  # path below the root -> entry


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    items: list[IndexItem] = []
    # NOTE: everything is read and checked before the first item is handed over
    for dataset in _datasets(listings):
        fingerprint = _fingerprint(dataset)
        # NOTE: "names" since records carry the class list: a folder indexed before is
        # read once more, so that its records get it
        key = f"yolo:names:{dataset.url}"
        if ctx.recall(key) == fingerprint:
            # NOTE: no file of the folder changed since it was last indexed: its images
            # are handed on without annotations (the stat cache vouches for them), and no
            # label file or image header is read
            ctx.info(f"{dataset.url} is unchanged since it was last indexed: labels not read")
            items.extend(IndexItem(data=entry) for _, entry in _images(dataset)[0])
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


def _images(dataset: _Dataset) -> tuple[list[tuple[str, FileEntry]], int]:
    """(path below images/ without extension, entry) of every image, and how many files
    in images/ are not images."""
    images: list[tuple[str, FileEntry]] = []
    not_images = 0
    for rel, entry in sorted(dataset.listed.items()):
        if not rel.startswith(IMAGES_DIR + "/"):
            continue
        stem, suffix = posixpath.splitext(rel[len(IMAGES_DIR) + 1 :])
        if suffix.lower() not in IMAGE_SUFFIXES:
            not_images += 1
            continue
        images.append((stem, entry))
    return images, not_images


def _datasets(listings: list[Listing]) -> list[_Dataset]:
    datasets = []
    for listing in listings:
        root = listing.root.rstrip("/")
        if not listing.is_dir:
            raise FormatError(
                f"yolo indexes dataset folders, and '{listing.arg}' is a file; pass the folder "
                f"holding {IMAGES_DIR}/ and {LABELS_DIR}/"
            )
        listed = {e.path[len(root) + 1 :]: e for e in listing.entries}
        if not any(rel.startswith(IMAGES_DIR + "/") for rel in listed):
            raise FormatError(
                f"No {IMAGES_DIR}/ folder in {listing.arg}: a YOLO dataset folder holds "
                f"{IMAGES_DIR}/, {LABELS_DIR}/ and data.yaml (or {CLASSES_TXT})"
            )
        datasets.append(_Dataset(root, join_url(listing.entries[0].protocol, root), listed))
    return datasets


def _items(ctx: ParseContext, dataset: _Dataset) -> list[IndexItem]:
    names = _class_names(ctx, dataset)
    # the dataset's whole class list (index = id) on every record, so that a subset
    # written back keeps every class's id
    class_list = [names.get(i) for i in range(max(names, default=-1) + 1)] if names else []
    items = []
    polygons = 0
    skipped: list[str] = []  # where each box outside the image was
    labelled: set[str] = set()
    images, not_images = _images(dataset)
    for stem, entry in images:
        label_rel = f"{LABELS_DIR}/{stem}.txt"
        label = dataset.listed.get(label_rel)
        if label is not None:
            labelled.add(label_rel)
        width, height = _read_size(ctx, entry)
        boxes, count = _label_boxes(ctx, label, names, width, height, skipped)
        polygons += count
        record: dict[str, Any] = {"size": {"width": width, "height": height}, "boxes": boxes}
        if names is not None:
            record[KEY] = {"names": class_list}
        split = posixpath.dirname(stem)
        if split:
            record["split"] = split
        items.append(IndexItem(data=entry, annotation=record))
    _report(ctx, dataset, not_images, polygons, labelled)
    if skipped:
        ctx.warn(
            f"{len(skipped)} boxes with a negative size or outside the image (normalised "
            f"numbers beyond 0..1) were skipped (first: {skipped[0]})"
        )
    return items


def _report(
    ctx: ParseContext, dataset: _Dataset, not_images: int, polygons: int, labelled: set[str]
) -> None:
    if not_images:
        ctx.warn(
            f"{not_images} files in {dataset.url}/{IMAGES_DIR}/ are not images and were not indexed"
        )
    if polygons:
        ctx.warn(f"{polygons} segmentation polygons were read as their bounding boxes")
    orphans = [
        rel
        for rel in dataset.listed
        if rel.startswith(LABELS_DIR + "/") and rel.endswith(".txt") and rel not in labelled
    ]
    orphans = [rel for rel in orphans if posixpath.basename(rel) != CLASSES_TXT]
    if orphans:
        ctx.warn(
            f"{len(orphans)} label files have no image beside them in {IMAGES_DIR}/ and were "
            f"not read (first: {dataset.url}/{orphans[0]})"
        )


def _read_size(ctx: ParseContext, entry: FileEntry) -> tuple[int, int]:
    """(width, height) from the image header (Pillow reads no pixels)."""
    from PIL import Image, UnidentifiedImageError

    try:
        source: Any = entry.path if entry.protocol == LOCAL else io.BytesIO(ctx.read_bytes(entry))
        with Image.open(source) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FormatError(f"Cannot read the size of image {entry.url}: {reason}") from exc


def _class_names(ctx: ParseContext, dataset: _Dataset) -> dict[int, str] | None:
    """id -> name from data.yaml ``names`` (a list or a mapping), else classes.txt (one
    name a line); None, with a warning, when the dataset has neither."""
    for name in YAML_NAMES:
        if name in dataset.listed:
            return _yaml_names(ctx, dataset.listed[name])
    for rel in (CLASSES_TXT, f"{LABELS_DIR}/{CLASSES_TXT}"):
        if rel in dataset.listed:
            text = _text(ctx, dataset.listed[rel])
            return dict(enumerate(line.strip() for line in text.splitlines() if line.strip()))
    ctx.warn(f"No data.yaml or {CLASSES_TXT} in {dataset.url}: classes are named by their ids")
    return None


def _yaml_names(ctx: ParseContext, entry: FileEntry) -> dict[int, str]:
    import yaml

    try:
        doc = yaml.safe_load(_text(ctx, entry))
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise FormatError(f"Unable to read {entry.url}: {reason}") from exc
    names = doc.get("names") if isinstance(doc, dict) else None
    if isinstance(names, list):
        names = dict(enumerate(names))
    valid = isinstance(names, dict) and all(
        isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in names
    )
    if not valid or not all(isinstance(v, str | int | float) for v in names.values()):
        raise FormatError(
            f"Invalid {entry.url}: names must be a list of class names or a mapping of "
            "class ids (0, 1, ...) to names"
        )
    return {k: str(v) for k, v in names.items()}


def _text(ctx: ParseContext, entry: FileEntry) -> str:
    data = ctx.read_bytes(entry)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"Not a UTF-8 text: {entry.url}: byte at offset {exc.start}") from exc


def _label_boxes(
    ctx: ParseContext,
    label: FileEntry | None,
    names: dict[int, str] | None,
    width: int,
    height: int,
    skipped: list[str],
) -> tuple[list[dict[str, Any]], int]:
    """The pixel boxes of a label file, and how many were polygons; where each box that
    cannot be in the image was is added to ``skipped``."""
    if label is None:
        return [], 0
    boxes = []
    polygons = 0
    for number, line in enumerate(_text(ctx, label).splitlines(), 1):
        if not line.strip():
            continue
        where = f"{label.url} line {number}"
        class_id, values, polygon = parse_line(line, where)
        polygons += polygon
        if not in_image(values):
            skipped.append(where)
            continue
        if names is not None and class_id not in names:
            raise FormatError(
                f"Invalid YOLO label file {where}: class {class_id} has no name in the "
                f"dataset's class names (0..{max(names, default=-1)})"
            )
        name = names[class_id] if names is not None else str(class_id)
        boxes.append(box_record(name, class_id, values, width, height))
    return boxes, polygons


def parse_line(line: str, where: str) -> tuple[int, list[float], bool]:
    """(class id, [cx, cy, w, h] or [cx, cy, w, h, confidence], was a polygon) of one
    line; a segmentation polygon (class x1 y1 x2 y2 ...) gives its bounding box."""
    parts = line.split()
    try:
        class_id = int(parts[0])
        numbers = [float(part) for part in parts[1:]]
    except ValueError:
        class_id, numbers = -1, []
    if class_id < 0 or not all(math.isfinite(n) for n in numbers):
        raise FormatError(
            f"Invalid YOLO label file {where}: expected 'class cx cy w h [confidence]' with "
            f"a class id and numbers, got {line.strip()[:80]!r}"
        )
    if len(numbers) in (4, 5):
        return class_id, numbers, False
    if len(numbers) >= 6 and len(numbers) % 2 == 0:
        xs, ys = numbers[0::2], numbers[1::2]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        return class_id, [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], True
    raise FormatError(
        f"Invalid YOLO label file {where}: expected 'class cx cy w h [confidence]', got "
        f"{len(parts)} values"
    )


def in_image(values: list[float]) -> bool:
    """Whether normalised ``cx cy w h`` describe a box in the image: no negative size,
    no number beyond 0..1 by more than ``TOLERANCE``."""
    cx, cy, w, h = values[:4]
    if w < 0 or h < 0:
        return False
    return all(-TOLERANCE <= n <= 1 + TOLERANCE for n in (cx, cy, w, h))


def to_pixels(values: list[float], width: int, height: int) -> tuple[float, ...]:
    cx, cy, w, h = values[:4]
    return (
        tidy((cx - w / 2) * width),
        tidy((cy - h / 2) * height),
        tidy(w * width),
        tidy(h * height),
    )


def box_record(
    name: str, class_id: int, values: list[float], width: int, height: int
) -> dict[str, Any]:
    x, y, w, h = to_pixels(values, width, height)
    cx, cy, nw, nh = values[:4]
    box: dict[str, Any] = {"label": name, "x": x, "y": y, "w": w, "h": h}
    box[KEY] = {"class_id": class_id, "cx": cx, "cy": cy, "w": nw, "h": nh}
    if len(values) == 5:
        box["confidence"] = values[4]
    return box


# instantiating ----------------------------------------------------------------------------


@dataclass
class _Image:
    item: ExportItem
    shapes: Shapes | None
    split: str | None = None  # the split the object is written into
    folder: str = ""  # the split folder below images/ and labels/, "" for none
    name: str = ""  # the image's file name in it


def export(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    """``images/[split/]<name>``, ``labels/[split/]<stem>.txt`` and ``data.yaml``; for
    classification labels without any box, the classify layout ``<split>/<class>/<name>``."""
    images = [_Image(item, item_shapes(ctx, item)) for item in items]
    shapes = [image.shapes for image in images]
    for image, split in zip(images, object_splits(ctx, items, shapes)):
        image.split = split
    if is_classification(shapes):
        return _classify(ctx, images)
    lost_labels = sum(1 for s in shapes if s is not None and s.label is not None)
    ctx.note_loss("classification labels (YOLO holds boxes: see -m infer or platform)", lost_labels)
    _place(ctx, images)
    numbers = yolo_ids(dataset_classes(ctx, shapes))
    plan = ExportPlan(runs_transforms=False)
    for image in images:
        base = f"{image.folder}/{image.name}" if image.folder else image.name
        where = f"file name of id:{image.item.object_id}"
        image_path = safe_relpath(f"{IMAGES_DIR}/{base}", where)
        label_path = safe_relpath(f"{LABELS_DIR}/{posixpath.splitext(base)[0]}.txt", where)
        files = [] if ctx.annotations_only else [OutFile(image_path, item=image.item)]
        files.append(OutFile(label_path, _label_text(ctx, image, numbers).encode("utf-8")))
        plan.items.append(ItemOutput(image.item, files, posixpath.dirname(image_path)))
        plan.data_objects += 0 if ctx.annotations_only else 1
    plan.annotations = sum(1 for item in items if item.has_annotation)
    folders = sorted({image.folder for image in images})
    plan.extra.append(OutFile("data.yaml", data_yaml(numbers, folders, ctx.warn).encode("utf-8")))
    return plan


def _place(ctx: ExportContext, images: list[_Image]) -> None:
    """Split folders (when every image has a split) and unique file names (by stem, since
    a.png and a.jpg would share labels/a.txt), in a fixed order."""
    use_splits = all(image.split is not None for image in images)
    if not use_splits and any(image.split is not None for image in images):
        count = sum(image.split is None for image in images)
        ctx.warn(
            f"{count} images have no split: all images are written without split folders "
            f"(give them one with -p {SPLIT_PARAM}=train:0.8,val:0.2)"
        )
    names: dict[str, UniqueNames] = {}
    for image in sorted(images, key=lambda i: (i.item.file_name, i.item.object_id)):
        image.folder = (image.split or "") if use_splits else ""
        own = posixpath.basename(safe_name(recorded_name(image.item), image.item))
        taken = names.setdefault(image.folder, UniqueNames(by_stem=True))
        image.name = taken.claim(own, image.item.object_id)
    renamed = UniqueNames()
    renamed.renamed = sum(n.renamed for n in names.values())
    renamed.report(ctx)


def _classify(ctx: ExportContext, images: list[_Image]) -> ExportPlan:
    """Ultralytics' classification layout: ``<split>/<class>/<image>`` (``train`` for
    objects without a split); no label files, no data.yaml."""
    if not any(image.split for image in images):
        ctx.warn(
            "No split: every image is written into train/ (Ultralytics' classify also wants "
            f"val/; split them with -p {SPLIT_PARAM}=train:0.8,val:0.2)"
        )
    plan = ExportPlan(runs_transforms=False)
    names: dict[str, UniqueNames] = {}
    unlabelled = 0
    for image in sorted(images, key=lambda i: (i.item.file_name, i.item.object_id)):
        label = image.shapes.label if image.shapes is not None else None
        if label is None:
            unlabelled += 1
            continue
        folder = f"{image.split or CLASSIFY_DEFAULT_SPLIT}/{label}"
        safe_relpath(folder, f"class folder of id:{image.item.object_id}")
        own = posixpath.basename(safe_name(recorded_name(image.item), image.item))
        name = names.setdefault(folder, UniqueNames()).claim(own, image.item.object_id)
        files = [] if ctx.annotations_only else [OutFile(f"{folder}/{name}", item=image.item)]
        plan.items.append(ItemOutput(image.item, files, folder))
        plan.data_objects += len(files)
        plan.annotations += 1
    ctx.note_loss("images without a classification label (the classify layout)", unlabelled)
    return plan


def _label_text(ctx: ExportContext, image: _Image, numbers: dict[str, int]) -> str:
    shapes = image.shapes
    if shapes is None or not shapes.boxes:
        return ""
    size = image_size(ctx, image.item, shapes)
    if size is None:
        ctx.note_loss(
            "boxes of images whose size is unknown (YOLO coordinates are relative to it)",
            len(shapes.boxes),
        )
        return ""
    boxes = fit_boxes(ctx, shapes.boxes, *size)
    return "".join(label_line(box, numbers[box.label], *size) + "\n" for box in boxes)


def label_line(box: Box, class_id: int, width: int, height: int) -> str:
    """``class cx cy w h [confidence]``: a box indexed from YOLO whose pixels are
    unchanged keeps the numbers it was read with; others are computed (6 decimals)."""
    values = _original(box, width, height) if box.source and KEY in box.source else None
    if values is None:
        values = [
            round((box.x + box.w / 2) / width, DIGITS),
            round((box.y + box.h / 2) / height, DIGITS),
            round(box.w / width, DIGITS),
            round(box.h / height, DIGITS),
        ]
    if box.confidence is not None:
        values.append(box.confidence)
    # NOTE: this runs once per box of an export: the numbers are written with one join of
    # their reprs, which is the text unless one is a whole float ("2.0" is written "2") or
    # in exponent form (1e+16 is written out); then number by number
    text = " ".join(map(repr, values))
    if "e" in text or ".0 " in text or text.endswith(".0"):
        text = " ".join(map(_text_number, values))
    return f"{class_id} {text}"


def _text_number(value: float) -> str:
    number = float(value)
    if number.is_integer():
        return str(int(value))
    return repr(number)


def _original(box: Box, width: int, height: int) -> list[float] | None:
    block = (box.source or {}).get(KEY)
    if not isinstance(block, dict):
        return None
    values = [block.get(k) for k in ("cx", "cy", "w", "h")]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return None
    if to_pixels(values, width, height) != (box.x, box.y, box.w, box.h):
        return None
    return values


def data_yaml(
    numbers: dict[str, int], folders: list[str], warn: Callable[[str], None] | None = None
) -> str:
    """Ultralytics' dataset file: the image folder of each split present and the class
    names (a list when the ids are 0..n-1, as ``yolo_ids`` makes them, else a mapping).
    Ultralytics wants ``train`` and ``val``: when the data has no val split, ``val`` names
    the training images, with a warning (never silently)."""
    warn = warn or (lambda message: None)
    by_id = dict(sorted((cid, name) for name, cid in numbers.items()))
    names: Any = list(by_id.values()) if list(by_id) == list(range(len(by_id))) else by_id
    doc: dict[str, Any] = {}
    if folders == [""]:
        doc.update(train=IMAGES_DIR, val=IMAGES_DIR)
        warn(
            "No split: data.yaml's val is the training images (split them with "
            f"-p {SPLIT_PARAM}=train:0.8,val:0.2)"
        )
    else:
        doc.update({folder: f"{IMAGES_DIR}/{folder}" for folder in folders if folder})
        if "val" not in doc and "train" in doc:
            doc["val"] = doc["train"]
            warn(
                "No val split: data.yaml's val is the train split (split the data with "
                f"-p {SPLIT_PARAM}=train:0.8,val:0.2)"
            )
    doc.update(nc=len(by_id), names=names)
    simple = _simple_yaml(doc)
    if simple is not None:
        return simple
    import yaml

    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


# Plain words that YAML reads as themselves: ASCII, starting with a letter, short enough
# not to be folded, not a YAML 1.1 boolean or null
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*(?: [A-Za-z0-9_][A-Za-z0-9_./-]*)*")
_YAML_WORDS = {
    f(word)
    for word in ("yes", "no", "true", "false", "on", "off", "null")
    for f in (str.lower, str.title, str.upper)
}


def _is_plain(text: Any) -> bool:
    return (
        isinstance(text, str)
        and len(text) <= 60
        and _PLAIN.fullmatch(text) is not None
        and text not in _YAML_WORDS
    )


def _simple_yaml(doc: dict[str, Any]) -> str | None:
    """``yaml.safe_dump(doc, sort_keys=False)`` written directly when every key and name
    is a plain word (the common case; PyYAML takes longer to import than the rest of a
    YOLO export takes to plan), else None. tests/formats/test_yolo.py compares the two."""
    lines = []
    for key, value in doc.items():
        if not _is_plain(key):
            return None
        if type(value) is int or _is_plain(value):
            lines.append(f"{key}: {value}")
        elif isinstance(value, list) and value and all(map(_is_plain, value)):
            lines.append(f"{key}:")
            lines.extend(f"- {name}" for name in value)
        elif (
            isinstance(value, dict)
            and value
            and all(type(k) is int and k >= 0 for k in value)
            and all(map(_is_plain, value.values()))
        ):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {name}" for k, name in value.items())
        else:
            return None
    return "".join(line + "\n" for line in lines)
