"""PostgreSQL answers every catalog predicate as ``predicates.evaluate`` does, on
annotations chosen to hit the corners (types, missing keys, arrays, NaN)."""

from __future__ import annotations

import pytest

from ldb_clone.catalog import ObjectRecord, open_catalog
from ldb_clone.catalog.predicates import (
    AllOf,
    AnyOf,
    EmptyArray,
    FieldEquals,
    FieldIn,
    FieldType,
    HasField,
    NoElement,
    Not,
    evaluate,
)
from ldb_clone.hashing import Hasher
from tests.postgres.fixtures import pg_url  # noqa: F401

pytestmark = pytest.mark.postgres

VALUES = [
    {"label": "cat"},
    {"label": "dog"},
    {"label": ["cat"]},
    {"label": 1},
    {"label": 1.0},
    {"label": True},
    {"label": None},
    {"label": {"name": "cat"}},
    {"a": {"b": 1}},
    {"a": {"b": "1"}},
    {"a": [{"b": 1}]},
    {"a": []},
    {"a": {}},
    {"0": "x"},
    ["cat"],
    "cat",
    1,
    None,
    {"annotations": [{"was_cancelled": True}, {"was_cancelled": False}]},
    {"annotations": [{"was_cancelled": True}]},
    {"annotations": [1, "x"]},
    {"annotations": {"k": [], "j": [1]}},
    {"annotations": {"k": []}},
    {"task_type": "object_detection", "annotations": []},
    {"task_type": "image_classification", "annotation": None},
]

PREDICATES = [
    FieldEquals(("label",), "cat"),
    FieldEquals(("label",), 1),
    FieldEquals(("label",), True),
    FieldEquals(("label", "name"), "cat"),
    FieldEquals(("a", "b"), 1),
    FieldEquals(("0",), "x"),
    FieldEquals((), "cat"),
    FieldIn(("label",), ("cat", "dog")),
    FieldIn(("label",), ()),
    FieldType(("label",), "null"),
    FieldType(("label",), "number"),
    FieldType(("a",), "object"),
    FieldType((), "array"),
    HasField(("label",)),
    HasField(("a", "b")),
    EmptyArray(("a",)),
    EmptyArray(("annotations",)),
    NoElement(("annotations",), FieldEquals(("was_cancelled",), False)),
    NoElement(("annotations",), AllOf((FieldType((), "array"), Not(EmptyArray(()))))),
    NoElement(("a",), NoElement(("b",), FieldEquals((), 1))),
    AllOf(()),
    AnyOf(()),
    AllOf((FieldEquals(("task_type",), "object_detection"), EmptyArray(("annotations",)))),
    AnyOf((FieldEquals(("label",), "cat"), FieldType(("label",), "boolean"))),
    Not(FieldEquals(("label",), "cat")),
    Not(HasField(("nothing",))),
]


@pytest.fixture(scope="module")
def loaded():
    from tests.postgres.fixtures import create_database, drop_database

    url = create_database()
    catalog = open_catalog(url, create=True)
    hasher = Hasher()
    ids = {}
    texts = {}
    for value in VALUES:
        aid, text = hasher.annotation_id(value)
        ids[aid] = value
        texts[aid] = text
    records = [ObjectRecord(f"{number:032x}", annotation_id=aid) for number, aid in enumerate(ids)]
    catalog.record_objects(records, texts, "2024-01-01T00:00:00+00:00", "t")
    yield catalog, ids
    catalog.close()
    drop_database(url)


@pytest.mark.parametrize("predicate", PREDICATES, ids=repr)
def test_postgres_matches_evaluate(loaded, predicate):
    catalog, ids = loaded
    expected = {aid for aid, value in ids.items() if evaluate(predicate, value)}
    assert catalog.annotations_matching(set(ids), predicate) == expected
    members = catalog.root_members(predicate)
    assert {aid for _, aid, _ in members} == expected


def test_an_annotation_postgres_cannot_hold_as_jsonb_matches_nothing(pg_url):  # noqa: F811
    catalog = open_catalog(pg_url, create=True)
    try:
        text = '{"label":NaN}'
        catalog.record_objects(
            [ObjectRecord("f" * 32, annotation_id="e" * 32)], {"e" * 32: text}, "now", "t"
        )
        assert catalog.annotation_texts(["e" * 32]) == {"e" * 32: text}
        assert catalog.annotations_matching({"e" * 32}, Not(HasField(("x",)))) == set()
        assert catalog.root_members() == [("f" * 32, "e" * 32, 1)]
    finally:
        catalog.close()
