"""Filters through the real command line: order, repetition, shows, and errors."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_index

LABELS = ["cat", "dog", "cat", "bird", "cat", "dog", "cat", "dog"]


@pytest.fixture
def pets(instance, data_dir, make_image, make_json):
    for n, label in enumerate(LABELS):
        make_image(data_dir / f"p{n}.png")
        make_json(data_dir / f"p{n}.json", {"label": label, "n": n})
    run_index(instance, data_dir, fmt="strict")
    return data_dir


def count(ldb, *args: str) -> int:
    result = ldb("list", "-s", "ds:root", *args, check=True)
    return int(result.stdout.strip())


def test_filters_apply_in_command_line_order(ldb, pets):
    cats = "label == `cat`"
    assert count(ldb, "--query", cats) == 4
    # the first three objects (by id) hold some cats; three cats exist among all
    first_three = json.loads(ldb("list", "--json", "ds:root", "--limit", "3", check=True).stdout)
    cats_in_first_three = sum(
        1
        for row in first_three
        if json.loads(ldb("eval", "--json-records", f"id:{row['id']}", check=True).stdout)[0][
            "annotation"
        ]["label"]
        == "cat"
    )
    assert count(ldb, "--limit", "3", "--query", cats) == cats_in_first_three
    assert count(ldb, "--query", cats, "--limit", "3") == 3


def test_repeated_filters_and_equals_form(ldb, pets):
    assert count(ldb, "--query", "label != `bird`", "--query=n > `4`") == 3
    assert count(ldb, "--jquery", "missing == other") == 8
    assert count(ldb, "--query", "missing == other") == 0


def test_file_filter_and_path_filter(ldb, pets):
    assert count(ldb, "--file", "type == `png`") == 8
    assert count(ldb, "--path", r"p[0-2]\.png$") == 3


def test_eval_shows(ldb, pets):
    result = ldb(
        "eval",
        "ds:root",
        "--query",
        "n == `1`",
        "--show",
        "label",
        "--file-show",
        "type",
        "-j",
        check=True,
    )
    assert result.stdout.split() == ['"png"', '"dog"']


def test_eval_show_errors_warn_once(ldb, pets):
    result = ldb("eval", "-j", "ds:root", "--limit", "2", "--show", "abs(label)", check=True)
    assert result.stdout.split() == ["null", "null"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1


def test_malformed_query_is_a_one_line_error_with_column(ldb, pets):
    result = ldb("list", "ds:root", "--query", "label ==")
    assert result.returncode == 1
    assert result.stderr.startswith("error: Invalid query 'label ==':")
    assert "column" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_sample_out_of_range_is_an_error(ldb, pets):
    result = ldb("list", "ds:root", "--sample", "2")
    assert result.returncode == 2  # a bad option value is a usage error (issue 13 item 12)
    assert "between 0 and 1" in result.stderr


def test_pipe_takes_the_words_after_it(ldb, pets, tmp_path):
    plugin = tmp_path / "take"
    plugin.write_text(
        "import json, sys\nrows = json.load(sys.stdin)\n"
        "for row in rows[: int(sys.argv[1])]:\n    print(row[0])\n"
    )
    import sys

    result = ldb(
        "list",
        "-s",
        "ds:root",
        "--pipe",
        sys.executable,
        str(plugin),
        "2",
        "--limit",
        "1",
        check=True,
    )
    assert result.stdout.strip() == "1"


def test_query_command_reads_stdin(ldb):
    result = ldb(
        "query",
        "-u",
        "--query",
        "n > `1`",
        "--show",
        "name",
        "--indent",
        "none",
        input=json.dumps([{"name": "a", "n": 1}, {"name": "b", "n": 2}]),
        check=True,
    )
    assert result.stdout == '"b"\n'


def test_query_command_files_and_slurp(ldb, tmp_path):
    (tmp_path / "a.json").write_text('{"x": 1}')
    (tmp_path / "b.json").write_text('{"x": 2}')
    result = ldb(
        "query",
        "-s",
        "--indent",
        "none",
        str(tmp_path / "a.json"),
        str(tmp_path / "b.json"),
        check=True,
    )
    assert json.loads(result.stdout) == [{"x": 1}, {"x": 2}]
    broken = tmp_path / "c.json"
    broken.write_text("{")
    failed = ldb("query", str(broken))
    assert failed.returncode == 1
    assert "c.json" in failed.stderr
