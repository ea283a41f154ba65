"""Datasets: stage a working dataset, change it, commit versions, list and delete them."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ldb_clone.errors import LdbError, NotIndexedError, SelectionError
from ldb_clone.faults import crash_point
from ldb_clone.instance import Instance, current_user
from ldb_clone.selection import Member
from ldb_clone.transforms import TransformUpdate, apply_update, default_set, mapping_text
from ldb_clone.workspace import (
    Workspace,
    WorkspaceError,
    is_workspace,
    load_workspace,
    now_iso,
    prepare_directory,
)

if TYPE_CHECKING:
    from ldb_clone.catalog import DatasetVersion

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


def chosen_version(instance: Instance, ref: DatasetRef) -> DatasetVersion:
    """The catalog's record of ``ds:name[.vN]`` (the latest without a version)."""
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
    return chosen


def version_record(instance: Instance, ref: DatasetRef) -> dict[str, Any]:
    """``chosen_version`` as a dict with the dataset's ``name`` too."""
    return {**asdict(chosen_version(instance, ref)), "name": ref.name}


def version_members(instance: Instance, ref: DatasetRef) -> tuple[int, dict[str, str | None]]:
    """(version number, members) of ``ds:name[.vN]`` (the latest without a version)."""
    record = chosen_version(instance, ref)
    return record.version, instance.catalog.collection_members(record.collection)


def version_info(instance: Instance, ref: DatasetRef) -> dict:
    """The catalog's record of ``ds:name[.vN]`` (the latest without a version)."""
    return version_record(instance, ref)


@dataclass
class Snapshot:
    """What a dataset version or a workspace holds: members and transform mapping."""

    members: dict[str, str | None]
    transforms: dict[str, list[str]]


def _parent_record(instance: Instance, ws: Workspace) -> DatasetVersion | None:
    if ws.parent is None:
        return None
    versions = instance.catalog.dataset_versions(ws.dataset_name)
    return versions[ws.parent - 1] if ws.parent <= len(versions) else None


def parent_snapshot(instance: Instance, ws: Workspace) -> Snapshot:
    """The version a workspace was staged from (empty for a new dataset)."""
    record = _parent_record(instance, ws)
    if record is None:
        return Snapshot({}, {})
    return _snapshot(instance, record)


def parent_members(instance: Instance, ws: Workspace) -> dict[str, str | None]:
    return parent_snapshot(instance, ws).members


def _snapshot(instance: Instance, record: DatasetVersion) -> Snapshot:
    catalog = instance.catalog
    return Snapshot(
        catalog.collection_members(record.collection),
        catalog.transform_mapping(record.transform_mapping),
    )


def dataset_members(instance: Instance, sources: Sequence[str]) -> list[Member]:
    """The union of datasets; where they disagree on an object, the newest annotation
    version wins (and the transforms of the last dataset naming it)."""
    combined: dict[str, str | None] = {}
    transforms: dict[str, list[str]] = {}
    for source in sources:
        ref = parse_ref(source)
        if ref.name == "root":
            raise SelectionError("ds:root cannot be combined with other datasets")
        snapshot = _snapshot(instance, chosen_version(instance, ref))
        for oid, aid in snapshot.members.items():
            if oid not in combined or combined[oid] is None:
                combined[oid] = aid
            elif aid is not None and aid != combined[oid]:
                combined[oid] = _newer(instance, oid, combined[oid], aid)
            transforms.pop(oid, None)
        transforms.update(snapshot.transforms)
    return members_of(instance, combined, transforms)


def _newer(instance: Instance, oid: str, first: str | None, second: str) -> str:
    versions = instance.catalog.annotation_version_numbers(oid)
    return second if versions.get(second, 0) >= versions.get(first or "", 0) else first or second


def members_of(
    instance: Instance,
    collection: dict[str, str | None],
    transforms: dict[str, list[str]] | None = None,
) -> list[Member]:
    """Members sorted by id. Annotation version numbers are left out (None): only some
    views need them, and ``views.with_versions`` fills them in. With a transform mapping,
    every member carries its transform set (the default set where the mapping has none)."""
    if transforms is None:
        return [Member(oid, aid, None) for oid, aid in sorted(collection.items())]
    default = default_set(instance.hasher)
    return [
        Member(oid, aid, None, tuple(transforms[oid]) if oid in transforms else default)
        for oid, aid in sorted(collection.items())
    ]


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
    record = chosen_version(instance, ref)
    number, snapshot = record.version, _snapshot(instance, record)
    ws = Workspace(
        target,
        ref.name,
        number,
        record.auto_pull,
        now_iso(),
        snapshot.members,
        snapshot.transforms,
    )
    if ws.auto_pull:
        pull(instance, ws, list(ws.members), None)  # saves the workspace
    else:
        ws.save()
    return f"Staged ds:{ref.name}.v{number} at {str(target)!r}"


