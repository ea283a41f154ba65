"""The format protocol: every format declares itself completely, recognises its own files
(``detect``) and nothing else, and no module outside ``formats/`` names a format."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import ldb_clone
from ldb_clone import formats
from ldb_clone.formats import auto, detection
from ldb_clone.formats.declaration import CARRIES, Deferred, Format, Param
from ldb_clone.fs import FileEntry, Listing, list_path, read_bytes

PACKAGE = Path(ldb_clone.__file__).parent


class Reads:
    """The part of a ParseContext that ``detect`` uses, counting what it reads."""

    def __init__(self) -> None:
        self.params: dict[str, str] = {}
        self.reads: list[str] = []

    def read_json(self, entry: FileEntry) -> Any:
        self.reads.append(entry.path)
        return json.loads(read_bytes(entry))


def image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4)).save(path)


def write(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))


def listed(*paths: Path) -> list[Listing]:
    return [listing for path in paths for listing in list_path(str(path))]


# one sample folder per format: files relative to the folder -> content ("img": an image)
SAMPLES: dict[str, dict[str, Any]] = {
    "platform": {
        "annotations.json": {"task_type": "image_classification", "images": []},
        "images/a.png": "img",
    },
    "yolo": {"data.yaml": "names: [cat]\n", "images/a.png": "img", "labels/a.txt": "0 .5 .5 .1 .1"},
    "voc": {"Annotations/a.xml": "<annotation/>", "JPEGImages/a.png": "img"},
    "tensorflow-inferred": {"cat/a.png": "img", "dog/b.png": "img"},
    "text": {"a.txt": "hello", "a.json": {"annotations": {}, "annotationsData": {}}},
    "label-studio": {"export.json": [{"id": 1, "data": {"image": "a.png"}}]},
    "coco": {"coco.json": {"images": [], "annotations": [], "categories": []}},
    "annotation-only": {"a.json": {"annotation": {"label": 1}, "ldb_meta": {"path": "a.png"}}},
    "strict-pairs": {"a.png": "img", "a.json": {"label": 1}},
}


def make_sample(folder: Path, name: str) -> Path:
    for relative, content in SAMPLES[name].items():
        if content == "img":
            image(folder / relative)
        else:
            write(folder / relative, content)
    return folder


def test_every_format_declares_itself_completely():
    declared = formats.all_formats()

    assert [fmt.name for fmt in declared] == formats.names()
    for fmt in declared:
        assert isinstance(fmt, Format)
        assert fmt.name and fmt.name == fmt.name.lower(), fmt
        assert fmt.description.strip(), fmt.name
        assert fmt.carries and set(fmt.carries) <= set(CARRIES), fmt.name
        assert fmt.parse is not None and fmt.export is not None, fmt.name  # all built-ins do both
        assert all(isinstance(p, Param) and p.help for p in fmt.params.values()), fmt.name
        assert isinstance(fmt.detect_priority, int), fmt.name


def test_declared_operations_are_real_functions_of_the_format_package():
    for fmt in formats.all_formats():
        for operation in (fmt.parse, fmt.export):
            assert isinstance(operation, Deferred), fmt.name
            module_name, attr = operation.target.split(":")
            package = module_name.rsplit(".", 1)[0]
            assert callable(getattr(__import__(module_name, fromlist=[attr]), attr))
            assert fmt.detect is None or fmt.detect.__module__ == package, fmt.name


def test_every_format_but_bare_pairs_takes_part_in_auto_detection():
    detecting = {fmt.name for fmt in formats.all_formats() if fmt.detect is not None}

    assert detecting == set(formats.names()) - {"bare-pairs"}
    assert set(SAMPLES) == detecting
    last = max(formats.all_formats(), key=lambda fmt: fmt.detect_priority)
    assert last.name == "strict-pairs"  # the catch-all is asked last


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_detect_recognises_its_own_sample(tmp_path, name):
    folder = make_sample(tmp_path / name, name)

    assert formats.get_format(name).detect(Reads(), listed(folder)) is True


@pytest.mark.parametrize("name", sorted(set(SAMPLES) - {"strict-pairs"}))
def test_detect_refuses_a_folder_of_pairs(tmp_path, name):
    folder = make_sample(tmp_path / "pairs", "strict-pairs")

    assert formats.get_format(name).detect(Reads(), listed(folder)) is False


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_auto_detection_picks_the_format_of_each_sample(tmp_path, name):
    folder = make_sample(tmp_path / name, name)

    assert auto.detect(Reads(), listed(folder)) == name


def test_auto_detection_reads_a_document_once(tmp_path):
    """coco, label-studio, text and annotation-only all look at the first JSON file."""
    folder = make_sample(tmp_path / "annot", "annotation-only")
    ctx = Reads()

    assert auto.detect(ctx, listed(folder)) == "annotation-only"
    assert ctx.reads == [str(folder / "a.json")]
    assert detection._last is None  # the listing is not kept after detection


def test_platform_sample_without_images_is_not_platform(tmp_path):
    folder = make_sample(tmp_path / "p", "platform")
    (folder / "images" / "a.png").unlink()
    (folder / "images").rmdir()
    image(folder / "a.png")

    assert formats.get_format("platform").detect(Reads(), listed(folder)) is False


def test_yolo_without_class_names_is_not_yolo(tmp_path):
    folder = make_sample(tmp_path / "y", "yolo")
    (folder / "data.yaml").unlink()

    assert formats.get_format("yolo").detect(Reads(), listed(folder)) is False


def test_a_label_studio_export_of_texts_is_text_not_label_studio(tmp_path):
    export = tmp_path / "ls" / "export.json"
    write(export, [{"id": 1, "data": {"text": "hello"}}])

    assert auto.detect(Reads(), listed(export.parent)) == "text"


def test_declared_behaviour_of_the_formats():
    """What used to be ``if name == ...`` outside formats/, now each format's own word."""
    as_written = {f.name for f in formats.all_formats() if f.as_written}
    no_merge = {f.name for f in formats.all_formats() if not f.merges}
    no_bar = {f.name for f in formats.all_formats() if not f.export_progress_bar}

    assert as_written == {"strict-pairs", "bare-pairs", "annotation-only"}
    assert no_merge == {"label-studio"} and no_bar == {"label-studio"}
    assert formats.get_format("infer").leading_blank_line
    assert formats.get_format("annot").counts_read_objects_only


