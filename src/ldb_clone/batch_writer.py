"""Writing ``ldb index``'s batches from other threads, so that the catalog stores batch
k while the indexer prepares batch k+1.

Each writer thread (a lane) has its own connection (``CatalogBackend.reopen``): opened,
used and closed in that thread. Each batch is still one transaction. With one lane the
batches are written one at a time, in order; with two (a catalog with a server), two
batches are written at once, each on its own connection, and the server's locks order
those that share objects or annotations, as for two indexers. Either way a batch is
counted, in submission order, only once it has committed. The preparing thread reads
with its own connection, which does not see a batch until it commits: before it reads
the state of some objects it calls ``wait_for``, which lets the batches in flight that
touch any of them finish first. A failed write is raised in the caller's thread; nothing
is counted or queued after it.

NOTE: this is what brings the PostgreSQL catalog's indexing close to SQLite's: about half
of its time was the server working while the indexer waited.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ldb_clone.catalog import CatalogBackend


class _Lane:
    """One writer thread and its own connection, opened, used and closed in it."""

    def __init__(self, catalog: CatalogBackend, number: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ldb-writer-{number}")
        self.stack = contextlib.ExitStack()
        try:
            self.catalog = self.pool.submit(self._open, catalog).result()
        except BaseException:
            self.pool.shutdown()
            raise

    def _open(self, catalog: CatalogBackend) -> CatalogBackend:
        twin = catalog.reopen()
        self.stack.callback(twin.close)
        self.stack.enter_context(twin.bulk_writes())
        return twin

    def submit(self, write: Callable[[CatalogBackend], Any]) -> Future:
        return self.pool.submit(write, self.catalog)

    def close(self) -> None:
        try:
            self.pool.submit(self.stack.close).result()
        finally:
            self.pool.shutdown()


class BatchWriter:
    """Writer threads with their own catalog connections; use as a context manager.

    ``submit(write, touches, done)`` runs ``write(catalog)`` in a writer thread;
    ``done(result)`` runs in the caller's thread once the write has committed (in
    ``submit``, ``wait_for``, ``finish`` or on leaving the context), in the order the
    batches were submitted, so the caller's counters only ever count committed batches.
    With ``lanes`` > 1, that many batches are written at once, each on its own
    connection (batches that share objects wait for each other in the catalog's locks).
    """

    def __init__(self, catalog: CatalogBackend, lanes: int = 1) -> None:
        self._lanes: list[_Lane] = []
        try:
            for number in range(lanes):
                self._lanes.append(_Lane(catalog, number))
        except BaseException:
            self._close_lanes()
            raise
        self._next = 0
        self._pending: deque[tuple[Future, frozenset[str], Callable[[Any], None]]] = deque()

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.finish()
            else:  # the caller failed: the batches in flight still commit and are counted
                with contextlib.suppress(Exception):
                    self.finish()
        finally:
            self._close_lanes()

    def _close_lanes(self) -> None:
        for lane in self._lanes:
            with contextlib.suppress(Exception):
                lane.close()

    def submit(
        self,
        write: Callable[[CatalogBackend], Any],
        touches: Collection[str],
        done: Callable[[Any], None],
    ) -> None:
        """Queue one batch's write; ``touches``: the object ids it writes."""
        while len(self._pending) >= len(self._lanes):
            self._finish_oldest()
        lane = self._lanes[self._next % len(self._lanes)]
        self._next += 1
        self._pending.append((lane.submit(write), frozenset(touches), done))

    def wait_for(self, object_ids: Collection[str]) -> None:
        """Return once no batch in flight writes any of ``object_ids``."""
        while any(not touches.isdisjoint(object_ids) for _, touches, _ in self._pending):
            self._finish_oldest()

    def finish(self) -> None:
        """Wait for every batch in flight; raise the first error."""
        while self._pending:
            self._finish_oldest()

    def _finish_oldest(self) -> None:
        future, _, done = self._pending.popleft()
        try:
            result = future.result()
        except BaseException:
            # NOTE: a later batch may be in flight on another lane; it is waited for (and
            # not counted) so that no thread writes after the error is reported
            for later, _, _ in self._pending:
                with contextlib.suppress(BaseException):
                    later.result()
            self._pending.clear()
            raise
        done(result)
