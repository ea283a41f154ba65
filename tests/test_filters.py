"""The filter pipeline: each filter, their order, and the --pipe plugin protocol."""

from __future__ import annotations

import json
import random
import stat
import sys
from pathlib import Path

import pytest

from ldb_clone.filters import Filter, FilterError, Pipeline, file_metas, select_filtered
from ldb_clone.plugins import PluginError
from ldb_clone.selection import select_members
from tests.helpers import run_index

LABELS = ["cat", "dog", "cat", "bird", "cat", "dog"]


@pytest.fixture
def indexed(instance, data_dir, make_image, make_json):
    """Six annotated images (labels above) and two without annotation, two tag groups."""
    paths = {}
    for n, label in enumerate(LABELS):
        image = make_image(data_dir / f"img-{n}.png")
        make_json(data_dir / f"img-{n}.json", {"label": label, "n": n})
        paths[n] = image
    make_image(data_dir / "bare" / "x.png")
    make_image(data_dir / "bare" / "y.png")
    run_index(instance, data_dir, fmt="bare", add_tags=["all"])
    run_index(
        instance,
        data_dir / "img-0.png",
        data_dir / "img-1.png",
        fmt="strict",
        add_tags=["first,two"],
    )
    return paths


def run(instance, *filters: Filter, rng=None):
    members = select_members(instance, ["ds:root"])
    return Pipeline(instance, list(filters), rng=rng).run(members)


def labels(instance, members):
    pipeline = Pipeline(instance, [])
    return [(pipeline.annotation_value(m) or {}).get("label") for m in members]


def test_no_filters_keeps_everything(instance, indexed):
    assert len(run(instance)) == 8


def test_limit(instance, indexed):
    assert len(run(instance, Filter("limit", "3"))) == 3
    assert run(instance, Filter("limit", "0")) == []


def test_path_regex_matches_any_path(instance, indexed):
    found = run(instance, Filter("path", r"bare/"))
    assert len(found) == 2
    assert len(run(instance, Filter("path", r"img-[01]\.png$"))) == 2


def test_tag_needs_one_of_the_tags(instance, indexed):
    assert len(run(instance, Filter("tag", "two"))) == 2
    assert len(run(instance, Filter("tag", "two,missing"))) == 2
    assert len(run(instance, Filter("tag", "all"))) == 8


def test_no_tag_keeps_objects_missing_one_of_the_tags(instance, indexed):
    assert len(run(instance, Filter("no_tag", "two"))) == 6
    # every object lacks "missing", so all are kept
    assert len(run(instance, Filter("no_tag", "all,missing"))) == 8
    assert len(run(instance, Filter("no_tag", "all"))) == 0


def test_sample_bounds(instance, indexed):
    assert len(run(instance, Filter("sample", "1"))) == 8
    assert len(run(instance, Filter("sample", "0"), rng=random.Random(1))) == 0
    with pytest.raises(FilterError, match="between 0 and 1"):
        run(instance, Filter("sample", "1.5"))
    with pytest.raises(FilterError, match="expected a number"):
        run(instance, Filter("sample", "half"))


def test_shuffle_is_a_permutation(instance, indexed):
    before = run(instance)
    after = run(instance, Filter("shuffle"), rng=random.Random(3))
    assert sorted(m.object_id for m in after) == sorted(m.object_id for m in before)
    assert [m.object_id for m in after] != [m.object_id for m in before]


def test_bad_arguments_are_one_line_errors(instance, indexed):
    with pytest.raises(FilterError, match="whole number"):
        run(instance, Filter("limit", "ten"))
    with pytest.raises(FilterError, match="regex"):
        run(instance, Filter("path", "("))
    with pytest.raises(FilterError, match="Invalid tag list"):
        run(instance, Filter("tag", "a b"))


def test_file_metas_have_upstreams_keys(instance, indexed):
    members = select_members(instance, ["ds:root"])
    metas = file_metas(instance, [m.object_id for m in members])
    meta = metas[members[0].object_id]
    assert sorted(meta) == [
        "alternate_paths",
        "first_indexed",
        "fs",
        "last_indexed",
        "last_indexed_by",
        "tags",
        "type",
    ]
    assert sorted(meta["fs"]) == [
        "atime",
        "ctime",
        "fs_id",
        "gid",
        "mode",
        "mtime",
        "path",
        "protocol",
        "size",
        "uid",
    ]
    assert meta["type"] == "png"
    assert meta["fs"]["protocol"] == "file"
    assert "all" in meta["tags"]


