"""The SQLite catalog: the embedded default backend of ``CatalogBackend``.

One SQLite database in the instance directory (WAL, busy timeout, foreign keys).
All writes happen inside ``transaction()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import urllib.parse
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
from ldb_clone.catalog.schema import MIGRATIONS, SCHEMA_VERSION
from ldb_clone.catalog.sqlite_predicates import NotCompilable, compile_predicate
from ldb_clone.errors import CatalogError, InstanceError, NotIndexedError

# A version's annotation, joined by the object's integer key.
_CURRENT = (
    "LEFT JOIN annotation_versions v ON v.object = o.pk AND v.version = o.current_version "
    "LEFT JOIN annotations a ON a.pk = v.annotation"
)

# NOTE: id lists are passed as one JSON parameter and expanded with json_each, which
# avoids SQLite's limit on bound variables and is as fast as a long IN (...) list.
IN_IDS = "IN (SELECT value FROM json_each(?))"
SCAN_THRESHOLD = 2000  # id lists longer than this are answered by scanning the table


def _check_existing(path: Path) -> None:
    """The catalog of an existing instance must be there and not empty: SQLite would
    quietly make a new, empty database of a missing or 0-byte file, losing every storage
    location and object."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InstanceError(f"Catalog not found: '{path}'; {_hint(path)}") from None
    except OSError as exc:
        raise InstanceError(f"Unable to read the catalog '{path}': {exc.strerror}") from exc
    if not path.is_file():
        raise InstanceError(f"The catalog '{path}' is not a file; {_hint(path)}")
    wal = path.with_name(path.name + "-wal")
    if size == 0 and not (wal.is_file() and wal.stat().st_size > 0):
        raise InstanceError(f"The catalog '{path}' is empty (0 bytes); {_hint(path)}")


