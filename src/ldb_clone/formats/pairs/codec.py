"""strict-pairs and bare-pairs: data files with a same-named ``.json`` beside them."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ldb_clone.formats.base import IndexItem, ParseContext, all_entries
from ldb_clone.formats.exporting import (
    ExportContext,
    ExportItem,
    ExportPlan,
    ItemOutput,
    OutFile,
    dump_annotation,
)
from ldb_clone.fs import LOCAL, FileEntry, Listing, folder_names, sibling_entry


def stem_key(entry: FileEntry) -> tuple[str, str]:
    """(protocol, path without its last extension): ``a/b.tar.gz`` -> ``a/b.tar``."""
    path = entry.path
    dot = path.rfind(".")
    # NOTE: by hand rather than os.path.splitext, which costs a third of pairing time;
    # same rule: the dot must be in the file name and not lead it.
    if dot > path.rfind("/") + 1:
        return entry.protocol, path[:dot]
    return entry.protocol, path


def with_partners(listings: list[Listing]) -> list[FileEntry]:
    """All listed files, plus the partner of each file named on its own.

    A data file named alone pulls in its annotation, and an annotation named alone
    pulls in its data files, so ``ldb index a.png`` indexes the pair.

    NOTE: a data file's partner is one name, looked up directly; an annotation's are found
    in its folder's names, listed once per folder, so that ``ldb index *.png`` in a folder
    of 20,000 files reads the folder once, not once per file.
    """
    entries = all_entries(listings)
    if all(listing.is_dir for listing in listings):
        return entries
    seen = {(e.protocol, e.path) for e in entries}
    stems_by_folder: dict[str, dict[str, list[str]]] = {}
    extra = []
    for listing in listings:
        if listing.is_dir:
            continue
        entry = listing.entries[0]
        stem = os.path.splitext(entry.name)[0]
        if entry.is_json:
            stems = stems_by_folder.get(entry.parent)
            if stems is None:
                stems = stems_by_folder[entry.parent] = _names_by_stem(entry)
            candidates = [n for n in stems.get(stem, ()) if not n.endswith(".json")]
        else:
            candidates = [stem + ".json"]
        for name in candidates:
            if (entry.protocol, f"{entry.parent}/{name}") in seen:
                continue
            sibling = sibling_entry(entry, name, listing.bounds)
            if sibling is not None:
                seen.add((sibling.protocol, sibling.path))
                extra.append(sibling)
    return entries + extra


def _names_by_stem(entry: FileEntry) -> dict[str, list[str]]:
    """The names in a local entry's folder by stem (none for other protocols)."""
    if entry.protocol != LOCAL:
        return {}
    stems: dict[str, list[str]] = {}
    for name in sorted(folder_names(entry.parent)):
        stems.setdefault(os.path.splitext(name)[0], []).append(name)
    return stems


def split_pairs(entries: list[FileEntry]) -> tuple[list[tuple[FileEntry, FileEntry | None]], int]:
    """(data file, its annotation file or None) for every data file; and the lone JSON count."""
    annotations = {stem_key(e): e for e in entries if e.is_json}
    pairs = []
    used = set()
    for entry in entries:
        if entry.is_json:
            continue
        key = stem_key(entry)
        annotation = annotations.get(key)
        if annotation is not None:
            used.add(key)
        pairs.append((entry, annotation))
    return pairs, len(annotations) - len(used)


def _parse(ctx: ParseContext, listings: list[Listing], keep_bare: bool) -> Iterator[IndexItem]:
    pairs, _ = split_pairs(with_partners(listings))
    skipped = 0
    for data, annotation in pairs:
        if annotation is None and not keep_bare:
            skipped += 1
            continue
        yield IndexItem(data=data, annotation_file=annotation)
    if skipped:
        ctx.note_unpaired(skipped)


def parse_strict(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    return _parse(ctx, listings, keep_bare=False)


def parse_bare(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    return _parse(ctx, listings, keep_bare=True)


def _export(ctx: ExportContext, items: list[ExportItem], keep_bare: bool) -> ExportPlan:
    plan = ExportPlan()
    for item in items:
        if not (item.has_annotation or keep_bare):
            continue
        base, ext = ctx.base_name(item)
        files = []
        if not ctx.annotations_only:
            files.append(OutFile(base + ext, item=item))
            plan.data_objects += 1
        if item.has_annotation:
            files.append(OutFile(base + ".json", dump_annotation(item.annotation)))
            plan.annotations += 1
        plan.items.append(ItemOutput(item, files, os.path.dirname(base)))
    return plan


def export_strict(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    return _export(ctx, items, keep_bare=False)


def export_bare(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    return _export(ctx, items, keep_bare=True)