def get_into_workspace(target: Path) -> tuple[Workspace, str]:
    """The workspace ``ldb get`` adds to: ``target`` itself when it is one, else a new
    temporary dataset to stage there (the folder must be missing or empty). Returns the
    workspace and the staging message ("" when nothing is staged). A new workspace is not
    saved: ``get`` writes it together with the files."""
    if is_workspace(target):
        return load_workspace(target), ""
    if target.exists() and not target.is_dir():
        raise WorkspaceError(f"Not a directory: '{target}'")
    if target.is_dir() and any(target.iterdir()):
        raise WorkspaceError(
            "Target must be empty, missing, or a valid workspace. "
            f"Directory is not empty: '{target}'"
        )
    if not target.parent.is_dir():
        raise WorkspaceError(f"Parent directory does not exist: '{target.parent}'")
    name = f"{TEMP_PREFIX}{now_iso()}"
    return Workspace(target, name, staged_time=now_iso()), f"Staged ds:{name} at {str(target)!r}"


def mapping_id(instance: Instance, transforms: dict[str, list[str]]) -> str | None:
    """The content address of a transform mapping; None for the empty mapping."""
    if not transforms:
        return None
    return instance.hasher.bytes_digest(mapping_text(transforms).encode("utf-8"))


def is_dirty(instance: Instance, ws: Workspace) -> bool:
    record = _parent_record(instance, ws)
    if record is None:
        return ws.parent is not None or bool(ws.members)
    return (
        collection_id(instance, ws.members) != record.collection_id
        or mapping_id(instance, ws.transforms) != record.transform_mapping_id
    )


@dataclass(frozen=True)
class AddResult:
    changed: int  # members new, or pointing at another annotation
    transforms: int  # members whose transform set changed


def add_members(
    instance: Instance, ws: Workspace, members: Sequence[Member], *, save: bool = True
) -> AddResult:
    """Add (or re-point) members; members from a dataset or workspace bring their
    transform sets. ``save``: write the workspace state (``get`` writes it itself)."""
    changed = updated = 0
    default = list(default_set(instance.hasher))
    for m in members:
        if ws.members.get(m.object_id, "\0") != m.annotation_id:
            ws.members[m.object_id] = m.annotation_id
            changed += 1
        if m.transforms is not None:
            wanted = sorted(m.transforms)
            if ws.transforms.get(m.object_id, default) != wanted:
                updated += 1
            if wanted == default:
                ws.transforms.pop(m.object_id, None)
            else:
                ws.transforms[m.object_id] = wanted
    if save:
        ws.save()
    return AddResult(changed, updated)


def set_transforms(
    instance: Instance, ws: Workspace, object_ids: Sequence[str], update: TransformUpdate
) -> int:
    """Apply ``update`` to the transform sets of the given workspace members; return how
    many sets changed, as upstream counts (objects outside the workspace are ignored)."""
    selected = [oid for oid in dict.fromkeys(object_ids) if oid in ws.members]
    changed = apply_update(instance, ws.transforms, selected, update)
    ws.save()
    return changed


def delete_members(ws: Workspace, object_ids: Sequence[str]) -> int:
    removed = 0
    for oid in object_ids:
        if ws.members.pop(oid, "\0") != "\0":
            removed += 1
        ws.transforms.pop(oid, None)
    ws.save()
    return removed


def commit(
    instance: Instance,
    ws: Workspace,
    message: str = "",
    auto_pull: bool | None = None,
    rename: str | None = None,
) -> str:
    """Save the working dataset as a new version of its dataset (or of ``rename``).

    Idempotent against a kill: the version being written is recorded in the workspace
    first, so a commit killed after the catalog write is adopted by the next commit
    instead of being written twice."""
    interrupted = _settle_pending_commit(instance, ws)
    before = replace(ws)
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
    nothing = "Nothing to commit."
    if interrupted:
        nothing = f"Committed ds:{ws.dataset_name}.v{ws.parent} (by an interrupted commit)"
    if not is_dirty(instance, ws) and pull == ws.auto_pull and rename is None:
        return nothing
    versions = instance.catalog.dataset_versions(ws.dataset_name)
    if versions and ws.parent is None and not ws.members:
        return nothing
    now = now_iso()
    members_id = collection_id(instance, ws.members)
    intended = {"dataset": ws.dataset_name, "committed": now, "collection_id": members_id}
    before.pending_commit = intended
    before.save()  # the state as it was, plus the version about to be written
    try:
        number = _add_version(instance, ws, members_id, pull, message, now)
    except BaseException:
        before.pending_commit = None
        before.save()
        raise
    crash_point("commit-after-catalog")
    ws.parent = number
    ws.auto_pull = pull
    ws.pending_commit = None
    ws.save()
    return f"Committed ds:{ws.dataset_name}.v{number}"


