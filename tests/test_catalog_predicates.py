"""Catalog predicates: each backend's compiled SQL agrees with ``predicates.evaluate`` on
a corpus of annotations, and the SQLite compiler's text pre-check never drops a match."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ldb_clone.catalog import ObjectRecord, PathRecord, open_catalog
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
    required_keys,
)
from ldb_clone.catalog.sqlite_predicates import (
    NotCompilable,
    compile_predicate,
    required_fragments,
)
from ldb_clone.formats import all_formats, unlabelled_predicate
from ldb_clone.hashing import Hasher, canonical_json

HASHER = Hasher()
# the "not labelled yet" rule each format declares (Format.unlabelled)
UNLABELLED = {f.name: f.unlabelled for f in all_formats() if f.unlabelled is not None}
NOW = "2024-01-01T00:00:00+00:00"

CORPUS = [
    {"label": "cat", "n": 2, "flag": True, "meta": {"kind": "x", "odd key": 1}},
    {"label": "dog", "n": 2.0, "flag": False, "meta": {"kind": "y"}},
    {"label": 1, "n": "2", "flag": 1, "meta": "x"},
    {"label": ["cat"], "n": True, "flag": 0},
    {"label": {"deeper": "cat"}, "n": None},
    {"label": None, "tags": [], "meta": {}},
    {"tags": ["a", 1, None, {"x": 1}], "meta": {"a": [], "b": []}},
    {"tags": [[], {}], "meta": {"a": [1], "b": "s"}},
    {'qu"ote': 1, "back\\slash": 2, "ünï": "cödé"},
    "cat",
    [1, 2],
    [],
    {},
    0,
    None,
    True,
    # platform, Label Studio and text-annotation shapes (see Format.unlabelled)
    {"task_type": "image_classification", "annotation": None},
    {"task_type": "image_classification", "annotation": {"label": "cat"}},
    {"task_type": "object_detection", "annotations": []},
    {"task_type": "object_detection", "annotations": [{"label": "cat"}]},
    {"task_type": "object_detection"},
    {"data": {"image": "x"}, "annotations": []},
    {"data": {"image": "x"}, "annotations": [{"was_cancelled": True}]},
    {"data": {"image": "x"}, "annotations": [{"was_cancelled": False, "result": []}]},
    {"data": {"image": "x"}, "annotations": [{"was_cancelled": 0}, {"was_cancelled": "no"}]},
    {"data": {"image": "x"}, "annotations": [{"was_cancelled": None}]},
    {"data": {"image": "x"}, "annotations": [{"result": []}, "not an object"]},
    {"data": {"image": "x"}, "annotations": ["not an object", 3]},
    {"data": "x", "annotations": []},
    {"annotationsData": {}, "annotations": {}},
    {"annotationsData": {"1": []}, "annotations": {"cat": [], "dog": []}},
    {"annotationsData": {"1": []}, "annotations": {"cat": [{"s": 1}], "dog": []}},
    {"annotationsData": {"1": []}, "annotations": {"cat": "x"}},
    {"annotationsData": [], "annotations": {}},
]

PREDICATES = [
    FieldEquals(("label",), "cat"),
    FieldEquals(("n",), 2),
    FieldEquals(("n",), 2.0),
    FieldEquals(("flag",), True),
    FieldEquals(("flag",), False),
    FieldEquals(("flag",), 0),
    FieldEquals(("meta", "kind"), "x"),
    FieldEquals(("meta", "odd key"), 1),
    FieldEquals(("label", "deeper"), "cat"),
    FieldEquals(("missing",), "cat"),
    FieldEquals(("ünï",), "cödé"),
    FieldEquals((), "cat"),
    FieldEquals((), 0),
    FieldIn(("label",), ("cat", "dog", 1)),
    FieldIn(("label",), ()),
    *(FieldType(("label",), kind) for kind in ("null", "string", "number", "array", "object")),
    FieldType(("flag",), "boolean"),
    FieldType((), "array"),
    FieldType((), "object"),
    HasField(("label",)),
    HasField(("meta", "a")),
    Not(HasField(("label",))),
    EmptyArray(("tags",)),
    EmptyArray(()),
    Not(EmptyArray(("tags",))),
    NoElement(("tags",), FieldType((), "object")),
    NoElement(("tags",), FieldEquals((), 1)),
    NoElement(("tags",), FieldEquals(("x",), 1)),
    NoElement(("meta",), Not(EmptyArray(()))),
    NoElement(("tags",), NoElement((), FieldType((), "null"))),
    NoElement((), FieldEquals((), 2)),
    AllOf(()),
    AnyOf(()),
    AllOf((HasField(("label",)), Not(FieldEquals(("label",), "cat")))),
    AnyOf((FieldEquals(("label",), "cat"), FieldEquals(("label",), "dog"))),
    Not(AnyOf((FieldEquals(("label",), "cat"), FieldType(("n",), "null")))),
    *UNLABELLED.values(),
]


def _ids(predicates):
    return [repr(p)[:80] for p in predicates]


# backend name -> opener of a fresh, writable catalog; a new backend adds itself here
def _open_postgres(tmp):
    from tests.postgres.fixtures import create_database  # a fresh database on the test server

    return open_catalog(create_database(), create=True)


BACKENDS = {
    "sqlite": lambda tmp: open_catalog(tmp / "catalog.db", create=True),
    "postgres": _open_postgres,
}
MARKS = {"postgres": pytest.mark.postgres}


@pytest.fixture(
    scope="module",
    params=[pytest.param(name, marks=MARKS.get(name, ())) for name in sorted(BACKENDS)],
)
def filled(request, tmp_path_factory):
    """A catalog holding one object per corpus value, plus one without annotation."""
    catalog = BACKENDS[request.param](tmp_path_factory.mktemp(request.param))
    texts, records, by_id = {}, [], {}
    for n, value in enumerate(CORPUS):
        aid, text = HASHER.annotation_id(value)
        texts[aid] = text
        oid = f"{n:032x}"
        by_id[oid] = value
        path = PathRecord("file", f"/d/{n}.png", size=1, mtime_ns=1)
        records.append(ObjectRecord(oid, "png", path, annotation_id=aid))
    records.append(ObjectRecord("f" * 32, "png", PathRecord("file", "/d/none.png")))
    catalog.record_objects(records, texts, NOW, "tester")
    yield catalog, by_id
    catalog.close()


@pytest.mark.parametrize("predicate", PREDICATES, ids=_ids(PREDICATES))
def test_root_members_agree_with_evaluate(filled, predicate):
    catalog, by_id = filled
    expected = sorted(oid for oid, value in by_id.items() if evaluate(predicate, value))
    assert [oid for oid, _, _ in catalog.root_members(predicate)] == expected


@pytest.mark.parametrize("predicate", PREDICATES, ids=_ids(PREDICATES))
def test_annotations_matching_agrees_with_evaluate(filled, predicate):
    catalog, by_id = filled
    ids = {HASHER.annotation_id(value)[0]: value for value in by_id.values()}
    expected = {aid for aid, value in ids.items() if evaluate(predicate, value)}
    assert catalog.annotations_matching(set(ids), predicate) == expected
    # a subset of the candidates: only those are answered
    some = set(sorted(ids)[::2])
    assert catalog.annotations_matching(some, predicate) == expected & some


# predicates that hold for nothing or everything by their nature
CONSTANT = {AllOf(()), AnyOf(()), FieldIn(("label",), ()), FieldEquals(("missing",), "cat")}


@pytest.mark.parametrize("predicate", PREDICATES, ids=_ids(PREDICATES))
def test_annotations_without_the_required_keys_never_match(predicate):
    keys = required_keys(predicate)
    if keys is None:
        return
    for value in CORPUS:
        if not (isinstance(value, dict) and not keys.isdisjoint(value)):
            assert not evaluate(predicate, value), value


def test_required_keys_of_the_unlabelled_rules():
    assert required_keys(unlabelled_predicate()) == {"task_type", "data", "annotationsData"}
    assert required_keys(Not(HasField(("a",)))) is None
    assert required_keys(AllOf((Not(HasField(("a",))), FieldType(("b",), "null")))) == {"b"}
    assert required_keys(AnyOf(())) == frozenset()


def test_the_corpus_tells_each_predicate_apart():
    # guards the corpus: a predicate true (or false) for every value would test nothing
    for predicate in PREDICATES:
        if predicate not in CONSTANT:
            assert {evaluate(predicate, value) for value in CORPUS} == {True, False}, predicate


@pytest.mark.parametrize("predicate", PREDICATES, ids=_ids(PREDICATES))
def test_required_fragments_are_in_every_match(predicate):
    for value in CORPUS:
        if evaluate(predicate, value):
            text = canonical_json(value)
            assert all(f in text for f in required_fragments(predicate)), (value, predicate)


def test_fragments_narrow_the_common_shapes():
    assert required_fragments(FieldEquals(("label",), "cat")) == {'"label":"'}
    assert required_fragments(FieldEquals(("a", "b"), True)) == {'"a":{', '"b":true'}
    assert required_fragments(UNLABELLED["platform"]) == {'"task_type":"'}
    assert required_fragments(Not(HasField(("x",)))) == set()
    assert required_fragments(FieldEquals(('qu"ote',), 1)) == set()  # escaped: no fragment


def test_guarded_sql_skips_text_sqlite_cannot_parse():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (value TEXT)")
    values = [canonical_json(v) for v in CORPUS] + [None, '{"label":NaN}', '{"n":-Infinity}']
    db.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    predicate = Not(HasField(("zzz",)))  # true for every parsed value
    sql, params = compile_predicate(predicate, "value")
    with pytest.raises(sqlite3.OperationalError, match="malformed JSON"):
        db.execute(f"SELECT count(*) FROM t WHERE {sql}", params).fetchone()
    sql, params = compile_predicate(predicate, "value", guard=True)
    count = db.execute(f"SELECT count(*) FROM t WHERE {sql}", params).fetchone()[0]
    assert count == len(CORPUS)  # not NULL, not NaN, not Infinity


def test_catalog_with_a_nan_annotation_answers_predicates(tmp_path):
    # catalogs written before canonical JSON refused NaN may hold one
    catalog = open_catalog(tmp_path / "catalog.db", create=True)
    try:
        aid, text = HASHER.annotation_id({"label": "cat"})
        nan_id = "e" * 32
        records = [
            ObjectRecord("a" * 32, annotation_id=aid),
            ObjectRecord("b" * 32, annotation_id=nan_id),
        ]
        catalog.record_objects(records, {aid: text, nan_id: '{"label":NaN}'}, NOW, "t")
        predicate = FieldEquals(("label",), "cat")
        assert catalog.root_members(predicate) == [("a" * 32, aid, 1)]
        assert catalog.annotations_matching({aid, nan_id}, predicate) == {aid}
    finally:
        catalog.close()


def test_keys_sqlite_cannot_spell_are_evaluated_in_python(filled):
    catalog, by_id = filled
    predicate = FieldEquals(('qu"ote',), 1)
    with pytest.raises(NotCompilable):
        compile_predicate(predicate, "value")
    expected = [oid for oid, value in sorted(by_id.items()) if evaluate(predicate, value)]
    assert len(expected) == 1
    assert [oid for oid, _, _ in catalog.root_members(predicate)] == expected
    aids = {HASHER.annotation_id(value)[0] for value in by_id.values()}
    assert len(catalog.annotations_matching(aids, predicate)) == 1


def test_field_type_refuses_unknown_type():
    with pytest.raises(ValueError, match="unknown JSON type"):
        FieldType(("a",), "integer")


def test_evaluate_refuses_non_predicates():
    with pytest.raises(TypeError):
        evaluate("label == 'cat'", {})  # type: ignore[arg-type]


# The SQLite conditions formats/__init__.py held before the unlabelled rules became
# predicates: the predicates must count exactly what they counted.
OLD_UNLABELLED_SQL = {
    "platform": (
        'CASE WHEN instr(value, \'"task_type":"\') > 0 AND json_valid(value) THEN '
        "(json_extract(value, '$.task_type') = 'image_classification'"
        " AND json_type(value, '$.annotation') = 'null')"
        " OR (json_extract(value, '$.task_type') = 'object_detection'"
        " AND json_type(value, '$.annotations') = 'array'"
        " AND json_array_length(value, '$.annotations') = 0) ELSE 0 END"
    ),
    "label-studio": (
        "CASE WHEN instr(value, '\"data\":{') > 0 AND json_valid(value) THEN"
        " json_type(value, '$.data') = 'object'"
        " AND json_type(value, '$.annotations') = 'array'"
        " AND NOT EXISTS (SELECT 1 FROM json_each(annotations.value, '$.annotations') AS a"
        " WHERE a.type = 'object'"
        " AND coalesce(json_extract(a.value, '$.was_cancelled'), 0) = 0) ELSE 0 END"
    ),
    "text": (
        "CASE WHEN instr(value, '\"annotationsData\":{') > 0 AND json_valid(value) THEN"
        " json_type(value, '$.annotations') = 'object'"
        " AND NOT EXISTS (SELECT 1 FROM json_each(annotations.value, '$.annotations') AS k"
        " WHERE k.type != 'array' OR json_array_length(k.value) > 0) ELSE 0 END"
    ),
}


@pytest.mark.parametrize("name", sorted(OLD_UNLABELLED_SQL))
def test_unlabelled_predicates_count_what_the_old_sql_counted(name):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE annotations (value TEXT)")
    db.executemany("INSERT INTO annotations VALUES (?)", [(canonical_json(v),) for v in CORPUS])
    old = {
        r[0] for r in db.execute(f"SELECT value FROM annotations WHERE {OLD_UNLABELLED_SQL[name]}")
    }
    sql, params = compile_predicate(UNLABELLED[name], "annotations.value")
    new = {r[0] for r in db.execute(f"SELECT value FROM annotations WHERE {sql}", params)}
    assert old and new == old


def test_unlabelled_predicate_joins_every_format_rule():
    predicate = unlabelled_predicate()
    assert isinstance(predicate, AnyOf) and set(predicate.parts) == set(UNLABELLED.values())
    matched = [v for v in CORPUS if evaluate(predicate, v)]
    assert {json.dumps(v, sort_keys=True) for v in matched} >= {
        json.dumps({"task_type": "object_detection", "annotations": []}, sort_keys=True)
    }
