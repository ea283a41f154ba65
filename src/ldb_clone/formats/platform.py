"""platform: a labelling platform's dataset folder (seed ``platform-dataset-format``).

```
<dataset>/
  meta.json          version, content_hash of annotations.json, statistics (small)
  annotations.json   classes and one entry per image (annotation null: unlabelled)
  images/<file_name> the data objects
  masks/             not indexed
```

Every image entry becomes the annotation of its data object, with the dataset's
``task_type`` and the class records its labels use added, so that instantiate can write
the dataset back. An image whose ``annotation`` is null (classification) or whose
``annotations`` list is empty (detection) is unlabelled; ``formats.UNLABELLED``
says so to ``ldb status``.

When meta.json's content hash equals the one remembered from this folder's last
successful indexing, annotations.json is not read at all (the seed's cache rule).
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ldb_clone.errors import FormatError, ObjectNotFoundError
from ldb_clone.formats.base import Format, IndexItem, Param, ParseContext, parse_bool_param
from ldb_clone.formats.exporting import (
    ExportContext,
    ExportItem,
    ExportPlan,
    ItemOutput,
    OutFile,
    dump_annotation,
    safe_relpath,
)
from ldb_clone.formats.validation import schema_validator
from ldb_clone.fs import FileEntry, Listing
from ldb_clone.hashing import canonical_json

CLASSIFICATION = "image_classification"
DETECTION = "object_detection"
TASK_TYPES = (CLASSIFICATION, DETECTION)
ANNOTATIONS_FILE = "annotations.json"
META_FILE = "meta.json"
IMAGES_DIR = "images"
FORMAT_VERSION = "1.0"
DEFAULT_DATASET_ID = "ldb-export"
ADDED_KEYS = ("task_type", "classes")  # what indexing adds to an image entry
TASK_TYPE_PARAM = "task-type"
MEMORY_KEY = "platform:content-hash:"  # + the URL of the dataset's annotations.json
PROGRESS_TOLERANCE = 0.005  # labeling_progress may be rounded to two decimals


# documents --------------------------------------------------------------------------------


def validate(value: Any, document: str, url: str) -> None:
    """A FormatError naming the file and the JSON path of the problem (``document``:
    ``annotations`` or ``meta``)."""
    schema_validator(f"platform.{document}", f"platform {document} file").check(value, url)


def content_hash(doc: dict[str, Any]) -> str:
    """``sha256:`` + the SHA-256 of the canonical JSON of ``doc`` without its own
    ``content_hash`` (sorted keys, no spaces, UTF-8)."""
    body = {key: value for key, value in doc.items() if key != "content_hash"}
    return "sha256:" + hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def labels_of(task_type: str, image: dict[str, Any]) -> list[Any]:
    """An image's labels: its annotation (classification) or its boxes (detection)."""
    if task_type == CLASSIFICATION:
        annotation = image.get("annotation")
        return [] if annotation is None else [annotation]
    boxes = image.get("annotations")
    return boxes if isinstance(boxes, list) else []


def statistics(task_type: str, images: list[dict[str, Any]]) -> dict[str, Any]:
    """The seed's statistics block, counted from the images (labelled: has a label)."""
    labelled = sum(1 for image in images if labels_of(task_type, image))
    stats: dict[str, Any] = {
        "total_images": len(images),
        "labeled_images": labelled,
        "unlabeled_images": len(images) - labelled,
        "labeling_progress": labelled / len(images) if images else 0.0,
    }
    if task_type == DETECTION:
        stats["total_annotations"] = sum(len(labels_of(task_type, image)) for image in images)
    return stats


def _class_key(record: dict[str, Any]) -> tuple[int, int, str]:
    class_id = record.get("id")
    if isinstance(class_id, int):
        return (0, class_id, str(record.get("name")))
    return (1, 0, str(record.get("name")))


# indexing ---------------------------------------------------------------------------------


