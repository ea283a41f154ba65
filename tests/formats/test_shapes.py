"""Shape readers: the label and the pixel boxes of any stored annotation."""

from __future__ import annotations

import pytest

from ldb_clone.formats.shapes import (
    Box,
    classification_label,
    label_text,
    percent,
    pixels,
    read_shapes,
    task_annotation,
    tidy,
)

PLAIN = {
    "label": "dog",
    "breed": "husky",
    "size": {"width": 64, "height": 48},
    "boxes": [
        {"label": "dog", "x": 6, "y": 24, "w": 32, "h": 24},
        {"label": "cat", "x": 38.5, "y": 29, "w": 20, "h": 22, "confidence": 0.75},
    ],
    "split": "val",
}


def boxes(shapes):
    return [(b.label, b.x, b.y, b.w, b.h) for b in shapes.boxes]


def test_plain_annotation():
    shapes = read_shapes(PLAIN)

    assert shapes.label == "dog"
    assert (shapes.width, shapes.height, shapes.size) == (64, 48, (64, 48))
    assert boxes(shapes) == [("dog", 6, 24, 32, 24), ("cat", 38.5, 29, 20, 22)]
    assert [b.confidence for b in shapes.boxes] == [None, 0.75]
    assert shapes.split == "val"
    assert shapes.lost == {}


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ("cat", "cat"),
        ({"cat": "tabby"}, "cat/tabby"),
        ({"bird": {"parrot": "ara"}}, "bird/parrot/ara"),
        (3, "3"),
        (True, None),
        (None, None),
        (["cat", "dog"], None),
        ({"cat": "a", "dog": "b"}, None),
        ("", None),
    ],
)
def test_labels_of_tensorflow_inferred_and_others(label, text):
    assert label_text(label) == text
    assert classification_label({"label": label}) == text


def test_label_only_and_boxes_only():
    only_label = read_shapes({"label": "cat"})
    assert (only_label.label, only_label.boxes, only_label.size) == ("cat", [], None)
    only_boxes = read_shapes({"boxes": [], "width": 10, "height": 20})
    assert (only_boxes.label, only_boxes.boxes, only_boxes.size) == (None, [], (10, 20))


@pytest.mark.parametrize(
    "annotation",
    [None, "cat", 3, ["label"], {}, {"n": 1}, {"size": {"width": 1, "height": 1}}],
)
def test_nothing_to_read(annotation):
    assert read_shapes(annotation) is None
    assert classification_label(annotation) is None


def test_boxes_that_cannot_be_read_are_counted():
    shapes = read_shapes(
        {
            "boxes": [
                [0, 1, 15, 14],
                {"x": 1, "y": 1, "w": 2, "h": 2},
                {"label": "cat", "x": "1", "y": 1, "w": 2, "h": 2},
                {"label": "cat", "x": float("nan"), "y": 1, "w": 2, "h": 2},
                {"label": "cat", "bbox": [1, 2, 3, 4]},
            ]
        }
    )
    assert boxes(shapes) == [("cat", 1, 2, 3, 4)]
    assert shapes.lost == {"boxes without a label or x, y, w, h": 4}


@pytest.mark.parametrize("size", [{"width": 0, "height": 5}, {"width": "a", "height": 5}, 7])
def test_unusable_sizes_are_unknown(size):
    assert read_shapes({"label": "x", "size": size}).size is None


def test_coco_and_yolo_records_carry_their_fields_and_class_ids():
    coco = {"id": 7, "category_id": 18, "iscrowd": 0, "area": 12.5}
    shapes = read_shapes(
        {
            "size": {"width": 640, "height": 480},
            "boxes": [
                {"label": "dog", "x": 1, "y": 2, "w": 3, "h": 4, "coco": coco},
                {"label": "cat", "x": 1, "y": 2, "w": 3, "h": 4, "yolo": {"class_id": 0}},
            ],
        }
    )
    assert shapes.boxes[0] == Box("dog", 1, 2, 3, 4, None, 18, {"coco": coco})
    assert shapes.boxes[1].class_id == 0
    assert shapes.class_ids == {"dog": 18, "cat": 0}


