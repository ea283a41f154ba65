"""Transforms: what ``instantiate`` makes of each object, and ``ldb transform``.

A transform is the builtin ``self`` (write the object and its annotation as they are) or
an executable named in the config::

    [transform.rotate-90]
    run = ["python3", "scripts/rotate.py", "90"]
    create_annotations = true        # optional, default true

Every object of a working dataset has a set of transforms. The default set, {self}, is
not stored: a workspace and a dataset version keep only the objects whose set differs.
A transform is identified by the hash of ``{"transform_type": ..., "value": ...}``, so
renaming a config entry does not change what a dataset version means.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ldb_clone.errors import ConfigError, LdbError
from ldb_clone.hashing import Hasher
from ldb_clone.instance import Instance

SELF_NAME = "self"
PREDEFINED = "predefined"
EXEC = "exec"
SELF_SPEC = {"transform_type": PREDEFINED, "value": SELF_NAME}


class TransformError(LdbError):
    pass


@dataclass(frozen=True, slots=True)
class Transform:
    id: str
    transform_type: str  # "predefined" or "exec"
    value: Any  # "self", or the command as a list of words
    name: str  # the config name, "self", or the id when no name is known
    create_annotations: bool = True

    @property
    def spec(self) -> dict[str, Any]:
        return {"transform_type": self.transform_type, "value": self.value}

    @property
    def is_self(self) -> bool:
        return self.transform_type == PREDEFINED and self.value == SELF_NAME

    def to_record(self) -> dict[str, Any]:
        """The form annotation-only files carry in ``ldb-meta.transforms`` (upstream's)."""
        return {
            "transform": self.spec,
            "name": "" if self.name == self.id else self.name,
            "create_annotations": self.create_annotations,
        }


def transform_id(hasher: Hasher, spec: Mapping[str, Any]) -> str:
    # NOTE: serialised as upstream LDB does (sorted keys, default separators), so an md5
    # instance gives upstream's ids: self -> 33b0dbad33e2378136fa38eef828a1b4.
    pair = {"transform_type": spec["transform_type"], "value": spec["value"]}
    text = json.dumps(pair, sort_keys=True)
    return hasher.bytes_digest(text.encode("utf-8"))


def self_transform(hasher: Hasher) -> Transform:
    return Transform(transform_id(hasher, SELF_SPEC), PREDEFINED, SELF_NAME, SELF_NAME)


def default_set(hasher: Hasher) -> tuple[str, ...]:
    return (self_transform(hasher).id,)


def configured(instance: Instance) -> dict[str, Transform]:
    """The transforms named in the config, by name."""
    tables = instance.setting("transform", {}) or {}
    if not isinstance(tables, dict):
        raise ConfigError("Invalid config: 'transform' must be a table of [transform.NAME]")
    result = {}
    for name, table in tables.items():
        if name == SELF_NAME:
            raise ConfigError("Invalid config: the transform name 'self' is reserved")
        run = table.get("run") if isinstance(table, dict) else None
        if not (isinstance(run, list) and run and all(isinstance(w, str) for w in run)):
            raise ConfigError(
                f"Invalid config [transform.{name}]: run must be a non-empty list of strings"
            )
        create = table.get("create_annotations", True)
        if not isinstance(create, bool):
            raise ConfigError(
                f"Invalid config [transform.{name}]: create_annotations must be true or false"
            )
        spec = {"transform_type": EXEC, "value": list(run)}
        result[name] = Transform(transform_id(instance.hasher, spec), EXEC, list(run), name, create)
    return result


def resolve_names(instance: Instance, names: Iterable[str]) -> dict[str, Transform]:
    """Given name -> transform, for names (``self``, a config name) or transform ids.

    The transforms are saved in the catalog, so that the ids a dataset records keep their
    meaning after the config changes.
    """
    wanted = list(names)
    if not wanted:
        return {}
    from ldb_clone.trust import arrived_by_name

    named = configured(instance)
    came = arrived_by_name(instance)
    unnamed = [n for n in wanted if n not in named and n not in came and n != SELF_NAME]
    by_id = describe(instance, unnamed)
    found: dict[str, Transform] = {}
    for name in wanted:
        if name == SELF_NAME:
            found[name] = self_transform(instance.hasher)
        elif name in named:
            found[name] = named[name]
        elif name in came:
            found[name] = came[name]
        elif name in by_id:
            found[name] = by_id[name]
        else:
            raise TransformError(f"No transform found with the name {name}")
    save(instance, found.values())
    return found


def save(instance: Instance, transforms: Iterable[Transform]) -> None:
    rows = {t.id: json.dumps(t.spec, sort_keys=True) for t in transforms}
    # NOTE: a read-only catalog still finds config transforms by their id (describe)
    if rows and not instance.catalog.read_only:
        instance.catalog.save_transforms(rows)


def describe(instance: Instance, ids: Iterable[str]) -> dict[str, Transform]:
    """Transform id -> Transform with its best name (self, a config name, the name it
    arrived with, else the id). Ids the catalog does not know are left out."""
    from ldb_clone.trust import arrived

    ids = set(ids)
    if not ids:
        return {}
    result: dict[str, Transform] = {}
    own = self_transform(instance.hasher)
    if own.id in ids:
        result[own.id] = own
    named = configured(instance)
    for t in named.values():
        if t.id in ids and t.id not in result:
            result[t.id] = t
    if ids - result.keys():
        for tid, record in arrived(instance).items():
            if tid in ids and tid not in result and record.transform.name not in named:
                result[tid] = record.transform
    for tid, spec in instance.catalog.transform_values(ids - result.keys()).items():
        result[tid] = Transform(tid, spec["transform_type"], spec["value"], tid)
    return result


def display_names(transforms: Iterable[Transform]) -> list[str]:
    """Names in upstream's order: predefined transforms first, then by name."""
    ordered = sorted(transforms, key=lambda t: (t.transform_type != PREDEFINED, t.name))
    return [t.name for t in ordered]


@dataclass(frozen=True, slots=True)
class TransformUpdate:
    """Add then remove transforms, or replace each object's whole set."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    set_to: tuple[str, ...] | None = None

    @classmethod
    def parse(
        cls,
        add: Iterable[str] | None = None,
        remove: Iterable[str] | None = None,
        set_to: Iterable[str] | None = None,
    ) -> TransformUpdate:
        """Comma-separated name lists (each option repeatable) -> a checked update."""
        add_names, remove_names = _names(add), _names(remove)
        set_list = list(set_to or ())
        if set_list and (add_names or remove_names):
            raise TransformError("Cannot use --add or --remove along with --set")
        if not (add_names or remove_names or set_list):
            raise TransformError(
                "Must provide at least one transform update option: --add, --remove, or --set"
            )
        return cls(add_names, remove_names, _names(set_list) if set_list else None)

    @property
    def verb(self) -> str:
        if self.set_to is not None:
            return "Set"
        if self.add and self.remove:
            return "Updated"
        return "Added" if self.add else "Removed"


def _names(values: Iterable[str] | None) -> tuple[str, ...]:
    names: list[str] = []
    for value in values or ():
        for name in value.split(","):
            name = name.strip()
            if not name:
                raise TransformError(f"Invalid transform list: {value!r}")
            if name not in names:
                names.append(name)
    return tuple(names)


def apply_update(
    instance: Instance,
    mapping: dict[str, list[str]],
    object_ids: Sequence[str],
    update: TransformUpdate,
) -> int:
    """Change the transform sets of ``object_ids`` in ``mapping`` (object id -> sorted
    transform ids, default sets left out); return how many sets changed."""
    found = resolve_names(instance, update.add + update.remove + (update.set_to or ()))
    add = {found[n].id for n in update.add}
    remove = {found[n].id for n in update.remove}
    replacement = sorted({found[n].id for n in update.set_to or ()})
    default = list(default_set(instance.hasher))
    changed = 0
    for oid in object_ids:
        before = mapping.get(oid, default)
        after = replacement if update.set_to is not None else sorted((set(before) | add) - remove)
        if after != before:
            changed += 1
        if after == default:
            mapping.pop(oid, None)
        else:
            mapping[oid] = after
    return changed


def mapping_text(mapping: Mapping[str, Sequence[str]]) -> str:
    """The canonical JSON of a transform mapping, the form it is hashed and stored in."""
    return json.dumps({oid: sorted(ids) for oid, ids in mapping.items()}, sort_keys=True)


def check_records(records: Any, where: str) -> list[dict[str, Any]]:
    """Validate upstream-style transform records (annotation-only ``ldb-meta.transforms``):
    ``{"transform": {"transform_type", "value"}, "name", "create_annotations"}``."""
    if not isinstance(records, list):
        raise TransformError(f"ldb-meta.transforms must be an array in {where}")
    for record in records:
        spec = record.get("transform") if isinstance(record, dict) else None
        kind = spec.get("transform_type") if isinstance(spec, dict) else None
        value = spec.get("value") if isinstance(spec, dict) else None
        valid = (kind == PREDEFINED and value == SELF_NAME) or (
            kind == EXEC
            and isinstance(value, list)
            and value
            and all(isinstance(word, str) for word in value)
        )
        if not valid:
            raise TransformError(f"Invalid transform record in {where}: {json.dumps(record)}")
        name = record.get("name", "")
        if not isinstance(name, str) or not isinstance(
            record.get("create_annotations", True), bool
        ):
            raise TransformError(f"Invalid transform record in {where}: {json.dumps(record)}")
    return records


def from_records(instance: Instance, records: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """The transform set of checked records, as sorted ids. The transforms are saved in the
    catalog, and the names of exec ones recorded apart from the config (upstream added
    them to the config, which made them runnable; see ``ldb_clone.trust``)."""
    from ldb_clone.trust import FROM_INDEXED_DATA, record_arrived

    found = []
    for record in records:
        spec = record["transform"]
        name = record.get("name") or ""
        tid = transform_id(instance.hasher, spec)
        t = Transform(
            tid,
            spec["transform_type"],
            spec["value"],
            name or (SELF_NAME if spec["transform_type"] == PREDEFINED else tid),
            record.get("create_annotations", True),
        )
        found.append(t)
    save(instance, found)
    record_arrived(instance, found, FROM_INDEXED_DATA)
    return tuple(sorted({t.id for t in found}))


def add_to_config(instance: Instance, transforms: Iterable[Transform]) -> None:
    """Write ``[transform.NAME]`` tables into the instance's config: only for transforms
    the user chose (``ldb transform --trust``), never for ones that came with data."""
    import tomlkit

    from ldb_clone import config

    with config.edit(instance.path / config.CONFIG_FILENAME) as doc:
        if "transform" not in doc:
            doc["transform"] = tomlkit.table(is_super_table=True)
        for t in transforms:
            table = tomlkit.table()
            table["run"] = list(t.value)
            if not t.create_annotations:
                table["create_annotations"] = False
            doc["transform"][t.name] = table
    instance.__dict__.pop("config", None)  # read again on next use
