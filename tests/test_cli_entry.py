"""``ldb_clone.cli.entry``: a command line builds only the command it runs."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from ldb_clone.cli.entry import (
    COMMANDS,
    GROUPS,
    build_app,
    command_function,
    command_name,
    full_app,
)
from tests.helpers import run_cli


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["index", "-m", "coco", "x"], "index"),
        (["-v", "list", "-s"], "list"),
        (["-vv", "-q", "--verbose", "--quiet", "add-storage", "d"], "add-storage"),
        (["-qv", "status"], "status"),
        (["ds", "list"], "ds"),
        (["storage", "rm", "x"], "storage"),
        (["--help"], None),
        (["-h", "index"], None),
        (["-V"], None),
        ([], None),
        (["nosuch"], None),
        (["-x", "index"], None),  # an unknown global option: the full app says what is wrong
        (["list_"], None),  # the function's name is not the command's
    ],
)
def test_command_name(args, expected):
    assert command_name(args) == expected


def _marked_name(function) -> str:
    return function.ldb_command["name"] or function.__name__.replace("_", "-")


def test_the_table_names_each_command_as_its_function_is_marked():
    for name, module, function in COMMANDS:
        assert _marked_name(command_function(module, function)) == name
    for members in GROUPS.values():
        for name, module, function in members:
            assert _marked_name(command_function(module, function)) == name


def test_one_command_app_holds_only_that_command():
    only = typer.main.get_command(build_app("instantiate"))
    assert list(only.commands) == ["instantiate"]
    group = typer.main.get_command(build_app("storage"))
    assert list(group.commands) == ["storage"]
    assert sorted(group.commands["storage"].commands) == ["list", "rm"]


def test_every_command_is_in_the_full_app_in_help_order():
    commands = list(typer.main.get_command(full_app()).commands)
    assert commands == [name for name, _, _ in COMMANDS] + list(GROUPS)


@pytest.mark.parametrize("args", [["index", "--help"], ["ds", "del", "--help"], ["get", "-h"]])
def test_a_command_help_is_the_same_through_main(args):
    whole = CliRunner().invoke(full_app(), args, prog_name="ldb")
    alone = run_cli(*args)
    assert (alone.returncode, alone.stdout) == (whole.exit_code, whole.output)
    assert alone.stdout.startswith(f"Usage: ldb {' '.join(args[:-1])} [OPTIONS]")


def test_unknown_command_gets_the_suggestion_of_the_full_app():
    result = run_cli("indx")
    assert result.returncode == 2
    assert "No such command 'indx'" in result.stderr
    assert "index" in result.stderr  # click's "Did you mean" needs every name


@pytest.mark.process
def test_a_command_imports_no_other_command_module():
    code = (
        "import sys\n"
        "from ldb_clone.cli import main\n"
        "try:\n"
        "    main(['formats', '--json'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.endswith('_cmds'))), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.split() == ["ldb_clone.cli.setup_cmds"]
    assert '"coco"' in done.stdout
