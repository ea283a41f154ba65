"""Workspaces and datasets through the library: stage, add, delete, commit, versions."""

from __future__ import annotations

import pytest

from ldb_clone import datasets
from ldb_clone.datasets import DatasetError, commit, parse_ref, stage
from ldb_clone.selection import select_members
from ldb_clone.views import with_versions
from ldb_clone.workspace import WorkspaceError, load_workspace
from tests.helpers import rewrite_json, run_index


@pytest.fixture
def pets(instance, data_dir, make_image, make_json):
    for n, label in enumerate(["cat", "dog", "cat", "bird"]):
        make_image(data_dir / f"p{n}.png")
        make_json(data_dir / f"p{n}.json", {"label": label})
    run_index(instance, data_dir, fmt="strict")
    return data_dir


def root(instance):
    return select_members(instance, ["ds:root"])


def test_parse_refs():
    assert parse_ref("ds:pets") == datasets.DatasetRef("pets")
    assert parse_ref("ds:pets.v3") == datasets.DatasetRef("pets", 3)
    assert parse_ref("ds:.temp.2026-11-22T03:50:51.653113+00:00").name.startswith(".temp.")
    for bad in ("pets", "ds:", "ds:a b", "ds:x.v0"):
        with pytest.raises(DatasetError):
            parse_ref(bad)


def test_stage_add_commit_and_versions(instance, pets, tmp_path):
    ws_dir = tmp_path / "ws"
    assert stage(instance, "ds:pets", ws_dir) == f"Staged new dataset ds:pets at {str(ws_dir)!r}"
    ws = load_workspace(ws_dir)
    members = root(instance)
    assert datasets.add_members(instance, ws, members[:2]).changed == 2
    assert datasets.add_members(instance, ws, members[:2]).changed == 0
    assert commit(instance, ws, "first") == "Committed ds:pets.v1"
    assert commit(instance, ws) == "Nothing to commit."
    datasets.add_members(instance, ws, members[2:])
    assert commit(instance, ws, "second") == "Committed ds:pets.v2"

    v1 = select_members(instance, ["ds:pets.v1"])
    v2 = select_members(instance, ["ds:pets"])
    assert [m.object_id for m in v1] == sorted(m.object_id for m in members[:2])
    assert len(v2) == 4
    assert instance.catalog.dataset_names() == [("pets", 2)]


def test_stage_an_existing_version_and_errors(instance, pets, tmp_path):
    ws = tmp_path / "ws"
    stage(instance, "ds:pets", ws)
    w = load_workspace(ws)
    datasets.add_members(instance, w, root(instance))
    commit(instance, w)
    other = tmp_path / "other"
    assert stage(instance, "ds:pets.v1", other) == f"Staged ds:pets.v1 at {str(other)!r}"
    assert len(load_workspace(other).members) == 4
    with pytest.raises(DatasetError, match="does not exist"):
        stage(instance, "ds:pets.v9", tmp_path / "third")
    with pytest.raises(DatasetError, match="ds:root"):
        stage(instance, "ds:root", tmp_path / "fourth")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file.txt").write_text("x")
    with pytest.raises(WorkspaceError, match="Not a workspace or an empty directory"):
        stage(instance, "ds:new", tmp_path / "full")


def test_unsaved_changes_block_restaging(instance, pets, tmp_path):
    ws = tmp_path / "ws"
    stage(instance, "ds:pets", ws)
    datasets.add_members(instance, load_workspace(ws), root(instance)[:1])
    with pytest.raises(WorkspaceError, match="Unsaved changes"):
        stage(instance, "ds:other", ws)
    assert stage(instance, "ds:other", ws, force=True).startswith("Staged new dataset ds:other")


def test_union_prefers_the_newest_annotation(instance, pets, tmp_path):
    ws = tmp_path / "ws"
    stage(instance, "ds:old", ws)
    w = load_workspace(ws)
    datasets.add_members(instance, w, root(instance))
    commit(instance, w)
    rewrite_json(pets / "p0.json", {"label": "lion"})
    run_index(instance, pets, fmt="strict")
    stage(instance, "ds:new", ws)
    w = load_workspace(ws)
    datasets.add_members(instance, w, root(instance))
    commit(instance, w)
    union = with_versions(instance, select_members(instance, ["ds:old", "ds:new"]))
    assert len(union) == 4
    assert max(m.version for m in union) == 2


def test_temp_names_need_a_real_name(instance, pets, tmp_path):
    ws = tmp_path / "ws"
    stage(instance, "ds:.temp.2026-11-22T00:00:00+00:00", ws)
    w = load_workspace(ws)
    datasets.add_members(instance, w, root(instance))
    with pytest.raises(DatasetError, match="temporary"):
        commit(instance, w)
    assert commit(instance, w, rename="ds:kept") == "Committed ds:kept.v1"


def test_delete_dataset_keeps_others(instance, pets, tmp_path):
    for name in ("a", "b"):
        ws = tmp_path / name
        stage(instance, f"ds:{name}", ws)
        w = load_workspace(ws)
        datasets.add_members(instance, w, root(instance))
        commit(instance, w)
    assert instance.catalog.delete_dataset("a")
    assert not instance.catalog.delete_dataset("a")
    assert instance.catalog.dataset_names() == [("b", 1)]
    assert len(select_members(instance, ["ds:b"])) == 4
    with pytest.raises(DatasetError, match="not found"):
        select_members(instance, ["ds:a"])
