"""``ldb tag``: the library (TagUpdate, tag_objects, the catalog) and the command line."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ldb_clone.catalog import ObjectRecord
from ldb_clone.errors import LdbError
from ldb_clone.instance import open_instance
from ldb_clone.selection import select_members
from ldb_clone.tagging import TagResult, TagUpdate, require_selection, tag_objects
from tests.helpers import run_index

LABELS = ["cat", "dog", "cat", "bird", "cat", "dog"]


@pytest.fixture
def pets(instance, data_dir, make_image, make_json):
    for n, label in enumerate(LABELS):
        make_image(data_dir / f"p{n}.png")
        make_json(data_dir / f"p{n}.json", {"label": label, "n": n})
    run_index(instance, data_dir, fmt="strict")
    return data_dir


def all_ids(instance) -> list[str]:
    return [m.object_id for m in select_members(instance, ["ds:root"])]


def tags_of(instance) -> dict[str, list[str]]:
    """object id -> its tags, for every object (untagged ones too)."""
    ids = all_ids(instance)
    have = instance.catalog.object_tags(ids)
    return {oid: have.get(oid, []) for oid in ids}


def ids_with_label(instance, label: str) -> list[str]:
    from ldb_clone.views import annotation_values

    members = select_members(instance, ["ds:root"])
    return [oid for oid, value in annotation_values(instance, members) if value["label"] == label]


# TagUpdate -------------------------------------------------------------------------------


def test_parse_splits_strips_sorts_and_dedups():
    update = TagUpdate.parse(["b, a", "c,a"], ["x"])
    assert update == TagUpdate(("a", "b", "c"), ("x",), None)
    assert TagUpdate.parse(set_tags=["z,y", "y"]).set_tags == ("y", "z")


@pytest.mark.parametrize(
    ("add", "remove", "set_tags", "message"),
    [
        (["a"], None, ["b"], "Cannot use --add or --remove along with --set"),
        (None, ["a"], ["b"], "Cannot use --add or --remove along with --set"),
        (None, None, None, "Must provide at least one tag update option"),
        ([], [], [], "Must provide at least one tag update option"),
        (["a b"], None, None, "Invalid tag: 'a b'"),
        (["a,,b"], None, None, "Invalid tag: ''"),
        (None, None, [" "], "Invalid tag: ''"),
    ],
)
def test_parse_rejects_bad_options(add, remove, set_tags, message):
    with pytest.raises(LdbError, match=message):
        TagUpdate.parse(add, remove, set_tags)


def test_apply_adds_then_removes_or_replaces():
    assert TagUpdate.parse(["b,a"]).apply(["c", "a"]) == ["a", "b", "c"]
    assert TagUpdate.parse(["x"], ["x,c"]).apply(["c", "a"]) == ["a"]
    assert TagUpdate.parse(set_tags=["q"]).apply(["c", "a"]) == ["q"]


def test_require_selection():
    with pytest.raises(LdbError, match="Must provide either a query or at least one path"):
        require_selection([], [])
    require_selection(["ds:root"], [])
    require_selection([], ["a filter"])


def test_result_format_matches_upstream_widths():
    assert TagResult(4, 4).format() == (
        "Tagging data objects\n  Data objects:        4\n  Num updated:         4"
    )
    assert TagResult(123456789, 0).format().splitlines()[1] == "  Data objects: 123456789"
    assert TagResult(5, 2).to_json() == {"data_objects": 5, "num_updated": 2}


# tag_objects -----------------------------------------------------------------------------


def test_add_counts_only_changed_objects(instance, pets):
    cats = ids_with_label(instance, "cat")
    first = tag_objects(instance, cats, TagUpdate.parse(["cats,pets"]))
    assert (first.data_objects, first.num_updated) == (3, 3)
    everyone = tag_objects(instance, all_ids(instance), TagUpdate.parse(["pets"]))
    assert (everyone.data_objects, everyone.num_updated) == (6, 3)
    again = tag_objects(instance, all_ids(instance), TagUpdate.parse(["pets"]))
    assert (again.data_objects, again.num_updated) == (6, 0)
    tags = tags_of(instance)
    assert {oid for oid, t in tags.items() if t == ["cats", "pets"]} == set(cats)
    assert {oid for oid, t in tags.items() if t == ["pets"]} == set(tags) - set(cats)


def test_remove_and_add_remove_overlap(instance, pets):
    ids = all_ids(instance)
    tag_objects(instance, ids[:2], TagUpdate.parse(["a,b"]))
    result = tag_objects(instance, ids, TagUpdate.parse(None, ["a,missing"]))
    assert (result.data_objects, result.num_updated) == (6, 2)
    # a tag both added and removed ends up removed, as upstream (add first, then remove)
    result = tag_objects(instance, ids, TagUpdate.parse(["b,c"], ["b"]))
    assert result.num_updated == 6
    tags = tags_of(instance)
    assert [tags[oid] for oid in ids] == [["c"]] * 6


def test_set_replaces_and_counts_differences(instance, pets):
    ids = all_ids(instance)
    tag_objects(instance, ids[:2], TagUpdate.parse(["x,y"]))
    tag_objects(instance, ids[2:4], TagUpdate.parse(["y"]))
    # ids[2:4] already hold exactly {y}: unchanged
    result = tag_objects(instance, ids, TagUpdate.parse(set_tags=["y"]))
    assert (result.data_objects, result.num_updated) == (6, 4)
    assert set(map(tuple, tags_of(instance).values())) == {("y",)}
    result = tag_objects(instance, ids[:3], TagUpdate.parse(set_tags=["z,a"]))
    assert result.num_updated == 3
    tags = tags_of(instance)
    assert [tags[oid] for oid in ids] == [["a", "z"]] * 3 + [["y"]] * 3


def test_tags_are_global_and_duplicates_count_once(instance, pets):
    oid = all_ids(instance)[0]
    result = tag_objects(instance, [oid, oid], TagUpdate.parse(["g"]))
    assert (result.data_objects, result.num_updated) == (1, 1)
    # indexing again with --add-tags merges with the tags set by ldb tag
    run_index(instance, pets, fmt="strict", add_tags=["indexed"])
    assert tags_of(instance)[oid] == ["g", "indexed"]


def test_no_objects_is_a_no_op(instance, pets):
    assert tag_objects(instance, [], TagUpdate.parse(["a"])) == TagResult(0, 0)
    assert instance.catalog.edit_object_tags([], ["a"]) == 0
    assert all(t == [] for t in tags_of(instance).values())


@pytest.mark.sqlite_only("fails a statement on SQLite's connection")
def test_failed_edit_rolls_back(instance, pets, monkeypatch):
    ids = all_ids(instance)
    tag_objects(instance, ids, TagUpdate.parse(["keep"]))
    real_execute = instance.catalog._db.execute
    calls = []

    class Failing:
        def execute(self, sql, *args):
            calls.append(sql)
            if sql.startswith("INSERT"):
                raise RuntimeError("disk full")
            return real_execute(sql, *args)

    monkeypatch.setattr(instance.catalog, "_db", Failing())
    with pytest.raises(RuntimeError):
        tag_objects(instance, ids, TagUpdate.parse(set_tags=["other"]))
    monkeypatch.undo()
    assert any(sql.startswith("DELETE") for sql in calls)  # the delete ran, and was undone
    assert set(map(tuple, tags_of(instance).values())) == {("keep",)}


@pytest.fixture
def sql_log(instance_dir, monkeypatch):
    """The instance opened again with every SQL statement SQLite runs on it recorded (a
    statement run once per row of an ``executemany`` or a loop is recorded once per row)."""
    statements: list[str] = []
    real_connect = sqlite3.connect

    def recording_connect(*args, **kwargs):
        connection = real_connect(*args, **kwargs)
        connection.set_trace_callback(statements.append)
        return connection

    monkeypatch.setattr(sqlite3, "connect", recording_connect)
    traced = open_instance(instance_dir)
    yield traced, statements
    traced.close()


def tag_three_ways(instance, ids: list[str]) -> tuple[TagResult, TagResult, TagResult]:
    added = tag_objects(instance, ids, TagUpdate.parse(["a,b"]))
    removed = tag_objects(instance, ids, TagUpdate.parse(None, ["odd"]))
    replaced = tag_objects(instance, ids[: len(ids) // 5], TagUpdate.parse(set_tags=["a,b"]))
    return added, removed, replaced


@pytest.mark.sqlite_only("counts the statements SQLite traces")
def test_many_objects_are_tagged_in_bulk(sql_log):
    """As many SQL statements for 5,000 objects as for 50: nothing runs per object (so
    50,000 cost no more statements either)."""
    instance, statements = sql_log
    counts = {}
    for count in (50, 5_000):
        records = [
            ObjectRecord(f"{count:08x}{n:024x}", "png", tags=("odd",) * (n % 2))
            for n in range(count)
        ]
        instance.catalog.record_objects(records, {}, "2024-01-01T00:00:00", "me")
        ids = [r.object_id for r in records]
        before = len(statements)
        added, removed, replaced = tag_three_ways(instance, ids)
        counts[count] = len(statements) - before
        assert (added.data_objects, added.num_updated) == (count, count)
        assert removed.num_updated == count // 2
        assert replaced.num_updated == 0
        tags = instance.catalog.object_tags(ids)
        assert len(tags) == count and all(t == ["a", "b"] for t in tags.values())
    assert counts[50] > 0
    assert counts[5_000] == counts[50]


# the command line ------------------------------------------------------------------------


def count(ldb, *args: str) -> int:
    return int(ldb("list", "-s", "ds:root", *args, check=True).stdout.strip())


def test_cli_output_and_tag_filters_see_new_tags(ldb, pets):
    result = ldb("tag", "--query", "label == `cat`", "-a", "cats", check=True)
    assert result.stdout == (
        "Tagging data objects\n  Data objects:        3\n  Num updated:         3\n"
    )
    assert result.stderr == ""
    assert count(ldb, "--tag", "cats") == 3
    assert count(ldb, "--no-tag", "cats") == 3
    assert count(ldb, "--file", "contains(tags, `cats`)") == 3
    again = ldb("tag", "ds:root", "-a", "pets", "-a", "more", check=True)
    assert again.stdout.splitlines()[1:] == [
        "  Data objects:        6",
        "  Num updated:         6",
    ]
    assert count(ldb, "--tag", "pets", "--no-tag", "cats") == 3


def test_cli_remove_set_and_json(ldb, instance, pets):
    ldb("tag", "ds:root", "-a", "a,b", check=True)
    removed = json.loads(ldb("tag", "--query", "label == `dog`", "-r", "a", "--json").stdout)
    assert removed == {"data_objects": 2, "num_updated": 2}
    assert count(ldb, "--tag", "a") == 4
    replaced = json.loads(ldb("tag", "--tag", "b", "--set", "z,b,z", "--json").stdout)
    assert replaced == {"data_objects": 6, "num_updated": 6}
    rows = json.loads(
        ldb("eval", "--json-records", "ds:root", "--file-show", "tags", check=True).stdout
    )
    assert [row["values"] for row in rows] == [[["b", "z"]]] * 6


def test_cli_filters_apply_in_order(ldb, pets):
    # the first two objects, then the cats among them; versus the first two cats
    ldb("tag", "--limit", "2", "--query", "label == `cat`", "-a", "early", check=True)
    expected = count(ldb, "--limit", "2", "--query", "label == `cat`")
    assert count(ldb, "--tag", "early") == expected
    result = ldb("tag", "--query", "label == `cat`", "--limit", "2", "-a", "two", check=True)
    assert "Data objects:        2" in result.stdout
    assert count(ldb, "--tag", "two") == 2


def test_cli_ids_and_prefixes(ldb, instance, pets):
    first, second = all_ids(instance)[:2]
    result = ldb("tag", f"id:{first}", f"id:{second[:10]}", "-a", "picked", check=True)
    assert "Data objects:        2" in result.stdout
    listed = json.loads(ldb("list", "--json", "ds:root", "--tag", "picked", check=True).stdout)
    assert sorted(row["id"] for row in listed) == sorted([first, second])
    missing = ldb("tag", "id:" + "f" * 32, "-a", "x")
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: Data object not found")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-a", "x"], "error: Must provide either a query or at least one path\n"),
        (["ds:root"], "error: Must provide at least one tag update option: --add, --remove, "),
        (["ds:root", "-s", "a", "-a", "b"], "error: Cannot use --add or --remove along with --set"),
        (["ds:root", "-s", "a", "-r", "b"], "error: Cannot use --add or --remove along with --set"),
        (["ds:root", "-a", "bad tag"], "error: Invalid tag: 'bad tag'"),
        (["ds:nope", "-a", "x"], "error: Dataset not found: ds:nope"),
    ],
)
def test_cli_errors_change_nothing(ldb, instance, pets, args, message):
    before = tags_of(instance)
    result = ldb("tag", *args)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert len(result.stderr.splitlines()) == 1
    assert tags_of(instance) == before


def test_cli_help_lists_options(ldb):
    result = ldb("tag", "--help", check=True)
    for option in ("--add", "--remove", "--set", "--query", "--tag", "--json"):
        assert option in result.stdout
