"""``ldb index`` across formats: walking, globs, tags, storage rules, summaries, batches."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import ldb_clone.hashing
import ldb_clone.indexing
from ldb_clone.errors import LdbError
from ldb_clone.indexing import index
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.storage import add_storage
from tests.helpers import by_path, oid_of, rewrite_json, run_index, summary_block


def make_pairs(make_image, make_json, folder: Path, *names: str) -> None:
    for name in names:
        make_image(folder / f"{name}.png")
        make_json(folder / f"{name}.json", {"name": name})


# walking ----------------------------------------------------------------------------------


def test_directories_are_walked_recursively(instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")
    make_pairs(make_image, make_json, data_dir / "x" / "y" / "z", "b")
    make_pairs(make_image, make_json, data_dir / "x", "c")

    result, _ = run_index(instance, data_dir, fmt="strict")

    assert result.found_objects == 3
    assert by_path(instance) == {
        str(data_dir / "a.png"): {"name": "a"},
        str(data_dir / "x" / "y" / "z" / "b.png"): {"name": "b"},
        str(data_dir / "x" / "c.png"): {"name": "c"},
    }


def test_hidden_files_and_folders_are_skipped(instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")
    make_pairs(make_image, make_json, data_dir / ".hidden", "x")
    make_pairs(make_image, make_json, data_dir / "sub" / ".deep" / "more", "y")
    make_image(data_dir / ".x.png")
    make_json(data_dir / ".x.json", {"name": ".x"})
    make_image(data_dir / "sub" / ".z.png")

    result, _ = run_index(instance, data_dir, fmt="bare")

    assert result.found_objects == 1
    assert by_path(instance) == {str(data_dir / "a.png"): {"name": "a"}}


def test_same_file_at_two_paths_is_one_object(instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir / "x", "a")
    (data_dir / "y").mkdir()
    shutil.copyfile(data_dir / "x" / "a.png", data_dir / "y" / "a.png")
    shutil.copyfile(data_dir / "x" / "a.json", data_dir / "y" / "a.json")

    result, _ = run_index(instance, data_dir, fmt="strict")

    assert (result.found_objects, result.new_objects, result.new_paths) == (2, 1, 2)
    oid = oid_of(instance, data_dir / "x" / "a.png")
    paths = instance.catalog.object_paths([oid])[oid]
    assert sorted(paths) == [
        ("file", str(data_dir / "x" / "a.png")),
        ("file", str(data_dir / "y" / "a.png")),
    ]


def test_overlapping_arguments_count_each_file_once(instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a", "b")

    result, _ = run_index(instance, data_dir, data_dir / "a.png", data_dir / "b.json")

    assert (result.found_objects, result.found_annotations) == (2, 2)
    assert (result.new_objects, result.new_paths) == (2, 2)


# globs ------------------------------------------------------------------------------------


def test_glob_of_data_files(instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir / "s1", "a1", "b1")
    make_pairs(make_image, make_json, data_dir / "s2", "ab")
    make_pairs(make_image, make_json, data_dir, "a0")

    result, _ = run_index(instance, f"{data_dir}/*/a*.png", fmt="strict")

    assert result.found_objects == 2
    assert by_path(instance) == {
        str(data_dir / "s1" / "a1.png"): {"name": "a1"},
        str(data_dir / "s2" / "ab.png"): {"name": "ab"},
    }


def test_recursive_glob_of_json_files(instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "top")
    make_pairs(make_image, make_json, data_dir / "s1", "a")
    make_pairs(make_image, make_json, data_dir / "s1" / "deeper", "b")
    make_image(data_dir / "s1" / "lone.png")

    result, _ = run_index(instance, f"{data_dir}/**/*.json", fmt="strict")

    assert result.found_objects == 3
    assert by_path(instance) == {
        str(data_dir / "top.png"): {"name": "top"},
        str(data_dir / "s1" / "a.png"): {"name": "a"},
        str(data_dir / "s1" / "deeper" / "b.png"): {"name": "b"},
    }


def test_glob_cli_relative_to_cwd(ldb, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir / "s1", "a1", "b1")

    ldb("index", "-m", "strict", "data/*/a*.png", check=True)

    assert by_path(instance) == {str(data_dir / "s1" / "a1.png"): {"name": "a1"}}


# missing paths ------------------------------------------------------------------------------


def test_missing_path_cli(ldb, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")

    proc = ldb("index", str(data_dir / "nope"))

    assert proc.returncode == 1
    assert proc.stderr.startswith("error: Path not found: ")
    assert "nope" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert select_members(instance, ["ds:root"]) == []


def test_missing_path_library(instance, data_dir):
    with pytest.raises(LdbError, match="Path not found"):
        run_index(instance, data_dir / "nope")


# tags ---------------------------------------------------------------------------------------


def test_add_tags_cli(ldb, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a", "b")

    ldb("index", "--add-tags", "a,b", "--add-tags", "c", str(data_dir), check=True)

    ids = [m.object_id for m in select_members(instance, ["ds:root"])]
    assert instance.catalog.object_tags(ids) == {oid: ["a", "b", "c"] for oid in ids}


def test_tags_are_unioned_on_reindex(instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")
    oid = oid_of(instance, data_dir / "a.png")

    run_index(instance, data_dir, add_tags=["x,y"])
    run_index(instance, data_dir, add_tags=["z", "x"])
    run_index(instance, data_dir)

    assert instance.catalog.object_tags([oid]) == {oid: ["x", "y", "z"]}


def test_invalid_tag(instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")

    with pytest.raises(LdbError):
        run_index(instance, data_dir, add_tags=["has space"])


# re-indexing ----------------------------------------------------------------------------------


def test_reindex_keeps_first_indexed_and_updates_last_indexed(
    instance, data_dir, make_image, make_json
):
    make_pairs(make_image, make_json, data_dir, "a")
    oid = oid_of(instance, data_dir / "a.png")

    run_index(instance, data_dir)
    first = instance.catalog.object_infos([oid])[oid]
    run_index(instance, data_dir)
    second = instance.catalog.object_infos([oid])[oid]

    assert second.first_indexed == first.first_indexed
    assert second.last_indexed > first.last_indexed
    assert first.first_indexed == first.last_indexed
    assert second.type == "png"
    assert second.path == str(data_dir / "a.png")


def test_merge_shallow_merges_objects(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"a": 1, "b": {"x": 1}, "keep": True})
    run_index(instance, data_dir)

    rewrite_json(data_dir / "a.json", {"a": 2, "b": {"y": 2}, "c": 3})
    result, _ = run_index(instance, data_dir, annotation_update="merge")

    assert result.new_annotations == 1
    assert by_path(instance) == {
        str(data_dir / "a.png"): {"a": 2, "b": {"y": 2}, "c": 3, "keep": True}
    }
    [member] = select_members(instance, ["ds:root"])
    assert member.version == 2


def test_replace_is_the_default(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"a": 1, "keep": True})
    run_index(instance, data_dir)

    rewrite_json(data_dir / "a.json", {"a": 2, "c": 3})
    run_index(instance, data_dir)

    assert by_path(instance) == {str(data_dir / "a.png"): {"a": 2, "c": 3}}


def test_merge_with_a_non_object_replaces(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"a": 1})
    run_index(instance, data_dir)

    rewrite_json(data_dir / "a.json", ["list", "value"])
    run_index(instance, data_dir, annotation_update="merge")

    assert by_path(instance) == {str(data_dir / "a.png"): ["list", "value"]}


def test_merge_twice_with_an_unchanged_file_adds_nothing(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"a": 1})
    run_index(instance, data_dir)
    rewrite_json(data_dir / "a.json", {"b": 2})
    run_index(instance, data_dir, annotation_update="merge")

    result, _ = run_index(instance, data_dir, annotation_update="merge")

    assert result.new_annotations == 0
    [member] = select_members(instance, ["ds:root"])
    assert member.version == 2
    assert by_path(instance) == {str(data_dir / "a.png"): {"a": 1, "b": 2}}

    # replace now records the file's own content as a new version
    result, _ = run_index(instance, data_dir)
    assert result.new_annotations == 1
    assert by_path(instance) == {str(data_dir / "a.png"): {"b": 2}}


def test_merge_cli(ldb, instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"a": 1})
    ldb("index", str(data_dir), check=True)

    rewrite_json(data_dir / "a.json", {"b": 2})
    ldb("index", "--annotation-update", "merge", str(data_dir), check=True)

    assert by_path(instance) == {str(data_dir / "a.png"): {"a": 1, "b": 2}}


def test_bad_annotation_update_cli(ldb, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")

    proc = ldb("index", "--annotation-update", "mix", str(data_dir))

    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


# storage ------------------------------------------------------------------------------------


def test_outside_storage_without_read_add_is_an_error(
    ldb, instance, data_dir, tmp_path, make_image, make_json
):
    make_pairs(make_image, make_json, tmp_path / "outside", "a")

    with pytest.raises(LdbError, match="read-add"):
        run_index(instance, tmp_path / "outside")
    assert select_members(instance, ["ds:root"]) == []

    proc = ldb("index", str(tmp_path / "outside"))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr


def test_outside_storage_is_copied_to_read_add(instance, data_dir, tmp_path, make_image, make_json):
    read_add = tmp_path / "read-add"
    read_add.mkdir()
    add_storage(instance, str(read_add), read_add=True)
    outside = tmp_path / "outside"
    make_pairs(make_image, make_json, outside, "a")
    source = outside / "a.png"
    oid = oid_of(instance, source)

    result, _ = run_index(instance, outside, fmt="strict")

    assert (result.new_objects, result.new_annotations, result.new_paths) == (1, 1, 1)
    [(protocol, stored)] = instance.catalog.object_paths([oid])[oid]
    assert protocol == "file"
    pattern = (
        re.escape(str(read_add))
        + r"/ldb-autoimport/\d{4}-\d{2}-\d{2}/[a-z0-9]{8}/file/"
        + re.escape(str(source).lstrip("/"))
    )
    assert re.fullmatch(pattern, stored), stored
    copy = Path(stored)
    assert copy.read_bytes() == source.read_bytes()
    assert json.loads(copy.with_suffix(".json").read_text()) == {"name": "a"}
    assert by_path(instance) == {stored: {"name": "a"}}


def test_indexed_file_outside_storage_adds_no_path(
    instance, data_dir, tmp_path, make_image, make_json
):
    make_pairs(make_image, make_json, data_dir, "a")
    run_index(instance, data_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copyfile(data_dir / "a.png", outside / "a.png")
    shutil.copyfile(data_dir / "a.json", outside / "a.json")
    oid = oid_of(instance, data_dir / "a.png")

    result, _ = run_index(instance, outside)

    assert result.finished
    assert (result.found_objects, result.new_objects, result.new_paths) == (1, 0, 0)
    assert instance.catalog.object_paths([oid]) == {oid: [("file", str(data_dir / "a.png"))]}


# summaries ----------------------------------------------------------------------------------


def test_finished_block_first_and_second_run(ldb, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a", "b")
    make_pairs(make_image, make_json, data_dir / "sub", "c")

    first = ldb("index", str(data_dir), check=True)
    second = ldb("index", str(data_dir), check=True)

    assert "\n\n" + summary_block("Finished indexing", 3, 3, 3, 3, 3, 0) + "\n" in first.stdout
    assert first.stdout.endswith(summary_block("Finished indexing", 3, 3, 3, 3, 3, 0) + "\n")
    assert second.stdout.endswith(summary_block("Finished indexing", 3, 3, 0, 0, 0, 0) + "\n")
    assert first.stderr == ""


def test_summary_matches_result(instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")
    make_image(data_dir / "b.png")

    result, reporter = run_index(instance, data_dir, fmt="bare")

    assert reporter.lines[-1].strip() == summary_block("Finished indexing", 2, 1, 2, 1, 2, 0)
    assert result.summary().strip() == summary_block("Finished indexing", 2, 1, 2, 1, 2, 0)


def test_json_output(ldb, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")

    proc = ldb("index", "--json", str(data_dir), check=True)

    doc = json.loads(proc.stdout)
    assert doc["found_objects"] == 1
    assert doc["new_annotations"] == 1
    assert doc["finished"] is True
    assert doc["format"] == "strict-pairs"


def test_partial_results_on_failure_cli(ldb, instance, data_dir, make_image, make_json):
    make_pairs(make_image, make_json, data_dir, "a")
    make_image(data_dir / "b.png")
    (data_dir / "b.json").write_text("[1, 2", encoding="utf-8")

    proc = ldb("index", str(data_dir))

    assert proc.returncode == 1
    assert "Unable to finish indexing. Partial indexing results:" in proc.stdout
    assert "Finished indexing" not in proc.stdout
    assert proc.stderr.startswith("error: ")
    assert str(data_dir / "b.json") in proc.stderr
    assert "Traceback" not in proc.stderr


# batches ------------------------------------------------------------------------------------


def test_failure_in_a_later_batch_keeps_earlier_batches(
    monkeypatch, instance, data_dir, make_image, make_json
):
    monkeypatch.setattr(ldb_clone.indexing, "BATCH_SIZE", 2)
    make_pairs(make_image, make_json, data_dir, "a", "b", "c", "d")
    make_image(data_dir / "e.png")
    bad = data_dir / "e.json"
    bad.write_text('{"name": "e"', encoding="utf-8")

    reporter = Reporter()
    with pytest.raises(LdbError) as excinfo:
        index(instance, [str(data_dir)], fmt="strict", reporter=reporter)

    assert str(bad) in str(excinfo.value)
    assert reporter.lines[-1].strip() == summary_block(
        "Unable to finish indexing. Partial indexing results", 4, 4, 4, 4, 4, 0
    )
    assert by_path(instance) == {str(data_dir / f"{name}.png"): {"name": name} for name in "abcd"}

    # fix the file and run again: only the missing pair is new
    rewrite_json(bad, {"name": "e"})
    result, reporter = run_index(instance, data_dir, fmt="strict")

    assert result.finished
    assert (result.found_objects, result.found_annotations) == (5, 5)
    assert (result.new_objects, result.new_annotations, result.new_paths) == (1, 1, 1)
    assert by_path(instance) == {str(data_dir / f"{name}.png"): {"name": name} for name in "abcde"}
    assert reporter.lines[-1].strip() == summary_block("Finished indexing", 5, 5, 1, 1, 1, 0)


def test_rerun_after_failure_rehashes_only_what_is_new(
    monkeypatch, instance, data_dir, make_image, make_json
):
    monkeypatch.setattr(ldb_clone.indexing, "BATCH_SIZE", 2)
    make_pairs(make_image, make_json, data_dir, "a", "b", "c")
    make_image(data_dir / "d.png")
    bad = data_dir / "d.json"
    bad.write_text("nope", encoding="utf-8")
    with pytest.raises(LdbError):
        run_index(instance, data_dir, fmt="strict")
    rewrite_json(bad, {"name": "d"})

    hashed: list[str] = []
    original = ldb_clone.hashing.Hasher.file_digest

    def counting(self, path, size=None):
        hashed.append(path)
        return original(self, path, size)

    monkeypatch.setattr(ldb_clone.hashing.Hasher, "file_digest", counting)
    result, _ = run_index(instance, data_dir, fmt="strict")

    assert result.finished
    # c was in the failed batch with d, so both are hashed again; a and b are not
    assert sorted(hashed) == [str(data_dir / "c.png"), str(data_dir / "d.png")]


def test_many_files_in_worker_batches(monkeypatch, instance, data_dir, make_image, make_json):
    """Enough files for the parallel loading path, with a bad annotation in the last batch."""
    # NOTE: raising=False: the test stays meaningful (if serial) should the knob move.
    monkeypatch.setattr("ldb_clone.loading.PROCESS_THRESHOLD", 0, raising=False)
    monkeypatch.setattr(ldb_clone.indexing, "BATCH_SIZE", 70)
    names = [f"f{n:03d}" for n in range(100)]
    make_pairs(make_image, make_json, data_dir, *names)
    bad = data_dir / "f099.json"
    bad.write_text("{", encoding="utf-8")

    with pytest.raises(LdbError) as excinfo:
        run_index(instance, data_dir, fmt="strict")
    assert str(bad) in str(excinfo.value)
    assert by_path(instance) == {str(data_dir / f"{n}.png"): {"name": n} for n in names[:70]}

    rewrite_json(bad, {"name": "f099"})
    result, _ = run_index(instance, data_dir, fmt="strict")

    assert (result.found_objects, result.new_objects, result.new_annotations) == (100, 30, 30)
    assert by_path(instance) == {str(data_dir / f"{n}.png"): {"name": n} for n in names}


def _stored(instance) -> tuple[dict, dict, dict]:
    """Each object's annotation, and the catalog's texts and stats summaries of them."""
    from ldb_clone.stats import SUMMARY_KIND
    from tests.helpers import current

    ids = {m.annotation_id for m in select_members(instance, ["ds:root"])}
    catalog = instance.catalog
    texts, summaries = (
        catalog.annotation_texts(ids),
        catalog.annotation_summaries(ids, SUMMARY_KIND),
    )
    return current(instance), texts, summaries


def test_worker_processes_encode_and_summarise_as_this_process_does(tmp_path, monkeypatch):
    """COCO annotations are built in memory: with worker processes they are encoded and
    summarised there, not here; the catalog holds the same either way."""
    from ldb_clone import loading
    from ldb_clone.instance import init_instance, open_instance
    from tests.formats.test_coco import write_coco

    doc = {"images": [], "annotations": [], "categories": [{"id": 3, "name": "cat"}]}
    for n in range(1, 81):
        doc["images"].append({"id": n, "file_name": f"{n}.png", "width": 16, "height": 16})
        box = {"id": n, "image_id": n, "category_id": 3, "bbox": [1, 2, n % 9 + 1, 3.5]}
        doc["annotations"].extend([box] if n % 4 else [])
    folder = tmp_path / "coco"
    write_coco(folder, doc)
    encoded_here = []
    encode = ldb_clone.indexing.Indexer._inline_annotation_id
    monkeypatch.setattr(
        ldb_clone.indexing.Indexer,
        "_inline_annotation_id",
        lambda self, *args: encoded_here.append(1) or encode(self, *args),
    )
    stored, counts = [], []
    for threshold in (10**9, 1):  # in this process, then in worker processes
        monkeypatch.setattr(loading, "PROCESS_THRESHOLD", threshold)
        encoded_here.clear()
        init_instance(tmp_path / f"instance-{threshold}")
        second = open_instance(tmp_path / f"instance-{threshold}")
        try:
            add_storage(second, str(folder))
            run_index(second, folder, fmt="coco")
            stored.append(_stored(second))
        finally:
            second.close()
        counts.append(len(encoded_here))
    assert counts == [80, 0]
    assert stored[0] == stored[1]
    annotations, texts, summaries = stored[1]
    assert len(annotations) == 80 and len(texts) == len(summaries) == 80


@pytest.mark.parametrize(
    ("count", "batch_size", "sizes"),
    [
        (5000, 2000, [250, 2000, 2000, 750]),
        (100, 2000, [100]),
        (0, 2000, []),
        (5, 2, [2, 2, 1]),  # batches smaller than the first one: all alike
    ],
)
def test_a_small_first_batch_then_full_ones(monkeypatch, count, batch_size, sizes):
    monkeypatch.setattr(ldb_clone.indexing, "BATCH_SIZE", batch_size)
    items = list(range(count))
    batches = ldb_clone.indexing._batches(items)
    assert [len(batch) for batch in batches] == sizes
    assert [item for batch in batches for item in batch] == items
