"""voc: Pascal VOC folders (Annotations/*.xml, JPEGImages/, ImageSets/Main/<split>.txt)."""

from __future__ import annotations

import copy
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from ldb_clone import cli
from ldb_clone.cli import app
from ldb_clone.errors import FormatError, ObjectNotFoundError
from ldb_clone.formats.voc.codec import parse_xml
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from tests.helpers import by_path, current, current_in_fresh_instance, run_index

_seed = iter(range(5000, 10**6))

A_XML = """<annotation>
  <folder>VOC2012</folder>
  <filename>a.jpg</filename>
  <source><database>The VOC2012 Database</database></source>
  <size><width>64</width><height>48</height><depth>3</depth></size>
  <segmented>0</segmented>
  <object>
    <name>cat</name><pose>Left</pose><truncated>1</truncated><difficult>0</difficult>
    <bndbox><xmin>10</xmin><ymin>5</ymin><xmax>30.5</xmax><ymax>35</ymax></bndbox>
  </object>
  <object>
    <name>dog</name><difficult>1</difficult>
    <bndbox><xmin>1.0</xmin><ymin>2.0</ymin><xmax>3.0</xmax><ymax>4.0</ymax></bndbox>
  </object>
</annotation>
"""
B_XML = """<annotation><filename>b.png</filename><object><name>dog</name>
<bndbox><xmin>0</xmin><ymin>0</ymin><xmax>32</xmax><ymax>16</ymax></bndbox></object>
</annotation>"""  # no <size>: read from the image

A_RECORD = {
    "size": {"width": 64, "height": 48, "depth": 3},
    "boxes": [
        {
            "label": "cat",
            "x": 10,
            "y": 5,
            "w": 20.5,
            "h": 30,
            "voc": {
                "pose": "Left",
                "truncated": 1,
                "difficult": 0,
                "bndbox": {"xmin": 10, "ymin": 5, "xmax": 30.5, "ymax": 35},
            },
        },
        {
            "label": "dog",
            "x": 1,
            "y": 2,
            "w": 2,
            "h": 2,
            "voc": {"difficult": 1, "bndbox": {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}},
        },
    ],
    "voc": {
        "folder": "VOC2012",
        "filename": "a.jpg",
        "source": {"database": "The VOC2012 Database"},
        "segmented": 0,
    },
    "split": "train",
}


