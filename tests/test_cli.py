"""The ``ldb`` command line: global options, errors, and ``list``/``eval``/``status`` output.

Output formats are checked in-process with typer's CliRunner (fast); the entry points,
exit codes and tracebacks with the real command in a subprocess (the ``ldb`` fixture).
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from ldb_clone import __version__
from ldb_clone.cli import app
from ldb_clone.indexing import index
from ldb_clone.instance import Instance
from tests.helpers import assert_one_error_line

VALUES = {
    "a": {"label": "cat", "n": 1},
    "b": {"label": "dog", "box": {"y": 2, "x": 1}, "tags": ["x", "y"]},
    "c": None,  # no annotation
}
HEADER = f"{'Data Object Hash':36}  {'Annot':3}  {'Data Object Path':24}  {'Transforms':24}"


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def left_truncate(text: str, width: int = 24) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def row(oid: str, version: int | None, path: str, cut: bool = False) -> str:
    """A list row; paths are cut to 24 characters only on a narrow terminal."""
    shown = left_truncate(path) if cut else path
    return f" id:{oid}   {version or '-'}      {shown:24}  self"


@pytest.fixture
def objects(instance: Instance, data_dir: Path, make_image, make_json) -> dict[str, dict]:
    """Three indexed images: two annotated (a, b), one not (c), with long paths."""
    result = {}
    deep = data_dir / "some" / "deeper" / "folder"
    for name, value in VALUES.items():
        image = make_image(deep / f"{name}.png")
        if value is not None:
            make_json(deep / f"{name}.json", value)
        aid = instance.hasher.annotation_id(value)[0] if value is not None else None
        result[name] = {
            "id": instance.hasher.file_digest(str(image)),
            "path": str(image),
            "value": value,
            "annotation_id": aid,
            "version": 1 if value is not None else None,
        }
    index(instance, [str(data_dir)], "bare")
    assert len(str(deep / "a.png")) > 24
    return result


def by_id(objects: dict[str, dict]) -> list[dict]:
    return sorted(objects.values(), key=lambda o: o["id"])


# version, help, entry points --------------------------------------------------------------


def ldb_script() -> str:
    """The ``ldb`` script installed with this Python (not another ``ldb`` on PATH)."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "ldb"
        if candidate.is_file():
            return str(candidate)
    pytest.skip("the ldb console script is not installed")


