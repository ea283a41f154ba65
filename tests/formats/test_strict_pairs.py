"""strict-pairs: a data file is indexed only with a same-named .json beside it."""

from __future__ import annotations

import functools

import pytest

from ldb_clone.errors import LdbError
from ldb_clone.selection import select_members
from ldb_clone.views import annotation_values
from tests.helpers import by_path, oid_of
from tests.helpers import run_index as index_with

run_index = functools.partial(index_with, fmt="strict")


def test_only_paired_files_are_indexed(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": "a"})
    make_image(data_dir / "lone.png")
    make_json(data_dir / "orphan.json", {"label": "orphan"})

    result, _ = run_index(instance, data_dir)

    assert result.finished
    assert (result.found_objects, result.found_annotations) == (1, 1)
    assert (result.new_objects, result.new_annotations, result.new_paths) == (1, 1, 1)
    assert by_path(instance) == {str(data_dir / "a.png"): {"label": "a"}}


def test_pairs_in_nested_folders(instance, data_dir, make_image, make_json):
    make_image(data_dir / "x" / "y" / "a.png")
    make_json(data_dir / "x" / "y" / "a.json", {"label": "deep"})
    make_image(data_dir / "x" / "a.png")
    make_json(data_dir / "x" / "a.json", {"label": "shallow"})
    # a partner in another folder does not make a pair
    make_image(data_dir / "x" / "z" / "b.png")
    make_json(data_dir / "x" / "b.json", {"label": "elsewhere"})

    result, _ = run_index(instance, data_dir)

    assert result.found_objects == 2
    assert by_path(instance) == {
        str(data_dir / "x" / "y" / "a.png"): {"label": "deep"},
        str(data_dir / "x" / "a.png"): {"label": "shallow"},
    }


def test_single_data_file_pulls_in_its_json(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": "a"})
    make_image(data_dir / "b.png")
    make_json(data_dir / "b.json", {"label": "b"})

    result, _ = run_index(instance, data_dir / "a.png")

    assert (result.found_objects, result.found_annotations) == (1, 1)
    assert by_path(instance) == {str(data_dir / "a.png"): {"label": "a"}}


def test_single_json_pulls_in_its_data_file(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": "a"})
    make_image(data_dir / "b.png")
    make_json(data_dir / "b.json", {"label": "b"})

    result, _ = run_index(instance, data_dir / "b.json")

    assert (result.found_objects, result.found_annotations) == (1, 1)
    assert by_path(instance) == {str(data_dir / "b.png"): {"label": "b"}}


def test_single_data_file_without_json_indexes_nothing(instance, data_dir, make_image):
    make_image(data_dir / "a.png")

    result, _ = run_index(instance, data_dir / "a.png")

    assert result.finished
    assert (result.found_objects, result.new_objects) == (0, 0)
    assert select_members(instance, ["ds:root"]) == []


def test_two_data_files_share_one_json_stem(instance, data_dir, make_image, make_json):
    png = make_image(data_dir / "a.png")
    jpg = make_image(data_dir / "a.jpg")
    make_json(data_dir / "a.json", {"label": "shared"})

    result, _ = run_index(instance, data_dir)

    assert result.found_objects == 2
    assert result.new_objects == 2
    assert by_path(instance) == {
        str(png): {"label": "shared"},
        str(jpg): {"label": "shared"},
    }
    infos = instance.catalog.object_infos([oid_of(instance, png), oid_of(instance, jpg)])
    assert sorted(info.type for info in infos.values()) == ["jpg", "png"]


def test_single_json_pulls_in_every_data_file_of_its_stem(
    instance, data_dir, make_image, make_json
):
    png = make_image(data_dir / "a.png")
    jpg = make_image(data_dir / "a.jpg")
    make_image(data_dir / "ab.png")  # a different stem
    make_json(data_dir / "a.json", {"label": "shared"})

    result, _ = run_index(instance, data_dir / "a.json")

    assert result.found_objects == 2
    assert set(by_path(instance)) == {str(png), str(jpg)}


@pytest.mark.parametrize("value", [[1, 2, 3], "just a string", 7, None, {}])
def test_any_json_value_is_an_annotation(instance, data_dir, make_image, make_json, value):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", value)

    result, _ = run_index(instance, data_dir)

    assert result.found_annotations == 1
    [member] = select_members(instance, ["ds:root"])
    assert member.version == 1
    assert annotation_values(instance, [member]) == [(member.object_id, value)]


def test_invalid_json_is_an_error_naming_the_file(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    bad = data_dir / "a.json"
    bad.write_text("{not json", encoding="utf-8")

    with pytest.raises(LdbError) as excinfo:
        run_index(instance, data_dir)

    assert str(bad) in str(excinfo.value)
    assert select_members(instance, ["ds:root"]) == []


def test_invalid_json_cli_keeps_earlier_content(ldb, instance, data_dir, make_image, make_json):
    good = make_image(data_dir / "good" / "a.png")
    make_json(data_dir / "good" / "a.json", {"label": "good"})
    ldb("index", "-m", "strict", str(data_dir / "good"), check=True)

    make_image(data_dir / "bad" / "b.png")
    bad = data_dir / "bad" / "b.json"
    bad.write_text('{"label": ', encoding="utf-8")
    proc = ldb("index", "-m", "strict", str(data_dir))

    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert str(bad) in errors[0]
    assert by_path(instance) == {str(good): {"label": "good"}}


def test_many_files_named_alone_read_their_folder_once(
    instance, data_dir, make_image, make_json, monkeypatch
):
    """``ldb index *.json`` in a big folder: each annotation's data files are found in the
    folder's names, listed once for all of them (it was once per file: 1,000 files named
    in a folder of 20,000 took 100 s); a data file's partner is one name, not a listing."""
    import ldb_clone.formats.pairs.codec as codec

    for n in range(30):
        make_image(data_dir / f"img{n}.png")
        make_json(data_dir / f"img{n}.json", {"label": n})
    listed = []
    real = codec.folder_names
    monkeypatch.setattr(codec, "folder_names", lambda folder: listed.append(folder) or real(folder))
    jsons = [str(data_dir / f"img{n}.json") for n in range(20)]
    index_with(instance, *jsons, fmt="strict-pairs")
    assert listed == [str(data_dir)]
    images = [str(data_dir / f"img{n}.png") for n in range(20, 30)]
    index_with(instance, *images, fmt="strict-pairs")
    assert listed == [str(data_dir)]  # no listing for data files
    assert len(select_members(instance, ["ds:root"])) == 30
