"""The catalog, through its Python interface (on PostgreSQL too with
``LDB_TEST_BACKEND=postgres``; the tests of SQLite's own file are ``sqlite_only``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ldb_clone.catalog import (
    SCHEMA_VERSION,
    Catalog,
    ObjectRecord,
    PathRecord,
    RecordCounts,
    StorageRow,
    open_catalog,
)
from ldb_clone.errors import CatalogError, InstanceError
from ldb_clone.hashing import Hasher
from tests.helpers import catalog_sql

NOW = "2024-01-01T00:00:00+00:00"
LATER = "2024-01-02T00:00:00+00:00"
HASHER = Hasher()

OID_A = "a" * 32
OID_B = "b" * 32


def annotation(value):
    """(annotation id, texts dict) for one annotation value."""
    aid, text = HASHER.annotation_id(value)
    return aid, {aid: text}


def path_record(path: str, size: int = 10, mtime_ns: int = 1) -> PathRecord:
    return PathRecord("file", path, size=size, mtime_ns=mtime_ns)


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    return tmp_path / "catalog.db"


@pytest.fixture
def catalog(catalog_path: Path):
    cat = open_catalog(catalog_path, create=True)
    yield cat
    cat.close()


def record(catalog: Catalog, oid: str, value=None, path: str | None = "/d/a.png", **kwargs):
    texts = {}
    aid = None
    if value is not None:
        aid, texts = annotation(value)
    rec = ObjectRecord(
        oid,
        type="png",
        path=path_record(path) if path else None,
        annotation_id=aid,
        **kwargs,
    )
    return catalog.record_objects([rec], texts, NOW, "tester"), aid


def schema_version(catalog) -> int:
    rows = catalog_sql(
        catalog, "PRAGMA user_version", postgres="SELECT max(version) FROM ldb_schema"
    )
    return rows[0][0]


def version_rows(catalog: Catalog, oid: str) -> list[tuple[int, str]]:
    rows = catalog_sql(
        catalog,
        "SELECT v.version, a.id FROM annotation_versions v JOIN objects o ON o.pk = v.object "
        "JOIN annotations a ON a.pk = v.annotation WHERE o.id = ? ORDER BY v.version",
        (oid,),
    )
    return [tuple(row) for row in rows]


# opening and the schema -------------------------------------------------------------------


@pytest.mark.sqlite_only("a missing SQLite file")
def test_missing_catalog_is_an_instance_error(catalog_path: Path):
    with pytest.raises(InstanceError, match="Catalog not found"):
        Catalog(catalog_path)
    assert not catalog_path.exists()


def test_schema_version_is_recorded(catalog: Catalog):
    assert SCHEMA_VERSION >= 1
    assert schema_version(catalog) == SCHEMA_VERSION


@pytest.mark.sqlite_only("SQLite's connection settings")
def test_wal_mode_and_foreign_keys_are_on(catalog: Catalog, catalog_path: Path):
    assert catalog._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert catalog._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert catalog._db.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    # WAL is a property of the database file: a plain connection sees it too.
    plain = sqlite3.connect(catalog_path)
    try:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        plain.close()


def test_reopening_keeps_data_and_schema(catalog: Catalog, catalog_path: Path):
    catalog.set_setting("hash_algorithm", "md5")
    record(catalog, OID_A, {"label": "cat"})
    catalog.close()
    again = open_catalog(catalog_path)
    try:
        assert again.get_setting("hash_algorithm") == "md5"
        assert again.count_objects() == 1
        assert schema_version(again) == SCHEMA_VERSION
    finally:
        again.close()


@pytest.mark.sqlite_only("SQLite's user_version")
def test_newer_schema_version_is_refused(catalog_path: Path):
    db = sqlite3.connect(catalog_path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(InstanceError, match="newer"):
        Catalog(catalog_path)


@pytest.mark.sqlite_only("an empty SQLite file")
def test_empty_database_file_is_an_error_unless_creating(catalog_path: Path):
    """Opening an existing instance never fills in an empty file (issue 10, item 8);
    only creating one (``ldb init``) does."""
    sqlite3.connect(catalog_path).close()  # an empty database, user_version 0
    with pytest.raises(InstanceError, match="is empty"):
        Catalog(catalog_path)
    assert catalog_path.stat().st_size == 0
    cat = Catalog(catalog_path, create=True)
    try:
        assert cat._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {
            row[0] for row in cat._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"objects", "object_paths", "annotations", "annotation_versions"} <= tables
    finally:
        cat.close()


@pytest.mark.sqlite_only("a damaged SQLite file")
def test_a_file_that_is_not_a_database_is_an_instance_error(catalog_path: Path):
    catalog_path.write_bytes(b"this is not an SQLite database, just some text" * 100)
    with pytest.raises(InstanceError, match="Unable to open the catalog"):
        Catalog(catalog_path)


@pytest.mark.sqlite_only("SQLite's foreign key pragma")
def test_foreign_keys_are_enforced(catalog: Catalog):
    with pytest.raises(sqlite3.IntegrityError):
        catalog._db.execute("INSERT INTO object_tags (object, tag) VALUES (?, ?)", (12345, "x"))


# settings and storage rows ----------------------------------------------------------------


def test_settings_round_trip_and_overwrite(catalog: Catalog):
    assert catalog.get_setting("nope") is None
    catalog.set_setting("k", "v1")
    catalog.set_setting("k", "v2")
    assert catalog.get_setting("k") == "v2"


def test_storage_locations_keep_order_and_options(catalog: Catalog):
    rows = [
        StorageRow("file", "/z/data", False, {}),
        StorageRow("s3", "bucket/prefix", False, {"anon": True, "n": 3}),
        StorageRow("file", "/a/read-add", True, {"profile": "p"}),
    ]
    catalog.replace_storage_locations(rows)
    assert catalog.storage_locations() == rows
    catalog.replace_storage_locations(rows[:1])
    assert catalog.storage_locations() == rows[:1]


def test_stat_cache_round_trip(catalog: Catalog):
    catalog.put_file_states("object", [("file", "/d/a.png", 10, 111, "d1")])
    catalog.put_file_states("object", [("file", "/d/a.png", 12, 222, "d2")])
    catalog.put_file_states("json", [("file", "/d/a.png", 1, 1, "other-kind")])
    files = [("/d/a.png", 12, 222), ("/d/b.png", 12, 222)]
    assert catalog.unchanged_files("file", "object", files) == {"/d/a.png": "d2"}
    # a different size or mtime is a miss, as is another protocol or kind
    assert catalog.unchanged_files("file", "object", [("/d/a.png", 10, 111)]) == {}
    assert catalog.unchanged_files("file", "object", [("/d/a.png", 12, 223)]) == {}
    assert catalog.unchanged_files("s3", "object", files) == {}
    assert catalog.unchanged_files("file", "json", [("/d/a.png", 1, 1)]) == {
        "/d/a.png": "other-kind"
    }


# record_objects ---------------------------------------------------------------------------


def test_record_nothing_returns_zero_counts(catalog: Catalog):
    assert catalog.record_objects([], {}, NOW, "tester") == RecordCounts(0, 0, 0)
    assert catalog.count_objects() == 0


def test_first_annotation_is_version_1_and_current(catalog: Catalog):
    counts, aid = record(catalog, OID_A, {"label": "cat"})
    assert counts == RecordCounts(new_objects=1, new_annotations=1, new_paths=1)
    assert catalog.current_annotations([OID_A]) == {OID_A: (1, aid)}
    assert catalog.annotation_texts([aid]) == {aid: '{"label":"cat"}'}
    info = catalog.object_infos([OID_A])[OID_A]
    assert (info.type, info.protocol, info.path, info.current_version) == (
        "png",
        "file",
        "/d/a.png",
        1,
    )
    assert (info.first_indexed, info.last_indexed, info.last_indexed_by) == (NOW, NOW, "tester")


def test_new_annotation_becomes_next_version_and_current(catalog: Catalog):
    _, aid1 = record(catalog, OID_A, {"label": "cat"})
    counts, aid2 = record(catalog, OID_A, {"label": "dog"})
    assert counts == RecordCounts(new_objects=0, new_annotations=1, new_paths=0)
    assert catalog.current_annotations([OID_A]) == {OID_A: (2, aid2)}
    assert version_rows(catalog, OID_A) == [(1, aid1), (2, aid2)]


def test_seen_annotation_becomes_current_again_without_new_version(catalog: Catalog):
    _, aid1 = record(catalog, OID_A, {"label": "cat"})
    _, aid2 = record(catalog, OID_A, {"label": "dog"})
    counts, again = record(catalog, OID_A, {"label": "cat"})
    assert again == aid1
    assert counts == RecordCounts(new_objects=0, new_annotations=0, new_paths=0)
    assert catalog.current_annotations([OID_A]) == {OID_A: (1, aid1)}
    assert version_rows(catalog, OID_A) == [(1, aid1), (2, aid2)]
    # A third, new annotation gets the next number after the highest, not after current.
    counts, aid3 = record(catalog, OID_A, {"label": "bird"})
    assert counts.new_annotations == 1
    assert catalog.current_annotations([OID_A]) == {OID_A: (3, aid3)}


def test_reindexing_the_current_annotation_changes_nothing(catalog: Catalog):
    _, aid = record(catalog, OID_A, {"label": "cat"})
    counts, _ = record(catalog, OID_A, {"label": "cat"})
    assert counts == RecordCounts(0, 0, 0)
    assert version_rows(catalog, OID_A) == [(1, aid)]


def test_same_annotation_on_two_objects_is_stored_once(catalog: Catalog):
    aid, texts = annotation({"label": "cat"})
    recs = [
        ObjectRecord(OID_A, "png", path_record("/d/a.png"), aid),
        ObjectRecord(OID_B, "png", path_record("/d/b.png"), aid),
    ]
    counts = catalog.record_objects(recs, texts, NOW, "tester")
    assert counts == RecordCounts(new_objects=2, new_annotations=2, new_paths=2)
    assert catalog_sql(catalog, "SELECT count(*) FROM annotations") == [(1,)]
    assert catalog.current_annotations([OID_A, OID_B]) == {OID_A: (1, aid), OID_B: (1, aid)}


def test_object_without_annotation_has_no_current(catalog: Catalog):
    counts, _ = record(catalog, OID_A, None)
    assert counts == RecordCounts(new_objects=1, new_annotations=0, new_paths=1)
    assert catalog.current_annotations([OID_A]) == {}
    assert catalog.object_infos([OID_A])[OID_A].current_version is None
    # Indexing it later without an annotation keeps an annotation it got meanwhile.
    _, aid = record(catalog, OID_A, {"label": "cat"})
    record(catalog, OID_A, None)
    assert catalog.current_annotations([OID_A]) == {OID_A: (1, aid)}


def test_new_paths_are_counted_once_per_object_and_path(catalog: Catalog):
    recs = [
        ObjectRecord(OID_A, "png", path_record("/d/a.png")),
        ObjectRecord(OID_A, "png", path_record("/d/a.png")),  # same object, same path
        ObjectRecord(OID_A, "png", path_record("/d/copy-of-a.png")),  # same object, new path
        ObjectRecord(OID_B, "png", path_record("/d/a.png")),  # another object at that path
    ]
    counts = catalog.record_objects(recs, {}, NOW, "tester")
    assert counts == RecordCounts(new_objects=2, new_annotations=0, new_paths=3)
    again = catalog.record_objects(recs, {}, LATER, "tester")
    assert again == RecordCounts(0, 0, 0)
    assert sorted(catalog.object_paths([OID_A])[OID_A]) == [
        ("file", "/d/a.png"),
        ("file", "/d/copy-of-a.png"),
    ]
    assert catalog.object_paths([OID_B]) == {OID_B: [("file", "/d/a.png")]}
    count = catalog_sql(catalog, "SELECT count(*) FROM object_paths")[0][0]
    assert count == 3


def test_changed_size_of_a_known_path_is_updated_not_counted(catalog: Catalog):
    catalog.record_objects(
        [ObjectRecord(OID_A, "png", path_record("/d/a.png", size=10, mtime_ns=1))],
        {},
        NOW,
        "tester",
    )
    counts = catalog.record_objects(
        [ObjectRecord(OID_A, "png", path_record("/d/a.png", size=10, mtime_ns=5))],
        {},
        LATER,
        "tester",
    )
    assert counts.new_paths == 0
    info = catalog.object_infos([OID_A])[OID_A]
    assert (info.size, info.mtime_ns, info.last_indexed) == (10, 5, LATER)
    assert info.first_indexed == NOW


def test_object_shows_its_most_recently_indexed_path(catalog: Catalog):
    record(catalog, OID_A, None, path="/d/a.png")
    record(catalog, OID_A, None, path="/e/a.png")
    info = catalog.object_infos([OID_A])[OID_A]
    assert info.path == "/e/a.png"


def test_ephemeral_record_without_path(catalog: Catalog):
    counts, _ = record(catalog, OID_A, {"label": "x"}, path=None)
    assert counts == RecordCounts(new_objects=1, new_annotations=1, new_paths=0)
    assert catalog.object_paths([OID_A]) == {}
    # A later path does not get lost by a later path-less record.
    record(catalog, OID_A, None, path="/d/a.png")
    record(catalog, OID_A, None, path=None)
    assert catalog.object_infos([OID_A])[OID_A].path == "/d/a.png"


def test_empty_type_keeps_the_known_type(catalog: Catalog):
    record(catalog, OID_A, None)
    catalog.record_objects([ObjectRecord(OID_A, "", path_record("/d/a"))], {}, NOW, "tester")
    assert catalog.object_infos([OID_A])[OID_A].type == "png"


def test_tags_are_merged(catalog: Catalog):
    record(catalog, OID_A, None, tags=("b", "a"))
    record(catalog, OID_A, None, tags=("c", "b"))
    assert catalog.object_tags([OID_A, OID_B]) == {OID_A: ["a", "b", "c"]}


def test_root_members_sorted_by_id_with_current_annotation(catalog: Catalog):
    _, aid = record(catalog, OID_B, {"label": "cat"})
    record(catalog, OID_A, None)
    assert catalog.root_members() == [(OID_A, None, None), (OID_B, aid, 1)]
    assert catalog.count_objects() == 2


def test_id_lists_longer_than_sqlite_variable_limit(catalog: Catalog):
    # SQLite allows at most 32766 bound variables per statement.
    ids = [f"{i:032x}" for i in range(33_000)]
    counts = catalog.record_objects([ObjectRecord(oid) for oid in ids], {}, NOW, "tester")
    assert counts.new_objects == 33_000
    assert len(catalog.known_objects(ids)) == 33_000


# transactions -----------------------------------------------------------------------------


def test_transaction_rolls_back_on_exception(catalog: Catalog, catalog_path: Path):
    aid, texts = annotation({"label": "cat"})
    with pytest.raises(RuntimeError, match="boom"), catalog.transaction():
        catalog.set_setting("k", "v")
        catalog.record_objects(
            [ObjectRecord(OID_A, "png", path_record("/d/a.png"), aid, tags=("t",))],
            texts,
            NOW,
            "tester",
        )
        catalog.replace_storage_locations([StorageRow("file", "/d")])
        assert catalog.count_objects() == 1  # visible inside the transaction
        raise RuntimeError("boom")
    assert catalog.get_setting("k") is None
    assert catalog.count_objects() == 0
    assert catalog.annotation_texts([aid]) == {}
    assert catalog.storage_locations() == []
    other = open_catalog(catalog_path)
    try:
        assert other.count_objects() == 0
    finally:
        other.close()
    # The catalog is usable afterwards, and a later transaction commits.
    with catalog.transaction():
        catalog.set_setting("k", "after")
    assert catalog.get_setting("k") == "after"


def test_nested_transaction_joins_the_outer_one(catalog: Catalog):
    with pytest.raises(ValueError), catalog.transaction():
        catalog.set_setting("outer", "1")
        with catalog.transaction():
            catalog.set_setting("inner", "1")
        raise ValueError
    assert catalog.get_setting("outer") is None
    assert catalog.get_setting("inner") is None


def test_failure_inside_record_objects_writes_nothing(catalog: Catalog):
    # An annotation id without its text cannot be stored: the whole batch is dropped.
    recs = [
        ObjectRecord(OID_A, "png", path_record("/d/a.png")),
        ObjectRecord(OID_B, "png", path_record("/d/b.png"), annotation_id="0" * 32),
    ]
    with pytest.raises(CatalogError, match="no text given"):
        catalog.record_objects(recs, {}, NOW, "tester")
    assert catalog.count_objects() == 0
    assert catalog_sql(catalog, "SELECT count(*) FROM object_paths") == [(0,)]


def test_two_connections_can_both_write(catalog: Catalog, catalog_path: Path):
    other = open_catalog(catalog_path)
    try:
        record(catalog, OID_A, {"label": "cat"})
        record(other, OID_B, {"label": "dog"})
        catalog.set_setting("from", "first")
        other.set_setting("from", "second")
        record(catalog, OID_B, {"label": "bird"})
        assert catalog.count_objects() == other.count_objects() == 2
        assert catalog.get_setting("from") == "second"
        assert other.current_annotations([OID_B])[OID_B][0] == 2
    finally:
        other.close()


@pytest.mark.sqlite_only("SQLite's WAL snapshots")
def test_a_reader_does_not_block_a_writer(catalog: Catalog, catalog_path: Path):
    record(catalog, OID_A, None)
    reader = Catalog(catalog_path)
    try:
        reader._db.execute("BEGIN")
        assert reader.count_objects() == 1  # holds a read snapshot
        record(catalog, OID_B, None)  # WAL: the writer is not blocked
        assert reader.count_objects() == 1  # the snapshot is stable
        reader._db.execute("COMMIT")
        assert reader.count_objects() == 2
    finally:
        reader.close()


# resolve_prefix ---------------------------------------------------------------------------


def test_resolve_prefix(catalog: Catalog):
    ids = ["abcd1234" + "0" * 24, "abcd1234" + "f" * 24, "abcd5678" + "0" * 24, OID_B]
    catalog.record_objects([ObjectRecord(oid) for oid in ids], {}, NOW, "tester")
    assert catalog.resolve_prefix("abcd5678") == [ids[2]]
    assert catalog.resolve_prefix("abcd1234") == ids[:2]
    assert len(catalog.resolve_prefix("abcd")) == 2  # enough to tell it is ambiguous
    assert catalog.resolve_prefix(ids[1]) == [ids[1]]
    assert catalog.resolve_prefix("bbbb") == [OID_B]
    assert catalog.resolve_prefix("c") == []
    assert catalog.resolve_prefix("abcd9") == []


def test_concurrent_writers_do_not_fail(catalog_path: Path):
    import threading

    open_catalog(catalog_path, create=True).close()
    errors: list[BaseException] = []

    def writer(prefix: str) -> None:
        cat = open_catalog(catalog_path)
        try:
            for i in range(30):
                aid, texts = annotation({"writer": prefix, "i": i})
                rec = ObjectRecord(f"{prefix}{i:031x}", "png", path_record(f"/{prefix}/{i}"), aid)
                cat.record_objects([rec], texts, NOW, prefix)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            cat.close()

    threads = [threading.Thread(target=writer, args=(p,)) for p in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    cat = open_catalog(catalog_path)
    try:
        assert cat.count_objects() == 90
        assert catalog_sql(cat, "SELECT count(*) FROM annotations") == [(90,)]
    finally:
        cat.close()


@pytest.mark.sqlite_only("SQLite's query plan")
def test_stat_cache_lookup_uses_the_primary_key(catalog: Catalog):
    """One primary-key search per listed file; a scan of file_states per file would make
    re-indexing quadratic."""
    statements: list[str] = []
    catalog._db.set_trace_callback(statements.append)
    catalog.unchanged_files("file", "object", [("/d/a.png", 1, 1)])
    catalog._db.set_trace_callback(None)
    query = next(s for s in statements if "file_states" in s)
    plan = catalog._db.execute(f"EXPLAIN QUERY PLAN {query}").fetchall()
    details = " ".join(row[-1] for row in plan)
    assert "SEARCH f USING PRIMARY KEY" in details