@dataclass
class _Dataset:
    """One dataset folder found on the command line."""

    annotations: FileEntry
    meta: FileEntry | None
    listed: dict[str, FileEntry] | None  # path -> entry of every file listed below the folder

    @property
    def folder(self) -> str:
        return self.annotations.parent

    @property
    def folder_url(self) -> str:
        return self.annotations.url.rsplit("/", 1)[0]


def _datasets(ctx: ParseContext, listings: list[Listing]) -> list[_Dataset]:
    found: dict[str, _Dataset] = {}
    for listing in listings:
        if listing.is_dir:
            listed = {e.path: e for e in listing.entries}
            annotations = listed.get(f"{listing.root}/{ANNOTATIONS_FILE}")
            if annotations is None:
                raise FormatError(
                    f"No {ANNOTATIONS_FILE} in {listing.arg}: a platform dataset folder holds "
                    f"{ANNOTATIONS_FILE}, {META_FILE} (optional) and {IMAGES_DIR}/"
                )
            meta = listed.get(f"{listing.root}/{META_FILE}")
        else:
            annotations, listed = listing.entries[0], None
            if annotations.name == META_FILE or not annotations.is_json:
                raise FormatError(
                    f"Not a platform annotations file: {listing.arg} (give the dataset folder "
                    f"or its {ANNOTATIONS_FILE})"
                )
            meta = ctx.resolve(META_FILE, base=annotations)
        known = found.get(annotations.url)
        if known is None or (known.listed is None and listed is not None):
            found[annotations.url] = _Dataset(annotations, meta, listed)
    return list(found.values())


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    reread = parse_bool_param(ctx.params, "reread")
    items: list[IndexItem] = []
    # NOTE: every dataset is read and checked before the first item is handed over, so a
    # bad file stops the run before anything is written
    for dataset in _datasets(ctx, listings):
        items.extend(_parse_dataset(ctx, dataset, reread))
    return iter(items)


def _parse_dataset(ctx: ParseContext, dataset: _Dataset, reread: bool) -> list[IndexItem]:
    meta = None
    if dataset.meta is not None:
        meta = ctx.read_json(dataset.meta)
        validate(meta, "meta", dataset.meta.url)
    meta_hash = meta.get("content_hash") if meta else None
    key = MEMORY_KEY + dataset.annotations.url
    if meta_hash and not reread and ctx.recall(key) == meta_hash:
        ctx.info(
            f"Skipped {dataset.annotations.url}: the content hash in {META_FILE} is unchanged "
            "since it was last indexed"
        )
        return []
    doc = ctx.read_json(dataset.annotations)
    validate(doc, "annotations", dataset.annotations.url)
    computed = content_hash(doc)
    _check_document(ctx, doc, computed, dataset, meta_hash)
    if meta_hash == computed:
        # NOTE: only a hash that matches the content is trusted next time: a stale
        # meta.json (a tool that did not update it) never makes indexing skip new labels
        ctx.remember(key, computed)
    return _items(ctx, doc, dataset)


def _check_document(
    ctx: ParseContext,
    doc: dict[str, Any],
    computed: str,
    dataset: _Dataset,
    meta_hash: str | None,
) -> None:
    """Warn (not fail) where the recorded hashes and statistics disagree with the content."""
    url = dataset.annotations.url
    recorded = doc.get("content_hash")
    if recorded is not None and recorded != computed:
        ctx.warn(f"{url}: content_hash {recorded} does not match its content ({computed})")
    if dataset.meta is not None and meta_hash is not None and meta_hash != computed:
        ctx.warn(
            f"{dataset.meta.url}: content_hash {meta_hash} does not match {ANNOTATIONS_FILE} "
            f"({computed}); the next indexing reads {ANNOTATIONS_FILE} again"
        )
    stats = doc.get("statistics")
    if isinstance(stats, dict):
        wrong = _wrong_statistics(stats, statistics(doc["task_type"], doc["images"]))
        if wrong:
            ctx.warn(f"{url}: statistics do not match its images: " + ", ".join(wrong))


