"""Issue 13 item 12: output traps found in a first day of use.

In-process runs (typer's CliRunner) except where the real process's exit code and
stderr are the point.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from ldb_clone import console
from ldb_clone.cli import app
from ldb_clone.indexing import index
from ldb_clone.instance import Instance
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def deep_pair(instance: Instance, data_dir: Path, make_image, make_json) -> Path:
    """One indexed pair whose path is far longer than 24 characters."""
    folder = data_dir / "a-rather-long-folder-name" / "and-another-long-one"
    image = make_image(folder / "image-with-a-long-name.png")
    make_json(folder / "image-with-a-long-name.json", {"label": "cat"})
    index(instance, [str(data_dir)], "bare")
    assert len(str(image)) > 60
    return image


# list width ----------------------------------------------------------------------------


def test_list_never_cuts_paths_when_not_a_terminal(deep_pair):
    result = run("list", "ds:root")
    assert result.exit_code == 0, result.output
    assert f"   {deep_pair}  self" in result.stdout
    assert "..." not in result.stdout


def test_list_uses_the_terminal_width(deep_pair, monkeypatch: pytest.MonkeyPatch):
    wide_enough = 60 + len(str(deep_pair))  # tmp paths are longer under pytest-xdist
    monkeypatch.setattr(console, "terminal_columns", lambda: wide_enough)
    wide = run("list", "ds:root").stdout
    assert f"   {deep_pair}  self" in wide
    monkeypatch.setattr(console, "terminal_columns", lambda: 80)
    narrow = next(line for line in run("list", "ds:root").stdout.splitlines() if "self" in line)
    assert len(narrow) == 80
    assert narrow.endswith(f"...{str(deep_pair)[-(80 - 52 - 3) :]}  self")


# instantiate progress --------------------------------------------------------------------


class RecordingReporter(Reporter):
    def __init__(self) -> None:
        super().__init__()
        self.totals: list[int] = []
        self.advanced = 0

    def progress(self, description: str, total_files: int, total_bytes: int):
        self.totals.append(total_bytes)
        reporter = self

        class Recorder:
            def advance(self, files: int = 1, nbytes: int = 0) -> None:
                reporter.advanced += nbytes

            def close(self) -> None:
                pass

        return Recorder()


def test_instantiate_progress_counts_every_byte_written(
    instance: Instance, data_dir: Path, make_image, make_json, tmp_path: Path
):
    for name in ("a", "b", "c"):
        make_image(data_dir / f"{name}.png", size=64)
        make_json(data_dir / f"{name}.json", {"label": name})
    index(instance, [str(data_dir)], "bare")
    reporter = RecordingReporter()
    target = tmp_path / "out"
    instantiate(
        instance, select_members(instance, ["ds:root"]), str(target), "bare", reporter=reporter
    )
    written = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    assert reporter.totals == [written]
    assert reporter.advanced == written


# usage errors ----------------------------------------------------------------------------


def test_typo_suggestion_is_printed_once(ldb):
    result = ldb("lst")
    assert result.returncode == 2
    assert result.stderr.count("Did you mean") == 1, result.stderr


@pytest.mark.parametrize("option, value", [("--limit", "abc"), ("--sample", "abc")])
def test_a_bad_limit_or_sample_is_a_usage_error(instance: Instance, option, value):
    result = run("list", option, value)
    assert result.exit_code == 2, result.output
    assert option in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("key", ["foo", "Bad Key", "9x"])
def test_an_unknown_param_key_lists_the_valid_ones(instance: Instance, key):
    result = run("instantiate", "ds:root", "-m", "coco", "-p", f"{key}=1", "-t", "out")
    assert result.exit_code == 1, result.output
    assert "Supported parameters for coco are: images" in result.stderr, result.stderr
    none = run("instantiate", "ds:root", "-m", "bare", "-p", f"{key}=1", "-t", "out")
    assert "No parameters are supported for bare-pairs" in none.stderr, none.stderr


# instantiate -m --------------------------------------------------------------------------


def complete_words(monkeypatch: pytest.MonkeyPatch, capsys, words: str) -> list[str]:
    from ldb_clone.completion import complete

    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split(" ")) - 1))
    assert complete(typer.main.get_command(app), "bash_complete") == 0
    return [line.split(",", 1)[1] for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("command", ["instantiate", "get"])
def test_instantiate_does_not_offer_auto(monkeypatch, capsys, command):
    offered = complete_words(monkeypatch, capsys, f"ldb {command} -m ")
    assert "bare" in offered and "coco" in offered
    assert not [name for name in offered if name.startswith("auto")]
    assert "auto" not in run(command, "--help").stdout


def test_index_offers_auto(monkeypatch, capsys):
    offered = complete_words(monkeypatch, capsys, "ldb index -m ")
    assert "auto" in offered and "bare" in offered


@pytest.mark.parametrize("fmt", ["auto", "auto-detect", "nonsense"])
def test_instantiate_auto_is_a_usage_error_naming_the_choices(instance: Instance, fmt):
    result = run("instantiate", "ds:root", "-m", fmt, "-t", "out")
    assert result.exit_code == 2, result.output
    choices = result.stderr.split("Choose from: ")[1]
    assert "bare" in choices
    assert "auto" not in choices


# -f into a folder that is not a workspace --------------------------------------------------


def test_force_into_a_folder_that_is_not_a_workspace_says_what_to_do(deep_pair, tmp_path: Path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    result = run("instantiate", "ds:root", "-f", "-t", str(target))
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("error: Not a workspace or an empty directory")
    assert "-f only clears a workspace" in line
    assert "empty or new folder" in line
    assert (target / "notes.txt").read_text() == "mine"
