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
