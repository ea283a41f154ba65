"""COCO and YOLO against the real Datumaro 1.13: its importers read what ``ldb
instantiate`` writes (same images and boxes, every box labelled, classes in the source's
order, splits as subsets), and one ``ldb index`` per folder reads what its exporters
write.

Datumaro lives in its own virtual environment (it pins numpy, pandas and more):
``$LDB_DATUMARO_VENV`` or ``~/.cache/ldb-clone/datumaro-1.13.12``, built by
``tests/interop/ensure_datumaro.sh``. The tests run ``datumaro_probe.py`` with its python
in a subprocess. They are deselected by default (run them with ``-m datumaro``), skipped
when the environment is absent, and fail then in CI (``CI=true``), whose ``.ci/run``
builds it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ldb_clone.instance import init_instance, open_instance
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.storage import add_storage
from tests.helpers import by_path, run_index

pytestmark = pytest.mark.datumaro

VERSION = "1.13.12"
# NOTE: read at import, before the autouse fixture gives every test its own HOME
VENV = Path(
    os.environ.get("LDB_DATUMARO_VENV")
    or Path.home() / ".cache" / "ldb-clone" / f"datumaro-{VERSION}"
)
PROBE = Path(__file__).with_name("datumaro_probe.py")

# COCO category ids with gaps, not in name order: Datumaro keeps id order (person first)
CATEGORIES = [(1, "person"), (3, "car"), (10, "traffic light")]
# name -> (subset, boxes (category, x, y, w, h) in pixels) on 64x48 images
CONTENT: dict[str, tuple[str, list[tuple[str, float, float, float, float]]]] = {
    "a": ("train", [("person", 10, 5, 20, 30), ("car", 30.5, 12, 25, 16)]),
    "b": ("train", [("car", 0, 0, 64, 48)]),
    "c": ("train", []),
    "d": ("val", [("traffic light", 1, 2, 3, 4), ("person", 5, 6, 7, 8)]),
}
BOXES = sum(len(boxes) for _, boxes in CONTENT.values())
SUBSETS = {"train": 3, "val": 1}


@pytest.fixture(scope="module")
def datumaro_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        reason = f"no Datumaro environment at {VENV}: run tests/interop/ensure_datumaro.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return python


def probe(python: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), str(PROBE), *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def write_standard_coco(folder: Path) -> Path:
    """The content in the standard COCO layout: annotations/instances_<subset>.json and
    images/<subset>/."""
    categories = {name: cid for cid, name in CATEGORIES}
    docs: dict[str, dict[str, Any]] = {}
    for n, (name, (subset, boxes)) in enumerate(CONTENT.items(), 1):
        path = folder / "images" / subset / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (ord(name), 9, 9)).save(path)
        doc = docs.setdefault(
            subset,
            {
                "images": [],
                "annotations": [],
                "categories": [{"id": cid, "name": name} for cid, name in CATEGORIES],
            },
        )
        doc["images"].append({"id": n, "file_name": f"{name}.png", "width": 64, "height": 48})
        for label, *bbox in boxes:
            doc["annotations"].append(
                {
                    "id": len(doc["annotations"]) + 1,
                    "image_id": n,
                    "category_id": categories[label],
                    "bbox": bbox,
                }
            )
    for subset, doc in docs.items():
        path = folder / "annotations" / f"instances_{subset}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc), encoding="utf-8")
    return folder


def written_by_ldb(instance, data_dir: Path, tmp_path: Path, fmt: str) -> Path:
    write_standard_coco(data_dir / "src")
    result, _ = run_index(instance, data_dir / "src", fmt="coco")
    assert result.found_objects == len(CONTENT)
    out = tmp_path / f"ldb-{fmt}"
    members = select_members(instance, ["ds:root"])
    instantiate(instance, members, str(out), fmt, reporter=Reporter())
    return out


@pytest.mark.parametrize(("fmt", "datumaro_format"), [("coco", "coco"), ("yolo", "yolo")])
def test_datumaro_imports_ldb_output(
    fmt, datumaro_format, datumaro_python, instance, data_dir, tmp_path
):
    out = written_by_ldb(instance, data_dir, tmp_path, fmt)

    counts = probe(datumaro_python, "count", datumaro_format, str(out))

    assert counts == {
        "images": len(CONTENT),
        "boxes": BOXES,
        "unlabelled_boxes": 0,
        "labels": [name for _, name in CATEGORIES],
        "subsets": SUBSETS,
    }


@pytest.mark.parametrize(
    ("datumaro_format", "ldb_format"), [("coco_instances", "coco"), ("yolo_ultralytics", "yolo")]
)
def test_ldb_indexes_datumaro_output_in_one_run(
    datumaro_format, ldb_format, datumaro_python, instance, data_dir, tmp_path
):
    """Both lay images out as images/<subset>/."""
    source = written_by_ldb(instance, data_dir, tmp_path, "coco")
    folder = data_dir / f"datumaro-{ldb_format}"
    probe(datumaro_python, "convert", "coco", str(source), datumaro_format, str(folder))
    init_instance(tmp_path / "second")
    second = open_instance(tmp_path / "second")
    try:
        add_storage(second, str(data_dir))

        result, _ = run_index(second, folder, fmt=ldb_format)  # one run for the folder

        assert result.finished and result.found_objects == len(CONTENT)
        values = by_path(second)
    finally:
        second.close()
    for name, (subset, boxes) in CONTENT.items():
        value = values[str(folder / "images" / subset / f"{name}.png")]
        assert value["split"] == subset
        got = sorted(
            (b["label"], round(b["x"], 3), round(b["y"], 3), round(b["w"], 3), round(b["h"], 3))
            for b in value["boxes"]
        )
        assert got == sorted(boxes)
