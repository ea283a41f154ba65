"""auto-detect: the format is chosen from what the paths hold (SPEC §2)."""

from __future__ import annotations

import re
from pathlib import Path

from ldb_clone.indexing import index
from ldb_clone.reporting import Reporter
from tests.helpers import by_path, run_index


def detected(reporter: Reporter) -> list[str]:
    return [line for line in reporter.lines if line.startswith("Auto-detected data format:")]


def test_pairs_are_strict_pairs(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": "a"})

    result, reporter = run_index(instance, data_dir)

    assert result.format == "strict-pairs"
    assert reporter.lines[0] == "Data format: auto-detect"
    assert detected(reporter) == ["Auto-detected data format: strict-pairs"]
    assert by_path(instance) == {str(data_dir / "a.png"): {"label": "a"}}
    assert reporter.warnings == []


def test_strict_warns_about_unannotated_files(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": "a"})
    make_image(data_dir / "b.png")
    make_image(data_dir / "sub" / "c.png")

    result, reporter = run_index(instance, data_dir)

    assert result.format == "strict-pairs"
    assert result.found_objects == 1
    assert len(reporter.warnings) == 1
    warning = reporter.warnings[0]
    assert re.search(r"\b2\b", warning), warning
    assert "--format bare" in warning


def test_flat_folder_without_json_is_strict_pairs(instance, data_dir, make_image):
    make_image(data_dir / "a.png")
    make_image(data_dir / "b.png")

    result, reporter = run_index(instance, data_dir)

    assert result.format == "strict-pairs"
    assert result.found_objects == 0
    assert any("--format bare" in w for w in reporter.warnings)


def test_only_annotation_only_records(instance, data_dir, tmp_path, make_image, make_json):
    image = make_image(data_dir / "a.png")
    index(instance, [str(data_dir)], fmt="bare", reporter=Reporter())
    oid = instance.hasher.bytes_digest(image.read_bytes())
    annots = tmp_path / "annots"
    make_json(
        annots / "a.json", {"annotation": {"label": "x"}, "data-object-info": {"xxh3_128": oid}}
    )

    result, reporter = run_index(instance, annots)

    assert result.format == "annotation-only"
    assert detected(reporter) == ["Auto-detected data format: annotation-only"]
    assert by_path(instance) == {str(image): {"label": "x"}}


def test_only_label_studio_tasks(instance, data_dir, tmp_path, make_image, make_json):
    image = make_image(data_dir / "a.png")
    export = make_json(tmp_path / "ls" / "export.json", [{"id": 1, "data": {"image": str(image)}}])

    result, reporter = run_index(instance, export.parent)

    assert result.format == "label-studio"
    assert detected(reporter) == ["Auto-detected data format: label-studio"]
    [value] = by_path(instance).values()
    assert value["data"]["image"] == str(image)
    assert value["data"]["data-object-info"]["path_key"] == '"data"."image"'


def test_class_folders_are_tensorflow_inferred(instance, data_dir, make_image):
    make_image(data_dir / "cat" / "1.png")
    make_image(data_dir / "cat" / "tabby" / "2.png")
    make_image(data_dir / "dog" / "3.png")

    result, reporter = run_index(instance, data_dir)

    assert result.format == "tensorflow-inferred"
    assert detected(reporter) == ["Auto-detected data format: tensorflow-inferred"]
    assert by_path(instance) == {
        str(data_dir / "cat" / "1.png"): {"label": "cat"},
        str(data_dir / "cat" / "tabby" / "2.png"): {"label": {"cat": "tabby"}},
        str(data_dir / "dog" / "3.png"): {"label": "dog"},
    }


def test_class_folders_with_json_are_strict_pairs(instance, data_dir, make_image, make_json):
    make_image(data_dir / "cat" / "1.png")
    make_json(data_dir / "cat" / "1.json", {"label": "own"})
    make_image(data_dir / "dog" / "2.png")

    result, _ = run_index(instance, data_dir)

    assert result.format == "strict-pairs"
    assert by_path(instance) == {str(data_dir / "cat" / "1.png"): {"label": "own"}}


def test_cli_prints_the_detected_format(ldb, instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": "a"})
    make_image(data_dir / "b.png")

    proc = ldb("index", str(data_dir), check=True)

    lines = proc.stdout.splitlines()
    assert lines[:4] == [
        "Data format: auto-detect",
        "Collecting paths...",
        "Auto-detected data format: strict-pairs",
        "Indexing data...",
    ]
    assert "--format bare" in proc.stderr


def test_platform_dataset_folders_are_detected(instance, data_dir):
    from tests.formats.test_platform import document, image_entry, write_dataset

    folder = data_dir / "cats"
    write_dataset(folder, document([image_entry(n) for n in range(1, 4)]))
    result, reporter = run_index(instance, folder)
    assert result.format == "platform"
    assert detected(reporter) == ["Auto-detected data format: platform"]
    assert result.found_objects == 3


def test_text_pairs_are_detected(instance, data_dir):
    from tests.formats.test_text import EN_TEXT, english, write_pair

    write_pair(data_dir, "news", EN_TEXT, english())
    result, reporter = run_index(instance, data_dir)
    assert detected(reporter) == ["Auto-detected data format: text"]
    assert result.found_annotations == 1


def test_coco_files_and_folders_are_detected(instance, data_dir):
    from tests.formats.test_coco import write_coco

    annotations = write_coco(data_dir / "coco")
    result, reporter = run_index(instance, annotations)
    assert detected(reporter) == ["Auto-detected data format: coco"]
    again, reporter = run_index(instance, data_dir / "coco")
    assert detected(reporter) == ["Auto-detected data format: coco"]
    assert again.found_objects == result.found_objects > 0


def test_yolo_dataset_folders_are_detected(instance, data_dir):
    from tests.formats.test_yolo import dataset

    result, reporter = run_index(instance, dataset(data_dir / "yolo"))
    assert detected(reporter) == ["Auto-detected data format: yolo"]
    assert result.found_objects == 3


def test_the_standard_coco_layout_is_detected(instance, data_dir, tmp_path):
    """annotations/instances_<subset>.json beside images/<subset>/ (Datumaro's output)."""
    from ldb_clone.instantiation import instantiate
    from ldb_clone.selection import select_members
    from tests.formats.test_coco import write_coco

    write_coco(data_dir / "coco")
    run_index(instance, data_dir / "coco", fmt="coco")
    out = data_dir / "standard"
    members = select_members(instance, ["ds:root"])
    instantiate(instance, members, str(out), "coco", {"split": "train:0.5,val:0.5"})

    result, reporter = run_index(instance, out)

    assert detected(reporter) == ["Auto-detected data format: coco"]
    assert result.found_objects == 3
    splits = {Path(path).parent.name: value["split"] for path, value in by_path(instance).items()}
    assert splits["train"] == "train" and splits["val"] == "val"