def _writable(path: Path) -> bool:
    """Whether this process may write the catalog and create its side files."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """SQLite's read-only mode. A WAL database needs its ``-shm`` file: when there is
    none and the folder cannot be written (a read-only mount of a cleanly closed
    catalog), the file is opened as immutable, which reads it without one."""
    uri = f"file:{urllib.parse.quote(os.fspath(path))}?mode=ro"
    shm = path.with_name(path.name + "-shm")
    if not shm.exists() and not os.access(path.parent, os.W_OK):
        uri += "&immutable=1"
    return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=60.0)


def _hint(path: Path) -> str:
    from ldb_clone.instance import recreate_hint

    return recreate_hint(path.parent)


def _ids(values: Iterable[str]) -> str:
    return json.dumps(list(values))


class SQLiteCatalog:
    """The catalog in one SQLite file (see ``CatalogBackend`` for each method's contract)."""

    def __init__(self, path: Path, create: bool = False) -> None:
        self.path = path
        if not create:
            _check_existing(path)
        # NOTE: a catalog this process cannot write (a read-only mount, another user's
        # instance) is opened read-only, so that reading commands work; see _connect_read_only
        self.read_only = not create and not _writable(path)
        try:
            if self.read_only:
                self._db = _connect_read_only(path)
            else:
                self._db = sqlite3.connect(path, isolation_level=None, timeout=60.0)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=60000")
            self._db.execute("PRAGMA cache_size=-65536")
            self._db.execute("PRAGMA temp_store=MEMORY")
            if not create:
                self._check_not_blank()
            if self.read_only:
                self._check_current()
            else:
                self._migrate()
        except sqlite3.DatabaseError as exc:
            # NOTE: not a database or damaged, unlike OperationalError (locked, no access)
            damaged = not isinstance(exc, sqlite3.OperationalError)
            hint = f"; {_hint(path)}" if damaged else ""
            raise InstanceError(f"Unable to open the catalog '{path}': {exc}{hint}") from exc
        self._depth = 0

    def close(self) -> None:
        self._db.close()

    def _check_not_blank(self) -> None:
        """An existing catalog always has a schema; one without any (a file that SQLite
        reads as a new, empty database) is never filled in silently."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version == 0 and tables == 0:
            self._db.close()
            raise InstanceError(f"The catalog '{self.path}' holds no data; {_hint(self.path)}")

    def _check_current(self) -> None:
        """A read-only catalog cannot be migrated: its schema must be this ldb's."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            self._db.close()
            raise InstanceError(
                f"The catalog '{self.path}' has schema version {version} and this ldb "
                f"needs {SCHEMA_VERSION}; it is read-only for you, so run ldb once as a "
                "user who can write it"
            )

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InstanceError(
                f"The catalog '{self.path}' has schema version {version}, newer than this "
                f"ldb understands ({SCHEMA_VERSION}); upgrade ldb_clone"
            )
        if version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

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
        rows = self._db.execute(f"SELECT id FROM objects WHERE id {IN_IDS}", (_ids(object_ids),))
        return {row[0] for row in rows}

    def current_annotations(self, object_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """object id -> (version, annotation id) of its current annotation, if it has one."""
        rows = self._db.execute(
            f"SELECT o.id, v.version, a.id FROM objects o {_CURRENT} "
            f"WHERE o.id {IN_IDS} AND a.id IS NOT NULL",
            (_ids(object_ids),),
        )
        return {oid: (version, aid) for oid, version, aid in rows}

    def current_annotations_at(
        self, protocol: str, paths: Iterable[str]
    ) -> dict[str, tuple[str, str]]:
        """path -> (object id, current annotation text) of objects whose current path is
        one of ``paths`` and that have an annotation."""
        rows = self._db.execute(
            f"SELECT o.path, o.id, a.value FROM objects o {_CURRENT} "
            f"WHERE o.protocol = ? AND o.path {IN_IDS} AND a.id IS NOT NULL",
            (protocol, _ids(paths)),
        )
        return {path: (oid, value) for path, oid, value in rows}

    def object_states(self, object_ids: Iterable[str]) -> dict[str, tuple]:
        """object id -> (current annotation id or None, protocol, path, type), if known."""
        rows = self._db.execute(
            f"SELECT o.id, a.id, o.protocol, o.path, o.type FROM objects o {_CURRENT} "
            f"WHERE o.id {IN_IDS}",
            (_ids(object_ids),),
        )
        return {row[0]: row[1:] for row in rows}

    def touch_objects(
        self, object_ids: Collection[str], now: str, user: str, tags: Sequence[str] = ()
    ) -> None:
        """Mark objects as indexed again (and add tags) without changing anything else."""
        if not object_ids:
            return
        ids = _ids(object_ids)
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
            f"SELECT id, value FROM annotations WHERE id {IN_IDS}", (_ids(annotation_ids),)
        )
        return dict(rows.fetchall())

    def record_objects(
        self,
        records: Sequence[ObjectRecord],
        annotation_texts: dict[str, str],
        now: str,
        user: str,
    ) -> RecordCounts:
        """Store one batch of indexed objects in one transaction.

        A new annotation for an object becomes its next version and its current one; an
        annotation the object had before becomes current again without a new version.
        """
        counts = RecordCounts()
        if not records:
            return counts
        db = self._db
        with self.transaction():
            # id -> (pk, current version, its annotation id, type, protocol, path)
            existing: dict[str, tuple] = {}
            for oid, *row in db.execute(
                "SELECT o.id, o.pk, o.current_version, a.id, o.type, o.protocol, o.path "
                f"FROM objects o {_CURRENT} WHERE o.id {IN_IDS}",
                (_ids({r.object_id for r in records}),),
            ):
                existing[oid] = tuple(row)
            # Paths and versions are looked up only where something may have changed.
            path_pks = {
                existing[r.object_id][0]
                for r in records
                if r.path is not None and not r.path_unchanged and r.object_id in existing
            }
            known_paths: dict[tuple[int, str, str], tuple] = {}
            if path_pks:
                known_paths = {
                    (pk, protocol, path): (size, mtime)
                    for pk, protocol, path, size, mtime in db.execute(
                        "SELECT object, protocol, path, size, mtime_ns FROM object_paths "
                        f"WHERE object {IN_IDS}",
                        (json.dumps(sorted(path_pks)),),
                    )
                }
            version_pks = {
                existing[r.object_id][0]
                for r in records
                if r.annotation_id is not None
                and r.object_id in existing
                and existing[r.object_id][2] != r.annotation_id
            }
            versions: dict[str, dict[str, int]] = {}
            if version_pks:
                for oid, version, aid in db.execute(
                    "SELECT o.id, v.version, a.id FROM annotation_versions v "
                    "JOIN objects o ON o.pk = v.object JOIN annotations a ON a.pk = v.annotation "
                    f"WHERE v.object {IN_IDS}",
                    (json.dumps(sorted(version_pks)),),
                ):
                    versions.setdefault(oid, {})[aid] = version
            for oid, (_, version, aid, *_) in existing.items():
                if aid is not None:
                    versions.setdefault(oid, {})[aid] = version

            new_objects: dict[str, list] = {}
            object_updates: dict[str, tuple] = {}
            seen_again: set[str] = set()  # known objects whose type and path are unchanged
            path_rows: list[list] = []
            new_versions: list[list] = []
            current = {oid: row[1] for oid, row in existing.items()}
            tag_rows: set[tuple[str, str]] = set()
            for rec in records:
                oid = rec.object_id
                p = rec.path
                protocol = p.protocol if p is not None else None
                path = p.path if p is not None else None
                old = existing.get(oid)
                if old is None and oid not in new_objects:
                    new_objects[oid] = [oid, rec.type, now, now, user, protocol, path, None]
                    counts.new_objects += 1
                elif old is None or (
                    (rec.type and rec.type != old[3])
                    or (p is not None and (protocol, path) != old[4:])
                ):
                    object_updates[oid] = (rec.type, now, user, protocol, path, oid)
                else:
                    seen_again.add(oid)
                if p is not None and not (rec.path_unchanged and old is not None):
                    key = (old[0] if old else oid, protocol, path)
                    known = known_paths.get(key)
                    if known is None:
                        counts.new_paths += 1
                    # NOTE: an unchanged path is not rewritten: re-indexing a large
                    # unchanged location then costs a listing, not a rewrite.
                    if known != (p.size, p.mtime_ns):
                        known_paths[key] = (p.size, p.mtime_ns)
                        stat = (p.size, p.mtime_ns, p.atime_ns, p.ctime_ns, p.mode, p.uid, p.gid)
                        path_rows.append([oid, protocol, path, *stat, now, now])
                if rec.annotation_id is not None:
                    obj_versions = versions.setdefault(oid, {})
                    version = obj_versions.get(rec.annotation_id)
                    if version is None:
                        version = max(obj_versions.values(), default=0) + 1
                        obj_versions[rec.annotation_id] = version
                        new_versions.append(
                            [oid, version, rec.annotation_id, now, rec.annotation_mtime_ns]
                        )
                        counts.new_annotations += 1
                    current[oid] = version
                for tag in rec.tags:
                    tag_rows.add((oid, tag))

            # New objects get the next integer keys (this transaction holds the write lock),
            # and are inserted with their current version; existing ones are updated.
            pks = {oid: row[0] for oid, row in existing.items()}
            next_pk = db.execute("SELECT coalesce(max(pk), 0) FROM objects").fetchone()[0] + 1
            for number, (oid, row) in enumerate(new_objects.items(), next_pk):
                row[7] = current.get(oid)
                pks[oid] = number
                row.append(number)
            db.executemany(
                "INSERT INTO objects (id, type, first_indexed, last_indexed, last_indexed_by, "
                "protocol, path, current_version, pk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                new_objects.values(),
            )
            db.executemany(
                "UPDATE objects SET type = CASE WHEN ?1 = '' THEN type ELSE ?1 END, "
                "last_indexed = ?2, last_indexed_by = ?3, protocol = coalesce(?4, protocol), "
                "path = coalesce(?5, path) WHERE id = ?6",
                object_updates.values(),
            )
            # NOTE: one statement for all unchanged objects; re-indexing a large unchanged
            # location is mostly this.
            db.execute(
                f"UPDATE objects SET last_indexed = ?, last_indexed_by = ? WHERE id {IN_IDS}",
                (now, user, _ids(seen_again - object_updates.keys())),
            )
            for row in path_rows:
                row[0] = pks[row[0]]
            db.executemany(
                "INSERT INTO object_paths (object, protocol, path, size, mtime_ns, atime_ns, "
                "ctime_ns, mode, uid, gid, first_indexed, last_indexed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (object, protocol, path) DO UPDATE SET size = excluded.size, "
                "mtime_ns = excluded.mtime_ns, atime_ns = excluded.atime_ns, "
                "ctime_ns = excluded.ctime_ns, mode = excluded.mode, uid = excluded.uid, "
                "gid = excluded.gid, last_indexed = excluded.last_indexed",
                path_rows,
            )
            annotation_pks = self._store_annotations(annotation_texts)
            if new_versions:
                needed = {row[2] for row in new_versions}
                unknown = needed - annotation_pks.keys()
                if unknown:
                    annotation_pks.update(
                        db.execute(
                            f"SELECT id, pk FROM annotations WHERE id {IN_IDS}", (_ids(unknown),)
                        )
                    )
                missing = needed - annotation_pks.keys()
                if missing:
                    raise CatalogError(f"no text given for new annotation {sorted(missing)[0]}")
                for row in new_versions:
                    row[0] = pks[row[0]]
                    row[2] = annotation_pks[row[2]]
                db.executemany(
                    "INSERT INTO annotation_versions (object, version, annotation, "
                    "first_indexed, mtime_ns) VALUES (?, ?, ?, ?, ?)",
                    new_versions,
                )
            db.executemany(
                "UPDATE objects SET current_version = ? WHERE pk = ?",
                [
                    (version, existing[oid][0])
                    for oid, version in current.items()
                    if oid in existing and version != existing[oid][1]
                ],
            )
            if tag_rows:
                db.executemany(
                    "INSERT OR IGNORE INTO object_tags (object, tag) VALUES (?, ?)",
                    [(pks[oid], tag) for oid, tag in tag_rows],
                )
        return counts

    def _store_annotations(self, texts: dict[str, str]) -> dict[str, int]:
        """Insert the annotations not stored yet; return the integer key of each."""
        if not texts:
            return {}
        db = self._db
        pks = dict(db.execute(f"SELECT id, pk FROM annotations WHERE id {IN_IDS}", (_ids(texts),)))
        new = [aid for aid in texts if aid not in pks]
        next_pk = db.execute("SELECT coalesce(max(pk), 0) FROM annotations").fetchone()[0] + 1
        rows = [(pk, aid, texts[aid]) for pk, aid in enumerate(new, next_pk)]
        db.executemany("INSERT INTO annotations (pk, id, value) VALUES (?, ?, ?)", rows)
        pks.update((aid, pk) for pk, aid, _ in rows)
        return pks

    def version_numbers(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """(object id, annotation id) -> that annotation's version number for the object."""
        rows = self._db.execute(
            "SELECT o.id, a.id, v.version FROM objects o "
            "JOIN annotation_versions v ON v.object = o.pk "
            f"JOIN annotations a ON a.pk = v.annotation WHERE o.id {IN_IDS}",
            (_ids({oid for oid, _ in pairs}),),
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
        ids = _ids(object_ids)
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
            (_ids(annotation_ids),),
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
            f"SELECT id, value FROM transforms WHERE id {IN_IDS}", (_ids(transform_ids),)
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
            (_ids(object_ids),),
        )
        result: dict[str, list[str]] = {}
        for oid, name, version in rows:
            result.setdefault(oid, []).append(f"ds:{name}.v{version}")
        return result

    # reading ------------------------------------------------------------------------------

    def count_objects(self) -> int:
        return self._db.execute("SELECT count(*) FROM objects").fetchone()[0]

    def root_members(self, where: Predicate | None = None) -> list[RootMember]:
        query = f"SELECT o.id, a.id, v.version FROM objects o {_CURRENT}"
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
            (_ids(object_ids),),
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
            (_ids(object_ids),),
        )
        for oid, protocol, path in rows:
            result.setdefault(oid, []).append((protocol, path))
        return result

    def object_tags(self, object_ids: Iterable[str]) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        rows = self._db.execute(
            "SELECT o.id, t.tag FROM object_tags t JOIN objects o ON o.pk = t.object "
            f"WHERE o.id {IN_IDS} ORDER BY t.tag",
            (_ids(object_ids),),
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
        ids, added = _ids(object_ids), _ids(sorted(set(add)))
        if replace:
            dropped, params = "NOT IN (SELECT value FROM json_each(?))", added
        else:
            dropped, params = IN_IDS, _ids(sorted(set(remove)))
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
