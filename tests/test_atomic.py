"""Killed and concurrent runs: instantiate, get and commit are all or nothing, and
commands that change a workspace wait for each other (issue 10, items 6 and 7).

Kills at exact steps use the test-only ``LDB_TEST_CRASH_AT`` switch (the process ends as
with ``kill -9``); the slow tests kill real runs with SIGKILL at random moments.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone import cli
from ldb_clone.faults import CRASH_VARIABLE
from ldb_clone.instantiate import instantiate
from ldb_clone.locking import BusyError
from ldb_clone.selection import select_members
from ldb_clone.swap import JOURNAL, STAGING_PREFIX, recover
from ldb_clone.workspace import WorkspaceError, load_workspace
from tests.helpers import ldb_in, run_index

KILLED = 137


@pytest.fixture
def pets(instance, data_dir, make_image, make_json):
    """Six images, four of them labelled."""
    for n in range(6):
        make_image(data_dir / "pets" / f"p{n}.png")
        if n < 4:
            make_json(data_dir / "pets" / f"p{n}.json", {"label": ["cat", "dog"][n % 2]})
    run_index(instance, data_dir / "pets", fmt="bare")
    return data_dir / "pets"


def contents(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` but the workspace metadata: path -> digest."""
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and ".ldb_workspace" not in p.parts
    }


