"""label-studio: every task of a Label Studio export is one data object's annotation."""

from __future__ import annotations

import copy
import functools
import hashlib
from typing import Any

import pytest

from ldb_clone.errors import LdbError
from ldb_clone.instance import init_instance, open_instance
from ldb_clone.selection import select_members
from ldb_clone.storage import add_storage
from tests.helpers import current, oid_of
from tests.helpers import run_index as index_with

run_index = functools.partial(index_with, fmt="label-studio")

IMAGE_KEY = '"data"."image"'


def task(image: str, task_id: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "id": task_id,
        "data": {"image": image},
        "annotations": [
            {
                "id": task_id * 10,
                "result": [
                    {
                        "type": "choices",
                        "from_name": "choice",
                        "to_name": "image",
                        "value": {"choices": ["cat"]},
                    }
                ],
            }
        ],
        **extra,
    }


def with_info(original: dict[str, Any], path_key: str, id_key: str, oid: str) -> dict[str, Any]:
    expected = copy.deepcopy(original)
    expected["data"]["data-object-info"] = {"path_key": path_key, id_key: oid}
    return expected


def test_array_export(instance, data_dir, tmp_path, make_image, make_json):
    a = make_image(data_dir / "a.png")
    b = make_image(data_dir / "b.png")
    tasks = [task(str(a), 1), task(str(b), 2)]
    export = make_json(tmp_path / "export.json", tasks)

    result, reporter = run_index(instance, export)

    assert result.finished
    assert (result.found_objects, result.found_annotations) == (2, 2)
    assert (result.new_objects, result.new_annotations, result.new_paths) == (2, 2, 2)
    oid_a, oid_b = oid_of(instance, a), oid_of(instance, b)
    assert current(instance) == {
        oid_a: (with_info(tasks[0], IMAGE_KEY, "xxh3_128", oid_a), 1),
        oid_b: (with_info(tasks[1], IMAGE_KEY, "xxh3_128", oid_b), 1),
    }
    inferred = [line for line in reporter.lines if line.startswith("Inferred data object")]
    assert inferred == ['Inferred data object path key: "data"."image"']


def test_single_task_file(instance, data_dir, tmp_path, make_image, make_json):
    a = make_image(data_dir / "a.png")
    one = task(str(a))
    export = make_json(tmp_path / "task.json", one)

    result, _ = run_index(instance, export)

    oid = oid_of(instance, a)
    assert result.found_objects == 1
    assert current(instance) == {oid: (with_info(one, IMAGE_KEY, "xxh3_128", oid), 1)}
    assert instance.catalog.object_paths([oid]) == {oid: [("file", str(a))]}


def test_md5_instance_stores_md5(tmp_path, make_image, make_json):
    init_instance(tmp_path / "md5-instance", hash_algorithm="md5")
    instance = open_instance(tmp_path / "md5-instance")
    try:
        data = tmp_path / "md5-data"
        data.mkdir()
        add_storage(instance, str(data))
        a = make_image(data / "a.png")
        one = task(str(a))
        export = make_json(tmp_path / "export.json", [one])

        run_index(instance, export)

        md5 = hashlib.md5(a.read_bytes()).hexdigest()
        assert current(instance) == {md5: (with_info(one, IMAGE_KEY, "md5", md5), 1)}
    finally:
        instance.close()


def test_explicit_path_key(instance, data_dir, tmp_path, make_image, make_json):
    image = make_image(data_dir / "full.png")
    thumb = make_image(data_dir / "thumb.png")
    one = {
        "id": 1,
        "data": {
            "image": str(image),
            "thumb": str(thumb),
            "data-object-info": {"path_key": '"data"."thumb"'},
        },
    }
    export = make_json(tmp_path / "export.json", [one])

    result, reporter = run_index(instance, export)

    oid = oid_of(instance, thumb)
    assert result.found_objects == 1
    assert current(instance) == {oid: (with_info(one, '"data"."thumb"', "xxh3_128", oid), 1)}
    assert not any(line.startswith("Inferred") for line in reporter.lines)


def test_upstream_data_path_key(instance, data_dir, tmp_path, make_image, make_json):
    """Upstream 0.7.0 reads the key from ``data.path_key``."""
    image = make_image(data_dir / "full.png")
    thumb = make_image(data_dir / "thumb.png")
    one = {"id": 1, "data": {"image": str(image), "thumb": str(thumb), "path_key": "data.thumb"}}
    export = make_json(tmp_path / "export.json", [one])

    run_index(instance, export)

    assert list(current(instance)) == [oid_of(instance, thumb)]


