"""Copy a catalog between backends (an instance's SQLite file <-> a PostgreSQL database).

Rows travel by their content ids and names, never by the integer keys each database
gives them, and are inserted with ``ON CONFLICT DO NOTHING``: copying twice adds nothing,
and copying into a catalog that already holds some of the rows keeps what it holds. The
target is written in one transaction. The stat cache is not copied (it describes the
files of one machine and is rebuilt by the next ``ldb index``).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ldb_clone.catalog_url import check_url, is_postgres_url, mask_url
from ldb_clone.errors import LdbError


class CatalogCopyError(LdbError):
    pass


# (table, SELECT in the source by natural keys, INSERT in the target resolving them).
# The SELECTs are plain SQL that both SQLite and PostgreSQL run; the INSERTs use "?",
# turned into "%s" for psycopg. Parents come before the rows that point at them.
TABLES: tuple[tuple[str, str, str], ...] = (
    (
        "settings",
        "SELECT key, value FROM settings ORDER BY key",
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
    ),
    (
        "storage_locations",
        "SELECT protocol, path, read_add, options, position FROM storage_locations "
        "ORDER BY position",
        "INSERT INTO storage_locations (protocol, path, read_add, options, position) "
        "SELECT ?, ?, ?, ?, coalesce(max(position), -1) + 1 + 0 * ? FROM storage_locations "
        "WHERE true ON CONFLICT DO NOTHING",
    ),
    (
        "objects",
        "SELECT id, type, first_indexed, last_indexed, last_indexed_by, protocol, path, "
        "current_version FROM objects ORDER BY id",
        "INSERT INTO objects (id, type, first_indexed, last_indexed, last_indexed_by, "
        "protocol, path, current_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
    ),
    (
        "object_paths",
        "SELECT o.id, p.protocol, p.path, p.size, p.mtime_ns, p.atime_ns, p.ctime_ns, "
        "p.mode, p.uid, p.gid, p.first_indexed, p.last_indexed FROM object_paths p "
        "JOIN objects o ON o.pk = p.object ORDER BY o.id, p.protocol, p.path",
        "INSERT INTO object_paths (object, protocol, path, size, mtime_ns, atime_ns, "
        "ctime_ns, mode, uid, gid, first_indexed, last_indexed) "
        "SELECT o.pk, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM objects o WHERE o.id = ? "
        "ON CONFLICT DO NOTHING",
    ),
    (
        "annotations",
        "SELECT id, value FROM annotations ORDER BY id",
        "",  # backend-specific (PostgreSQL keeps a JSONB copy): see _insert_annotations
    ),
    (
        "annotation_versions",
        "SELECT o.id, v.version, a.id, v.first_indexed, v.mtime_ns FROM annotation_versions v "
        "JOIN objects o ON o.pk = v.object JOIN annotations a ON a.pk = v.annotation "
        "ORDER BY o.id, v.version",
        "INSERT INTO annotation_versions (object, version, annotation, first_indexed, "
        "mtime_ns) SELECT o.pk, ?, a.pk, ?, ? FROM objects o, annotations a "
        "WHERE o.id = ? AND a.id = ? ON CONFLICT DO NOTHING",
    ),
    (
        "object_tags",
        "SELECT o.id, t.tag FROM object_tags t JOIN objects o ON o.pk = t.object "
        "ORDER BY o.id, t.tag",
        "INSERT INTO object_tags (object, tag) SELECT o.pk, ? FROM objects o WHERE o.id = ? "
        "ON CONFLICT DO NOTHING",
    ),
    (
        "collections",
        "SELECT id, size FROM collections ORDER BY id",
        "INSERT INTO collections (pk, id, size) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    ),
    (
        "collection_members",
        "SELECT c.id, o.id, a.id FROM collection_members m "
        "JOIN collections c ON c.pk = m.collection JOIN objects o ON o.pk = m.object "
        "LEFT JOIN annotations a ON a.pk = m.annotation ORDER BY c.id, o.id",
        "INSERT INTO collection_members (collection, object, annotation) "
        "SELECT c.pk, o.pk, (SELECT a.pk FROM annotations a WHERE a.id = ?) "
        "FROM collections c, objects o WHERE c.id = ? AND o.id = ? ON CONFLICT DO NOTHING",
    ),
    (
        "transforms",
        "SELECT id, value FROM transforms ORDER BY id",
        "INSERT INTO transforms (id, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
    ),
    (
        "transform_mappings",
        "SELECT id, value FROM transform_mappings ORDER BY id",
        "INSERT INTO transform_mappings (pk, id, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    ),
    (
        "datasets",
        "SELECT name, created, created_by FROM datasets ORDER BY name",
        "INSERT INTO datasets (name, created, created_by) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    ),
    (
        "dataset_versions",
        "SELECT d.name, v.version, c.id, v.parent, v.auto_pull, v.message, v.committed, "
        "v.committed_by, t.id FROM dataset_versions v JOIN datasets d ON d.pk = v.dataset "
        "JOIN collections c ON c.pk = v.collection "
        "LEFT JOIN transform_mappings t ON t.pk = v.transform_mapping ORDER BY d.name, v.version",
        "INSERT INTO dataset_versions (dataset, version, collection, parent, auto_pull, "
        "message, committed, committed_by, transform_mapping) "
        "SELECT d.pk, ?, c.pk, ?, ?, ?, ?, ?, (SELECT t.pk FROM transform_mappings t "
        "WHERE t.id = ?) FROM datasets d, collections c WHERE d.name = ? AND c.id = ? "
        "ON CONFLICT DO NOTHING",
    ),
)


def _target_params(table: str, row: tuple) -> tuple:
    """A source row in the order of the table's INSERT placeholders."""
    from ldb_clone.catalog.postgres_sql import content_key

    if table == "object_paths":
        return (*row[1:], row[0])
    if table == "annotation_versions":
        oid, version, aid, first, mtime = row
        return (version, first, mtime, oid, aid)
    if table == "object_tags":
        return (row[1], row[0])
    if table in ("collections", "transform_mappings"):
        return (content_key(row[0]), *row)
    if table == "collection_members":
        cid, oid, aid = row
        return (aid, cid, oid)
    if table == "dataset_versions":
        name, version, cid, parent, pull, message, committed, by, tid = row
        return (version, parent, pull, message, committed, by, tid, name, cid)
    return tuple(row)


