"""What ``list``, ``eval`` and ``status`` show about a selection of members."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ldb_clone import strict_json
from ldb_clone.fs import join_url
from ldb_clone.instance import Instance
from ldb_clone.selection import Member
from ldb_clone.terminal_text import printable

DEFAULT_TRANSFORMS = ("self",)


@dataclass(slots=True)
class ListRow:
    object_id: str
    annotation_id: str | None
    annotation_version: int | None
    path: str
    transforms: tuple[str, ...] = DEFAULT_TRANSFORMS

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.object_id,
            "annotation_id": self.annotation_id,
            "annotation_version": self.annotation_version,
            "path": self.path,
            "transforms": list(self.transforms),
        }


def with_versions(instance: Instance, members: Sequence[Member]) -> list[Member]:
    """Members whose annotation version number is not known yet get it from the catalog."""
    missing = [(m.object_id, m.annotation_id) for m in members if m.annotation_id and not m.version]
    if not missing:
        return list(members)
    numbers = instance.catalog.version_numbers(missing)
    return [
        replace(m, version=numbers.get((m.object_id, m.annotation_id)))
        if m.annotation_id and not m.version
        else m
        for m in members
    ]


def list_rows(instance: Instance, members: Sequence[Member]) -> list[ListRow]:
    members = with_versions(instance, members)
    infos = instance.catalog.object_infos(m.object_id for m in members)
    names = transform_names(instance, members)
    rows = []
    for m in members:
        info = infos.get(m.object_id)
        path = join_url(info.protocol, info.path) if info and info.path and info.protocol else ""
        shown = names[m.transforms] if m.transforms is not None else DEFAULT_TRANSFORMS
        rows.append(ListRow(m.object_id, m.annotation_id, m.version, path, shown))
    return rows


def transform_names(
    instance: Instance, members: Sequence[Member]
) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Each distinct transform set of the members -> its display names."""
    from ldb_clone.transforms import describe, display_names

    sets = {m.transforms for m in members if m.transforms is not None}
    if not sets:
        return {}
    known = describe(instance, {tid for ids in sets for tid in ids})
    return {
        ids: tuple(display_names(known[tid] for tid in ids if tid in known))
        + tuple(tid for tid in ids if tid not in known)
        for ids in sets
    }


