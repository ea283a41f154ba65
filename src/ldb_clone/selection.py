"""Object sources on the command line -> (object id, annotation id, version) members.

This version resolves ``ds:root`` and ``id:HASH`` (a full id or a unique prefix of at
least 8 hex characters). Datasets, workspaces and paths build on the same entry point.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ldb_clone.errors import ObjectNotFoundError, SelectionError
from ldb_clone.instance import Instance

ROOT = "ds:root"
MIN_PREFIX = 8
_ID = re.compile(r"^(?:id:)?([0-9a-f]+)$")


@dataclass(frozen=True, slots=True)
class Member:
    object_id: str
    annotation_id: str | None
    version: int | None


def source_kind(sources: Sequence[str]) -> str:
    """The kind of a source list: ``ds``, ``ws``, ``id`` or ``path`` (mixing is an error)."""
    kinds = set()
    for source in sources:
        if source.startswith("ds:"):
            kinds.add("ds")
        elif source.startswith("ws:"):
            kinds.add("ws")
        elif source.startswith("id:") or re.fullmatch(r"[0-9a-f]{32}", source):
            kinds.add("id")
        else:
            kinds.add("path")
    if len(kinds) > 1:
        raise SelectionError(
            "All sources must be of the same kind: datasets (ds:), workspaces (ws:), "
            "object ids (id:) or paths; got " + ", ".join(sorted(kinds))
        )
    return kinds.pop() if kinds else "ds"


def resolve_id(instance: Instance, text: str) -> str:
    match = _ID.match(text.strip().lower())
    if not match:
        raise SelectionError(f"Invalid data object id: {text!r}")
    prefix = match.group(1)
    if len(prefix) == 32:
        if not instance.catalog.known_objects([prefix]):
            raise ObjectNotFoundError(f"Data object not found: id:{prefix}")
        return prefix
    if len(prefix) < MIN_PREFIX:
        raise SelectionError(
            f"Object id prefix too short: id:{prefix} (give at least {MIN_PREFIX} characters)"
        )
    found = instance.catalog.resolve_prefix(prefix)
    if not found:
        raise ObjectNotFoundError(f"Data object not found: id:{prefix}")
    if len(found) > 1:
        raise SelectionError(f"Ambiguous data object id prefix: id:{prefix} matches several")
    return found[0]


def select_members(instance: Instance, sources: Sequence[str]) -> list[Member]:
    sources = list(sources) or [ROOT]
    kind = source_kind(sources)
    if kind == "ds":
        unknown = [s for s in sources if s != ROOT]
        if unknown:
            raise SelectionError(f"Dataset not found: {unknown[0]}")
        return [Member(*row) for row in instance.catalog.root_members()]
    if kind == "id":
        ids = sorted({resolve_id(instance, s) for s in sources})
        current = instance.catalog.current_annotations(ids)
        return [
            Member(oid, current[oid][1], current[oid][0])
            if oid in current
            else Member(oid, None, None)
            for oid in ids
        ]
    raise SelectionError(f"Selecting by {kind} is not supported yet; use ds:root or id:<hash>")
