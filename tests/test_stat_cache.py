"""The stat cache: files whose path, size and mtime are unchanged are not read again."""

from __future__ import annotations

import builtins
import io
import json
import os
from pathlib import Path

import pytest

import ldb_clone.hashing
import ldb_clone.indexing
from ldb_clone.indexing import Indexer
from tests.helpers import current, oid_of, run_index


class Calls:
    """What the indexer read: files hashed, files opened, files read through the indexer."""

    def __init__(self) -> None:
        self.hashed: list[str] = []  # Hasher.file_digest calls
        self.opened: list[str] = []  # every file opened with open()/io.open
        self.read: list[str] = []  # Indexer.read calls

    @property
    def parsed(self) -> list[str]:
        """Annotation files opened (reading one is the only way to parse it)."""
        return [path for path in self.opened if path.endswith(".json")]

    def data_opened(self, root: Path) -> list[str]:
        return [p for p in self.opened if p.startswith(str(root)) and not p.endswith(".json")]

    def reset(self) -> None:
        self.hashed.clear()
        self.opened.clear()
        self.read.clear()


@pytest.fixture
def calls(monkeypatch, tmp_path) -> Calls:
    """Count hashes, indexer reads and files opened for reading below tmp_path (except the
    instance and home folders)."""
    counter = Calls()
    file_digest = ldb_clone.hashing.Hasher.file_digest
    real_open = builtins.open
    read = Indexer.read
    ignored = (str(tmp_path / "instance"), str(tmp_path / "home"))

    def counting_digest(self, path, *args, **kwargs):
        counter.hashed.append(str(path))
        return file_digest(self, path, *args, **kwargs)

    def counting_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and not set(mode) & set("wax+"):
            path = os.path.abspath(os.fspath(file))
            if path.startswith(str(tmp_path)) and not path.startswith(ignored):
                counter.opened.append(path)
        return real_open(file, mode, *args, **kwargs)

    def counting_read(self, entry):
        counter.read.append(entry.url)
        return read(self, entry)

    monkeypatch.setattr(ldb_clone.hashing.Hasher, "file_digest", counting_digest)
    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(Indexer, "read", counting_read)
    return counter


def later_mtime(path: Path, reference_ns: int) -> None:
    """Give ``path`` an mtime clearly after ``reference_ns``."""
    os.utime(path, ns=(reference_ns + 5 * 10**9, reference_ns + 5 * 10**9))


def make_pairs(make_image, make_json, folder: Path, *names: str) -> None:
    for name in names:
        make_image(folder / f"{name}.png")
        make_json(folder / f"{name}.json", {"name": name})