def _wrong_statistics(recorded: dict[str, Any], counted: dict[str, Any]) -> list[str]:
    wrong = []
    for key, value in counted.items():
        if key not in recorded:
            continue
        if key == "labeling_progress":
            same = abs(recorded[key] - value) <= PROGRESS_TOLERANCE
        else:
            same = recorded[key] == value
        if not same:
            shown = round(value, 4) if isinstance(value, float) else value
            wrong.append(f"statistics.{key} is {recorded[key]}, counted {shown}")
    return wrong


def _items(ctx: ParseContext, doc: dict[str, Any], dataset: _Dataset) -> list[IndexItem]:
    task_type = doc["task_type"]
    classes = doc.get("classes") or []
    by_id = {c["id"]: c for c in classes if "id" in c}
    by_name = {c["name"]: c for c in classes}
    url = dataset.annotations.url
    images = doc["images"]
    paths = [_image_path(image["file_name"], url) for image in images]
    if dataset.listed is None:
        ctx.prefetch((path, dataset.annotations) for path in paths)
    items = []
    missing = []
    unknown = 0
    for image, path in zip(images, paths):
        entry = _find(ctx, dataset, path)
        if entry is None:
            missing.append(path)
            continue
        used, not_found = _used_classes(task_type, image, by_id, by_name)
        unknown += not_found
        record = {**image, "task_type": task_type, "classes": used}
        items.append(IndexItem(data=entry, annotation=record))
    if missing:
        more = f" ({len(missing) - 1} more missing)" if len(missing) > 1 else ""
        raise ObjectNotFoundError(
            f"Image not found: {dataset.folder_url}/{missing[0]} (listed in {url}){more}"
        )
    if unknown:
        ctx.warn(f"{url}: {unknown} labels name a class that is not in classes")
    _warn_unlisted(ctx, dataset, set(paths))
    return items


def _image_path(file_name: str, url: str) -> str:
    try:
        return safe_relpath(f"{IMAGES_DIR}/{file_name}", "file_name")
    except FormatError:
        raise FormatError(
            f"Invalid file_name {file_name!r} in {url}: it must be a path below {IMAGES_DIR}/"
        ) from None


def _find(ctx: ParseContext, dataset: _Dataset, path: str) -> FileEntry | None:
    if dataset.listed is not None:
        return dataset.listed.get(f"{dataset.folder}/{path}")
    return ctx.resolve(path, base=dataset.annotations)


def _used_classes(
    task_type: str,
    image: dict[str, Any],
    by_id: dict[int, dict[str, Any]],
    by_name: dict[str, dict[str, Any]],
) -> tuple[list[dict[str, Any]], int]:
    """The class records an image's labels name (by class_id, else class_name), in a
    fixed order; and how many labels name no known class."""
    used: dict[str, dict[str, Any]] = {}
    unknown = 0
    for label in labels_of(task_type, image):
        if not isinstance(label, dict):
            continue
        record = by_id.get(label.get("class_id")) or by_name.get(label.get("class_name"))
        if record is None:
            unknown += 1
        else:
            used[record["name"]] = record
    return sorted(used.values(), key=_class_key), unknown


def _warn_unlisted(ctx: ParseContext, dataset: _Dataset, paths: set[str]) -> None:
    if dataset.listed is None:
        return
    prefix = f"{dataset.folder}/{IMAGES_DIR}/"
    start = len(dataset.folder) + 1
    unlisted = sum(
        1 for path in dataset.listed if path.startswith(prefix) and path[start:] not in paths
    )
    if unlisted:
        ctx.warn(
            f"{unlisted} files in {dataset.folder_url}/{IMAGES_DIR}/ are not listed in "
            f"{ANNOTATIONS_FILE} and were not indexed"
        )


# instantiating ----------------------------------------------------------------------------


def _record_of(item: ExportItem) -> dict[str, Any] | None:
    """The stored image record of an item; None when it has no annotation or one of
    another format."""
    record = item.annotation if item.has_annotation else None
    if (
        isinstance(record, dict)
        and record.get("task_type") in TASK_TYPES
        and isinstance(record.get("file_name"), str)
    ):
        return record
    return None