# platform ---------------------------------------------------------------------------------

CLASSES = [{"id": 0, "name": "cat", "color": "#FF6B6B"}, {"id": 1, "name": "dog"}]


def platform(task_type, **extra):
    return {
        "id": 1,
        "file_name": "img001.jpg",
        "width": 1920,
        "height": 1080,
        "split": "train",
        "task_type": task_type,
        "classes": CLASSES,
        **extra,
    }


def test_platform_classification():
    shapes = read_shapes(
        platform("image_classification", annotation={"class_id": 0, "class_name": "cat"})
    )
    assert (shapes.label, shapes.boxes, shapes.size) == ("cat", [], (1920, 1080))
    assert shapes.class_ids == {"cat": 0, "dog": 1}
    assert shapes.split == "train"
    # the class name found by its id; unlabelled
    by_id = read_shapes(platform("image_classification", annotation={"class_id": 1}))
    assert by_id.label == "dog"
    unlabelled = read_shapes(platform("image_classification", annotation=None))
    assert (unlabelled.label, unlabelled.boxes) == (None, [])


def test_platform_detection():
    shapes = read_shapes(
        platform(
            "object_detection",
            annotations=[
                {"class_id": 0, "class_name": "cat", "bbox": [10, 20, 30, 40], "confidence": 0.5},
                {"class_id": 1, "bbox": [1, 2, 3, 4]},
                {"class_name": "cat", "bbox": [1, 2, 3]},
            ],
        )
    )
    assert shapes.label is None
    assert boxes(shapes) == [("cat", 10, 20, 30, 40), ("dog", 1, 2, 3, 4)]
    assert [(b.confidence, b.class_id) for b in shapes.boxes] == [(0.5, 0), (None, 1)]
    assert shapes.lost == {"platform boxes without a class or bbox": 1}
    assert read_shapes(platform("object_detection", annotations=[])).boxes == []


# Label Studio -----------------------------------------------------------------------------


def rectangle(x, y, w, h, label="cat", size=(640, 480), **extra):
    return {
        "from_name": "bbox",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": size[0],
        "original_height": size[1],
        "image_rotation": 0,
        "value": {
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "rotation": 0,
            "rectanglelabels": [label],
        },
        **extra,
    }


def choice(*names):
    return {
        "from_name": "class",
        "to_name": "image",
        "type": "choices",
        "value": {"choices": list(names)},
    }


def ls_task(*results, **extra):
    return {
        "id": 1,
        "data": {"image": "s3://bucket/cat1.png"},
        "annotations": [{"id": 1, "result": list(results), "was_cancelled": False}],
        "predictions": [1],
        **extra,
    }


def test_label_studio_choices_and_rectangles():
    """The ecosystem notes' oracle: (10%, 20%) 30%x40% on 640x480 is 64, 96, 192, 192."""
    shapes = read_shapes(ls_task(choice("cat"), rectangle(10.0, 20.0, 30.0, 40.0, score=0.9)))

    assert shapes.label == "cat"
    assert boxes(shapes) == [("cat", 64, 96, 192, 192)]
    assert shapes.boxes[0].confidence == 0.9
    assert shapes.size == (640, 480)
    assert shapes.lost == {}


def test_label_studio_rounding():
    """The bundled example: 17.19% of 64 px is 11.0016 px: rounded to 4 decimals."""
    shapes = read_shapes(ls_task(rectangle(17.19, 28.12, 46.88, 53.12, size=(64, 64))))
    assert boxes(shapes) == [("cat", 11.0016, 17.9968, 30.0032, 33.9968)]


