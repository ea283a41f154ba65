"""The catalog in a PostgreSQL database, shared by a team (psycopg 3).

Same interface and results as the SQLite catalog. What differs, and why:

- Many writers at once. Every transaction runs at READ COMMITTED; rows that a write
  depends on are locked in id order (objects with ``FOR UPDATE``, dataset names), and
  content-addressed rows are inserted with ``ON CONFLICT DO NOTHING`` in id order, so
  concurrent indexers end with exactly the union. A deadlock or serialisation failure
  (SQLSTATE 40P01, 40001) that the server still reports rolls the transaction back and
  runs its writes again (the journal of the open transaction), a few times with jitter.
- Annotations keep their canonical text (ids are hashes of it) and a JSONB copy with a
  GIN index, which answers ``field == literal`` queries by containment.
- The stat cache is per machine for local files (a ``host`` column): the same path on
  two machines is two files.
- Keys that leave the catalog (collections, transform mappings) are derived from their
  content ids, so a retried transaction hands out the same keys.

Tables: ``postgres_schema``; the indexed-batch write: ``postgres_record``; shared SQL
helpers: ``postgres_sql``; predicates as SQL: ``sql_postgres``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import socket
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from ldb_clone.catalog.postgres_after import AfterCommit
from ldb_clone.catalog.postgres_record import record_batch
from ldb_clone.catalog.postgres_schema import MIGRATION_LOCK, SCHEMA, SCHEMA_VERSION
from ldb_clone.catalog.postgres_sql import (
    CURRENT,
    IN_IDS,
    LOCAL_PROTOCOL,
    TEXT_KEY,
    content_key,
    copied_rows,
    json_param,
    json_rows,
)
from ldb_clone.catalog.postgres_stats import CREATE_SUMMARIES, PostgresStatsQueries
from ldb_clone.catalog.predicates import Predicate
from ldb_clone.catalog.protocol import RootMember
from ldb_clone.catalog.records import (
    DatasetVersion,
    ObjectInfo,
    ObjectRecord,
    RecordCounts,
    StorageRow,
)
from ldb_clone.catalog.sql_postgres import compile_predicate
from ldb_clone.catalog_url import check_url, mask_url
from ldb_clone.errors import InstanceError, LdbError, NotIndexedError, scrub

RETRIES = 8
RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def _connection_error(url: str, exc: Exception) -> InstanceError:
    detail = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    return InstanceError(f"Unable to connect to the catalog {mask_url(url)!r}: {detail}")


class PostgresCatalog(PostgresStatsQueries):
    """An LDB catalog in the PostgreSQL database at ``url``."""

    read_only = False
    has_server = True

    def __init__(self, url: str, create: bool = False) -> None:
        self.url = check_url(url)
        self.location = mask_url(url)
        self.host = socket.gethostname()
        try:
            self.conn = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise _connection_error(url, exc) from None
        self._depth = 0
        self._journal: list[tuple[Callable[..., Any], tuple]] = []
        self._after_commit: AfterCommit | None = None  # inside bulk_writes
        self._deferred: list[Callable[[psycopg.Connection], Any]] = []  # for after_commit
        self.retries = 0  # transactions run again after the server aborted them
        try:
            self._prepare_schema(create)
        except BaseException:
            self.conn.close()
            raise

    @property
    def path(self) -> str:
        return self.location

    def close(self) -> None:
        self.conn.close()

    def reopen(self) -> PostgresCatalog:
        return PostgresCatalog(self.url)

    def _prepare_schema(self, create: bool) -> None:
        exists = self._scalar("SELECT to_regclass('ldb_schema') IS NOT NULL")
        if not exists and not create:
            raise InstanceError(
                f"The database {self.location!r} holds no LDB catalog; create one with "
                f"'ldb init --catalog URL PATH'"
            )
        if not exists:
            try:
                self._create_schema()
            except psycopg.Error as exc:  # no CREATE permission in the database, ...
                raise self._server_error(exc) from exc
        version = self._scalar("SELECT max(version) FROM ldb_schema")
        if version != SCHEMA_VERSION:
            raise InstanceError(
                f"The catalog {self.location!r} has schema version {version}; this ldb "
                f"understands {SCHEMA_VERSION}: use the same ldb_clone version as your team"
            )

    def _create_schema(self) -> None:
        """Create the tables once, however many ``ldb init`` run at the same time."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            if self.conn.execute("SELECT to_regclass('ldb_schema')").fetchone()[0] is None:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(CREATE_SUMMARIES)
                self.conn.execute("INSERT INTO ldb_schema (version) VALUES (%s)", (SCHEMA_VERSION,))

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._rows(sql, params)
        return rows[0][0] if rows else None

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self._depth:  # a transaction's errors are handled (retried) by it
            return self.conn.execute(sql, params).fetchall()
        try:
            return self.conn.execute(sql, params).fetchall()
        except psycopg.Error as exc:
            raise self._server_error(exc) from exc

    def _server_error(self, exc: psycopg.Error) -> InstanceError:
        """What the server refused (no permission, connection lost), as one line."""
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return InstanceError(f"The catalog {self.location!r} failed: {scrub(detail)}")

    # transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """Each transaction commits on its own; its stat-cache rows and ``ldb stats``
        summaries are sent on a second connection once it has committed, while the next
        one runs (see ``postgres_after``)."""
        if self._after_commit is not None:
            yield
            return
        self._after_commit = AfterCommit(self.url, RETRYABLE, RETRIES)
        try:
            yield
        finally:
            after, self._after_commit = self._after_commit, None
            try:
                after.close()
            except psycopg.Error as exc:
                raise self._server_error(exc) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction; nested uses join the outer one. The writes made in it are
        journalled, so that a transaction the server aborts can be run again."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._begin()
        self._depth = 1
        self._journal = []
        try:
            try:
                yield
            except BaseException:
                self._rollback()
                raise
            else:
                self._commit_with_retries()
                if self._deferred and self._after_commit is not None:
                    self._after_commit.send(self._deferred)
            finally:
                self._depth = 0
                self._journal = []
                self._deferred = []
        except psycopg.Error as exc:
            raise self._server_error(exc) from exc

    def require_writable(self) -> None:
        """A server catalog is writable for anyone who may connect (the server's roles
        decide); nothing to check here."""

    def _begin(self) -> None:
        self.conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")

    def _rollback(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.conn.execute("ROLLBACK")

    def _commit_with_retries(self) -> None:
        for attempt in range(RETRIES):
            try:
                self.conn.execute("COMMIT")
                return
            except RETRYABLE:
                self._rollback()
                self.retries += 1
                if attempt == RETRIES - 1:
                    raise
                self._replay(attempt, self._journal)

    def _replay(self, attempt: int, journal: list[tuple[Callable[..., Any], tuple]]) -> None:
        """Wait a little, begin again and rerun ``journal``'s writes (retrying the same way
        while the server keeps aborting)."""
        for retry in range(attempt, RETRIES):
            time.sleep(random.uniform(0, 0.05 * 2**retry))
            self._begin()
            try:
                for fn, args in journal:
                    fn(*args)
                return
            except RETRYABLE:
                self._rollback()
                self.retries += 1
                if retry == RETRIES - 1:
                    raise
        raise LdbError("the catalog server kept aborting the transaction")  # pragma: no cover

    def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a write: part of the open transaction (journalled), or in one of its own;
        either way retried when the server asks for it."""
        if not self._depth:
            with self.transaction():
                return self._write(fn, *args)
        self._journal.append((fn, args))
        for attempt in range(RETRIES):
            try:
                return fn(*args)
            except RETRYABLE:
                self._rollback()
                self.retries += 1
                if attempt == RETRIES - 1:
                    raise
                self._replay(attempt, self._journal[:-1])
        raise AssertionError("unreachable")  # pragma: no cover

    # settings ---------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        return self._scalar("SELECT value FROM settings WHERE key = %s", (key,))

    def settings_with_prefix(self, prefix: str) -> dict[str, str]:
        rows = self._rows(
            "SELECT key, value FROM settings WHERE left(key, %s) = %s", (len(prefix), prefix)
        )
        return dict(rows)

    def set_setting(self, key: str, value: str) -> None:
        self._write(self._set_setting, key, value)

    def _set_setting(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (%s, %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # storage locations --------------------------------------------------------------------

    def storage_locations(self) -> list[StorageRow]:
        rows = self._rows(
            "SELECT protocol, path, read_add, options FROM storage_locations ORDER BY position"
        )
        return [StorageRow(p, path, bool(ra), json.loads(opts)) for p, path, ra, opts in rows]

    def replace_storage_locations(self, locations: Sequence[StorageRow]) -> None:
        rows = [
            (loc.protocol, loc.path, int(loc.read_add), json.dumps(loc.options), i)
            for i, loc in enumerate(locations)
        ]
        self._write(self._replace_storage_locations, rows)

    def _replace_storage_locations(self, rows: list[tuple]) -> None:
        self.conn.execute("LOCK TABLE storage_locations IN EXCLUSIVE MODE")
        self.conn.execute("DELETE FROM storage_locations")
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO storage_locations (protocol, path, read_add, options, position) "
                "VALUES (%s, %s, %s, %s, %s)",
                rows,
            )

    def objects_only_under(self, protocol: str, root: str) -> int:
        root = root.rstrip("/")
        prefix = root + "/"
        return self._scalar(
            "SELECT count(*) FROM objects o "
            "WHERE EXISTS (SELECT 1 FROM object_paths p WHERE p.object = o.pk) "
            "AND NOT EXISTS (SELECT 1 FROM object_paths p WHERE p.object = o.pk AND NOT "
            "(p.protocol = %s AND (%s = '' OR p.path = %s OR left(p.path, %s) = %s)))",
            (protocol, root, root, len(prefix), prefix),
        )

    # stat cache ---------------------------------------------------------------------------

    def _host_of(self, protocol: str) -> str:
        """Local files are cached per machine; cloud objects are the same for everyone."""
        return self.host if protocol == LOCAL_PROTOCOL else ""

    def unchanged_files(
        self, protocol: str, kind: str, files: Sequence[tuple[str, int, int]]
    ) -> dict[str, str]:
        if not files:
            return {}
        rows = self._rows(
            f"SELECT f.path, f.digest FROM {json_rows('text', 'bigint', 'bigint')} AS j "
            "JOIN file_states f ON f.host = %s AND f.protocol = %s AND f.path = j.c0 "
            "AND f.kind = %s WHERE f.size = j.c1 AND f.mtime_ns = j.c2",
            (json_param(files), self._host_of(protocol), protocol, kind),
        )
        return dict(rows)

    def put_file_states(self, kind: str, rows: Iterable[tuple[str, str, int, int, str]]) -> None:
        latest = {
            (p, path): (p, path, size, mtime, digest) for p, path, size, mtime, digest in rows
        }
        if latest and not self._defer_after_commit(
            self._put_file_states, kind, sorted(latest.values())
        ):
            self._write(self._put_file_states, kind, sorted(latest.values()))

    def _defer_after_commit(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Inside a transaction of ``bulk_writes``, keep ``fn(*args, conn)`` to be sent
        on the second connection once the transaction commits (see postgres_after);
        else return False: the caller writes at once."""
        if not (self._depth and self._after_commit is not None):
            return False
        self._deferred.append(functools.partial(fn, *args))
        return True

    def _put_file_states(
        self, kind: str, rows: list[tuple], conn: psycopg.Connection | None = None
    ) -> None:
        conn = conn or self.conn
        table = copied_rows(
            conn,
            "new_file_states",
            (TEXT_KEY, TEXT_KEY, TEXT_KEY, TEXT_KEY, "bigint", "bigint", "text"),
            ((self._host_of(p), p, path, kind, size, mtime, d) for p, path, size, mtime, d in rows),
        )
        conn.execute(
            "INSERT INTO file_states (host, protocol, path, kind, size, mtime_ns, digest) "
            f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4 "
            "ON CONFLICT (host, protocol, path, kind) DO UPDATE SET size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, digest = excluded.digest"
        )

    # objects and annotations --------------------------------------------------------------

    def known_objects(self, object_ids: Iterable[str]) -> set[str]:
        rows = self._rows(f"SELECT id FROM objects WHERE id {IN_IDS}", (json_param(object_ids),))
        return {row[0] for row in rows}

    def current_annotations(self, object_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        rows = self._rows(
            f"SELECT o.id, v.version, a.id FROM objects o {CURRENT} "
            f"WHERE o.id {IN_IDS} AND a.id IS NOT NULL",
            (json_param(object_ids),),
        )
        return {oid: (version, aid) for oid, version, aid in rows}

    def current_annotations_at(
        self, protocol: str, paths: Iterable[str]
    ) -> dict[str, tuple[str, str]]:
        rows = self._rows(
            f"SELECT o.path, o.id, a.value FROM objects o {CURRENT} "
            f"WHERE o.protocol = %s AND o.path {IN_IDS} AND a.id IS NOT NULL",
            (protocol, json_param(paths)),
        )
        return {path: (oid, value) for path, oid, value in rows}

    def object_states(self, object_ids: Iterable[str]) -> dict[str, tuple]:
        rows = self._rows(
            f"SELECT o.id, a.id, o.protocol, o.path, o.type FROM objects o {CURRENT} "
            f"WHERE o.id {IN_IDS}",
            (json_param(object_ids),),
        )
        return {row[0]: row[1:] for row in rows}

    def touch_objects(
        self, object_ids: Collection[str], now: str, user: str, tags: Sequence[str] = ()
    ) -> None:
        if object_ids:
            self._write(self._touch_objects, sorted(object_ids), now, user, list(tags))

    def _touch_objects(self, ids: list[str], now: str, user: str, tags: list[str]) -> None:
        # locked in id order by the subquery (as _lock_objects), updated in the same trip
        self.conn.execute(
            "UPDATE objects o SET last_indexed = %s, last_indexed_by = %s "
            f"FROM (SELECT pk FROM objects WHERE id {IN_IDS} ORDER BY id FOR UPDATE) AS l "
            "WHERE o.pk = l.pk",
            (now, user, json_param(ids)),
        )
        if tags:
            self.conn.execute(
                "INSERT INTO object_tags (object, tag) SELECT o.pk, t.tag FROM objects o "
                f"CROSS JOIN unnest(%s::text[]) AS t(tag) WHERE o.id {IN_IDS} "
                "ORDER BY o.id, t.tag ON CONFLICT DO NOTHING",
                (tags, json_param(ids)),
            )

    def _lock_objects(self, ids: list[str]) -> None:
        """Lock these objects' rows in id order: writers that touch the same objects
        queue up instead of deadlocking."""
        self.conn.execute(
            f"SELECT 1 FROM objects WHERE id {IN_IDS} ORDER BY id FOR UPDATE",
            (json_param(ids),),
        )

    def annotation_texts(self, annotation_ids: Iterable[str]) -> dict[str, str]:
        rows = self._rows(
            f"SELECT id, value FROM annotations WHERE id {IN_IDS}",
            (json_param(annotation_ids),),
        )
        return dict(rows)

    def record_objects(
        self,
        records: Sequence[ObjectRecord],
        annotation_texts: dict[str, str],
        now: str,
        user: str,
    ) -> RecordCounts:
        """Store one batch of indexed objects in one transaction (as the SQLite catalog)."""
        if not records:
            return RecordCounts()
        return self._write(record_batch, self.conn, records, annotation_texts, now, user)

    def version_numbers(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        rows = self._rows(
            "SELECT o.id, a.id, v.version FROM objects o "
            "JOIN annotation_versions v ON v.object = o.pk "
            f"JOIN annotations a ON a.pk = v.annotation WHERE o.id {IN_IDS}",
            (json_param({oid for oid, _ in pairs}),),
        )
        return {(oid, aid): version for oid, aid, version in rows}

    def annotation_version_numbers(self, object_id: str) -> dict[str, int]:
        return {
            aid: version for (_, aid), version in self.version_numbers([(object_id, "")]).items()
        }

    def unindex(self, object_ids: Collection[str]) -> int:
        return self._write(self._unindex, sorted(object_ids))

    def _unindex(self, ids: list[str]) -> int:
        self._lock_objects(ids)
        self.conn.execute(
            "DELETE FROM file_states f USING object_paths p, objects o "
            "WHERE f.kind = 'object' AND f.protocol = p.protocol AND f.path = p.path "
            f"AND p.object = o.pk AND o.id {IN_IDS}",
            (json_param(ids),),
        )
        return self.conn.execute(
            f"DELETE FROM objects WHERE id {IN_IDS}", (json_param(ids),)
        ).rowcount

    def annotations_matching(self, annotation_ids: Collection[str], where: Predicate) -> set[str]:
        """The annotation ids among these whose value meets ``where``."""
        condition, params = compile_predicate(where, "a.doc")
        rows = self._rows(
            f"SELECT a.id FROM annotations a WHERE a.id {IN_IDS} AND {condition}",
            (json_param(annotation_ids), *params),
        )
        return {row[0] for row in rows}

    # collections and datasets ----------------------------------------------------------------

    def save_collection(self, collection_id: str, members: dict[str, str | None]) -> int:
        return self._write(self._save_collection, collection_id, members)

    def _save_collection(self, collection_id: str, members: dict[str, str | None]) -> int:
        pk = content_key(collection_id)
        inserted = self.conn.execute(
            "INSERT INTO collections (pk, id, size) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING RETURNING pk",
            (pk, collection_id, len(members)),
        ).fetchone()
        if inserted is None:
            return self._scalar("SELECT pk FROM collections WHERE id = %s", (collection_id,))
        oids = sorted(members)
        stored = self.conn.execute(
            "INSERT INTO collection_members (collection, object, annotation) "
            f"SELECT %s, o.pk, a.pk FROM {json_rows('text', 'text')} AS j "
            "JOIN objects o ON o.id = j.c0 LEFT JOIN annotations a ON a.id = j.c1",
            (pk, json_param([(oid, members[oid]) for oid in oids])),
        ).rowcount
        if stored != len(members):
            raise NotIndexedError("a collection names objects that are not indexed")
        return pk

    def collection_members(self, collection: int) -> dict[str, str | None]:
        rows = self._rows(
            "SELECT o.id, a.id FROM collection_members m JOIN objects o ON o.pk = m.object "
            "LEFT JOIN annotations a ON a.pk = m.annotation WHERE m.collection = %s "
            "ORDER BY o.id",
            (collection,),
        )
        return dict(rows)

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        rows = self._rows(
            "SELECT v.version, v.collection, c.id, c.size, v.parent, v.auto_pull, v.message, "
            "v.committed, v.committed_by, v.transform_mapping, t.id FROM dataset_versions v "
            "JOIN datasets d ON d.pk = v.dataset JOIN collections c ON c.pk = v.collection "
            "LEFT JOIN transform_mappings t ON t.pk = v.transform_mapping "
            "WHERE d.name = %s ORDER BY v.version",
            (name,),
        )
        return [
            DatasetVersion(v, c, cid, size, parent, bool(pull), *rest)
            for v, c, cid, size, parent, pull, *rest in rows
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
        row = (name, collection, parent, auto_pull, message, now, user, transform_mapping)
        return self._write(self._add_dataset_version, *row)

    def _add_dataset_version(
        self,
        name: str,
        collection: int,
        parent: int | None,
        auto_pull: bool,
        message: str,
        now: str,
        user: str,
        transform_mapping: int | None,
    ) -> int:
        self.conn.execute(
            "INSERT INTO datasets (name, created, created_by) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO NOTHING",
            (name, now, user),
        )
        # the dataset's row lock makes concurrent commits take the next numbers in turn
        dataset = self._scalar("SELECT pk FROM datasets WHERE name = %s FOR UPDATE", (name,))
        version = self._scalar(
            "SELECT coalesce(max(version), 0) + 1 FROM dataset_versions WHERE dataset = %s",
            (dataset,),
        )
        self.conn.execute(
            "INSERT INTO dataset_versions (dataset, version, collection, parent, auto_pull, "
            "message, committed, committed_by, transform_mapping) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
        if transforms:
            self._write(self._save_transforms, sorted(transforms.items()))

    def _save_transforms(self, items: list[tuple[str, str]]) -> None:
        self.conn.execute(
            f"INSERT INTO transforms (id, value) SELECT * FROM {json_rows('text', 'text')} AS j "
            "ORDER BY 1 ON CONFLICT (id) DO NOTHING",
            (json_param(items),),
        )

    def transform_values(self, transform_ids: Iterable[str]) -> dict[str, Any]:
        rows = self._rows(
            f"SELECT id, value FROM transforms WHERE id {IN_IDS}",
            (json_param(transform_ids),),
        )
        return {tid: json.loads(value) for tid, value in rows}

    def save_transform_mapping(self, mapping_id: str, text: str) -> int:
        return self._write(self._save_transform_mapping, mapping_id, text)

    def _save_transform_mapping(self, mapping_id: str, text: str) -> int:
        self.conn.execute(
            "INSERT INTO transform_mappings (pk, id, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING",
            (content_key(mapping_id), mapping_id, text),
        )
        return self._scalar("SELECT pk FROM transform_mappings WHERE id = %s", (mapping_id,))

    def transform_mapping(self, key: int | None) -> dict[str, list[str]]:
        if key is None:
            return {}
        found = self._scalar("SELECT value FROM transform_mappings WHERE pk = %s", (key,))
        return json.loads(found) if found else {}

    def dataset_names(self) -> list[tuple[str, int]]:
        return self._rows(
            "SELECT d.name, max(v.version) FROM datasets d JOIN dataset_versions v "
            "ON v.dataset = d.pk GROUP BY d.pk, d.name ORDER BY d.name"
        )

    def delete_dataset(self, name: str) -> bool:
        return self._write(self._delete_dataset, name)

    def _delete_dataset(self, name: str) -> bool:
        deleted = self.conn.execute("DELETE FROM datasets WHERE name = %s", (name,)).rowcount
        self.conn.execute(
            "DELETE FROM collections c WHERE NOT EXISTS "
            "(SELECT 1 FROM dataset_versions v WHERE v.collection = c.pk)"
        )
        self.conn.execute(
            "DELETE FROM transform_mappings t WHERE NOT EXISTS "
            "(SELECT 1 FROM dataset_versions v WHERE v.transform_mapping = t.pk)"
        )
        return bool(deleted)

    def datasets_containing(self, object_ids: Iterable[str]) -> dict[str, list[str]]:
        rows = self._rows(
            "SELECT o.id, d.name, v.version FROM objects o "
            "JOIN collection_members m ON m.object = o.pk "
            "JOIN dataset_versions v ON v.collection = m.collection "
            f"JOIN datasets d ON d.pk = v.dataset WHERE o.id {IN_IDS} "
            "ORDER BY d.name, v.version",
            (json_param(object_ids),),
        )
        result: dict[str, list[str]] = {}
        for oid, name, version in rows:
            result.setdefault(oid, []).append(f"ds:{name}.v{version}")
        return result

    # reading ------------------------------------------------------------------------------

    def count_objects(self) -> int:
        return self._scalar("SELECT count(*) FROM objects")

    def root_members(self, where: Predicate | None = None) -> list[RootMember]:
        condition, params = "", []
        if where is not None:
            compiled, params = compile_predicate(where, "a.doc")
            condition = f" WHERE {compiled}"
        rows = self._rows(
            f"SELECT o.id, a.id, v.version FROM objects o {CURRENT}{condition}", params
        )
        rows.sort()  # in Python, bytewise as SQLite sorts
        return rows

    def resolve_prefix(self, prefix: str) -> list[str]:
        rows = self._rows(
            "SELECT id FROM objects WHERE id >= %s AND id < %s ORDER BY id LIMIT 2",
            (prefix, prefix + "g"),
        )
        return [row[0] for row in rows]

    def object_infos(self, object_ids: Iterable[str]) -> dict[str, ObjectInfo]:
        rows = self._rows(
            "SELECT o.id, o.type, o.first_indexed, o.last_indexed, o.last_indexed_by, "
            "o.protocol, o.path, o.current_version, p.size, p.mtime_ns, p.atime_ns, "
            "p.ctime_ns, p.mode, p.uid, p.gid FROM objects o LEFT JOIN object_paths p "
            "ON p.object = o.pk AND p.protocol = o.protocol AND p.path = o.path "
            f"WHERE o.id {IN_IDS}",
            (json_param(object_ids),),
        )
        stat = ("size", "mtime_ns", "atime_ns", "ctime_ns", "mode", "uid", "gid")
        return {row[0]: ObjectInfo(*row[:8], **dict(zip(stat, row[8:]))) for row in rows}

    def object_paths(self, object_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        result: dict[str, list[tuple[str, str]]] = {}
        rows = self._rows(
            "SELECT o.id, p.protocol, p.path FROM object_paths p JOIN objects o ON o.pk = p.object "
            f"WHERE o.id {IN_IDS} ORDER BY p.first_indexed, p.path",
            (json_param(object_ids),),
        )
        for oid, protocol, path in rows:
            result.setdefault(oid, []).append((protocol, path))
        return result

    def object_tags(self, object_ids: Iterable[str]) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        rows = self._rows(
            "SELECT o.id, t.tag FROM object_tags t JOIN objects o ON o.pk = t.object "
            f"WHERE o.id {IN_IDS} ORDER BY t.tag",
            (json_param(object_ids),),
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
        if not object_ids:
            return 0
        return self._write(
            self._edit_object_tags,
            sorted(object_ids),
            sorted(set(add)),
            sorted(set(remove)),
            replace,
        )

    def _edit_object_tags(
        self, ids: list[str], added: list[str], removed: list[str], replace: bool
    ) -> int:
        self._lock_objects(ids)
        # tag lists are short: plain arrays
        dropped = "<> ALL(%s::text[])" if replace else "= ANY(%s::text[])"
        dropped_param = added if replace else removed
        selected = f"SELECT pk FROM objects WHERE id {IN_IDS}"
        object_ids = json_param(ids)
        changed = self._scalar(
            f"SELECT count(*) FROM ({selected}) s WHERE EXISTS ("
            f"SELECT 1 FROM object_tags t WHERE t.object = s.pk AND t.tag {dropped}) "
            "OR (SELECT count(*) FROM object_tags t WHERE t.object = s.pk "
            "AND t.tag = ANY(%s::text[])) < cardinality(%s::text[])",
            (object_ids, dropped_param, added, added),
        )
        if changed:
            self.conn.execute(
                f"DELETE FROM object_tags WHERE object IN ({selected}) AND tag {dropped}",
                (object_ids, dropped_param),
            )
            self.conn.execute(
                "INSERT INTO object_tags (object, tag) SELECT s.pk, t.tag "
                f"FROM ({selected}) s CROSS JOIN unnest(%s::text[]) AS t(tag) "
                "ON CONFLICT DO NOTHING",
                (object_ids, added),
            )
        return changed