def _add_version(
    instance: Instance, ws: Workspace, members_id: str, pull: bool, message: str, now: str
) -> int:
    with instance.catalog.transaction():
        try:
            collection = instance.catalog.save_collection(members_id, ws.members)
        except NotIndexedError:
            raise DatasetError(
                "Cannot commit: the working dataset holds objects that are no longer indexed "
                "(removed with ldb unindex); take them out with ldb del, or index them again"
            ) from None
        mapping = mapping_id(instance, ws.transforms)
        mapping_key = (
            instance.catalog.save_transform_mapping(mapping, mapping_text(ws.transforms))
            if mapping
            else None
        )
        return instance.catalog.add_dataset_version(
            ws.dataset_name, collection, ws.parent, pull, message, now, current_user(), mapping_key
        )


def _settle_pending_commit(instance: Instance, ws: Workspace) -> bool:
    """Finish what a killed commit recorded: when its version reached the catalog, the
    workspace now points at it. Returns whether it had."""
    pending = ws.pending_commit
    if pending is None:
        return False
    found = False
    for record in instance.catalog.dataset_versions(pending["dataset"]):
        if (
            record.committed == pending["committed"]
            and record.collection_id == pending["collection_id"]
        ):
            ws.dataset_name = pending["dataset"]
            ws.parent = record.version
            ws.auto_pull = record.auto_pull
            found = True
            break
    ws.pending_commit = None
    ws.save()
    return found


def sync_members(
    instance: Instance, ws: Workspace, members: Sequence[Member]
) -> tuple[AddResult, int]:
    """Make the working dataset exactly ``members``; return (what was added, removed)."""
    wanted = {m.object_id for m in members}
    removed = [oid for oid in ws.members if oid not in wanted]
    for oid in removed:
        del ws.members[oid]
        ws.transforms.pop(oid, None)
    return add_members(instance, ws, members), len(removed)


@dataclass(frozen=True)
class DiffRow:
    kind: str  # "+", "-" or "m"
    object_id: str
    old_version: int | None
    new_version: int | None


def resolve_snapshot(instance: Instance, source: str) -> Snapshot:
    """What ``ds:name[.vN]``, ``ds:root`` or ``ws:DIR`` holds."""
    if source.startswith("ws:"):
        ws = load_workspace(source[3:] or ".")
        return Snapshot(dict(ws.members), dict(ws.transforms))
    ref = parse_ref(source)
    if ref.name == "root":
        return Snapshot({oid: aid for oid, aid, _ in instance.catalog.root_members()}, {})
    return _snapshot(instance, chosen_version(instance, ref))


def resolve_collection(instance: Instance, source: str) -> dict[str, str | None]:
    """The members of ``ds:name[.vN]``, ``ds:root`` or ``ws:DIR`` as object -> annotation."""
    return resolve_snapshot(instance, source).members


def changes(old: Snapshot, new: Snapshot) -> list[tuple[str, str]]:
    """(kind, object id) of every object that differs from ``old`` to ``new``, by id:
    ``+`` added, ``-`` deleted, ``m`` modified (its annotation or its transform set)."""
    before, after = old.members, new.members
    result = []
    for oid in sorted(before.keys() | after.keys()):
        if oid not in before:
            result.append(("+", oid))
        elif oid not in after:
            result.append(("-", oid))
        elif before[oid] != after[oid] or old.transforms.get(oid) != new.transforms.get(oid):
            result.append(("m", oid))
    return result


def change_counts(old: Snapshot, new: Snapshot) -> tuple[int, int, int]:
    """(additions, deletions, modifications) going from ``old`` to ``new``."""
    kinds = [kind for kind, _ in changes(old, new)]
    return kinds.count("+"), kinds.count("-"), kinds.count("m")


def diff(instance: Instance, old: Snapshot, new: Snapshot) -> list[DiffRow]:
    """``changes`` with the annotation version numbers on each side, by object id."""
    before_members, after_members = old.members, new.members
    pairs = [(o, a) for o, a in before_members.items() if a]
    pairs += [(o, a) for o, a in after_members.items() if a]
    numbers = instance.catalog.version_numbers(pairs)
    rows = []
    for kind, oid in changes(old, new):
        before = numbers.get((oid, before_members[oid])) if before_members.get(oid) else None
        after = numbers.get((oid, after_members[oid])) if after_members.get(oid) else None
        rows.append(DiffRow(kind, oid, before, after))
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
