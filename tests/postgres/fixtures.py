"""Fixtures for the PostgreSQL catalog: a fresh database per test on the server that
``LDB_TEST_POSTGRES_URL`` names (tests/postgres/start_postgres.sh starts one).

Without the variable the tests skip with the reason; in CI (``CI=true``) they fail, so a
server that did not start never passes as skipped tests.
"""

from __future__ import annotations

import os
import time
import urllib.parse
import uuid
import warnings
from collections.abc import Iterator

import pytest

URL_VAR = "LDB_TEST_POSTGRES_URL"
BACKEND_VAR = "LDB_TEST_BACKEND"  # "postgres": every test instance's catalog in PostgreSQL


def server_url() -> str:
    url = os.environ.get(URL_VAR)
    if url:
        return url
    reason = f"{URL_VAR} is not set (start a server with tests/postgres/start_postgres.sh DIR)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL tests in CI need a server: {reason}")
    pytest.skip(reason)


def _with_database(url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}"))


def create_database() -> str:
    """A new, empty database on the test server; its URL."""
    import psycopg

    url = server_url()
    name = f"ldb_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(url, name)


def drop_database(url: str) -> None:
    """Drop a test database; a server busy with another worker's CREATE/DROP DATABASE
    is asked again, and a database left behind only warns (the server is throwaway)."""
    import psycopg

    name = urllib.parse.urlsplit(url).path.strip("/")
    for attempt in range(5):
        try:
            with psycopg.connect(server_url(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.Error as exc:  # busy; or an autovacuum worker FORCE may not end
            error = exc
            time.sleep(0.2 * (attempt + 1))
    warnings.warn(f"test database {name} left behind: {error}", stacklevel=2)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh database, dropped after the test."""
    url = create_database()
    yield url
    drop_database(url)


def postgres_backend_requested() -> bool:
    return os.environ.get(BACKEND_VAR, "sqlite") == "postgres"


class DatabasePerInstance:
    """``LDB_TEST_BACKEND=postgres``: every instance folder a test creates keeps its
    catalog in a database of its own on the test server, so that tests with several
    instances (a source and a destination, two users) see what they would see with one
    SQLite file per folder.

    Replaces ``ldb_clone.catalog.open_catalog`` for SQLite paths: creating the catalog of
    a folder creates a fresh database (``ldb init -f`` starts over, as with a new file);
    opening it opens that database. An instance folder keeps its (empty) ``catalog.db``, so
    a folder whose file was deleted is still reported as lost, as on SQLite; a catalog
    file the test made some other way (a copied folder) is opened as SQLite.
    """

    def __init__(self) -> None:
        import ldb_clone.catalog

        self._module = ldb_clone.catalog
        self._real_open = ldb_clone.catalog.open_catalog
        self.databases: dict[str, str] = {}  # real path of the catalog file -> URL
        self._dropped: list[str] = []

    def open_catalog(self, location, create: bool = False):
        from ldb_clone.catalog_url import is_postgres_url

        if isinstance(location, str) and is_postgres_url(location):
            return self._real_open(location, create=create)
        key = os.path.realpath(location)
        if create:
            if key in self.databases:
                self._dropped.append(self.databases.pop(key))
            self.databases[key] = create_database()
            return self._real_open(self.databases[key], create=True)
        url = self.databases.get(key)
        return self._real_open(url if url is not None else location)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(self._module, "open_catalog", self.open_catalog)

    def drop_all(self) -> None:
        for url in [*self._dropped, *self.databases.values()]:
            drop_database(url)
