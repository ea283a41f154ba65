"""Opening the SQLite catalog file: refusing a missing, empty or foreign file, choosing
read-only mode when this process cannot write, tuning the connection, and migrating the
schema (``catalog.schema``)."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from pathlib import Path

from ldb_clone.catalog.schema import MIGRATIONS, SCHEMA_VERSION
from ldb_clone.errors import InstanceError


def connect(path: Path, create: bool = False) -> tuple[sqlite3.Connection, bool]:
    """An open connection to the catalog at ``path`` (with ``create``, a new one), with
    its schema current, and whether it is read-only. Raises ``InstanceError``."""
    if not create:
        _check_existing(path)
    # NOTE: a catalog this process cannot write (a read-only mount, another user's
    # instance) is opened read-only, so that reading commands work; see _connect_read_only
    read_only = not create and not _writable(path)
    try:
        if read_only:
            db = _connect_read_only(path)
        else:
            db = sqlite3.connect(path, isolation_level=None, timeout=60.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=60000")
        db.execute("PRAGMA cache_size=-65536")
        db.execute("PRAGMA temp_store=MEMORY")
        if not create:
            _check_not_blank(db, path)
        if read_only:
            _check_current(db, path)
        else:
            _migrate(db, path)
    except sqlite3.DatabaseError as exc:
        # NOTE: not a database or damaged, unlike OperationalError (locked, no access)
        damaged = not isinstance(exc, sqlite3.OperationalError)
        hint = f"; {_hint(path)}" if damaged else ""
        raise InstanceError(f"Unable to open the catalog '{path}': {exc}{hint}") from exc
    return db, read_only


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


def _check_not_blank(db: sqlite3.Connection, path: Path) -> None:
    """An existing catalog always has a schema; one without any (a file that SQLite
    reads as a new, empty database) is never filled in silently."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if version == 0 and tables == 0:
        db.close()
        raise InstanceError(f"The catalog '{path}' holds no data; {_hint(path)}")


def _check_current(db: sqlite3.Connection, path: Path) -> None:
    """A read-only catalog cannot be migrated: its schema must be this ldb's."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version != SCHEMA_VERSION:
        db.close()
        raise InstanceError(
            f"The catalog '{path}' has schema version {version} and this ldb "
            f"needs {SCHEMA_VERSION}; it is read-only for you, so run ldb once as a "
            "user who can write it"
        )


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise InstanceError(
            f"The catalog '{path}' has schema version {version}, newer than this "
            f"ldb understands ({SCHEMA_VERSION}); upgrade ldb_clone"
        )
    if version == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for number in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    db.execute(statement)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
