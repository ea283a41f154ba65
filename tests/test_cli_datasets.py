"""stage, add, del, commit, status, ds list and ds del through the command line."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ldb_in, run_index


@pytest.fixture
def pets(instance, data_dir, make_image, make_json):
    for n, label in enumerate(["cat", "dog", "cat", "bird", "cat"]):
        make_image(data_dir / f"p{n}.png")
        make_json(data_dir / f"p{n}.json", {"label": label})
    make_image(data_dir / "unlabelled.png")
    run_index(instance, data_dir, fmt="bare")
    return data_dir


def test_a_dataset_life_cycle(pets, tmp_path):
    ws = tmp_path / "ws"
    out = ldb_in(tmp_path, "stage", "ds:pets", "-t", "ws").stdout
    assert out == "Staged new dataset ds:pets at 'ws'\n"
    out = ldb_in(ws, "add", "--query", "label == `cat`").stdout
    assert out.splitlines() == [
        "Adding to working dataset...",
        "Added 3 data objects to ds:pets at ws:.",
        "Updated 0 transforms",
    ]
    status = ldb_in(ws, "status").stdout
    assert status.startswith("Workspace directory: '.'\n\nds:pets\n")
    assert "  Additions (+):        3\n" in status
    assert ldb_in(ws, "commit", "-m", "cats").stdout == "Committed ds:pets.v1\n"
    assert "No unsaved changes." in ldb_in(ws, "status").stdout
    assert ldb_in(ws, "commit").stdout == "Nothing to commit.\n"

    ldb_in(ws, "add", "ds:root", "--path", "unlabelled")
    assert ldb_in(ws, "del", "--query", "label == `cat`", "--limit", "1").stdout == (
        "Deleted 1 data objects from ds:pets\n"
    )
    status = json.loads(ldb_in(ws, "status", "--json").stdout)
    assert status["unsaved_changes"] == {"additions": 1, "deletions": 1, "modifications": 0}
    assert status["num_unlabelled"] == 1
    assert ldb_in(ws, "commit").stdout == "Committed ds:pets.v2\n"

    assert ldb_in(tmp_path, "ds", "list").stdout == "ds:pets.v2\n"
    log = ldb_in(tmp_path, "ds", "list", "-a").stdout.splitlines()
    assert [line.split()[0] for line in log] == ["ds:pets.v1", "ds:pets.v2"]
    assert log[0].endswith('3 objects  "cats"')
    assert ldb_in(ws, "list", "-s").stdout == "3\n"
    assert ldb_in(tmp_path, "list", "-s", "ds:pets.v1").stdout == "3\n"
    assert ldb_in(tmp_path, "status", "ds:pets.v1").stdout.startswith('ds:pets.v1  "cats"\n')

    assert ldb_in(tmp_path, "ds", "del", "ds:pets").stdout == "Deleted ds:pets\n"
    assert ldb_in(tmp_path, "ds", "list").stdout == "No saved datasets\n"


def test_errors_are_one_line(pets, tmp_path):
    cases = [
        (("add", "ds:root"), "Not a workspace"),
        (("stage", "ds:root"), "ds:root"),
        (("list", "ds:nope"), "Dataset not found: ds:nope"),
        (("ds", "del", "ds:nope"), "Dataset not found"),
        (("list", "ds:root", str(pets)), "same kind"),
    ]
    for args, fragment in cases:
        result = ldb_in(tmp_path, *args, check=False)
        assert result.returncode == 1, args
        assert result.stderr.startswith("error: ") and fragment in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) == 1
    ldb_in(tmp_path, "stage", "ds:x", "-t", "ws")
    nothing = ldb_in(tmp_path / "ws", "add", check=False)
    assert nothing.returncode == 1
    assert "Must provide either a query or at least one path" in nothing.stderr


def test_temporary_names_need_a_name(pets, tmp_path):
    ldb_in(tmp_path, "stage", "ds:.temp.2026-11-22T00:00:00+00:00", "-t", "ws")
    ws = tmp_path / "ws"
    ldb_in(ws, "add", "--limit", "2")
    refused = ldb_in(ws, "commit", check=False)
    assert refused.returncode == 1 and "temporary" in refused.stderr
    assert ldb_in(ws, "commit", "ds:kept").stdout == "Committed ds:kept.v1\n"


def test_pull_diff_sync_and_index_into_a_workspace(pets, tmp_path):
    from tests.helpers import rewrite_json

    ldb_in(tmp_path, "stage", "ds:pets", "-t", "ws")
    ws = tmp_path / "ws"
    ldb_in(ws, "add", "ds:root")
    ldb_in(ws, "commit")
    rewrite_json(pets / "p0.json", {"label": "lion"})
    ldb_in(ws, "index", "-m", "bare", str(pets))
    # indexing changes the index, not the working dataset
    assert ldb_in(ws, "diff", "-s").stdout == ""
    pulled = ldb_in(ws, "pull").stdout
    assert pulled.splitlines()[0] == "Updating to latest version"
    assert "  New updates:               1" in pulled
    diff = ldb_in(ws, "diff").stdout.splitlines()
    assert diff[0].startswith("m id:") and "1 -> 2" in diff[0]
    assert diff[-1] == "  Modifications (m):    1"
    back = ldb_in(ws, "pull", "v1").stdout
    assert "  New updates:               1" in back
    assert ldb_in(ws, "diff", "-s").stdout == ""

    synced = ldb_in(ws, "sync", "ds:root", "--limit", "2").stdout.splitlines()
    assert synced[0] == "Syncing working dataset..."
    assert ldb_in(ws, "list", "-s").stdout == "2\n"

    extra = tmp_path / "data" / "extra"
    extra.mkdir()
    from tests.conftest import write_image

    write_image(extra / "e.png")
    out = ldb_in(ws, "index", "-m", "bare", "-a", "ws:.", str(extra)).stdout
    assert out.rstrip().endswith("Added 1 data objects to ds:pets at ws:.")
    assert ldb_in(ws, "list", "-s").stdout == "3\n"


def test_unindex_refuses_saved_objects(pets, tmp_path):
    ldb_in(tmp_path, "stage", "ds:pets", "-t", "ws")
    ws = tmp_path / "ws"
    ldb_in(ws, "add", str(pets / "p0.png"))
    ldb_in(ws, "commit")
    refused = ldb_in(tmp_path, "unindex", str(pets / "p0.png"), check=False)
    assert refused.returncode == 1
    assert "is contained in saved datasets: ds:pets.v1" in refused.stderr
    assert ldb_in(tmp_path, "unindex", str(pets / "p1.png")).stdout == (
        "Deleted 1 data objects from ds:root\n"
    )
    assert ldb_in(tmp_path, "list", "-s", "ds:root").stdout == "5\n"
    again = ldb_in(tmp_path, "index", "-m", "bare", str(pets)).stdout
    assert "New data objects:              1" in again


def test_stage_without_an_instance_starts_quickly(tmp_path, isolated_home):
    """Quick start: the first `ldb stage` creates the instance with read-add storage."""
    result = ldb_in(tmp_path, "stage", "ds:first", "-t", "ws")
    lines = result.stdout.splitlines()
    instance_dir = isolated_home / ".ldb" / "private_instance"
    assert lines[0] == f"Initialized LDB instance at {str(instance_dir)!r}"
    assert lines[-1] == "Staged new dataset ds:first at 'ws'"
    from ldb_clone.instance import open_instance
    from ldb_clone.storage import load_locations

    instance = open_instance(instance_dir)
    locations = load_locations(instance)
    assert [loc.url for loc in locations] == [
        str(isolated_home / ".ldb" / "read_add_storage"),
        "s3://ldb-public/remote",
    ]
    assert locations[0].read_add and locations[1].options == {"anon": True}
    assert instance.setting("core.auto_index") is True
    assert instance.setting("core.read_any_cloud_location") is True
