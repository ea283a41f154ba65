"""``ldb index``: list paths, parse them with a format, hash, and record in batches.

Each batch is written in one transaction together with its stat-cache rows, so an
interrupted run keeps every finished batch, and running it again skips what is done:
files whose path, size and mtime are unchanged are neither read nor hashed again.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ldb_clone import formats
from ldb_clone.catalog import CatalogBackend, ObjectRecord, RecordCounts
from ldb_clone.confine import StorageBounds, normalize_remote
from ldb_clone.errors import FormatError, IndexingError, LdbError, StorageError
from ldb_clone.formats.base import NO_ANNOTATION, Format, IndexItem, load_json_bytes
from ldb_clone.fs import (
    LOCAL,
    FileEntry,
    Listing,
    Skipped,
    get_fsspec,
    is_utf8,
    list_path,
    read_bytes,
    split_url,
    stat_url,
)
from ldb_clone.gc_pause import cycle_collector_paused
from ldb_clone.instance import Instance, current_user
from ldb_clone.loading import Loader, LoadResult
from ldb_clone.reporting import NullProgress, Reporter
from ldb_clone.stat_cache import JSON_KIND, OBJECT_KIND, cached_digests
from ldb_clone.stats import store_summaries, summaries_of
from ldb_clone.storage import (
    ReadAddCopier,
    StorageLocation,
    find_location,
    load_locations,
    outside_storage_error,
    read_add_location,
    store_in_read_add,
)
from ldb_clone.strict_json import value_problem
from ldb_clone.tagging import parse_tags

if TYPE_CHECKING:
    from ldb_clone.batch_writer import BatchWriter

BATCH_SIZE = 2000
# NOTE: the first batch is small, so that this process starts storing while the worker
# processes hash the next one instead of waiting for a whole batch (COCO, 5,000 images:
# from the end of parsing to the last stored batch, 0.39 -> 0.35 s)
FIRST_BATCH = 250
CACHE_WINDOW = 10  # batches whose stat-cache rows are read in one query
WRITER_LANES = 2  # batches written at once to a catalog with a server
UPDATE_STRATEGIES = ("replace", "merge")
GLOB_PREFIX = re.compile(r"[*?\[]")
MEMORY_PREFIX = "index-memory:"  # settings keys of ParseContext.remember
INLINE_TEXT_FOLDER = "label-studio-text"  # texts held in tasks, kept in read-add storage


@dataclass
class IndexResult:
    format: str = ""
    found_objects: int = 0
    found_annotations: int = 0
    new_objects: int = 0
    new_annotations: int = 0
    new_paths: int = 0
    transform_sets: int = 0
    replaced_annotations: int = 0  # objects whose current annotation changes
    dry_run: bool = False
    finished: bool = False
    # files from outside storage copied to the read-add location (and where it is)
    copied_objects: int = 0
    copied_annotations: int = 0
    read_add: str = ""
    object_ids: set[str] = field(default_factory=set, repr=False)  # every object indexed
    # object id -> transform ids, for objects whose records carried a transform set
    transforms: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def summary(self) -> str:
        if self.dry_run:
            return (
                "\nDry run, nothing was written. Indexing would find:\n"
                f"  Found data objects:    {self.found_objects:9d}\n"
                f"  Found annotations:     {self.found_annotations:9d}\n"
                f"  New data objects:      {self.new_objects:9d}\n"
                f"  New annotations:       {self.new_annotations:9d}\n"
                f"  Replaced annotations:  {self.replaced_annotations:9d}\n"
                f"  New data object paths: {self.new_paths:9d}"
            )
        heading = (
            "Finished indexing"
            if self.finished
            else "Unable to finish indexing. Partial indexing results"
        )
        return (
            f"\n{heading}:\n"
            f"  Found data objects:    {self.found_objects:9d}\n"
            f"  Found annotations:     {self.found_annotations:9d}\n"
            f"  New data objects:      {self.new_objects:9d}\n"
            f"  New annotations:       {self.new_annotations:9d}\n"
            f"  New data object paths: {self.new_paths:9d}\n"
            f"  Transform sets:        {self.transform_sets:9d}"
        )

    def copied_summary(self) -> str:
        """Upstream's block for files copied from outside storage ('' when none were)."""
        if not (self.copied_objects or self.copied_annotations):
            return ""
        return (
            f"Copied ephemeral files to storage: {self.read_add}\n"
            f"  Data objects:       {self.copied_objects:9d}\n"
            f"  Annotations:        {self.copied_annotations:9d}"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["object_ids"], data["transforms"]
        return data


class _Context:
    """The ParseContext handed to formats."""

    def __init__(self, indexer: Indexer, params: dict[str, str]) -> None:
        self.indexer = indexer
        self.id_key = indexer.instance.hasher.id_key
        self.params = params
        self.unpaired = 0
        self.remembered: dict[str, str] = {}  # written to the catalog when the run succeeds
        self._stats: dict[tuple[str, str], FileEntry | None] = {}

    def read_json(self, entry: FileEntry) -> Any:
        return load_json_bytes(self.indexer.read(entry), entry.url)

    def read_bytes(self, entry: FileEntry) -> bytes:
        return self.indexer.read(entry)

    def unchanged(self, entries: Iterable[FileEntry], annotations: bool) -> set[tuple[str, str]]:
        return set(self.indexer._cached(list(entries), JSON_KIND if annotations else OBJECT_KIND))

    def _key(self, url: str, base: FileEntry | None) -> tuple[str, str]:
        base_dir = base.parent if base is not None and base.protocol == LOCAL else None
        if base is not None and base.protocol != LOCAL and "://" not in url and url[:1] != "/":
            return base.protocol, normalize_remote(f"{base.parent}/{url}")
        protocol, path = split_url(url, base=base_dir)
        return protocol, path if protocol == LOCAL else normalize_remote(path)

    def resolve(
        self, url: str, base: FileEntry | None = None, named_in: str | None = None
    ) -> FileEntry | None:
        where = named_in or (base.url if base is not None else "an annotation")
        if not is_utf8(url):
            shown = url.encode("utf-8", "backslashreplace").decode()
            raise FormatError(f"Invalid path named in {where}: '{shown}' is not valid Unicode")
        key = self._key(url, base)
        if key not in self._stats:
            self.indexer.bounds.check_named(*key, where)
            self._stats[key] = self.indexer.stat(*key)
            self.indexer.named_in_storage.add(key)
        return self._stats[key]

    def prefetch(self, requests: Iterable[tuple[str, FileEntry | None]]) -> None:
        """Stat many URLs at once (remote ones concurrently) before ``resolve`` asks.
        URLs outside storage are left to ``resolve``, which refuses them unread."""
        keys = {self._key(url, base) for url, base in requests}
        remote = [
            k
            for k in keys
            if k[0] != LOCAL and k not in self._stats and self.indexer.bounds.allows(*k)
        ]
        if len(remote) < 2:
            return
        from concurrent.futures import ThreadPoolExecutor

        from ldb_clone.loading import remote_concurrency

        with ThreadPoolExecutor(min(remote_concurrency(), len(remote))) as pool:
            for key, entry in zip(remote, pool.map(lambda k: self.indexer.stat(*k), remote)):
                self._stats[key] = entry

    def known_objects(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        return self.indexer.instance.catalog.known_objects(ids) if ids else set()

    def storage_roots(self) -> list[str]:
        return [loc.url for loc in self.indexer.locations]

    def store_text(self, text: str, where: str) -> FileEntry:
        location = read_add_location(self.indexer.locations)
        if location is None:
            raise StorageError(
                f"Text held inside an annotation ({where}) is stored as a data object file "
                "in read-add storage, but there is no read-add storage location: "
                "ldb add-storage -a true DIR"
            )
        data = text.encode("utf-8")
        name = f"{INLINE_TEXT_FOLDER}/{self.indexer.hasher.bytes_digest(data)}.txt"
        return store_in_read_add(location, name, data)

    def info(self, message: str) -> None:
        self.indexer.reporter.echo(message)

    def warn(self, message: str) -> None:
        self.indexer.reporter.warn(message)

    def note_unpaired(self, count: int) -> None:
        self.unpaired += count

    def recall(self, key: str) -> str | None:
        if key in self.remembered:
            return self.remembered[key]
        return self.indexer.catalog.get_setting(MEMORY_PREFIX + key)

    def remember(self, key: str, value: str) -> None:
        self.remembered[key] = value

    def save_memory(self) -> None:
        """Store what formats remembered; called once the run has finished."""
        if self.remembered:
            with self.indexer.catalog.transaction():
                for key, value in self.remembered.items():
                    self.indexer.catalog.set_setting(MEMORY_PREFIX + key, value)


class Indexer:
    def __init__(
        self,
        instance: Instance,
        reporter: Reporter | None = None,
        add_tags: Sequence[str] = (),
        annotation_update: str | None = None,
        ephemeral_remote: bool = False,
        dry_run: bool = False,
    ) -> None:
        # None: replace, but stop before labels would be replaced by nothing (see
        # annotation_guard); "replace" given explicitly replaces whatever the result
        self.guarded = annotation_update is None
        annotation_update = annotation_update or "replace"
        if annotation_update not in UPDATE_STRATEGIES:
            raise LdbError(
                f"Invalid --annotation-update {annotation_update!r}: choose merge or replace"
            )
        self.instance = instance
        self.catalog = instance.catalog
        self.hasher = instance.hasher
        self.reporter = reporter or Reporter()
        self.tags = parse_tags(add_tags)
        self.merge = annotation_update == "merge"
        self.ephemeral_remote = ephemeral_remote
        self.dry_run = dry_run
        self.locations: list[StorageLocation] = load_locations(instance)
        self.read_any_cloud = bool(instance.setting("core.read_any_cloud_location", False))
        self.bounds = StorageBounds(self.locations, self.read_any_cloud)
        self.copier: ReadAddCopier | None = None
        self.result = IndexResult()  # of the current run
        self._inside_cache: dict[tuple[str, str], bool] = {}
        # (protocol, path) of files named by annotations: checked to be inside storage
        # (after symlinks, see confine), so never copied to read-add storage
        self.named_in_storage: set[tuple[str, str]] = set()
        self._transform_sets: dict[str, tuple[str, ...]] = {}
        self.now = datetime.now(timezone.utc).isoformat()
        self.user = current_user()

    # file access with storage options ---------------------------------------------------

    def options(self, protocol: str, path: str) -> dict[str, Any]:
        loc = find_location(self.locations, protocol, path)
        return dict(loc.options) if loc else {}

    def read(self, entry: FileEntry) -> bytes:
        return read_bytes(entry, self.options(entry.protocol, entry.path))

    def filesystem(self, entry: FileEntry) -> Any:
        """The fsspec filesystem for a remote entry, with its storage location's options."""
        return get_fsspec(entry.protocol, self.options(entry.protocol, entry.path))

    def stat(self, protocol: str, path: str) -> FileEntry | None:
        return stat_url(protocol, path, self.options(protocol, path))

    # the run ------------------------------------------------------------------------------

    def run(
        self,
        paths: Sequence[str],
        fmt: str = formats.INDEX_DEFAULT,
        params: dict[str, str] | None = None,
    ):
        name = formats.canonical_name(fmt)
        params = dict(params or {})
        if name != formats.AUTO:
            fmt_obj = formats.get_format(name)
            fmt_obj.check_params(params)
            self._check_strategy(fmt_obj)
        result = self.result = IndexResult(format=name, dry_run=self.dry_run)
        rep = self.reporter
        rep.echo(f"Data format: {name}")
        if name != formats.AUTO and fmt_obj.leading_blank_line:
            rep.echo()
        rep.echo("Collecting paths...")
        listings: list[Listing] = []
        skipped = Skipped()
        for arg in paths:
            self._check_remote_arg(arg)
            listings.extend(list_path(arg, self.options, self.bounds.local_roots, skipped))
        for warning in skipped.warnings():
            rep.warn(warning)
        ctx = _Context(self, params)
        if name == formats.AUTO:
            from ldb_clone.formats.auto import detect_format

            fmt_obj = detect_format(ctx, listings)
            name = fmt_obj.name
            fmt_obj.check_params(params)
            self._check_strategy(fmt_obj)
            rep.echo(f"Auto-detected data format: {name}")
        result.format = name
        rep.echo("Indexing data...")
        try:
            if fmt_obj.parse is None:
                raise FormatError(f"The format {name!r} cannot index: it only instantiates")
            items = list(fmt_obj.parse(ctx, listings))
            self._check_locations(items)
            if self.guarded:
                self._check_labels_kept(items, ctx, listings, fmt_obj, fmt)
            total_bytes = sum(item.data.size for item in items if item.data is not None)
            batches = _batches(items)
            loader = Loader(self.hasher.algorithm, expected_files=2 * len(items))
            progress: Any = NullProgress()
            writer: BatchWriter | None = None
            with contextlib.ExitStack() as stack:
                stack.callback(loader.close)
                stack.callback(lambda: progress.close())
                if len(batches) > 1 and not self.dry_run and self.catalog.has_server:
                    from ldb_clone.batch_writer import BatchWriter  # threads: only here

                    writer = stack.enter_context(BatchWriter(self.catalog, WRITER_LANES))
                elif not self.dry_run:  # its checkpoint rewrites the catalog file
                    stack.enter_context(self.catalog.bulk_writes())
                # NOTE: batch k+1 is read and hashed (in worker processes for large local
                # runs) while batch k is written to the catalog (by the writer thread).
                # The progress bar starts after the first plan, so worker processes fork
                # before its thread exists.
                pending: deque[tuple[list[IndexItem], _Plan]] = deque()
                cache = _CacheWindow(self.catalog, batches)
                for number, batch in enumerate(batches):
                    pending.append((batch, self._plan(batch, loader, cache.digests(number))))
                    if number == 0:
                        progress = rep.progress("Indexing", len(items), total_bytes)
                    if len(pending) > 1:
                        self._record_batch(*pending.popleft(), result, progress, writer)
                while pending:
                    self._record_batch(*pending.popleft(), result, progress, writer)
        except BaseException:
            self._echo_copied(result)
            rep.echo("")
            rep.echo(result.summary())
            raise
        if not self.dry_run:
            ctx.save_memory()
        result.finished = True
        if ctx.unpaired:
            rep.warn(
                f"{ctx.unpaired} data file(s) without an annotation were not indexed by "
                f"{name}; use --format bare to index them too"
            )
        self._echo_copied(result)
        rep.echo("")
        rep.echo(result.summary())
        return result

    def _check_labels_kept(
        self,
        items: list[IndexItem],
        ctx: _Context,
        listings: list[Listing],
        fmt: Format,
        asked: str,
    ) -> None:
        """The wrong-format guard: see ``annotation_guard``."""
        from ldb_clone.annotation_guard import label_loss_error, labels_lost

        if fmt.as_written:
            return
        name = fmt.name
        lost = labels_lost(self.catalog, items, self.hasher.id_key)
        if not lost:
            return
        suggested = None
        if formats.canonical_name(asked) != formats.AUTO:
            from ldb_clone.formats.auto import detect

            with contextlib.suppress(LdbError):
                suggested = detect(ctx, listings)
        raise label_loss_error(lost, name, suggested if suggested != name else None)

    def _echo_copied(self, result: IndexResult) -> None:
        block = result.copied_summary()
        if block:
            self.reporter.echo("")
            self.reporter.echo(block)

    def _transform_set(self, records: Sequence[dict[str, Any]]) -> tuple[str, ...]:
        key = json.dumps(records, sort_keys=True)
        if key not in self._transform_sets:
            from ldb_clone.transforms import from_records

            self._transform_sets[key] = from_records(self.instance, records)
        return self._transform_sets[key]

    def _check_strategy(self, fmt: Format) -> None:
        if self.merge and not fmt.merges:
            raise LdbError(f"--annotation-update merge cannot be used with {fmt.name}")

    def _check_remote_arg(self, arg: str) -> None:
        """A cloud path outside every storage location is refused before it is listed,
        unless core.read_any_cloud_location or --ephemeral-remote allow it."""
        protocol, path = split_url(arg)
        if protocol == LOCAL or self.read_any_cloud or self.ephemeral_remote:
            return
        prefix = (
            GLOB_PREFIX.split(path, 1)[0].rsplit("/", 1)[0] if GLOB_PREFIX.search(path) else path
        )
        if find_location(self.locations, protocol, prefix) is None:
            raise outside_storage_error(arg)

    def _check_locations(self, items: list[IndexItem]) -> None:
        """Fail early, before anything is written, on remote files that may not be read."""
        for item in items:
            data = item.data
            if data is None or data.protocol == LOCAL:
                continue
            outside = find_location(self.locations, data.protocol, data.path) is None
            if outside and not (self.read_any_cloud or self.ephemeral_remote):
                raise outside_storage_error(data.url)

    # one batch ----------------------------------------------------------------------------

    def _plan(
        self, batch: list[IndexItem], loader: Loader, cached: dict[str, dict[tuple[str, str], str]]
    ) -> _Plan:
        """Start loading what the stat cache (``cached``: kind -> (protocol, path) -> digest,
        for this batch's files and maybe others) cannot vouch for."""
        data = [item.data for item in batch if item.data is not None]
        annotation_files = [i.annotation_file for i in batch if i.annotation_file is not None]
        object_ids = _picked(cached[OBJECT_KIND], data)
        annotation_ids = _picked(cached[JSON_KIND], annotation_files)
        local_data = {
            e.path: e.size
            for e in data
            if e.protocol == LOCAL and (e.protocol, e.path) not in object_ids
        }
        local_json = {
            e.path: None
            for e in annotation_files
            if e.protocol == LOCAL and (e.protocol, e.path) not in annotation_ids
        }
        remote_data = {
            e.url: e for e in data if e.protocol != LOCAL and (e.protocol, e.path) not in object_ids
        }
        remote_json = {
            e.url: e
            for e in annotation_files
            if e.protocol != LOCAL and (e.protocol, e.path) not in annotation_ids
        }
        # annotations the format built (finalize needs the object id: computed later)
        values = [
            (position, item.annotation)
            for position, item in enumerate(batch)
            if item.annotation_file is None and item.finalize is None and item.has_annotation
        ]
        future = loader.submit(
            list(local_data.items()),
            list(local_json),
            list(remote_data.values()),
            list(remote_json.values()),
            self.filesystem,
            values=values,
            summarise=not (self.dry_run or self.catalog.read_only),
        )
        return _Plan(object_ids, annotation_ids, future)

    def _record_batch(
        self,
        batch: list[IndexItem],
        plan: _Plan,
        result: IndexResult,
        progress: Any,
        writer: BatchWriter | None,
    ) -> None:
        """Work out the batch's records and store them: through ``writer`` when there is
        one (its commit is counted later), else here."""
        loaded = plan.future.get()
        if loaded.error is not None:
            raise _load_error(*loaded.error)
        oids = []
        for item in batch:
            if item.data is None:
                if item.object_id is None:
                    raise IndexingError("The format found an item with neither a file nor an id")
                oids.append(item.object_id)
                continue
            oid = self._object_id(item.data, plan, loaded)
            if item.expected_object_id and item.expected_object_id != oid:
                raise IndexingError(
                    f"Data object id mismatch for {item.data.url}: the annotation names "
                    f"id:{item.expected_object_id}, the file hashes to id:{oid}"
                )
            oids.append(oid)
        if writer is not None:
            writer.wait_for(oids)
        states = self.catalog.object_states(set(oids))
        known = set(states)
        before = dict(states)

        current = self.catalog.current_annotations(set(oids)) if self.merge else {}
        texts: dict[str, str] = {}
        object_states: list[tuple[str, str, int, int, str]] = []
        json_states: list[tuple[str, str, int, int, str]] = []
        records: list[ObjectRecord] = []
        unchanged: set[str] = set()
        for position, (item, oid) in enumerate(zip(batch, oids)):
            inline = None
            if item.annotation_file is None and item.has_annotation:
                value = item.finalize(oid, self.hasher.id_key) if item.finalize else item.annotation
                encoded = loaded.values.get(position) if item.finalize is None else None
                inline = (*(encoded or self._inline_annotation_id(item, oid, value)), value)
            if self._unchanged(item, oid, plan, states, inline):
                unchanged.add(oid)
                continue
            stored = self._stored_entry(item, oid, known)
            known.add(oid)
            path_record = None
            if stored is not None:
                path_record = stored  # a FileEntry has every field of a PathRecord
                key = (stored.protocol, stored.path)
                if stored.mtime_ns is not None and key not in plan.object_ids:
                    object_states.append((*key, stored.size, stored.mtime_ns, oid))
            data = item.data
            if data is not None and data is not stored and data.mtime_ns is not None:
                # a file outside storage: remember its hash, so indexing it again is cheap
                key = (data.protocol, data.path)
                if key not in plan.object_ids:
                    object_states.append((*key, data.size, data.mtime_ns, oid))
            annotation_id = None
            if item.has_annotation:
                if inline is not None:
                    annotation_id, text, value = inline
                    texts[annotation_id] = text
                else:
                    annotation_id = self._file_annotation(item, plan, loaded, json_states, texts)
                    value = NO_ANNOTATION
                if self.merge and oid in current:
                    annotation_id = self._merged(current[oid][1], annotation_id, value, texts)
                current[oid] = (0, annotation_id)
            records.append(
                ObjectRecord(
                    object_id=oid,
                    type=_object_type(item.data) if item.data is not None else "",
                    path=path_record,
                    annotation_id=annotation_id,
                    annotation_mtime_ns=(
                        item.annotation_file.mtime_ns if item.annotation_file else None
                    ),
                    tags=self.tags,
                    path_unchanged=stored is not None
                    and (stored.protocol, stored.path) in plan.object_ids,
                )
            )
            # later items of this batch compare against this one, not the stale state
            old = states.get(oid)
            states[oid] = (
                annotation_id if annotation_id is not None else (old[0] if old else None),
                stored.protocol if stored is not None else (old[1] if old else None),
                stored.path if stored is not None else (old[2] if old else None),
                records[-1].type or (old[3] if old else ""),
            )

        def counted(counts: RecordCounts | _Counts) -> None:
            self._count_batch(batch, oids, records, before, counts, result, progress)

        if self.dry_run:
            counted(self._dry_counts(records, before))
            return
        summaries = _summaries(texts, loaded) if not self.catalog.read_only else {}

        def write(catalog: CatalogBackend) -> RecordCounts:
            with catalog.transaction():
                catalog.touch_objects(unchanged, self.now, self.user, self.tags)
                counts = catalog.record_objects(records, texts, self.now, self.user)
                store_summaries(catalog, summaries)
                catalog.put_file_states(OBJECT_KIND, object_states)
                catalog.put_file_states(JSON_KIND, json_states)
            return counts

        if writer is None:
            counted(write(self.catalog))
        else:
            writer.submit(write, oids, counted)

    def _count_batch(
        self,
        batch: list[IndexItem],
        oids: list[str],
        records: list[ObjectRecord],
        before: dict[str, tuple],
        counts: RecordCounts | _Counts,
        result: IndexResult,
        progress: Any,
    ) -> None:
        """Add a stored batch to the run's result and progress."""
        result.replaced_annotations += _count_replaced(records, before)
        # counted once the batch is stored, so a partial summary reports what was kept
        result.object_ids.update(oids)
        for item, oid in zip(batch, oids):
            if item.transforms is not None:
                result.transforms[oid] = self._transform_set(item.transforms)
        result.transform_sets = len(result.transforms)
        # as upstream, annotation-only records find a data object only when they name it by
        # a path that had to be read and hashed, not by an indexed id
        result.found_objects += (
            sum(1 for item in batch if item.data is not None)
            if formats.get_format(result.format).counts_read_objects_only
            else len(batch)
        )
        result.found_annotations += sum(1 for item in batch if item.has_annotation)
        result.new_objects += counts.new_objects
        result.new_annotations += counts.new_annotations
        result.new_paths += counts.new_paths
        progress.advance(len(batch), sum(i.data.size for i in batch if i.data is not None))

    def _dry_counts(self, records: list[ObjectRecord], before: dict[str, tuple]) -> _Counts:
        """What recording ``records`` would add, computed without writing."""
        paths = self.catalog.object_paths([r.object_id for r in records])
        counts = _Counts()
        seen_objects: set[str] = set()
        seen_paths: set[tuple[str, str]] = set()
        annotation_now = {oid: state[0] for oid, state in before.items()}
        for record in records:
            oid = record.object_id
            if oid not in before and oid not in seen_objects:
                counts.new_objects += 1
            seen_objects.add(oid)
            if record.path is not None:
                key = (record.path.protocol, record.path.path)
                if key not in paths.get(oid, []) and key not in seen_paths:
                    counts.new_paths += 1
                seen_paths.add(key)
            new_id = record.annotation_id
            if new_id is not None and annotation_now.get(oid) != new_id:
                counts.new_annotations += 1
                annotation_now[oid] = new_id
        return counts

    def _inline_annotation_id(self, item: IndexItem, oid: str, value: Any) -> tuple[str, str]:
        """(id, text) of an annotation a format built; a value with no valid JSON form
        (a number the file's parser let through as infinite) is a ``FormatError``."""
        try:
            return self.hasher.annotation_id(value)
        except (ValueError, UnicodeEncodeError):
            where = item.data.url if item.data is not None else f"id:{oid}"
            raise FormatError(f"Invalid annotation for {where}: {value_problem(value)}") from None

    def _unchanged(
        self,
        item: IndexItem,
        oid: str,
        plan: _Plan,
        states: dict[str, tuple],
        inline: tuple[str, str, Any] | None,
    ) -> bool:
        """True when indexing the item would change nothing but the object's last_indexed:
        its file (and annotation file) are vouched for by the stat cache, and the object's
        current path, type and annotation are already these. ``inline`` is the
        (id, text, value) of an annotation the format computed rather than read.

        NOTE: this is what keeps re-indexing a large unchanged location cheap.
        """
        data = item.data
        state = states.get(oid)
        if data is None or state is None or self.merge:
            return False
        if (data.protocol, data.path) not in plan.object_ids:
            return False
        if state[1:] != (data.protocol, data.path, _object_type(data)):
            return False
        if not item.has_annotation:
            return True
        entry = item.annotation_file
        if entry is None:
            return inline is not None and inline[0] == state[0]
        cached = plan.annotation_ids.get((entry.protocol, entry.path))
        return cached is not None and cached == state[0]

    def _cached(self, entries: list[FileEntry], kind: str) -> dict[tuple[str, str], str]:
        """Digests of the entries whose size and mtime match the stat cache."""
        return cached_digests(self.catalog, entries, kind)

    def _object_id(self, entry: FileEntry, plan: _Plan, loaded: LoadResult) -> str:
        key = (entry.protocol, entry.path)
        oid = plan.object_ids.get(key)
        if oid is None:
            oid = loaded.digests[entry.path if entry.protocol == LOCAL else entry.url]
        return oid

    def _is_ephemeral(self, data: FileEntry) -> bool:
        """True for a file outside every storage location (remote ones count as inside
        when core.read_any_cloud_location is set)."""
        if (data.protocol, data.path) in self.named_in_storage:
            return False
        key = (data.protocol, data.parent)
        inside = self._inside_cache.get(key)
        if inside is None:
            inside = find_location(self.locations, data.protocol, data.path) is not None
            self._inside_cache[key] = inside
        return not inside and (data.protocol == LOCAL or not self.read_any_cloud)

    def _stored_entry(self, item: IndexItem, oid: str, known: set[str]) -> FileEntry | None:
        """The path to record for an item: its own, a read-add copy, or none.

        A file outside every storage location whose object is already indexed is used
        as is and leaves no path; an unknown one is copied to read-add storage first.
        """
        data = item.data
        if data is None:
            return None
        if not self._is_ephemeral(data):
            return data
        if oid in known:
            return None
        if self.copier is None:
            location = read_add_location(self.locations)
            if location is None:
                raise StorageError(
                    "Files outside of configured storage locations found, but no read-add "
                    f"storage configured (first: {data.url}). Add a storage location that "
                    "contains them, or a read-add one: ldb add-storage -a true DIR"
                )
            if self.dry_run:
                return data  # where a real run would copy it to read-add storage
            self.copier = ReadAddCopier(location)
            self.result.read_add = location.url
        copy = self.copier.copy(data, self.options(data.protocol, data.path))
        self.result.copied_objects += 1
        if item.annotation_file is not None:
            self.copier.copy(item.annotation_file)
            self.result.copied_annotations += 1
        return copy

    def _file_annotation(
        self,
        item: IndexItem,
        plan: _Plan,
        loaded: LoadResult,
        json_states: list[tuple[str, str, int, int, str]],
        texts: dict[str, str],
    ) -> str:
        """The annotation id of an item's annotation file: from the stat cache, from the
        loader's parse, or (remote files) read here."""
        entry = item.annotation_file
        if entry is None:
            raise IndexingError("An item without an annotation file was read as having one")
        key = (entry.protocol, entry.path)
        cached = plan.annotation_ids.get(key)
        if cached is not None:
            return cached
        aid, text = loaded.annotations[entry.path if entry.protocol == LOCAL else entry.url]
        texts[aid] = text
        if entry.mtime_ns is not None:
            json_states.append((*key, entry.size, entry.mtime_ns, aid))
        return aid

    def _merged(self, old_id: str, new_id: str, new_value: Any, texts: dict[str, str]) -> str:
        """Shallow merge (new keys win) of two JSON objects; anything else is replaced."""
        if old_id == new_id:
            return new_id
        stored = self.catalog.annotation_texts({old_id, new_id} - texts.keys())
        old_value = json.loads(texts.get(old_id) or stored[old_id])
        if new_value is NO_ANNOTATION:
            new_value = json.loads(texts.get(new_id) or stored[new_id])
        if not (isinstance(old_value, dict) and isinstance(new_value, dict)):
            return new_id
        aid, text = self.hasher.annotation_id({**old_value, **new_value})
        texts[aid] = text
        return aid


class _CacheWindow:
    """The stat cache read for CACHE_WINDOW batches at a time, in one query per kind of
    file, rather than one per batch (a server catalog answers one query of 20,000 files
    several times faster than ten of 2,000)."""

    def __init__(self, catalog: CatalogBackend, batches: list[list[IndexItem]]) -> None:
        self.catalog = catalog
        self.batches = batches
        self.window = -1
        self.found: dict[str, dict[tuple[str, str], str]] = {}

    def digests(self, number: int) -> dict[str, dict[tuple[str, str], str]]:
        """kind -> (protocol, path) -> digest, for the files of batch ``number`` (and of
        the batches near it) whose size and mtime match the cache."""
        window = number // CACHE_WINDOW
        if window != self.window:
            items = [
                item
                for batch in self.batches[window * CACHE_WINDOW : (window + 1) * CACHE_WINDOW]
                for item in batch
            ]
            data = [item.data for item in items if item.data is not None]
            annotations = [i.annotation_file for i in items if i.annotation_file is not None]
            self.found = {
                OBJECT_KIND: cached_digests(self.catalog, data, OBJECT_KIND),
                JSON_KIND: cached_digests(self.catalog, annotations, JSON_KIND),
            }
            self.window = window
        return self.found


def _picked(
    found: dict[tuple[str, str], str], entries: list[FileEntry]
) -> dict[tuple[str, str], str]:
    """The part of ``found`` about ``entries``."""
    picked = {}
    for entry in entries:
        key = (entry.protocol, entry.path)
        digest = found.get(key)
        if digest is not None:
            picked[key] = digest
    return picked


@dataclass(slots=True)
class _Counts:
    new_objects: int = 0
    new_annotations: int = 0
    new_paths: int = 0


@dataclass(slots=True)
class _Plan:
    object_ids: dict[tuple[str, str], str]  # from the stat cache
    annotation_ids: dict[tuple[str, str], str]  # from the stat cache
    future: Any  # .get() -> LoadResult


def _batches(items: list[IndexItem]) -> list[list[IndexItem]]:
    """The items in batches of BATCH_SIZE, after a first one of at most FIRST_BATCH."""
    first = min(BATCH_SIZE, FIRST_BATCH)
    rest = range(first, len(items), BATCH_SIZE)
    return [items[:first], *(items[i : i + BATCH_SIZE] for i in rest)] if items else []


def _summaries(texts: dict[str, str], loaded: LoadResult) -> dict[str, str]:
    """The summary of each annotation of ``texts``: those the loader's workers made, and
    the others (from files read here, merged or finalized annotations) made here."""
    ready = loaded.summaries
    summaries = {aid: ready[aid] for aid in texts if aid in ready}
    if len(summaries) < len(texts):
        summaries.update(summaries_of({a: t for a, t in texts.items() if a not in ready}))
    return summaries


def _count_replaced(records: list[ObjectRecord], before: dict[str, tuple]) -> int:
    """Objects of a batch whose current annotation (``before``) changes to another."""
    current = {oid: state[0] for oid, state in before.items()}
    replaced = 0
    for record in records:
        old, new = current.get(record.object_id), record.annotation_id
        if new is not None and old is not None and new != old:
            replaced += 1
        if new is not None:
            current[record.object_id] = new
    return replaced


def _load_error(kind: str, path: str, message: str) -> LdbError:
    if kind == "json":
        return FormatError(f"Unable to read annotation file: {path}: {message}")
    if kind == "vanished":
        return StorageError(f"File vanished before it was read: '{path}'")
    return StorageError(f"Unable to read '{path}': {message}")


def _object_type(entry: FileEntry) -> str:
    return entry.suffix[1:]


def index(
    instance: Instance,
    paths: Sequence[str],
    fmt: str = formats.INDEX_DEFAULT,
    params: dict[str, str] | None = None,
    add_tags: Sequence[str] = (),
    annotation_update: str | None = None,
    ephemeral_remote: bool = False,
    reporter: Reporter | None = None,
    dry_run: bool = False,
) -> IndexResult:
    """Index ``paths`` in format ``fmt`` into the instance's catalog.

    ``annotation_update``: ``merge``, ``replace``, or None (replace, but refuse to
    replace annotations holding labels with ones holding none: ``annotation_guard``).
    ``dry_run``: read and hash as a real run would, write nothing, and report what
    would be found, added and replaced.
    """
    if not dry_run:
        instance.catalog.require_writable()  # before any file is listed or read
    indexer = Indexer(
        instance, reporter, add_tags, annotation_update, ephemeral_remote, dry_run=dry_run
    )
    with cycle_collector_paused():
        return indexer.run(paths, fmt, params)


def unindex(instance: Instance, object_ids: Sequence[str]) -> int:
    """Remove objects from the index; return how many were removed. Objects in saved
    datasets stay (their versions would lose members): naming one is an error."""
    saved = instance.catalog.datasets_containing(object_ids)
    if saved:
        oid, names = next(iter(sorted(saved.items())))
        more = f" (and {len(saved) - 1} more objects)" if len(saved) > 1 else ""
        raise LdbError(
            f"Data object id:{oid} is contained in saved datasets: {', '.join(names)}{more}"
        )
    return instance.catalog.unindex(object_ids)
