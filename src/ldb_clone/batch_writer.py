"""Writing ``ldb index``'s batches from a second thread, so that the catalog stores batch
k while the indexer prepares batch k+1.

The writer thread has its own connection (``CatalogBackend.reopen``): opened, used and
closed in that thread. Batches are still written one at a time, in order, each in its
own transaction, and at most one is in flight. The preparing thread reads with its own
connection, which does not see a batch until it commits: before it reads the state of
some objects it calls ``wait_for``, which lets the batch in flight finish first when that
batch touches any of them. A failed write is raised in the caller's thread before the
next batch is queued, so nothing is written after it.

NOTE: this is what makes the PostgreSQL catalog's indexing close to SQLite's: about half
of its time was the server working while the indexer waited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ldb_clone.catalog import CatalogBackend


class BatchWriter:
    """One writer thread with its own catalog connection; use as a context manager.

    ``submit(write, touches, done)`` runs ``write(catalog)`` in the thread; ``done(result)``
    runs in the caller's thread once the write has committed (in ``submit``, ``wait_for``,
    ``finish`` or on leaving the context), so the caller's counters only ever count
    committed batches.
    """

    def __init__(self, catalog: CatalogBackend) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ldb-catalog-writer")
        self._stack = contextlib.ExitStack()
        self._pending: tuple[Future, frozenset[str], Callable[[Any], None]] | None = None
        try:
            self._catalog = self._pool.submit(self._open, catalog).result()
        except BaseException:
            self._pool.shutdown()
            raise

    def _open(self, catalog: CatalogBackend) -> CatalogBackend:
        twin = catalog.reopen()
        self._stack.callback(twin.close)
        self._stack.enter_context(twin.bulk_writes())
        return twin

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.finish()
            else:  # the caller failed: the batch in flight still commits and is counted
                with contextlib.suppress(Exception):
                    self.finish()
        finally:
            self._pool.submit(self._stack.close).result()
            self._pool.shutdown()

    def submit(
        self,
        write: Callable[[CatalogBackend], Any],
        touches: Collection[str],
        done: Callable[[Any], None],
    ) -> None:
        """Queue one batch's write; ``touches``: the object ids it writes."""
        self.finish()
        self._pending = (self._pool.submit(write, self._catalog), frozenset(touches), done)

    def wait_for(self, object_ids: Collection[str]) -> None:
        """Return once no batch in flight writes any of ``object_ids``."""
        if self._pending is not None and not self._pending[1].isdisjoint(object_ids):
            self.finish()

    def finish(self) -> None:
        """Wait for the batch in flight; raise its error, if it failed."""
        if self._pending is None:
            return
        future, _, done = self._pending
        self._pending = None
        done(future.result())