def _plugin(tmp_path: Path, name: str, body: str) -> Path:
    script = tmp_path / name
    script.write_text(f"#!{sys.executable}\nimport json, sys\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_pipe_reverses_and_sees_the_protocol(instance, indexed, tmp_path):
    seen = tmp_path / "seen.json"
    plugin = _plugin(
        tmp_path,
        "reverse",
        f"rows = json.load(sys.stdin)\nopen({str(seen)!r}, 'w').write(json.dumps(rows))\n"
        "for oid, data, annot in reversed(rows):\n    print(oid)",
    )
    before = run(instance)
    after = run(instance, Filter("pipe", [str(plugin)]))
    assert [m.object_id for m in after] == [m.object_id for m in reversed(before)]
    rows = json.loads(seen.read_text())
    assert [row[0] for row in rows] == [m.object_id for m in before]
    for oid, data_path, annotation_path in rows:
        assert Path(data_path).is_file()
        member = next(m for m in before if m.object_id == oid)
        assert (annotation_path == "") == (member.annotation_id is None)


def test_pipe_found_in_user_filters_first(instance, indexed, tmp_path):
    folder = instance.path / "custom_code" / "ldb_user_filters"
    _plugin(folder, "first-two", "rows = json.load(sys.stdin)\nfor r in rows[:2]:\n    print(r[0])")
    assert len(run(instance, Filter("pipe", ["first-two"]))) == 2


def test_pipe_failures(instance, indexed, tmp_path):
    failing = _plugin(tmp_path, "fail", "sys.stderr.write('boom\\n'); sys.exit(3)")
    with pytest.raises(PluginError, match="exited with code 3: boom"):
        run(instance, Filter("pipe", [str(failing)]))
    liar = _plugin(tmp_path, "liar", "json.load(sys.stdin); print('0' * 32)")
    with pytest.raises(Exception, match="not in the selection"):
        run(instance, Filter("pipe", [str(liar)]))
    with pytest.raises(PluginError, match="not found"):
        run(instance, Filter("pipe", ["no-such-plugin-anywhere"]))


@pytest.mark.parametrize(
    "expression",
    [
        "label == `cat`",
        "label == 'cat'",
        "`cat` == label",
        "n == `2`",
        "n == `2.0`",
        "flag == `true`",
        "flag == `false`",
        "meta.kind == `x`",
        'meta."odd key" == `1`',
        "missing == `cat`",
        "label.deeper == `cat`",
    ],
)
@pytest.mark.parametrize("strict", [True, False])
def test_sql_pushdown_agrees_with_python(
    instance, data_dir, make_image, make_json, expression, strict
):
    from ldb_clone.filters import query_predicate
    from ldb_clone.query import compile_query

    values = [
        {"label": "cat", "n": 2, "flag": True, "meta": {"kind": "x", "odd key": 1}},
        {"label": "dog", "n": 2.0, "flag": False, "meta": {"kind": "y"}},
        {"label": 1, "n": "2", "flag": 1, "meta": "x"},
        {"label": ["cat"], "n": True},
        {"label": {"deeper": "cat"}},
        "cat",
        [1, 2],
    ]
    for n, value in enumerate(values):
        make_image(data_dir / f"v{n}.png")
        make_json(data_dir / f"v{n}.json", value)
    make_image(data_dir / "none.png")
    run_index(instance, data_dir, fmt="bare")
    assert query_predicate(expression) is not None
    members = select_members(instance, ["ds:root"])
    kind = "query" if strict else "jquery"
    pushed = {m.object_id for m in run(instance, Filter(kind, expression))}
    query = compile_query(expression, strict=strict)
    pipeline = Pipeline(instance, [])
    expected = {m.object_id for m in members if query.matches(pipeline.annotation_value(m))}
    assert pushed == expected


@pytest.mark.parametrize(
    "filters",
    [
        [Filter("query", "label == `cat`")],
        [Filter("query", "label == `cat`"), Filter("limit", "2")],
        [Filter("query", "n == `3`"), Filter("tag", "all")],
        [Filter("query", "missing == 'x'")],
    ],
)
def test_root_query_answered_in_sql_equals_the_pipeline(instance, indexed, filters):
    """ds:root then a pushable query is one SQL statement: same members, same order."""
    expected = Pipeline(instance, filters).run(select_members(instance, ["ds:root"]))
    assert select_filtered(instance, ["ds:root"], filters) == expected
