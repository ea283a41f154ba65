"""Object sources: ds:root, ids and paths, and mixing them."""

from __future__ import annotations

import pytest

from ldb_clone import hashing, loading
from ldb_clone.errors import ObjectNotFoundError, SelectionError
from ldb_clone.selection import select_members, source_kind
from tests.helpers import oid_of, run_index


@pytest.fixture
def tree(instance, data_dir, make_image, make_json):
    for folder in ("a", "b"):
        for n in range(3):
            make_image(data_dir / folder / f"{n}.png")
            make_json(data_dir / folder / f"{n}.json", {"folder": folder, "n": n})
    make_image(data_dir / "b" / ".hidden.png")
    run_index(instance, data_dir, fmt="strict")
    return data_dir


def test_source_kinds():
    assert source_kind([]) == "ds"
    assert source_kind(["ds:root", "ds:x.v2"]) == "ds"
    assert source_kind(["id:" + "a" * 32, "b" * 32]) == "id"
    assert source_kind(["ws:."]) == "ws"
    assert source_kind(["data/", "*.png", "s3://bucket/x"]) == "path"
    with pytest.raises(SelectionError, match="same kind"):
        source_kind(["ds:root", "data/"])


def test_folder_selects_its_indexed_objects_with_current_annotations(instance, tree):
    members = select_members(instance, [str(tree / "a")])
    assert len(members) == 3
    assert [m.object_id for m in members] == sorted(m.object_id for m in members)
    assert all(m.version == 1 and m.annotation_id for m in members)


def test_file_and_glob_sources(instance, tree):
    single = select_members(instance, [str(tree / "a" / "1.png")])
    assert [m.object_id for m in single] == [oid_of(instance, tree / "a" / "1.png")]
    globbed = select_members(instance, [str(tree / "*" / "0.png")])
    assert len(globbed) == 2


def test_unknown_file_is_an_error_naming_it(instance, tree, make_image):
    stranger = make_image(tree / "a" / "new.png")
    with pytest.raises(ObjectNotFoundError, match=r"new\.png"):
        select_members(instance, [str(tree / "a")])
    assert stranger.exists()


def test_unchanged_files_are_found_without_reading(instance, tree, monkeypatch):
    reads = []
    real = hashing.Hasher.file_digest

    def counting(self, path, size=None):
        reads.append(path)
        return real(self, path, size)

    monkeypatch.setattr(hashing.Hasher, "file_digest", counting)
    monkeypatch.setattr(loading, "PROCESS_THRESHOLD", 10**9)
    assert len(select_members(instance, [str(tree)])) == 6
    assert reads == []


def test_missing_path_is_an_error(instance, tree):
    with pytest.raises(Exception, match="Path not found"):
        select_members(instance, [str(tree / "nope")])
