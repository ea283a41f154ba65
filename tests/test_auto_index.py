"""add/sync of files never indexed: core.auto_index indexes them first (auto-detected
format, files outside storage copied to read-add storage), as upstream."""

from __future__ import annotations

import json

import pytest

from ldb_clone.storage import add_storage, load_locations


@pytest.fixture
def workspace(tmp_path, instance, instance_dir, ldb, monkeypatch):
    ldb("stage", "ds:new", "-t", "ws", check=True)
    monkeypatch.chdir(tmp_path / "ws")
    return tmp_path / "ws"


def enable_auto_index(instance_dir):
    config = instance_dir / "config"
    text = config.read_text(encoding="utf-8")
    assert "auto_index = false" in text
    config.write_text(text.replace("auto_index = false", "auto_index = true"), encoding="utf-8")


def test_unknown_file_without_auto_index_is_an_error(workspace, tmp_path, make_image, ldb):
    make_image(tmp_path / "outside" / "a.png")
    result = ldb("add", str(tmp_path / "outside"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: Data object not found: id:")
    assert "core.auto_index = true" in result.stderr
    assert "Traceback" not in result.stderr


def test_auto_index_copies_outside_files_to_read_add_storage(
    workspace, tmp_path, instance, instance_dir, make_image, make_json, ldb
):
    enable_auto_index(instance_dir)
    read_add = tmp_path / "read-add"
    read_add.mkdir()
    add_storage(instance, str(read_add), read_add=True)
    make_image(tmp_path / "outside" / "a.png")
    make_json(tmp_path / "outside" / "a.json", {"label": "cat"})
    make_image(tmp_path / "outside" / "lonely.png")  # no annotation: strict pairs skip it

    result = ldb("add", str(tmp_path / "outside"), check=True)
    assert "Added 1 data objects to ds:new at ws:." in result.stdout
    assert "1 files were not indexed by auto-index" in result.stderr
    assert sorted(p.name for p in read_add.rglob("*") if p.is_file()) == ["a.json", "a.png"]
    evaluated = json.loads(ldb("eval", "--json-records", check=True).stdout)
    assert [row["annotation"] for row in evaluated] == [{"label": "cat"}]
    assert len(load_locations(instance)) == 1


def test_auto_index_indexes_in_place_inside_storage(
    workspace, instance_dir, data_dir, make_image, make_json, ldb
):
    enable_auto_index(instance_dir)
    make_image(data_dir / "b.png")
    make_json(data_dir / "b.json", {"label": "dog"})
    result = ldb("add", str(data_dir / "b.png"), check=True)
    assert "Added 1 data objects to ds:new at ws:." in result.stdout
    listed = ldb("list", "-v", check=True).stdout
    assert str(data_dir / "b.png") in listed


def test_list_never_auto_indexes(workspace, instance_dir, data_dir, make_image, ldb):
    enable_auto_index(instance_dir)
    make_image(data_dir / "c.png")
    result = ldb("list", str(data_dir / "c.png"))
    assert result.returncode == 1
    assert "Data object not found" in result.stderr
