"""``ldb migrate``: read an upstream LDB instance directory into this instance.

Upstream LDB (ldb-alpha 0.7.0) keeps one small file per record (see the reference's
on-disk layout): ``data_object_info/<id>/{meta,current,annotations/<annotation id>}``,
``objects/annotations/<id>/user``, ``datasets/<name>``, ``objects/dataset_versions``,
``objects/collections``, ``objects/transform_mappings``, ``objects/transforms`` and the
``storage`` and ``config`` files. Everything is carried over: objects with all their
paths and tags, every annotation version with the current one, storage locations,
named transforms, and datasets with every version, message and transform mapping.

Ids: an md5 instance keeps upstream's object ids; an xxh3 instance hashes each object's
file again (found through its recorded paths) to get its id. Migrating twice adds
nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ldb_clone.catalog import ObjectRecord, PathRecord
from ldb_clone.datasets import collection_id, mapping_id
from ldb_clone.errors import LdbError
from ldb_clone.fs import LOCAL, join_url
from ldb_clone.instance import Instance, current_user
from ldb_clone.reporting import Reporter
from ldb_clone.strict_json import JsonProblem, parse_json
from ldb_clone.transforms import mapping_text, transform_id

BATCH = 1000
REQUIRED = ("data_object_info", "datasets", "objects/annotations")


class MigrationError(LdbError):
    pass


@dataclass
class MigrationResult:
    data_objects: int = 0
    new_data_objects: int = 0
    annotations: int = 0
    new_annotation_versions: int = 0
    datasets: int = 0
    new_dataset_versions: int = 0
    storage_locations: int = 0
    transforms: int = 0

    def summary(self, source: Path) -> str:
        return (
            f"Migrated LDB instance '{source}':\n"
            f"  Data objects:          {self.data_objects:8d} ({self.new_data_objects} new)\n"
            f"  Annotation versions:   {self.annotations:8d} "
            f"({self.new_annotation_versions} new)\n"
            f"  Datasets:              {self.datasets:8d} "
            f"({self.new_dataset_versions} new versions)\n"
            f"  Storage locations:     {self.storage_locations:8d} added\n"
            f"  Named transforms:      {self.transforms:8d} added"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Upstream:
    """Readers over an upstream instance directory."""

    root: Path
    values: dict[str, Any] = field(default_factory=dict)  # annotation id -> value
    value_ids: dict[str, str] = field(default_factory=dict)  # its id -> this instance's

    def load(self, *parts: str) -> Any:
        path = self.root.joinpath(*parts)
        try:
            return parse_json(path.read_bytes())
        except (OSError, JsonProblem) as exc:
            raise MigrationError(f"Unable to read upstream record '{path}': {exc}") from exc

    def hashed(self, folder: str, oid: str) -> Any:
        return self.load(folder, oid[:3], oid[3:])

    def annotation(self, aid: str) -> Any:
        if aid not in self.values:
            self.values[aid] = self.load("objects/annotations", aid[:3], aid[3:], "user")
        return self.values[aid]

    def annotation_id(self, instance: Instance, aid: str, texts: dict[str, str]) -> str:
        """This instance's id of upstream annotation ``aid`` (its canonical text is put
        in ``texts``, for the catalog)."""
        if aid not in self.value_ids:
            value_id, text = instance.hasher.annotation_id(self.annotation(aid))
            self.value_ids[aid] = value_id
            texts[value_id] = text
        return self.value_ids[aid]

    def objects(self) -> Iterator[tuple[str, Path]]:
        base = self.root / "data_object_info"
        for prefix in sorted(p for p in base.iterdir() if p.is_dir()):
            for rest in sorted(p for p in prefix.iterdir() if p.is_dir()):
                yield prefix.name + rest.name, rest


def is_upstream_instance(path: Path) -> bool:
    return all((path / part).is_dir() for part in REQUIRED)


def migrate(instance: Instance, source: Path, reporter: Reporter | None = None) -> MigrationResult:
    """Read the upstream instance at ``source`` into ``instance``."""
    reporter = reporter or Reporter()
    instance.catalog.require_writable()
    source = source.absolute()
    if not is_upstream_instance(source):
        raise MigrationError(
            f"Not an upstream LDB instance: '{source}' (it needs data_object_info/, "
            "datasets/ and objects/annotations/)"
        )
    upstream = _Upstream(source)
    result = MigrationResult()
    result.storage_locations = _migrate_storage(instance, upstream, reporter)
    result.transforms = _migrate_transform_names(instance, upstream)
    ids = _migrate_objects(instance, upstream, result, reporter)
    _migrate_datasets(instance, upstream, ids, result)
    return result


# storage and configuration ----------------------------------------------------------------


def _migrate_storage(instance: Instance, upstream: _Upstream, reporter: Reporter) -> int:
    from ldb_clone.storage import add_storage, find_location, load_locations

    path = upstream.root / "storage"
    if not path.is_file():
        return 0
    added = 0
    for loc in upstream.load("storage").get("locations", []):
        protocol = loc.get("protocol") or LOCAL
        protocol = protocol[0] if isinstance(protocol, list) else protocol  # newer fsspec
        protocol = LOCAL if protocol in ("file", "local") else protocol
        url = join_url(protocol, loc["path"])
        existing = load_locations(instance)
        if find_location(existing, protocol, loc["path"]) is not None:
            continue
        try:
            add_storage(
                instance,
                url,
                read_add=bool(loc.get("read_and_add")) and not any(x.read_add for x in existing),
                options=loc.get("options") or {},
            )
            added += 1
        except LdbError as exc:
            reporter.warn(f"Storage location {url} not migrated: {exc}")
    return added


def _migrate_transform_names(instance: Instance, upstream: _Upstream) -> int:
    """Named transforms of the upstream config ([transform.NAME]) that this one lacks,
    recorded as having arrived with data: they are not runnable until trusted."""
    from ldb_clone import config
    from ldb_clone.transforms import EXEC, Transform, configured
    from ldb_clone.trust import FROM_MIGRATION, record_arrived

    tables = config.get(config.load(upstream.root / "config"), "transform", {}) or {}
    known = configured(instance)
    new = []
    for name, table in tables.items():
        run = table.get("run") if isinstance(table, dict) else None
        if name in known or name == "self" or not isinstance(run, list):
            continue
        if not (run and all(isinstance(word, str) for word in run)):
            continue
        spec = {"transform_type": EXEC, "value": list(run)}
        create = table.get("create_annotations", True)
        new.append(Transform(transform_id(instance.hasher, spec), EXEC, run, name, create))
    return record_arrived(instance, new, FROM_MIGRATION)


# objects and annotations -------------------------------------------------------------------


def _paths(meta: dict[str, Any]) -> list[PathRecord]:
    """Every path an upstream object was seen at, the current one (``fs``) last."""
    fs = meta.get("fs") or {}
    current = (_protocol(fs.get("protocol")), fs.get("path"))
    records = []
    for alt in meta.get("alternate_paths") or []:
        key = (_protocol(alt.get("protocol")), alt.get("path"))
        if key != current and key[1]:
            records.append(PathRecord(*key))
    if current[1]:
        records.append(PathRecord(*current, size=fs.get("size"), mode=fs.get("mode")))
    return records


def _protocol(value: Any) -> str:
    if isinstance(value, list):  # upstream with a newer fsspec wrote ["file", "local"]
        value = value[0] if value else LOCAL
    return LOCAL if value in (None, "", "file", "local") else str(value)


def _new_id(instance: Instance, oid: str, paths: list[PathRecord]) -> str:
    """This instance's id of an upstream object: the same in an md5 instance, else the
    hash of its file at the most recent recorded path that can be read."""
    if instance.hasher.algorithm == "md5":
        return oid
    from ldb_clone.fs import get_fsspec
    from ldb_clone.storage import load_locations, options_for

    locations = load_locations(instance)
    for record in reversed(paths):
        try:
            if record.protocol == LOCAL:
                return instance.hasher.file_digest(record.path)
            options = options_for(locations, record.protocol, record.path)
            data = get_fsspec(record.protocol, options).cat_file(record.path)
            return instance.hasher.bytes_digest(data)
        except Exception:
            continue
    shown = ", ".join(join_url(p.protocol, p.path) for p in paths) or "no recorded path"
    raise MigrationError(
        f"Cannot migrate id:{oid} into this xxh3 instance: its file is needed to compute "
        f"its new id, and none of its paths can be read ({shown}). Migrate into an "
        "instance made with `ldb init --hash md5`, or make the files reachable"
    )


def _migrate_objects(
    instance: Instance, upstream: _Upstream, result: MigrationResult, reporter: Reporter
) -> dict[str, str]:
    """Record every upstream object; return upstream id -> this instance's id."""
    catalog = instance.catalog
    ids: dict[str, str] = {}
    records: list[ObjectRecord] = []
    texts: dict[str, str] = {}
    from ldb_clone.workspace import now_iso

    now = now_iso()
    user = current_user()

    def flush() -> None:
        from ldb_clone.stats import keep_summaries

        with catalog.transaction():
            counts = catalog.record_objects(records, texts, now, user)
            keep_summaries(catalog, texts)
        result.new_data_objects += counts.new_objects
        result.new_annotation_versions += counts.new_annotations
        records.clear()
        texts.clear()

    with catalog.bulk_writes():
        for oid, folder in upstream.objects():
            meta = upstream.load(*folder.relative_to(upstream.root).parts, "meta")
            paths = _paths(meta)
            new_id = _new_id(instance, oid, paths)
            ids[oid] = new_id
            kind = meta.get("type") or ""
            tags = tuple(meta.get("tags") or ())
            for path in paths:
                records.append(ObjectRecord(new_id, kind, path, tags=tags))
            versions = _versions(upstream, folder)
            for _, aid in versions:
                value_id = upstream.annotation_id(instance, aid, texts)
                records.append(ObjectRecord(new_id, kind, None, value_id, tags=tags))
            current = _current(folder)
            if current and versions:
                # NOTE: recorded again last, the current annotation becomes current without
                # a new version: upstream's current can be an older version
                value_id = upstream.annotation_id(instance, current, texts)
                records.append(ObjectRecord(new_id, kind, None, value_id))
            if not paths and not versions:
                records.append(ObjectRecord(new_id, kind, None, tags=tags))
            result.data_objects += 1
            result.annotations += len(versions)
            if len(records) >= BATCH:
                flush()
        flush()
    return ids


