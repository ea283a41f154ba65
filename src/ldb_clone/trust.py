"""Which exec transforms may run: only those the user defined or trusted.

Transforms also arrive with data: ``ldb-meta.transforms`` of annotation-only records
(``ldb index``, ``ldb add``) and the config of a migrated upstream instance. Their
commands and names are recorded in the catalog, apart from the user's config, so that
``ldb list`` and ``ldb transform -a NAME`` know them; but a data file must never make
``ldb`` run a command. An exec transform runs only when a ``[transform.NAME]`` table of
the instance's or the user's config has the same command (``ldb transform --trust NAME``
writes one).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from ldb_clone.errors import LdbError
from ldb_clone.instance import Instance
from ldb_clone.transforms import EXEC, SELF_NAME, Transform, configured, save

# catalog settings key prefix: one entry per transform id that arrived with data
RECORD_PREFIX = "untrusted_transform."
FROM_INDEXED_DATA = "indexed data"
FROM_MIGRATION = "a migrated instance"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class UntrustedTransformError(LdbError):
    pass


@dataclass(frozen=True, slots=True)
class Arrived:
    """A named exec transform that came with data, as recorded."""

    transform: Transform
    origin: str  # FROM_INDEXED_DATA or FROM_MIGRATION


def record_arrived(instance: Instance, transforms: Iterable[Transform], origin: str) -> int:
    """Remember the names of exec transforms that came with data (never into the config);
    return how many were not recorded before. Transforms the config already defines
    under a name are left out."""
    transforms = list(transforms)
    own = {t.id for t in configured(instance).values()}
    catalog = instance.catalog
    added = 0
    with catalog.transaction():
        save(instance, transforms)
        for t in transforms:
            if t.transform_type != EXEC or t.id in own or t.name in ("", SELF_NAME, t.id):
                continue
            key = RECORD_PREFIX + t.id
            if catalog.get_setting(key) is not None:
                continue
            value = {"name": t.name, "create_annotations": t.create_annotations, "origin": origin}
            catalog.set_setting(key, json.dumps(value, sort_keys=True))
            added += 1
    return added


def arrived(instance: Instance) -> dict[str, Arrived]:
    """Transform id -> its record, for every named exec transform that came with data."""
    catalog = instance.catalog
    records = catalog.settings_with_prefix(RECORD_PREFIX)
    ids = {key[len(RECORD_PREFIX) :]: value for key, value in records.items()}
    specs = catalog.transform_values(ids)
    result = {}
    for tid, text in ids.items():
        spec = specs.get(tid)
        if spec is None or spec.get("transform_type") != EXEC:
            continue
        record = json.loads(text)
        t = Transform(
            tid, EXEC, spec["value"], record["name"], bool(record.get("create_annotations", True))
        )
        result[tid] = Arrived(t, record.get("origin", FROM_INDEXED_DATA))
    return result


def arrived_by_name(instance: Instance) -> dict[str, Transform]:
    """Name -> transform for the recorded names the config does not use."""
    own = configured(instance)
    return {
        a.transform.name: a.transform
        for a in arrived(instance).values()
        if a.transform.name not in own
    }


def trusted_ids(instance: Instance) -> set[str]:
    """The ids of the exec transforms the user defined in a config."""
    return _ids(configured(instance))


def _ids(named: dict[str, Transform]) -> set[str]:
    return {t.id for t in named.values()}


def check_runnable(instance: Instance, transforms: Iterable[Transform]) -> None:
    """Refuse, before anything is written, to run an exec transform the user did not
    define or trust; the error names it and the command that trusts it."""
    exec_ones = {t.id: t for t in transforms if t.transform_type == EXEC}
    if not exec_ones:
        return
    own = configured(instance)
    untrusted = [t for tid, t in sorted(exec_ones.items()) if tid not in _ids(own)]
    if not untrusted:
        return
    t = untrusted[0]
    records = arrived(instance)
    record = records.get(t.id)
    # NOTE: a name the user's config uses for another command is not shown for this one
    name = record.transform.name if record and record.transform.name not in own else t.id
    how = f"arrived with {record.origin}" if record else "is not defined in the config"
    unique = len(_named(records, name)) == 1
    handle = name if unique and _PLAIN_NAME.fullmatch(name) else t.id
    raise UntrustedTransformError(
        f"transform {_shown(name)} (exec: {shown_command(t.value)}) {how} and is not "
        f"trusted; run it only if you trust it: ldb transform --trust {handle}"
    )


def trust(instance: Instance, name: str) -> str:
    """Make a transform that arrived with data (by its recorded name or id) runnable by
    writing it into the instance's config; return the message to print."""
    from ldb_clone.transforms import add_to_config

    own = configured(instance)
    if name in own:
        return f"Transform {_shown(name)} is already defined in the config"
    records = arrived(instance)
    same_name = _named(records, name)
    if len(same_name) > 1:
        ids = ", ".join(sorted(t.id for t in same_name))
        raise UntrustedTransformError(
            f"Several transforms arrived with data named {name} (ids {ids}); trust the "
            "one you mean by its id: ldb transform --trust ID"
        )
    found = same_name[0] if same_name else None
    if found is None:
        spec = instance.catalog.transform_values([name]).get(name)
        if spec is None or spec.get("transform_type") != EXEC:
            raise UntrustedTransformError(f"No transform that arrived with data is named {name}")
        record = records.get(name)
        found = record.transform if record else Transform(name, EXEC, spec["value"], name)
    if found.id in _ids(own):
        return f"Transform {_shown(name)} is already defined in the config"
    config_name = found.name if found.name not in own and _PLAIN_NAME.fullmatch(found.name) else ""
    config_name = config_name or found.id
    if config_name in own:
        raise UntrustedTransformError(
            f"The config already defines a different transform named {config_name}"
        )
    add_to_config(instance, [_renamed(found, config_name)])
    return (
        f"Trusted transform {_shown(config_name)} (exec: {shown_command(found.value)}): "
        f"added [transform.{config_name}] to {instance.path / 'config'}"
    )


def _named(records: dict[str, Arrived], name: str) -> list[Transform]:
    return [a.transform for a in records.values() if a.transform.name == name]


def _renamed(t: Transform, name: str) -> Transform:
    return Transform(t.id, t.transform_type, t.value, name, t.create_annotations)


def shown_command(words: Iterable[str]) -> str:
    """A command on one line: shell-quoted, or as JSON when it holds control characters."""
    words = list(words)
    text = shlex.join(words)
    return text if text.isprintable() else json.dumps(words)


def _shown(name: str) -> str:
    return f"'{name}'" if name.isprintable() else json.dumps(name)
