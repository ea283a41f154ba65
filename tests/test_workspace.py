"""ldb_clone.workspace: the state file, finding and preparing workspace folders, locking."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from ldb_clone.swap import JOURNAL, STAGING_PREFIX
from ldb_clone.workspace import (
    STATE_FILE,
    WORKSPACE_DIR,
    Workspace,
    WorkspaceError,
    default_workspace_source,
    is_workspace,
    load_workspace,
    locked_workspace,
    now_iso,
    prepare_directory,
    workspace_lock,
)


def staged(path: Path, **fields) -> Workspace:
    path.mkdir(parents=True, exist_ok=True)
    ws = Workspace(path=path, dataset_name="pets", **fields)
    ws.save()
    return ws


def test_save_and_load_round_trip(tmp_path: Path):
    ws = staged(
        tmp_path / "ws",
        parent=3,
        auto_pull=True,
        staged_time="2024-01-01T00:00:00+00:00",
        members={"a" * 32: "b" * 32, "c" * 32: None},
        transforms={"a" * 32: ["t1", "t2"]},
    )
    assert load_workspace(tmp_path / "ws") == ws
    assert load_workspace(str(tmp_path / "ws")) == ws


def test_the_state_file_is_sorted_json_without_an_empty_pending_commit(tmp_path: Path):
    ws = staged(tmp_path / "ws")
    data = json.loads(ws.state_path.read_text(encoding="utf-8"))
    assert list(data) == sorted(data)
    assert "pending_commit" not in data
    ws.pending_commit = {"version": 2}
    ws.save()
    assert load_workspace(tmp_path / "ws").pending_commit == {"version": 2}
    # no temporary file is left beside the state
    assert os.listdir(tmp_path / "ws" / WORKSPACE_DIR) == [STATE_FILE]


def test_save_into_another_root(tmp_path: Path):
    """A staging folder that becomes the workspace gets the state; the workspace not yet."""
    ws = Workspace(path=tmp_path / "ws", dataset_name="pets", members={"x" * 32: None})
    ws.save(root=tmp_path / "staging")
    assert load_workspace(tmp_path / "staging").members == {"x" * 32: None}
    assert not is_workspace(tmp_path / "ws")


def test_old_state_files_get_defaults(tmp_path: Path):
    (tmp_path / WORKSPACE_DIR).mkdir()
    (tmp_path / WORKSPACE_DIR / STATE_FILE).write_text('{"dataset_name": "old"}', "utf-8")
    ws = load_workspace(tmp_path)
    assert (ws.dataset_name, ws.parent, ws.auto_pull, ws.members, ws.transforms) == (
        "old",
        None,
        False,
        {},
        {},
    )


def test_not_a_workspace_says_how_to_make_one(tmp_path: Path):
    with pytest.raises(WorkspaceError, match=f"Not a workspace: '{tmp_path}'.*ldb stage"):
        load_workspace(tmp_path)
    assert not is_workspace(tmp_path)


def test_an_unreadable_state_names_the_file(tmp_path: Path):
    state = tmp_path / WORKSPACE_DIR / STATE_FILE
    state.parent.mkdir()
    state.write_text("{not json", encoding="utf-8")
    with pytest.raises(WorkspaceError, match=f"Unreadable workspace state '{state}'"):
        load_workspace(tmp_path)


def test_default_source_is_the_workspace_here(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceError, match=r"No workspace dataset staged at '\.'.*ds:root"):
        default_workspace_source()
    staged(tmp_path)
    assert default_workspace_source() == "ws:."


def test_now_iso_is_utc():
    assert datetime.fromisoformat(now_iso()).utcoffset().total_seconds() == 0


# prepare_directory ---------------------------------------------------------------------------


def test_prepare_creates_a_missing_folder_but_not_its_parent(tmp_path: Path):
    prepare_directory(tmp_path / "new", force=False)
    assert (tmp_path / "new").is_dir()
    with pytest.raises(WorkspaceError, match="Parent directory does not exist"):
        prepare_directory(tmp_path / "no" / "such", force=False)


def test_prepare_accepts_an_empty_folder_and_refuses_a_file(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    prepare_directory(tmp_path / "empty", force=False)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="Not a directory"):
        prepare_directory(tmp_path / "file", force=True)


def test_prepare_never_takes_over_a_folder_that_is_not_a_workspace(tmp_path: Path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(WorkspaceError, match="Not a workspace or an empty directory"):
        prepare_directory(folder, force=True)
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "keep"
    broken = tmp_path / "broken"
    (broken / WORKSPACE_DIR).mkdir(parents=True)  # the folder, but no state in it
    with pytest.raises(WorkspaceError, match="Not a workspace or an empty directory"):
        prepare_directory(broken, force=True)


def test_prepare_empties_a_workspace_only_with_force(tmp_path: Path):
    ws = tmp_path / "ws"
    staged(ws)
    (ws / "a.png").write_bytes(b"x")
    (ws / "sub" / "deep").mkdir(parents=True)
    (ws / "link").symlink_to(tmp_path / "outside")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "kept.txt").write_text("x", encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"Workspace is not empty.*--force"):
        prepare_directory(ws, force=False)
    prepare_directory(ws, force=True)
    assert sorted(os.listdir(ws)) == [WORKSPACE_DIR]
    assert is_workspace(ws)
    assert (tmp_path / "outside" / "kept.txt").exists()  # a link is removed, not followed


def test_prepare_keeps_a_workspace_that_holds_only_its_state(tmp_path: Path):
    ws = staged(tmp_path / "ws", members={"a" * 32: None})
    prepare_directory(ws.path, force=False)
    assert load_workspace(ws.path).members == {"a" * 32: None}


# locking --------------------------------------------------------------------------------------


def test_locked_workspace_loads_and_saves_under_the_lock(tmp_path: Path):
    staged(tmp_path / "ws")
    with locked_workspace(tmp_path / "ws") as ws:
        ws.members["d" * 32] = None
        ws.save()
    assert load_workspace(tmp_path / "ws").members == {"d" * 32: None}


def test_the_lock_of_a_workspace_is_taken_again_by_its_holder(tmp_path: Path):
    staged(tmp_path / "ws")
    with workspace_lock(tmp_path / "ws"), locked_workspace(tmp_path / "ws") as ws:
        assert ws.dataset_name == "pets"


def test_workspace_lock_puts_a_killed_swap_right_first(tmp_path: Path):
    """Leftovers of a killed instantiate (a staging folder, no journal) are removed
    before the holder sees the folder."""
    ws = staged(tmp_path / "ws")
    leftover = ws.path / f"{STAGING_PREFIX}dead0000"
    leftover.mkdir()
    (leftover / "half-written.png").write_bytes(b"x")
    with workspace_lock(ws.path):
        assert not leftover.exists()
        assert not (ws.path / JOURNAL).exists()
    assert load_workspace(ws.path) == ws


def test_a_missing_folder_can_be_locked_and_leaves_nothing_behind(tmp_path: Path):
    with workspace_lock(tmp_path / "not-yet"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
