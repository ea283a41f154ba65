"""text (seed ``text-annotator-schema``): ``<name>.txt`` is the data object, ``<name>.json``
beside it its annotation, a document in the text-annotator schema stored as it is.

Every document is checked against the schema and against its text before anything is
indexed (see ``document``). A Label Studio export of text tasks (a ``.json`` with no
``.txt`` beside it) is converted back into documents (see ``label_studio``), and
``to_label_studio_task`` lets ``instantiate -m label-studio`` write documents as tasks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from ldb_clone.errors import FormatError, StorageError
from ldb_clone.formats.base import IndexItem, ParseContext, parse_bool_param
from ldb_clone.formats.exporting import ExportContext, ExportItem, ExportPlan
from ldb_clone.formats.label_studio import URL_PARAMS
from ldb_clone.formats.label_studio.codec import (
    INFO_KEY,
    TaskRef,
    is_inline_text,
    is_text_task,
    locate,
    looks_like_label_studio,
    one_task_per_object,
    path_key_of,
    quote_key,
    task_refs,
    tasks_in,
)
from ldb_clone.formats.pairs.codec import export_strict, split_pairs, with_partners
from ldb_clone.formats.text import STRICT_OFFSETS, TEXT_SUFFIX
from ldb_clone.formats.text.document import (
    Mismatch,
    check_schema,
    looks_like_document,
    validate,
)
from ldb_clone.formats.text.label_studio import from_task, to_task
from ldb_clone.fs import FileEntry, Listing

# where a task written by to_label_studio_task names its object
PATH_KEY = ".".join(quote_key(k) for k in ("data", INFO_KEY, "path"))
INLINE_TEXT_KEY = ".".join(quote_key(k) for k in ("data", "text"))


class _Counts:
    """What one parse run reports once, at its end."""

    def __init__(self) -> None:
        self.mismatches = 0
        self.other_files = 0
        self.lone_json: list[FileEntry] = []
        self.dropped_results = 0


# reading ----------------------------------------------------------------------------------


def decode_text(data: bytes, url: str) -> str:
    """UTF-8 text (a leading byte-order mark is not part of it); anything else is an
    error naming the file and the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise FormatError(
            f"Not a UTF-8 text: {url}: byte 0x{bad} at offset {exc.start} ({exc.reason})"
        ) from exc


# parse ------------------------------------------------------------------------------------


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    strict = parse_bool_param(ctx.params, STRICT_OFFSETS)
    counts = _Counts()
    entries = with_partners(listings)
    pairs, _ = split_pairs(entries)
    paired = {(a.protocol, a.path) for _, a in pairs if a is not None}
    documents = []
    unpaired = 0
    for data, annotation in pairs:
        if data.suffix.lower() != TEXT_SUFFIX:
            counts.other_files += 1
            continue
        if annotation is None:
            unpaired += 1
            continue
        documents.append((data, annotation))
    # NOTE: a pair whose two files the stat cache vouches for was checked when it was
    # indexed; it is handed on without reading either file again
    unchanged_texts = ctx.unchanged((d for d, _ in documents), annotations=False)
    unchanged_docs = ctx.unchanged((a for _, a in documents), annotations=True)
    for data, annotation in documents:
        if (data.protocol, data.path) in unchanged_texts and (
            annotation.protocol,
            annotation.path,
        ) in unchanged_docs:
            yield IndexItem(data=data, annotation_file=annotation)
        else:
            yield _pair_item(ctx, data, annotation, strict, counts)
    lone = [e for e in entries if e.is_json and (e.protocol, e.path) not in paired]
    tasks = 0
    for item in _label_studio_items(ctx, lone, strict, counts):
        tasks += 1
        yield item
    if not documents and not tasks and counts.lone_json:
        raise FormatError(
            f"No text documents or Label Studio tasks found: {counts.lone_json[0].url} "
            f"has no {TEXT_SUFFIX} beside it and holds no Label Studio tasks"
        )
    if unpaired:
        ctx.note_unpaired(unpaired)
    _report(ctx, counts)


def _pair_item(
    ctx: ParseContext, data: FileEntry, annotation: FileEntry, strict: bool, counts: _Counts
) -> IndexItem:
    text = decode_text(ctx.read_bytes(data), data.url)
    doc = ctx.read_json(annotation)
    mismatches, differing = validate(doc, text, annotation.url, strict)
    _warn_mismatches(ctx, annotation.url, mismatches, counts)
    for path in differing:
        ctx.warn(f"{annotation.url}: {path} is not the text of {data.url}")
    # the annotation is the file's whole content: handed on as a file, so that the stat
    # cache learns it and a re-index reads neither file
    return IndexItem(data=data, annotation_file=annotation)


def _warn_mismatches(
    ctx: ParseContext, where: str, mismatches: list[Mismatch], counts: _Counts
) -> None:
    for mismatch in mismatches:
        ctx.warn(f"{where}: {mismatch.describe()}")
    counts.mismatches += len(mismatches)


def _report(ctx: ParseContext, counts: _Counts) -> None:
    if counts.other_files:
        ctx.warn(f"{counts.other_files} file(s) that are not {TEXT_SUFFIX} were not indexed")
    if counts.lone_json:
        ctx.warn(
            f"{len(counts.lone_json)} .json file(s) with no {TEXT_SUFFIX} beside them and no "
            f"Label Studio tasks in them were not indexed (first: {counts.lone_json[0].url})"
        )
    if counts.dropped_results:
        ctx.warn(
            f"{counts.dropped_results} Label Studio result(s) of types other than "
            "labels, relation and choices were not converted"
        )
    if counts.mismatches:
        ctx.warn(
            f"{counts.mismatches} entities whose text differs from their content were "
            f"indexed as they are (-p {STRICT_OFFSETS}=true makes this an error)"
        )


