"""Auto-detection: pick the format a set of listings most likely is in."""

from __future__ import annotations

from ldb_clone.formats.base import ParseContext, all_entries
from ldb_clone.fs import Listing


def detect(ctx: ParseContext, listings: list[Listing]) -> str:
    """A platform dataset folder (annotations.json of a platform document, beside images/):
    platform. No JSON and every data file in a sub-folder: tensorflow-inferred. Only
    JSON: label-studio when it holds Label Studio tasks, else annotation-only. Text files
    whose annotations are text-annotation documents: text. Otherwise strict-pairs."""
    entries = all_entries(listings)
    if listings and all(_is_platform_dataset(ctx, listing) for listing in listings):
        return "platform"
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
    if _is_text(ctx, entries):
        return "text"
    return "strict-pairs"


def _is_platform_dataset(ctx: ParseContext, listing: Listing) -> bool:
    """A folder with annotations.json and images/, whose meta.json (small: read rather
    than annotations.json, which may be large) has a task_type or content_hash, or else
    whose annotations.json is a platform document."""
    root = listing.root.rstrip("/")
    if not listing.is_dir:
        return False
    names = {e.path[len(root) + 1 :]: e for e in listing.entries if e.path.startswith(root)}
    if "annotations.json" not in names or not any(n.startswith("images/") for n in names):
        return False
    meta = ctx.read_json(names["meta.json"]) if "meta.json" in names else None
    if isinstance(meta, dict) and ("task_type" in meta or "content_hash" in meta):
        return True
    doc = ctx.read_json(names["annotations.json"])
    return isinstance(doc, dict) and "task_type" in doc and isinstance(doc.get("images"), list)


def _is_text(ctx: ParseContext, entries: list) -> bool:
    """Every data file is a .txt, and the first annotation file is a text document."""
    data = [e for e in entries if not e.is_json]
    if not data or not all(e.name.endswith(".txt") for e in data):
        return False
    from ldb_clone.formats.text_document import looks_like_document

    first = next((e for e in entries if e.is_json), None)
    return first is not None and looks_like_document(ctx.read_json(first))
