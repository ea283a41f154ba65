"""Pascal VOC against the real Datumaro: its ``voc_detection`` importer reads what
``ldb instantiate -m voc`` writes, and one ``ldb index`` reads what its exporter writes.

Datumaro lives in its own virtual environment (it pins numpy, pandas and more), at
``$LDB_DATUMARO_VENV`` or ``~/.cache/ldb-clone/datumaro-1.13.12``, built by
``tests/interop/ensure_datumaro.sh`` (the COCO/YOLO interop branch); these tests run its python
in a subprocess; they are deselected by default (run them with ``-m datumaro``), skipped
when the environment is absent, and fail then in CI (``CI=true``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from tests.helpers import by_path, run_index

pytestmark = pytest.mark.datumaro

VERSION = "1.13.12"
# NOTE: read at import, before the autouse fixture gives every test its own HOME
VENV = Path(
    os.environ.get("LDB_DATUMARO_VENV")
    or Path.home() / ".cache" / "ldb-clone" / f"datumaro-{VERSION}"
)

# name -> (split, image size, boxes (label, x, y, w, h) in pixels)
CONTENT = {
    "a": ("train", (64, 48), [("person", 10, 5, 20, 30), ("car", 30.5, 12, 25, 16)]),
    "b": ("train", (40, 30), [("car", 0, 0, 40, 30)]),
    "c": ("val", (64, 48), [("traffic light", 1, 2, 3, 4), ("person", 5, 6, 7, 8)]),
}

IMPORT = """
import json, sys
import datumaro as dm
ds = dm.Dataset.import_from(sys.argv[1], "voc_detection")
names = ds.categories()[dm.AnnotationType.label]
print(json.dumps([
    {"id": item.id, "subset": item.subset, "boxes": sorted(
        [names[a.label].name if a.label is not None else None, *a.get_bbox()]
        for a in item.annotations if a.type == dm.AnnotationType.bbox),
     "attributes": sorted(
        [a.attributes.get(k) for k in ("difficult", "truncated", "pose")]
        for a in item.annotations if a.type == dm.AnnotationType.bbox)}
    for item in ds
]))
"""
EXPORT = """
import json, sys
import numpy as np
import datumaro as dm
content = json.loads(sys.argv[2])
labels = sorted({box[0] for _, _, boxes in content.values() for box in boxes})
items = []
for name, (subset, (width, height), boxes) in content.items():
    pixels = np.full((height, width, 3), ord(name), dtype=np.uint8)
    items.append(dm.DatasetItem(
        id=name, subset=subset, media=dm.Image.from_numpy(pixels, ext=".jpg"),
        annotations=[dm.Bbox(x, y, w, h, label=labels.index(lab)) for lab, x, y, w, h in boxes],
    ))
ds = dm.Dataset.from_iterable(items, categories=labels)
ds.export(sys.argv[1], "voc_detection", save_media=True)
"""


@pytest.fixture(scope="module")
def datumaro_python() -> Path:
    """The python of the Datumaro environment (``tests/interop/ensure_datumaro.sh``
    builds it), or a skip (a failure in CI)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        reason = f"no Datumaro environment at {VENV}: run tests/interop/ensure_datumaro.sh"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)  # .ci/run builds it: missing there is a failure
        pytest.skip(reason)
    return python


def datumaro(python: Path, script: str, *args: str) -> str:
    result = subprocess.run(
        [str(python), "-c", script, *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def write_pairs(folder: Path) -> None:
    """The content as strict-pairs (images with plain annotations holding a split)."""
    for name, (split, (width, height), boxes) in CONTENT.items():
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (width, height), (ord(name), 9, 9)).save(folder / f"{name}.png")
        record = {
            "split": split,
            "size": {"width": width, "height": height},
            "boxes": [dict(zip(["label", "x", "y", "w", "h"], box)) for box in boxes],
        }
        (folder / f"{name}.json").write_text(json.dumps(record), encoding="utf-8")


def test_datumaro_imports_ldb_voc_output(datumaro_python, instance, data_dir, tmp_path):
    write_pairs(data_dir / "src")
    run_index(instance, data_dir / "src", fmt="strict")
    out = tmp_path / "voc"
    instantiate(
        instance, select_members(instance, ["ds:root"]), str(out), "voc", reporter=Reporter()
    )

    items = json.loads(datumaro(datumaro_python, IMPORT, str(out)))

    got = {item["id"]: (item["subset"], item["boxes"]) for item in items}
    expected = {
        name: (split, sorted([*box] for box in boxes))
        for name, (split, _, boxes) in CONTENT.items()
    }
    assert got == expected  # same images, splits, every box labelled, same pixels


def test_ldb_indexes_datumaro_voc_output_in_one_run(datumaro_python, instance, data_dir):
    folder = data_dir / "datumaro-voc"
    datumaro(datumaro_python, EXPORT, str(folder), json.dumps(CONTENT))

    result, reporter = run_index(instance, folder)  # auto-detected, one run

    assert "Auto-detected data format: voc" in reporter.lines
    assert result.found_objects == len(CONTENT)
    values = by_path(instance)
    for name, (split, (width, height), boxes) in CONTENT.items():
        value = values[str(folder / "JPEGImages" / f"{name}.jpg")]
        assert value["split"] == split
        assert (value["size"]["width"], value["size"]["height"]) == (width, height)
        got = sorted((b["label"], b["x"], b["y"], b["w"], b["h"]) for b in value["boxes"])
        assert got == sorted(boxes)


def test_datumaro_reads_the_voc_fields_ldb_kept(datumaro_python, instance, data_dir, tmp_path):
    """difficult, truncated and pose read from VOC are written back where Datumaro
    finds them (as its box attributes)."""
    folder = data_dir / "voc"
    (folder / "JPEGImages").mkdir(parents=True)
    Image.new("RGB", (64, 48), (1, 2, 3)).save(folder / "JPEGImages" / "a.jpg")
    (folder / "Annotations").mkdir()
    (folder / "Annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><object><name>cat</name><pose>Left</pose>"
        "<truncated>1</truncated><difficult>1</difficult><bndbox><xmin>1</xmin><ymin>2</ymin>"
        "<xmax>30</xmax><ymax>40</ymax></bndbox></object></annotation>",
        encoding="utf-8",
    )
    run_index(instance, folder, fmt="voc")
    out = tmp_path / "voc"
    instantiate(
        instance, select_members(instance, ["ds:root"]), str(out), "voc", reporter=Reporter()
    )

    (item,) = json.loads(datumaro(datumaro_python, IMPORT, str(out)))

    assert item["boxes"] == [["cat", 1.0, 2.0, 29.0, 38.0]]
    assert item["attributes"] == [[True, True, "Left"]]
