"""The catalog tests of tests/test_catalog.py, run again on a PostgreSQL catalog.

The test functions are imported, and the ``catalog``/``catalog_path`` fixtures and the
module's ``Catalog`` are replaced by PostgreSQL ones (a fresh database per test), so the
two backends are held to the same tests. Tests of SQLite's own file handling (WAL,
PRAGMAs, a damaged or empty file) are left out, by name, below.
"""

from __future__ import annotations

import pytest

import tests.test_catalog as sqlite_tests
from ldb_clone.catalog import open_catalog
from tests.postgres.fixtures import pg_url  # noqa: F401
from tests.test_catalog import *  # noqa: F403

pytestmark = pytest.mark.postgres

SQLITE_ONLY = {
    "test_missing_catalog_is_an_instance_error": "a missing SQLite file",
    "test_schema_version_is_recorded": "PRAGMA user_version",
    "test_wal_mode_and_foreign_keys_are_on": "SQLite's WAL and PRAGMAs",
    "test_newer_schema_version_is_refused": "PRAGMA user_version",
    "test_empty_database_file_is_an_error_unless_creating": "an empty SQLite file",
    "test_a_file_that_is_not_a_database_is_an_instance_error": "a damaged SQLite file",
    "test_foreign_keys_are_enforced": "SQLite's foreign_keys PRAGMA",
    "test_stat_cache_lookup_uses_the_primary_key": "SQLite's query plan",
    "test_reopening_keeps_data_and_schema": "PRAGMA user_version",
    "test_a_reader_does_not_block_a_writer": "the snapshot of SQLite's plain BEGIN",
}


@pytest.fixture(autouse=True)
def _sqlite_only(request: pytest.FixtureRequest) -> None:
    reason = SQLITE_ONLY.get(request.node.originalname)
    if reason:
        pytest.skip(f"SQLite only: {reason}")


@pytest.fixture
def catalog_path(pg_url: str) -> str:  # noqa: F811
    return pg_url


class QmarkConnection:
    """What the imported tests use of a catalog's SQLite connection (``execute`` with
    ``?`` placeholders, for checks of plain SQL), on the PostgreSQL connection."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def execute(self, sql: str, params=()):
        return self.connection.execute(sql.replace("?", "%s"), params)


def open_for_tests(location: str, create: bool = False):
    catalog = open_catalog(location, create)
    catalog.db = catalog._db = QmarkConnection(catalog.conn)
    return catalog


@pytest.fixture
def catalog(catalog_path: str):
    cat = open_for_tests(catalog_path, create=True)
    yield cat
    cat.close()


@pytest.fixture(autouse=True)
def _postgres_catalog_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Catalog(location)`` in the imported tests opens the PostgreSQL catalog."""
    monkeypatch.setattr(sqlite_tests, "Catalog", open_for_tests)


def test_the_postgres_catalog_is_a_catalog_backend(catalog):
    from ldb_clone.catalog import CatalogBackend

    assert isinstance(catalog, CatalogBackend)
    assert catalog.read_only is False
