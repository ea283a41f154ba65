"""Auto-detection: pick the format a set of listings most likely is in."""

from __future__ import annotations

from ldb_clone.formats.base import ParseContext, all_entries
from ldb_clone.fs import Listing


def detect(ctx: ParseContext, listings: list[Listing]) -> str:
    """No JSON and every data file in a sub-folder: tensorflow-inferred. Only JSON:
    label-studio when it holds Label Studio tasks, else annotation-only. Otherwise
    strict-pairs."""
    entries = all_entries(listings)
    has_json = any(e.is_json for e in entries)
    has_data = any(not e.is_json for e in entries)
    if has_data and not has_json:
        in_subfolders = all(
            listing.is_dir
            and all("/" in e.path[len(listing.root.rstrip("/")) + 1 :] for e in listing.entries)
            for listing in listings
        )
        if in_subfolders:
            return "tensorflow-inferred"
        return "strict-pairs"
    if has_json and not has_data:
        from ldb_clone.formats.label_studio import looks_like_label_studio

        first = next(e for e in entries if e.is_json)
        if looks_like_label_studio(ctx.read_json(first)):
            return "label-studio"
        return "annotation-only"
    return "strict-pairs"
