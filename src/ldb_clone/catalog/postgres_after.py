"""Writes that may reach the server after their transaction has committed, sent on a
second connection while the next transaction runs.

Only rows that may lag behind the catalog but never run ahead of it go here: the stat
cache of ``ldb index`` (a file's size and mtime -> its digest) and the stored ``ldb
stats`` summaries of new annotations. Sent after the batch that stored those objects and
annotations has committed, they always name something the catalog holds; rows lost to a
crash in between only mean that a file is read and hashed again next time, or that the
first ``ldb stats`` summarises those annotations itself.

NOTE: on PostgreSQL the server's work is most of ``ldb index``; these two were a quarter
of it, and now run on a second server process beside the next batch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg

Statement = Callable[[psycopg.Connection], Any]


class AfterCommit:
    """A thread with its own autocommit connection that runs what it is sent in order,
    one send at a time; ``close`` waits for the last one and raises its error."""

    def __init__(self, url: str, retryable: tuple[type[BaseException], ...], retries: int):
        self._url = url
        self._retryable = retryable
        self._retries = retries
        self._pool: ThreadPoolExecutor | None = None
        self._conn: psycopg.Connection | None = None
        self._future: Future | None = None

    def send(self, statements: list[Statement]) -> None:
        """Run ``statements`` in the thread once the previous send has finished."""
        self.wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ldb-after-commit")
        self._future = self._pool.submit(self._run, statements)

    def wait(self) -> None:
        """Wait for the last send; raise its error (a ``psycopg.Error``)."""
        future, self._future = self._future, None
        if future is not None:
            future.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.submit(self._disconnect).result()
                self._pool.shutdown()

    def _run(self, statements: list[Statement]) -> None:
        if self._conn is None:
            self._conn = psycopg.connect(self._url, autocommit=True)
        for statement in statements:
            for attempt in range(self._retries):
                try:
                    with self._conn.transaction():  # each in a transaction of its own
                        statement(self._conn)
                    break
                except self._retryable:
                    if attempt == self._retries - 1:
                        raise

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
