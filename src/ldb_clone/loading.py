"""Reading file contents for the indexer: object hashes and parsed annotation files.

For a large local batch the work goes to worker processes (one per core, forked), so
hashing and JSON parsing of one batch overlap with the catalog writes of the previous
one. There the workers also encode the annotations a format built in memory (COCO, YOLO,
...: ``values``) canonically, and summarise every annotation for ``ldb stats``: work
that would otherwise keep the indexer's own process busy while the other cores wait.
Small batches and platforms without ``fork`` use threads in-process. Remote files
(s3://, any fsspec protocol) are fetched by a pool of threads with many requests in
flight, in the background as well; large objects are hashed as they stream in.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ldb_clone.hashing import Hasher
from ldb_clone.strict_json import JsonProblem, annotation_of

PROCESS_THRESHOLD = 1000  # files in one run before worker processes pay for themselves
THREADS = 4
# requests in flight for remote files (LDB_REMOTE_CONCURRENCY overrides: 1 reads them one
# request at a time, as upstream LDB did)
REMOTE_CONCURRENCY = 32
STREAM_THRESHOLD = 8 << 20  # remote objects larger than this are hashed in chunks
CHUNK = 1 << 20


@dataclass(slots=True)
class LoadResult:
    """Per batch: object id per data path, (annotation id, canonical text) per JSON path
    and per key of a value, the ``ldb stats`` summary per annotation id (where asked
    for), and the first error met, as (kind, path, message)."""

    digests: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, tuple[str, str]] = field(default_factory=dict)
    values: dict[Any, tuple[str, str]] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)
    error: tuple[str, str, str] | None = None


def load_local(
    algorithm: str,
    data: Sequence[tuple[str, int]],
    annotations: Sequence[str],
    values: Sequence[tuple[Any, Any]] = (),
    summarise: bool = False,
) -> LoadResult:
    """Hash local data files and parse local JSON files; stop at the first failure.

    ``values``: (key, annotation value) pairs to encode; a value with no valid JSON form
    is left out (the caller meets it again and says what is wrong). ``summarise``: also
    the summary of each annotation read or encoded."""
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
                result.annotations[path] = annotation_of(raw, hasher.annotation_id)
            except JsonProblem as exc:
                result.error = ("json", path, str(exc))
                return result
    except FileNotFoundError:
        result.error = ("vanished", path, "file vanished before it was read")
    except OSError as exc:
        result.error = ("unreadable", path, str(exc.strerror or exc))
    for key, value in values:
        try:
            result.values[key] = hasher.annotation_id(value)
        except (ValueError, UnicodeEncodeError, RecursionError):
            continue
    if summarise:
        from ldb_clone.stats import summaries_of

        texts = dict(result.annotations.values())
        texts.update(result.values.values())
        result.summaries = summaries_of(texts)
    return result


def remote_concurrency() -> int:
    try:
        return max(1, int(os.environ.get("LDB_REMOTE_CONCURRENCY", REMOTE_CONCURRENCY)))
    except ValueError:
        return REMOTE_CONCURRENCY


def load_remote(
    algorithm: str,
    data: Sequence[Any],
    annotations: Sequence[Any],
    fs_for: Callable[[Any], Any],
) -> LoadResult:
    """Hash remote data files and parse remote JSON files (``FileEntry``s), many at once.

    Results are keyed by URL. Memory stays bounded: each worker holds one object, and
    objects above STREAM_THRESHOLD are hashed chunk by chunk as they arrive.
    """
    hasher = Hasher(algorithm)
    result = LoadResult()

    def load(job: tuple[str, Any]) -> None:
        kind, entry = job
        try:
            fs = fs_for(entry)
            if kind == "data":
                if entry.size > STREAM_THRESHOLD:
                    with fs.open(entry.path, "rb", block_size=CHUNK) as f:
                        digest = hasher.stream_digest(iter(lambda: f.read(CHUNK), b""))
                else:
                    digest = hasher.bytes_digest(fs.cat_file(entry.path))
                result.digests[entry.url] = digest
                return
            raw = fs.cat_file(entry.path)
            try:
                result.annotations[entry.url] = annotation_of(raw, hasher.annotation_id)
            except JsonProblem as exc:
                _first_error(result, ("json", entry.url, str(exc)))
        except FileNotFoundError:
            _first_error(result, ("vanished", entry.url, "file vanished before it was read"))
        except Exception as exc:
            from ldb_clone.fs import remote_reason

            _first_error(result, ("unreadable", entry.url, remote_reason(exc)))

    jobs = [("data", e) for e in data] + [("json", e) for e in annotations]
    workers = min(remote_concurrency(), len(jobs))
    if workers <= 1:
        for job in jobs:
            load(job)
        return result
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(load, jobs):
            pass
    return result


def _first_error(result: LoadResult, error: tuple[str, str, str]) -> None:
    if result.error is None:
        result.error = error


class _Background:
    """A remote load running in a thread while the caller writes the previous batch."""

    def __init__(self, local: Any, remote: Any) -> None:
        self.local = local
        self.remote = remote

    def get(self) -> LoadResult:
        parts = [self.remote.result()]
        if self.local is not None:
            parts.insert(0, self.local.get())
        return _merge(parts)


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
        self._coordinator: Any = None
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

    def submit(
        self,
        data: Sequence[tuple[str, int]],
        annotations: Sequence[str],
        remote_data: Sequence[Any] = (),
        remote_annotations: Sequence[Any] = (),
        fs_for: Callable[[Any], Any] | None = None,
        values: Sequence[tuple[Any, Any]] = (),
        summarise: bool = False,
    ):
        """Start loading local paths (path, size) and JSON paths, and remote entries.

        ``values`` and ``summarise`` (see ``load_local``) are taken up only by worker
        processes: in this process the caller does that work as cheaply itself."""
        if not (remote_data or remote_annotations):
            return self._submit_local(data, annotations, values, summarise)
        if fs_for is None:
            raise TypeError("fs_for is needed to load remote entries")
        if self._coordinator is None:
            from concurrent.futures import ThreadPoolExecutor

            self._coordinator = ThreadPoolExecutor(1)
        remote = self._coordinator.submit(
            load_remote, self.algorithm, remote_data, remote_annotations, fs_for
        )
        local = (
            self._submit_local(data, annotations, values, summarise)
            if (data or annotations or values)
            else None
        )
        return _Background(local, remote)

    def _submit_local(
        self,
        data: Sequence[tuple[str, int]],
        annotations: Sequence[str],
        values: Sequence[tuple[Any, Any]] = (),
        summarise: bool = False,
    ):
        work = len(data) + len(annotations) + len(values)
        pool = self._process_pool() if work >= 64 else None
        if pool is not None:
            # NOTE: a few slices per batch, not one task per file: task overhead would
            # cost more than hashing a 10 KB file.
            parts = (data, annotations, values)
            return _Split(pool, self.algorithm, parts, summarise, self._workers)
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
        if self._coordinator is not None:
            self._coordinator.shutdown(wait=True, cancel_futures=True)
            self._coordinator = None


class _Split:
    """``load_local`` over ``parts`` slices of each list, one task each."""

    def __init__(
        self, pool: Any, algorithm: str, lists: tuple[Sequence, ...], summarise: bool, parts: int
    ) -> None:
        steps = [max(1, -(-len(items) // parts)) for items in lists]
        self._results = [
            pool.apply_async(
                load_local,
                (
                    algorithm,
                    *(items[i * step : (i + 1) * step] for items, step in zip(lists, steps)),
                    summarise,
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
        merged.values.update(part.values)
        merged.summaries.update(part.summaries)
        if part.error and merged.error is None:
            merged.error = part.error
    return merged


ErrorFactory = Callable[[str, str, str], Exception]
