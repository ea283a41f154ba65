"""ldb transform, transform sets in workspaces and dataset versions, and their display."""

from __future__ import annotations

import json

import pytest

from ldb_clone import datasets
from ldb_clone.errors import ConfigError
from ldb_clone.hashing import Hasher
from ldb_clone.instance import open_instance
from ldb_clone.transforms import (
    TransformError,
    TransformUpdate,
    configured,
    default_set,
    resolve_names,
    self_transform,
)
from ldb_clone.workspace import load_workspace
from tests.helpers import catalog_sql, run_index

CONFIG = """
[transform.rot90]
run = ["python3", "rotate.py", "90"]

[transform.flip]
run = ["python3", "flip.py"]
create_annotations = false
"""


@pytest.fixture
def pets(instance, instance_dir, data_dir, make_image, make_json):
    with open(instance_dir / "config", "a", encoding="utf-8") as f:
        f.write(CONFIG)
    for n, label in enumerate(["cat", "dog", "cat", "bird"]):
        make_image(data_dir / f"p{n}.png")
        make_json(data_dir / f"p{n}.json", {"label": label})
    run_index(instance, data_dir, fmt="strict")
    return data_dir


@pytest.fixture
def ws(tmp_path, pets, ldb):
    ldb("stage", "ds:pets", "-t", "ws", check=True)
    ws = tmp_path / "ws"
    return ws


def ldb_ws(ldb, ws, monkeypatch, *args, check=True):
    monkeypatch.chdir(ws)
    return ldb(*args, check=check)


def rows(output: str) -> list[list[str]]:
    """The data lines of `ldb list`: [id, annot, path, transforms]."""
    return [line.split() for line in output.splitlines() if line.startswith(" id:")]


def test_self_has_upstreams_id_in_an_md5_instance():
    assert self_transform(Hasher("md5")).id == "33b0dbad33e2378136fa38eef828a1b4"
    assert len(self_transform(Hasher("xxh3")).id) == 32


