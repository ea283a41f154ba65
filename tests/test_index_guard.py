"""Issue 13 item 9: the wrong-format guard of ``ldb index``, and ``--dry-run`` for
``index`` and ``instantiate``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.instance import Instance
from tests.formats.test_coco import write_coco
from tests.helpers import current, run_index


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def catalog_digest(instance_dir: Path) -> str:
    """Every byte of the instance's files (the catalog and its WAL included; not the
    shared-memory index, which readers change, nor an empty WAL a reader creates)."""
    digest = hashlib.sha256()
    files = (
        p
        for p in instance_dir.rglob("*")
        if p.is_file() and not p.name.endswith("-shm") and p.stat().st_size > 0
    )
    for path in sorted(files):
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def coco_indexed(instance: Instance, data_dir: Path) -> Path:
    write_coco(data_dir)
    run_index(instance, data_dir, fmt="coco")
    return data_dir


def test_wrong_format_stops_before_replacing_labels(
    instance: Instance, instance_dir: Path, coco_indexed: Path
):
    before = current(instance)
    catalog = catalog_digest(instance_dir)
    result = run("index", "-m", "yolo", str(coco_indexed))
    assert result.exit_code == 1, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1, result.stderr
    assert "would replace 2 annotations that hold labels, boxes or entities" in error[0]
    assert "try -m coco" in error[0]
    assert "--annotation-update replace" in error[0]
    assert "Traceback" not in result.stderr
    assert current(instance) == before
    assert catalog_digest(instance_dir) == catalog


def test_an_explicit_replace_goes_on(instance: Instance, coco_indexed: Path):
    result = run("index", "-m", "yolo", "--annotation-update", "replace", str(coco_indexed))
    assert result.exit_code == 0, result.output
    values = [value for value, _ in current(instance).values()]
    assert not any(value.get("boxes") for value in values)


def test_the_right_format_again_is_not_stopped(instance: Instance, coco_indexed: Path):
    assert run("index", "-m", "coco", str(coco_indexed)).exit_code == 0


def test_index_dry_run_writes_nothing(
    instance: Instance, instance_dir: Path, data_dir: Path, make_image, make_json
):
    for name in ("a", "b"):
        make_image(data_dir / f"{name}.png")
        make_json(data_dir / f"{name}.json", {"label": name})
    make_image(data_dir / "c.png")
    catalog = catalog_digest(instance_dir)
    result = run("index", "-m", "bare", "--dry-run", str(data_dir))
    assert result.exit_code == 0, result.output
    assert "Dry run, nothing was written" in result.stdout
    assert "New data objects:              3" in result.stdout
    assert "New annotations:               2" in result.stdout
    assert catalog_digest(instance_dir) == catalog
    assert current(instance) == {}

    as_json = run("index", "-m", "bare", "--dry-run", "--json", str(data_dir))
    report = json.loads(as_json.stdout)
    assert report["dry_run"] is True
    assert (report["new_objects"], report["new_annotations"]) == (3, 2)
    assert catalog_digest(instance_dir) == catalog


def test_index_dry_run_counts_replaced_annotations(instance: Instance, coco_indexed: Path):
    result = run("index", "-m", "yolo", "--dry-run", "--json", str(coco_indexed))
    assert result.exit_code == 1  # the guard applies to a dry run too
    replaced = run(
        "index",
        "-m",
        "yolo",
        "--dry-run",
        "--json",
        "--annotation-update",
        "replace",
        str(coco_indexed),
    )
    assert replaced.exit_code == 0, replaced.output
    assert json.loads(replaced.stdout)["replaced_annotations"] == 3


def test_instantiate_dry_run_writes_nothing(
    instance: Instance, instance_dir: Path, coco_indexed: Path, tmp_path: Path
):
    catalog = catalog_digest(instance_dir)
    target = tmp_path / "out"
    result = run("instantiate", "ds:root", "-m", "coco", "--dry-run", "-t", str(target))
    assert result.exit_code == 0, result.output
    assert "Dry run, nothing was written" in result.stdout
    assert "Data objects:         3" in result.stdout
    assert not target.exists()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir() if p.name != "home")

    report = json.loads(
        run("instantiate", "ds:root", "-m", "coco", "--dry-run", "--json", "-t", str(target)).stdout
    )
    assert report["dry_run"] is True
    assert report["data_objects"] == 3 and report["files"] == 4
    assert report["bytes"] > 0
    assert not target.exists()
    assert catalog_digest(instance_dir) == catalog


def test_index_dry_run_fails_where_a_real_run_would(
    instance: Instance, instance_dir: Path, tmp_path: Path, make_image
):
    """Files outside storage and no read-add location: the dry run says so too."""
    make_image(tmp_path / "outside" / "a.png")
    catalog = catalog_digest(instance_dir)
    result = run("index", "-m", "bare", "--dry-run", str(tmp_path / "outside"))
    assert result.exit_code == 1
    assert "no read-add storage configured" in result.stderr
    assert catalog_digest(instance_dir) == catalog


# holds_labels: the plain annotations formats build are answered without reading boxes ----

PLAIN_AND_OTHERS = [
    {"boxes": [{"label": "car", "x": 1, "y": 2, "w": 3, "h": 4}]},
    {"boxes": [{"x": 1}]},  # no label: counted as lost, so it still holds something
    {"boxes": [], "label": "cat"},
    {"boxes": []},
    {"boxes": [7], "task_type": "object_detection"},  # platform: its own reader
    {"boxes": [7], "data": {}, "annotations": []},  # a Label Studio task
    {"label": ""},
    [],
    None,
]


@pytest.mark.parametrize("value", PLAIN_AND_OTHERS)
def test_holds_labels_answers_as_the_shape_readers(value):
    from ldb_clone import annotation_guard
    from ldb_clone.formats.shapes import read_shapes

    shapes = read_shapes(value)
    expected = shapes is None or bool(shapes.label or shapes.boxes or shapes.lost)
    expected = expected and value not in (None, {}, [])
    assert annotation_guard.holds_labels(value) == expected


def test_holds_labels_does_not_read_every_box_of_a_plain_annotation(monkeypatch):
    """``ldb index -m coco`` asks this of every image: the answer needs no box read."""
    from ldb_clone import annotation_guard

    def no_reading(value):
        raise AssertionError("read_shapes called")

    monkeypatch.setattr(annotation_guard, "read_shapes", no_reading)
    boxes = [{"label": "car", "x": 1, "y": 2, "w": 3, "h": 4, "coco": {"id": n}} for n in range(3)]
    assert annotation_guard.holds_labels({"boxes": boxes, "split": "train"})
