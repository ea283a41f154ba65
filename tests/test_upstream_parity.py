"""Behaviour that users of upstream ldb-alpha 0.7.0 notice (issue 13, items 1-8).

Each test runs the command line in-process, as upstream's own tests call ``main([...])``,
and checks the output upstream prints (see the behaviour reference).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone.cli import app
from tests.helpers import by_path


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def pairs(data_dir: Path, make_image, make_json) -> Path:
    """Two pairs in storage: cat1.png/cat1.json (label 1), cat2.png/cat2.json (label 2)."""
    for n in (1, 2):
        make_image(data_dir / f"cat{n}.png")
        make_json(data_dir / f"cat{n}.json", {"label": n})
    return data_dir


# 1. indexing annotation files of pairs with auto-detect -----------------------------------


def test_index_single_annotation_file_auto_detects_strict_pairs(instance, pairs):
    out = ok("index", str(pairs / "cat1.json"))

    assert "Auto-detected data format: strict-pairs" in out
    assert "Found data objects:            1" in out
    assert by_path(instance) == {str(pairs / "cat1.png"): {"label": 1}}


def test_index_glob_of_annotation_files_auto_detects_strict_pairs(instance, pairs):
    out = ok("index", str(pairs / "*.json"))

    assert "Auto-detected data format: strict-pairs" in out
    assert by_path(instance) == {
        str(pairs / "cat1.png"): {"label": 1},
        str(pairs / "cat2.png"): {"label": 2},
    }


def test_lone_annotation_only_files_are_still_annotation_only(instance, pairs, tmp_path):
    """JSON files with no data object beside them keep their annotation-only meaning."""
    from tests.helpers import oid_of, run_index

    run_index(instance, pairs, fmt="bare")
    annots = tmp_path / "annots"
    annots.mkdir()
    oid = oid_of(instance, pairs / "cat1.png")
    record = {"data-object-info": {instance.hasher.id_key: oid}, "annotation": {"label": 9}}
    (annots / "x.json").write_text(json.dumps(record), encoding="utf-8")
    out = ok("index", str(annots / "x.json"))

    assert "Auto-detected data format: annotation-only" in out
    assert by_path(instance)[str(pairs / "cat1.png")] == {"label": 9}


# 2. eval without show options: the last query is shown, earlier ones filter --------------


@pytest.fixture
def indexed_pairs(instance, pairs) -> dict[str, str]:
    """cat1 and cat2 indexed; name -> object id."""
    from tests.helpers import oid_of, run_index

    run_index(instance, pairs)
    return {f"cat{n}": oid_of(instance, pairs / f"cat{n}.png") for n in (1, 2)}


def test_eval_query_without_show_prints_its_value(indexed_pairs):
    ids = sorted(indexed_pairs.values())
    labels = {oid: n for n, oid in ((1, indexed_pairs["cat1"]), (2, indexed_pairs["cat2"]))}

    out = ok("eval", "--query", "label", "ds:root")

    assert out == "".join(f"id:{oid}\n{labels[oid]}\n\n" for oid in ids)


def test_eval_file_without_show_prints_its_value(indexed_pairs, pairs):
    oid = indexed_pairs["cat1"]
    size = (pairs / "cat1.png").stat().st_size

    assert ok("eval", f"id:{oid}", "--file", "fs.size") == f"id:{oid}\n{size}\n\n"


def test_eval_earlier_queries_filter_and_the_last_is_shown(indexed_pairs):
    oid = indexed_pairs["cat2"]

    out = ok("eval", "ds:root", "--query", "label == `2`", "--jquery", "label", "--limit", "5")

    assert out == f"id:{oid}\n2\n\n"


def test_eval_with_a_show_option_every_query_filters(indexed_pairs):
    oid = indexed_pairs["cat2"]

    out = ok("eval", "ds:root", "--query", "label == `2`", "--show", "label")

    assert out == f"id:{oid}\n2\n\n"


# 3. eval --json is --json-only; the structured output is --json-records ------------------


def test_eval_json_is_json_only_as_upstream(indexed_pairs):
    assert ok("eval", "--query", "label", "--json", "ds:root") == (
        "1\n2\n" if indexed_pairs["cat1"] < indexed_pairs["cat2"] else "2\n1\n"
    )


def test_eval_json_records_prints_ids_with_annotations(indexed_pairs):
    rows = json.loads(ok("eval", "--json-records", "ds:root"))

    assert sorted((row["id"], row["annotation"]) for row in rows) == sorted(
        (indexed_pairs[f"cat{n}"], {"label": n}) for n in (1, 2)
    )


def test_eval_json_records_with_a_shown_query(indexed_pairs):
    rows = json.loads(ok("eval", "--json-records", "--query", "label", "ds:root"))

    assert sorted((row["id"], row["values"]) for row in rows) == sorted(
        (indexed_pairs[f"cat{n}"], [n]) for n in (1, 2)
    )


# 4. commit --auto-pull without a value ----------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path, indexed_pairs, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace of ds:x in tmp/ws holding both objects, the current directory."""
    ok("stage", "ds:x", "-t", str(tmp_path / "ws"))
    monkeypatch.chdir(tmp_path / "ws")
    ok("add", "ds:root")
    return tmp_path / "ws"


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--auto-pull"], True), (["--auto-pull", "false"], False), (["--auto-pull=true"], True)],
)
def test_commit_auto_pull_alone_means_true(workspace, args, expected):
    assert ok("commit", *args, "-m", "first") == "Committed ds:x.v1\n"

    assert json.loads(ok("status", "ds:x", "--json"))["auto_pull"] is expected