def test_label_studio_what_cannot_be_read_is_counted():
    shapes = read_shapes(
        ls_task(
            choice("cat", "dog"),
            choice("indoor"),
            rectangle(1, 2, 3, 4, rotation=0, value={"x": 1}),
            {**rectangle(1, 2, 3, 4), "original_width": None},
            {"type": "polygonlabels", "value": {"points": [[1, 2]]}},
            "not a result",
        )
    )
    assert shapes.label == "cat"
    assert shapes.boxes == []
    assert shapes.lost == {
        "Label Studio choices beyond the first (one label per object)": 2,
        "Label Studio rectangles without a label, a position or original size": 2,
        "Label Studio polygonlabels results": 1,
    }


def rotated(x, y, w, h, degrees, size=(640, 480)):
    result = rectangle(x, y, w, h, size=size)
    result["value"]["rotation"] = degrees
    return result


def test_label_studio_rotated_rectangle_becomes_its_enclosing_box():
    """Label Studio turns a rectangle clockwise about its top-left corner: 100x50 px at
    (200, 100) turned 90 degrees covers x 150..200, y 100..200; 30 degrees on the left
    edge is cut at the image border. Each counts as a loss."""
    shapes = read_shapes(
        ls_task(
            rotated(31.25, 100 / 480 * 100, 100 / 640 * 100, 50 / 480 * 100, 90),
            rotated(0, 10, 10, 10, 30),
            rotated(50, 50, 10, 10, 360),
        )
    )

    assert boxes(shapes) == [
        ("cat", 150, 100, 50, 100),
        ("cat", 0, 48, 55.4256, 73.5692),
        ("cat", 320, 240, 64, 48),
    ]
    assert shapes.lost == {
        "rotations of Label Studio rectangles (each written as its enclosing box)": 2
    }


def test_label_studio_uses_the_last_annotation_not_cancelled():
    task = ls_task(choice("cat"))
    task["annotations"] += [
        {"id": 2, "result": [choice("dog")]},
        {"id": 3, "result": [choice("bird")], "was_cancelled": True},
    ]
    assert task_annotation(task)["id"] == 2
    assert classification_label(task) == "dog"
    # pre-1.0 exports; a task without annotations has no label (predictions are not read)
    assert classification_label({"data": {}, "completions": [{"result": [choice("x")]}]}) == "x"
    empty = read_shapes({"data": {"image": "a"}, "annotations": [], "predictions": [{}]})
    assert (empty.label, empty.boxes) == (None, [])


def test_a_task_without_annotations_key_is_read_as_plain():
    """{"data": ...} alone is not a task these readers know (nothing to read)."""
    assert read_shapes({"data": {"image": "a.png"}}) is None


def test_conversions_between_pixels_and_percent():
    assert pixels(17.19, 64) == 11.0016
    assert pixels(50, 64) == 32 and isinstance(pixels(50, 64), int)
    assert percent(32, 64) == 50
    assert percent(11, 64) == 17.1875
    assert tidy(14.000000000000002) == 14


@pytest.mark.parametrize(
    "annotation",
    [
        {
            "boxes": [
                {"label": "cat", "x": 1, "y": 2, "w": 3, "h": 4, "coco": {"category_id": 17}}
            ],
            "coco": {"categories": [{"id": 17, "name": "cat"}, {"id": 18, "name": "dog"}]},
            "split": "val",
        },
        {"label": "dog", "yolo": {"names": ["cat", "dog"]}},
        {
            "task_type": "object_detection",
            "classes": [{"id": 0, "name": "cat"}],
            "annotations": [{"class_id": 0, "bbox": [1, 2, 3, 4]}],
        },
    ],
)
def test_shapes_without_the_class_list_are_the_same_otherwise(annotation):
    """Counting labels skips reading a plain annotation's class list, and nothing else."""
    full, light = read_shapes(annotation), read_shapes(annotation, classes=False)
    assert full is not None and full.classes
    assert (light.label, light.boxes, light.split, light.class_ids, light.lost) == (
        full.label,
        full.boxes,
        full.split,
        full.class_ids,
        full.lost,
    )
    assert light.classes in (None, full.classes)  # the platform's classes name its boxes
