"""Output differences that ``benchmarks/parity.py`` found against upstream ldb-alpha 0.7.0
on the bundled examples (issue 13, "Done when"), each fixed to print what upstream prints.

In-process runs, as in ``test_upstream_parity.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone import cli
from ldb_clone.cli import app
from tests.helpers import oid_of, run_index


@pytest.fixture(autouse=True)
def fresh_cli_state(monkeypatch: pytest.MonkeyPatch):
    """The CLI keeps -v/-q in a module dict; in-process runs must not leak it."""
    monkeypatch.setitem(cli._state, "verbose", 0)
    monkeypatch.setitem(cli._state, "quiet", False)
    monkeypatch.delenv("LDB_DEBUG", raising=False)


def ok(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def pairs(instance, data_dir: Path, make_image, make_json) -> Path:
    """Two indexed pairs in storage: cat1.png (label 1), cat2.png (label 2)."""
    for n in (1, 2):
        make_image(data_dir / f"cat{n}.png")
        make_json(data_dir / f"cat{n}.json", {"label": n})
    run_index(instance, data_dir)
    return data_dir


@pytest.fixture
def workspace(tmp_path: Path, pairs, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace of ds:x holding both objects, the current directory."""
    ok("stage", "ds:x", "-t", str(tmp_path / "ws"))
    monkeypatch.chdir(tmp_path / "ws")
    ok("add", "ds:root")
    return tmp_path / "ws"


def test_pull_summary_ends_with_a_blank_line(workspace):
    assert ok("pull") == (
        "Updating to latest version\n"
        "\n"
        "ds:x\n"
        "  Already up-to-date:        2\n"
        "  New updates:               0\n"
        "  Missing version:           0\n"
        "\n"
    )


def test_instantiate_summary_follows_a_blank_line(workspace, tmp_path):
    out = ok("instantiate", "-t", str(tmp_path / "out"))

    assert (
        out
        == "\nCopied dataset to workspace.\n  Data objects:         2\n  Annotations:          2\n"
    )


def test_get_prints_no_add_counts(pairs, tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    lines = ok("get", "ds:root", "--query", "label == `1`", "-t", "got").splitlines()

    assert lines[0].startswith("Staged ds:.temp.") and lines[0].endswith(" at 'got'")
    assert lines[1:] == [
        "Adding to working dataset...",
        "Instantiating data...",
        "",
        "",
        "Copied data to workspace.",
        "  Data objects:         1",
        "  Annotations:          1",
    ]


def test_tensorflow_inferred_index_starts_with_a_blank_line(instance, data_dir, make_image):
    make_image(data_dir / "classes" / "cat" / "a.png")

    out = ok("index", "-m", "infer", str(data_dir / "classes"))

    assert out.startswith("Data format: tensorflow-inferred\n\nCollecting paths...\n")


def test_annotation_only_record_found_by_path_counts_a_data_object(
    instance, data_dir, make_image, tmp_path
):
    """Upstream hashes the file a record names by path: that is a data object found."""
    make_image(data_dir / "new.png")
    annots = tmp_path / "annots"
    annots.mkdir()
    record = {"data-object-info": {"path": str(data_dir / "new.png")}, "annotation": {"n": 1}}
    (annots / "new.json").write_text(json.dumps(record), encoding="utf-8")

    out = ok("index", "-m", "annot", str(annots))

    assert "  Found data objects:            1\n" in out
    assert "  New data objects:              1\n" in out
    assert oid_of(instance, data_dir / "new.png")


def test_label_studio_instantiate_summary_has_no_blank_line(workspace, tmp_path):
    """Upstream writes label-studio's one file without a progress bar, so no blank line."""
    out = ok("instantiate", "-m", "label-studio", "-t", str(tmp_path / "out"))

    assert out.startswith("Copied dataset to workspace.\n")
