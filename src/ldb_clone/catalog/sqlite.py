"""The SQLite catalog: the embedded default backend of ``CatalogBackend``.

One SQLite database in the instance directory (WAL, busy timeout, foreign keys).
All writes happen inside ``transaction()``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ldb_clone.catalog.predicates import Predicate, evaluate
from ldb_clone.catalog.protocol import RootMember
from ldb_clone.catalog.records import (
    DatasetVersion,
    ObjectInfo,
    ObjectRecord,
    RecordCounts,
    StorageRow,
)
from ldb_clone.catalog.sqlite_open import connect
from ldb_clone.catalog.sqlite_predicates import NotCompilable, compile_predicate
from ldb_clone.catalog.sqlite_record import record_batch
from ldb_clone.catalog.sqlite_sql import CURRENT, IN_IDS, SCAN_THRESHOLD, ids_param
from ldb_clone.catalog.sqlite_stats import SQLiteStatsQueries
from ldb_clone.errors import InstanceError, NotIndexedError


class SQLiteCatalog(SQLiteStatsQueries):
    """The catalog in one SQLite file (see ``CatalogBackend`` for each method's contract)."""

    has_server = False  # the writes run in this process: a writer thread gained nothing

    def __init__(self, path: Path, create: bool = False) -> None:
        self.path = path
        self._db, self.read_only = connect(path, create)
        self._depth = 0

    def close(self) -> None:
        self._db.close()

    def reopen(self) -> SQLiteCatalog:
        return SQLiteCatalog(self.path)

    @contextlib.contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """Many transactions in a row (indexing): checkpoint the WAL once, at the end.

        NOTE: with SQLite's default auto-checkpoint every commit past 4 MB of WAL copies
        pages back into the database and syncs; for 100,000 objects that was a third of
        the run. Each transaction still commits on its own.
        """
        self._db.execute("PRAGMA wal_autocheckpoint=0")
        try:
            yield
        finally:
            self._db.execute("PRAGMA wal_autocheckpoint=1000")
            with contextlib.suppress(sqlite3.OperationalError):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction; nested uses join the outer one."""
        self.require_writable()
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def require_writable(self) -> None:
        """Refuse to change a catalog opened read-only, with one clear line."""
        if self.read_only:
            raise InstanceError(
                f"The LDB instance at '{self.path.parent}' is read-only for you (its "
                "catalog cannot be written), and this command would change it"
            )

    # settings ---------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def settings_with_prefix(self, prefix: str) -> dict[str, str]:
        """key -> value of the settings whose key starts with ``prefix``."""
        rows = self._db.execute(
            "SELECT key, value FROM settings WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return dict(rows.fetchall())

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # storage locations --------------------------------------------------------------------

    def storage_locations(self) -> list[StorageRow]:
        rows = self._db.execute(
            "SELECT protocol, path, read_add, options FROM storage_locations ORDER BY position"
        )
        return [StorageRow(p, path, bool(ra), json.loads(opts)) for p, path, ra, opts in rows]

    def replace_storage_locations(self, locations: Sequence[StorageRow]) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM storage_locations")
            self._db.executemany(
                "INSERT INTO storage_locations (protocol, path, read_add, options, position) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (loc.protocol, loc.path, int(loc.read_add), json.dumps(loc.options), i)
                    for i, loc in enumerate(locations)
                ],
            )

    def objects_only_under(self, protocol: str, root: str) -> int:
        """How many objects have paths, all of them at or below ``root`` (``""``: every
        path of ``protocol``): the objects a storage location alone holds."""
        root = root.rstrip("/")
        prefix = root + "/"
        return self._db.execute(
            "SELECT count(*) FROM objects o "
            "WHERE EXISTS (SELECT 1 FROM object_paths p WHERE p.object = o.pk) "
            "AND NOT EXISTS (SELECT 1 FROM object_paths p WHERE p.object = o.pk AND NOT "
            "(p.protocol = ? AND (? = '' OR p.path = ? OR substr(p.path, 1, ?) = ?)))",
            (protocol, root, root, len(prefix), prefix),
        ).fetchone()[0]

    # stat cache ---------------------------------------------------------------------------

    def unchanged_files(
        self, protocol: str, kind: str, files: Sequence[tuple[str, int, int]]
    ) -> dict[str, str]:
        """path -> recorded digest, for the (path, size, mtime_ns) files whose size and
        mtime are exactly as last recorded: the stat cache."""
        # NOTE: compared in SQL, so only hits come back to Python
        rows = self._db.execute(
            # CROSS JOIN keeps json_each outside, so each file is one primary-key lookup
            "SELECT f.path, f.digest FROM json_each(?) j CROSS JOIN file_states f "
            "ON f.protocol = ? AND f.path = json_extract(j.value, '$[0]') AND f.kind = ? "
            "WHERE f.size = json_extract(j.value, '$[1]') "
            "AND f.mtime_ns = json_extract(j.value, '$[2]')",
            (json.dumps(files), protocol, kind),
        )
        return dict(rows.fetchall())

    def put_file_states(self, kind: str, rows: Iterable[tuple[str, str, int, int, str]]) -> None:
        """Record (protocol, path, size, mtime_ns, digest) rows of one kind."""
        with self.transaction():
            self._db.executemany(
                "INSERT INTO file_states (protocol, path, kind, size, mtime_ns, digest) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (protocol, path, kind) DO UPDATE SET "
                "size = excluded.size, mtime_ns = excluded.mtime_ns, digest = excluded.digest",
                [(p, path, kind, size, mtime, digest) for p, path, size, mtime, digest in rows],
            )

    # objects and annotations --------------------------------------------------------------

    def known_objects(self, object_ids: Iterable[str]) -> set[str]:
        rows = self._db.execute(
            f"SELECT id FROM objects WHERE id {IN_IDS}", (ids_param(object_ids),)
        )
        return {row[0] for row in rows}

    def current_annotations(self, object_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """object id -> (version, annotation id) of its current annotation, if it has one."""
        rows = self._db.execute(
            f"SELECT o.id, v.version, a.id FROM objects o {CURRENT} "
            f"WHERE o.id {IN_IDS} AND a.id IS NOT NULL",
            (ids_param(object_ids),),
        )
        return {oid: (version, aid) for oid, version, aid in rows}

    def current_annotations_at(
        self, protocol: str, paths: Iterable[str]
    ) -> dict[str, tuple[str, str]]:
        """path -> (object id, current annotation text) of objects whose current path is
        one of ``paths`` and that have an annotation."""
        rows = self._db.execute(
            f"SELECT o.path, o.id, a.value FROM objects o {CURRENT} "
            f"WHERE o.protocol = ? AND o.path {IN_IDS} AND a.id IS NOT NULL",
            (protocol, ids_param(paths)),
        )
        return {path: (oid, value) for path, oid, value in rows}

    def object_states(self, object_ids: Iterable[str]) -> dict[str, tuple]:
        """object id -> (current annotation id or None, protocol, path, type), if known."""
        rows = self._db.execute(
            f"SELECT o.id, a.id, o.protocol, o.path, o.type FROM objects o {CURRENT} "
            f"WHERE o.id {IN_IDS}",
            (ids_param(object_ids),),
        )
        return {row[0]: row[1:] for row in rows}

    def touch_objects(
        self, object_ids: Collection[str], now: str, user: str, tags: Sequence[str] = ()
    ) -> None:
        """Mark objects as indexed again (and add tags) without changing anything else."""
        if not object_ids:
            return
        ids = ids_param(object_ids)
        with self.transaction():
            self._db.execute(
                f"UPDATE objects SET last_indexed = ?, last_indexed_by = ? WHERE id {IN_IDS}",
                (now, user, ids),
            )
            for tag in tags:
                self._db.execute(
                    "INSERT OR IGNORE INTO object_tags (object, tag) "
                    f"SELECT pk, ? FROM objects WHERE id {IN_IDS}",
                    (tag, ids),
                )

    def annotation_texts(self, annotation_ids: Iterable[str]) -> dict[str, str]:
        """annotation id -> canonical JSON text."""
        rows = self._db.execute(
            f"SELECT id, value FROM annotations WHERE id {IN_IDS}", (ids_param(annotation_ids),)
        )
        return dict(rows.fetchall())

    def record_objects(
        self,
        records: Sequence[ObjectRecord],
        annotation_texts: dict[str, str],
        now: str,
        user: str,
    ) -> RecordCounts:
        if not records:
            return RecordCounts()
        with self.transaction():
            return record_batch(self._db, records, annotation_texts, now, user)

    def version_numbers(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """(object id, annotation id) -> that annotation's version number for the object."""
        rows = self._db.execute(
            "SELECT o.id, a.id, v.version FROM objects o "
            "JOIN annotation_versions v ON v.object = o.pk "
            f"JOIN annotations a ON a.pk = v.annotation WHERE o.id {IN_IDS}",
            (ids_param({oid for oid, _ in pairs}),),
        )
        return {(oid, aid): version for oid, aid, version in rows}

    def annotation_version_numbers(self, object_id: str) -> dict[str, int]:
        """annotation id -> version number, for every annotation the object had."""
        return {
            aid: version for (_, aid), version in self.version_numbers([(object_id, "")]).items()
        }

    def unindex(self, object_ids: Collection[str]) -> int:
        """Forget objects: their paths, annotation versions, tags and stat-cache entries.
        Annotations stay (they are shared and content-addressed)."""
        ids = ids_param(object_ids)
        with self.transaction():
            self._db.execute(
                "DELETE FROM file_states WHERE kind = 'object' AND (protocol, path) IN "
                "(SELECT p.protocol, p.path FROM object_paths p JOIN objects o ON o.pk = p.object "
                f"WHERE o.id {IN_IDS})",
                (ids,),
            )
            return self._db.execute(f"DELETE FROM objects WHERE id {IN_IDS}", (ids,)).rowcount

    def annotations_matching(self, annotation_ids: Collection[str], where: Predicate) -> set[str]:
        if len(annotation_ids) > SCAN_THRESHOLD:
            # NOTE: for many ids, one scan of the table beats looking each id up (3x at
            # 50,000 annotations); the intersection happens in Python
            rows = self._select_where("SELECT id FROM annotations WHERE {}", where, ())
            wanted = annotation_ids if isinstance(annotation_ids, set) else set(annotation_ids)
            return {row[0] for row in rows if row[0] in wanted}
        rows = self._select_where(
            f"SELECT id FROM annotations WHERE id {IN_IDS} AND {{}}",
            where,
            (ids_param(annotation_ids),),
        )
        return {row[0] for row in rows}

    def _select_where(
        self,
        query: str,
        where: Predicate,
        params: Sequence[Any],
        column: str = "annotations.value",
        id_at: int = 0,
    ) -> list[tuple]:
        """Rows of ``query`` (its ``{}`` is the condition, after ``params``) whose
        annotation JSON (``column``; its id is column ``id_at`` of a row) meets ``where``.
        What SQLite cannot express is tested in Python."""
        try:
            condition, extra = compile_predicate(where, column)
        except NotCompilable:
            rows = self._db.execute(query.format(f"{column} IS NOT NULL"), params).fetchall()
            texts = self.annotation_texts({row[id_at] for row in rows})
            return [row for row in rows if evaluate(where, json.loads(texts[row[id_at]]))]
        try:
            return self._db.execute(query.format(condition), (*params, *extra)).fetchall()
        except sqlite3.OperationalError as exc:
            if "malformed JSON" not in str(exc):
                raise
            # NOTE: text SQLite cannot parse (NaN from an old catalog) fails the fast
            # statement; the guarded one skips it
            condition, extra = compile_predicate(where, column, guard=True)
            return self._db.execute(query.format(condition), (*params, *extra)).fetchall()

    # collections and datasets ----------------------------------------------------------------

    def save_collection(self, collection_id: str, members: dict[str, str | None]) -> int:
        """Store a collection (object id -> annotation id or None) once; return its key."""
        with self.transaction():
            row = self._db.execute(
                "SELECT pk FROM collections WHERE id = ?", (collection_id,)
            ).fetchone()
            if row is not None:
                return row[0]
            pk = self._db.execute(
                "INSERT INTO collections (id, size) VALUES (?, ?)", (collection_id, len(members))
            ).lastrowid
            self._db.execute(
                "INSERT INTO collection_members (collection, object, annotation) "
                "SELECT ?, o.pk, a.pk FROM json_each(?) j "
                "JOIN objects o ON o.id = j.key "
                "LEFT JOIN annotations a ON a.id = j.value",
                (pk, json.dumps(members)),
            )
            stored = self._db.execute(
                "SELECT count(*) FROM collection_members WHERE collection = ?", (pk,)
            ).fetchone()[0]
            if stored != len(members):
                raise NotIndexedError("a collection names objects that are not indexed")
            return pk

    def collection_members(self, collection: int) -> dict[str, str | None]:
        rows = self._db.execute(
            "SELECT o.id, a.id FROM collection_members m JOIN objects o ON o.pk = m.object "
            "LEFT JOIN annotations a ON a.pk = m.annotation WHERE m.collection = ? ORDER BY o.id",
            (collection,),
        )
        return dict(rows.fetchall())

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        rows = self._db.execute(
            "SELECT v.version, v.collection, c.id, c.size, v.parent, v.auto_pull, v.message, "
            "v.committed, v.committed_by, v.transform_mapping, t.id FROM dataset_versions v "
            "JOIN datasets d ON d.pk = v.dataset JOIN collections c ON c.pk = v.collection "
            "LEFT JOIN transform_mappings t ON t.pk = v.transform_mapping "
            "WHERE d.name = ? ORDER BY v.version",
            (name,),
        )
        return [
            DatasetVersion(
                version, collection, cid, size, parent, bool(auto), message, when, who, tm, tmid
            )
            for version, collection, cid, size, parent, auto, message, when, who, tm, tmid in rows
        ]

    def add_dataset_version(
        self,
        name: str,
        collection: int,
        parent: int | None,
        auto_pull: bool,
        message: str,
        now: str,
        user: str,
        transform_mapping: int | None = None,
    ) -> int:
        """Append a version to a dataset (creating the dataset); return its number."""
        with self.transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO datasets (name, created, created_by) VALUES (?, ?, ?)",
                (name, now, user),
            )
            dataset = self._db.execute(
                "SELECT pk FROM datasets WHERE name = ?", (name,)
            ).fetchone()[0]
            version = self._db.execute(
                "SELECT coalesce(max(version), 0) + 1 FROM dataset_versions WHERE dataset = ?",
                (dataset,),
            ).fetchone()[0]
            self._db.execute(
                "INSERT INTO dataset_versions (dataset, version, collection, parent, auto_pull, "
                "message, committed, committed_by, transform_mapping) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    dataset,
                    version,
                    collection,
                    parent,
                    int(auto_pull),
                    message,
                    now,
                    user,
                    transform_mapping,
                ),
            )
            return version

    # transforms ---------------------------------------------------------------------------

    def save_transforms(self, transforms: dict[str, str]) -> None:
        """Store transforms (id -> canonical JSON) that are not stored yet."""
        with self.transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO transforms (id, value) VALUES (?, ?)", transforms.items()
            )

    def transform_values(self, transform_ids: Iterable[str]) -> dict[str, Any]:
        """transform id -> its value (``{"transform_type": ..., "value": ...}``)."""
        rows = self._db.execute(
            f"SELECT id, value FROM transforms WHERE id {IN_IDS}", (ids_param(transform_ids),)
        )
        return {tid: json.loads(value) for tid, value in rows}

    def save_transform_mapping(self, mapping_id: str, text: str) -> int:
        """Store a transform mapping (its canonical JSON) once; return its key."""
        with self.transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO transform_mappings (id, value) VALUES (?, ?)",
                (mapping_id, text),
            )
            return self._db.execute(
                "SELECT pk FROM transform_mappings WHERE id = ?", (mapping_id,)
            ).fetchone()[0]

    def transform_mapping(self, key: int | None) -> dict[str, list[str]]:
        """The mapping a dataset version points at (empty for None)."""
        if key is None:
            return {}
        row = self._db.execute("SELECT value FROM transform_mappings WHERE pk = ?", (key,))
        found = row.fetchone()
        return json.loads(found[0]) if found else {}

    def dataset_names(self) -> list[tuple[str, int]]:
        """(name, latest version) of every dataset, by name."""
        return self._db.execute(
            "SELECT d.name, max(v.version) FROM datasets d JOIN dataset_versions v "
            "ON v.dataset = d.pk GROUP BY d.pk ORDER BY d.name"
        ).fetchall()

    def delete_dataset(self, name: str) -> bool:
        """Remove a dataset name and its versions; collections no version uses go too."""
        with self.transaction():
            deleted = self._db.execute("DELETE FROM datasets WHERE name = ?", (name,)).rowcount
            self._db.execute(
                "DELETE FROM collections WHERE pk NOT IN (SELECT collection FROM dataset_versions)"
            )
            self._db.execute(
                "DELETE FROM transform_mappings WHERE pk NOT IN (SELECT transform_mapping "
                "FROM dataset_versions WHERE transform_mapping IS NOT NULL)"
            )
            return bool(deleted)

    def datasets_containing(self, object_ids: Iterable[str]) -> dict[str, list[str]]:
        """object id -> ``ds:name.vN`` of every saved dataset version that contains it."""
        rows = self._db.execute(
            "SELECT o.id, d.name, v.version FROM objects o "
            "JOIN collection_members m ON m.object = o.pk "
            "JOIN dataset_versions v ON v.collection = m.collection "
            f"JOIN datasets d ON d.pk = v.dataset WHERE o.id {IN_IDS} "
            "ORDER BY d.name, v.version",
            (ids_param(object_ids),),
        )
        result: dict[str, list[str]] = {}
        for oid, name, version in rows:
            result.setdefault(oid, []).append(f"ds:{name}.v{version}")
        return result

    # reading ------------------------------------------------------------------------------

    def count_objects(self) -> int:
        return self._db.execute("SELECT count(*) FROM objects").fetchone()[0]

    def root_members(self, where: Predicate | None = None) -> list[RootMember]:
        query = f"SELECT o.id, a.id, v.version FROM objects o {CURRENT}"
        if where is None:
            rows = self._db.execute(query).fetchall()
        else:
            rows = self._select_where(query + " WHERE {}", where, (), "a.value", id_at=1)
        # NOTE: sorted in Python: ORDER BY o.id walks the id index and reads table rows in
        # random order, three times slower for 50,000 objects
        rows.sort()
        return rows

    def resolve_prefix(self, prefix: str) -> list[str]:
        """Object ids starting with ``prefix`` (at most two, enough to tell ambiguity)."""
        upper = prefix + "g"  # 'g' sorts after every hex digit
        rows = self._db.execute(
            "SELECT id FROM objects WHERE id >= ? AND id < ? ORDER BY id LIMIT 2", (prefix, upper)
        )
        return [row[0] for row in rows]

    def object_infos(self, object_ids: Iterable[str]) -> dict[str, ObjectInfo]:
        rows = self._db.execute(
            "SELECT o.id, o.type, o.first_indexed, o.last_indexed, o.last_indexed_by, "
            "o.protocol, o.path, o.current_version, p.size, p.mtime_ns, p.atime_ns, "
            "p.ctime_ns, p.mode, p.uid, p.gid FROM objects o LEFT JOIN object_paths p "
            "ON p.object = o.pk AND p.protocol = o.protocol AND p.path = o.path "
            f"WHERE o.id {IN_IDS}",
            (ids_param(object_ids),),
        )
        return {
            row[0]: ObjectInfo(
                *row[:8],
                size=row[8],
                mtime_ns=row[9],
                atime_ns=row[10],
                ctime_ns=row[11],
                mode=row[12],
                uid=row[13],
                gid=row[14],
            )
            for row in rows
        }

    def object_paths(self, object_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """object id -> every (protocol, path) it was indexed at, oldest first."""
        result: dict[str, list[tuple[str, str]]] = {}
        rows = self._db.execute(
            "SELECT o.id, p.protocol, p.path FROM object_paths p JOIN objects o ON o.pk = p.object "
            f"WHERE o.id {IN_IDS} ORDER BY p.first_indexed, p.path",
            (ids_param(object_ids),),
        )
        for oid, protocol, path in rows:
            result.setdefault(oid, []).append((protocol, path))
        return result

    def object_tags(self, object_ids: Iterable[str]) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        rows = self._db.execute(
            "SELECT o.id, t.tag FROM object_tags t JOIN objects o ON o.pk = t.object "
            f"WHERE o.id {IN_IDS} ORDER BY t.tag",
            (ids_param(object_ids),),
        )
        for oid, tag in rows:
            result.setdefault(oid, []).append(tag)
        return result

    # tags ---------------------------------------------------------------------------------

    def edit_object_tags(
        self,
        object_ids: Collection[str],
        add: Collection[str] = (),
        remove: Collection[str] = (),
        replace: bool = False,
    ) -> int:
        """Add and remove tags of many objects in one transaction; return how many of them
        had their tag set changed.

        ``add`` and ``remove`` must not overlap. With ``replace`` the tags end up exactly
        ``add`` (``remove`` is ignored). Unknown ids are skipped.
        """
        if not object_ids:
            return 0
        ids, added = ids_param(object_ids), ids_param(sorted(set(add)))
        if replace:
            dropped, params = "NOT IN (SELECT value FROM json_each(?))", added
        else:
            dropped, params = IN_IDS, ids_param(sorted(set(remove)))
        selected = f"SELECT pk FROM objects WHERE id {IN_IDS}"
        db = self._db
        with self.transaction():
            # NOTE: counted before writing, in SQL: an object changes when it holds a tag
            # to drop, or lacks one of the tags to add.
            changed = db.execute(
                f"SELECT count(*) FROM ({selected}) s WHERE EXISTS ("
                f"SELECT 1 FROM object_tags t WHERE t.object = s.pk AND t.tag {dropped}) "
                f"OR (SELECT count(*) FROM object_tags t WHERE t.object = s.pk "
                f"AND t.tag {IN_IDS}) < json_array_length(?)",
                (ids, params, added, added),
            ).fetchone()[0]
            if changed:
                db.execute(
                    f"DELETE FROM object_tags WHERE object IN ({selected}) AND tag {dropped}",
                    (ids, params),
                )
                db.execute(
                    "INSERT OR IGNORE INTO object_tags (object, tag) "
                    f"SELECT s.pk, j.value FROM ({selected}) s CROSS JOIN json_each(?) j",
                    (ids, added),
                )
        return changed
