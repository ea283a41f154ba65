"""yolo: images/ + labels/ (class cx cy w h, normalised) with data.yaml or classes.txt."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from PIL import Image

from ldb_clone.errors import FormatError
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from tests.conftest import write_json
from tests.helpers import by_path, current, current_in_fresh_instance, oid_of, run_index

_seed = iter(range(2000, 10**6))


def png(path: Path, width: int = 640, height: int = 480, kind: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = next(_seed)
    Image.new("RGB", (width, height), (n % 256, n // 256 % 256, 9)).save(path, kind)
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def dataset(folder: Path, names: object = ("cat", "dog")) -> Path:
    """train: a (two boxes, one with a confidence), b (no label file); val: c (empty)."""
    png(folder / "images" / "train" / "a.png")
    write_text(folder / "labels" / "train" / "a.txt", "0 0.25 0.4 0.3 0.4\n1 0.5 0.5 0.1 0.2 0.9\n")
    png(folder / "images" / "train" / "b.jpg", 32, 16, "JPEG")
    png(folder / "images" / "val" / "c.png", 20, 10)
    write_text(folder / "labels" / "val" / "c.txt", "")
    if names is not None:
        write_text(folder / "data.yaml", yaml.safe_dump({"path": ".", "names": names}))
    return folder


def root(instance):
    return select_members(instance, ["ds:root"])


def index_yolo(instance, *paths, **kwargs):
    return run_index(instance, *paths, fmt="yolo", **kwargs)


A_RECORD = {
    "size": {"width": 640, "height": 480},
    "boxes": [
        {
            "label": "cat",
            "x": 64,
            "y": 96,
            "w": 192,
            "h": 192,
            "yolo": {"class_id": 0, "cx": 0.25, "cy": 0.4, "w": 0.3, "h": 0.4},
        },
        {
            "label": "dog",
            "x": 288,
            "y": 192,
            "w": 64,
            "h": 96,
            "confidence": 0.9,
            "yolo": {"class_id": 1, "cx": 0.5, "cy": 0.5, "w": 0.1, "h": 0.2},
        },
    ],
    "split": "train",
    "yolo": {"names": ["cat", "dog"]},  # the dataset's whole class list
}


def test_images_with_their_pixel_boxes_sizes_and_splits(instance, data_dir):
    dataset(data_dir / "pets")

    result, reporter = index_yolo(instance, data_dir / "pets")

    assert result.finished and result.found_objects == 3
    assert reporter.warnings == []
    images = data_dir / "pets" / "images"
    assert by_path(instance) == {
        str(images / "train" / "a.png"): A_RECORD,
        str(images / "train" / "b.jpg"): {
            "size": {"width": 32, "height": 16},
            "boxes": [],
            "split": "train",
            "yolo": {"names": ["cat", "dog"]},
        },
        str(images / "val" / "c.png"): {
            "size": {"width": 20, "height": 10},
            "boxes": [],
            "split": "val",
            "yolo": {"names": ["cat", "dog"]},
        },
    }


@pytest.mark.parametrize(
    "names",
    [{0: "cat", 1: "dog"}, "classes.txt", "labels/classes.txt"],
)
def test_class_names_from_a_mapping_or_classes_txt(instance, data_dir, names):
    folder = data_dir / "pets"
    if isinstance(names, str):
        dataset(folder, names=None)
        write_text(folder / names, "cat\ndog\n")
    else:
        dataset(folder, names=names)

    _, reporter = index_yolo(instance, folder)

    assert by_path(instance)[str(folder / "images" / "train" / "a.png")] == A_RECORD
    assert reporter.warnings == []


def test_no_class_names(instance, data_dir):
    dataset(data_dir / "pets", names=None)

    _, reporter = index_yolo(instance, data_dir / "pets")

    record = by_path(instance)[str(data_dir / "pets" / "images" / "train" / "a.png")]
    assert [box["label"] for box in record["boxes"]] == ["0", "1"]
    assert reporter.warnings == [
        f"No data.yaml or classes.txt in {data_dir / 'pets'}: classes are named by their ids"
    ]


def test_flat_layout_polygons_and_orphans(instance, data_dir):
    folder = data_dir / "flat"
    png(folder / "images" / "a.png", 100, 50)
    write_text(folder / "labels" / "a.txt", "\n0 0.1 0.2 0.5 0.2 0.3 0.6\n")
    write_text(folder / "labels" / "gone.txt", "0 0.5 0.5 0.1 0.1\n")
    write_text(folder / "images" / "notes.md", "x")
    write_text(folder / "classes.txt", "cat\n")

    _, reporter = index_yolo(instance, folder)

    (record,) = by_path(instance).values()
    (box,) = record["boxes"]
    assert "split" not in record
    assert (box["x"], box["y"], box["w"], box["h"]) == (10, 10, 40, 20)
    assert reporter.warnings == [
        f"1 files in {folder}/images/ are not images and were not indexed",
        "1 segmentation polygons were read as their bounding boxes",
        f"1 label files have no image beside them in images/ and were not read (first: "
        f"{folder}/labels/gone.txt)",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("0 0.5 0.5 0.1\n", r"a\.txt line 1: expected 'class cx cy w h \[confidence\]', got 4"),
        ("0 0.5 0.5 0.1 0.1\ncat 0.5 0.5 0.1 0.1\n", r"a\.txt line 2: expected .* got 'cat 0"),
        ("0 0.5 nan 0.1 0.1\n", r"a\.txt line 1: expected"),
        ("-1 0.5 0.5 0.1 0.1\n", r"a\.txt line 1: expected"),
        ("7 0.5 0.5 0.1 0.1\n", r"a\.txt line 1: class 7 has no name in the dataset's class "),
    ],
)
def test_bad_label_lines_are_one_line_errors(instance, data_dir, content, message):
    dataset(data_dir / "pets")
    write_text(data_dir / "pets" / "labels" / "train" / "a.txt", content)

    with pytest.raises(FormatError, match=r"^Invalid YOLO label file .*" + message):
        index_yolo(instance, data_dir / "pets")
    assert current(instance) == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("names: [cat\n", r"Unable to read .*data\.yaml: while parsing"),
        ("names: 3\n", r"Invalid .*data\.yaml: names must be a list"),
        ("names: {a: cat}\n", r"Invalid .*data\.yaml: names must be"),
    ],
)
def test_bad_data_yaml(instance, data_dir, content, message):
    dataset(data_dir / "pets")
    write_text(data_dir / "pets" / "data.yaml", content)

    with pytest.raises(FormatError, match=message):
        index_yolo(instance, data_dir / "pets")


def test_not_a_dataset_folder(instance, data_dir):
    png(data_dir / "x" / "a.png")
    with pytest.raises(FormatError, match=r"No images/ folder in .*x: a YOLO dataset folder"):
        index_yolo(instance, data_dir / "x")
    with pytest.raises(FormatError, match=r"yolo indexes dataset folders, and '.*a\.png' is a"):
        index_yolo(instance, data_dir / "x" / "a.png")
    write_text(data_dir / "y" / "images" / "broken.png", "not a png")
    with pytest.raises(FormatError, match=r"Cannot read the size of image .*broken\.png"):
        index_yolo(instance, data_dir / "y")


def test_cli_error_is_one_line(ldb, instance, data_dir):
    dataset(data_dir / "pets")
    write_text(data_dir / "pets" / "labels" / "val" / "c.txt", "x\n")

    result = ldb("index", "-m", "yolo", str(data_dir / "pets"))

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: Invalid YOLO")


# instantiating ----------------------------------------------------------------------------


def files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text() if p.suffix in (".txt", ".yaml") else "image"
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_round_trip(instance, data_dir, tmp_path):
    dataset(data_dir / "pets")
    index_yolo(instance, data_dir / "pets")
    out = tmp_path / "out"
    reporter = Reporter()

    result = instantiate(instance, root(instance), str(out), "yolo", reporter=reporter)

    assert (result.data_objects, result.annotations) == (3, 3)
    assert reporter.warnings == []
    assert files(out) == {
        "data.yaml": "train: images/train\nval: images/val\nnc: 2\nnames:\n- cat\n- dog\n",
        "images/train/a.png": "image",
        "images/train/b.jpg": "image",
        "images/val/c.png": "image",
        "labels/train/a.txt": "0 0.25 0.4 0.3 0.4\n1 0.5 0.5 0.1 0.2 0.9\n",
        "labels/train/b.txt": "",
        "labels/val/c.txt": "",
    }
    assert current_in_fresh_instance(tmp_path / "second", out, "yolo") == current(instance)


def test_from_plain_annotations(instance, data_dir, tmp_path):
    """Class ids from 0 by name; sizes from the annotation or read by Pillow; stems that
    would share a label file renamed; classification labels counted as lost."""
    folder = data_dir / "p"
    png(folder / "a.png", 200, 100)
    write_json(
        folder / "a.json",
        {
            "label": "dog",
            "split": "train",
            "boxes": [
                {"label": "dog", "x": 20, "y": 10, "w": 100, "h": 50},
                {"label": "bird", "x": 0, "y": 0, "w": 1, "h": 1, "confidence": 0.25},
            ],
        },
    )
    png(folder / "sub" / "a.jpg", 10, 10, "JPEG")
    write_json(folder / "sub" / "a.json", {"split": "val", "boxes": [], "label": "cat"})
    png(folder / "z.png", 10, 10)  # no annotation at all: written without split
    run_index(instance, folder, fmt="bare")
    reporter = Reporter()
    out = tmp_path / "out"

    instantiate(instance, root(instance), str(out), "yolo", reporter=reporter)

    a_png = oid_of(instance, folder / "a.png")
    assert files(out) == {
        "data.yaml": "train: images\nval: images\nnc: 2\nnames:\n- bird\n- dog\n",
        "images/a.jpg": "image",
        f"images/a-{a_png}.png": "image",
        "images/z.png": "image",
        f"labels/a-{a_png}.txt": "1 0.35 0.35 0.5 0.5\n0 0.0025 0.005 0.005 0.01 0.25\n",
        "labels/a.txt": "",
        "labels/z.txt": "",
    }
    assert reporter.warnings == [
        "1 images have no split: all images are written without split folders (give them one "
        "with -p split=train:0.8,val:0.2)",
        "1 images had the same file name as another one and were written as <name>-<id><ext>",
        "No split: data.yaml's val is the training images (split them with "
        "-p split=train:0.8,val:0.2)",
        "2 classification labels (YOLO holds boxes: see -m infer or platform) could not be "
        "converted and were left out",
    ]


def test_class_ids_with_gaps_are_renumbered_and_unsafe_splits(instance, data_dir, tmp_path):
    """Ultralytics needs ids 0..n-1: the dataset's classes in id order (cat, unused
    here, keeps its place); a split that is not a folder name is not used."""
    dataset(data_dir / "pets", names={0: "cat", 5: "dog"})
    write_text(data_dir / "pets" / "labels" / "train" / "a.txt", "5 0.5 0.5 0.5 0.5\n")
    index_yolo(instance, data_dir / "pets")
    png(data_dir / "other" / "x.png")
    box = {"label": "fox", "x": 0, "y": 0, "w": 64, "h": 48}
    write_json(data_dir / "other" / "x.json", {"split": "../../up", "boxes": [box]})
    run_index(instance, data_dir / "other", fmt="strict")
    reporter = Reporter()
    out = tmp_path / "out"

    instantiate(instance, root(instance), str(out), "yolo", reporter=reporter)

    assert yaml.safe_load((out / "data.yaml").read_text())["names"] == ["cat", "dog", "fox"]
    assert (out / "labels" / "x.txt").read_text() == "2 0.05 0.05 0.1 0.1\n"
    assert (out / "labels" / "a.txt").read_text() == "1 0.5 0.5 0.5 0.5\n"
    assert not (tmp_path / "up").exists()
    assert reporter.warnings == [
        "1 images have no split: all images are written without split folders (give them one "
        "with -p split=train:0.8,val:0.2)",
        "No split: data.yaml's val is the training images (split them with "
        "-p split=train:0.8,val:0.2)",
    ]


def test_boxes_without_a_size(instance, data_dir, tmp_path):
    write_text(data_dir / "t" / "notes.txt", "not an image")
    box = {"label": "x", "x": 1, "y": 1, "w": 1, "h": 1}
    write_json(data_dir / "t" / "notes.json", {"boxes": [box, box]})
    run_index(instance, data_dir / "t", fmt="strict")
    reporter = Reporter()

    instantiate(instance, root(instance), str(tmp_path / "out"), "yolo", reporter=reporter)

    assert (tmp_path / "out" / "labels" / "notes.txt").read_text() == ""
    assert reporter.warnings == [
        "No split: data.yaml's val is the training images (split them with "
        "-p split=train:0.8,val:0.2)",
        "2 boxes of images whose size is unknown (YOLO coordinates are relative to it) could "
        "not be converted and were left out",
    ]


def test_annotations_only_and_cli(ldb, instance, data_dir, tmp_path):
    dataset(data_dir / "pets")
    assert ldb("index", "-m", "yolo", str(data_dir / "pets")).returncode == 0

    result = ldb(
        "instantiate", "-m", "yolo", "--annotations-only", "-t", str(tmp_path / "o"), "ds:root"
    )

    assert result.returncode == 0, result.stderr
    assert sorted(files(tmp_path / "o")) == [
        "data.yaml",
        "labels/train/a.txt",
        "labels/train/b.txt",
        "labels/val/c.txt",
    ]


def test_reindexing_an_unchanged_folder_reads_no_label(instance, data_dir, monkeypatch):
    folder = dataset(data_dir / "yolo")
    first, _ = index_yolo(instance, folder)
    before = {m.object_id: m.annotation_id for m in root(instance)}

    def no_read(*args, **kwargs):
        raise AssertionError("a label file or image header was read")

    monkeypatch.setattr("ldb_clone.formats.yolo.codec._label_boxes", no_read)
    monkeypatch.setattr("ldb_clone.formats.yolo.codec._read_size", no_read)
    again, reporter = index_yolo(instance, folder)
    assert again.found_objects == first.found_objects
    assert any("unchanged since it was last indexed" in line for line in reporter.lines)
    assert {m.object_id: m.annotation_id for m in root(instance)} == before

    monkeypatch.undo()
    label = folder / "labels" / "train" / "a.txt"
    stamp = label.stat().st_mtime_ns + 5 * 10**9
    label.write_text("1 0.5 0.5 0.2 0.2\n", encoding="utf-8")
    os.utime(label, ns=(stamp, stamp))
    changed, _ = index_yolo(instance, folder)
    assert changed.new_annotations == 1


def test_boxes_outside_the_image_are_skipped_with_a_count(instance, data_dir):
    """Negative sizes and numbers far beyond 0..1 are skipped (counted in one warning);
    a number just beyond 0..1 (rounding) is kept as written."""
    folder = dataset(data_dir / "pets")
    label = folder / "labels" / "train" / "a.txt"
    write_text(
        label,
        "0 0.5 0.5 -0.2 0.1\n"  # negative width
        "1 7.5 0.5 0.1 0.1\n"  # far right of the image
        "0 0.5 0.5 0.2 0.2\n"
        "1 0.5 -3 0.1 0.1\n"  # far above
        "0 0.5 0.5 1.005 0.2\n",  # rounding: kept
    )

    _, reporter = index_yolo(instance, folder)

    record = by_path(instance)[str(folder / "images" / "train" / "a.png")]
    assert [box["yolo"]["w"] for box in record["boxes"]] == [0.2, 1.005]
    assert (
        f"3 boxes with a negative size or outside the image (normalised numbers beyond 0..1) "
        f"were skipped (first: {label} line 1)"
    ) in reporter.warnings


def test_data_yaml_is_what_pyyaml_writes_for_any_names():
    # data.yaml is written directly for plain names; the text must be PyYAML's
    import random

    from ldb_clone.formats.yolo.codec import _simple_yaml, data_yaml

    common = {"person": 0, "car": 1, "traffic light": 2, "dog": 3}
    assert _simple_yaml({"train": "images/train", "nc": 4, "names": list(common)}) is not None
    assert yaml.safe_load(data_yaml(common, ["train", "val"])) == {
        "train": "images/train",
        "val": "images/val",
        "nc": 4,
        "names": ["person", "car", "traffic light", "dog"],
    }
    rnd = random.Random(7)
    words = ["cat", "a b", "x-y", "_", "a.b", "yes", "No", "null", "1.5", "0x1f", "2001-01-01"]
    words += ["~", "a  b", "a ", " a", "a: b", "a #b", "-a", "é", "[x]", "a,b", "On", "A" * 70]
    words.append(" ".join(["long"] * 20))  # PyYAML folds long lines at spaces
    for _ in range(3000):
        names = rnd.sample(words, rnd.randint(1, 4))
        ids = range(len(names)) if rnd.random() < 0.5 else rnd.sample(range(9), len(names))
        folders = rnd.choice([[""], ["train"], ["train", "val"], ["test", rnd.choice(words)]])
        doc = data_yaml(dict(zip(names, ids)), folders)
        by_id = dict(sorted(zip(ids, names)))
        expected: dict = {}
        if folders == [""]:
            expected.update(train="images", val="images")
        else:
            expected.update({f: f"images/{f}" for f in folders})
            if "val" not in expected and "train" in expected:
                expected["val"] = expected["train"]
        listed = list(by_id) == list(range(len(by_id)))
        expected.update(nc=len(names), names=list(by_id.values()) if listed else by_id)
        assert doc == yaml.safe_dump(expected, sort_keys=False, allow_unicode=True)
