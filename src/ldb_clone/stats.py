"""``ldb stats``: what a selection holds, counted.

``selection_stats`` counts the members of a selection: objects, labelled and unlabelled
ones, labels, boxes, entities, relations, splits, boxes per image, annotation versions,
tags, file types and bytes. ``SelectionStats.to_json`` gives the documented keys.

NOTE: the members are grouped by annotation id, and each distinct annotation's summary
(``formats.summary``) is read from the catalog, where it is stored the first time it is
computed; members are then grouped by summary text, so a million objects cost a few
thousand summary parses. Files are counted by SQL ``GROUP BY``.
"""

from __future__ import annotations

import os
from collections import Counter, deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ldb_clone.instance import Instance
from ldb_clone.selection import Member

# the layout of stored summaries: [label, boxes, entities, relations, split, unlabelled];
# bump it when summarize() or that layout changes, and stored summaries are recomputed
SUMMARY_KIND = 1
BATCH = 5000  # annotations summarised per catalog round trip
POOL_MIN_BATCHES = 8  # from this many batches on, a pool of processes summarises them


@dataclass(slots=True)
class SelectionStats:
    objects: int = 0
    annotated: int = 0  # objects with an annotation
    unlabelled_annotations: int = 0  # annotations their format declares unlabelled
    labels: Counter = field(default_factory=Counter)
    boxes: Counter = field(default_factory=Counter)
    entities: Counter = field(default_factory=Counter)
    relations: Counter = field(default_factory=Counter)
    splits: Counter = field(default_factory=Counter)
    boxes_per_image: Counter = field(default_factory=Counter)  # box count -> objects
    annotation_versions: Counter = field(default_factory=Counter)
    tags: Counter = field(default_factory=Counter)
    file_types: Counter = field(default_factory=Counter)
    bytes: int = 0

    @property
    def labelled(self) -> int:
        return self.annotated - self.unlabelled_annotations

    @property
    def unlabelled(self) -> int:
        return self.objects - self.labelled

    def box_spread(self) -> dict[str, float | None]:
        """min, median and max boxes per image over the objects whose annotation has a
        box list (None when none has)."""
        if not self.boxes_per_image:
            return {"min": None, "median": None, "max": None}
        return {
            "min": min(self.boxes_per_image),
            "median": weighted_median(self.boxes_per_image),
            "max": max(self.boxes_per_image),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "annotated": self.annotated,
            "labelled": self.labelled,
            "unlabelled": self.unlabelled,
            "labels": _sorted(self.labels),
            "boxes": _sorted(self.boxes),
            "entities": _sorted(self.entities),
            "relations": _sorted(self.relations),
            "splits": _sorted(self.splits),
            "boxes_per_image": self.box_spread(),
            "annotation_versions": {
                str(v): n for v, n in sorted(self.annotation_versions.items(), key=_version_key)
            },
            "tags": _sorted(self.tags),
            "file_types": _sorted(self.file_types),
            "bytes": self.bytes,
        }


def _version_key(item: tuple[Any, int]) -> tuple[int, int]:
    version = item[0]
    return (0, version) if isinstance(version, int) else (1, 0)


