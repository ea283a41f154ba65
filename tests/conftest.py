"""Shared fixtures: an isolated home and instance, real images, and running ``ldb``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ldb_clone.instance import Instance, init_instance, open_instance
from ldb_clone.storage import add_storage
from tests.helpers import CliResult, cli_state, run_cli, run_process


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own HOME and no LDB_DIR, so ~/.ldb is never the real one."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("LDB_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(autouse=True, scope="session")
def click_commands_built_once() -> Iterator[None]:
    """typer builds the click command tree of ``ldb`` on every call (about 80 ms: it
    evaluates the annotations of every command); a real process runs one command, the
    tests run thousands in one process, so each tree is built once here."""
    import typer.main
    import typer.testing

    build = typer.main.get_command
    built: dict[int, tuple[Any, Any]] = {}  # id(app) -> (app, its click command)

    def get_command(typer_instance: Any) -> Any:
        key = id(typer_instance)
        if key not in built:
            built[key] = (typer_instance, build(typer_instance))
        return built[key][1]

    patch = pytest.MonkeyPatch()
    patch.setattr(typer.main, "get_command", get_command)
    patch.setattr(typer.testing, "_get_command", get_command)
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def backend_catalog(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """With LDB_TEST_BACKEND=postgres, every instance a test creates keeps its catalog
    in a PostgreSQL database of its own (tests/postgres/fixtures.py), so the same tests
    run on both backends; ``@pytest.mark.sqlite_only(reason)`` tests are skipped then."""
    from tests.postgres.fixtures import DatabasePerInstance, postgres_backend_requested

    monkeypatch.delenv("LDB_CATALOG", raising=False)
    # NOTE: the postgres-marked tests choose their catalogs themselves (copy-catalog
    # moves an SQLite file's catalog to PostgreSQL)
    if not postgres_backend_requested() or request.node.get_closest_marker("postgres"):
        yield None
        return
    marker = request.node.get_closest_marker("sqlite_only")
    if marker is not None:
        pytest.skip(f"SQLite only: {marker.args[0] if marker.args else 'its catalog file'}")
    backend = DatabasePerInstance()
    backend.install(monkeypatch)
    yield backend
    backend.drop_all()


@pytest.fixture(autouse=True)
def fresh_cli_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI keeps -v/-q in a module dict; in-process runs must not leak it."""
    state = cli_state()
    monkeypatch.setitem(state, "verbose", 0)
    monkeypatch.setitem(state, "quiet", False)
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


@pytest.fixture
def ldb() -> Callable[..., CliResult]:
    """Run ``ldb ARGS`` in-process (fast): ``ldb(*args, input=, env=, cwd=, check=)``
    returns ``.returncode``, ``.stdout`` and ``.stderr``."""
    return run_cli


@pytest.fixture
def ldb_process() -> Callable[..., subprocess.CompletedProcess]:
    """Run the real ``python -m ldb_clone`` in a subprocess; for ``@pytest.mark.process``
    tests, where the process itself matters."""
    return run_process


# S3 ---------------------------------------------------------------------------------------

BUCKET = "ldb-test"


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on loopback for the whole session (started on first use)."""
    from tests.s3server import S3Server

    patch = pytest.MonkeyPatch()
    _share_botocore_loaders(patch)
    server = S3Server().start()
    yield server
    server.stop()
    patch.undo()


def _share_botocore_loaders(patch: pytest.MonkeyPatch) -> None:
    """botocore parses its service descriptions (about 1 MB of JSON, 0.15 s) again for
    every session, that is for every new S3 filesystem. A real ldb process makes one or
    two; the S3 tests make hundreds, so their sessions share one loader (what the clients
    of one botocore session do anyway)."""
    import botocore.loaders
    import botocore.session

    loaders: dict[str | None, Any] = {}

    def shared_loader(search_path_string: str | None = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return loaders[search_path_string]

    patch.setattr(botocore.session, "create_loader", shared_loader)


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
