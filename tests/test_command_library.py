"""The library functions the command line calls for diff, status, unindex, ds list/del,
index --add, pull and instantiate's summary (once business logic inside cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ldb_clone import datasets, history, indexing, status
from ldb_clone.datasets import DatasetError, Snapshot, commit, stage
from ldb_clone.errors import LdbError
from ldb_clone.filters import Filter
from ldb_clone.instantiation import InstantiateResult, summary_text
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.views import eval_records, format_eval
from ldb_clone.workspace import load_workspace
from tests.helpers import rewrite_json, run_index


@pytest.fixture
def pets(instance, data_dir, make_image, make_json):
    for n, label in enumerate(["cat", "dog", "cat", "bird"]):
        make_image(data_dir / f"p{n}.png")
        make_json(data_dir / f"p{n}.json", {"label": label})
    run_index(instance, data_dir, fmt="strict")
    return data_dir


def _ids(instance):
    return [m.object_id for m in select_members(instance, ["ds:root"])]


def _commit_all(instance, ws_dir: Path, name: str, count: int | None = None) -> None:
    stage(instance, f"ds:{name}", ws_dir)
    ws = load_workspace(ws_dir)
    datasets.add_members(instance, ws, select_members(instance, ["ds:root"])[:count])
    commit(instance, ws)


def test_changes_and_their_counts():
    old = Snapshot({"a": "1", "b": "1", "c": "1", "d": None}, {"d": ["t"]})
    new = Snapshot({"b": "2", "c": "1", "d": None, "e": None}, {})
    assert datasets.changes(old, new) == [("-", "a"), ("m", "b"), ("m", "d"), ("+", "e")]
    assert datasets.count_changes(kind for kind, _ in datasets.changes(old, new)) == (1, 1, 2)
    assert datasets.count_changes([]) == (0, 0, 0)


def test_saved_refs_and_deleting_whole_datasets(instance, pets, tmp_path):
    assert datasets.saved_dataset_refs(instance) == []
    _commit_all(instance, tmp_path / "a", "a")
    _commit_all(instance, tmp_path / "b", "b", 2)
    assert datasets.saved_dataset_refs(instance) == ["ds:a.v1", "ds:b.v1"]
    with pytest.raises(DatasetError, match="without a version"):
        datasets.delete_datasets(instance, ["ds:a", "ds:b.v1"])
    with pytest.raises(DatasetError, match="not found: ds:nope"):
        datasets.delete_datasets(instance, ["ds:a", "ds:nope"])
    assert datasets.saved_dataset_refs(instance) == ["ds:a.v1", "ds:b.v1"]  # all or nothing
    assert datasets.delete_datasets(instance, ["ds:b"]) == ["ds:b"]
    assert datasets.saved_dataset_refs(instance) == ["ds:a.v1"]


def test_unindex_refuses_objects_of_saved_datasets(instance, pets, tmp_path):
    ids = _ids(instance)
    _commit_all(instance, tmp_path / "ws", "kept", 2)
    kept = [m.object_id for m in select_members(instance, ["ds:kept"])]
    with pytest.raises(LdbError, match=r"contained in saved datasets: ds:kept.v1 \(and 1 more"):
        indexing.unindex(instance, ids)
    free = [oid for oid in ids if oid not in kept]
    assert indexing.unindex(instance, free) == 2
    assert sorted(_ids(instance)) == sorted(kept)


def test_add_indexed_adds_what_a_run_found(instance, pets, tmp_path):
    stage(instance, "ds:new", tmp_path / "ws")
    ws = load_workspace(tmp_path / "ws")
    result, _ = run_index(instance, pets, fmt="strict")
    reporter = Reporter()
    added = datasets.add_indexed(instance, ws, result, reporter, "ws:ws")
    assert added.changed == 4
    assert reporter.lines[-1] == "Added 4 data objects to ds:new at ws:ws"
    assert sorted(load_workspace(tmp_path / "ws").members) == sorted(_ids(instance))


def test_dataset_identity(instance, pets, tmp_path, monkeypatch):
    _commit_all(instance, tmp_path / "ws", "pets")
    assert datasets.dataset_identity(instance, ["ds:pets"]) == ("pets", 1)
    assert datasets.dataset_identity(instance, ["ds:pets.v1"]) == ("pets", 1)
    assert datasets.dataset_identity(instance, ["ds:root"]) is None
    assert datasets.dataset_identity(instance, ["ds:pets", "ds:pets"]) is None
    assert datasets.dataset_identity(instance, [str(pets)]) is None
    assert datasets.dataset_identity(instance, None) is None  # not in a workspace
    monkeypatch.chdir(tmp_path / "ws")
    assert datasets.dataset_identity(instance, None) == ("pets", 1)
    stage(instance, "ds:fresh", tmp_path / "fresh")
    assert datasets.dataset_identity(instance, [f"ws:{tmp_path / 'fresh'}"]) == ("fresh", 1)


def test_format_pull():
    text = datasets.format_pull("pets", 2, (1, 2, 3))
    assert text.splitlines() == [
        "Updating to v2",
        "",
        "ds:pets",
        "  Already up-to-date:        1",
        "  New updates:               2",
        "  Missing version:           3",
    ]
    assert text.endswith("\n")
    assert datasets.format_pull("pets", None, (0, 0, 0)).startswith("Updating to latest version")


def test_status_of_a_dataset_and_of_the_workspace(instance, pets, tmp_path, monkeypatch):
    _commit_all(instance, tmp_path / "ws", "pets", 3)
    result = status.status(instance, "ds:pets")
    assert (result.name, result.num_objects, result.workspace) == ("ds:pets.v1", 3, None)
    assert status.status(instance, "ds:root").num_objects == 4
    with pytest.raises(LdbError, match="No workspace"):
        status.status(instance)
    monkeypatch.chdir(tmp_path / "ws")
    ws = load_workspace(".")
    datasets.add_members(instance, ws, select_members(instance, ["ds:root"]))
    result = status.status(instance)
    assert (result.name, result.workspace, result.changes) == ("ds:pets", ".", (1, 0, 0))


def test_compare_and_format_diff(instance, pets, tmp_path, monkeypatch):
    _commit_all(instance, tmp_path / "ws", "pets", 2)
    monkeypatch.chdir(tmp_path / "ws")
    ws = load_workspace(".")
    datasets.add_members(instance, ws, select_members(instance, ["ds:root"]))
    for n in range(4):
        rewrite_json(pets / f"p{n}.json", {"label": "lion"})
    run_index(instance, pets, fmt="strict")
    report = history.compare(instance)
    assert report.counts == (2, 0, 0)
    report = history.compare(instance, "ds:pets", "ds:root", details=True)
    assert report.counts == (2, 0, 2)
    assert json.loads(json.dumps(report.to_json()))["modifications"] == 2
    changed = [c for c in report.to_json()["changes"] if c["change"] == "m"]
    assert [c["annotation"][0]["new"] for c in changed] == ["lion", "lion"]
    assert [(c["old"], c["new"]) for c in changed] == [(1, 2), (1, 2)]
    lines = list(history.format_diff(instance, report))
    assert lines[0].startswith(("+ id:", "m id:"))
    assert sum(1 for line in lines if line.startswith("    ~ label: ")) == 2
    assert lines[-4:] == [
        "",
        "  Additions (+):        2",
        "  Deletions (-):        0",
        "  Modifications (m):    2",
    ]
    assert list(history.format_diff(instance, report, summary=True)) == lines[-3:]
    limited = history.compare(instance, "ds:pets", "ds:root", [Filter("limit", "1")])
    assert len(limited.rows) == 1
    assert (
        list(history.format_diff(instance, history.compare(instance, "ds:pets", "ds:pets"))) == []
    )


def test_eval_text_and_records():
    rows = [("a" * 32, [{"x": 1}]), ("b" * 32, [None])]
    assert list(format_eval(rows, False, None)) == [
        f"id:{'a' * 32}",
        '{"x": 1}',
        "",
        f"id:{'b' * 32}",
        "null",
        "",
    ]
    assert list(format_eval(rows, True, None)) == ['{"x": 1}', "null"]
    assert eval_records(rows, False) == [
        {"id": "a" * 32, "annotation": {"x": 1}},
        {"id": "b" * 32, "annotation": None},
    ]
    assert eval_records(rows, True)[0] == {"id": "a" * 32, "values": [{"x": 1}]}


def test_instantiate_summary_leaves_upstreams_gap():
    result = InstantiateResult("bare-pairs", "out", data_objects=2, annotations=1)
    assert summary_text(result, "bare") == "\n" + result.summary()
    assert summary_text(result, "label-studio") == result.summary()
    result.dry_run = True
    assert summary_text(result, "bare", "Copied data.") == result.summary()
