"""Datasets: stage a working dataset, change it, commit versions, list and delete them."""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ldb_clone.errors import LdbError, SelectionError
from ldb_clone.instance import Instance
from ldb_clone.selection import Member
from ldb_clone.workspace import (
    Workspace,
    WorkspaceError,
    is_workspace,
    load_workspace,
    now_iso,
    prepare_directory,
)

DATASET_REF = re.compile(r"^ds:((?:\.temp\.)?[A-Za-z0-9_\-:+.]*?[A-Za-z0-9_\-:+])(?:\.v(\d+))?$")
NAME = re.compile(r"^[A-Za-z0-9_-]+$")
TEMP_PREFIX = ".temp."


class DatasetError(LdbError):
    pass


@dataclass(frozen=True)
class DatasetRef:
    name: str
    version: int | None = None

    def __str__(self) -> str:
        return f"ds:{self.name}" + (f".v{self.version}" if self.version else "")


def parse_ref(text: str) -> DatasetRef:
    """``ds:name`` or ``ds:name.vN``; temporary names ``ds:.temp.<time>`` are allowed."""
    match = DATASET_REF.match(text)
    if not match:
        raise DatasetError(f"Invalid dataset identifier: {text!r} (expected ds:NAME or ds:NAME.vN)")
    name, version = match.group(1), match.group(2)
    if not (NAME.match(name) or name.startswith(TEMP_PREFIX)):
        raise DatasetError(f"Invalid dataset name: {name!r} (letters, digits, '_' and '-')")
    if version is not None and int(version) < 1:
        raise DatasetError(f"Invalid dataset version in {text!r}: versions start at 1")
    return DatasetRef(name, int(version) if version else None)


def collection_id(instance: Instance, members: dict[str, str | None]) -> str:
    """The content address of a collection: the hash of its sorted members."""
    text = json.dumps(sorted(members.items()), separators=(",", ":"))
    return instance.hasher.bytes_digest(text.encode("utf-8"))


def version_members(instance: Instance, ref: DatasetRef) -> tuple[int, dict[str, str | None]]:
    """(version number, members) of ``ds:name[.vN]`` (the latest without a version)."""
    versions = instance.catalog.dataset_versions(ref.name)
    if not versions:
        raise DatasetError(f"Dataset not found: ds:{ref.name}")
    if ref.version is None:
        chosen = versions[-1]
    elif ref.version > len(versions):
        raise DatasetError(
            f"{ref} does not exist; the latest version is ds:{ref.name}.v{len(versions)}"
        )
    else:
        chosen = versions[ref.version - 1]
    return chosen["version"], instance.catalog.collection_members(chosen["collection"])


def version_info(instance: Instance, ref: DatasetRef) -> dict:
    """The catalog's record of ``ds:name[.vN]`` (the latest without a version)."""
    number, _ = version_members(instance, ref)
    info = dict(instance.catalog.dataset_versions(ref.name)[number - 1])
    info["name"] = ref.name
    return info


def parent_members(instance: Instance, ws: Workspace) -> dict[str, str | None]:
    """The members of the version a workspace was staged from (empty for a new dataset)."""
    if ws.parent is None:
        return {}
    versions = instance.catalog.dataset_versions(ws.dataset_name)
    if ws.parent > len(versions):
        return {}
    return instance.catalog.collection_members(versions[ws.parent - 1]["collection"])


def dataset_members(instance: Instance, sources: Sequence[str]) -> list[Member]:
    """The union of datasets; where they disagree on an object, the newest annotation
    version wins."""
    combined: dict[str, str | None] = {}
    for source in sources:
        ref = parse_ref(source)
        if ref.name == "root":
            raise SelectionError("ds:root cannot be combined with other datasets")
        _, members = version_members(instance, ref)
        for oid, aid in members.items():
            if oid not in combined or combined[oid] is None:
                combined[oid] = aid
            elif aid is not None and aid != combined[oid]:
                combined[oid] = _newer(instance, oid, combined[oid], aid)
    return members_of(instance, combined)


def _newer(instance: Instance, oid: str, first: str | None, second: str) -> str:
    versions = instance.catalog.annotation_version_numbers(oid)
    return second if versions.get(second, 0) >= versions.get(first or "", 0) else first or second


def members_of(instance: Instance, collection: dict[str, str | None]) -> list[Member]:
    """Members sorted by id. Annotation version numbers are left out (None): only some
    views need them, and ``views.with_versions`` fills them in."""
    return [Member(oid, aid, None) for oid, aid in sorted(collection.items())]


# commands --------------------------------------------------------------------------------


def stage(instance: Instance, identifier: str, target: Path, force: bool = False) -> str:
    ref = parse_ref(identifier)
    if ref.name == "root":
        raise DatasetError("Cannot stage ds:root: stage a named dataset, e.g. ds:my-dataset")
    if is_workspace(target) and not force:
        current = load_workspace(target)
        if is_dirty(instance, current):
            raise WorkspaceError(
                "Unsaved changes to workspace dataset. "
                "Commit changes or use the --force option to overwrite them"
            )
    prepare_directory(target, force)
    versions = instance.catalog.dataset_versions(ref.name)
    if not versions:
        if ref.version is not None:
            raise DatasetError(f"{ref} does not exist. To stage a new dataset, use ds:{ref.name}")
        Workspace(target, ref.name, staged_time=now_iso()).save()
        return f"Staged new dataset ds:{ref.name} at {str(target)!r}"
    number, members = version_members(instance, ref)
    auto_pull = bool(versions[number - 1]["auto_pull"])
    Workspace(target, ref.name, number, auto_pull, now_iso(), members).save()
    return f"Staged ds:{ref.name}.v{number} at {str(target)!r}"


