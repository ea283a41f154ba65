"""annotation-only: JSON files that carry annotations for objects named by id or path.

Both record shapes are read::

    {"annotation": ..., "data-object-info": {"md5" | "xxh3_128": ID, "path": URL}}
    {"annotation": ..., "ldb_meta": {"data_object_id": ID, "path": URL}}

A file may hold one record or an array of them (required with ``-p single-file=true``).
An id this instance knows is used as is; otherwise ``path`` is hashed and indexed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ldb_clone.errors import FormatError, ObjectNotFoundError
from ldb_clone.formats.base import (
    IndexItem,
    ParseContext,
    all_entries,
    parse_bool_param,
)
from ldb_clone.formats.exporting import (
    ExportContext,
    ExportItem,
    ExportPlan,
    ItemOutput,
    OutFile,
    dump_annotation,
)
from ldb_clone.fs import LOCAL, FileEntry, Listing, split_url
from ldb_clone.hashing import ID_KEYS, is_hex_id


def _records(ctx: ParseContext, entry: FileEntry, single_file: bool) -> list[dict[str, Any]]:
    doc = ctx.read_json(entry)
    if single_file and not isinstance(doc, list):
        raise FormatError(
            f"With single-file=true the annotation file must hold a top-level array: {entry.url}"
        )
    records = doc if isinstance(doc, list) else [doc]
    for position, record in enumerate(records):
        where = f"{entry.url}" + (f" (item {position})" if isinstance(doc, list) else "")
        if not isinstance(record, dict):
            raise FormatError(f"An annotation-only record must be a JSON object: {where}")
        if "annotation" not in record:
            raise FormatError(f"Missing key 'annotation' in annotation-only record: {where}")
    return records


def _id_and_path(ctx: ParseContext, record: dict[str, Any]) -> tuple[str | None, str | None]:
    info = record.get("data-object-info")
    meta = record.get("ldb_meta")
    info = info if isinstance(info, dict) else {}
    meta = meta if isinstance(meta, dict) else {}
    object_id = info.get(ctx.id_key) or meta.get("data_object_id")
    if not (isinstance(object_id, str) and is_hex_id(object_id.removeprefix("id:"))):
        object_id = None
    path = info.get("path") or meta.get("path")
    return (object_id.removeprefix("id:") if object_id else None), (
        path if isinstance(path, str) and path else None
    )


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    single_file = parse_bool_param(ctx.params, "single-file")
    found = []
    for entry in all_entries(listings):
        if entry.is_json:
            for record in _records(ctx, entry, single_file):
                found.append((entry, record, *_id_and_path(ctx, record)))
    known = ctx.known_objects({oid for _, _, oid, _ in found if oid})
    other_keys = [key for key in ID_KEYS.values() if key != ctx.id_key]
    ctx.prefetch((path, entry) for entry, _, oid, path in found if oid not in known and path)
    for entry, record, object_id, path in found:
        annotation = record["annotation"]
        transforms = _transforms(record, entry)
        if object_id in known:
            yield IndexItem(object_id=object_id, annotation=annotation, transforms=transforms)
            continue
        if path is None:
            shown = object_id or next(
                (
                    record["data-object-info"][k]
                    for k in other_keys
                    if isinstance(record.get("data-object-info"), dict)
                    and k in record["data-object-info"]
                ),
                "",
            )
            raise ObjectNotFoundError(
                f"Data object not found: id:{shown} (annotation file {entry.url}); to index in "
                "the annotation-only format, give the object's path under data-object-info.path "
                f"or an indexed id under data-object-info.{ctx.id_key}"
            )
        data = ctx.resolve(path, base=entry)
        if data is None:
            raise ObjectNotFoundError(
                f"Data object not found: {path} (named in annotation file {entry.url})"
            )
        yield IndexItem(
            data=data, annotation=annotation, expected_object_id=object_id, transforms=transforms
        )


def _transforms(record: dict[str, Any], entry: FileEntry) -> list[dict[str, Any]] | None:
    """The record's ``ldb-meta.transforms`` (checked), or None when it has none."""
    meta = record.get("ldb-meta")
    if not isinstance(meta, dict) or "transforms" not in meta:
        return None
    from ldb_clone.transforms import check_records

    return check_records(meta["transforms"], entry.url)


def record_of(ctx: ExportContext, item: ExportItem) -> dict[str, Any]:
    """An object's annotation-only record; the id key names the instance's algorithm."""
    protocol, path = split_url(item.url)
    url = f"file://{path}" if protocol == LOCAL else item.url
    record: dict[str, Any] = {
        "annotation": item.annotation,
        "data-object-info": {ctx.id_key: item.object_id, "path": url},
    }
    if item.transforms:
        record["ldb-meta"] = {"transforms": [t.to_record() for t in item.transforms]}
    return record


def export(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    """One ``<name>.json`` record per annotated object, or with ``single-file=true`` one
    ``dataset.json`` array. Objects without an annotation are left out."""
    single_file = parse_bool_param(ctx.params, "single-file")
    plan = ExportPlan(runs_transforms=False)
    records = []
    for item in items:
        if not item.has_annotation:
            continue
        plan.annotations += 1
        if single_file:
            records.append(record_of(ctx, item))
            plan.items.append(ItemOutput(item, []))
            continue
        base, _ = ctx.base_name(item)
        content = dump_annotation(record_of(ctx, item))
        plan.items.append(ItemOutput(item, [OutFile(base + ".json", content)]))
    if single_file:
        plan.extra.append(OutFile("dataset.json", dump_annotation(records)))
    return plan