@dataclass
class Endpoint:
    """One side of a copy: an instance's SQLite catalog file or a PostgreSQL URL."""

    location: str

    @property
    def is_postgres(self) -> bool:
        return is_postgres_url(self.location)

    @property
    def shown(self) -> str:
        return mask_url(self.location) if self.is_postgres else self.location

    def sqlite_file(self) -> Path:
        from ldb_clone.instance import CATALOG_FILENAME

        path = Path(self.location).expanduser()
        return path / CATALOG_FILENAME if path.is_dir() else path

    def prepare(self, create: bool) -> None:
        """Open (and for a target, create) the catalog once with its own backend, which
        checks and migrates its schema."""
        if self.is_postgres:
            from ldb_clone.catalog_url import open_postgres

            open_postgres(check_url(self.location), create=create).close()
        else:
            from ldb_clone.catalog import Catalog

            Catalog(self.sqlite_file()).close()

    def connect(self) -> Any:
        if self.is_postgres:
            import psycopg

            return psycopg.connect(self.location)
        connection = sqlite3.connect(os.fspath(self.sqlite_file()), isolation_level=None)
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=60000")
        return connection


def copy_catalog(source: str, target: str) -> dict[str, int]:
    """Copy every row of the source catalog that the target lacks; return how many rows
    of each table were added."""
    src, dst = Endpoint(source), Endpoint(target)
    if src.is_postgres == dst.is_postgres:
        raise CatalogCopyError(
            f"Copy between a SQLite catalog (an instance folder) and a PostgreSQL one: "
            f"got {src.shown!r} and {dst.shown!r}"
        )
    src.prepare(create=False)
    dst.prepare(create=True)
    reader, writer = src.connect(), dst.connect()
    try:
        _check_same_algorithm(reader, writer, src, dst)
        if not dst.is_postgres:
            writer.execute("BEGIN IMMEDIATE")
        added: dict[str, int] = {}
        try:
            for table, select, insert in TABLES:
                rows = reader.execute(select).fetchall()
                if table == "annotations":
                    added[table] = _insert_annotations(writer, dst.is_postgres, rows)
                else:
                    added[table] = _insert(writer, dst.is_postgres, table, insert, rows)
        except BaseException:
            writer.rollback() if dst.is_postgres else writer.execute("ROLLBACK")
            raise
        writer.commit() if dst.is_postgres else writer.execute("COMMIT")
        return added
    finally:
        reader.close()
        writer.close()


def _check_same_algorithm(reader: Any, writer: Any, src: Endpoint, dst: Endpoint) -> None:
    query = "SELECT value FROM settings WHERE key = 'hash_algorithm'"
    theirs, ours = reader.execute(query).fetchone(), writer.execute(query).fetchone()
    if ours and theirs and ours[0] != theirs[0]:
        raise CatalogCopyError(
            f"{src.shown!r} identifies objects with {theirs[0]!r} and {dst.shown!r} with "
            f"{ours[0]!r}; a catalog cannot hold both"
        )


def _insert(writer: Any, postgres: bool, table: str, insert: str, rows: list) -> int:
    if not rows:
        return 0
    if postgres:
        insert = insert.replace("?", "%s")
    before = _count(writer, table)
    params = [_target_params(table, tuple(row)) for row in rows]
    if postgres:
        with writer.cursor() as cursor:
            cursor.executemany(insert, params)
    else:
        writer.executemany(insert, params)
    return _count(writer, table) - before


def _insert_annotations(writer: Any, postgres: bool, rows: list) -> int:
    before = _count(writer, "annotations")
    if postgres:
        from ldb_clone.catalog.postgres_sql import jsonb_text

        with writer.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO annotations (id, value, doc) VALUES (%s, %s, %s::jsonb) "
                "ON CONFLICT DO NOTHING",
                [(aid, value, jsonb_text(value)) for aid, value in rows],
            )
    else:
        writer.executemany(
            "INSERT INTO annotations (id, value) VALUES (?, ?) ON CONFLICT DO NOTHING", rows
        )
    return _count(writer, "annotations") - before


def _count(connection: Any, table: str) -> int:
    return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def summary(source: str, target: str, added: dict[str, int]) -> str:
    """What a copy added, for people."""
    shown = [Endpoint(source).shown, Endpoint(target).shown]
    lines = [f"Copied the catalog {shown[0]!r} to {shown[1]!r}"]
    lines += [f"  {table + ':':<22}{count:>8}" for table, count in added.items()]
    return "\n".join(lines)
