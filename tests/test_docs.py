"""Every command and option of the ``ldb`` app has help text and is in docs/commands.md."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import typer.main

from ldb_clone.cli import app

COMMANDS_MD = Path(__file__).resolve().parents[1] / "docs" / "commands.md"
COMMANDS = typer.main.get_command(app).commands
# Options every command shares; documented once for all commands.
COMMON_OPTIONS = {"--verbose", "--quiet", "--help"}


def docs_text() -> str:
    assert COMMANDS_MD.is_file(), f"{COMMANDS_MD} is missing"
    return COMMANDS_MD.read_text(encoding="utf-8")


def section(text: str, name: str) -> str:
    """The text below the heading of ``ldb <name>`` up to the next level-2 heading."""
    match = re.search(rf"^## `ldb {re.escape(name)}`[^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no heading '## `ldb {name}`' in {COMMANDS_MD.name}"
    return match.group(1)


def test_the_app_has_commands():
    assert {"init", "add-storage", "index", "list", "eval", "status"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_help_text(name: str):
    command = COMMANDS[name]
    assert command.help and command.help.strip(), f"ldb {name} has no help text"
    assert command.get_short_help_str().strip()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help_text(name: str):
    for param in COMMANDS[name].params:
        if isinstance(param, click.Option):
            assert param.help and param.help.strip(), f"ldb {name} {param.opts} has no help"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_a_heading_in_commands_md(name: str):
    text = docs_text()
    assert re.search(rf"^## `ldb {re.escape(name)}`", text, re.M), (
        f"docs/commands.md has no heading '## `ldb {name}`'"
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_options_are_documented(name: str):
    body = section(docs_text(), name)
    for param in COMMANDS[name].params:
        if not isinstance(param, click.Option):
            continue
        if set(param.opts) & COMMON_OPTIONS:
            continue
        # Either spelling counts, as a whole word: `-p KEY=VALUE` documents -p/--param.
        assert any(
            re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", body) for opt in param.opts
        ), f"ldb {name}: option {'/'.join(param.opts)} is not in its docs/commands.md section"


def test_documented_commands_exist():
    headings = re.findall(r"^## `ldb ([a-z-]+)", docs_text(), re.M)
    assert headings
    assert sorted(set(headings) - set(COMMANDS)) == []


def format_rows(text: str) -> dict[str, list[str]]:
    """The table of the ``ldb formats`` section: format name -> its cells."""
    rows = {}
    for line in section(text, "formats").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = cells[0].strip("`")
        if line.startswith("|") and re.fullmatch(r"[a-z][a-z-]*", name) and name != "format":
            rows[name] = cells
    return rows


def backticked(cell: str) -> set[str]:
    return set(re.findall(r"`([^`=]+)(?:=[^`]*)?`", cell))


def test_every_format_is_in_the_formats_table_of_commands_md():
    """Names, aliases and parameters in docs/commands.md are the plug-ins' declarations
    (and nothing else): a format or parameter added without docs fails here."""
    from ldb_clone.formats import all_formats

    rows = format_rows(docs_text())
    declared = {fmt.name: fmt for fmt in all_formats()}
    assert sorted(rows) == sorted(declared)
    for name, fmt in declared.items():
        _, aliases, does, carries, params = rows[name]
        assert backticked(aliases) == set(fmt.aliases), name
        assert backticked(params) == set(fmt.params), name
        assert ("index" in does) == (fmt.parse is not None), name
        assert ("instantiate" in does) == (fmt.export is not None), name
        assert {w.strip() for w in carries.split(",")} == set(fmt.carries), name
        for key, param in fmt.params.items():
            if param.default is not None:
                assert f"`{key}={param.default}`" in params, (name, key)