def crashed(cwd: Path, step: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``ldb *args`` in ``cwd`` and have it killed at ``step``."""
    result = subprocess.run(
        [sys.executable, "-m", "ldb_clone", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, CRASH_VARIABLE: step},
    )
    assert result.returncode == KILLED, result.stderr
    return result


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(STAGING_PREFIX))


@pytest.fixture
def filled_ws(pets, tmp_path):
    """A workspace holding the dataset in the bare layout (six images, four labels)."""
    ldb_in(tmp_path, "stage", "ds:pets", "-t", "ws")
    ws = tmp_path / "ws"
    ldb_in(ws, "add", "ds:root")
    ldb_in(ws, "instantiate")
    assert len(contents(ws)) == 10
    return ws


# item 6: instantiate -f into a workspace ------------------------------------------------


@pytest.mark.parametrize("step", ["swap-out", "swap-in"])
def test_a_killed_force_instantiate_leaves_the_workspace_as_it_was(filled_ws, step):
    before = contents(filled_ws)
    crashed(filled_ws, step, "instantiate", "-f", "-m", "strict")
    assert (filled_ws / JOURNAL).exists()  # killed in the middle of the swap

    recover(filled_ws)  # what the next command on the workspace does first
    assert contents(filled_ws) == before
    assert leftovers(filled_ws) == [] and not (filled_ws / JOURNAL).exists()
    assert len(load_workspace(filled_ws).members) == 6


def test_the_next_run_after_a_killed_force_instantiate_completes(filled_ws, tmp_path):
    crashed(filled_ws, "swap-in", "instantiate", "-f", "-m", "strict")
    ldb_in(filled_ws, "instantiate", "-f", "-m", "strict")
    ldb_in(tmp_path, "instantiate", "ws:ws", "-m", "strict", "-t", "expected")
    assert contents(filled_ws) == contents(tmp_path / "expected")
    assert leftovers(filled_ws) == [] and not (filled_ws / JOURNAL).exists()


def test_a_workspace_command_puts_a_killed_swap_right_first(filled_ws):
    before = contents(filled_ws)
    crashed(filled_ws, "swap-in", "instantiate", "-f", "-m", "strict")
    out = ldb_in(filled_ws, "del", "--query", "label == `dog`").stdout
    assert out == "Deleted 2 data objects from ds:pets\n"
    assert contents(filled_ws) == before


def test_staging_left_by_a_killed_run_is_removed_by_the_next_run(pets, tmp_path, instance):
    ldb_in(tmp_path, "stage", "ds:pets", "-t", "ws")
    ws = tmp_path / "ws"
    for name in (f"{STAGING_PREFIX}0badc0de", f"{STAGING_PREFIX}old_tmp1"):  # ours, older ones
        (ws / name / "sub").mkdir(parents=True)
        (ws / name / "sub" / "half-written.png").write_bytes(b"\x89PNG")
    instantiate(instance, select_members(instance, ["ds:root"]), str(ws))  # no -f needed
    assert leftovers(ws) == [] and len(contents(ws)) == 10


# item 6: instantiate into an existing empty folder, and into a new one -------------------


def test_a_killed_instantiate_into_an_empty_folder_leaves_it_empty(pets, tmp_path):
    (tmp_path / "out").mkdir()
    crashed(tmp_path, "swap-in", "instantiate", "ds:root", "-t", "out")
    assert contents(tmp_path / "out")  # some of the new files were moved in

    result = ldb_in(tmp_path, "instantiate", "ds:root", "-t", "out")  # the rerun works
    assert "Data objects:         6" in result.stdout
    assert len(contents(tmp_path / "out")) == 10
    assert leftovers(tmp_path / "out") == [] and not (tmp_path / "out" / JOURNAL).exists()


def test_a_killed_instantiate_into_a_new_folder_leaves_no_folder(pets, tmp_path):
    crashed(tmp_path, "instantiate-rename", "instantiate", "ds:root", "-t", "out")
    assert not (tmp_path / "out").exists()
    assert leftovers(tmp_path)  # its staging folder, named after the target

    failed = ldb_in(tmp_path, "add", "ds:root", check=False)  # not a workspace
    assert failed.returncode == 1 and leftovers(tmp_path)  # out's staging: not its own

    (tmp_path / "other").mkdir()
    (tmp_path / "other" / f"{STAGING_PREFIX}keep").mkdir()  # not out's: left alone
    ldb_in(tmp_path, "instantiate", "ds:root", "-t", "out")
    assert len(contents(tmp_path / "out")) == 10
    assert leftovers(tmp_path) == []
    assert leftovers(tmp_path / "other") == [f"{STAGING_PREFIX}keep"]


def test_a_target_made_by_someone_else_meanwhile_is_not_overwritten(
    instance, pets, tmp_path, monkeypatch
):
    target = tmp_path / "out"

    def someone_else_writes(step: str) -> None:
        if step == "instantiate-rename":
            target.mkdir()
            (target / "theirs.txt").write_text("theirs")

    monkeypatch.setattr("ldb_clone.instantiate.crash_point", someone_else_writes)
    with pytest.raises(WorkspaceError, match="was created by another program"):
        instantiate(instance, select_members(instance, ["ds:root"]), str(target))
    assert contents(target) == {"theirs.txt": hashlib.md5(b"theirs").hexdigest()}
    assert leftovers(tmp_path) == []


# item 6: get ------------------------------------------------------------------------------


def test_a_killed_get_is_finished_by_the_next_run(pets, tmp_path):
    (tmp_path / "got").mkdir()
    crashed(tmp_path, "swap-in", "get", "ds:root", "--query", "label == `cat`", "-t", "got")

    recover(tmp_path / "got")
    assert len(contents(tmp_path / "got")) == 4  # two cats with their labels
    assert len(load_workspace(tmp_path / "got").members) == 2
    assert leftovers(tmp_path / "got") == []


def test_a_killed_get_into_a_workspace_keeps_what_it_held(pets, tmp_path):
    ldb_in(tmp_path, "get", "ds:root", "--query", "label == `cat`", "-t", "got")
    before = contents(tmp_path / "got")
    state = (tmp_path / "got" / ".ldb_workspace" / "workspace.json").read_text()
    crashed(tmp_path, "swap-in", "get", "ds:root", "--query", "label == `dog`", "-t", "got")
    recover(tmp_path / "got")  # finishes the get: what it held before, and the dogs
    after = contents(tmp_path / "got")
    assert before.items() <= after.items() and len(after) == 8
    assert len(load_workspace(tmp_path / "got").members) == 4
    assert json.loads(state)["members"].items() <= load_workspace(tmp_path / "got").members.items()


# item 6: two instantiates into one target ----------------------------------------------------

HOLD = """
import sys
from ldb_clone.locking import folder_lock
with folder_lock(sys.argv[1], wait=False):
    print("held", flush=True)
    sys.stdin.read()
"""


class Holder:
    """Another process holding a folder's lock until closed."""

    def __init__(self, folder: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(folder)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline() == "held\n"

    def close(self) -> None:
        self.process.stdin.close()
        assert self.process.wait() == 0


@pytest.mark.parametrize("existing", [True, False])
def test_a_second_instantiate_into_a_busy_target_fails_clearly(
    instance, pets, tmp_path, ldb, existing
):
    target = tmp_path / "out"
    if existing:
        target.mkdir()
    holder = Holder(target)
    try:
        members = select_members(instance, ["ds:root"])
        with pytest.raises(BusyError, match="Another ldb command is writing to"):
            instantiate(instance, members, str(target))
        result = ldb("instantiate", "ds:root", "-t", "out")
        assert result.returncode == 1
        assert result.stderr == (
            f"error: Another ldb command is writing to '{target}'; try again when it has finished\n"
        )
    finally:
        holder.close()
    assert target.exists() == existing and leftovers(tmp_path) == []
    ldb("instantiate", "ds:root", "-t", "out", check=True)
    assert len(contents(target)) == 10


# item 7: workspace commands wait for each other ------------------------------------------


def test_a_workspace_command_waits_for_the_one_holding_the_workspace(filled_ws):
    ldb_in(filled_ws, "del", "ds:root")
    holder = Holder(filled_ws)
    adding = subprocess.Popen(
        [sys.executable, "-m", "ldb_clone", "add", "ds:root"],
        cwd=filled_ws,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert adding.stderr.readline().startswith("Waiting for another ldb command writing to")
        assert load_workspace(filled_ws).members == {}  # nothing done while it waits
    finally:
        holder.close()
    assert adding.wait() == 0
    assert "Added 6 data objects" in adding.stdout.read()
    assert len(load_workspace(filled_ws).members) == 6


def test_concurrent_adds_in_one_workspace_lose_nothing(instance, data_dir, make_image, tmp_path):
    per_process, processes = 150, 4
    for p in range(processes):
        for n in range(per_process):
            make_image(data_dir / f"part{p}" / f"{n}.png", size=4)
    run_index(instance, data_dir, fmt="bare")
    ldb_in(tmp_path, "stage", "ds:big", "-t", "ws")
    adds = [
        subprocess.Popen(
            [sys.executable, "-m", "ldb_clone", "add", str(data_dir / f"part{p}")],
            cwd=tmp_path / "ws",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(processes)
    ]
    outputs = [add.communicate() for add in adds]
    for add, (out, err) in zip(adds, outputs):
        assert add.returncode == 0, err
        assert f"Added {per_process} data objects" in out
    assert len(load_workspace(tmp_path / "ws").members) == per_process * processes


# item 7: a killed commit ---------------------------------------------------------------------


@pytest.fixture
def in_ws(pets, tmp_path, monkeypatch):
    """Run ``ldb`` in-process in a new workspace of ds:pets; returns (run, ws)."""
    monkeypatch.setitem(cli._state, "verbose", 0)
    monkeypatch.setitem(cli._state, "quiet", False)
    ldb_in(tmp_path, "stage", "ds:pets", "-t", "ws")
    ws = tmp_path / "ws"
    monkeypatch.chdir(ws)

    def run(*args: str) -> str:
        result = CliRunner().invoke(cli.app, list(args))
        assert result.exit_code == 0, result.output
        return result.stdout

    return run, ws


def test_a_commit_killed_after_the_catalog_write_is_not_written_twice(in_ws, instance):
    run, ws = in_ws
    run("add", "--query", "label == `cat`")
    crashed(ws, "commit-after-catalog", "commit", "-m", "cats")
    assert len(instance.catalog.dataset_versions("pets")) == 1
    assert load_workspace(ws).parent is None  # the workspace did not learn of it

    assert run("commit", "-m", "cats") == "Committed ds:pets.v1 (by an interrupted commit)\n"
    assert len(instance.catalog.dataset_versions("pets")) == 1
    assert "No unsaved changes." in run("status")

    run("add", "--query", "label == `dog`")
    assert run("commit") == "Committed ds:pets.v2\n"
    versions = instance.catalog.dataset_versions("pets")
    assert [(v.version, v.parent) for v in versions] == [(1, None), (2, 1)]


def test_changes_after_a_killed_commit_go_into_the_next_version(in_ws, instance):
    run, ws = in_ws
    run("add", "--query", "label == `cat`")
    crashed(ws, "commit-after-catalog", "commit", "-m", "cats")
    run("add", "--query", "label == `dog`")
    assert run("commit", "-m", "all") == "Committed ds:pets.v2\n"
    versions = instance.catalog.dataset_versions("pets")
    assert [(v.size, v.parent) for v in versions] == [(2, None), (4, 1)]


def test_a_commit_that_fails_leaves_no_pending_version(in_ws, instance):
    run, ws = in_ws
    run("add", "ds:root")
    instance.catalog.unindex([next(iter(load_workspace(ws).members))])
    failed = CliRunner().invoke(cli.app, ["commit"])
    assert failed.exit_code == 1 and "no longer indexed" in failed.stderr
    assert load_workspace(ws).pending_commit is None


# real kills at random moments (slow) ----------------------------------------------------------


@pytest.fixture
def many(instance, data_dir, make_image, make_json, tmp_path):
    """A workspace of 1,000 labelled images."""
    for n in range(1000):
        make_image(data_dir / "many" / f"{n}.png", size=4)
        make_json(data_dir / "many" / f"{n}.json", {"label": ["a", "b", "c"][n % 3]})
    run_index(instance, data_dir / "many", fmt="bare")
    ldb_in(tmp_path, "stage", "ds:many", "-t", "ws")
    ldb_in(tmp_path / "ws", "add", "ds:root")
    return tmp_path / "ws"


def killed_at_random(cwd: Path, rng: random.Random, swap_in: Path | None, *args: str) -> None:
    """Run ``ldb *args`` and SIGKILL it at a random moment: any time in its first three
    seconds, or (``swap_in``: the target) a few milliseconds after it starts swapping
    the new files into that target, the short window that matters most."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ldb_clone", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if swap_in is None:
        time.sleep(rng.uniform(0.3, 3.0))
    else:
        while process.poll() is None and not (swap_in / JOURNAL).exists():
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.05))
    process.send_signal(signal.SIGKILL)
    process.wait()


@pytest.mark.slow
def test_force_instantiate_killed_at_random_moments(many, tmp_path):
    rng = random.Random(10)
    layouts = {}
    for fmt in ("bare", "infer", "annot"):
        ldb_in(tmp_path, "instantiate", "ws:ws", "-m", fmt, "-t", f"expected-{fmt}")
        layouts[fmt] = contents(tmp_path / f"expected-{fmt}")
    ldb_in(many, "instantiate", "-m", "bare")
    current = "bare"
    for run in range(6):
        fmt = rng.choice([name for name in layouts if name != current])
        swap_in = many if run % 2 else None
        killed_at_random(many, rng, swap_in, "instantiate", "-f", "-m", fmt)
        recover(many)
        after = contents(many)
        assert after in (layouts[current], layouts[fmt]), f"run {run}: a mix of layouts"
        current = fmt if after == layouts[fmt] else current
        assert leftovers(many) == []


@pytest.mark.slow
def test_instantiate_into_an_empty_folder_killed_at_random_moments(many, tmp_path):
    rng = random.Random(11)
    ldb_in(tmp_path, "instantiate", "ws:ws", "-t", "expected")
    complete = contents(tmp_path / "expected")
    for run in range(4):
        target = tmp_path / f"out{run}"
        target.mkdir()
        swap_in = target if run % 2 else None
        killed_at_random(tmp_path, rng, swap_in, "instantiate", "ws:ws", "-t", target.name)
        recover(target)
        assert contents(target) in ({}, complete), f"run {run}: partly written"
        if not contents(target):
            ldb_in(tmp_path, "instantiate", "ws:ws", "-t", target.name)  # the rerun works
            assert contents(target) == complete


@pytest.mark.slow
def test_get_killed_at_random_moments(many, tmp_path):
    rng = random.Random(12)
    ldb_in(tmp_path, "get", "ws:ws", "-t", "expected")
    complete = contents(tmp_path / "expected")
    for run in range(4):
        target = tmp_path / f"got{run}"
        if run % 2:
            target.mkdir()  # an existing empty folder: the files are swapped in
        swap_in = target if run % 2 else None
        killed_at_random(tmp_path, rng, swap_in, "get", "ws:ws", "-t", target.name)
        if target.exists():
            recover(target)
            assert contents(target) in ({}, complete), f"run {run}: partly written"
            if contents(target):
                assert len(load_workspace(target).members) == 1000
        ldb_in(tmp_path, "get", "ws:ws", "-t", target.name)  # the rerun works
        assert contents(target) == complete
        assert leftovers(tmp_path) == [] and leftovers(target) == []
