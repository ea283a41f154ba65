"""ldb's COCO output against pycocotools (the COCO API that training and evaluation code
uses): it loads, ``info()`` prints, ``annToMask`` gives every box's mask, and COCOeval
of the ground truth against itself gives AP 1.0, also when the source numbered its
images, annotations and categories from 0 (issue 12, items 2 and 4)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from tests.helpers import run_index

# pycocotools 2.0 calls numpy's __array__ the old way
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WIDTH, HEIGHT = 64, 48
# name -> boxes (class, x, y, w, h): one reaching outside the image (clipped; its centre is
# inside, as a YOLO line must have it), an image without any
CONTENT = {
    "a": [("person", 10, 5, 20, 30), ("car", 30.5, 12, 25, 16)],
    "b": [("car", 0, 0, 64, 48), ("person", 40, 30, 30, 30)],
    "c": [],
}
CLASSES = ["person", "car"]


def write_coco_from_zero(folder: Path) -> Path:
    """A COCO file whose image, annotation and category ids start at 0."""
    doc: dict = {
        "images": [],
        "annotations": [],
        "categories": [{"id": n, "name": name} for n, name in enumerate(CLASSES)],
    }
    for n, (name, boxes) in enumerate(CONTENT.items()):
        path = folder / "images" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (WIDTH, HEIGHT), (ord(name), 9, 9)).save(path)
        doc["images"].append({"id": n, "file_name": path.name, "width": WIDTH, "height": HEIGHT})
        for label, *bbox in boxes:
            doc["annotations"].append(
                {
                    "id": len(doc["annotations"]),
                    "image_id": n,
                    "category_id": CLASSES.index(label),
                    "bbox": bbox,
                }
            )
    (folder / "annotations.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def write_yolo(folder: Path) -> Path:
    for name, boxes in CONTENT.items():
        path = folder / "images" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (WIDTH, HEIGHT), (ord(name), 9, 9)).save(path)
        lines = [
            f"{CLASSES.index(label)} {(x + w / 2) / WIDTH} {(y + h / 2) / HEIGHT} "
            f"{w / WIDTH} {h / HEIGHT}\n"
            for label, x, y, w, h in boxes
        ]
        (folder / "labels").mkdir(exist_ok=True)
        (folder / "labels" / f"{name}.txt").write_text("".join(lines))
    (folder / "data.yaml").write_text("names: [person, car]\n")
    return folder


@pytest.fixture(params=["coco-from-0", "yolo"])
def ldb_coco(request, instance, data_dir, tmp_path) -> Path:
    """ldb's COCO output (standard layout) of a source numbered from 0."""
    if request.param == "yolo":
        run_index(instance, write_yolo(data_dir / "src"), fmt="yolo")
    else:
        run_index(instance, write_coco_from_zero(data_dir / "src"), fmt="coco")
    out = tmp_path / "out"
    members = select_members(instance, ["ds:root"])
    instantiate(instance, members, str(out), "coco", reporter=Reporter())
    return out / "annotations" / "instances_default.json"


def quietly(function, *args):
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        result = function(*args)
    return result, printed.getvalue()


def test_pycocotools_loads_it_with_info_and_masks(ldb_coco):
    coco, _ = quietly(COCO, str(ldb_coco))

    _, info = quietly(coco.info)
    assert "description" in info
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == CLASSES
    assert min(coco.getCatIds()) == 1 and min(coco.getImgIds()) == 1
    assert min(coco.getAnnIds()) == 1
    assert len(coco.getImgIds()) == 3 and len(coco.getAnnIds()) == 4
    for annotation in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(annotation)
        assert mask.shape == (HEIGHT, WIDTH)
        x, y, w, h = annotation["bbox"]
        # the box polygon's mask covers the box (to a pixel at its edges)
        assert abs(int(np.sum(mask)) - w * h) <= 2 * (w + h)
        assert x + w <= WIDTH and y + h <= HEIGHT  # clipped to the image


def test_cocoeval_of_the_ground_truth_against_itself_is_perfect(ldb_coco):
    ground_truth, _ = quietly(COCO, str(ldb_coco))
    detections = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1}
        for a in ground_truth.loadAnns(ground_truth.getAnnIds())
    ]
    results, _ = quietly(ground_truth.loadRes, detections)
    evaluation = COCOeval(ground_truth, results, "bbox")

    quietly(lambda: (evaluation.evaluate(), evaluation.accumulate(), evaluation.summarize()))

    assert evaluation.stats[0] == pytest.approx(1.0)  # AP at IoU .50:.95
