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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ldb_clone.errors import FormatError, ObjectNotFoundError
from ldb_clone.formats.base import Format, IndexItem, ParseContext
from ldb_clone.formats.convert import (
    UniqueNames,
    add_class_ids,
    class_numbers,
    image_size,
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
from ldb_clone.formats.validation import schema_validator
from ldb_clone.fs import FileEntry, Listing

ANNOTATIONS_FILE = "annotations.json"
IMAGES_DIR = "images"
IMAGES_PARAM = "images"
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
    """One COCO file: its entry, its parsed document, and the files listed with it (when
    a folder was given) to find images without a request per image."""

    entry: FileEntry
    doc: dict[str, Any]
    listed: dict[str, FileEntry] | None


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    items: list[IndexItem] = []
    # NOTE: every file is read and checked before the first item is handed over, so that a
    # bad file stops the run before anything is written
    for source in _sources(ctx, listings):
        items.extend(_items(ctx, source))
    return iter(items)


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
            found.setdefault(entry.url, _Source(entry, doc, None))
            continue
        listed = {e.path: e for e in listing.entries}
        for entry in listing.entries:
            if not entry.is_json:
                continue
            doc = ctx.read_json(entry)
            if looks_like_coco(doc):
                found[entry.url] = _Source(entry, doc, listed)
            else:
                others.append(entry.url)
        if not any(s.listed is listed for s in found.values()):
            raise FormatError(
                f"No COCO annotation file (JSON with images and annotations) in {listing.arg}"
            )
    if others:
        ctx.warn(
            f"{len(others)} JSON files that are not COCO files were not read (first: {others[0]})"
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
    return [
        IndexItem(data=entry, annotation=_record(image, boxes[image["id"]], licenses, doc))
        for image, entry in zip(doc["images"], entries)
    ]


def _image_files(
    ctx: ParseContext, source: _Source, images: list[dict[str, Any]]
) -> list[FileEntry]:
    """The file of every image: ``-p images=DIR`` / file_name, else file_name relative to
    the COCO file's folder, else ``images/`` / file_name there. A missing one is an error
    naming it (and counting the others)."""
    candidates = [_candidates(ctx, image["file_name"]) for image in images]
    if source.listed is None:
        ctx.prefetch((url, _base(ctx, source)) for urls in candidates for url in urls[:1])
    entries: list[FileEntry] = []
    missing: list[int] = []
    for position, urls in enumerate(candidates):
        entry = _find(ctx, source, urls)
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


def _candidates(ctx: ParseContext, file_name: str) -> list[str]:
    folder = ctx.params.get(IMAGES_PARAM)
    if folder:
        return [f"{folder.rstrip('/')}/{file_name.lstrip('/')}"]
    if file_name.startswith("/") or "://" in file_name:
        return [file_name]
    return [file_name, f"{IMAGES_DIR}/{file_name}"]


def _base(ctx: ParseContext, source: _Source) -> FileEntry | None:
    """Relative candidates are relative to the COCO file, except -p images (relative to
    the working directory, as any path on the command line)."""
    return None if ctx.params.get(IMAGES_PARAM) else source.entry


def _find(ctx: ParseContext, source: _Source, urls: list[str]) -> FileEntry | None:
    base = _base(ctx, source)
    if source.listed is not None and base is not None:
        for url in urls:
            if not url.startswith("/") and "://" not in url:
                entry = source.listed.get(posixpath.normpath(f"{base.parent}/{url}"))
                if entry is not None:
                    return entry
    for url in urls:
        entry = ctx.resolve(url, base=base)
        if entry is not None:
            return entry
    return None


def _record(
    image: dict[str, Any],
    boxes: list[tuple[dict[str, Any], dict[str, Any]]],
    licenses: dict[Any, dict[str, Any]],
    doc: dict[str, Any],
) -> dict[str, Any]:
    """An image's annotation: the common shape plus the COCO fields to write it back."""
    record: dict[str, Any] = {}
    width, height = image.get("width"), image.get("height")
    if width and height:
        record["size"] = {"width": width, "height": height}
    record["boxes"] = [_box(annotation, category) for annotation, category in boxes]
    used = {category["id"]: category for _, category in boxes}
    coco: dict[str, Any] = {
        "image": image,
        "categories": sorted(used.values(), key=lambda c: _id_order(c["id"])),
    }
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


@dataclass
class _Image:
    item: ExportItem
    shapes: Shapes | None
    coco: dict[str, Any]  # the record's coco block ({} when another format indexed it)

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
    """``images/<file name>`` and one ``annotations.json``."""
    images = [_Image(item, item_shapes(ctx, item, True), _coco_block(item)) for item in items]
    images.sort(key=_Image.order)
    lost_labels = sum(1 for i in images if i.shapes is not None and i.shapes.label is not None)
    ctx.note_loss("classification labels (COCO holds boxes: see -m infer or platform)", lost_labels)
    categories, numbers = _categories(ctx, images)
    plan = ExportPlan(runs_transforms=False)
    names = UniqueNames()
    entries = []
    for image in images:
        file_name = names.claim(_file_name(image), image.item.object_id)
        path = safe_relpath(f"{IMAGES_DIR}/{file_name}", f"file_name of id:{image.item.object_id}")
        files = [] if ctx.annotations_only else [OutFile(path, item=image.item)]
        plan.items.append(ItemOutput(image.item, files, IMAGES_DIR))
        plan.data_objects += len(files)
        entries.append(_image_entry(ctx, image, file_name))
    names.report(ctx)
    _number(ctx, entries, "images")
    annotations = [
        _annotation(box, entry["id"], numbers)
        for image, entry in zip(images, entries)
        for box in (image.shapes.boxes if image.shapes else [])
    ]
    _number(ctx, annotations, "annotations")
    doc = _document(images, entries, annotations, categories)
    plan.annotations = sum(1 for item in items if item.has_annotation)
    plan.extra.append(OutFile(ANNOTATIONS_FILE, dump_annotation(doc)))
    return plan


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


def _categories(
    ctx: ExportContext, images: list[_Image]
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The categories of every box, and name -> id: COCO category ids kept when they are
    consistent, else numbered from 1 in name order."""
    seen: dict[str, set[int]] = {}
    records: dict[str, dict[str, Any]] = {}
    for image in images:
        if image.shapes is None:
            continue
        add_class_ids(seen, image.shapes, (box.label for box in image.shapes.boxes))
        for category in image.coco.get("categories") or []:
            if isinstance(category, dict) and category.get("name") in seen:
                records.setdefault(category["name"], category)
    numbers = class_numbers(ctx, seen, start=1, what="Category")
    categories = [
        {**records.get(name, {}), "id": cid, "name": name} for name, cid in numbers.items()
    ]
    categories.sort(key=lambda c: _id_order(c["id"]))
    return categories, numbers


def _annotation(box: Box, image_id: Any, numbers: dict[str, int]) -> dict[str, Any]:
    """A COCO annotation of a box: a box indexed from COCO keeps its own fields (id, area,
    iscrowd, segmentation, ...) as they were; others get area, iscrowd 0, and their
    confidence as score."""
    fields = dict((box.source or {}).get(KEY) or {})
    if KEY not in (box.source or {}):
        fields.update(area=tidy(box.w * box.h), iscrowd=0)
        if box.confidence is not None:
            fields["score"] = box.confidence
    return {
        **fields,
        "image_id": image_id,
        "category_id": numbers[box.label],
        "bbox": [box.x, box.y, box.w, box.h],
    }


def _number(ctx: ExportContext, records: list[dict[str, Any]], what: str) -> None:
    """Keep the records' ids where unique; give the others (none, or taken by an earlier
    record) the next numbers after the largest integer id."""
    ids = [r.get("id") for r in records]
    next_id = max((i for i in ids if isinstance(i, int) and not isinstance(i, bool)), default=0)
    seen: set[Any] = set()
    renumbered = 0
    for record in records:
        key = record.get("id")
        if key is None or key in seen:
            renumbered += key is not None
            next_id += 1
            record["id"] = next_id
        seen.add(record["id"])
    if renumbered:
        ctx.warn(f"{renumbered} {what} had the same id as another one and got new ids")


def _document(
    images: list[_Image],
    entries: list[dict[str, Any]],
    annotations: list[dict[str, Any]],
    categories: list[dict[str, Any]],
) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    info = next((i.coco["info"] for i in images if isinstance(i.coco.get("info"), dict)), None)
    if info is not None:
        doc["info"] = info
    licenses: dict[Any, dict[str, Any]] = {}
    for image in images:
        for lic in image.coco.get("licenses") or []:
            if isinstance(lic, dict) and "id" in lic:
                licenses.setdefault(lic["id"], lic)
    if licenses:
        doc["licenses"] = [licenses[k] for k in sorted(licenses, key=_id_order)]
    doc.update(images=entries, annotations=annotations, categories=categories)
    return doc


COCO = Format(
    name="coco",
    aliases=(),
    params={
        IMAGES_PARAM: "folder holding the images (default: beside the COCO file, or its images/)"
    },
    parse=parse,
    description="A COCO detection/segmentation JSON (images, annotations, categories), images.",
    export=export,
    carries=("boxes", "masks"),
)
