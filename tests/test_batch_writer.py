"""The writer thread of ``ldb index`` (batch_writer): batches commit in order on a second
connection, are counted only once committed, and nothing is written after a failure.
Indexing through it gives the same catalog and counts as indexing without it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import ldb_clone.indexing
from ldb_clone.batch_writer import BatchWriter
from ldb_clone.catalog import ObjectRecord
from ldb_clone.errors import CatalogError, LdbError
from ldb_clone.indexing import index
from ldb_clone.instance import init_instance, open_instance
from ldb_clone.reporting import Reporter
from ldb_clone.storage import add_storage
from tests.helpers import by_path, current, run_index, summary_block

A, B, C = "a" * 32, "b" * 32, "c" * 32


def record(oid: str):
    def write(catalog):
        with catalog.transaction():
            return catalog.record_objects([ObjectRecord(oid)], {}, "t", "tester")

    return write


def test_writes_run_in_order_in_another_thread_and_count_in_the_callers(instance):
    threads, done = [], []

    def write_in_thread(oid):
        def write(catalog):
            threads.append(threading.current_thread())
            assert catalog is not instance.catalog
            return record(oid)(catalog)

        return write

    with BatchWriter(instance.catalog) as writer:
        for oid in (A, B, C):
            writer.submit(
                write_in_thread(oid),
                [oid],
                lambda counts, oid=oid: done.append(
                    (oid, counts.new_objects, threading.current_thread())
                ),
            )
    assert [d[:2] for d in done] == [(A, 1), (B, 1), (C, 1)]
    assert {d[2] for d in done} == {threading.main_thread()}
    assert len(set(threads)) == 1 and threads[0] is not threading.main_thread()
    assert sorted(instance.catalog.object_states({A, B, C})) == [A, B, C]


def test_wait_for_lets_a_batch_touching_the_objects_commit_first(instance):
    started, release = threading.Event(), threading.Event()
    done: list[str] = []

    def slow(catalog):
        started.set()
        assert release.wait(10)
        return record(A)(catalog)

    with BatchWriter(instance.catalog) as writer:
        writer.submit(slow, [A], lambda _: done.append(A))
        assert started.wait(10)
        writer.wait_for([B])  # another object: does not wait
        assert done == [] and instance.catalog.object_states({A}) == {}
        release.set()
        writer.wait_for([B, A])
        assert done == [A]
        assert set(instance.catalog.object_states({A})) == {A}  # committed, seen here


def test_a_failed_write_is_raised_and_nothing_after_it_is_written(instance):
    done: list[str] = []

    def failing(catalog):
        with catalog.transaction():
            catalog.record_objects([ObjectRecord(A)], {}, "t", "tester")
            raise CatalogError("no room")

    with pytest.raises(CatalogError, match="no room"), BatchWriter(instance.catalog) as writer:
        writer.submit(failing, [A], lambda _: done.append(A))
        writer.submit(record(B), [B], lambda _: done.append(B))
    assert done == []
    assert instance.catalog.object_states({A, B}) == {}


def test_when_the_caller_fails_the_batch_in_flight_still_commits_and_counts(instance):
    done: list[str] = []
    with pytest.raises(KeyError), BatchWriter(instance.catalog) as writer:
        writer.submit(record(A), [A], lambda _: done.append(A))
        raise KeyError("the next batch failed to load")
    assert done == [A]
    assert set(instance.catalog.object_states({A})) == {A}


# indexing through the writer ---------------------------------------------------------------


@pytest.fixture
def through_writer(instance, monkeypatch):
    """Index with the writer thread on SQLite too (it is used for server catalogs), in
    batches of 2."""
    monkeypatch.setattr(type(instance.catalog), "has_server", True)
    monkeypatch.setattr(ldb_clone.indexing, "BATCH_SIZE", 2)
    used = []
    original = BatchWriter.__init__

    def counting(self, catalog, *lanes):
        used.append(catalog)
        original(self, catalog, *lanes)

    monkeypatch.setattr(BatchWriter, "__init__", counting)
    return used


def duplicated_pairs(data_dir: Path, make_image, make_json) -> None:
    """Seven pairs where the same image (and object) comes back in later batches with
    other annotations, so batches depend on the ones before."""
    for n in range(7):
        make_image(data_dir / f"p{n}.png", seed=n % 3)
        make_json(data_dir / f"p{n}.json", {"n": n, "label": "cat" if n % 2 else "dog"})


def test_indexing_through_the_writer_matches_indexing_without_it(
    instance, through_writer, data_dir, tmp_path, make_image, make_json, monkeypatch
):
    duplicated_pairs(data_dir, make_image, make_json)
    first, _ = run_index(instance, data_dir, fmt="strict")
    again, _ = run_index(instance, data_dir, fmt="strict")
    assert through_writer, "the writer thread was not used"
    written = (by_path(instance), current(instance))

    init_instance(tmp_path / "plain")
    plain = open_instance(tmp_path / "plain")
    monkeypatch.setattr(type(plain.catalog), "has_server", False)
    add_storage(plain, str(data_dir))
    first_plain, _ = run_index(plain, data_dir, fmt="strict")
    again_plain, _ = run_index(plain, data_dir, fmt="strict")
    written_plain = (by_path(plain), current(plain))
    plain.close()
    assert len(through_writer) == 2  # only the first two runs used it
    assert first.to_json() == first_plain.to_json()
    assert again.to_json() == again_plain.to_json()
    assert (first.new_objects, first.new_annotations) == (3, 7)
    assert written == written_plain


def test_a_failure_in_a_later_batch_keeps_and_counts_the_committed_ones(
    instance, through_writer, data_dir, make_image, make_json
):
    for name in "abcd":
        make_image(data_dir / f"{name}.png")
        make_json(data_dir / f"{name}.json", {"name": name})
    make_image(data_dir / "e.png")
    (data_dir / "e.json").write_text('{"name": ', encoding="utf-8")

    reporter = Reporter()
    with pytest.raises(LdbError) as excinfo:
        index(instance, [str(data_dir)], fmt="strict", reporter=reporter)
    assert "e.json" in str(excinfo.value)
    assert through_writer
    assert reporter.lines[-1].strip() == summary_block(
        "Unable to finish indexing. Partial indexing results", 4, 4, 4, 4, 4, 0
    )
    assert by_path(instance) == {str(data_dir / f"{n}.png"): {"name": n} for n in "abcd"}


def test_two_lanes_write_two_batches_at_once_and_count_them_in_order(instance):
    started = [threading.Event(), threading.Event()]
    release = [threading.Event(), threading.Event()]
    done: list[int] = []

    def write(number):
        def run(catalog):
            started[number].set()
            assert release[number].wait(10)
            return number

        return run

    with BatchWriter(instance.catalog, lanes=2) as writer:
        writer.submit(write(0), [A], done.append)
        writer.submit(write(1), [B], done.append)
        assert started[0].wait(10) and started[1].wait(10)  # both at once
        release[1].set()  # the second finishes first ...
        writer.wait_for([C])
        assert done == []
        release[0].set()
        writer.wait_for([B])  # ... but is counted after the first
        assert done == [0, 1]


def test_with_two_lanes_an_error_stops_counting_and_waits_for_the_other_lane(instance):
    release = threading.Event()
    finished: list[str] = []
    done: list[str] = []

    def failing(catalog):
        assert release.wait(10)
        raise CatalogError("server gone")

    def later(catalog):
        release.set()
        finished.append(B)
        return B

    writer = BatchWriter(instance.catalog, lanes=2)
    with pytest.raises(CatalogError, match="server gone"), writer:
        writer.submit(failing, [A], done.append)
        writer.submit(later, [B], done.append)
        writer.submit(record(C), [C], done.append)  # waits for the first: raises
    assert done == [] and finished == [B]
    assert instance.catalog.object_states({C}) == {}