def _records(ctx: ExportContext, items: list[ExportItem]) -> list[dict[str, Any] | None]:
    """Every item's image record: a stored one, or one converted from an annotation of
    another format (into the task type of the stored ones, else ``-p task-type``, else
    detection when some annotation has boxes); None for objects without either."""
    records = [_record_of(item) for item in items]
    foreign = [n for n, item in enumerate(items) if item.has_annotation and records[n] is None]
    if not foreign:
        return records
    from ldb_clone.formats.convert import item_shapes

    shapes = {n: item_shapes(ctx, items[n]) for n in foreign}
    task_type = ctx.params.get(TASK_TYPE_PARAM) or next(
        (r["task_type"] for r in records if r is not None), None
    )
    if task_type is None:
        boxes = any(s is not None and s.boxes for s in shapes.values())
        task_type = DETECTION if boxes else CLASSIFICATION
    if task_type not in TASK_TYPES:
        raise FormatError(
            f"Invalid value for parameter {TASK_TYPE_PARAM}: {task_type!r} (expected "
            f"{' or '.join(TASK_TYPES)})"
        )
    for n, found in shapes.items():
        if found is not None:
            records[n] = _converted(ctx, items[n], found, task_type)
    return records


def _converted(ctx: ExportContext, item: ExportItem, shapes: Any, task_type: str) -> dict:
    """The image record of an annotation of another format (see ``formats.shapes``).

    Class ids the source gives (a YOLO class, a COCO category) are kept when consistent;
    what the task type cannot hold (boxes in classification, the label in detection) is
    counted as lost."""
    from ldb_clone.formats.convert import image_size, recorded_name, safe_name

    size = image_size(ctx, item, shapes) or (None, None)
    names: list[str] = []
    record: dict[str, Any] = {
        "file_name": posixpath.basename(safe_name(recorded_name(item), item)),
        "width": size[0],
        "height": size[1],
        "split": shapes.split or "train",
    }
    if task_type == CLASSIFICATION:
        ctx.note_loss("boxes (an image_classification dataset holds one label)", len(shapes.boxes))
        label = shapes.label
        record["annotation"] = (
            None
            if label is None
            else {
                "class_id": shapes.class_ids.get(label),
                "class_name": label,
            }
        )
        names = [] if label is None else [label]
    else:
        if shapes.label is not None:
            ctx.note_loss("classification labels (an object_detection dataset holds boxes)")
        record["annotations"] = [_converted_box(box, shapes) for box in shapes.boxes]
        names = [box.label for box in shapes.boxes]
    status = "labeled" if names else "unlabeled"
    record["metadata"] = {"labeled_at": None, "labeled_by": None, "status": status}
    record["task_type"] = task_type
    classes = {name: {"name": name} for name in names}
    for name, cls in classes.items():
        if name in shapes.class_ids:
            cls["id"] = shapes.class_ids[name]
    record["classes"] = list(classes.values())
    return record


def _converted_box(box: Any, shapes: Any) -> dict[str, Any]:
    label: dict[str, Any] = {
        "class_id": shapes.class_ids.get(box.label),
        "class_name": box.label,
        "bbox": [box.x, box.y, box.w, box.h],
    }
    if box.confidence is not None:
        label["confidence"] = box.confidence
    return label


def _task_type(items: list[ExportItem], records: list[dict[str, Any] | None]) -> str:
    first: dict[str, str] = {}
    for item, record in zip(items, records):
        if record is not None:
            first.setdefault(record["task_type"], item.object_id)
    if len(first) > 1:
        (a, a_id), (b, b_id) = sorted(first.items())[:2]
        raise FormatError(
            f"Cannot write {a} and {b} annotations into one platform dataset (id:{a_id} is "
            f"{a}, id:{b_id} is {b}); select one with --query 'task_type == `{a}`'"
        )
    return next(iter(first), CLASSIFICATION)


