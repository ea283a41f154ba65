"""Several ``ldb`` processes on one PostgreSQL catalog at once, standing in for the
machines of a team: concurrent indexers end with exactly the union, two commits of one
dataset make two versions, and an indexer killed with SIGKILL keeps its finished batches.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ldb_clone.catalog import open_catalog
from tests.postgres.fixtures import pg_url  # noqa: F401

pytestmark = pytest.mark.postgres
LABELS = ("cat", "dog", "bird")


def ldb(*args: str, cwd: Path, env: dict[str, str], check: bool = True):
    result = subprocess.run(
        [sys.executable, "-m", "ldb_clone", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
    )
    if check:
        assert result.returncode == 0, f"ldb {' '.join(args)}: {result.stderr}"
    return result


def start(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ldb_clone", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def write_pairs(folder: Path, count: int, seed: str, shared: int = 0) -> None:
    """``count`` data objects with a label each; the first ``shared`` have the same
    content in every folder (one object indexed at several paths)."""
    folder.mkdir(parents=True)
    for n in range(count):
        content = f"shared {n}" if n < shared else f"{seed} {n}"
        (folder / f"{n:05d}.bin").write_text(content)
        (folder / f"{n:05d}.json").write_text(json.dumps({"label": LABELS[n % 3]}))


@pytest.fixture
def team(tmp_path: Path, pg_url: str):  # noqa: F811
    """An environment whose instance (LDB_DIR) keeps its catalog in a fresh database."""
    env = {**os.environ, "HOME": str(tmp_path / "home"), "LDB_DIR": str(tmp_path / "inst")}
    env.pop("LDB_CATALOG", None)
    (tmp_path / "home").mkdir(exist_ok=True)
    ldb("init", "--catalog", pg_url, str(tmp_path / "inst"), cwd=tmp_path, env=env)
    ldb("add-storage", str(tmp_path / "data"), cwd=tmp_path, env=env, check=False)
    return env


def test_four_concurrent_indexers_end_with_exactly_the_union(tmp_path, team, pg_url):  # noqa: F811
    data = tmp_path / "data"
    for n in range(4):
        write_pairs(data / f"part{n}", 150, seed=f"part{n}", shared=20)
    runs = [
        start("index", "-m", "strict-pairs", str(data / f"part{n}"), cwd=tmp_path, env=team)
        for n in range(4)
    ]
    outcomes = [run.communicate(timeout=600) for run in runs]
    for run, (_, stderr) in zip(runs, outcomes):
        assert run.returncode == 0, stderr
        assert "error" not in stderr.lower()

    # the same folders indexed one after the other into an SQLite instance
    alone = {**team, "LDB_DIR": str(tmp_path / "alone")}
    ldb("init", str(tmp_path / "alone"), cwd=tmp_path, env=alone)
    ldb("add-storage", str(data), cwd=tmp_path, env=alone)
    for n in range(4):
        ldb("index", "-m", "strict-pairs", str(data / f"part{n}"), cwd=tmp_path, env=alone)

    shared = open_catalog(pg_url)
    single = open_catalog(tmp_path / "alone" / "catalog.db")
    try:
        assert shared.count_objects() == 4 * 130 + 20
        assert shared.root_members() == single.root_members()
        ids = [oid for oid, _, _ in shared.root_members()]
        paths = shared.object_paths(ids)
        assert sum(len(rows) for rows in paths.values()) == 4 * 150
        assert {oid: sorted(rows) for oid, rows in paths.items()} == {
            oid: sorted(rows) for oid, rows in single.object_paths(ids).items()
        }
        assert shared.version_numbers([(oid, "") for oid in ids]) == single.version_numbers(
            [(oid, "") for oid in ids]
        )
    finally:
        shared.close()
        single.close()


def test_two_workspaces_committing_one_dataset_make_two_versions(tmp_path, team, pg_url):  # noqa: F811
    data = tmp_path / "data"
    write_pairs(data / "pets", 12, seed="pets")
    ldb("index", "-m", "strict-pairs", str(data / "pets"), cwd=tmp_path, env=team)
    for name, query in (("ws1", "label == `cat`"), ("ws2", "label == `dog`")):
        ldb("stage", "ds:pets", "-t", name, cwd=tmp_path, env=team)
        ldb("add", "ds:root", "--query", query, cwd=tmp_path / name, env=team)
    runs = [start("commit", "-m", name, cwd=tmp_path / name, env=team) for name in ("ws1", "ws2")]
    for run in runs:
        _, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, stderr
    catalog = open_catalog(pg_url)
    try:
        versions = catalog.dataset_versions("pets")
    finally:
        catalog.close()
    assert [v.version for v in versions] == [1, 2]
    assert sorted(v.message for v in versions) == ["ws1", "ws2"]
    assert versions[0].collection_id != versions[1].collection_id


def test_an_indexer_killed_with_sigkill_keeps_finished_batches_and_the_rerun_completes(
    tmp_path,
    team,
    pg_url,  # noqa: F811
):
    data = tmp_path / "data"
    write_pairs(data / "many", 7000, seed="many")  # four batches of at most 2,000
    catalog = open_catalog(pg_url)
    try:
        run = start("index", "-m", "strict-pairs", str(data / "many"), cwd=tmp_path, env=team)
        while run.poll() is None and catalog.count_objects() == 0:
            time.sleep(0.01)
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=60)
        assert run.returncode == -signal.SIGKILL, "the indexer finished before the kill"
        kept = catalog.count_objects()
        assert 0 < kept < 7000
        # every kept object is whole: its path and its annotation came with it
        members = catalog.root_members()
        assert all(aid is not None and version == 1 for _, aid, version in members)
        assert sum(map(len, catalog.object_paths([m[0] for m in members]).values())) == kept

        rerun = ldb("index", "-m", "strict-pairs", str(data / "many"), cwd=tmp_path, env=team)
        assert "Finished indexing" in rerun.stdout
        assert catalog.count_objects() == 7000
        assert all(aid is not None for _, aid, _ in catalog.root_members())
    finally:
        catalog.close()