# 5. del of an unknown id ------------------------------------------------------------------


def test_del_unknown_id_deletes_nothing(workspace, indexed_pairs):
    assert ok("del", "id:" + "0" * 32) == "Deleted 0 data objects from ds:x\n"
    assert ok("list", "-s") == "2\n"


def test_del_known_and_unknown_ids(workspace, indexed_pairs):
    out = ok("del", "id:" + "0" * 32, f"id:{indexed_pairs['cat1']}")

    assert out == "Deleted 1 data objects from ds:x\n"
    assert ok("list", "-s") == "1\n"


# 6. add-storage of a folder that does not exist yet ---------------------------------------


def test_add_storage_of_a_missing_folder_adds_it(instance_dir, tmp_path):
    from ldb_clone.instance import open_instance
    from ldb_clone.storage import load_locations

    missing = tmp_path / "later"
    result = run("add-storage", str(missing))

    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Added storage location '{missing}'\n"
    assert result.stderr == f"warning: '{missing}' does not exist yet\n"
    inst = open_instance(instance_dir)
    try:
        assert [loc.path for loc in load_locations(inst)] == [str(missing)]
    finally:
        inst.close()


def test_add_storage_of_a_missing_child_is_inside_existing(data_dir):
    child = data_dir / "not-yet"
    result = run("add-storage", str(child))

    assert result.exit_code == 1
    assert result.stderr == (f"error: '{child}' is inside existing storage location '{data_dir}'\n")


# 7. list, eval and status without a source outside a workspace ----------------------------

NO_WORKSPACE = (
    "error: No workspace dataset staged at '.'; pass ds:root to use every indexed data object\n"
)


@pytest.mark.parametrize(
    "args", [("list",), ("list", "-s", "--query", "label"), ("eval",), ("status",)]
)
def test_no_source_outside_a_workspace_is_an_error(indexed_pairs, args):
    result = run(*args)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == NO_WORKSPACE


def test_ds_root_outside_a_workspace(indexed_pairs):
    assert ok("list", "-s", "ds:root") == "2\n"
    assert ok("status", "ds:root").startswith("ds:root\n")


def test_no_source_inside_a_workspace_is_the_workspace(workspace):
    assert ok("list", "-s") == "2\n"
    assert ok("status").startswith("Workspace directory: '.'\n")


# 8. index summaries -----------------------------------------------------------------------


def test_index_outside_storage_prints_the_copied_ephemeral_block(instance, tmp_path, pairs):
    from ldb_clone.storage import add_storage

    read_add = tmp_path / "read-add"
    read_add.mkdir()
    add_storage(instance, str(read_add), read_add=True)
    outside = tmp_path / "outside"
    for name in ("cat1", "cat2"):
        for ext in ("png", "json"):
            (outside / f"{name}.{ext}").parent.mkdir(exist_ok=True)
            (outside / f"{name}.{ext}").write_bytes((pairs / f"{name}.{ext}").read_bytes())
    (outside / "lone.png").write_bytes(b"not paired")

    out = ok("index", "-m", "bare", str(outside))

    assert (
        "Indexing data...\n"
        "\n"
        f"Copied ephemeral files to storage: {read_add}\n"
        "  Data objects:               3\n"
        "  Annotations:                2\n"
        "\n"
        "\n"
        "Finished indexing:\n"
    ) in out


def test_new_data_object_paths_counts_paths(instance, data_dir, make_image):
    image = make_image(data_dir / "a.png")
    (data_dir / "copy-of-a.png").write_bytes(image.read_bytes())

    out = ok("index", "-m", "bare", str(data_dir))

    assert "  New data objects:              1\n" in out
    assert "  New data object paths:         2\n" in out


def test_annotation_only_index_finds_no_data_objects(instance, indexed_pairs, tmp_path):
    record = {
        "data-object-info": {instance.hasher.id_key: indexed_pairs["cat1"]},
        "annotation": {"label": 7},
    }
    annots = tmp_path / "annots"
    annots.mkdir()
    (annots / "one.json").write_text(json.dumps(record), encoding="utf-8")

    out = ok("index", "-m", "annot", str(annots))

    assert "  Found data objects:            0\n" in out
    assert "  Found annotations:             1\n" in out
    assert "  New annotations:               1\n" in out


def test_quick_start_names_the_public_location_as_upstream(tmp_path):
    out = ok("stage", "ds:first", "-t", str(tmp_path / "ws"))

    assert "Added storage location 'ldb-public/remote'\n" in out


def test_sync_without_arguments_prints_the_indexing_block(
    instance, instance_dir, tmp_path, workspace, make_image, make_json
):
    from ldb_clone.storage import add_storage
    from tests.test_auto_index import enable_auto_index

    read_add = tmp_path / "read-add"
    read_add.mkdir()
    add_storage(instance, str(read_add), read_add=True)
    enable_auto_index(instance_dir)
    make_image(workspace / "new.png")
    make_json(workspace / "new.json", {"label": 3})

    out = ok("sync")

    assert (
        "Finished indexing:\n"
        "  Found data objects:            1\n"
        "  Found annotations:             1\n"
        "  New data objects:              1\n"
        "  New annotations:               1\n"
        "  New data object paths:         1\n"
        "  Transform sets:                0\n"
        "\n"
        "Syncing working dataset...\n"
    ) in out
    assert ok("list", "-s") == "1\n"
