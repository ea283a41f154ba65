"""Shared fixtures: an isolated home and instance, real images, and running ``ldb``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ldb_clone.instance import Instance, init_instance, open_instance
from ldb_clone.storage import add_storage


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME and no LDB_DIR, so ~/.ldb is never the real one."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("LDB_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(autouse=True)
def backend_catalog(monkeypatch: pytest.MonkeyPatch):
    """With LDB_TEST_BACKEND=postgres, every instance a test creates keeps its catalog
    in a fresh PostgreSQL database (LDB_CATALOG), so the same tests run on both backends."""
    from tests.postgres.fixtures import create_database, drop_database, postgres_backend_requested

    if not postgres_backend_requested():
        monkeypatch.delenv("LDB_CATALOG", raising=False)
        yield None
        return
    url = create_database()
    monkeypatch.setenv("LDB_CATALOG", url)
    yield url
    drop_database(url)


@pytest.fixture(autouse=True)
def fresh_cli_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI keeps -v/-q in a module dict; in-process runs must not leak it."""
    from ldb_clone import cli

    monkeypatch.setitem(cli._state, "verbose", 0)
    monkeypatch.setitem(cli._state, "quiet", False)
    monkeypatch.delenv("LDB_DEBUG", raising=False)


@pytest.fixture
def instance_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "instance"
    init_instance(path)
    monkeypatch.setenv("LDB_DIR", str(path))
    return path


@pytest.fixture
def instance(instance_dir: Path) -> Instance:
    inst = open_instance(instance_dir)
    yield inst
    inst.close()


@pytest.fixture
def data_dir(tmp_path: Path, instance: Instance) -> Path:
    """An empty folder registered as a storage location."""
    path = tmp_path / "data"
    path.mkdir()
    add_storage(instance, str(path))
    return path


_COLORS = iter(range(1, 10**6))


def write_image(path: Path, seed: int | None = None, size: int = 16) -> Path:
    """A real PNG with unique content (a different colour per call unless seeded)."""
    n = next(_COLORS) if seed is None else seed
    path.parent.mkdir(parents=True, exist_ok=True)
    color = (n * 37 % 256, n * 91 % 256, n * 53 % 256)
    image = Image.new("RGB", (size, size), color)
    image.putpixel((0, 0), (n % 256, (n // 256) % 256, (n // 65536) % 256))
    image.save(path)
    return path


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


@pytest.fixture
def make_image() -> Callable[..., Path]:
    return write_image


@pytest.fixture
def make_json() -> Callable[..., Path]:
    return write_json


def run_ldb(*args: str, input: str | None = None, check: bool = False, env: dict | None = None):
    """Run the real ``ldb`` command line in a subprocess."""
    result = subprocess.run(
        [sys.executable, "-m", "ldb_clone", *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"ldb {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture
def ldb() -> Callable[..., subprocess.CompletedProcess]:
    return run_ldb


# S3 ---------------------------------------------------------------------------------------

BUCKET = "ldb-test"


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on loopback for the whole session (started on first use)."""
    from tests.s3server import S3Server

    server = S3Server().start()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch: pytest.MonkeyPatch):
    """A clean server with one empty bucket, ``ldb-test``; fake credentials only in the
    storage options (the environment has none, so nothing reaches AWS)."""
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    import s3fs

    s3_server.reset()
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3_server.filesystem()
    fs.mkdir(BUCKET)
    s3_server.fs = fs
    s3_server.bucket = BUCKET
    yield s3_server
    s3fs.S3FileSystem.clear_instance_cache()
