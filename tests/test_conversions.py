"""Conversions through the stored annotation: index the same labelled images in each
source format, instantiate in each target format, index the result back in the target
format into a fresh instance, and compare what both hold (labels, and boxes within
rounding), as ``formats.shapes`` reads them. Object ids are content hashes, so both
instances agree on them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from ldb_clone.errors import FormatError
from ldb_clone.formats.shapes import read_shapes
from ldb_clone.instance import Instance, init_instance, open_instance
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.storage import add_storage
from tests.helpers import current, run_index

WIDTH, HEIGHT = 64, 48  # not square: a swapped width and height shows
# name -> (classification label, boxes (label, x, y, w, h) in pixels)
CONTENT: dict[str, tuple[str, list[tuple[str, int, int, int, int]]]] = {
    "a": ("cat", [("cat", 10, 5, 20, 30), ("dog", 30, 12, 25, 16)]),
    "b": ("dog", [("dog", 0, 0, 64, 48)]),
    "c": ("cat", []),
}
CLASSES = ["cat", "dog"]


def image(path: Path, name: str) -> Path:
    """The same bytes for the same name, whatever the layout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = ord(name)
    Image.new("RGB", (WIDTH, HEIGHT), (seed, 255 - seed, seed // 2)).save(path, "PNG")
    return path


def dump(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


# sources: write the content in one format, return (paths to index, format) ---------------


def source_plain(folder: Path):
    for name, (label, boxes) in CONTENT.items():
        image(folder / f"{name}.png", name)
        dump(
            folder / f"{name}.json",
            {
                "label": label,
                "size": {"width": WIDTH, "height": HEIGHT},
                "boxes": [dict(zip(["label", "x", "y", "w", "h"], box)) for box in boxes],
            },
        )
    return [folder], "strict-pairs"


def source_infer(folder: Path):
    for name, (label, _) in CONTENT.items():
        image(folder / label / f"{name}.png", name)
    return [folder], "tensorflow-inferred"


def _platform(folder: Path, task_type: str):
    images = []
    for n, (name, (label, boxes)) in enumerate(CONTENT.items(), 1):
        image(folder / "images" / f"{name}.png", name)
        entry: dict[str, Any] = {"id": n, "file_name": f"{name}.png", "width": WIDTH}
        entry.update(height=HEIGHT, split="train", metadata={"status": "labeled"})
        if task_type == "image_classification":
            entry["annotation"] = {"class_id": CLASSES.index(label), "class_name": label}
        else:
            entry["annotations"] = [
                {"class_id": CLASSES.index(b[0]), "class_name": b[0], "bbox": list(b[1:])}
                for b in boxes
            ]
        images.append(entry)
    classes = [{"id": n, "name": name} for n, name in enumerate(CLASSES)]
    doc = {"task_type": task_type, "classes": classes, "images": images}
    dump(folder / "annotations.json", doc)
    return [folder], "platform"


def source_platform_classes(folder: Path):
    return _platform(folder, "image_classification")


def source_platform_boxes(folder: Path):
    return _platform(folder, "object_detection")


def source_label_studio(folder: Path):
    tasks = []
    for name, (label, boxes) in CONTENT.items():
        path = image(folder / "images" / f"{name}.png", name)
        results: list[dict[str, Any]] = [
            {
                "type": "choices",
                "from_name": "class",
                "to_name": "image",
                "value": {"choices": [label]},
            }
        ]
        for box_label, x, y, w, h in boxes:
            value = {"x": x / WIDTH * 100, "y": y / HEIGHT * 100}
            value.update(width=w / WIDTH * 100, height=h / HEIGHT * 100, rotation=0)
            value["rectanglelabels"] = [box_label]
            results.append(
                {
                    "type": "rectanglelabels",
                    "from_name": "bbox",
                    "to_name": "image",
                    "original_width": WIDTH,
                    "original_height": HEIGHT,
                    "value": value,
                }
            )
        tasks.append({"data": {"image": str(path)}, "annotations": [{"result": results}]})
    return [dump(folder / "export.json", tasks)], "label-studio"


def source_coco(folder: Path):
    doc: dict[str, Any] = {"images": [], "annotations": [], "categories": []}
    doc["categories"] = [{"id": n + 1, "name": name} for n, name in enumerate(CLASSES)]
    for n, (name, (_, boxes)) in enumerate(CONTENT.items(), 1):
        image(folder / "images" / f"{name}.png", name)
        doc["images"].append(
            {"id": n, "file_name": f"{name}.png", "width": WIDTH, "height": HEIGHT}
        )
        for box_label, *bbox in boxes:
            annotation = {"id": len(doc["annotations"]) + 1, "image_id": n, "bbox": bbox}
            annotation.update(category_id=CLASSES.index(box_label) + 1, iscrowd=0)
            doc["annotations"].append(annotation)
    return [dump(folder / "annotations.json", doc)], "coco"


def source_yolo(folder: Path):
    for name, (_, boxes) in CONTENT.items():
        image(folder / "images" / f"{name}.png", name)
        lines = [
            f"{CLASSES.index(lab)} {(x + w / 2) / WIDTH} {(y + h / 2) / HEIGHT} {w / WIDTH} "
            f"{h / HEIGHT}\n"
            for lab, x, y, w, h in boxes
        ]
        label_file = folder / "labels" / f"{name}.txt"
        label_file.parent.mkdir(parents=True, exist_ok=True)
        label_file.write_text("".join(lines))
    (folder / "data.yaml").write_text(yaml.safe_dump({"names": CLASSES}))
    return [folder], "yolo"


def source_voc(folder: Path):
    for name, (_, boxes) in CONTENT.items():
        image(folder / "JPEGImages" / f"{name}.png", name)
        objects = "".join(
            f"<object><name>{lab}</name><bndbox><xmin>{x}</xmin><ymin>{y}</ymin>"
            f"<xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox></object>"
            for lab, x, y, w, h in boxes
        )
        xml = folder / "Annotations" / f"{name}.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(
            f"<annotation><filename>{name}.png</filename><size><width>{WIDTH}</width>"
            f"<height>{HEIGHT}</height><depth>3</depth></size>{objects}</annotation>"
        )
    return [folder], "voc"


SOURCES: dict[str, tuple[Callable[[Path], Any], bool, bool]] = {
    # name: (writer, has labels, has boxes)
    "plain": (source_plain, True, True),
    "infer": (source_infer, True, False),
    "platform-classes": (source_platform_classes, True, False),
    "platform-boxes": (source_platform_boxes, False, True),
    "label-studio": (source_label_studio, True, True),
    "coco": (source_coco, False, True),
    "yolo": (source_yolo, False, True),
    "voc": (source_voc, False, True),
}
# target: (format, what to index back, carries labels, carries boxes)
TARGETS = {
    "label-studio": ("label-studio", "annotations.json", True, True),
    "infer": ("tensorflow-inferred", "", True, False),
    "platform": ("platform", "", True, True),  # boxes when there are any, else labels
    "coco": ("coco", "", False, True),
    "yolo": ("yolo", "", False, True),
    "voc": ("voc", "", False, True),
}


def summary(annotation: Any) -> tuple[str | None, list[tuple]]:
    shapes = read_shapes(annotation)
    assert shapes is not None, annotation
    boxes = sorted(
        (b.label, round(b.x, 2), round(b.y, 2), round(b.w, 2), round(b.h, 2)) for b in shapes.boxes
    )
    return shapes.label, boxes


def expected_summary(name: str, labels: bool, boxes: bool) -> tuple[str | None, list[tuple]]:
    label, content_boxes = CONTENT[name]
    return (label if labels else None, sorted(content_boxes) if boxes else [])


def fresh(path: Path, *storage: Path) -> Instance:
    init_instance(path)
    second = open_instance(path)
    for folder in storage:
        add_storage(second, str(folder))
    return second


def cases():
    for source, (_, has_labels, _) in SOURCES.items():
        for target in TARGETS:
            if target == "infer" and not has_labels:
                continue  # every object needs a label: see test_infer_needs_labels
            if target in ("coco", "yolo", "voc") and not SOURCES[source][2]:
                continue  # labels only: see test_classification_into_detection_formats/voc
            yield pytest.param(source, target, id=f"{source}->{target}")


@pytest.mark.parametrize(("source", "target"), list(cases()))
def test_conversion(source, target, instance, data_dir, tmp_path):
    writer, has_labels, has_boxes = SOURCES[source]
    paths, source_format = writer(data_dir / "src")
    result, _ = run_index(instance, *paths, fmt=source_format)
    assert result.found_objects == 3
    names = {
        oid: Path(p).stem
        for oid, rows in instance.catalog.object_paths(list(current(instance))).items()
        for _, p in rows
    }
    fmt, index_path, carries_labels, carries_boxes = TARGETS[target]
    if target == "platform":  # detection when some annotation has boxes
        carries_labels, carries_boxes = not has_boxes, has_boxes
    out = tmp_path / "out"

    instantiate(instance, select_members(instance, ["ds:root"]), str(out), fmt, reporter=Reporter())

    second = fresh(tmp_path / "second", out, data_dir)
    try:
        run_index(second, out / index_path if index_path else out, fmt=fmt)
        got = {oid: summary(value) for oid, (value, _) in current(second).items()}
    finally:
        second.close()
    expected = {
        oid: expected_summary(name, has_labels and carries_labels, has_boxes and carries_boxes)
        for oid, name in names.items()
    }
    assert len(expected) == 3
    assert got == expected


@pytest.mark.parametrize("source", ["coco", "yolo", "voc", "platform-boxes"])
def test_infer_needs_labels(source, instance, data_dir, tmp_path):
    paths, source_format = SOURCES[source][0](data_dir / "src")
    run_index(instance, *paths, fmt=source_format)

    with pytest.raises(FormatError, match="should contain key: label, or be of a format whose"):
        instantiate(instance, select_members(instance, ["ds:root"]), str(tmp_path / "o"), "infer")


def test_label_studio_tasks_of_other_formats(instance, data_dir, tmp_path):
    """The task of a plain annotation: data.image is the object's location, the label a
    choice, boxes rectangles in percent; an unlabelled platform image gets no annotation."""
    source_plain(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="strict")
    out = tmp_path / "out"

    instantiate(instance, select_members(instance, ["ds:root"]), str(out), "label-studio")

    tasks = {
        Path(t["data"]["image"]).name: t for t in json.loads((out / "annotations.json").read_text())
    }
    task = tasks["a.png"]
    assert task["data"]["image"] == str(data_dir / "src" / "a.png")
    info = task["data"]["data-object-info"]
    assert info["path_key"] == '"data"."image"' and len(info["xxh3_128"]) == 32
    choice, cat, dog = task["annotations"][0]["result"]
    assert choice == {
        "from_name": "class",
        "to_name": "image",
        "type": "choices",
        "value": {"choices": ["cat"]},
    }
    assert cat == {
        "from_name": "bbox",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 64,
        "original_height": 48,
        "image_rotation": 0,
        "value": {
            "x": 15.625,
            "y": 10.4167,
            "width": 31.25,
            "height": 62.5,
            "rotation": 0,
            "rectanglelabels": ["cat"],
        },
    }
    assert dog["value"]["rectanglelabels"] == ["dog"]


def test_unlabelled_platform_images_become_tasks_to_label(instance, data_dir, tmp_path):
    folder = data_dir / "src"
    source_platform_classes(folder)
    doc = json.loads((folder / "annotations.json").read_text())
    doc["images"][2]["annotation"] = None
    dump(folder / "annotations.json", doc)
    run_index(instance, folder, fmt="platform")

    instantiate(
        instance, select_members(instance, ["ds:root"]), str(tmp_path / "o"), "label-studio"
    )

    tasks = json.loads((tmp_path / "o" / "annotations.json").read_text())
    assert sorted(len(t["annotations"]) for t in tasks) == [0, 1, 1]


def test_class_ids_travel_from_yolo_to_coco_and_platform(instance, data_dir, tmp_path):
    source_yolo(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="yolo")
    members = select_members(instance, ["ds:root"])

    instantiate(instance, members, str(tmp_path / "coco"), "coco")
    instantiate(instance, members, str(tmp_path / "platform"), "platform")

    # COCO category ids start at 1 (COCO tools read 0 as background): YOLO class 0 is 1
    coco = json.loads((tmp_path / "coco" / "annotations" / "instances_default.json").read_text())
    assert coco["categories"] == [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    assert sorted({a["category_id"] for a in coco["annotations"]}) == [1, 2]
    platform = json.loads((tmp_path / "platform" / "annotations.json").read_text())
    assert platform["classes"] == [{"id": 0, "name": "cat"}, {"id": 1, "name": "dog"}]


@pytest.mark.parametrize("source", ["infer", "platform-classes"])
def test_classification_into_detection_formats(source, instance, data_dir, tmp_path):
    """Issue 12.6: labels without boxes are YOLO's classify layout, and a clear error for
    COCO, never an empty dataset."""
    paths, source_format = SOURCES[source][0](data_dir / "src")
    run_index(instance, *paths, fmt=source_format)
    members = select_members(instance, ["ds:root"])
    reporter = Reporter()

    result = instantiate(instance, members, str(tmp_path / "yolo"), "yolo", reporter=reporter)

    written = sorted(p.relative_to(tmp_path / "yolo") for p in (tmp_path / "yolo").rglob("*.png"))
    # platform records carry split train; the inferred folders none, so train/ as well
    assert [p.parts[:2] for p in written] == [("train", "cat"), ("train", "cat"), ("train", "dog")]
    assert sorted(p.stem.split("-")[0] for p in written) == ["a", "b", "c"]
    assert (result.data_objects, result.annotations) == (3, 3)
    no_split = any("No split: every image is written into train/" in w for w in reporter.warnings)
    assert no_split == (source == "infer")
    with pytest.raises(FormatError, match=r"COCO holds boxes, and the 3 selected annotations "):
        instantiate(instance, members, str(tmp_path / "coco"), "coco")
    assert not (tmp_path / "coco").exists()


def test_classification_into_coco_is_one_error_line(ldb, instance, data_dir, tmp_path):
    source_infer(data_dir / "src")
    assert ldb("index", "-m", "infer", str(data_dir / "src")).returncode == 0

    result = ldb("instantiate", "-m", "coco", "-t", str(tmp_path / "coco"), "ds:root")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: COCO holds boxes, and the 3 selected annotations are classification labels "
        "without boxes: write them with -m yolo (its classify layout), -m tensorflow-inferred "
        "or -m platform"
    ]


@pytest.mark.parametrize("source", ["infer", "platform-classes"])
def test_classification_into_voc_is_an_error(source, instance, data_dir, tmp_path):
    """Labels without a box are no VOC dataset: one error saying what to use, not XML
    files without objects."""
    paths, source_format = SOURCES[source][0](data_dir / "src")
    run_index(instance, *paths, fmt=source_format)

    with pytest.raises(FormatError, match=r"VOC holds boxes, and the 3 selected annotations "):
        instantiate(instance, select_members(instance, ["ds:root"]), str(tmp_path / "v"), "voc")
    assert not (tmp_path / "v").exists()
