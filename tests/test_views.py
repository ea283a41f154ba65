"""ldb_clone.views: the rows of ``list``, the values of ``eval``, ``status`` counts and text,
and the small parsers they use."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import pytest

from ldb_clone.selection import Member, select_members
from ldb_clone.views import (
    ListRow,
    Status,
    annotation_values,
    dump_json,
    evaluate,
    format_list,
    left_truncate,
    list_rows,
    parse_indent,
    show_last_query,
    status_of,
    with_versions,
)
from tests.helpers import oid_of, rewrite_json, run_index

CAT = {"label": "cat", "n": 1}


@pytest.fixture
def pets(instance, data_dir, make_image, make_json):
    """Two images with annotations (the cat's edited once: version 2), one without."""
    paths = {
        "cat": make_image(data_dir / "pets" / "cat.png"),
        "dog": make_image(data_dir / "pets" / "dog.png"),
        "bird": make_image(data_dir / "pets" / "bird.png"),
    }
    make_json(data_dir / "pets" / "cat.json", {"label": "cat", "n": 0})
    make_json(data_dir / "pets" / "dog.json", {"label": "dog", "n": 2})
    run_index(instance, data_dir / "pets", fmt="bare")
    rewrite_json(data_dir / "pets" / "cat.json", CAT)
    run_index(instance, data_dir / "pets", fmt="bare")
    return {name: oid_of(instance, path) for name, path in paths.items()} | {"paths": paths}


def members(instance) -> dict[str, Member]:
    return {m.object_id: m for m in select_members(instance, ["ds:root"])}


def test_list_rows_show_path_version_and_default_transforms(instance, pets):
    rows = {row.object_id: row for row in list_rows(instance, list(members(instance).values()))}
    cat, bird = rows[pets["cat"]], rows[pets["bird"]]
    assert (cat.path, cat.annotation_version, cat.transforms) == (
        str(pets["paths"]["cat"]),
        2,
        ("self",),
    )
    assert (bird.annotation_id, bird.annotation_version) == (None, None)
    assert cat.to_json() == {
        "id": pets["cat"],
        "annotation_id": cat.annotation_id,
        "annotation_version": 2,
        "path": str(pets["paths"]["cat"]),
        "transforms": ["self"],
    }


def test_with_versions_asks_the_catalog_only_for_missing_numbers(instance, pets):
    known = members(instance)
    unknown = [replace(m, version=None) for m in known.values()]
    filled = with_versions(instance, unknown)
    assert [m.version for m in filled] == [known[m.object_id].version for m in unknown]
    assert with_versions(instance, []) == []
    bird = known[pets["bird"]]
    assert with_versions(instance, [bird]) == [bird]


def test_a_member_with_a_transform_set_shows_its_names(instance, pets):
    cat = replace(members(instance)[pets["cat"]], transforms=("unknown-transform-id",))
    (row,) = list_rows(instance, [cat])
    assert row.transforms == ("unknown-transform-id",)  # an id the catalog does not know


def test_left_truncate():
    assert left_truncate("short", 10) == "short"
    assert left_truncate("/a/very/long/path.png", 12) == ".../path.png"
    assert len(left_truncate("x" * 50, 24)) == 24


def test_format_list_cuts_paths_only_on_a_narrow_terminal():
    path = "/data/" + "deep/" * 10 + "a.png"
    rows = [ListRow("a" * 32, "b" * 32, 3, path), ListRow("c" * 32, None, None, "/x.png", ())]
    lines = list(format_list(rows))
    header = "Data Object Hash Annot Data Object Path Transforms"
    assert lines[0].split() == header.split()
    assert lines[1] == f" id:{'a' * 32}   3      {path}  self"
    assert lines[2].split() == [f"id:{'c' * 32}", "-", "/x.png", "-"]
    narrow = list(format_list(rows, columns=80))[1]
    assert "..." in narrow and narrow.endswith("a.png  self") and path not in narrow
    assert list(format_list(rows, verbose=True, columns=80))[1] == lines[1]
    assert list(format_list([])) == []


def test_format_list_escapes_control_characters_in_paths():
    (_, line) = format_list([ListRow("a" * 32, None, None, "/x\x1b[2J.png")])
    assert "\x1b" not in line and "x\\x1b[2J.png" in line


def test_annotation_values_in_member_order(instance, pets):
    ordered = [members(instance)[pets[name]] for name in ("bird", "dog", "cat")]
    assert annotation_values(instance, ordered) == [
        (pets["bird"], None),
        (pets["dog"], {"label": "dog", "n": 2}),
        (pets["cat"], CAT),
    ]


def test_evaluate_shows_annotations_or_queries(instance, pets):
    ordered = [members(instance)[pets[name]] for name in ("cat", "bird")]
    assert evaluate(instance, ordered) == [(pets["cat"], [CAT]), (pets["bird"], [None])]
    shown = evaluate(instance, ordered, [("query", "label"), ("jquery", "n"), ("file", "fs.size")])
    sizes = [pets["paths"][name].stat().st_size for name in ("cat", "bird")]
    assert shown == [(pets["cat"], ["cat", 1, sizes[0]]), (pets["bird"], [None, None, sizes[1]])]


def test_evaluate_passes_query_warnings_on(instance, pets):
    warnings = []
    cat = members(instance)[pets["cat"]]
    evaluate(instance, [cat], [("query", "label > `1`")], warn=warnings.append)
    strict = evaluate(instance, [cat], [("jquery", "label > `1`")], warn=warnings.append)
    assert strict == [(pets["cat"], [None])]
    assert warnings, "comparing a string with a number warns"


def test_show_last_query_takes_the_last_showable_filter():
    def f(kind, arg):
        return SimpleNamespace(kind=kind, arg=arg)

    filters = [f("query", "a"), f("tag", "t"), f("file", "size > `1`"), f("limit", "3")]
    remaining, shows = show_last_query(filters)
    assert [x.arg for x in remaining] == ["a", "t", "3"]
    assert shows == [("file", "size > `1`")]
    assert show_last_query([f("tag", "t")]) == ([filters[1]], [])
    assert show_last_query([]) == ([], [])


@pytest.mark.parametrize(
    "text, indent",
    [(None, 2), ("none", None), ("None", None), ("4", 4), ("0", 0), ("\t", "\t"), ("  ", "  ")],
)
def test_parse_indent(text, indent):
    assert parse_indent(text) == indent


def test_parse_indent_refuses_other_text():
    with pytest.raises(ValueError, match="Invalid --indent 'x'"):
        parse_indent("x")


def test_dump_json_keeps_characters_and_indents():
    assert dump_json({"k": "čaj"}, None) == '{"k": "čaj"}'
    assert dump_json([1], 2) == "[\n  1\n]"
    assert json.loads(dump_json({"a": [1, {"b": None}]}, "\t")) == {"a": [1, {"b": None}]}


# status ----------------------------------------------------------------------------------------


def test_status_of_counts_objects_and_annotations(instance, pets):
    status = status_of("ds:root", list(members(instance).values()), instance)
    assert (status.num_objects, status.num_annotations, status.unlabelled_annotations) == (3, 2, 0)
    assert (status.labelled, status.unlabelled, round(status.progress, 2)) == (2, 1, 66.67)


def test_an_empty_status_has_no_progress():
    status = status_of("ds:root", [])
    assert (status.progress, status.unlabelled) == (0.0, 0)
    assert status.to_json()["labelling_progress"] == 0


def test_status_of_a_dataset_text_and_json():
    status = Status("ds:pets.v2", 4, 3, message="first cut")
    assert status.format() == (
        'ds:pets.v2  "first cut"\n'
        "  Num data objects:        4\n"
        "  Num annotations:         3\n"
        "\n"
        "  auto-pull:        false\n"
        "\n"
        "Labelling progress:\n"
        "  Labelled:                3\n"
        "  Unlabelled:              1\n"
        "  Progress:            75.0%"
    )
    assert status.to_json() == {
        "dataset": "ds:pets.v2",
        "num_data_objects": 4,
        "num_annotations": 3,
        "num_unlabelled": 1,
        "labelling_progress": 75.0,
        "auto_pull": False,
        "message": "first cut",
    }


def test_status_of_a_workspace_shows_its_unsaved_changes():
    status = Status("ds:pets", 2, 2, workspace="/ws", changes=(1, 0, 3), auto_pull=True)
    text = status.format()
    assert text.startswith("Workspace directory: '/ws'\n\nds:pets\n")
    assert "  auto-pull:        true\n" in text
    assert "Unsaved changes:\n  Additions (+):        1\n" in text
    assert "  Modifications (m):    3\n" in text
    assert status.to_json()["unsaved_changes"] == {
        "additions": 1,
        "deletions": 0,
        "modifications": 3,
    }
    clean = Status("ds:pets", 2, 2, workspace="/ws")
    assert "No unsaved changes." in clean.format()
    assert clean.to_json()["unsaved_changes"] == {
        "additions": 0,
        "deletions": 0,
        "modifications": 0,
    }


def collection_changes(old, new):
    from ldb_clone.datasets import changes, count_changes

    return count_changes(kind for kind, _ in changes(old, new))


def test_collection_changes_counts_members_annotations_and_transforms():
    def snapshot(members, transforms=None):
        return SimpleNamespace(members=members, transforms=transforms or {})

    old = snapshot({"a": "1", "b": "1", "c": None, "d": "1"}, {"d": ("t",)})
    new = snapshot({"a": "1", "b": "2", "d": "1", "e": None}, {"d": ("u",)})
    # e added; c deleted; b's annotation and d's transforms modified
    assert collection_changes(old, new) == (1, 1, 2)
    assert collection_changes(new, new) == (0, 0, 0)
    assert collection_changes(snapshot({}), new) == (4, 0, 0)