def test_config_transforms_are_read_and_checked(instance, instance_dir):
    (instance_dir / "config").write_text(CONFIG, encoding="utf-8")
    found = configured(open_instance(instance_dir))
    assert sorted(found) == ["flip", "rot90"]
    assert found["rot90"].value == ["python3", "rotate.py", "90"]
    assert found["rot90"].create_annotations is True
    assert found["flip"].create_annotations is False

    (instance_dir / "config").write_text('[transform.bad]\nrun = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[transform.bad\]: run must be"):
        configured(open_instance(instance_dir))
    (instance_dir / "config").write_text('[transform.self]\nrun = ["x"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="reserved"):
        configured(open_instance(instance_dir))


def test_update_options_are_checked():
    with pytest.raises(TransformError, match="along with --set"):
        TransformUpdate.parse(["a"], None, ["b"])
    with pytest.raises(TransformError, match="at least one"):
        TransformUpdate.parse()
    assert TransformUpdate.parse(["a,b", "a"]).add == ("a", "b")
    assert TransformUpdate.parse(None, ["a"]).verb == "Removed"
    assert TransformUpdate.parse(None, None, ["a"]).verb == "Set"


def test_unknown_name_is_an_error(instance, pets):
    with pytest.raises(TransformError, match="No transform found with the name nope"):
        resolve_names(instance, ["nope"])


def test_transform_command_edits_sets_and_list_shows_names(ldb, ws, monkeypatch):
    ldb_ws(ldb, ws, monkeypatch, "add", "ds:root")
    out = ldb_ws(ldb, ws, monkeypatch, "transform", "-a", "rot90", "--limit", "2").stdout
    assert out == "Added transforms for 2 data objects in ds:pets\n"
    listed = rows(ldb_ws(ldb, ws, monkeypatch, "list").stdout)
    assert [r[-1] for r in listed] == ["self,rot90", "self,rot90", "self", "self"]

    out = ldb_ws(ldb, ws, monkeypatch, "transform", "-s", "flip,rot90").stdout
    assert out == "Set transforms for 4 data objects in ds:pets\n"
    assert {r[-1] for r in rows(ldb_ws(ldb, ws, monkeypatch, "list").stdout)} == {"flip,rot90"}

    ldb_ws(ldb, ws, monkeypatch, "transform", "-r", "flip,rot90", "-a", "self")
    state = json.loads((ws / ".ldb_workspace" / "workspace.json").read_text())
    assert state["transforms"] == {}  # back to the default set: nothing stored

    bad = ldb_ws(ldb, ws, monkeypatch, "transform", "-a", "nope", check=False)
    assert bad.returncode == 1
    assert bad.stderr == "error: No transform found with the name nope\n"
    bad = ldb_ws(ldb, ws, monkeypatch, "transform", "-a", "self", "-s", "flip", check=False)
    assert bad.returncode == 1 and "along with --set" in bad.stderr


def test_removing_every_transform_leaves_an_empty_set(ldb, ws, monkeypatch):
    ldb_ws(ldb, ws, monkeypatch, "add", "ds:root", "--limit", "1")
    ldb_ws(ldb, ws, monkeypatch, "transform", "-r", "self")
    assert rows(ldb_ws(ldb, ws, monkeypatch, "list").stdout)[0][-1] == "-"


def test_transforms_are_committed_staged_and_diffed(instance, ldb, ws, monkeypatch):
    ldb_ws(ldb, ws, monkeypatch, "add", "ds:root")
    assert ldb_ws(ldb, ws, monkeypatch, "commit", "-m", "plain").stdout == "Committed ds:pets.v1\n"
    ldb_ws(ldb, ws, monkeypatch, "transform", "-a", "rot90", "--query", "label == `cat`")
    status = ldb_ws(ldb, ws, monkeypatch, "status", "--json").stdout
    assert json.loads(status)["unsaved_changes"] == {
        "additions": 0,
        "deletions": 0,
        "modifications": 2,
    }
    diff = ldb_ws(ldb, ws, monkeypatch, "diff").stdout.splitlines()
    assert [line.split()[0] for line in diff if line.startswith("m ")] == ["m", "m"]
    assert ldb_ws(ldb, ws, monkeypatch, "commit").stdout == "Committed ds:pets.v2\n"
    assert ldb_ws(ldb, ws, monkeypatch, "commit").stdout == "Nothing to commit.\n"

    ldb_ws(ldb, ws, monkeypatch, "stage", "-f", "ds:pets.v1")
    assert {r[-1] for r in rows(ldb_ws(ldb, ws, monkeypatch, "list").stdout)} == {"self"}
    ldb_ws(ldb, ws, monkeypatch, "stage", "-f", "ds:pets.v2")
    shown = sorted(r[-1] for r in rows(ldb_ws(ldb, ws, monkeypatch, "list").stdout))
    assert shown == ["self", "self", "self,rot90", "self,rot90"]
    listed = rows(ldb_ws(ldb, ws, monkeypatch, "list", "ds:pets.v2").stdout)
    assert sorted(r[-1] for r in listed) == shown

    diff = ldb_ws(ldb, ws, monkeypatch, "diff", "ds:pets.v1", "ds:pets.v2", "-s").stdout
    assert "Modifications (m):    2" in diff


def test_adding_a_dataset_brings_its_transforms(ldb, ws, tmp_path, monkeypatch):
    ldb_ws(ldb, ws, monkeypatch, "add", "ds:root")
    ldb_ws(ldb, ws, monkeypatch, "transform", "-s", "flip")
    ldb_ws(ldb, ws, monkeypatch, "commit")
    monkeypatch.chdir(tmp_path)
    ldb("stage", "ds:other", "-t", "other", check=True)
    out = ldb_ws(ldb, tmp_path / "other", monkeypatch, "add", "ds:pets").stdout
    assert out.splitlines()[-1] == "Updated 4 transforms"
    assert {r[-1] for r in rows(ldb_ws(ldb, tmp_path / "other", monkeypatch, "list").stdout)} == {
        "flip"
    }
    # ds:root carries no transform sets: adding it again changes none
    out = ldb_ws(ldb, tmp_path / "other", monkeypatch, "add", "ds:root").stdout
    assert out.splitlines()[-1] == "Updated 0 transforms"


def test_library_set_transforms_ignores_objects_outside_the_workspace(instance, ws):
    w = load_workspace(ws)
    members = datasets.members_of(instance, {m: a for m, a, _ in instance.catalog.root_members()})
    datasets.add_members(instance, w, members[:2])
    count = datasets.set_transforms(
        instance, w, [m.object_id for m in members], TransformUpdate.parse(["rot90"])
    )
    assert count == 2
    assert set(load_workspace(ws).transforms) == {m.object_id for m in members[:2]}
    rot = resolve_names(instance, ["rot90"])["rot90"].id
    assert sorted(load_workspace(ws).transforms.values())[0] == sorted(
        [rot, *default_set(instance.hasher)]
    )


def test_ds_del_drops_unused_transform_mappings(instance, ldb, ws, monkeypatch):
    ldb_ws(ldb, ws, monkeypatch, "add", "ds:root")
    ldb_ws(ldb, ws, monkeypatch, "transform", "-a", "rot90")
    ldb_ws(ldb, ws, monkeypatch, "commit")
    count = "SELECT count(*) FROM transform_mappings"
    assert catalog_sql(instance.catalog, count) == [(1,)]
    ldb_ws(ldb, ws, monkeypatch, "ds", "del", "ds:pets")
    assert catalog_sql(instance.catalog, count) == [(0,)]


def test_annotation_only_round_trip_keeps_transform_sets(instance, ldb, ws, tmp_path, monkeypatch):
    """instantiate -m annot records transform sets; index -a ws: gives them back, and a
    named transform the config lacks keeps its name but is not added to the config
    (it would be runnable; see test_trust.py)."""
    ldb_ws(ldb, ws, monkeypatch, "add", "ds:root")
    ldb_ws(ldb, ws, monkeypatch, "transform", "-a", "rot90", "--query", "label == `cat`")
    ldb_ws(ldb, ws, monkeypatch, "instantiate", "-m", "annot", "-t", str(tmp_path / "records"))
    config = instance.path / "config"
    rot90 = '[transform.rot90]\nrun = ["python3", "rotate.py", "90"]\n'
    assert rot90 in config.read_text()
    config.write_text(config.read_text().replace(rot90, ""))  # as in another instance

    monkeypatch.chdir(tmp_path)
    ldb("stage", "ds:back", "-t", "back", check=True)
    out = ldb_ws(
        ldb, tmp_path / "back", monkeypatch, "index", "-a", "ws:.", "-m", "annot", "../records"
    )
    assert "  Transform sets:                2" in out.stdout
    listed = rows(ldb_ws(ldb, tmp_path / "back", monkeypatch, "list").stdout)
    assert sorted(r[-1] for r in listed) == ["self", "self", "self,rot90", "self,rot90"]
    assert "[transform.rot90]" not in config.read_text()


def test_invalid_transform_records_are_an_error(instance, data_dir, make_image, tmp_path, ldb):
    image = make_image(data_dir / "a.png")
    record = {
        "annotation": {"label": "x"},
        "data-object-info": {"path": str(image)},
        "ldb-meta": {"transforms": [{"transform": {"transform_type": "exec", "value": "rm"}}]},
    }
    (tmp_path / "r.json").write_text(json.dumps(record))
    result = ldb("index", "-m", "annot", str(tmp_path / "r.json"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: Invalid transform record in ")