def test_unchanged_files_are_not_read_again(calls, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a", "b", "c")
    make_image(data_dir / "sub" / "d.png")

    run_index(instance, data_dir, fmt="bare")
    assert sorted(calls.hashed) == sorted(
        str(data_dir / p) for p in ("a.png", "b.png", "c.png", "sub/d.png")
    )
    assert sorted(calls.parsed) == sorted(str(data_dir / f"{n}.json") for n in "abc")
    calls.reset()

    second, _ = run_index(instance, data_dir, fmt="bare")

    assert (calls.hashed, calls.opened, calls.read) == ([], [], [])
    assert second.finished
    assert (second.found_objects, second.found_annotations) == (4, 3)
    assert (second.new_objects, second.new_annotations, second.new_paths) == (0, 0, 0)
    assert len(current(instance)) == 4


def test_unchanged_strict_pairs_auto_detected(calls, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a", "b")
    run_index(instance, data_dir)
    calls.reset()

    result, _ = run_index(instance, data_dir)

    assert (calls.hashed, calls.opened, calls.read) == ([], [], [])
    assert result.found_annotations == 2


def test_changed_data_file_is_rehashed_alone(calls, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a", "b", "c")
    run_index(instance, data_dir, fmt="strict")
    target = data_dir / "b.png"
    old_oid = oid_of(instance, target)
    before = target.stat().st_mtime_ns
    calls.reset()

    make_image(target)  # new content
    later_mtime(target, before)
    result, _ = run_index(instance, data_dir, fmt="strict")

    assert calls.hashed == [str(target)]
    assert calls.data_opened(data_dir) == [str(target)]
    assert calls.parsed == []
    new_oid = oid_of(instance, target)
    assert new_oid != old_oid
    assert (result.new_objects, result.new_annotations, result.new_paths) == (1, 1, 1)
    state = current(instance)
    assert len(state) == 4
    assert state[new_oid] == ({"name": "b"}, 1)
    assert state[old_oid] == ({"name": "b"}, 1)


def test_touched_but_unchanged_file_is_rehashed_without_news(
    calls, instance, data_dir, make_image, make_json
):
    make_pairs(make_image, make_json, data_dir, "a", "b")
    run_index(instance, data_dir, fmt="strict")
    target = data_dir / "a.png"
    later_mtime(target, target.stat().st_mtime_ns)
    calls.reset()

    result, _ = run_index(instance, data_dir, fmt="strict")
    assert calls.hashed == [str(target)]
    assert (result.new_objects, result.new_annotations, result.new_paths) == (0, 0, 0)

    # and the new mtime is remembered
    calls.reset()
    run_index(instance, data_dir, fmt="strict")
    assert calls.hashed == []


def test_changed_annotation_file_is_read_alone(calls, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a", "b", "c")
    run_index(instance, data_dir, fmt="strict")
    target = data_dir / "c.json"
    before = target.stat().st_mtime_ns
    calls.reset()

    target.write_text(json.dumps({"name": "c", "fixed": True}), encoding="utf-8")
    later_mtime(target, before)
    result, _ = run_index(instance, data_dir, fmt="strict")

    assert calls.hashed == []
    assert calls.parsed == [str(target)]
    assert (result.new_objects, result.new_annotations, result.new_paths) == (0, 1, 0)
    oid = oid_of(instance, data_dir / "c.png")
    assert current(instance)[oid] == ({"name": "c", "fixed": True}, 2)

    calls.reset()
    result, _ = run_index(instance, data_dir, fmt="strict")
    assert (calls.hashed, calls.opened, calls.read) == ([], [], [])
    assert current(instance)[oid] == ({"name": "c", "fixed": True}, 2)


def test_reverted_annotation_file_makes_the_old_version_current(
    calls, instance, data_dir, make_image, make_json
):
    make_pairs(make_image, make_json, data_dir, "a")
    target = data_dir / "a.json"
    original = target.read_text(encoding="utf-8")
    run_index(instance, data_dir, fmt="strict")
    oid = oid_of(instance, data_dir / "a.png")

    before = target.stat().st_mtime_ns
    target.write_text(json.dumps({"name": "changed"}), encoding="utf-8")
    later_mtime(target, before)
    run_index(instance, data_dir, fmt="strict")
    assert current(instance)[oid] == ({"name": "changed"}, 2)

    target.write_text(original, encoding="utf-8")
    later_mtime(target, before + 5 * 10**9)
    calls.reset()
    result, _ = run_index(instance, data_dir, fmt="strict")

    assert calls.parsed == [str(target)]
    assert result.new_annotations == 0
    assert current(instance)[oid] == ({"name": "a"}, 1)


def test_same_file_at_a_new_path_is_hashed(calls, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")
    run_index(instance, data_dir, fmt="strict")
    moved = data_dir / "moved"
    moved.mkdir()
    (data_dir / "a.png").rename(moved / "a.png")
    (data_dir / "a.json").rename(moved / "a.json")
    calls.reset()

    result, _ = run_index(instance, data_dir, fmt="strict")

    assert calls.hashed == [str(moved / "a.png")]
    assert calls.parsed == [str(moved / "a.json")]
    assert (result.new_objects, result.new_annotations, result.new_paths) == (0, 0, 1)


def test_tensorflow_inferred_reindex_reads_nothing(calls, instance, data_dir, make_image):
    make_image(data_dir / "animals" / "cat" / "1.png")
    make_image(data_dir / "animals" / "dog" / "2.png")
    run_index(instance, data_dir / "animals", fmt="infer")
    calls.reset()

    result, _ = run_index(instance, data_dir / "animals", fmt="infer")

    assert (calls.hashed, calls.read) == ([], [])
    assert (result.found_objects, result.new_objects, result.new_annotations) == (2, 0, 0)


def test_annotation_only_by_path_does_not_rehash_data(
    calls, instance, data_dir, tmp_path, make_image, make_json
):
    image = make_image(data_dir / "a.png")
    annots = tmp_path / "annots"
    make_json(annots / "a.json", {"annotation": {"n": 1}, "data-object-info": {"path": str(image)}})
    run_index(instance, annots, fmt="annot")
    calls.reset()

    result, _ = run_index(instance, annots, fmt="annot")

    assert calls.hashed == []
    # a record naming its object by path finds it (upstream's count), here from the cache
    assert (result.found_objects, result.new_objects, result.new_annotations) == (1, 0, 0)


def test_label_studio_reindex_does_not_rehash_data(
    calls, instance, data_dir, tmp_path, make_image, make_json
):
    image = make_image(data_dir / "a.png")
    export = make_json(tmp_path / "export.json", [{"id": 1, "data": {"image": str(image)}}])
    run_index(instance, export, fmt="label-studio")
    calls.reset()

    result, _ = run_index(instance, export, fmt="label-studio")

    assert calls.hashed == []
    assert (result.found_objects, result.new_objects, result.new_annotations) == (1, 0, 0)


@pytest.mark.process
def test_cache_is_kept_across_processes(
    ldb_process, instance, data_dir, make_image, make_json, calls
):
    make_pairs(make_image, make_json, data_dir, "a", "b")
    ldb_process("index", str(data_dir), check=True)

    result, _ = run_index(instance, data_dir)

    assert (calls.hashed, calls.opened, calls.read) == ([], [], [])
    assert (result.found_objects, result.new_objects) == (2, 0)


def test_the_stat_cache_is_read_once_per_window_of_batches(
    instance, data_dir, make_image, make_json, monkeypatch
):
    monkeypatch.setattr(ldb_clone.indexing, "BATCH_SIZE", 2)
    monkeypatch.setattr(ldb_clone.indexing, "CACHE_WINDOW", 3)
    for n in range(11):  # six batches: two windows
        make_image(data_dir / f"p{n}.png")
        make_json(data_dir / f"p{n}.json", {"n": n})
    first, _ = run_index(instance, data_dir, fmt="strict")
    lookups, hashed = [], []
    original = ldb_clone.indexing.cached_digests

    def counting(catalog, entries, kind):
        entries = list(entries)
        lookups.append((kind, len(entries)))
        return original(catalog, entries, kind)

    monkeypatch.setattr(ldb_clone.indexing, "cached_digests", counting)
    monkeypatch.setattr(
        ldb_clone.hashing.Hasher, "file_digest", lambda *a, **k: hashed.append(a) or "x"
    )
    again, _ = run_index(instance, data_dir, fmt="strict")
    assert sorted(lookups) == [("json", 5), ("json", 6), ("object", 5), ("object", 6)]
    assert hashed == []
    assert (first.new_objects, again.new_objects, again.found_objects) == (11, 0, 11)
