"""libpq's ways to give a password work for a catalog URL without one (PGPASSWORD,
~/.pgpass, a service in PGSERVICEFILE), and a password is never printed.

The test server (tests/postgres/start_postgres.sh) has a role ``ldb_pw`` that must give
its password; every other loopback connection is trusted.
"""

from __future__ import annotations

import os
import urllib.parse
import uuid
from pathlib import Path

import pytest

from tests.postgres.fixtures import pg_url, server_url  # noqa: F401

pytestmark = pytest.mark.postgres
ROLE, PASSWORD = "ldb_pw", "ldb-test-password"


@pytest.fixture
def protected(monkeypatch: pytest.MonkeyPatch):
    """(host, port, database) of a fresh database owned by the password role."""
    import psycopg

    parts = urllib.parse.urlsplit(server_url())
    host, port = parts.hostname, parts.port
    with psycopg.connect(server_url(), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone() is None:
            pytest.skip(f"the test server has no role {ROLE} (start it with start_postgres.sh)")
    name = f"ldb_pw_{uuid.uuid4().hex[:12]}"
    owner = f"postgresql://{ROLE}:{PASSWORD}@{host}:{port}/postgres"
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    for variable in ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE"):
        monkeypatch.delenv(variable, raising=False)
    yield host, port, name
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def as_user(url: str, user: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{parts.hostname}:{parts.port}"))


def init(ldb, tmp_path: Path, url: str, env: dict | None = None):
    return ldb("init", "--catalog", url, str(tmp_path / "inst"), env=env)


def test_without_a_password_the_server_refuses_in_one_line(ldb, tmp_path, protected):
    host, port, name = protected
    result = init(ldb, tmp_path, f"postgresql://{ROLE}@{host}:{port}/{name}")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "no password supplied" in result.stderr


def test_pgpassword(ldb, tmp_path, protected):
    host, port, name = protected
    url = f"postgresql://{ROLE}@{host}:{port}/{name}"
    result = init(ldb, tmp_path, url, env={"PGPASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr
    listed = ldb("list", "ds:root", env={"PGPASSWORD": PASSWORD, "LDB_DIR": str(tmp_path / "inst")})
    assert listed.returncode == 0, listed.stderr


def test_pgpass_file_in_home(ldb, tmp_path, protected, isolated_home: Path):
    host, port, name = protected
    pgpass = isolated_home / ".pgpass"
    pgpass.write_text(f"{host}:{port}:*:{ROLE}:{PASSWORD}\n")
    os.chmod(pgpass, 0o600)
    result = init(ldb, tmp_path, f"postgresql://{ROLE}@{host}:{port}/{name}")
    assert result.returncode == 0, result.stderr


def test_a_service_file_names_server_and_password(ldb, tmp_path, protected):
    host, port, name = protected
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[team]\nhost={host}\nport={port}\ndbname={name}\nuser={ROLE}\npassword={PASSWORD}\n"
    )
    env = {"PGSERVICEFILE": str(services), "LDB_CATALOG": "postgresql://?service=team"}
    result = ldb("init", str(tmp_path / "inst"), env=env)
    assert result.returncode == 0, result.stderr
    indexed = ldb("list", "ds:root", env={**env, "LDB_DIR": str(tmp_path / "inst")})
    assert indexed.returncode == 0, indexed.stderr


def test_a_password_in_the_url_is_masked_everywhere(ldb, tmp_path, protected):
    host, port, name = protected
    url = f"postgresql://{ROLE}:{PASSWORD}@{host}:{port}/{name}"
    created = init(ldb, tmp_path, url)
    assert created.returncode == 0, created.stderr
    assert f"postgresql://{ROLE}:****@{host}:{port}/{name}" in created.stdout
    env = {"LDB_DIR": str(tmp_path / "inst")}
    # a failing command, with and without the traceback, and JSON output
    outputs = [
        created,
        ldb("-v", "list", "ds:nope", env=env),
        ldb("list", "ds:nope", env=env),
        ldb("copy-catalog", "--json", url, str(tmp_path / "nowhere"), env=env),
        ldb("-v", "copy-catalog", url, url, env=env),
    ]
    assert any("Traceback" in result.stderr for result in outputs)
    for result in outputs:
        assert PASSWORD not in result.stdout + result.stderr


def test_a_role_that_may_only_read_gets_one_line_on_writing(ldb, tmp_path, pg_url):  # noqa: F811
    """A read-only member (SELECT only) lists the catalog; a writing command stops with
    the server's refusal in one line, not a traceback."""
    import psycopg

    parts = urllib.parse.urlsplit(pg_url)
    admin = urllib.parse.urlunsplit(
        parts._replace(netloc=f"postgres@{parts.hostname}:{parts.port}")
    )
    reader = f"ldb_reader_{uuid.uuid4().hex[:8]}"
    created = ldb("init", "--catalog", pg_url, str(tmp_path / "owner"))
    assert created.returncode == 0, created.stderr
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {reader} LOGIN")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {reader}")
    try:
        url = urllib.parse.urlunsplit(
            parts._replace(netloc=f"{reader}@{parts.hostname}:{parts.port}")
        )
        joined = ldb("init", "--catalog", url, str(tmp_path / "reader"))
        assert joined.returncode == 0, joined.stderr
        env = {"LDB_DIR": str(tmp_path / "reader")}
        assert ldb("list", "ds:root", env=env).returncode == 0
        refused = ldb("add-storage", str(tmp_path), env=env)
        assert refused.returncode == 1
        assert refused.stderr.startswith("error: The catalog ")
        assert "permission denied" in refused.stderr
        assert refused.stderr.count("\n") == 1
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {reader}")
            conn.execute(f"DROP ROLE {reader}")