@pytest.mark.process
@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_console_script(flag):
    result = subprocess.run([ldb_script(), flag], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout == f"ldb {__version__}\n"
    assert result.stderr == ""


@pytest.mark.process
def test_version_python_module(ldb_process):
    result = ldb_process("--version", check=True)
    assert result.stdout == f"ldb {__version__}\n"
    assert ldb_process("-V", check=True).stdout == f"ldb {__version__}\n"


def test_version_in_process(ldb):
    assert ldb("--version", check=True).stdout == f"ldb {__version__}\n"


def test_version_through_the_option_parser():
    # Not the fast path in main(): the eager typer option.
    result = run("-v", "--version")
    assert result.exit_code == 0
    assert result.stdout == f"ldb {__version__}\n"


@pytest.mark.process
def test_help_lists_the_commands_console_script():
    result = subprocess.run([ldb_script(), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: ldb ")
    commands = section_words(result.stdout, "Commands:")
    assert {"init", "add-storage", "index", "list", "eval", "status"} <= commands


def test_help_python_module(ldb):
    result = ldb("--help", check=True)
    assert {"init", "add-storage", "index", "list", "eval", "status"} <= section_words(
        result.stdout, "Commands:"
    )
    assert "--version" in result.stdout
    assert ldb("-h", check=True).stdout == result.stdout


def section_words(text: str, heading: str) -> set[str]:
    """First word of each indented line below ``heading`` in a help text."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    words = set()
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        words.add(line.split()[0])
    return words


@pytest.mark.parametrize("command", ["init", "add-storage", "index", "list", "eval", "status"])
def test_subcommand_help(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: ldb {command} ")
    assert "-v, --verbose" in result.stdout
    assert run(command, "-h").stdout == result.stdout


def test_no_arguments_prints_usage(ldb):
    result = ldb()
    assert result.returncode in (0, 2)
    assert "Usage: ldb" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error(ldb):
    result = ldb("frobnicate")
    assert result.returncode == 2
    assert "frobnicate" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_option_is_a_usage_error():
    result = run("list", "--no-such-option")
    assert result.exit_code == 2
    assert "--no-such-option" in result.stderr


def test_all_commands_registered():
    commands = typer.main.get_command(app).commands
    assert {"init", "add-storage", "index", "list", "eval", "status"} <= set(commands)


# errors -----------------------------------------------------------------------------------


def test_ldb_error_is_one_line_without_traceback(instance: Instance, ldb):
    result = ldb("list", "ds:nope")
    assert result.returncode == 1
    assert result.stdout == ""
    assert_one_error_line(result, "ds:nope")


@pytest.mark.parametrize(
    "args", [("-v", "list", "ds:nope"), ("list", "-v", "ds:nope")], ids=["before", "after"]
)
def test_verbose_error_prints_traceback(instance: Instance, ldb, args):
    result = ldb(*args)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: ")
    assert "ds:nope" in result.stderr.splitlines()[-1]


def test_unexpected_exception_is_one_line(objects, monkeypatch: pytest.MonkeyPatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("ldb_clone.views.list_rows", broken)
    result = run("list", "ds:root")
    assert result.exit_code == 1
    line = assert_one_error_line(result, "boom")
    assert not line.startswith("error: RuntimeError:")


def test_unexpected_exception_traceback_with_verbose(objects, monkeypatch: pytest.MonkeyPatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("ldb_clone.views.list_rows", broken)
    result = run("-v", "list", "ds:root")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "RuntimeError: boom" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: boom")


def test_mixed_source_kinds_are_an_error(objects):
    result = run("list", "ds:root", f"id:{objects['a']['id']}")
    assert result.exit_code == 1
    assert_one_error_line(result)


# list -------------------------------------------------------------------------------------


def test_list_table(objects):
    result = run("list", "ds:root")
    assert result.exit_code == 0, result.output
    expected = [HEADER]
    expected += [row(o["id"], o["version"], o["path"]) for o in by_id(objects)]
    expected += ["", "3 matching data objects"]
    assert result.stdout.splitlines() == expected
    assert result.stderr == ""


def test_list_rows_match_upstream_columns(objects, monkeypatch: pytest.MonkeyPatch):
    # Upstream: " id:06430cccfe24c272d92ef493ab0497f1   1      ...e/user/lake/data/a.png  self"
    from ldb_clone import console

    monkeypatch.setattr(console, "terminal_columns", lambda: 72)  # narrow: upstream's 24
    lines = run("list", "ds:root").stdout.splitlines()
    a = objects["a"]
    line = next(line for line in lines if a["id"] in line)
    assert line == f" id:{a['id']}   1      ...{a['path'][-21:]}  self"
    c = objects["c"]
    line = next(line for line in lines if c["id"] in line)
    assert line == f" id:{c['id']}   -      ...{c['path'][-21:]}  self"
    assert lines[0] == (
        "Data Object Hash                      Annot  Data Object Path          Transforms"
        + " " * 14
    )


def test_list_without_source_outside_a_workspace_names_ds_root(objects):
    result = run("list")
    assert result.exit_code == 1
    assert_one_error_line(result, "No workspace dataset staged at '.'", "ds:root")


def test_list_summary(objects):
    result = run("list", "-s", "ds:root")
    assert result.exit_code == 0
    assert result.stdout == "3\n"
    assert run("list", "--summary", "ds:root").stdout == "3\n"


def test_list_summary_of_ds_root_is_counted_by_the_catalog(objects, instance, monkeypatch):
    """``list -s ds:root`` asks the catalog for the count (one object has no annotation)
    and loads no member, which on a million objects takes seconds; with a filter the
    members are selected as before."""

    def no_members(*args, **kwargs):
        raise AssertionError("list -s ds:root loaded the members")

    with monkeypatch.context() as patched:
        patched.setattr(type(instance.catalog), "root_members", no_members)
        assert run("list", "-s", "ds:root").stdout == "3\n"
        assert run("list", "-s", "ds:root", "ds:root").stdout == "3\n"
    assert run("list", "-s", "ds:root", "--query", "label == `cat`").stdout == "1\n"


@pytest.mark.parametrize(
    "args", [("-v", "list", "ds:root"), ("list", "-v", "ds:root")], ids=["before", "after"]
)
def test_list_verbose_shows_full_paths(objects, args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    expected = [HEADER]
    expected += [row(o["id"], o["version"], o["path"]) for o in by_id(objects)]
    expected += ["", "3 matching data objects"]
    assert result.stdout.splitlines() == expected


@pytest.mark.parametrize(
    "args", [("-q", "list", "ds:root"), ("list", "-q", "ds:root")], ids=["before", "after"]
)
def test_quiet_is_accepted_before_and_after(objects, args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout == run("list", "ds:root").stdout


def test_global_options_subprocess(objects, ldb):
    before = ldb("-v", "list", "ds:root", check=True)
    after = ldb("list", "-v", "ds:root", check=True)
    assert before.stdout == after.stdout
    assert objects["a"]["path"] in before.stdout


def test_list_json(objects):
    result = run("list", "--json", "ds:root")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert rows == [
        {
            "id": o["id"],
            "annotation_id": o["annotation_id"],
            "annotation_version": o["version"],
            "path": o["path"],
            "transforms": ["self"],
        }
        for o in by_id(objects)
    ]


def test_list_by_full_id_and_prefix(objects):
    a = objects["a"]
    expected = [HEADER, row(a["id"], 1, a["path"]), "", "1 matching data objects"]
    assert run("list", f"id:{a['id']}").stdout.splitlines() == expected
    assert run("list", f"id:{a['id'][:8]}").stdout.splitlines() == expected
    c = objects["c"]
    result = run("list", f"id:{c['id'][:12]}", f"id:{a['id']}")
    assert result.stdout.splitlines()[-1] == "2 matching data objects"


def test_list_id_prefix_too_short(objects):
    result = run("list", f"id:{objects['a']['id'][:4]}")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert_one_error_line(result, "too short")


def unknown_id(objects) -> str:
    known = {o["id"][0] for o in objects.values()}
    first = next(c for c in "0123456789abcdef" if c not in known)
    return first * 32


def test_list_unknown_id(objects):
    missing = unknown_id(objects)
    result = run("list", f"id:{missing}")
    assert result.exit_code == 1
    assert_one_error_line(result, missing)
    result = run("list", f"id:{missing[:8]}")
    assert result.exit_code == 1
    assert_one_error_line(result, missing[:8])


def test_list_empty_instance(instance: Instance):
    result = run("list", "ds:root")
    assert result.exit_code == 0
    assert result.stdout == "\n0 matching data objects\n"
    assert run("list", "-s", "ds:root").stdout == "0\n"
    assert json.loads(run("list", "--json", "ds:root").stdout) == []


# eval -------------------------------------------------------------------------------------


def test_eval_prints_id_and_indented_json(objects):
    result = run("eval", "ds:root")
    assert result.exit_code == 0, result.output
    expected = ""
    for o in by_id(objects):
        expected += f"id:{o['id']}\n{json.dumps(o['value'], indent=2, sort_keys=True)}\n\n"
    assert result.stdout == expected
    assert result.stderr == ""


def test_eval_unannotated_object_prints_null(objects):
    c = objects["c"]
    result = run("eval", f"id:{c['id']}")
    assert result.stdout == f"id:{c['id']}\nnull\n\n"


def test_eval_json_only(objects):
    result = run("eval", "-j", "ds:root")
    expected = "".join(
        json.dumps(o["value"], indent=2, sort_keys=True) + "\n" for o in by_id(objects)
    )
    assert result.stdout == expected
    assert run("eval", "--json-only", "ds:root").stdout == expected


@pytest.mark.parametrize(
    ("indent", "dump_indent"),
    [("none", None), ("None", None), ("4", 4), ("0", 0), ("\t", "\t"), ("  ", "  ")],
    ids=["none", "None", "4", "0", "tab", "spaces"],
)
def test_eval_indent(objects, indent, dump_indent):
    b = objects["b"]
    result = run("eval", "--indent", indent, f"id:{b['id']}")
    assert result.exit_code == 0, result.output
    dumped = json.dumps(b["value"], indent=dump_indent, sort_keys=True)
    assert result.stdout == f"id:{b['id']}\n{dumped}\n\n"


def test_eval_indent_none_is_one_line(objects):
    result = run("eval", "-j", "--indent", "none", "ds:root")
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert [json.loads(line) for line in lines] == [o["value"] for o in by_id(objects)]


def test_eval_bad_indent_is_a_usage_error(objects):
    result = run("eval", "--indent", "wide", "ds:root")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_eval_json_records_output(objects):
    result = run("eval", "--json-records", "ds:root")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {"id": o["id"], "annotation": o["value"]} for o in by_id(objects)
    ]


def test_eval_non_ascii_annotation(instance: Instance, data_dir: Path, make_image, make_json):
    image = make_image(data_dir / "x.png")
    value = {"label": "chat noir é", "名前": "猫"}
    make_json(data_dir / "x.json", value)
    index(instance, [str(data_dir)], "strict")
    result = run("eval", "-j", "--indent", "none", "ds:root")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == value
    assert instance.hasher.file_digest(str(image)) in run("list", "ds:root").stdout


def test_eval_empty_instance(instance: Instance):
    result = run("eval", "ds:root")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_eval_subprocess(objects, ldb):
    a = objects["a"]
    result = ldb("eval", f"id:{a['id'][:10]}", check=True)
    assert result.stdout == f"id:{a['id']}\n{json.dumps(a['value'], indent=2)}\n\n"


# status -----------------------------------------------------------------------------------


STATUS_3 = """\
ds:root
  Num data objects:        3
  Num annotations:         2

  auto-pull:        false

Labelling progress:
  Labelled:                2
  Unlabelled:              1
  Progress:            66.7%
"""


def test_status_root(objects):
    result = run("status", "ds:root")
    assert result.exit_code == 0, result.output
    assert result.stdout == STATUS_3


def test_status_upstream_lines(objects):
    # Upstream: "  Num data objects:       32" / "  Num annotations:        23"
    lines = run("status", "ds:root").stdout.splitlines()
    assert lines[1] == "  Num data objects:" + " " * 8 + "3"
    assert lines[2] == "  Num annotations:" + " " * 9 + "2"
    assert lines[4] == "  auto-pull:        false"


def test_status_json(objects):
    result = run("status", "--json", "ds:root")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "dataset": "ds:root",
        "num_data_objects": 3,
        "num_annotations": 2,
        "num_unlabelled": 1,
        "labelling_progress": 66.67,
        "auto_pull": False,
    }


def test_status_empty_instance(instance: Instance):
    result = run("status", "ds:root")
    assert result.exit_code == 0
    assert result.stdout == (
        "ds:root\n"
        "  Num data objects:        0\n"
        "  Num annotations:         0\n"
        "\n"
        "  auto-pull:        false\n"
        "\n"
        "Labelling progress:\n"
        "  Labelled:                0\n"
        "  Unlabelled:              0\n"
        "  Progress:             0.0%\n"
    )


def test_status_unknown_dataset(instance: Instance):
    result = run("status", "ds:nope")
    assert result.exit_code == 1
    assert_one_error_line(result, "ds:nope")


@pytest.mark.process
def test_status_subprocess(objects, ldb_process):
    assert ldb_process("status", "ds:root", check=True).stdout == STATUS_3


@pytest.mark.process
def test_python_dash_m_runs_commands(objects):
    result = subprocess.run(
        [sys.executable, "-m", "ldb_clone", "list", "-s", "ds:root"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert result.stdout == "3\n"


def test_unambiguous_option_prefixes_are_accepted(objects):
    # Upstream's argparse accepts unique prefixes of long options (reference section 1.1).
    result = run("list", "--summ", "ds:root")
    assert result.exit_code == 0, result.output
    assert result.stdout == "3\n"
    result = run("eval", "--json-o", "ds:root")
    assert result.exit_code == 0, result.output
    assert result.stdout == run("eval", "-j", "ds:root").stdout
