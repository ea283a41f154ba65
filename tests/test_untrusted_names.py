"""File names from storage, as ``ldb list`` prints them and ``instantiate`` writes them:
control characters are escaped, names too long for the file system are shortened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.formats.exporting import ExportItem, fit_path, flat_name, shorten
from ldb_clone.instantiation import instantiate
from ldb_clone.selection import select_members
from ldb_clone.terminal_text import printable
from tests.conftest import write_image, write_json
from tests.helpers import assert_one_error_line, oid_of, run_index

MAX = 255


def test_list_escapes_control_characters_in_file_names(instance, data_dir):
    name = "evil\x1b]0;owned\x07\x1b[2J\u202egnp.png"
    write_image(data_dir / name)
    run_index(instance, data_dir, fmt="bare")

    result = CliRunner().invoke(app, ["list", "-v", "ds:root"])

    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\u202e" not in result.stdout
    assert "evil\\x1b]0;owned\\x07\\x1b[2J\\u202egnp.png" in result.stdout


def test_printable_leaves_ordinary_text_alone():
    assert printable("chats/été/猫 1.png") == "chats/été/猫 1.png"
    assert printable("a\tb\nc\r\x7f\x9b\udcff") == "a\\tb\\nc\\r\\x7f\\x9b\\xff"


@pytest.mark.parametrize("fmt", ["bare-pairs", "strict-pairs", "annotation-only"])
@pytest.mark.parametrize("stem", ["a" * 246, "é" * 123], ids=["ascii", "two-byte"])
def test_a_250_byte_file_name_can_be_instantiated(instance, data_dir, tmp_path, stem, fmt):
    image = write_image(data_dir / f"{stem}.png")
    write_json(data_dir / f"{stem}.json", {"label": "cat"})
    assert len(image.name.encode()) == 250
    run_index(instance, data_dir)
    oid = oid_of(instance, image)
    target = tmp_path / "out"

    instantiate(instance, select_members(instance, ["ds:root"]), str(target), fmt)

    names = sorted(os.listdir(target))
    expected = [".json"] if fmt == "annotation-only" else [".json", ".png"]
    assert [Path(name).suffix for name in names] == expected
    for name in names:
        assert len(name.encode()) <= MAX
        assert Path(name).stem.endswith(f"-{oid}")
        assert name.startswith(stem[:10])


def test_flat_names_keep_id_and_extension_within_255_bytes():
    oid = "0123456789abcdef0123456789abcdef"
    for name in ("x" * 300 + ".PNG", "猫" * 100 + ".jpeg", "a." + "e" * 300):
        item = ExportItem(oid, None, False, "/s/" + name, name)
        stem, ext = flat_name(item)
        assert stem.endswith("-" + oid)
        assert len((stem + max(ext, ".json", key=len)).encode()) <= MAX
        (stem + ext).encode("utf-8")  # cut between characters


def test_short_flat_names_are_unchanged():
    oid = "0123456789abcdef0123456789abcdef"
    item = ExportItem(oid, None, False, "/s/cat.v2.PNG", "cat.v2.PNG")
    assert flat_name(item) == (f"cat-v2-{oid}", ".png")


def test_preserve_paths_components_are_shortened():
    oid = "0123456789abcdef0123456789abcdef"
    long_dir_a, long_dir_b = "d" * 300 + "a", "d" * 300 + "b"
    a = fit_path(f"{long_dir_a}/{'f' * 260}.png", oid)
    b = fit_path(f"{long_dir_b}/ok.png", oid)
    folder_a, file_a = a.split("/")
    folder_b, _ = b.split("/")
    assert folder_a != folder_b  # two long names that share a prefix stay apart
    assert all(len(part.encode()) <= MAX for part in (folder_a, folder_b))
    assert file_a.endswith(f"-{oid}.png") and len(file_a.encode()) + 1 <= MAX
    assert fit_path("short/name.png", oid) == "short/name.png"


def test_shorten_cuts_between_characters():
    assert shorten("é" * 10, 5) == "éé"
    assert shorten("abc", 5) == "abc"


def test_errors_naming_a_file_escape_its_control_characters(instance, data_dir):
    image = write_image(data_dir / "x\x1b[2J.png")
    (data_dir / "x\x1b[2J.json").write_text("{NaN", encoding="utf-8")

    result = CliRunner().invoke(app, ["index", str(image)])

    assert result.exit_code == 1
    assert "\x1b" not in result.stderr
    assert_one_error_line(result, "x\\x1b[2J.json")