def picture(path: Path, width: int = 64, height: int = 48, kind: str = "JPEG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = next(_seed)
    Image.new("RGB", (width, height), (n % 256, n // 256 % 256, 7)).save(path, kind)
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def dataset(folder: Path) -> Path:
    """a (two boxes, in train and trainval), b (no <size>, in val), c (no XML)."""
    picture(folder / "JPEGImages" / "a.jpg")
    picture(folder / "JPEGImages" / "b.png", 32, 16, "PNG")
    picture(folder / "JPEGImages" / "c.jpg")
    write_text(folder / "Annotations" / "a.xml", A_XML)
    write_text(folder / "Annotations" / "b.xml", B_XML)
    write_text(folder / "ImageSets" / "Main" / "train.txt", "a\n")
    write_text(folder / "ImageSets" / "Main" / "val.txt", "b\n")
    write_text(folder / "ImageSets" / "Main" / "trainval.txt", "a\nb\n")
    write_text(folder / "ImageSets" / "Main" / "cat_train.txt", "a  1\nb -1\n")  # not a split
    return folder


def index_voc(instance, *paths, **kwargs):
    return run_index(instance, *paths, fmt="voc", **kwargs)


def root(instance):
    return select_members(instance, ["ds:root"])


def test_index_reads_boxes_fields_sizes_and_splits(instance, data_dir):
    folder = dataset(data_dir / "voc")

    result, reporter = index_voc(instance, folder)

    assert result.found_objects == 3
    values = by_path(instance)
    assert values[str(folder / "JPEGImages" / "a.jpg")] == A_RECORD
    assert values[str(folder / "JPEGImages" / "b.png")] == {
        "size": {"width": 32, "height": 16},
        "boxes": [
            {
                "label": "dog",
                "x": 0,
                "y": 0,
                "w": 32,
                "h": 16,
                "voc": {"bndbox": {"xmin": 0, "ymin": 0, "xmax": 32, "ymax": 16}},
            }
        ],
        "voc": {"filename": "b.png"},
        "split": "val",
    }
    assert values[str(folder / "JPEGImages" / "c.jpg")] is None
    assert any("1 images" in line and "no annotation file" in line for line in reporter.lines)


def test_auto_detect_recognises_a_voc_folder(instance, data_dir):
    folder = dataset(data_dir / "voc")

    result, reporter = run_index(instance, folder)

    assert "Auto-detected data format: voc" in reporter.lines
    assert result.found_objects == 3


def test_image_found_by_stem_when_filename_is_missing(instance, data_dir):
    folder = data_dir / "voc"
    picture(folder / "JPEGImages" / "x.jpg")
    write_text(folder / "Annotations" / "x.xml", "<annotation><object><name>cat</name>"
               "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox>"
               "</object></annotation>")  # fmt: skip

    index_voc(instance, folder)

    assert by_path(instance)[str(folder / "JPEGImages" / "x.jpg")]["boxes"][0]["label"] == "cat"


@pytest.mark.parametrize(
    ("xml", "fragments"),
    [
        ("<annotation><object>", ["a.xml line 1 column", "no element found"]),
        ("<notvoc/>", ["a.xml at notvoc", "<annotation>"]),
        (
            A_XML.replace("<xmax>30.5</xmax>", "<xmax>wide</xmax>"),
            ["a.xml at annotation/object[1]/bndbox/xmax", "expected a number, got 'wide'"],
        ),
        (
            A_XML.replace("<ymax>4.0</ymax>", "<ymax>1</ymax>"),
            ["annotation/object[2]/bndbox/ymax: 1 is less than ymin 2"],
        ),
        (A_XML.replace("<name>dog</name>", ""), ["annotation/object[2]/name"]),
        (A_XML.replace("<size><width>64", "<size><width>x"), ["annotation/size/width"]),
    ],
)
def test_a_bad_file_is_one_error_naming_file_and_element(instance, data_dir, xml, fragments):
    folder = dataset(data_dir / "voc")
    write_text(folder / "Annotations" / "a.xml", xml)

    with pytest.raises(FormatError) as excinfo:
        index_voc(instance, folder)

    for fragment in fragments:
        assert fragment in str(excinfo.value)
    assert current(instance) == {}  # nothing of the folder was indexed


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<annotation><filename>&lol2;</filename></annotation>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<annotation><filename>&x;</filename></annotation>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL])
def test_entities_are_refused_never_expanded(xml):
    with pytest.raises(FormatError, match=r"Unsafe XML in f\.xml: a document type declaration"):
        parse_xml(xml.encode(), "f.xml")


def test_a_plain_document_parses():
    assert parse_xml(b"<annotation><a>1</a></annotation>", "f.xml").findtext("a") == "1"


def test_missing_image_is_an_error_naming_the_xml(instance, data_dir):
    folder = dataset(data_dir / "voc")
    (folder / "JPEGImages" / "a.jpg").unlink()

    with pytest.raises(ObjectNotFoundError, match=r"JPEGImages/a.jpg \(the image of .*a.xml\)"):
        index_voc(instance, folder)


def test_cli_error_is_one_line_without_traceback(instance, data_dir, monkeypatch):
    monkeypatch.setitem(cli._state, "verbose", 0)
    folder = dataset(data_dir / "voc")
    write_text(folder / "Annotations" / "b.xml", BILLION_LAUGHS)

    result = CliRunner().invoke(app, ["index", "-m", "pascal-voc", str(folder)])

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("error: Unsafe XML in ") and "b.xml" in lines[-1]
    assert "Traceback" not in result.stderr


def xml_of(path: Path) -> ET.Element:
    return ET.fromstring(path.read_bytes())


def test_instantiate_writes_the_same_layout_back(instance, data_dir, tmp_path):
    folder = dataset(data_dir / "voc")
    index_voc(instance, folder)
    out = tmp_path / "out"

    instantiate(instance, root(instance), str(out), "voc", reporter=Reporter())

    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "Annotations/a.xml",
        "Annotations/b.xml",
        "Annotations/c.xml",
        "ImageSets/Main/default.txt",
        "ImageSets/Main/train.txt",
        "ImageSets/Main/val.txt",
        "JPEGImages/a.jpg",
        "JPEGImages/b.png",
        "JPEGImages/c.jpg",
        "labelmap.txt",
    ]
    assert (out / "ImageSets/Main/train.txt").read_text() == "a\n"
    assert (out / "ImageSets/Main/default.txt").read_text() == "c\n"
    a = xml_of(out / "Annotations" / "a.xml")
    assert [a.findtext(k) for k in ("folder", "filename", "source/database", "segmented")] == [
        "VOC2012",
        "a.jpg",
        "The VOC2012 Database",
        "0",
    ]
    assert [a.findtext(f"size/{k}") for k in ("width", "height", "depth")] == ["64", "48", "3"]
    cat, dog = a.findall("object")
    assert [(e.tag, e.text) for e in cat if not len(e)] == [
        ("name", "cat"),
        ("pose", "Left"),
        ("truncated", "1"),
        ("difficult", "0"),
    ]
    assert [cat.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")] == [
        "10",
        "5",
        "30.5",
        "35",
    ]
    assert dog.findtext("difficult") == "1" and dog.findtext("pose") == "Unspecified"
    assert (out / "labelmap.txt").read_text().splitlines()[2:] == ["cat:128,0,0::", "dog:0,128,0::"]
    again = current_in_fresh_instance(tmp_path / "second", out, "voc")
    before = {oid: value for oid, (value, _) in current(instance).items()}
    assert len(again) == 3
    for oid, (value, _) in again.items():
        if before[oid] is None:  # c: now an XML without objects, and no split
            kept = {"folder": "JPEGImages", "filename": "c.jpg", "segmented": 0}
            size = {"width": 64, "height": 48, "depth": 3}
            assert value == {"size": size, "boxes": [], "voc": kept}
        elif value["voc"]["filename"] == "a.jpg":  # dog gets VOC's defaults written
            expected = copy.deepcopy(A_RECORD)
            expected["boxes"][1]["voc"].update(pose="Unspecified", truncated=0)
            assert value == expected
        else:  # b: VOC's defaults written (depth 3, pose, truncated, ...), same box
            assert value["split"] == before[oid]["split"] == "val"
            assert [b["x"] for b in value["boxes"]] == [b["x"] for b in before[oid]["boxes"]]
            assert value["boxes"][0]["voc"]["bndbox"] == before[oid]["boxes"][0]["voc"]["bndbox"]