def left_truncate(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[len(text) - width + 3 :]


LIST_PATH_MIN_WIDTH = 24  # upstream's fixed path column
LIST_FIXED_WIDTH = 48  # " id:<hash>" column, annotation version, gaps around the path


def format_list(
    rows: Sequence[ListRow], verbose: bool = False, columns: int | None = None
) -> Iterator[str]:
    """Upstream's table: header, then one line per object.

    A path is cut (from the left) only to fit a terminal ``columns`` wide, never below
    upstream's 24 characters; with ``verbose`` or no terminal (``columns`` None: a pipe,
    a file) it is shown whole.
    """
    if not rows:
        return
    yield f"{'Data Object Hash':36}  {'Annot':3}  {'Data Object Path':24}  {'Transforms':24}"
    for row in rows:
        version = str(row.annotation_version or "-")
        shown = printable(row.path)  # a file name may hold escape sequences
        transforms = printable(",".join(row.transforms)) or "-"
        path = shown
        if columns is not None and not verbose:
            width = max(LIST_PATH_MIN_WIDTH, columns - LIST_FIXED_WIDTH - len(transforms))
            path = left_truncate(shown, width)
        yield f" {'id:' + row.object_id:36}  {version:4}   {path:24}  {transforms}"


def annotation_values(instance: Instance, members: Sequence[Member]) -> list[tuple[str, Any]]:
    """(object id, annotation value or None) for each member, in order."""
    texts = instance.catalog.annotation_texts({m.annotation_id for m in members if m.annotation_id})
    return [
        (m.object_id, json.loads(texts[m.annotation_id]) if m.annotation_id else None)
        for m in members
    ]


def evaluate(
    instance: Instance,
    members: Sequence[Member],
    shows: Sequence[tuple[str, str]] = (),
    warn: Any = None,
) -> list[tuple[str, list[Any]]]:
    """(object id, values) per member: the annotation, or each show query's value.

    ``shows`` are (kind, expression) with kind ``file`` (file attributes), ``query``
    (LDB JMESPath) or ``jquery`` (standard JMESPath), shown in the given order.
    """
    if not shows:
        return [(oid, [value]) for oid, value in annotation_values(instance, members)]
    from ldb_clone.filters import Pipeline
    from ldb_clone.query import compile_query

    pipeline = Pipeline(instance, [], warn=warn)
    queries = [
        (kind, compile_query(expr, strict=kind != "jquery", instance_dir=instance.path))
        for kind, expr in shows
    ]
    if any(kind != "file" for kind, _ in shows):
        pipeline.load_values(members)
    if any(kind == "file" for kind, _ in shows):
        pipeline.load_metas(members)
    rows = []
    for m in members:
        values = []
        for kind, query in queries:
            subject = pipeline.file_meta(m) if kind == "file" else pipeline.annotation_value(m)
            values.append(query.search(subject))
        rows.append((m.object_id, values))
    if warn is not None:
        for _, query in queries:
            for message in query.take_warnings():
                warn(message)
    return rows


SHOWABLE_KINDS = ("query", "jquery", "file")


def show_last_query(filters: Sequence[Any]) -> tuple[list[Any], list[tuple[str, str]]]:
    """``eval`` without a show option, as upstream 0.7.0: the last ``--query``, ``--jquery``
    or ``--file`` is shown rather than applied; every other filter still applies.

    Returns (the remaining filters, the shows: empty when no such filter was given).
    """
    for i in range(len(filters) - 1, -1, -1):
        if filters[i].kind in SHOWABLE_KINDS:
            shown = filters[i]
            return [*filters[:i], *filters[i + 1 :]], [(shown.kind, shown.arg)]
    return list(filters), []


def parse_indent(text: str | None) -> int | str | None:
    """``--indent``: a number, ``none`` for one line, or a whitespace string such as a tab."""
    if text is None:
        return 2
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        if text.isspace() or text == "":
            return text
        raise ValueError(f"Invalid --indent {text!r}: use a number, 'none' or whitespace") from None


def dump_json(value: Any, indent: int | str | None) -> str:
    return strict_json.dumps(value, indent=indent, ensure_ascii=False)


@dataclass(slots=True)
class Status:
    name: str
    num_objects: int
    num_annotations: int
    auto_pull: bool = False
    workspace: str | None = None  # the workspace directory, for a working dataset
    changes: tuple[int, int, int] | None = None  # additions, deletions, modifications
    message: str | None = None
    # members whose annotation its format declares unlabelled (formats.UNLABELLED)
    unlabelled_annotations: int = 0

    @property
    def labelled(self) -> int:
        return self.num_annotations - self.unlabelled_annotations

    @property
    def unlabelled(self) -> int:
        return self.num_objects - self.labelled

    @property
    def progress(self) -> float:
        return 100.0 * self.labelled / self.num_objects if self.num_objects else 0.0

    def to_json(self) -> dict[str, Any]:
        data = {
            "dataset": self.name,
            "num_data_objects": self.num_objects,
            "num_annotations": self.num_annotations,
            "num_unlabelled": self.unlabelled,
            "labelling_progress": round(self.progress, 2),
            "auto_pull": self.auto_pull,
        }
        if self.workspace is not None:
            data["workspace"] = self.workspace
            additions, deletions, modifications = self.changes or (0, 0, 0)
            data["unsaved_changes"] = {
                "additions": additions,
                "deletions": deletions,
                "modifications": modifications,
            }
        if self.message:
            data["message"] = self.message
        return data

    def format(self) -> str:
        lines = []
        if self.workspace is not None:
            lines += [f"Workspace directory: {self.workspace!r}", ""]
        lines.append(self.name + (f'  "{self.message}"' if self.message else ""))
        lines += [
            f"  Num data objects: {self.num_objects:8d}",
            f"  Num annotations:  {self.num_annotations:8d}",
            "",
            f"  auto-pull:        {str(self.auto_pull).lower()}",
        ]
        if self.workspace is not None:
            additions, deletions, modifications = self.changes or (0, 0, 0)
            if additions or deletions or modifications:
                lines += [
                    "",
                    "Unsaved changes:",
                    f"  Additions (+):     {additions:4d}",
                    f"  Deletions (-):     {deletions:4d}",
                    f"  Modifications (m): {modifications:4d}",
                ]
            else:
                lines += ["", "No unsaved changes."]
        lines += [
            "",
            "Labelling progress:",
            f"  Labelled:         {self.labelled:8d}",
            f"  Unlabelled:       {self.unlabelled:8d}",
            f"  Progress:         {self.progress:7.1f}%",
        ]
        return "\n".join(lines)


def collection_changes(old: Any, new: Any) -> tuple[int, int, int]:
    """(additions, deletions, modifications) going from snapshot ``old`` to ``new``
    (``datasets.Snapshot``: members and transform mapping)."""
    from ldb_clone.datasets import change_counts

    return change_counts(old, new)


def status_of(name: str, members: Sequence[Member], instance: Instance | None = None) -> Status:
    """Counts for ``ldb status``. With ``instance``, annotations that their format declares
    unlabelled (a platform image whose ``annotation`` is null) count as unlabelled."""
    status = Status(name, len(members), sum(1 for m in members if m.annotation_id))
    if instance is not None and status.num_annotations:
        status.unlabelled_annotations = count_unlabelled(instance, members)
    return status


def count_unlabelled(instance: Instance, members: Sequence[Member]) -> int:
    """How many members have an annotation that a format declares unlabelled.

    NOTE: answered by the catalog over the stored JSON (``formats.unlabelled_predicate``),
    so status parses no annotation in Python and imports no format module.
    """
    from ldb_clone.formats import unlabelled_predicate

    predicate = unlabelled_predicate()
    if predicate is None:
        return 0
    ids = {m.annotation_id for m in members if m.annotation_id}
    matching = instance.catalog.annotations_matching(ids, predicate)
    return sum(1 for m in members if m.annotation_id in matching) if matching else 0
