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