def test_a_third_party_format_comes_in_through_the_entry_point_group(monkeypatch, tmp_path):
    module = tmp_path / "my_ldb_format.py"
    module.write_text(
        "from ldb_clone.formats.declaration import Format\n"
        "def detect(ctx, listings):\n"
        "    return any(e.path.endswith('.mine') for l in listings for e in l.entries)\n"
        "MINE = Format(name='mine', aliases=('my',), parse='my_ldb_format:parse',\n"
        "              description='Mine.', carries=('labels',), detect=detect,\n"
        "              detect_priority=5)\n"
        "def parse(ctx, listings):\n"
        "    return iter(())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    class EntryPoint:
        name, value = "mine", "my_ldb_format:MINE"

    def entry_points(group: str):
        return [EntryPoint()] if group == formats.ENTRY_POINT_GROUP else []

    monkeypatch.setattr("importlib.metadata.entry_points", entry_points)
    monkeypatch.setattr(formats, "_formats", {})
    monkeypatch.setattr(formats, "_aliases", {formats.AUTO_ALIAS: formats.AUTO})
    monkeypatch.setattr(formats, "_builtin_read", False)
    monkeypatch.setattr(formats, "_entry_points_read", False)

    assert formats.canonical_name("my") == "mine"
    assert formats.get_format("mine").parse(None, []) is not None
    assert [f.name for f in formats.all_formats()][-1] == "mine"
    assert "my" in formats.index_choices()
    write(tmp_path / "data" / "a.mine", "x")
    assert auto.detect(Reads(), listed(tmp_path / "data")) == "mine"


def _format_spellings() -> set[str]:
    spellings = {formats.AUTO, formats.AUTO_ALIAS}
    for fmt in formats.all_formats():
        spellings |= {fmt.name, *fmt.aliases}
    return spellings


def test_no_module_outside_formats_names_a_format():
    """Everything format-specific is declared by the format (DESIGN.md, Formats): a string
    literal that is a format's name or alias outside formats/ is a special case."""
    spellings = _format_spellings()
    # words that are a format's name by coincidence: SQL's type name, a file suffix
    not_formats = {("catalog/", "text"), ("view/collect.py", "text")}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if "formats" in relative.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and node.value in spellings
                and not any(
                    relative.as_posix().startswith(where) and node.value == word
                    for where, word in not_formats
                )
            ):
                found.append(f"{relative}:{node.lineno}: {node.value!r}")
    assert found == []


def test_the_scan_finds_a_format_name(tmp_path):
    """The scan above can fail: the same walk finds a literal in a sample module."""
    source = 'if fmt.name == "label-studio":\n    pass\n'
    spellings = _format_spellings()
    hits = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and node.value in spellings
    ]
    assert hits == ["label-studio"]


def test_ldb_help_imports_no_format_code():
    """The -m help needs only the declarations: no parse/export module is imported."""
    code = (
        "import sys, ldb_clone.cli\n"
        "ldb_clone.cli.app\n"  # every command, as ldb --help builds them
        "print('\\n'.join(m for m in sys.modules if m.startswith('ldb_clone.formats')))"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}  # this tree's ldb_clone
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    # the registry and the declarations (and what they import): the rest is format code
    light = {"ldb_clone.formats", "ldb_clone.formats.declaration"}
    light |= {"ldb_clone.formats.common_params"}
    light |= {dotted.split(":")[0] for dotted in formats.BUILTIN}
    assert "ldb_clone.formats.yolo" in imported
    assert sorted(set(imported) - light) == []
