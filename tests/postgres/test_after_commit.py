"""The stat cache of a PostgreSQL catalog inside ``bulk_writes`` (``ldb index``): sent on a
second connection once its transaction has committed, never before, and not at all when
the transaction rolls back."""

from __future__ import annotations

import threading

import pytest

from ldb_clone.catalog import open_catalog
from ldb_clone.errors import InstanceError
from tests.postgres.fixtures import pg_url  # noqa: F401

pytestmark = pytest.mark.postgres


def cached(catalog, path: str) -> dict[str, str]:
    return catalog.unchanged_files("file", "object", [(path, 1, 2)])


def test_stat_cache_rows_reach_the_server_after_their_transaction(pg_url):  # noqa: F811
    writer, reader = open_catalog(pg_url, create=True), open_catalog(pg_url)
    sent = []
    try:
        with writer.bulk_writes():
            original = writer._after_commit.send

            def send(statements):
                sent.append((threading.current_thread(), len(statements)))
                assert cached(reader, "/d/a.png") == {}  # not ahead of the commit
                original(statements)

            writer._after_commit.send = send
            with writer.transaction():
                writer.put_file_states("object", [("file", "/d/a.png", 1, 2, "d1")])
                assert sent == []
            assert sent == [(threading.main_thread(), 1)]
            with pytest.raises(KeyError), writer.transaction():
                writer.put_file_states("object", [("file", "/d/b.png", 1, 2, "d2")])
                raise KeyError("the batch failed")
        # leaving bulk_writes waits for what was sent
        assert cached(reader, "/d/a.png") == {"/d/a.png": "d1"}
        assert cached(reader, "/d/b.png") == {}
        assert len(sent) == 1
        # outside bulk_writes: written in the transaction itself, as before
        with writer.transaction():
            writer.put_file_states("object", [("file", "/d/c.png", 1, 2, "d3")])
        assert cached(reader, "/d/c.png") == {"/d/c.png": "d3"}
    finally:
        writer.close()
        reader.close()


def test_a_failed_stat_cache_write_is_one_catalog_error(pg_url):  # noqa: F811
    writer = open_catalog(pg_url, create=True)
    try:
        # PostgreSQL's text cannot hold a NUL character
        bad_row = ("file", "/d/\x00.png", 1, 2, "d1")
        with pytest.raises(InstanceError) as excinfo, writer.bulk_writes(), writer.transaction():
            writer.put_file_states("object", [bad_row])
        assert str(excinfo.value).startswith("The catalog ")
        assert "failed" in str(excinfo.value)
    finally:
        writer.close()