def _versions(upstream: _Upstream, folder: Path) -> list[tuple[int, str]]:
    """(version, upstream annotation id) of every annotation the object had, in order."""
    found = []
    annotations = folder / "annotations"
    if annotations.is_dir():
        for pair in annotations.iterdir():
            meta = upstream.load(*pair.relative_to(upstream.root).parts)
            found.append((int(meta.get("version") or 0), pair.name))
    return sorted(found)


def _current(folder: Path) -> str | None:
    path = folder / "current"
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8").strip() or None


# datasets ------------------------------------------------------------------------------------


def _migrate_datasets(
    instance: Instance, upstream: _Upstream, ids: dict[str, str], result: MigrationResult
) -> None:
    catalog = instance.catalog
    folder = upstream.root / "datasets"
    for dataset_file in sorted(p for p in folder.iterdir() if p.is_file()):
        dataset = upstream.load("datasets", dataset_file.name)
        name = dataset.get("name") or dataset_file.name
        versions = [upstream.hashed("objects/dataset_versions", v) for v in dataset["versions"]]
        ours = catalog.dataset_versions(name)
        converted = [_version_content(instance, upstream, ids, v) for v in versions]
        for number, (members, transforms) in enumerate(converted[: len(ours)], start=1):
            record = ours[number - 1]
            same = record.collection_id == collection_id(
                instance, members
            ) and record.transform_mapping_id == mapping_id(instance, transforms)
            if not same:
                raise MigrationError(
                    f"ds:{name}.v{number} already exists here with other contents; rename "
                    f"or delete it (ldb ds del ds:{name}) before migrating"
                )
        result.datasets += 1
        with catalog.transaction():
            for upstream_version, (members, transforms) in list(zip(versions, converted))[
                len(ours) :
            ]:
                info = upstream_version.get("commit_info") or {}
                collection = catalog.save_collection(collection_id(instance, members), members)
                mapping = mapping_id(instance, transforms)
                mapping_key = (
                    catalog.save_transform_mapping(mapping, mapping_text(transforms))
                    if mapping
                    else None
                )
                number = len(catalog.dataset_versions(name))
                catalog.add_dataset_version(
                    name,
                    collection,
                    number or None,
                    bool(upstream_version.get("auto_pull")),
                    info.get("commit_message") or "",
                    info.get("commit_time") or dataset.get("created") or "",
                    info.get("created_by") or dataset.get("created_by") or "",
                    mapping_key,
                )
                result.new_dataset_versions += 1