def test_multiple_candidate_keys_is_an_error(instance, data_dir, tmp_path, make_image, make_json):
    image = make_image(data_dir / "a.png")
    export = make_json(
        tmp_path / "export.json", [{"id": 1, "data": {"image": str(image), "text": "hello"}}]
    )

    with pytest.raises(LdbError, match="Cannot infer data object path key"):
        run_index(instance, export)
    assert select_members(instance, ["ds:root"]) == []


def test_relative_paths_resolve_against_the_export_folder(
    instance, data_dir, make_image, make_json
):
    image = make_image(data_dir / "images" / "a.png")
    one = task("../images/a.png")
    export = make_json(data_dir / "exports" / "export.json", [one])

    result, _ = run_index(instance, export)

    oid = oid_of(instance, image)
    assert result.new_objects == 1
    assert current(instance) == {oid: (with_info(one, IMAGE_KEY, "xxh3_128", oid), 1)}
    assert instance.catalog.object_paths([oid]) == {oid: [("file", str(image))]}


@pytest.mark.parametrize(
    "predictions",
    [
        [1, 2, 3],
        [{"model_version": "v1", "score": 0.5, "result": [{"value": {"choices": ["dog"]}}]}],
    ],
    ids=["ints", "objects"],
)
def test_predictions_are_stored_unchanged(
    instance, data_dir, tmp_path, make_image, make_json, predictions
):
    image = make_image(data_dir / "a.png")
    one = task(str(image), predictions=predictions)
    export = make_json(tmp_path / "export.json", [one])

    run_index(instance, export)

    oid = oid_of(instance, image)
    [(value, _)] = current(instance).values()
    assert value["predictions"] == predictions
    assert value == with_info(one, IMAGE_KEY, "xxh3_128", oid)


def test_known_id_needs_no_image(instance, data_dir, tmp_path, make_image, make_json):
    image = make_image(data_dir / "a.png")
    run_index(instance, make_json(tmp_path / "first.json", [task(str(image))]))
    oid = oid_of(instance, image)
    image.unlink()
    second = task(str(image), predictions=[7])
    second["data"]["data-object-info"] = {"path_key": IMAGE_KEY, "xxh3_128": oid}

    result, _ = run_index(instance, make_json(tmp_path / "second.json", [second]))

    assert result.finished
    assert (result.found_objects, result.new_objects, result.new_annotations) == (1, 0, 1)
    assert current(instance) == {oid: (with_info(second, IMAGE_KEY, "xxh3_128", oid), 2)}


def test_missing_image_with_unknown_id_is_an_error(instance, data_dir, tmp_path, make_json):
    export = make_json(tmp_path / "export.json", [task(str(data_dir / "missing.png"))])

    with pytest.raises(LdbError):
        run_index(instance, export)


def test_merge_is_an_error(instance, data_dir, tmp_path, make_image, make_json):
    image = make_image(data_dir / "a.png")
    export = make_json(tmp_path / "export.json", [task(str(image))])

    with pytest.raises(LdbError, match="merge"):
        run_index(instance, export, annotation_update="merge")
    assert select_members(instance, ["ds:root"]) == []


def test_merge_cli(ldb, instance, data_dir, tmp_path, make_image, make_json):
    image = make_image(data_dir / "a.png")
    export = make_json(tmp_path / "export.json", [task(str(image))])

    proc = ldb("index", "-m", "label-studio", "--annotation-update", "merge", str(export))

    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")
    assert "merge" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_not_a_task_is_an_error(instance, data_dir, tmp_path, make_json):
    export = make_json(tmp_path / "export.json", [{"image": "x.png"}])

    with pytest.raises(LdbError) as excinfo:
        run_index(instance, export)
    assert str(export) in str(excinfo.value)


def test_cli_reports_inferred_key(ldb, instance, data_dir, tmp_path, make_image, make_json):
    tasks = [task(str(make_image(data_dir / f"{n}.png")), n) for n in range(3)]
    export = make_json(tmp_path / "export.json", tasks)

    proc = ldb("index", "-m", "label-studio", str(export), check=True)

    assert proc.stdout.count('Inferred data object path key: "data"."image"') == 1
    assert "Found data objects:            3" in proc.stdout


@pytest.mark.parametrize(
    ("path_key", "expected"),
    [
        ('"data"."image"', "plain"),
        ("data.image", "plain"),
        ('"data"."a.b"', "dotted"),
        ('"data"."say \\"hi\\""', "quoted"),
        ("data.images[0]", "first"),
        ("data.missing", None),
    ],
)
def test_path_keys_plain_and_jmespath(path_key, expected):
    from ldb_clone.formats.label_studio.codec import _search

    task = {
        "data": {
            "image": "plain",
            "a.b": "dotted",
            'say "hi"': "quoted",
            "images": ["first", "second"],
        }
    }
    assert _search(path_key, task, "test") == expected
