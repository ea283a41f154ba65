"""Issue 13, item 13: ``ds list -a`` is a log of dataset versions, and ``diff`` shows
what changed inside annotations and takes the selection filters."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from ldb_clone import cli
from ldb_clone.history import MISSING, ValueChange, utc_seconds, value_changes
from tests.helpers import rewrite_json, run_index


def run(*args: str):
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.output


@pytest.fixture
def pets(instance, data_dir, make_image, make_json):
    for n, label in enumerate(["cat", "dog", "cat"]):
        make_image(data_dir / f"p{n}.png")
        make_json(data_dir / f"p{n}.json", {"label": label, "boxes": [{"x": n, "y": 0}]})
    run_index(instance, data_dir, fmt="bare")
    return data_dir


@pytest.fixture
def workspace(pets, tmp_path, monkeypatch):
    """ds:pets.v1 holds the three pets; the workspace is staged from it."""
    ws = tmp_path / "ws"
    run("stage", "ds:pets", "-t", str(ws))
    monkeypatch.chdir(ws)
    run("add", "ds:root")
    run("commit", "-m", "three pets")
    return ws


def test_ds_list_all_shows_message_author_date_and_size(workspace, monkeypatch):
    monkeypatch.setattr("ldb_clone.datasets.current_user", lambda: "alice")
    run("del", "--query", "label == `dog`")
    run("commit", "-m", "no dogs")
    lines = run("ds", "list", "-a").splitlines()
    assert len(lines) == 2
    pattern = r"ds:pets\.v{}  \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d  {}\s+{} objects  \"{}\""
    assert re.fullmatch(pattern.format(2, "alice", 2, "no dogs"), lines[1]), lines[1]
    assert lines[0].startswith("ds:pets.v1  ") and lines[0].endswith('3 objects  "three pets"')
    # without -a the output stays upstream's
    assert run("ds", "list") == "ds:pets.v2\n"
    assert json.loads(run("ds", "list", "--json")) == ["ds:pets.v2"]

    log = json.loads(run("ds", "list", "-a", "--json"))
    assert [(e["dataset"], e["message"], e["objects"], e["parent"]) for e in log] == [
        ("ds:pets.v1", "three pets", 3, None),
        ("ds:pets.v2", "no dogs", 2, 1),
    ]
    assert log[1]["author"] == "alice" and log[1]["date"].startswith("20")


def test_ds_list_all_escapes_control_characters_in_messages(workspace):
    run("del", "--limit", "1")
    run("commit", "-m", "evil\x1b[2Jmessage")
    out = run("ds", "list", "-a")
    assert "\x1b" not in out and "evil" in out


def test_value_changes_are_per_key():
    old = {"label": "cat", "boxes": [{"x": 1, "y": 0}], "gone": 1, "n": 1}
    new = {"label": "dog", "boxes": [{"x": 2, "y": 0}, {"x": 5}], "n": True, "odd key": []}
    assert value_changes(old, new) == [
        ValueChange("boxes[0].x", 1, 2),
        ValueChange("boxes[1]", MISSING, {"x": 5}),
        ValueChange("gone", 1, MISSING),
        ValueChange("label", "cat", "dog"),
        ValueChange("n", 1, True),
        ValueChange('"odd key"', MISSING, []),
    ]
    assert value_changes(None, {"a": 1}) == [ValueChange("", None, {"a": 1})]
    assert value_changes({"a": [1]}, {"a": [1]}) == []


def test_diff_annotations_shows_json_changes(workspace, pets):
    rewrite_json(pets / "p1.json", {"label": "wolf", "boxes": [{"x": 1, "y": 0}]})
    run("index", "-m", "bare", str(pets))
    run("pull")
    plain = run("diff").splitlines()
    assert plain[0].startswith("m id:") and "1 -> 2" in plain[0]
    assert plain[1] == ""  # without -p: upstream's rows only

    lines = run("diff", "-p").splitlines()
    assert lines[0] == plain[0]
    assert lines[1:3] == ['    ~ label: "dog" -> "wolf"', ""]
    assert lines[-1] == "  Modifications (m):    1"

    changes = json.loads(run("diff", "--annotations", "--json"))["changes"]
    assert changes[0]["annotation"] == [{"path": "label", "old": "dog", "new": "wolf"}]


def test_diff_takes_the_selection_filters(workspace, pets):
    for n, label in enumerate(["lion", "wolf", "tiger"]):
        rewrite_json(pets / f"p{n}.json", {"label": label, "boxes": []})
    run("index", "-m", "bare", str(pets))
    run("pull")
    run("del", "--path", "p2")
    assert run("diff", "-s").splitlines()[1:] == [
        "  Deletions (-):        1",
        "  Modifications (m):    2",
    ]
    # --query tests the newer annotation; a deletion is seen as it was
    only_wolf = run("diff", "--query", "label == `wolf`").splitlines()
    assert len([line for line in only_wolf if line.startswith(("m ", "- ", "+ "))]) == 1
    assert only_wolf[-1] == "  Modifications (m):    1"
    deleted = run("diff", "-s", "--path", "p2")
    assert deleted.splitlines() == [
        "  Additions (+):        0",
        "  Deletions (-):        1",
        "  Modifications (m):    0",
    ]
    assert run("diff", "-s", "--tag", "nothing-has-this") == ""
    limited = json.loads(run("diff", "--json", "--limit", "1"))
    assert len(limited["changes"]) == 1


def test_diff_annotations_shows_a_changed_transform_set(workspace, instance_dir):
    with open(instance_dir / "config", "a", encoding="utf-8") as f:
        f.write('\n[transform.rot90]\nrun = ["python3", "rotate.py", "90"]\n')
    run("transform", "-a", "rot90", "--query", "label == `dog`")
    lines = run("diff", "-p").splitlines()
    assert lines[0].startswith("m id:") and "1 -> 1" in lines[0]
    assert lines[1] == '    ~ (transforms): ["self"] -> ["self","rot90"]'
    changes = json.loads(run("diff", "-p", "--json"))["changes"]
    assert changes[0]["annotation"] == [
        {"path": "(transforms)", "old": ["self"], "new": ["self", "rot90"]}
    ]


def test_log_dates_are_shown_in_utc():
    assert utc_seconds("2026-12-01T06:52:56.123456+00:00") == "2026-12-01 06:52:56"
    assert utc_seconds("2022-03-01T09:30:00+02:00") == "2022-03-01 07:30:00"
    assert utc_seconds("") == ""
