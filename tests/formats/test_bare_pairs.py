"""bare-pairs: like strict-pairs, and data files without an annotation are indexed too."""

from __future__ import annotations

import functools
from typing import Any

from ldb_clone.instance import Instance
from ldb_clone.selection import select_members
from ldb_clone.views import annotation_values
from tests.helpers import run_index as index_with
from tests.helpers import summary_block

run_index = functools.partial(index_with, fmt="bare")


def members_by_path(instance: Instance) -> dict[str, tuple[Any, int | None]]:
    """Every indexed path -> (current annotation or None, its version or None)."""
    members = select_members(instance, ["ds:root"])
    values = dict(annotation_values(instance, members))
    versions = {m.object_id: m.version for m in members}
    paths = instance.catalog.object_paths(values)
    return {path: (values[oid], versions[oid]) for oid, rows in paths.items() for _, path in rows}


def test_unannotated_objects_are_indexed_without_annotation(
    instance, data_dir, make_image, make_json
):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": "a"})
    make_image(data_dir / "b.png")
    make_image(data_dir / "sub" / "c.png")
    make_json(data_dir / "sub" / "c.json", {"label": "c"})
    make_image(data_dir / "sub" / "d.png")

    result, reporter = run_index(instance, data_dir)

    assert result.finished
    assert (result.found_objects, result.found_annotations) == (4, 2)
    assert (result.new_objects, result.new_annotations, result.new_paths) == (4, 2, 4)
    assert members_by_path(instance) == {
        str(data_dir / "a.png"): ({"label": "a"}, 1),
        str(data_dir / "b.png"): (None, None),
        str(data_dir / "sub" / "c.png"): ({"label": "c"}, 1),
        str(data_dir / "sub" / "d.png"): (None, None),
    }
    assert reporter.warnings == []


def test_lone_json_is_not_a_data_object(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "orphan.json", {"label": "x"})

    result, _ = run_index(instance, data_dir)

    assert (result.found_objects, result.found_annotations) == (1, 0)
    assert members_by_path(instance) == {str(data_dir / "a.png"): (None, None)}


def test_single_unannotated_file(instance, data_dir, make_image):
    make_image(data_dir / "a.png")
    make_image(data_dir / "b.png")

    result, _ = run_index(instance, data_dir / "a.png")

    assert (result.found_objects, result.found_annotations) == (1, 0)
    assert members_by_path(instance) == {str(data_dir / "a.png"): (None, None)}


def test_annotation_added_later_becomes_version_one(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    run_index(instance, data_dir)

    make_json(data_dir / "a.json", {"label": "late"})
    result, _ = run_index(instance, data_dir)

    assert (result.found_objects, result.found_annotations) == (1, 1)
    assert (result.new_objects, result.new_annotations, result.new_paths) == (0, 1, 0)
    assert members_by_path(instance) == {str(data_dir / "a.png"): ({"label": "late"}, 1)}


def test_reindex_without_its_json_keeps_the_annotation(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": "kept"})
    run_index(instance, data_dir)

    (data_dir / "a.json").unlink()
    result, _ = run_index(instance, data_dir)

    assert (result.found_objects, result.found_annotations, result.new_annotations) == (1, 0, 0)
    assert members_by_path(instance) == {str(data_dir / "a.png"): ({"label": "kept"}, 1)}


def test_cli_summary_counts(ldb, instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": "a"})
    make_image(data_dir / "b.png")
    make_image(data_dir / "c.png")

    first = ldb("index", "--format", "bare", str(data_dir), check=True)
    second = ldb("index", "-m", "bare-pairs", str(data_dir), check=True)

    assert "Data format: bare-pairs" in first.stdout
    assert summary_block("Finished indexing", 3, 1, 3, 1, 3, 0) in first.stdout
    assert summary_block("Finished indexing", 3, 1, 0, 0, 0, 0) in second.stdout