def _classes(
    ctx: ExportContext, records: list[dict[str, Any] | None]
) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
    """The dataset's class list; and name -> new id when the records' ids cannot be kept
    (missing, or one name with two ids, or one id for two names)."""
    by_name: dict[str, dict[str, Any]] = {}
    ids: dict[str, set[Any]] = {}
    for record in records:
        for cls in (record or {}).get("classes") or []:
            if isinstance(cls, dict) and isinstance(cls.get("name"), str):
                by_name.setdefault(cls["name"], cls)
                ids.setdefault(cls["name"], set()).add(cls.get("id"))
    kept = [next(iter(found)) for found in ids.values() if len(found) == 1]
    consistent = len(kept) == len(ids) and len(set(kept)) == len(kept)
    if consistent and all(isinstance(i, int) for i in kept):
        return sorted(by_name.values(), key=_class_key), None
    numbers = {name: number for number, name in enumerate(sorted(by_name))}
    if any(i is not None for found in ids.values() for i in found):
        ctx.warn("Class ids of the selected annotations disagree; classes renumbered by name")
    classes = [{**by_name[name], "id": number} for name, number in numbers.items()]
    return classes, numbers


def _renumbered(record: dict[str, Any], numbers: dict[str, int]) -> dict[str, Any]:
    """A record whose labels' class_id follow the new class numbering."""
    old = {c.get("id"): c.get("name") for c in record.get("classes") or [] if isinstance(c, dict)}

    def relabel(label: Any) -> Any:
        if not isinstance(label, dict) or "class_id" not in label:
            return label
        name = label.get("class_name") if label.get("class_name") in numbers else None
        name = name or old.get(label["class_id"])
        return {**label, "class_id": numbers[name]} if name in numbers else label

    record = dict(record)
    if isinstance(record.get("annotation"), dict):
        record["annotation"] = relabel(record["annotation"])
    if isinstance(record.get("annotations"), list):
        record["annotations"] = [relabel(label) for label in record["annotations"]]
    return record


