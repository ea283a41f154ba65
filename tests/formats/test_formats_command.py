"""``ldb formats``: every format from its plug-in's declarations (aliases, what it does and
carries, parameters with defaults), and the ``-m`` help built from the same table."""

from __future__ import annotations

import json

import pytest
import typer.main
from typer.testing import CliRunner

from ldb_clone import formats
from ldb_clone.cli import app
from ldb_clone.formats.base import CARRIES, Format, Param


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_formats_json_lists_every_format_from_its_declaration():
    result = run("formats", "--json")

    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert sorted(rows) == sorted(formats.names())
    assert rows["voc"]["aliases"] == ["pascal-voc", "voc-detection"]
    assert rows["voc"]["index"] and rows["voc"]["instantiate"]
    assert rows["voc"]["carries"] == ["boxes"]
    assert rows["tensorflow-inferred"]["aliases"] == ["infer"]
    assert {k: rows["tensorflow-inferred"]["params"][0][k] for k in ("name", "default")} == {
        "name": "label-key",
        "default": "label",
    }
    assert rows["annotation-only"]["params"][0]["default"] == "false"
    assert rows["coco"]["carries"] == ["boxes", "masks"]
    for row in rows.values():
        assert row["description"] and set(row["carries"]) <= set(CARRIES), row["name"]
        assert all(p["help"] for p in row["params"]), row["name"]


def test_formats_text_shows_aliases_parameters_and_defaults():
    result = run("formats")

    assert result.exit_code == 0, result.output
    assert "voc (pascal-voc, voc-detection)" in result.stdout
    assert "  index and instantiate; carries boxes, masks" in result.stdout  # coco
    assert "  -p label-key=... (default: label): dotted key" in result.stdout
    assert "  -p images=...: folder holding the images" in result.stdout


def test_aliases_come_from_the_declarations_once():
    seen: dict[str, str] = {}
    for fmt in formats.all_formats():
        for alias in fmt.aliases:
            assert alias not in seen, (alias, fmt.name, seen.get(alias))
            seen[alias] = fmt.name
            assert formats.canonical_name(alias) == fmt.name
    assert formats.canonical_name("auto") == formats.AUTO


@pytest.mark.parametrize("spelling", ["voc", "VOC", "pascal-voc", "pascal_voc", "voc_detection"])
def test_voc_spellings_of_other_converters(spelling):
    assert formats.canonical_name(spelling) == "voc"


@pytest.mark.parametrize("command", ["index", "instantiate", "get"])
def test_format_option_help_names_every_format(command):
    option = next(
        p
        for p in typer.main.get_command(app).commands[command].params
        if "--format" in getattr(p, "opts", ())
    )
    for name in formats.names():
        assert formats.short_name(name) in option.help, (command, name)
    assert "ldb formats" in option.help


def test_a_plain_help_string_is_a_parameter_without_default():
    fmt = Format(name="x", params={"a": "help a", "b": Param("help b", "1")})

    assert fmt.params == {"a": Param("help a"), "b": Param("help b", "1")}
    assert fmt.check_params({"b": "2"}) == {"b": "2"}