def is_dirty(instance: Instance, ws: Workspace) -> bool:
    if ws.parent is None:
        return bool(ws.members)
    versions = instance.catalog.dataset_versions(ws.dataset_name)
    if ws.parent > len(versions):
        return True
    return collection_id(instance, ws.members) != versions[ws.parent - 1]["collection_id"]


def add_members(ws: Workspace, members: Sequence[Member]) -> int:
    """Add (or re-point) members; return how many entries are new or changed."""
    changed = 0
    for m in members:
        if ws.members.get(m.object_id, "\0") != m.annotation_id:
            ws.members[m.object_id] = m.annotation_id
            changed += 1
    ws.save()
    return changed


def delete_members(ws: Workspace, object_ids: Sequence[str]) -> int:
    removed = 0
    for oid in object_ids:
        if ws.members.pop(oid, "\0") != "\0":
            removed += 1
    ws.save()
    return removed


def commit(
    instance: Instance,
    ws: Workspace,
    message: str = "",
    auto_pull: bool | None = None,
    rename: str | None = None,
) -> str:
    if rename is not None:
        ref = parse_ref(rename)
        if ref.version is not None:
            raise DatasetError("Dataset name cannot include version when committing")
        if ref.name == "root":
            raise DatasetError("Cannot commit to ds:root")
        if ref.name != ws.dataset_name:
            ws.dataset_name = ref.name
            ws.parent = None
    if ws.dataset_name.startswith(TEMP_PREFIX):
        raise DatasetError(
            f"Cannot commit ds:{ws.dataset_name}: names beginning with ds:{TEMP_PREFIX} are "
            "temporary. Give a name: ldb commit ds:NAME"
        )
    pull = ws.auto_pull if auto_pull is None else auto_pull
    if not is_dirty(instance, ws) and pull == ws.auto_pull and rename is None:
        return "Nothing to commit."
    versions = instance.catalog.dataset_versions(ws.dataset_name)
    if versions and ws.parent is None and not ws.members:
        return "Nothing to commit."
    now = now_iso()
    with instance.catalog.transaction():
        try:
            collection = instance.catalog.save_collection(
                collection_id(instance, ws.members), ws.members
            )
        except ValueError:
            raise DatasetError(
                "Cannot commit: the working dataset holds objects that are no longer indexed "
                "(removed with ldb unindex); take them out with ldb del, or index them again"
            ) from None
        number = instance.catalog.add_dataset_version(
            ws.dataset_name, collection, ws.parent, pull, message, now, _user()
        )
    ws.parent = number
    ws.auto_pull = pull
    ws.save()
    return f"Committed ds:{ws.dataset_name}.v{number}"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return ""


def sync_members(ws: Workspace, members: Sequence[Member]) -> tuple[int, int]:
    """Make the working dataset exactly ``members``; return (added or changed, removed)."""
    wanted = {m.object_id for m in members}
    removed = [oid for oid in ws.members if oid not in wanted]
    for oid in removed:
        del ws.members[oid]
    return add_members(ws, members), len(removed)


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "+", "-" or "m"
    object_id: str
    old_version: int | None
    new_version: int | None


def resolve_collection(instance: Instance, source: str) -> dict[str, str | None]:
    """The members of ``ds:name[.vN]``, ``ds:root`` or ``ws:DIR`` as object -> annotation."""
    if source.startswith("ws:"):
        return dict(load_workspace(source[3:] or ".").members)
    ref = parse_ref(source)
    if ref.name == "root":
        return {oid: aid for oid, aid, _ in instance.catalog.root_members()}
    return version_members(instance, ref)[1]


def diff(
    instance: Instance, old: dict[str, str | None], new: dict[str, str | None]
) -> list[DiffRow]:
    """Additions, deletions and modifications from ``old`` to ``new``, by object id."""
    pairs = [(o, a) for o, a in old.items() if a] + [(o, a) for o, a in new.items() if a]
    numbers = instance.catalog.version_numbers(pairs)
    rows = []
    for oid in sorted(old.keys() | new.keys()):
        before = numbers.get((oid, old[oid])) if old.get(oid) else None
        after = numbers.get((oid, new[oid])) if new.get(oid) else None
        if oid not in old:
            rows.append(DiffRow("+", oid, None, after))
        elif oid not in new:
            rows.append(DiffRow("-", oid, before, None))
        elif old[oid] != new[oid]:
            rows.append(DiffRow("m", oid, before, after))
    return rows


def pull(
    instance: Instance, ws: Workspace, object_ids: Sequence[str], version: int | None
) -> tuple[int, int, int]:
    """Point the given workspace members at annotation version ``version`` (the highest
    version when None); return (already up to date, updated, missing that version)."""
    ids = [oid for oid in object_ids if oid in ws.members]
    by_object: dict[str, dict[int, str]] = {}
    for (oid, aid), number in instance.catalog.version_numbers([(o, "") for o in ids]).items():
        by_object.setdefault(oid, {})[number] = aid
    current = updated = missing = 0
    for oid in ids:
        versions = by_object.get(oid, {})
        if not versions:
            missing += 1
            continue
        target = max(versions) if version is None else version
        if target not in versions:
            missing += 1
        elif ws.members[oid] == versions[target]:
            current += 1
        else:
            ws.members[oid] = versions[target]
            updated += 1
    ws.save()
    return current, updated, missing