def _version_content(
    instance: Instance, upstream: _Upstream, ids: dict[str, str], version: dict[str, Any]
) -> tuple[dict[str, str | None], dict[str, list[str]]]:
    """A dataset version's members and transform mapping, with this instance's ids."""
    from ldb_clone.transforms import default_set

    collection = upstream.hashed("objects/collections", version["collection"])
    members: dict[str, str | None] = {}
    for oid, aid in collection.items():
        if oid not in ids:
            raise MigrationError(f"Dataset member id:{oid} is not in the upstream instance")
        members[ids[oid]] = upstream.annotation_id(instance, aid, {}) if aid else None
    transforms: dict[str, list[str]] = {}
    mapping_ref = version.get("transform_mapping_id")
    if mapping_ref and (upstream.root / "objects/transform_mappings" / mapping_ref[:3]).is_dir():
        mapping = upstream.hashed("objects/transform_mappings", mapping_ref)
        default = sorted(default_set(instance.hasher))
        for oid, transform_ids in mapping.items():
            converted = sorted({_transform(instance, upstream, t) for t in transform_ids})
            if oid in ids and converted != default:
                transforms[ids[oid]] = converted
    return members, transforms


def _transform(instance: Instance, upstream: _Upstream, upstream_id: str) -> str:
    from ldb_clone.transforms import Transform, save

    spec = upstream.hashed("objects/transforms", upstream_id)
    tid = transform_id(instance.hasher, spec)
    value = spec["value"]
    save(instance, [Transform(tid, spec["transform_type"], value, tid)])
    return tid
