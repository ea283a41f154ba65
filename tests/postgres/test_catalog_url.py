"""Choosing the catalog backend and keeping a URL's password out of every message
(no server needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ldb_clone.catalog_url import (
    check_url,
    configured_url,
    is_postgres_url,
    mask_url,
    url_passwords,
)
from ldb_clone.errors import SECRETS, ConfigError, scrub


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://ann:s3cret@db:5432/ldb", "postgresql://ann:****@db:5432/ldb"),
        ("postgres://ann:p%40ss@db/ldb", "postgres://ann:****@db/ldb"),
        (
            "postgresql://ann@db/ldb?password=x1&sslmode=require",
            "postgresql://ann@db/ldb?password=****&sslmode=require",
        ),
        ("postgresql://ann@db/ldb", "postgresql://ann@db/ldb"),
        ("postgresql://db/ldb", "postgresql://db/ldb"),
        ("postgresql://ann:a:b@c@db/ldb", "postgresql://ann:****@db/ldb"),
    ],
)
def test_mask_url_hides_the_password_and_keeps_the_rest(url: str, masked: str):
    assert mask_url(url) == masked


def test_both_spellings_of_a_percent_encoded_password_are_secrets():
    assert set(url_passwords("postgresql://ann:p%40ss@db/ldb")) == {"p%40ss", "p@ss"}
    assert url_passwords("postgresql://ann@db/ldb") == []


def test_a_checked_url_registers_its_password_for_scrubbing():
    check_url("postgresql://ann:hunter2-xyz@db/ldb")
    assert "hunter2-xyz" in SECRETS
    assert scrub("failed for postgresql://ann:hunter2-xyz@db/ldb") == (
        "failed for postgresql://ann:****@db/ldb"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://ann@db/ldb", "Unsupported catalog 'mysql://ann@db/ldb'"),
        ("postgresql://ann:pw9@db", "names no database"),
        ("/srv/catalog.db", "Unsupported catalog"),
    ],
)
def test_bad_catalog_urls_are_config_errors(url: str, message: str):
    with pytest.raises(ConfigError, match=message) as caught:
        check_url(url)
    assert "pw9" not in str(caught.value)


def test_environment_wins_over_the_instance_config(monkeypatch: pytest.MonkeyPatch):
    config = {"core": {"catalog": "postgresql://a@h/from_config"}}
    monkeypatch.delenv("LDB_CATALOG", raising=False)
    assert configured_url(config) == "postgresql://a@h/from_config"
    assert configured_url({}) is None
    monkeypatch.setenv("LDB_CATALOG", "postgresql://a@h/from_env")
    assert configured_url(config) == "postgresql://a@h/from_env"
    assert is_postgres_url("POSTGRESQL://a@h/db")


def test_a_catalog_key_that_is_not_a_string_is_a_config_error(monkeypatch):
    monkeypatch.delenv("LDB_CATALOG", raising=False)
    with pytest.raises(ConfigError, match=r"core\.catalog must be a string"):
        configured_url({"core": {"catalog": 5}})


@pytest.mark.sqlite_only("an instance with an SQLite catalog in a new process")
def test_the_sqlite_path_never_imports_psycopg(instance_dir: Path):
    """``ldb list ds:root`` on a SQLite instance loads no PostgreSQL driver (start-up time)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ldb_clone", "list", "ds:root"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "ldb_clone.cli" in result.stderr  # the import log is there
    assert "psycopg" not in result.stderr


def test_an_unreachable_server_is_one_masked_line(tmp_path: Path, ldb):
    """A catalog the server refuses: one error line, the password masked, no traceback;
    -v shows the traceback, also masked."""
    pytest.importorskip("psycopg")
    url = "postgresql://ann:topsecret77@127.0.0.1:1/ldb"
    result = ldb("init", "--catalog", url, str(tmp_path / "inst"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: Unable to connect to the catalog ")
    assert "postgresql://ann:****@127.0.0.1:1/ldb" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "topsecret77" not in result.stderr + result.stdout
    assert not (tmp_path / "inst").exists()
    verbose = ldb("init", "-v", "--catalog", url, str(tmp_path / "inst"))
    assert "Traceback" in verbose.stderr
    assert "topsecret77" not in verbose.stderr + verbose.stdout
