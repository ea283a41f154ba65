"""is_box_polygon: whether a COCO segmentation is nothing but its box (then converting it
to a box-only format loses nothing)."""

from __future__ import annotations

import random

import pytest

from ldb_clone.formats.convert import is_box_polygon
from ldb_clone.formats.shapes import Box


def reference(segmentation, box) -> bool:
    """The definition, written plainly: one polygon of four distinct points (to 0.01 px),
    each of them a corner of the box to 0.01 px."""
    if not isinstance(segmentation, list) or len(segmentation) != 1:
        return False
    points = segmentation[0]
    if not isinstance(points, list) or len(points) != 8:
        return False
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in points):
        return False
    xs, ys = points[0::2], points[1::2]
    near = lambda a, b: abs(a - b) <= 0.01  # noqa: E731
    if not all(near(x, box.x) or near(x, box.x + box.w) for x in xs):
        return False
    if not all(near(y, box.y) or near(y, box.y + box.h) for y in ys):
        return False
    return len({(round(x, 2), round(y, 2)) for x, y in zip(xs, ys)}) == 4


def corners(x, y, w, h):
    return [x, y, x + w, y, x + w, y + h, x, y + h]


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        (corners(10, 20, 30, 40), True),
        (corners(10.5, 20.25, 3.125, 4.0), True),
        ([40, 20, 10, 20, 10, 60, 40, 60], True),  # another order
        ([10.004, 20, 40, 20, 40, 60, 10, 60.009], True),  # within 0.01 px
        ([10.02, 20, 40, 20, 40, 60, 10, 60], False),
        (corners(10, 20, 0, 40), False),  # two points, not four
        ([True, 20, 40, 20, 40, 60, 1, 60], False),  # a boolean is not a number
        ([10, 20, 40, 20, 40, 60, 10, 60, 10, 20], False),  # five points
        ([10, 20, 40, 20, 40, "60", 10, 60], False),
    ],
)
def test_box_polygons(points, expected):
    box = _box_for(points)
    assert is_box_polygon([points], box) is expected
    assert reference([points], box) is expected


def _box_for(points):
    """The box the numbers of ``points`` span."""
    numbers = [p for p in points if type(p) in (int, float)]
    xs, ys = numbers[0::2], numbers[1::2]
    x, y = min(xs), min(ys)
    return Box("cat", x, y, max(xs) - x, max(ys) - y)


def test_agrees_with_the_definition_on_generated_polygons():
    rnd = random.Random(5)
    agreed = positives = 0
    for _ in range(5000):
        x, y = rnd.choice([0, 3, 10.5, 0.004]), rnd.choice([0, 7, 2.25])
        w, h = rnd.choice([0, 0.005, 1, 12.5, 30]), rnd.choice([0, 0.02, 2, 9.75])
        points = corners(x, y, w, h)
        if rnd.random() < 0.3:
            points[rnd.randrange(8)] += rnd.choice([0.005, 0.02, -0.009, 1])
        if rnd.random() < 0.2:
            pairs = [points[i : i + 2] for i in range(0, 8, 2)]
            rnd.shuffle(pairs)
            points = [v for pair in pairs for v in pair]
        if rnd.random() < 0.05:
            points[rnd.randrange(8)] = rnd.choice([True, False, None])
        box = Box("cat", x, y, w, h)
        expected = reference([points], box)
        assert is_box_polygon([points], box) is expected, (points, box)
        agreed += 1
        positives += expected
    assert agreed == 5000 and 1000 < positives < 4500
