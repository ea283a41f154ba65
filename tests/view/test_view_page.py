"""ldb view: the written folder (page structure parsed with html.parser, data.js,
thumbnails, annotation files), --copy, --diff, and bad output folders."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.filters import select_filtered
from ldb_clone.formats.summary import EntitySpan
from ldb_clone.view import diff_members, write_view
from ldb_clone.view.collect import segments
from tests.conftest import write_image
from tests.helpers import run_index
from tests.view.conftest import IMAGES, KOREAN, korean_spans


def run(*args: str):
    return CliRunner().invoke(app, list(args))


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, Any]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def page_data(out: Path) -> dict[str, Any]:
    text = (out / "data.js").read_text(encoding="utf-8")
    prefix = "window.LDB_VIEW = "
    assert text.startswith(prefix) and text.rstrip().endswith(";")
    return json.loads(text[len(prefix) :].rstrip().rstrip(";"))


def parsed(out: Path) -> Tags:
    tags = Tags()
    tags.feed((out / "index.html").read_text(encoding="utf-8"))
    return tags


def stored_annotation(out: Path, annotation_id: str) -> Any:
    return json.loads((out / "annotations" / f"{annotation_id}.json").read_text(encoding="utf-8"))


def objects_by_id(out: Path) -> dict[str, dict[str, Any]]:
    return {o["i"]: o for o in page_data(out)["objects"]}


def test_view_writes_a_self_contained_page(instance, sample, tmp_path):
    result = run("view", "ds:root", "-o", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "site"
    tags = parsed(out)
    scripts = [attrs for tag, attrs in tags.tags if tag == "script"]
    assert scripts[0] == {"src": "data.js"} and scripts[1] == {}
    for _, attrs in tags.tags:  # nothing is loaded from the network
        for name in ("src", "href"):
            assert not str(attrs.get(name, "")).startswith(("http:", "https:", "//"))
    assert "fetch(" not in "".join(tags.scripts)
    assert "data-object-id" in tags.scripts[0] and "data-box-label" in tags.scripts[0]
    assert sum(1 for tag, _ in tags.tags if tag == "svg") >= 4  # the charts
    data = page_data(out)
    assert data["pageSize"] >= 100
    assert len(data["objects"]) == len(IMAGES) + 2


def test_images_get_thumbnails_and_boxes_in_image_pixels(instance, sample, tmp_path):
    out = tmp_path / "site"
    write_view(instance, select_filtered(instance, ["ds:root"], []), out)
    objects = objects_by_id(out)
    for n, oid in enumerate(sample.image_ids):
        record = objects[oid]
        size = 32 + 8 * n
        assert record["s"] == [size, size]
        with Image.open(out / "thumbs" / f"{record['i']}.jpg") as thumb:
            assert thumb.size == (size, size)
        label, boxes = IMAGES[n]
        assert record["l"] == label
        assert [tuple(b) for b in record.get("b", [])] == boxes
        annotation = json.loads(
            (out / "annotations" / f"{record['a']}.json").read_text(encoding="utf-8")
        )
        assert annotation["label"] == label
        assert record["h"].startswith("file://") and record["h"].endswith(f"img{n}.png")
    assert len(list((out / "thumbs").iterdir())) == len(IMAGES) + 1  # and the bare one


def test_large_images_are_shrunk_to_256_pixels(instance, data_dir, tmp_path):
    folder = data_dir / "big"
    big = folder / "wide.png"
    folder.mkdir()
    Image.new("RGB", (600, 300), (10, 200, 30)).save(big)
    run_index(instance, folder, fmt="bare")
    out = tmp_path / "site"
    write_view(instance, select_filtered(instance, ["ds:root"], []), out)
    (record,) = page_data(out)["objects"]
    assert record["s"] == [600, 300]
    with Image.open(out / "thumbs" / f"{record['i']}.jpg") as thumb:
        assert thumb.size == (256, 128)


def test_korean_text_is_cut_at_its_entities(instance, sample, tmp_path):
    out = tmp_path / "site"
    write_view(instance, select_filtered(instance, ["ds:root"], []), out)
    (text,) = [o for o in page_data(out)["objects"] if "x" in o]
    assert "".join(piece for piece, _ in text["x"]) == KOREAN
    position, marked = 0, {}
    for piece, entity_type in text["x"]:
        if entity_type:
            marked[entity_type] = (position, position + len(piece))
        position += len(piece)
    assert marked == korean_spans()
    assert text["r"] == [["affiliation", "이재용", "삼성전자"]]
    assert sorted(text["f"]) == ["LOC", "ORG", "PER"]


def test_segments_of_overlapping_and_outlying_entities():
    spans = [EntitySpan(0, 4, "A"), EntitySpan(2, 6, "B"), EntitySpan(8, 99, "C")]
    assert segments("abcdefghij", spans) == [
        ("ab", "A"),
        ("cd", "A"),
        ("ef", "B"),
        ("gh", None),
        ("ij", "C"),
    ]


def test_copy_puts_the_files_beside_the_page(instance, sample, tmp_path):
    out = tmp_path / "site"
    result = run("view", "ds:root", "--copy", "-o", str(out))
    assert result.exit_code == 0, result.output
    for n, oid in enumerate(sample.image_ids):
        href = objects_by_id(out)[oid]["h"]
        assert href == f"images/{oid}.png"
        assert (out / href).read_bytes() == (sample.images / f"img{n}.png").read_bytes()


def test_view_replaces_an_earlier_view_but_not_other_folders(instance, sample, tmp_path):
    out = tmp_path / "site"
    assert run("view", "ds:root", "-o", str(out)).exit_code == 0
    (out / ".git").mkdir()  # a folder published as a site keeps its hidden entries
    assert run("view", "ds:root", "--query", "label == `cat`", "-o", str(out)).exit_code == 0
    assert len(page_data(out)["objects"]) == 2
    assert len(list((out / "thumbs").iterdir())) == 2
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".git"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    result = run("view", "ds:root", "-o", str(other))
    assert result.exit_code == 1
    assert "not empty" in result.stderr and result.stderr.count("\n") == 1
    assert [p.name for p in other.iterdir()] == ["keep.txt"]


def test_diff_marks_added_removed_and_changed(instance, sample, tmp_path, monkeypatch):
    ids = sample.image_ids
    ws = tmp_path / "ws"
    assert run("stage", "ds:pets", "-t", str(ws)).exit_code == 0
    monkeypatch.chdir(ws)
    assert run("add", *(f"id:{oid}" for oid in ids[:3])).exit_code == 0
    assert run("commit", "-m", "first").exit_code == 0
    assert run("del", f"id:{ids[0]}").exit_code == 0
    assert run("add", f"id:{ids[3]}").exit_code == 0
    changed = sample.images / "img1.json"
    changed.write_text(json.dumps({"label": "fox", "boxes": []}), encoding="utf-8")
    run_index(instance, sample.images, fmt="strict")
    assert run("add", f"id:{ids[1]}").exit_code == 0
    assert run("commit", "-m", "second").exit_code == 0
    out = tmp_path / "diff"
    result = run("view", "--diff", "ds:pets.v1", "ds:pets.v2", "-o", str(out))
    assert result.exit_code == 0, result.output
    objects = objects_by_id(out)
    assert {oid: o.get("c", "") for oid, o in objects.items()} == {
        ids[0]: "-",
        ids[1]: "m",
        ids[2]: "",
        ids[3]: "+",
    }
    assert objects[ids[1]]["l"] == "fox" and "o" in objects[ids[1]]
    before = json.loads(
        (out / "annotations" / f"{objects[ids[1]]['o']}.json").read_text(encoding="utf-8")
    )
    assert before["label"] == "cat"
    assert ("select", {"id": "change-filter"}) in parsed(out).tags


def test_diff_needs_two_sources(instance, sample, tmp_path):
    result = run("view", "--diff", "ds:root", "-o", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "exactly two sources" in result.output


def test_diff_members_by_id():
    from ldb_clone.selection import Member

    old = [Member("a", "1", 1), Member("b", "2", 1), Member("c", None, None)]
    new = [Member("b", "3", 2), Member("c", None, None), Member("d", "4", 1)]
    assert [(m.object_id, change, before) for m, change, before in diff_members(old, new)] == [
        ("a", "-", None),
        ("b", "m", "2"),
        ("c", "", None),
        ("d", "+", None),
    ]


@pytest.mark.parametrize("count", [130])
def test_many_objects_use_the_process_pool(instance, data_dir, tmp_path, count):
    folder = data_dir / "many"
    for n in range(count):
        write_image(folder / f"{n}.png", seed=2000 + n)
    run_index(instance, folder, fmt="bare")
    out = tmp_path / "site"
    result = write_view(instance, select_filtered(instance, ["ds:root"], []), out)
    assert result.thumbnails == count
    assert len(list((out / "thumbs").iterdir())) == count
