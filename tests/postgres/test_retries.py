"""A deadlock the server breaks is retried inside the catalog: both writers finish and
neither sees an error (the aborted one replays its transaction's writes)."""

from __future__ import annotations

import threading

import pytest

from ldb_clone.catalog import ObjectRecord, open_catalog
from tests.postgres.fixtures import pg_url  # noqa: F401

pytestmark = pytest.mark.postgres
X, Y = "a" * 32, "b" * 32


def test_a_deadlock_is_retried_and_both_transactions_commit(pg_url):  # noqa: F811
    first, second = open_catalog(pg_url, create=True), open_catalog(pg_url)
    try:
        first.record_objects([ObjectRecord(X), ObjectRecord(Y)], {}, "t0", "setup")
        second_holds_y = threading.Event()
        errors: list[BaseException] = []

        def other() -> None:
            try:
                with second.transaction():
                    second.touch_objects([Y], "t2", "second")
                    second_holds_y.set()
                    second.touch_objects([X], "t2", "second")  # waits for the first
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        with first.transaction():
            first.touch_objects([X], "t1", "first")
            thread = threading.Thread(target=other)
            thread.start()
            assert second_holds_y.wait(30)
            first.touch_objects([Y], "t1", "first")  # each now waits for the other
        thread.join(60)
        assert not thread.is_alive() and errors == []
        infos = first.object_infos([X, Y])
        # both committed; whichever was retried wrote its stamps last, to both objects
        stamps = {(infos[X].last_indexed, infos[X].last_indexed_by)}
        assert stamps == {(infos[Y].last_indexed, infos[Y].last_indexed_by)}
        assert stamps <= {("t1", "first"), ("t2", "second")}
        assert first.retries + second.retries >= 1  # the server did break a deadlock
    finally:
        first.close()
        second.close()
