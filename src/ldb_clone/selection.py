"""Object sources on the command line -> (object id, annotation id, version) members.

This version resolves ``ds:root`` and ``id:HASH`` (a full id or a unique prefix of at
least 8 hex characters). Datasets, workspaces and paths build on the same entry point.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ldb_clone.errors import ObjectNotFoundError, SelectionError
from ldb_clone.instance import Instance
from ldb_clone.reporting import Reporter

ROOT = "ds:root"
MIN_PREFIX = 8
_ID = re.compile(r"^(?:id:)?([0-9a-f]+)$")


@dataclass(frozen=True, slots=True)
class Member:
    object_id: str
    annotation_id: str | None
    version: int | None
    # the object's transform ids when the source is a dataset or workspace, which has a
    # transform mapping; None for sources that have none (ds:root, ids, paths)
    transforms: tuple[str, ...] | None = None


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


def indexed_ids(instance: Instance, sources: Sequence[str]) -> list[str]:
    """The object ids ``id:`` sources name, leaving out those not in the index: ``del``
    of an object that is not there removes nothing, as upstream (which takes the ids as
    given). A short or ambiguous prefix is still an error."""
    found = set()
    for source in sources:
        try:
            found.add(resolve_id(instance, source))
        except ObjectNotFoundError:
            continue
    return sorted(found)


def current_members(instance: Instance, object_ids: Iterable[str]) -> list[Member]:
    """Objects, sorted by id, each with its current annotation (or none)."""
    ids = sorted(set(object_ids))
    current = instance.catalog.current_annotations(ids)
    return [
        Member(oid, current[oid][1], current[oid][0]) if oid in current else Member(oid, None, None)
        for oid in ids
    ]


def select_members(
    instance: Instance,
    sources: Sequence[str],
    auto_index: bool = False,
    reporter: Reporter | None = None,
) -> list[Member]:
    """The members the sources name. With ``auto_index`` (add, sync, get), files not
    indexed yet are indexed first when the instance sets ``core.auto_index``."""
    sources = list(sources) or [ROOT]
    kind = source_kind(sources)
    if kind == "ds":
        if ROOT not in sources:
            from ldb_clone.datasets import dataset_members

            return dataset_members(instance, sources)
        if len(set(sources)) > 1:
            raise SelectionError("ds:root cannot be combined with other datasets")
        return [Member(*row) for row in instance.catalog.root_members()]
    if kind == "ws":
        from ldb_clone.datasets import members_of
        from ldb_clone.workspace import load_workspace

        combined: dict[str, str | None] = {}
        transforms: dict[str, list[str]] = {}
        for source in sources:
            ws = load_workspace(source[3:] or ".")
            combined.update(ws.members)
            transforms.update(ws.transforms)
        return members_of(instance, combined, transforms)
    if kind == "id":
        return current_members(instance, {resolve_id(instance, s) for s in sources})
    if kind == "path":
        return _path_members(instance, sources, auto_index, reporter)
    raise SelectionError(
        f"Selecting by {kind} is not supported yet; use ds:root, id:<hash> or paths"
    )


def path_object_ids(instance: Instance, sources: Sequence[str]) -> dict[str, str]:
    """Data files under the given paths -> their object ids (path URL -> id).

    Folders are walked (hidden files and ``.json`` files are skipped); globs and URLs work
    as for ``ldb index``. A file whose size and mtime match the stat cache is not read.
    """
    from ldb_clone.confine import real_local_roots
    from ldb_clone.fs import LOCAL, FileEntry, list_path, read_bytes
    from ldb_clone.stat_cache import OBJECT_KIND, cached_digests
    from ldb_clone.storage import load_locations, options_for

    locations = load_locations(instance)

    def options(protocol: str, path: str) -> dict:
        return options_for(locations, protocol, path)

    entries: list[FileEntry] = []
    for source in sources:
        for listing in list_path(source, options, real_local_roots(locations)):
            entries.extend(e for e in listing.entries if not e.is_json)
    hasher = instance.hasher
    cached = cached_digests(instance.catalog, entries, OBJECT_KIND)
    ids: dict[str, str] = {}
    for entry in entries:
        oid = cached.get((entry.protocol, entry.path))
        if oid is None:
            if entry.protocol == LOCAL:
                oid = hasher.file_digest(entry.path, entry.size)
            else:
                data = read_bytes(entry, options(entry.protocol, entry.path))
                oid = hasher.bytes_digest(data)
        ids[entry.url] = oid
    return ids


def _path_members(
    instance: Instance, sources: Sequence[str], auto_index: bool, reporter: Reporter | None = None
) -> list[Member]:
    ids = path_object_ids(instance, sources)
    known = instance.catalog.known_objects(set(ids.values()))
    unknown = {url: oid for url, oid in ids.items() if oid not in known}
    if unknown and auto_index and instance.setting("core.auto_index", False):
        known |= _auto_index(instance, unknown, reporter)
    elif unknown:
        url, oid = next(iter(unknown.items()))
        hint = ", or set core.auto_index = true to index such files on add" if auto_index else ""
        raise ObjectNotFoundError(
            f"Data object not found: id:{oid} (path={url!r}); index it first with ldb index" + hint
        )
    return current_members(instance, known)


def _auto_index(instance: Instance, unknown: dict[str, str], reporter: Reporter | None) -> set[str]:
    """Index files never seen before (auto-detecting their format, as upstream); return the
    ids of those the format kept. Strict pairs leave files without an annotation out."""
    from ldb_clone.indexing import index

    result = index(instance, sorted(unknown), "auto", reporter=reporter)
    if reporter is not None:
        reporter.echo("")  # as upstream: a blank line between the summary and what follows
    left_out = len(set(unknown.values()) - result.object_ids)
    if left_out and reporter is not None:
        reporter.warn(f"{left_out} files were not indexed by auto-index and are left out")
    return set(unknown.values()) & result.object_ids