def test_instantiate_boxes_of_another_format(instance, data_dir, make_json, tmp_path):
    picture(data_dir / "p" / "img.1.png", 40, 30, "PNG")
    make_json(
        data_dir / "p" / "img.1.json",
        {"label": "cat", "boxes": [{"label": "dog", "x": 1.5, "y": 2, "w": 10, "h": 20.25}]},
    )
    run_index(instance, data_dir / "p", fmt="strict")
    out = tmp_path / "out"
    reporter = Reporter()

    instantiate(instance, root(instance), str(out), "voc", reporter=reporter)

    doc = xml_of(out / "Annotations" / "img.1.xml")
    assert doc.findtext("filename") == "img.1.png"
    assert [doc.findtext(f"size/{k}") for k in ("width", "height", "depth")] == ["40", "30", "3"]
    (obj,) = doc.findall("object")
    assert [obj.findtext(k) for k in ("name", "pose", "truncated", "difficult")] == [
        "dog",
        "Unspecified",
        "0",
        "0",
    ]
    assert [obj.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")] == [
        "1.5",
        "2",
        "11.5",
        "22.25",
    ]
    assert (out / "ImageSets/Main/default.txt").read_text() == "img.1\n"
    assert any("1 classification labels (VOC holds boxes" in w for w in reporter.warnings)


def test_unsafe_split_and_file_names_stay_inside(instance, data_dir, make_json, tmp_path):
    picture(data_dir / "p" / "a.png", 8, 8, "PNG")
    make_json(data_dir / "p" / "a.json", {"boxes": [], "split": "../../etc", "file_name": "../x"})
    run_index(instance, data_dir / "p", fmt="strict")
    out = tmp_path / "out"

    instantiate(instance, root(instance), str(out), "voc", reporter=Reporter())

    assert (out / "ImageSets/Main/default.txt").read_text() == "a\n"
    assert (out / "JPEGImages" / "a.png").is_file()
    assert not (tmp_path / "x").exists() and not (tmp_path / "etc").exists()


def test_reindexing_an_unchanged_folder_reads_no_xml(instance, data_dir, monkeypatch):
    folder = dataset(data_dir / "voc")
    index_voc(instance, folder)
    before = current(instance)

    def no_read(data, url):
        raise AssertionError(f"read {url}")

    monkeypatch.setattr("ldb_clone.formats.voc.codec.parse_xml", no_read)
    result, reporter = index_voc(instance, folder)

    assert result.found_objects == 3
    assert any("is unchanged since it was last indexed" in line for line in reporter.lines)
    assert current(instance) == before


def test_reindexing_after_a_change_reads_the_folder_again(instance, data_dir):
    folder = dataset(data_dir / "voc")
    index_voc(instance, folder)
    xml = folder / "Annotations" / "b.xml"
    xml.write_text(B_XML.replace("<name>dog</name>", "<name>cat</name>"), encoding="utf-8")
    os.utime(xml, ns=(xml.stat().st_mtime_ns + 5 * 10**9,) * 2)

    index_voc(instance, folder)

    assert by_path(instance)[str(folder / "JPEGImages" / "b.png")]["boxes"][0]["label"] == "cat"
