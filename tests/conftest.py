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
