"""What coco and yolo write, whatever the selection: stable class ids from the source's
own class list (issue 12.1), COCO ids from 1 (12.2), the standard COCO layout both ways
(12.3), splits (12.5), boxes clipped to the image (12.7)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from ldb_clone.errors import FormatError
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from tests.helpers import current_in_fresh_instance, oid_of, run_index

WIDTH, HEIGHT = 64, 48
# COCO's own numbering: ids with gaps, not in name order
CATEGORIES = [
    {"id": 1, "name": "person", "supercategory": "person"},
    {"id": 3, "name": "car", "supercategory": "vehicle"},
    {"id": 18, "name": "dog", "supercategory": "animal"},
    {"id": 10, "name": "traffic light", "supercategory": "outdoor"},
]
# name -> boxes (category, x, y, w, h)
CONTENT = {
    "a": [("person", 10, 5, 20, 30), ("car", 30, 12, 25, 16)],
    "b": [("dog", 0, 0, 64, 48)],
    "c": [("traffic light", 1, 2, 3, 4)],
    "d": [],
}


def png(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (WIDTH, HEIGHT), (seed, 9, 9)).save(path)
    return path


def write_coco(folder: Path, content: dict[str, list] = CONTENT, first_id: int = 1) -> Path:
    ids = {c["name"]: c["id"] for c in CATEGORIES}
    doc: dict[str, Any] = {"images": [], "annotations": [], "categories": CATEGORIES}
    for n, (name, boxes) in enumerate(content.items(), first_id):
        png(folder / "images" / f"{name}.png", ord(name))
        doc["images"].append({"id": n, "file_name": f"{name}.png", "width": 64, "height": 48})
        for label, *bbox in boxes:
            annotation = {"id": len(doc["annotations"]) + first_id, "image_id": n}
            annotation.update(category_id=ids[label], bbox=bbox)
            doc["annotations"].append(annotation)
    (folder / "annotations.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def members_without(instance, folder: Path, *names: str):
    left_out = {oid_of(instance, folder / "images" / f"{name}.png") for name in names}
    return [m for m in select_members(instance, ["ds:root"]) if m.object_id not in left_out]


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def yolo_names(out: Path) -> list[str]:
    return yaml.safe_load((out / "data.yaml").read_text())["names"]


# 1: stable class ids -----------------------------------------------------------------------


def test_coco_to_yolo_keeps_category_id_order_for_any_subset(instance, data_dir, tmp_path):
    """person = 0 as in Datumaro and Ultralytics, and a subset without dog (and one with
    only dog) numbers every class the same."""
    write_coco(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="coco")
    order = ["person", "car", "traffic light", "dog"]  # ids 1, 3, 10, 18

    instantiate(instance, select_members(instance, ["ds:root"]), str(tmp_path / "all"), "yolo")
    instantiate(
        instance, members_without(instance, data_dir / "src", "b"), str(tmp_path / "no-dog"), "yolo"
    )
    instantiate(
        instance,
        members_without(instance, data_dir / "src", "a", "c"),
        str(tmp_path / "dog"),
        "yolo",
    )

    for out in ("all", "no-dog", "dog"):
        assert yolo_names(tmp_path / out) == order
    assert (tmp_path / "no-dog" / "labels" / "c.txt").read_text().split()[0] == "2"
    assert (tmp_path / "dog" / "labels" / "b.txt").read_text().split()[0] == "3"


def test_coco_subset_keeps_category_ids(instance, data_dir, tmp_path):
    write_coco(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="coco")

    instantiate(
        instance, members_without(instance, data_dir / "src", "a", "c"), str(tmp_path / "o"), "coco"
    )

    doc = read(tmp_path / "o" / "annotations" / "instances_default.json")
    assert doc["categories"] == sorted(CATEGORIES, key=lambda c: c["id"])
    assert [a["category_id"] for a in doc["annotations"]] == [18]


def test_yolo_subset_keeps_its_names(instance, data_dir, tmp_path):
    folder = data_dir / "src"
    for name, line in (("a", "0 0.5 0.5 0.2 0.2\n"), ("b", "2 0.5 0.5 0.2 0.2\n")):
        png(folder / "images" / f"{name}.png", ord(name))
        (folder / "labels").mkdir(exist_ok=True)
        (folder / "labels" / f"{name}.txt").write_text(line)
    (folder / "data.yaml").write_text("names: [zebra, ant, moose]\n")
    run_index(instance, folder, fmt="yolo")

    instantiate(instance, members_without(instance, folder, "a"), str(tmp_path / "o"), "yolo")

    assert yolo_names(tmp_path / "o") == ["zebra", "ant", "moose"]
    assert (tmp_path / "o" / "labels" / "b.txt").read_text() == "2 0.5 0.5 0.2 0.2\n"


@pytest.mark.parametrize("how", ["classes", "classes-file"])
def test_the_class_list_given_explicitly(how, instance, data_dir, tmp_path):
    write_coco(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="coco")
    order = ["dog", "car", "person", "traffic light", "bus"]
    if how == "classes":
        params = {"classes": ",".join(order)}
    else:
        (tmp_path / "classes.txt").write_text("\n".join(order) + "\n")
        params = {"classes-file": str(tmp_path / "classes.txt")}
    members = select_members(instance, ["ds:root"])

    instantiate(instance, members, str(tmp_path / "y"), "yolo", params)
    instantiate(instance, members, str(tmp_path / "c"), "coco", params)

    assert yolo_names(tmp_path / "y") == order
    assert (tmp_path / "y" / "labels" / "b.txt").read_text().split()[0] == "0"
    doc = read(tmp_path / "c" / "annotations" / "instances_default.json")
    assert [(c["id"], c["name"]) for c in doc["categories"]] == list(enumerate(order, 1))


def test_a_class_missing_from_the_explicit_list_is_an_error(ldb, instance, data_dir, tmp_path):
    write_coco(data_dir / "src")
    assert ldb("index", "-m", "coco", str(data_dir / "src")).returncode == 0

    result = ldb(
        "instantiate",
        "-m",
        "yolo",
        "-p",
        "classes=person,car",
        "-t",
        str(tmp_path / "o"),
        "ds:root",
    )

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: Class 'dog' of the selected boxes is not in the class list given by "
        "-p classes/classes-file (2 classes missing)"
    ]
    assert not (tmp_path / "o").exists()


# 2: COCO ids from 1 ------------------------------------------------------------------------


def test_coco_ids_numbered_from_zero_start_at_one(instance, data_dir, tmp_path):
    write_coco(data_dir / "src", first_id=0)
    run_index(instance, data_dir / "src", fmt="coco")
    reporter = Reporter()

    instantiate(
        instance,
        select_members(instance, ["ds:root"]),
        str(tmp_path / "o"),
        "coco",
        reporter=reporter,
    )

    doc = read(tmp_path / "o" / "annotations" / "instances_default.json")
    assert sorted(i["id"] for i in doc["images"]) == [1, 2, 3, 4]
    assert sorted(a["id"] for a in doc["annotations"]) == [1, 2, 3, 4]
    by_image = {i["id"]: i["file_name"] for i in doc["images"]}
    assert sorted(by_image[a["image_id"]] for a in doc["annotations"]) == [
        "a.png",
        "a.png",
        "b.png",
        "c.png",
    ]
    assert (
        "1 images had an id below 1, not a number or the same as another one, and got new ids"
        in reporter.warnings
    )


# 3: the standard COCO layout -------------------------------------------------------------


def test_standard_layout_with_splits_and_indexed_back_in_one_run(instance, data_dir, tmp_path):
    write_coco(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="coco")
    out = tmp_path / "o"

    instantiate(
        instance,
        select_members(instance, ["ds:root"]),
        str(out),
        "coco",
        {"split": "train:0.5,val:0.5", "seed": "3"},
    )

    train = read(out / "annotations" / "instances_train.json")
    val = read(out / "annotations" / "instances_val.json")
    assert len(train["images"]) == len(val["images"]) == 2
    for subset, doc in (("train", train), ("val", val)):
        for image in doc["images"]:
            assert (out / "images" / subset / image["file_name"]).is_file()
        assert doc["categories"] == sorted(CATEGORIES, key=lambda c: c["id"])
        assert set(doc) == {"info", "licenses", "images", "annotations", "categories"}
    values = current_in_fresh_instance(tmp_path / "second", out, "coco")
    splits = sorted(value["split"] for value, _ in values.values())
    assert splits == ["train", "train", "val", "val"]


def test_other_tasks_of_the_standard_layout_are_not_read(instance, data_dir):
    folder = data_dir / "std"
    write_coco(folder)
    (folder / "annotations").mkdir()
    (folder / "annotations.json").rename(folder / "annotations" / "instances_val.json")
    (folder / "images").rename(folder / "images-val")
    (folder / "images").mkdir()
    (folder / "images-val").rename(folder / "images" / "val")
    doc = read(folder / "annotations" / "instances_val.json")
    doc["annotations"] = []
    (folder / "annotations" / "person_keypoints_val.json").write_text(json.dumps(doc))
    reporter_result, reporter = run_index(instance, folder, fmt="coco")

    assert reporter_result.found_objects == 4
    assert any("1 JSON files that are not COCO instances files" in w for w in reporter.warnings)


# 5: splits ---------------------------------------------------------------------------------


def test_random_split_is_deterministic_and_by_fraction(instance, data_dir, tmp_path):
    write_coco(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="coco")
    members = select_members(instance, ["ds:root"])
    params = {"split": "train:0.75,val:0.25", "seed": "7"}

    instantiate(instance, members, str(tmp_path / "one"), "yolo", params)
    instantiate(instance, members, str(tmp_path / "two"), "yolo", params)

    def layout(out: Path) -> list[str]:
        return sorted(str(p.relative_to(out)) for p in (out / "images").rglob("*.png"))

    assert layout(tmp_path / "one") == layout(tmp_path / "two")
    assert [p.split("/")[1] for p in layout(tmp_path / "one")].count("train") == 3
    assert yaml.safe_load((tmp_path / "one" / "data.yaml").read_text())["val"] == "images/val"
    for path in layout(tmp_path / "one"):
        label = (tmp_path / "one" / "labels" / path.split("/", 1)[1]).with_suffix(".txt")
        assert label.is_file()


def test_yolo_writes_recorded_splits_and_says_when_val_is_train(instance, data_dir, tmp_path):
    for name, split in (("a", "train"), ("b", "train"), ("c", "test")):
        png(data_dir / "p" / f"{name}.png", ord(name))
        box = {"label": "cat", "x": 1, "y": 1, "w": 10, "h": 10}
        record = {"split": split, "boxes": [box]}
        (data_dir / "p" / f"{name}.json").write_text(json.dumps(record))
    run_index(instance, data_dir / "p", fmt="strict")
    reporter = Reporter()

    instantiate(
        instance,
        select_members(instance, ["ds:root"]),
        str(tmp_path / "o"),
        "yolo",
        reporter=reporter,
    )

    doc = yaml.safe_load((tmp_path / "o" / "data.yaml").read_text())
    assert (doc["train"], doc["test"], doc["val"]) == (
        "images/train",
        "images/test",
        "images/train",
    )
    assert reporter.warnings == [
        "No val split: data.yaml's val is the train split (split the data with "
        "-p split=train:0.8,val:0.2)"
    ]
    assert (tmp_path / "o" / "labels" / "test" / "c.txt").is_file()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"split": "train:0.8,val:0.3"}, "the fractions must add up to 1"),
        ({"split": "train=0.8"}, "expected split:fraction pairs"),
        ({"split": "train:1", "seed": "x"}, "Invalid value for parameter seed: 'x'"),
        ({"layout": "flat"}, "Invalid value for parameter layout: 'flat'"),
        ({"layout": "single-file", "split": "a:1"}, "-p split needs the standard layout"),
        ({"classes": "a,,b"}, "Invalid class list -p classes: an empty class name"),
        ({"classes": "a,b,a"}, "Invalid class list -p classes: 'a' is named twice"),
    ],
)
def test_bad_parameters(params, message, instance, data_dir, tmp_path):
    write_coco(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="coco")

    with pytest.raises(FormatError, match=message):
        instantiate(
            instance, select_members(instance, ["ds:root"]), str(tmp_path / "o"), "coco", params
        )
    assert not (tmp_path / "o").exists()


# 7: boxes outside the image ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yolo", "coco"])
def test_boxes_are_clipped_to_the_image_and_empty_ones_dropped(fmt, instance, data_dir, tmp_path):
    png(data_dir / "p" / "a.png", 1)
    boxes = [
        {"label": "cat", "x": 54, "y": -4, "w": 20, "h": 20},  # reaches outside: clipped
        {"label": "cat", "x": 70, "y": 10, "w": 5, "h": 5},  # wholly outside: dropped
        {"label": "cat", "x": 1, "y": 1, "w": 0, "h": 5},  # no area: dropped
        {"label": "cat", "x": 1, "y": 1, "w": 5, "h": 5},  # kept as it is
    ]
    (data_dir / "p" / "a.json").write_text(json.dumps({"boxes": boxes}))
    run_index(instance, data_dir / "p", fmt="strict")
    reporter = Reporter()

    instantiate(
        instance, select_members(instance, ["ds:root"]), str(tmp_path / "o"), fmt, reporter=reporter
    )

    if fmt == "yolo":
        lines = (tmp_path / "o" / "labels" / "a.txt").read_text().splitlines()
        assert lines == [
            "0 0.921875 0.166667 0.15625 0.333333",
            "0 0.054688 0.072917 0.078125 0.104167",
        ]
    else:
        doc = read(tmp_path / "o" / "annotations" / "instances_default.json")
        assert [a["bbox"] for a in doc["annotations"]] == [[54, 0, 10, 16], [1, 1, 5, 5]]
    assert (
        "2 boxes with no area inside their image (degenerate) could not be converted and were "
        "left out" in reporter.warnings
    )
    assert "1 boxes reaching outside their image were clipped to it" in reporter.warnings


def test_box_polygons_are_no_segmentation_loss(instance, data_dir, tmp_path):
    """COCO written by ldb (boxes as 4-corner polygons) converts into YOLO with no loss
    warning; a real polygon is still counted."""
    write_coco(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="coco")
    members = select_members(instance, ["ds:root"])
    instantiate(instance, members, str(tmp_path / "coco"), "coco")
    doc = read(tmp_path / "coco" / "annotations" / "instances_default.json")
    doc["annotations"][0]["segmentation"] = [[10, 5, 30, 5, 20, 35]]  # a triangle
    (tmp_path / "coco" / "annotations" / "instances_default.json").write_text(json.dumps(doc))
    second = tmp_path / "second"
    current_in_fresh_instance(second, tmp_path / "coco", "coco")
    from ldb_clone.instance import open_instance

    reopened = open_instance(second)
    try:
        reporter = Reporter()
        members = select_members(reopened, ["ds:root"])
        instantiate(reopened, members, str(tmp_path / "yolo"), "yolo", reporter=reporter)
    finally:
        reopened.close()

    losses = [w for w in reporter.warnings if "COCO segmentations" in w]
    assert losses == [
        "1 COCO segmentations (polygons or masks: only their boxes convert) could not be "
        "converted and were left out"
    ]
