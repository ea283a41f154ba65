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


def _leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), command


# every command that runs, nested ones by their full name ("ds list", "storage rm")
LEAF_COMMANDS = dict(_leaf_commands(typer.main.get_command(app)))
NESTED = sorted(name for name in LEAF_COMMANDS if " " in name)
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


def test_nested_commands_are_found():
    assert {"ds list", "ds del", "storage list", "storage rm"} <= set(NESTED)


@pytest.mark.parametrize("name", sorted(COMMANDS.keys() | LEAF_COMMANDS.keys()))
def test_command_has_help_text(name: str):
    command = LEAF_COMMANDS.get(name) or COMMANDS[name]
    assert command.help and command.help.strip(), f"ldb {name} has no help text"
    assert command.get_short_help_str().strip()


@pytest.mark.parametrize("name", sorted(LEAF_COMMANDS))
def test_every_option_has_help_text(name: str):
    for param in LEAF_COMMANDS[name].params:
        if isinstance(param, click.Option):
            assert param.help and param.help.strip(), f"ldb {name} {param.opts} has no help"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_a_heading_in_commands_md(name: str):
    text = docs_text()
    assert re.search(rf"^## `ldb {re.escape(name)}`", text, re.M), (
        f"docs/commands.md has no heading '## `ldb {name}`'"
    )


@pytest.mark.parametrize("name", sorted(LEAF_COMMANDS))
def test_command_options_are_documented(name: str):
    """Each option is in the section of its command; a nested command's options are in
    its group's section (``ldb ds list -a`` under ``ldb ds``), which names it in full."""
    body = section(docs_text(), name.split()[0])
    if " " in name:
        group = name.split()[0]
        assert f"ldb {name}" in body, f"the `ldb {group}` section does not show `ldb {name}`"
    for param in LEAF_COMMANDS[name].params:
        if not isinstance(param, click.Option):
            continue
        if set(param.opts) & COMMON_OPTIONS:
            continue
        # Either spelling counts, as a whole word: `-p KEY=VALUE` documents -p/--param.
        assert any(
            re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", body) for opt in param.opts
        ), f"ldb {name}: option {'/'.join(param.opts)} is not in its docs/commands.md section"


@pytest.mark.parametrize("name", sorted(LEAF_COMMANDS))
def test_command_has_a_synopsis(name: str):
    """A code block in its section starts a line with ``ldb <name>``, then its options
    and arguments."""
    body = section(docs_text(), name.split()[0])
    blocks = re.findall(r"^```\n(.*?)^```", body, re.M | re.S)
    assert any(re.search(rf"^ldb {re.escape(name)}(?= |$)", b, re.M) for b in blocks), (
        f"the `ldb {name.split()[0]}` section has no synopsis `ldb {name} ...`"
    )


def synopsis_options(name: str) -> set[str]:
    """The options the synopsis line ``ldb <name> ...`` of docs/commands.md shows."""
    body = section(docs_text(), name.split()[0])
    lines = re.findall(rf"^ldb {re.escape(name)}(?= |$)(.*)$", body, re.M)
    assert lines, f"no synopsis line `ldb {name} ...` in docs/commands.md"
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", " ".join(lines)))


@pytest.mark.parametrize("name", NESTED)
def test_nested_command_synopsis_shows_exactly_its_options(name: str):
    """``ldb ds list [-a] [--json]``: every option of a nested command is on its own
    synopsis line (not only somewhere in its group's section, where a sibling's option
    of the same name would hide it), and every option shown there exists."""
    options = {
        opt
        for param in LEAF_COMMANDS[name].params
        if isinstance(param, click.Option) and not set(param.opts) & COMMON_OPTIONS
        for opt in param.opts
    }
    shown = synopsis_options(name)
    assert shown <= options, f"ldb {name}: the synopsis shows unknown {sorted(shown - options)}"
    for param in LEAF_COMMANDS[name].params:
        if isinstance(param, click.Option) and not set(param.opts) & COMMON_OPTIONS:
            assert set(param.opts) & shown, f"ldb {name}: {'/'.join(param.opts)} not in synopsis"


def test_the_apps_own_options_are_in_the_introduction():
    """``ldb -V``, ``ldb -v``: options given before any command, documented before the
    first command's section."""
    intro = docs_text().split("\n## ", 1)[0]
    for param in typer.main.get_command(app).params:
        if isinstance(param, click.Option):
            assert any(
                re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", intro) for opt in param.opts
            ), f"ldb {'/'.join(param.opts)} is not in docs/commands.md's introduction"


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
