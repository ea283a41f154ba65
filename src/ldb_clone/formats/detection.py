"""What several formats' ``detect`` ask of the listings: JSON or data files, the first
JSON document, the names inside a folder.

NOTE: the facts of one set of listings are kept (``_facts``) while auto-detection asks
every format in turn, so the listing is scanned, and the partners of files named alone
are looked up, once rather than once per format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ldb_clone.formats.base import ParseContext, all_entries
from ldb_clone.fs import FileEntry, Listing


@dataclass
class _Facts:
    listings: list[Listing]
    entries: list[FileEntry]
    has_json: bool
    has_data: bool
    names_pairs: bool | None = None


_last: _Facts | None = None


def _facts(listings: list[Listing]) -> _Facts:
    global _last
    if _last is None or _last.listings is not listings:
        entries = all_entries(listings)
        _last = _Facts(
            listings,
            entries,
            has_json=any(e.is_json for e in entries),
            has_data=any(not e.is_json for e in entries),
        )
    return _last


def forget() -> None:
    """Drop the facts kept of the last listings (auto-detection is over)."""
    global _last
    _last = None


def has_json(listings: list[Listing]) -> bool:
    return _facts(listings).has_json


def has_data(listings: list[Listing]) -> bool:
    """Some listed file is not JSON (a data object, or another format's label file)."""
    return _facts(listings).has_data


def json_alone(listings: list[Listing]) -> bool:
    """Only JSON files, and not annotation files named on their own beside their data
    objects: as upstream, ``ldb index cat1.json`` indexes the pair (strict-pairs)."""
    facts = _facts(listings)
    if not facts.has_json or facts.has_data:
        return False
    if facts.names_pairs is None:
        facts.names_pairs = _names_annotations_of_pairs(listings)
    return not facts.names_pairs


def _names_annotations_of_pairs(listings: list[Listing]) -> bool:
    from ldb_clone.formats.pairs.codec import with_partners

    if any(listing.is_dir for listing in listings):
        return False
    return any(not e.is_json for e in with_partners(listings))


def first_json(ctx: ParseContext, listings: list[Listing]) -> Any:
    """The first listed JSON document (there must be one)."""
    return ctx.read_json(next(e for e in _facts(listings).entries if e.is_json))


def names_in(listing: Listing) -> list[str]:
    """The paths of a folder's files relative to it ([] for a file named alone)."""
    if not listing.is_dir:
        return []
    root = listing.root.rstrip("/") + "/"
    return [e.path[len(root) :] for e in listing.entries if e.path.startswith(root)]


class CachedReads:
    """A ParseContext whose ``read_json`` reads each file once: formats asked in turn
    often read the same first document."""

    def __init__(self, ctx: ParseContext) -> None:
        self._ctx = ctx
        self._docs: dict[tuple[str, str], Any] = {}

    def read_json(self, entry: FileEntry) -> Any:
        key = (entry.protocol, entry.path)
        if key not in self._docs:
            self._docs[key] = self._ctx.read_json(entry)
        return self._docs[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)
