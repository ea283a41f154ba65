"""annotation-only: JSON records naming their data object by id or by path."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pytest

from ldb_clone.errors import LdbError
from ldb_clone.indexing import index
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from tests.helpers import current, oid_of
from tests.helpers import run_index as index_with

run_index = functools.partial(index_with, fmt="annot")


@pytest.fixture
def indexed(instance, data_dir, make_image):
    """Two images indexed (bare, no annotation): {name: object id}."""
    images = {name: make_image(data_dir / f"{name}.png") for name in ("a", "b")}
    index(instance, [str(data_dir)], fmt="bare", reporter=Reporter())
    return {name: oid_of(instance, path) for name, path in images.items()}


@pytest.fixture
def annots(tmp_path) -> Path:
    """Annotation files live outside every storage location."""
    path = tmp_path / "annots"
    path.mkdir()
    return path


def test_by_id(instance, indexed, annots, make_json):
    make_json(
        annots / "a.json",
        {"annotation": {"label": "cat"}, "data-object-info": {"xxh3_128": indexed["a"]}},
    )

    result, _ = run_index(instance, annots)

    assert result.finished
    assert (result.found_objects, result.found_annotations) == (0, 1)  # as upstream
    assert (result.new_objects, result.new_annotations, result.new_paths) == (0, 1, 0)
    assert current(instance) == {indexed["a"]: ({"label": "cat"}, 1), indexed["b"]: (None, None)}


def test_by_id_seed_form(instance, indexed, annots, make_json):
    make_json(
        annots / "b.json",
        {"annotation": {"label": "dog"}, "ldb_meta": {"data_object_id": indexed["b"]}},
    )

    result, _ = run_index(instance, annots)

    assert result.found_annotations == 1
    assert current(instance)[indexed["b"]] == ({"label": "dog"}, 1)


def test_by_id_the_image_need_not_exist(instance, indexed, data_dir, annots, make_json):
    (data_dir / "a.png").unlink()
    make_json(
        annots / "a.json",
        {
            "annotation": {"label": "gone"},
            "data-object-info": {"xxh3_128": indexed["a"], "path": str(data_dir / "a.png")},
        },
    )

    result, _ = run_index(instance, annots)

    assert result.finished
    assert current(instance)[indexed["a"]] == ({"label": "gone"}, 1)


def test_by_relative_path(instance, data_dir, annots, make_image, make_json):
    image = make_image(data_dir / "img" / "a.png")
    # relative to the annotation file's folder, not to the working directory
    make_json(
        annots / "sub" / "a.json",
        {"annotation": {"label": "rel"}, "data-object-info": {"path": "../../data/img/a.png"}},
    )

    result, _ = run_index(instance, annots)

    oid = oid_of(instance, image)
    assert (result.new_objects, result.new_annotations, result.new_paths) == (1, 1, 1)
    assert current(instance) == {oid: ({"label": "rel"}, 1)}
    assert instance.catalog.object_paths([oid]) == {oid: [("file", str(image))]}


def test_by_absolute_path(instance, data_dir, annots, make_image, make_json):
    image = make_image(data_dir / "a.png")
    make_json(
        annots / "a.json",
        {"annotation": {"label": "abs"}, "data-object-info": {"path": str(image)}},
    )

    result, _ = run_index(instance, annots / "a.json")

    oid = oid_of(instance, image)
    assert result.new_objects == 1
    assert current(instance) == {oid: ({"label": "abs"}, 1)}


def test_by_path_in_seed_form(instance, data_dir, annots, make_image, make_json):
    image = make_image(data_dir / "a.png")
    make_json(
        annots / "a.json", {"annotation": {"label": "seed"}, "ldb_meta": {"path": str(image)}}
    )

    run_index(instance, annots)

    assert current(instance) == {oid_of(instance, image): ({"label": "seed"}, 1)}


def test_array_holds_several_records(instance, indexed, data_dir, annots, make_image, make_json):
    c = make_image(data_dir / "c.png")
    make_json(
        annots / "all.json",
        [
            {"annotation": {"label": "A"}, "data-object-info": {"xxh3_128": indexed["a"]}},
            {"annotation": {"label": "B"}, "ldb_meta": {"data_object_id": indexed["b"]}},
            {"annotation": [1, 2], "data-object-info": {"path": str(c)}},
        ],
    )

    result, _ = run_index(instance, annots)

    # as upstream: only the record naming its object by path reads (finds) a data object
    assert (result.found_objects, result.found_annotations) == (1, 3)
    assert current(instance) == {
        indexed["a"]: ({"label": "A"}, 1),
        indexed["b"]: ({"label": "B"}, 1),
        oid_of(instance, c): ([1, 2], 1),
    }


def test_single_file_true_with_an_array(instance, indexed, annots, make_json):
    make_json(
        annots / "dataset.json",
        [{"annotation": {"n": 1}, "data-object-info": {"xxh3_128": indexed["a"]}}],
    )

    result, _ = run_index(instance, annots, params={"single-file": "true"})

    assert result.found_annotations == 1
    assert current(instance)[indexed["a"]] == ({"n": 1}, 1)


def test_single_file_true_requires_an_array(instance, indexed, annots, make_json):
    make_json(
        annots / "a.json", {"annotation": {"n": 1}, "data-object-info": {"xxh3_128": indexed["a"]}}
    )

    with pytest.raises(LdbError) as excinfo:
        run_index(instance, annots, params={"single-file": "true"})

    assert str(annots / "a.json") in str(excinfo.value)
    assert current(instance)[indexed["a"]] == (None, None)


def test_neither_id_nor_path_is_an_error(instance, indexed, annots, make_json):
    make_json(annots / "a.json", {"annotation": {"label": "x"}, "data-object-info": {}})

    with pytest.raises(LdbError, match="Data object not found"):
        run_index(instance, annots)


def test_neither_id_nor_path_cli(ldb, instance, indexed, annots, make_json):
    make_json(annots / "a.json", {"annotation": {"label": "x"}})

    proc = ldb("index", "-m", "annot", str(annots))

    assert proc.returncode == 1
    assert proc.stderr.startswith("error: Data object not found")
    assert "Traceback" not in proc.stderr
    assert all(value == (None, None) for value in current(instance).values())


def test_unknown_id_without_path_is_an_error(instance, indexed, annots, make_json):
    make_json(
        annots / "a.json",
        {"annotation": {"label": "x"}, "data-object-info": {"xxh3_128": "0" * 32}},
    )

    with pytest.raises(LdbError, match="Data object not found"):
        run_index(instance, annots)


def test_md5_key_in_xxh3_instance_falls_back_to_path(
    instance, data_dir, annots, make_image, make_json
):
    image = make_image(data_dir / "a.png")
    md5 = hashlib.md5(image.read_bytes()).hexdigest()
    make_json(
        annots / "a.json",
        {"annotation": {"label": "md5"}, "data-object-info": {"md5": md5, "path": str(image)}},
    )

    result, _ = run_index(instance, annots)

    oid = oid_of(instance, image)
    assert oid != md5
    assert result.new_objects == 1
    assert current(instance) == {oid: ({"label": "md5"}, 1)}


def test_md5_key_without_path_in_xxh3_instance_is_an_error(
    instance, indexed, data_dir, annots, make_json
):
    md5 = hashlib.md5((data_dir / "a.png").read_bytes()).hexdigest()
    make_json(annots / "a.json", {"annotation": {"label": "x"}, "data-object-info": {"md5": md5}})

    with pytest.raises(LdbError, match="Data object not found"):
        run_index(instance, annots)


def test_id_path_mismatch_is_an_error(instance, data_dir, annots, make_image, make_json):
    image = make_image(data_dir / "a.png")
    make_json(
        annots / "a.json",
        {
            "annotation": {"label": "x"},
            "data-object-info": {"xxh3_128": "0123456789abcdef" * 2, "path": str(image)},
        },
    )

    with pytest.raises(LdbError) as excinfo:
        run_index(instance, annots)

    assert "mismatch" in str(excinfo.value)
    assert select_members(instance, ["ds:root"]) == []


def test_unknown_param_is_an_error(instance, indexed, annots, make_json):
    make_json(
        annots / "a.json", {"annotation": {"n": 1}, "data-object-info": {"xxh3_128": indexed["a"]}}
    )

    with pytest.raises(LdbError) as excinfo:
        run_index(instance, annots, params={"label-key": "x"})

    assert "label-key" in str(excinfo.value)
    assert "single-file" in str(excinfo.value)


def test_record_without_annotation_key_is_an_error(instance, indexed, annots, make_json):
    make_json(annots / "a.json", {"data-object-info": {"xxh3_128": indexed["a"]}})

    with pytest.raises(LdbError) as excinfo:
        run_index(instance, annots)
    assert str(annots / "a.json") in str(excinfo.value)


def test_new_annotation_is_version_two_and_older_one_becomes_current_again(
    instance, indexed, annots, make_json
):
    oid = indexed["a"]
    v1 = make_json(
        annots / "v1" / "a.json",
        {"annotation": {"label": "one"}, "data-object-info": {"xxh3_128": oid}},
    )
    v2 = make_json(
        annots / "v2" / "a.json",
        {"annotation": {"label": "two"}, "data-object-info": {"xxh3_128": oid}},
    )

    run_index(instance, v1)
    assert current(instance)[oid] == ({"label": "one"}, 1)

    result, _ = run_index(instance, v2)
    assert result.new_annotations == 1
    assert current(instance)[oid] == ({"label": "two"}, 2)

    result, _ = run_index(instance, v1)
    assert (result.found_annotations, result.new_annotations) == (1, 0)
    assert current(instance)[oid] == ({"label": "one"}, 1)

    result, _ = run_index(instance, v2)
    assert result.new_annotations == 0
    assert current(instance)[oid] == ({"label": "two"}, 2)


def test_path_outside_storage_is_an_error_without_read_add(
    instance, data_dir, tmp_path, annots, make_image, make_json
):
    image = make_image(tmp_path / "outside" / "a.png")
    make_json(annots / "a.json", {"annotation": {"n": 1}, "data-object-info": {"path": str(image)}})

    with pytest.raises(LdbError):
        run_index(instance, annots)
    assert select_members(instance, ["ds:root"]) == []