def _image_size(ctx: ExportContext, item: ExportItem) -> tuple[int, int]:
    """(width, height) read by Pillow (only the image header is read)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with ctx.open_object(item) as f, Image.open(f) as image:
            return image.size
    except (OSError, UnidentifiedImageError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FormatError(
            f"Cannot read the size of data object id:{item.object_id} ({item.url}): {reason}"
        ) from exc


def _unlabelled_entry(ctx: ExportContext, item: ExportItem, task_type: str) -> dict[str, Any]:
    """The entry of an object that has no annotation at all (indexed with bare-pairs)."""
    width, height = _image_size(ctx, item)
    entry: dict[str, Any] = {
        "file_name": item.file_name,
        "width": width,
        "height": height,
        "split": "train",
        "metadata": {"labeled_at": None, "labeled_by": None, "status": "unlabeled"},
    }
    if task_type == CLASSIFICATION:
        entry["annotation"] = None
    else:
        entry["annotations"] = []
    return entry


def _order(pair: tuple[ExportItem, dict[str, Any] | None]) -> tuple:
    item, record = pair
    if record is None:
        return (1, 0, "", item.file_name, item.object_id)
    image_id = record.get("id")
    if isinstance(image_id, int):
        return (0, image_id, "", record["file_name"], item.object_id)
    return (0, float("inf"), str(image_id), record["file_name"], item.object_id)


def _entries(
    ctx: ExportContext,
    pairs: list[tuple[ExportItem, dict[str, Any] | None]],
    task_type: str,
    numbers: dict[str, int] | None,
) -> list[dict[str, Any]]:
    """The image entries, in ``pairs`` order: stored records without the keys indexing
    added; unique ids and file names (later duplicates get new ones, with a warning)."""
    entries = []
    for item, record in pairs:
        if record is None:
            entries.append(_unlabelled_entry(ctx, item, task_type))
            continue
        if numbers is not None:
            record = _renumbered(record, numbers)
        entries.append({k: v for k, v in record.items() if k not in ADDED_KEYS})
    ids = [e["id"] for e in entries if "id" in e]
    next_id = max((i for i in ids if isinstance(i, int)), default=0) + 1
    seen_ids: set[Any] = set()
    seen_names: set[str] = set()
    renamed = renumbered = 0
    for (item, record), entry in zip(pairs, entries):
        if record is None or "id" not in entry or entry["id"] in seen_ids:
            renumbered += record is not None and "id" in entry
            entry["id"] = next_id
            next_id += 1
        if "id" in entry:
            seen_ids.add(entry["id"])
        if entry["file_name"] in seen_names:
            stem, ext = posixpath.splitext(entry["file_name"])
            entry["file_name"] = f"{stem}-{item.object_id}{ext}"
            renamed += 1
        seen_names.add(entry["file_name"])
    if renamed:
        ctx.warn(
            f"{renamed} images had the same file name as another one and were written as "
            "<name>-<id><ext>"
        )
    if renumbered:
        ctx.warn(f"{renumbered} images had the same id as another one and got new ids")
    return entries


def _timestamps(entries: list[dict[str, Any]]) -> tuple[str, str]:
    """(created_at, last_modified_at): the earliest and the latest upload or labelling
    time of the images, so that writing the same content twice gives the same hash;
    the current time when no image has one."""
    times = [
        value
        for entry in entries
        if isinstance(entry.get("metadata"), dict)
        for key in ("uploaded_at", "labeled_at")
        if isinstance(value := entry["metadata"].get(key), str) and value
    ]
    if not times:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return now, now
    return min(times), max(times)


def export(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    """``images/``, ``annotations.json`` and ``meta.json`` of one platform dataset."""
    records = _records(ctx, items)
    task_type = _task_type(items, records)
    pairs = sorted(zip(items, records), key=_order)
    classes, numbers = _classes(ctx, [record for _, record in pairs])
    entries = _entries(ctx, pairs, task_type, numbers)
    plan = ExportPlan(runs_transforms=False)
    for (item, _), entry in zip(pairs, entries):
        where = f"file_name of id:{item.object_id}"
        path = safe_relpath(f"{IMAGES_DIR}/{entry['file_name']}", where)
        files = [] if ctx.annotations_only else [OutFile(path, item=item)]
        plan.items.append(ItemOutput(item, files, IMAGES_DIR))
        plan.data_objects += len(files)
    plan.annotations = sum(1 for record in records if record is not None)
    doc, meta = documents(ctx, task_type, classes, entries)
    plan.extra.append(OutFile(ANNOTATIONS_FILE, dump_annotation(doc)))
    plan.extra.append(OutFile(META_FILE, dump_annotation(meta)))
    return plan


def documents(
    ctx: ExportContext, task_type: str, classes: list[dict[str, Any]], entries: list[dict]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """annotations.json and meta.json for these image entries."""
    created, modified = _timestamps(entries)
    stats = statistics(task_type, entries)
    dataset_id = ctx.dataset_name or DEFAULT_DATASET_ID
    version = ctx.dataset_version or 1
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "dataset_id": dataset_id,
        "task_type": task_type,
        "created_at": created,
        "last_modified_at": modified,
        "version": version,
        "classes": classes,
        "images": entries,
        "statistics": stats,
    }
    doc["content_hash"] = content_hash(doc)
    meta = {
        "dataset_id": dataset_id,
        "version": version,
        "content_hash": doc["content_hash"],
        "last_modified_at": modified,
        "statistics": {**stats, "num_classes": len(classes)},
        "format_version": FORMAT_VERSION,
        "task_type": task_type,
    }
    return doc, meta


PLATFORM = Format(
    name="platform",
    params={
        "reread": Param(
            "true: read annotations.json even when meta.json's hash is unchanged", "false"
        ),
        TASK_TYPE_PARAM: Param(
            "image_classification or object_detection: what annotations of other formats are "
            "converted to (default: detection when some have boxes)"
        ),
    },
    parse=parse,
    description="A labelling platform's dataset folder: annotations.json, meta.json, images/.",
    export=export,
    carries=("labels", "boxes"),
)