# Label Studio exports ---------------------------------------------------------------------


def _task_path_key(task: dict[str, Any], where: str) -> tuple[str, bool]:
    """Where a text task names its object: ``data-object-info.path_key``, else its
    ``path`` (what to_label_studio_task writes), else the one key of ``data`` besides
    the text itself (inferred), else ``data.text`` itself (a text held in the task)."""
    info = task["data"].get(INFO_KEY)
    info = info if isinstance(info, dict) else {}
    if isinstance(info.get("path_key"), str) and info["path_key"]:
        return info["path_key"], False
    if isinstance(info.get("path"), str) and info["path"]:
        return PATH_KEY, False
    others = {k: v for k, v in task["data"].items() if k != "text"}
    if not [k for k in others if k != INFO_KEY] and isinstance(task["data"].get("text"), str):
        return INLINE_TEXT_KEY, False  # the text is held in the task: it is the object
    return path_key_of({**task, "data": others}, where)


def _label_studio_items(
    ctx: ParseContext, lone: list[FileEntry], strict: bool, counts: _Counts
) -> Iterator[IndexItem]:
    refs: list[TaskRef] = []
    inferred: set[str] = set()
    for entry in lone:
        doc = ctx.read_json(entry)
        if not looks_like_label_studio(doc):
            counts.lone_json.append(entry)
            continue
        tasks = tasks_in(doc, entry.url)
        refs += task_refs(ctx, entry, tasks, inferred, _task_path_key)
    for ref, object_id, data in one_task_per_object(ctx, locate(ctx, refs)):
        yield IndexItem(
            data=data,
            object_id=object_id,
            annotation=_task_document(ctx, ref, _task_text(ctx, ref, data), strict, counts),
        )


def _task_text(ctx: ParseContext, ref: TaskRef, data: FileEntry | None) -> Any:
    """The text a task's results refer to: ``data.text``, or, when that is the URL of a
    text file (a Label Studio storage connection's task), the file's text."""
    text = ref.task["data"].get("text")
    if (
        data is not None
        and ref.path_key == INLINE_TEXT_KEY
        and isinstance(text, str)
        and not is_inline_text(ref.path_key, text)
    ):
        return decode_text(ctx.read_bytes(data), data.url)
    return text


def _task_document(
    ctx: ParseContext, ref: TaskRef, text: Any, strict: bool, counts: _Counts
) -> Any:
    """The document of one task, checked like a document read from a file."""
    if not isinstance(text, str):
        raise FormatError(f"Not a Label Studio text task: {ref.where}: data.text is not a string")
    doc, dropped = from_task(ref.task, text, ref.where)
    counts.dropped_results += dropped
    where = f"{ref.where}, converted"
    mismatches, _ = validate(doc, text, where, strict)
    _warn_mismatches(ctx, where, mismatches, counts)
    return doc


# instantiate ------------------------------------------------------------------------------


def _check_exportable(item: ExportItem) -> None:
    where = f"the annotation of id:{item.object_id}"
    if not looks_like_document(item.annotation):
        raise FormatError(
            f"Malformatted annotation for data object: id:{item.object_id}. For text "
            "instantiation format, annotations must be text annotation documents with "
            "annotations and annotationsData (index them with -m text)"
        )
    check_schema(item.annotation, where)


def export(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    """Pairs as strict-pairs writes them: ``<stem>-<id>.txt`` and ``<stem>-<id>.json``,
    the document as it was indexed (a Label Studio text task, indexed with -m
    label-studio, is converted to its document first). Objects without an annotation are
    left out."""
    for name in URL_PARAMS:
        if name in ctx.params:
            raise FormatError(f"Invalid parameter: {name}. It is read by index only")
    items = [_as_document(ctx, item) for item in items]
    for item in items:
        if item.has_annotation:
            _check_exportable(item)
    return export_strict(ctx, items)


def _as_document(ctx: ExportContext, item: ExportItem) -> ExportItem:
    """The item with its annotation as a text document when it is a Label Studio text
    task (its span, relation and choices results read as in ``from_task``)."""
    if not (item.has_annotation and is_text_task(item.annotation)):
        return item
    text = decode_text(_read_object(ctx, item), item.url)
    doc, _ = from_task(item.annotation, text, f"the annotation of id:{item.object_id}")
    return dataclasses.replace(item, annotation=doc)


def _read_object(ctx: ExportContext, item: ExportItem) -> bytes:
    """An object's bytes (remote ones with their storage location's options)."""
    try:
        with ctx.open_object(item) as f:
            return f.read()
    except OSError as exc:
        raise StorageError(f"Unable to read '{item.url}': {exc.strerror or exc}") from exc


def to_label_studio_task(ctx: ExportContext, item: ExportItem) -> dict[str, Any] | None:
    """The Label Studio task of an object whose annotation is a text document (None for
    any other annotation): for ``instantiate -m label-studio``."""
    if not looks_like_document(item.annotation):
        return None
    check_schema(item.annotation, f"the annotation of id:{item.object_id}")
    text = decode_text(_read_object(ctx, item), item.url)
    task = to_task(item.annotation, text)
    task["data"][INFO_KEY] = {ctx.id_key: item.object_id, "path": item.url, "path_key": PATH_KEY}
    return task
