"""History: every saved dataset version with who committed it, when and why (a
``git log`` for datasets), and what changed inside annotations between two versions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ldb_clone.datasets import DiffRow, Snapshot
from ldb_clone.filters import Filter, Pipeline
from ldb_clone.instance import Instance
from ldb_clone.selection import Member
from ldb_clone.terminal_text import printable

MISSING: Any = object()  # a key or list item one side does not have
TRANSFORMS_PATH = "(transforms)"  # diff -p's line for a changed transform set


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One saved version of a dataset, as ``ds list -a`` shows it."""

    name: str
    version: int
    message: str
    author: str
    date: str
    objects: int
    parent: int | None

    @property
    def ref(self) -> str:
        return f"ds:{self.name}.v{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.ref,
            "name": self.name,
            "version": self.version,
            "message": self.message,
            "author": self.author,
            "date": self.date,
            "objects": self.objects,
            "parent": self.parent,
        }


def dataset_log(instance: Instance) -> list[VersionEntry]:
    """Every version of every saved dataset, by name, oldest version first."""
    catalog = instance.catalog
    return [
        VersionEntry(
            name,
            record.version,
            record.message or "",
            record.committed_by or "",
            record.committed,
            record.size,
            record.parent,
        )
        for name, _ in catalog.dataset_names()
        for record in catalog.dataset_versions(name)
    ]


def format_log(entries: list[VersionEntry]) -> Iterator[str]:
    """One aligned line per version: reference, date (to the second, UTC as
    committed), author, object count and the message in quotes."""
    width = max((len(e.ref) for e in entries), default=0)
    author_width = max((len(e.author) for e in entries), default=0)
    for e in entries:
        date = utc_seconds(e.date)
        message = f'  "{printable(e.message)}"' if e.message else ""
        line = (
            f"{printable(e.ref):{width}}  {date}  {printable(e.author):{author_width}}  "
            f"{e.objects:>6} objects{message}"
        )
        yield line.rstrip()


def utc_seconds(text: str) -> str:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM:SS`` in UTC (a version migrated from
    upstream may carry another offset); text that is not such a time, as it is."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True, slots=True)
class ValueChange:
    """One changed place inside an annotation: ``path`` in JMESPath-like notation
    (``boxes[0].x``; ``""`` for the whole annotation); ``old``/``new`` are ``MISSING``
    when the place was added or removed."""

    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        return "+" if self.old is MISSING else "-" if self.new is MISSING else "~"

    def format(self) -> str:
        path = printable(self.path) or "(annotation)"
        if self.kind == "+":
            return f"+ {path}: {_compact(self.new)}"
        if self.kind == "-":
            return f"- {path}: {_compact(self.old)}"
        return f"~ {path}: {_compact(self.old)} -> {_compact(self.new)}"

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {"path": self.path}
        if self.old is not MISSING:
            result["old"] = self.old
        if self.new is not MISSING:
            result["new"] = self.new
        return result


def _compact(value: Any) -> str:
    return printable(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _key_path(prefix: str, key: str) -> str:
    simple = key.isidentifier() and key.isascii()
    part = key if simple else json.dumps(key, ensure_ascii=False)
    return f"{prefix}.{part}" if prefix else part


def value_changes(old: Any, new: Any, path: str = "") -> list[ValueChange]:
    """The smallest places where ``new`` differs from ``old``: objects key by key (in
    sorted key order), lists item by item (extra items added or removed at the end)."""
    if old is MISSING or new is MISSING:
        return [] if old is new else [ValueChange(path, old, new)]
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[ValueChange] = []
        for key in sorted(old.keys() | new.keys()):
            changes += value_changes(
                old.get(key, MISSING), new.get(key, MISSING), _key_path(path, key)
            )
        return changes
    if isinstance(old, list) and isinstance(new, list):
        changes = []
        for i in range(max(len(old), len(new))):
            changes += value_changes(
                old[i] if i < len(old) else MISSING,
                new[i] if i < len(new) else MISSING,
                f"{path}[{i}]",
            )
        return changes
    if type(old) is type(new) and old == new:  # JSON tells 1, 1.0 and true apart
        return []
    return [ValueChange(path, old, new)]


def annotation_changes(
    instance: Instance, pairs: list[tuple[str | None, str | None]]
) -> list[list[ValueChange]]:
    """For each (old annotation id, new annotation id) the changes between their values;
    an object without an annotation on one side counts as ``null`` there."""
    ids = {aid for pair in pairs for aid in pair if aid}
    texts = instance.catalog.annotation_texts(ids)
    values = {aid: json.loads(text) for aid, text in texts.items()}
    return [
        value_changes(
            values.get(old) if old else None,
            values.get(new) if new else None,
        )
        for old, new in pairs
    ]


def filter_changes(
    instance: Instance,
    rows: list[DiffRow],
    old: Snapshot,
    new: Snapshot,
    filters: Sequence[Filter],
    warn: Callable[[str], None] | None = None,
) -> list[DiffRow]:
    """The diff rows whose objects pass ``filters``, in order. Each object is seen as it
    is on the newer side (on the older side for a deletion), so ``--query`` tests the new
    annotation of a modified object and ``--limit 5`` keeps the first five changes."""
    if not filters:
        return rows
    members = [
        Member(
            r.object_id,
            (old.members if r.kind == "-" else new.members).get(r.object_id),
            r.old_version if r.kind == "-" else r.new_version,
        )
        for r in rows
    ]
    kept = {m.object_id for m in Pipeline(instance, filters, warn).run(members)}
    return [r for r in rows if r.object_id in kept]


def transform_changes(
    instance: Instance, rows: Sequence[DiffRow], old: Snapshot, new: Snapshot
) -> dict[str, ValueChange]:
    """object id -> the change of its transform set (display names, as ``ldb list``
    shows them) for the modified objects whose set changed."""
    from ldb_clone.transforms import default_set
    from ldb_clone.views import transform_names

    default = default_set(instance.hasher)
    sides: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for r in rows:
        before = tuple(old.transforms.get(r.object_id, default))
        after = tuple(new.transforms.get(r.object_id, default))
        if r.kind == "m" and before != after:
            sides[r.object_id] = (before, after)
    ids = {ids for pair in sides.values() for ids in pair}
    names = transform_names(instance, [Member("", None, None, t) for t in ids])
    return {
        oid: ValueChange(TRANSFORMS_PATH, list(names[before]), list(names[after]))
        for oid, (before, after) in sides.items()
    }


def modification_details(
    instance: Instance, rows: Sequence[DiffRow], old: Snapshot, new: Snapshot
) -> dict[str, list[ValueChange]]:
    """What ``diff -p`` shows: for each modified object, the changes inside its
    annotation, then the change of its transform set if any."""
    modified = [r for r in rows if r.kind == "m"]
    pairs = [(old.members.get(r.object_id), new.members.get(r.object_id)) for r in modified]
    details = {
        r.object_id: changes for r, changes in zip(modified, annotation_changes(instance, pairs))
    }
    for oid, change in transform_changes(instance, modified, old, new).items():
        details[oid].append(change)
    return details