def _sorted(counts: Counter) -> dict[str, int]:
    """Most frequent first, ties by name (the order tables and charts show)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], str(item[0]))))


def weighted_median(counts: Counter) -> float:
    """The median of a distribution given as value -> how many times it occurs."""
    total = sum(counts.values())
    values = sorted(counts)
    middle = [(total - 1) // 2, total // 2]
    found, seen = [], 0
    for value in values:
        seen += counts[value]
        while middle and middle[0] < seen:
            found.append(value)
            middle.pop(0)
    return (found[0] + found[1]) / 2


def selection_stats(instance: Instance, members: Sequence[Member]) -> SelectionStats:
    """Count what the members hold (see the module docstring)."""
    from ldb_clone.views import with_versions

    stats = SelectionStats(objects=len(members))
    members = with_versions(instance, members)
    by_annotation = Counter(m.annotation_id for m in members if m.annotation_id)
    stats.annotated = sum(by_annotation.values())
    stats.annotation_versions.update(m.version for m in members if m.annotation_id)
    texts = summary_texts(instance, by_annotation.keys())
    by_summary: Counter = Counter()
    for aid, count in by_annotation.items():
        if aid in texts:  # every annotation a member names is stored; never fail on one
            by_summary[texts[aid]] += count
    _count_summaries(stats, by_summary)
    everything = len(members) == instance.catalog.count_objects()
    ids = None if everything else [m.object_id for m in members]
    _count_files(instance, stats, ids)
    return stats


def root_stats(instance: Instance) -> SelectionStats:
    """``selection_stats`` of ``ds:root`` (every object, its current annotation), counted
    by SQL ``GROUP BY`` over the stored summaries without loading a member list."""
    catalog = instance.catalog
    if catalog.read_only:  # summaries cannot be kept: count the members in Python
        from ldb_clone.selection import select_members

        return selection_stats(instance, select_members(instance, ["ds:root"]))
    rows = catalog.current_summary_counts(SUMMARY_KIND)
    if any(text is None and annotated for text, annotated, _ in rows):
        summary_texts(instance, catalog.current_annotations_without_summary(SUMMARY_KIND))
        rows = catalog.current_summary_counts(SUMMARY_KIND)
    stats = SelectionStats()
    by_summary: Counter = Counter()
    for text, annotated, count in rows:
        stats.objects += count
        stats.annotated += count if annotated else 0
        if text is not None:
            by_summary[text] += count
    _count_summaries(stats, by_summary)
    stats.annotation_versions.update(catalog.current_version_counts())
    _count_files(instance, stats, None)
    return stats


def stats_of(
    instance: Instance, sources: Sequence[str], filters: Sequence[Any], warn: Any = None
) -> SelectionStats:
    """The stats of what the sources and filters select (as ``ldb list`` selects)."""
    from ldb_clone.filters import select_filtered
    from ldb_clone.selection import ROOT

    if list(sources) == [ROOT] and not filters:
        return root_stats(instance)
    return selection_stats(instance, select_filtered(instance, sources, filters, warn))


def _count_files(instance: Instance, stats: SelectionStats, ids: list[str] | None) -> None:
    for file_type, count, size in instance.catalog.file_type_counts(ids):
        stats.file_types[file_type or "(none)"] += count
        stats.bytes += size
    stats.tags.update(instance.catalog.tag_counts(ids))


def _count_summaries(stats: SelectionStats, by_summary: Counter) -> None:
    import orjson

    for text, count in by_summary.items():
        label, boxes, entities, relations, split, unlabelled = orjson.loads(text)
        if unlabelled:
            stats.unlabelled_annotations += count
        if label is not None:
            stats.labels[label] += count
        if split is not None:
            stats.splits[split] += count
        if boxes is not None:
            stats.boxes_per_image[len(boxes)] += count
            for box in boxes:
                stats.boxes[box] += count
        for entity in entities:
            stats.entities[entity] += count
        for relation in relations:
            stats.relations[relation] += count


def summary_texts(instance: Instance, annotation_ids: Collection[str]) -> dict[str, str]:
    """annotation id -> its summary text; those not stored yet are computed and stored."""
    catalog = instance.catalog
    ids = set(annotation_ids)
    texts = catalog.annotation_summaries(ids, SUMMARY_KIND)
    missing = ids - texts.keys()
    rows = catalog.annotation_values_flagged(missing, _unlabelled())
    for computed in _summarised_batches(_chunks(rows, BATCH), -(-len(missing) // BATCH)):
        catalog.store_annotation_summaries(computed, SUMMARY_KIND)
        texts.update(computed)
    return texts


def keep_summaries(catalog: Any, texts: dict[str, str]) -> None:
    """Summarise annotations as they are stored (``ldb index``, ``ldb migrate``: annotation
    id -> canonical JSON), so that the first ``ldb stats`` of a large catalog reads stored
    summaries instead of parsing every annotation. Called inside the storing transaction."""
    if not catalog.read_only:
        store_summaries(catalog, summaries_of(texts))


def store_summaries(catalog: Any, summaries: dict[str, str]) -> None:
    """Store what ``summaries_of`` computed (inside the transaction storing the texts)."""
    if summaries:
        catalog.store_annotation_summaries(summaries, SUMMARY_KIND)


def summaries_of(texts: dict[str, str]) -> dict[str, str]:
    """The stored summary of each annotation (id -> canonical JSON) about to be stored."""
    if not texts:
        return {}
    from ldb_clone.catalog.predicates import evaluate, required_keys

    flag = _unlabelled()
    # NOTE: most annotations hold none of the keys a format's "not labelled yet" rule
    # looks at: those are not evaluated (a third of this function's time on COCO data)
    keys = required_keys(flag) if flag is not None else frozenset()
    computed = {}
    for aid, text in texts.items():
        value = _parse(text)
        unlabelled = (
            flag is not None
            and (keys is None or (isinstance(value, dict) and not keys.isdisjoint(value)))
            and evaluate(flag, value)
        )
        computed[aid] = _summary_text(value, unlabelled)
    return computed


def _summary_text(value: Any, unlabelled: bool) -> str:
    """The stored summary of a parsed annotation, in the SUMMARY_KIND layout."""
    import orjson

    from ldb_clone.formats.summary import summarize

    return orjson.dumps([*summarize(value).to_list(), bool(unlabelled)]).decode()


def _parse(text: str) -> Any:
    from ldb_clone.strict_json import parse_stored

    return parse_stored(text)


def _summarised_batches(batches: Iterable[list], count: int) -> Iterator[dict[str, str]]:
    """Each batch of (id, JSON text, unlabelled) rows as {id: summary text}.

    NOTE: parsing is the cost of a first count (about 10 us an annotation); many batches
    are spread over a pool of processes while this one reads the catalog and stores."""
    if count < POOL_MIN_BATCHES or (os.cpu_count() or 1) == 1:
        yield from (_summarise_batch(batch) for batch in batches)
        return
    from concurrent.futures import ProcessPoolExecutor

    workers = os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        for batch in batches:  # at most two batches a worker read ahead, in memory
            pending.append(pool.submit(_summarise_batch, batch))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _chunks(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _summarise_batch(rows: list[tuple[str, str, Any]]) -> dict[str, str]:
    return dict(_summarise(rows))


def _unlabelled():
    from ldb_clone.formats import unlabelled_predicate

    return unlabelled_predicate()


def _summarise(rows: Iterable[tuple[str, str, Any]]) -> Iterable[tuple[str, str]]:
    for aid, value, unlabelled in rows:
        yield aid, _summary_text(_parse(value), unlabelled)
