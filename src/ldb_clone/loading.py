"""Reading file contents for the indexer: object hashes and parsed annotation files.

For a large local batch the work goes to worker processes (one per core, forked), so
hashing and JSON parsing of one batch overlap with the catalog writes of the previous
one. Small batches, remote files and platforms without ``fork`` use threads in-process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ldb_clone.hashing import Hasher

PROCESS_THRESHOLD = 1000  # files in one run before worker processes pay for themselves
THREADS = 4


@dataclass(slots=True)
class LoadResult:
    """Per batch: object id per data path, (annotation id, canonical text) per JSON path,
    and the first error met, as (kind, path, message)."""

    digests: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, tuple[str, str]] = field(default_factory=dict)
    error: tuple[str, str, str] | None = None


def load_local(
    algorithm: str, data: Sequence[tuple[str, int]], annotations: Sequence[str]
) -> LoadResult:
    """Hash local data files and parse local JSON files; stop at the first failure."""
    hasher = Hasher(algorithm)
    result = LoadResult()
    path = ""
    try:
        for path, size in data:
            result.digests[path] = hasher.file_digest(path, size)
        for path in annotations:
            with open(path, "rb") as f:
                raw = f.read()
            try:
                value = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                result.error = ("json", path, str(exc))
                return result
            result.annotations[path] = hasher.annotation_id(value)
    except FileNotFoundError:
        result.error = ("vanished", path, "file vanished before it was read")
    except OSError as exc:
        result.error = ("unreadable", path, str(exc.strerror or exc))
    return result


class _Done:
    def __init__(self, value: LoadResult) -> None:
        self.value = value

    def get(self) -> LoadResult:
        return self.value


class Loader:
    """Schedules ``load_local`` calls; ``submit`` returns an object with ``get()``."""

    def __init__(self, algorithm: str, expected_files: int) -> None:
        self.algorithm = algorithm
        self._pool: Any = None
        self._workers = 0
        self._threads: Any = None
        self._may_fork = expected_files >= PROCESS_THRESHOLD and (os.cpu_count() or 1) > 1

    def _process_pool(self) -> Any:
        """Worker processes, started on the first batch that has enough to read."""
        if self._pool is None and self._may_fork:
            self._may_fork = False
            import multiprocessing

            try:
                context = multiprocessing.get_context("fork")
            except ValueError:
                return None
            self._workers = min(os.cpu_count() or 1, 4)
            self._pool = context.Pool(self._workers)
        return self._pool

    def submit(self, data: Sequence[tuple[str, int]], annotations: Sequence[str]):
        pool = self._process_pool() if len(data) + len(annotations) >= 64 else None
        if pool is not None:
            # NOTE: a few slices per batch, not one task per file: task overhead would
            # cost more than hashing a 10 KB file.
            return _Split(pool, self.algorithm, data, annotations, self._workers)
        return _Done(self._threaded(data, annotations))

    def _threaded(self, data, annotations) -> LoadResult:
        if len(data) < 64:
            return load_local(self.algorithm, data, annotations)
        if self._threads is None:
            from concurrent.futures import ThreadPoolExecutor

            self._threads = ThreadPoolExecutor(THREADS)
        step = -(-len(data) // THREADS)
        parts = list(
            self._threads.map(
                lambda part: load_local(self.algorithm, part, ()),
                [data[i : i + step] for i in range(0, len(data), step)],
            )
        )
        merged = _merge([*parts, load_local(self.algorithm, (), annotations)])
        return merged

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
        if self._threads is not None:
            self._threads.shutdown(wait=False)
            self._threads = None


class _Split:
    def __init__(self, pool: Any, algorithm: str, data, annotations, parts: int) -> None:
        dstep = max(1, -(-len(data) // parts))
        astep = max(1, -(-len(annotations) // parts))
        self._results = [
            pool.apply_async(
                load_local,
                (
                    algorithm,
                    data[i * dstep : (i + 1) * dstep],
                    annotations[i * astep : (i + 1) * astep],
                ),
            )
            for i in range(parts)
        ]

    def get(self) -> LoadResult:
        return _merge([r.get() for r in self._results])


def _merge(parts: list[LoadResult]) -> LoadResult:
    merged = LoadResult()
    for part in parts:
        merged.digests.update(part.digests)
        merged.annotations.update(part.annotations)
        if part.error and merged.error is None:
            merged.error = part.error
    return merged


ErrorFactory = Callable[[str, str, str], Exception]
