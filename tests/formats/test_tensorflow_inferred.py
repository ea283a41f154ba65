"""tensorflow-inferred: labels are the folder names below the indexed folder."""

from __future__ import annotations

import functools
import shutil

import pytest

from ldb_clone.errors import LdbError
from ldb_clone.selection import select_members
from ldb_clone.views import annotation_values
from tests.helpers import by_path
from tests.helpers import run_index as index_with

run_index = functools.partial(index_with, fmt="infer")


def test_labels_from_folders_below_the_indexed_folder(instance, data_dir, make_image):
    animals = data_dir / "animals"
    make_image(animals / "cat" / "1.png")
    make_image(animals / "cat" / "tabby" / "2.png")
    make_image(animals / "dog" / "3.png")

    result, reporter = run_index(instance, animals)

    assert result.finished
    assert (result.found_objects, result.found_annotations) == (3, 3)
    assert (result.new_objects, result.new_annotations) == (3, 3)
    assert by_path(instance) == {
        str(animals / "cat" / "1.png"): {"label": "cat"},
        str(animals / "cat" / "tabby" / "2.png"): {"label": {"cat": "tabby"}},
        str(animals / "dog" / "3.png"): {"label": "dog"},
    }
    assert reporter.warnings == []


def test_multilevel_labels(instance, data_dir, make_image):
    multilevel = data_dir / "multilevel"
    make_image(multilevel / "blue" / "2" / "a" / "x.png")
    make_image(multilevel / "red" / "y.png")

    run_index(instance, multilevel)

    assert by_path(instance) == {
        str(multilevel / "blue" / "2" / "a" / "x.png"): {"label": {"blue": {"2": "a"}}},
        str(multilevel / "red" / "y.png"): {"label": "red"},
    }


def test_files_in_the_indexed_folder_are_skipped_with_a_warning(instance, data_dir, make_image):
    animals = data_dir / "animals"
    make_image(animals / "top.png")
    make_image(animals / "cat" / "1.png")

    result, reporter = run_index(instance, animals)

    assert result.found_objects == 1
    assert by_path(instance) == {str(animals / "cat" / "1.png"): {"label": "cat"}}
    assert len(reporter.warnings) == 1
    assert "base-label" in reporter.warnings[0]


def test_base_label_labels_files_in_the_indexed_folder(instance, data_dir, make_image):
    animals = data_dir / "animals"
    make_image(animals / "top.png")
    make_image(animals / "cat" / "1.png")

    result, reporter = run_index(instance, animals, params={"base-label": "x"})

    assert result.found_objects == 2
    assert by_path(instance) == {
        str(animals / "top.png"): {"label": "x"},
        str(animals / "cat" / "1.png"): {"label": "cat"},
    }
    assert reporter.warnings == []


def test_label_key_nests_the_label(instance, data_dir, make_image):
    animals = data_dir / "animals"
    make_image(animals / "cat" / "1.png")
    make_image(animals / "cat" / "tabby" / "2.png")

    run_index(instance, animals, params={"label-key": "cls.name"})

    assert by_path(instance) == {
        str(animals / "cat" / "1.png"): {"cls": {"name": "cat"}},
        str(animals / "cat" / "tabby" / "2.png"): {"cls": {"name": {"cat": "tabby"}}},
    }


def test_label_key_and_base_label_together(instance, data_dir, make_image):
    animals = data_dir / "animals"
    make_image(animals / "top.png")

    run_index(instance, animals, params={"label-key": "category", "base-label": "other"})

    assert by_path(instance) == {str(animals / "top.png"): {"category": "other"}}


def test_trailing_slash_on_the_folder(instance, data_dir, make_image):
    make_image(data_dir / "animals" / "cat" / "1.png")

    run_index(instance, f"{data_dir / 'animals'}/")

    assert by_path(instance) == {str(data_dir / "animals" / "cat" / "1.png"): {"label": "cat"}}


def test_invalid_label_key(instance, data_dir, make_image):
    make_image(data_dir / "animals" / "cat" / "1.png")

    with pytest.raises(LdbError, match="label-key"):
        run_index(instance, data_dir / "animals", params={"label-key": "a..b"})
    assert select_members(instance, ["ds:root"]) == []


