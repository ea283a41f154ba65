"""An instance this process cannot write (a read-only mount, another user's instance):
reading commands work, changing commands fail with one line and change nothing.

The process itself matters here, so ``ldb`` runs in a subprocess that cannot write the
instance. Permission bits alone do not stop root (the tests may run as root), so as
root the subprocess runs under ``setpriv`` without the capabilities that override them
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH); it stays uid 0, so it can still read the files
root owns. Without setpriv, or where dropping them does not stop writes, the tests skip
and say why.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ldb_clone.indexing import index
from ldb_clone.instance import CATALOG_FILENAME, init_instance, open_instance
from ldb_clone.storage import add_storage

NO_OVERRIDE = ["--bounding-set=-dac_override,-dac_read_search"]
NO_OVERRIDE += ["--inh-caps=-dac_override,-dac_read_search"]


def _restricted_prefix(probe_dir: Path) -> list[str]:
    """The command prefix that runs a process bound by permission bits, or skip."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv is missing: cannot take away write access")
    locked = probe_dir / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    probe = subprocess.run(
        [setpriv, *NO_OVERRIDE, "touch", str(locked / "x")], capture_output=True, text=True
    )
    locked.chmod(0o755)
    if probe.returncode == 0:
        pytest.skip("setpriv without CAP_DAC_OVERRIDE can still write a read-only folder here")
    if "Permission denied" not in probe.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {probe.stderr.strip()}")
    return [setpriv, *NO_OVERRIDE]


def set_writable(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o200 if writable else mode & ~0o222)


@pytest.fixture
def shared(tmp_path: Path, make_image, make_json) -> Iterator[Path]:
    """A closed instance with one indexed, labelled image and a dataset, then made
    read-only (folder and files)."""
    path = tmp_path / "shared"
    init_instance(path)
    inst = open_instance(path)
    data = tmp_path / "data"
    make_image(data / "a.png")
    make_json(data / "a.json", {"label": "cat"})
    add_storage(inst, str(data))
    index(inst, [str(data)], "strict")
    inst.close()
    (tmp_path / "ws").mkdir()
    set_writable(path, False)
    yield path
    set_writable(path, True)


@pytest.fixture
def ldb_ro(tmp_path: Path, shared: Path):
    prefix = _restricted_prefix(tmp_path)

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*prefix, sys.executable, "-m", "ldb_clone", *args],
            capture_output=True,
            text=True,
            cwd=cwd or tmp_path,
            env={**os.environ, "LDB_DIR": str(shared)},
        )

    return run


def digest(path: Path) -> str:
    return hashlib.sha256((path / CATALOG_FILENAME).read_bytes()).hexdigest()


def test_reading_commands_work_on_a_read_only_instance(shared: Path, ldb_ro):
    assert not (shared / f"{CATALOG_FILENAME}-shm").exists()  # closed cleanly
    listed = ldb_ro("list", "ds:root")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert "1 matching data objects" in listed.stdout
    evaluated = ldb_ro("eval", "ds:root")
    assert (evaluated.returncode, evaluated.stderr) == (0, "")
    assert '"cat"' in evaluated.stdout
    status = ldb_ro("status", "ds:root")
    assert status.returncode == 0 and "Num data objects:        1" in status.stdout
    assert ldb_ro("ds", "list").returncode == 0
    locations = ldb_ro("storage", "list")
    assert (locations.returncode, locations.stdout) == (0, f"{shared.parent / 'data'}\n")
    assert sorted(p.name for p in shared.iterdir()) == ["catalog.db", "config", "custom_code"]


def test_changing_commands_fail_with_one_line(shared: Path, ldb_ro, tmp_path: Path):
    before = digest(shared)
    modes = {p: p.stat().st_mode for p in [shared, *shared.iterdir()]}
    expected = f"error: The LDB instance at '{shared}' is read-only for you"
    for args in (
        ["index", "-m", "strict", str(tmp_path / "data")],
        ["tag", "ds:root", "-a", "x"],
        ["add-storage", str(tmp_path / "ws")],
        ["add-storage", "-o", "secret", "abc123", str(tmp_path / "ws")],
        ["storage", "rm", "--force", str(tmp_path / "data")],
    ):
        result = ldb_ro(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith(expected), result.stderr
    staged = ldb_ro("stage", "ds:pets", "-t", "ws")  # the workspace is not in the instance
    assert staged.returncode == 0, staged.stderr
    added = ldb_ro("add", "ds:root", cwd=tmp_path / "ws")
    assert added.returncode == 0, added.stderr
    commit = ldb_ro("commit", "-m", "x", cwd=tmp_path / "ws")
    assert (commit.returncode, commit.stderr.startswith(expected)) == (1, True), commit.stderr
    assert digest(shared) == before
    assert {p: p.stat().st_mode for p in [shared, *shared.iterdir()]} == modes


def test_reads_see_what_the_owner_has_not_checkpointed_yet(shared: Path, ldb_ro):
    """The owner has the catalog open (its -wal and -shm exist): a reader that cannot
    write them still sees the latest committed data, not a stale file."""
    set_writable(shared, True)
    owner = open_instance(shared)
    try:
        owner.catalog._db.execute("PRAGMA wal_autocheckpoint=0")
        objects = [m[0] for m in owner.catalog._db.execute("SELECT id FROM objects")]
        owner.catalog.touch_objects(objects, "2026-01-01", "owner", tags=["fresh"])
        assert (shared / f"{CATALOG_FILENAME}-shm").exists()
        set_writable(shared, False)
        listed = ldb_ro("list", "ds:root", "--tag", "fresh")
        assert (listed.returncode, listed.stderr) == (0, "")
        assert "1 matching data objects" in listed.stdout
    finally:
        set_writable(shared, True)
        owner.close()
    con = sqlite3.connect(shared / CATALOG_FILENAME)
    assert con.execute("SELECT count(*) FROM object_tags").fetchone()[0] == 1
    con.close()


def test_an_unreadable_catalog_is_an_error_and_is_kept(shared: Path, ldb_ro):
    catalog = shared / CATALOG_FILENAME
    before = digest(shared)
    catalog.chmod(0)
    try:
        result = ldb_ro("list", "ds:root")
    finally:
        catalog.chmod(0o400)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: Unable to open the catalog '{catalog}'")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert digest(shared) == before