def test_json_files_are_an_error(instance, data_dir, make_image, make_json):
    animals = data_dir / "animals"
    make_image(animals / "cat" / "1.png")
    make_json(animals / "cat" / "1.json", {"label": "cat"})

    with pytest.raises(LdbError, match="No annotation files should be present"):
        run_index(instance, animals)
    assert select_members(instance, ["ds:root"]) == []


def test_json_files_cli_error(ldb, instance, data_dir, make_image, make_json):
    animals = data_dir / "animals"
    make_image(animals / "cat" / "1.png")
    make_json(animals / "dog" / "2.json", {"label": "dog"})

    proc = ldb("index", "-m", "infer", str(animals))

    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")
    assert "No annotation files should be present" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert select_members(instance, ["ds:root"]) == []


def test_a_file_argument_is_an_error(instance, data_dir, make_image):
    image = make_image(data_dir / "animals" / "cat" / "1.png")

    with pytest.raises(LdbError):
        run_index(instance, image)
    assert select_members(instance, ["ds:root"]) == []


def test_overlapping_folders_are_an_error(instance, data_dir, make_image):
    animals = data_dir / "animals"
    make_image(animals / "cat" / "1.png")

    with pytest.raises(LdbError):
        run_index(instance, animals, animals / "cat")


def test_several_folders_each_give_their_own_labels(instance, data_dir, make_image):
    make_image(data_dir / "train" / "cat" / "1.png")
    make_image(data_dir / "val" / "dog" / "2.png")

    result, _ = run_index(instance, data_dir / "train", data_dir / "val")

    assert result.found_objects == 2
    assert by_path(instance) == {
        str(data_dir / "train" / "cat" / "1.png"): {"label": "cat"},
        str(data_dir / "val" / "dog" / "2.png"): {"label": "dog"},
    }


def test_unknown_param_is_an_error_listing_supported_ones(instance, data_dir, make_image):
    make_image(data_dir / "animals" / "cat" / "1.png")

    with pytest.raises(LdbError) as excinfo:
        run_index(instance, data_dir / "animals", params={"colour": "red"})

    message = str(excinfo.value)
    assert "colour" in message
    assert "label-key" in message
    assert "base-label" in message


def test_unknown_param_cli(ldb, instance, data_dir, make_image):
    make_image(data_dir / "animals" / "cat" / "1.png")

    proc = ldb("index", "-m", "tensorflow-inferred", "-p", "colour=red", str(data_dir / "animals"))

    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")
    assert "label-key" in proc.stderr and "base-label" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_object_annotated_by_strict_gets_a_new_version(instance, data_dir, make_image, make_json):
    pair = make_image(data_dir / "pairs" / "1.png")
    make_json(data_dir / "pairs" / "1.json", {"label": "kitty"})
    run_index(instance, data_dir / "pairs", fmt="strict")
    copy = data_dir / "animals" / "cat" / "1.png"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(pair, copy)

    result, _ = run_index(instance, data_dir / "animals")

    assert (result.new_objects, result.new_annotations, result.new_paths) == (0, 1, 1)
    [member] = select_members(instance, ["ds:root"])
    assert member.version == 2
    assert annotation_values(instance, [member]) == [(member.object_id, {"label": "cat"})]
    paths = instance.catalog.object_paths([member.object_id])[member.object_id]
    assert sorted(p for _, p in paths) == sorted([str(pair), str(copy)])


def test_hidden_folders_are_not_labels(instance, data_dir, make_image):
    animals = data_dir / "animals"
    make_image(animals / "cat" / "1.png")
    make_image(animals / ".cache" / "2.png")
    make_image(animals / "cat" / ".3.png")

    result, _ = run_index(instance, animals)

    assert result.found_objects == 1
    assert by_path(instance) == {str(animals / "cat" / "1.png"): {"label": "cat"}}


def test_cli_end_to_end(ldb, instance, data_dir, make_image):
    animals = data_dir / "animals"
    make_image(animals / "cat" / "1.png")
    make_image(animals / "dog" / "2.png")
    make_image(animals / "top.png")

    proc = ldb("index", "-m", "infer", "-p", "base-label=misc", str(animals), check=True)

    assert "Data format: tensorflow-inferred" in proc.stdout
    assert "Finished indexing:" in proc.stdout
    assert by_path(instance) == {
        str(animals / "cat" / "1.png"): {"label": "cat"},
        str(animals / "dog" / "2.png"): {"label": "dog"},
        str(animals / "top.png"): {"label": "misc"},
    }
