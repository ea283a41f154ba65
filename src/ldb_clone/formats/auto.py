"""Auto-detection: pick the format a set of listings most likely is in."""

from __future__ import annotations

from ldb_clone.formats.base import ParseContext, all_entries
from ldb_clone.fs import Listing


def detect(ctx: ParseContext, listings: list[Listing]) -> str:
    """A platform dataset folder (annotations.json of a platform document, beside images/):
    platform. A folder with images/, labels/ and data.yaml (or classes.txt): yolo. One with
    Annotations/*.xml and JPEGImages/: voc. No JSON and every data file in a sub-folder:
    tensorflow-inferred. Only JSON: text for a Label Studio export of texts, label-studio
    when it holds other Label Studio tasks, coco for COCO documents, else annotation-only.
    Text files whose annotations are text-annotation documents: text. JSON files named on
    their own beside their data objects: strict-pairs. A COCO file at the top of a folder
    of images: coco. Otherwise strict-pairs."""
    entries = all_entries(listings)
    if listings and all(_is_platform_dataset(ctx, listing) for listing in listings):
        return "platform"
    if listings and all(_is_yolo_dataset(listing) for listing in listings):
        return "yolo"
    if listings and all(_is_voc_dataset(listing) for listing in listings):
        return "voc"
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
    if has_json and not has_data and _names_annotations_of_pairs(listings):
        return "strict-pairs"
    if has_json and not has_data:
        from ldb_clone.formats.label_studio import is_text_export, looks_like_label_studio

        first = next(e for e in entries if e.is_json)
        doc = ctx.read_json(first)
        if is_text_export(doc):
            return "text"
        if looks_like_label_studio(doc):
            return "label-studio"
        if _looks_like_coco(doc):
            return "coco"
        return "annotation-only"
    if _is_text(ctx, entries):
        return "text"
    if _is_coco_folder(ctx, listings):
        return "coco"
    return "strict-pairs"


def _names_annotations_of_pairs(listings: list[Listing]) -> bool:
    """JSON files named on their own (a file or a glob) with a data object beside them:
    as upstream, ``ldb index cat1.json`` indexes the pair, not an annotation-only record."""
    from ldb_clone.formats.pairs import with_partners

    if any(listing.is_dir for listing in listings):
        return False
    return any(not e.is_json for e in with_partners(listings))


def _looks_like_coco(doc: object) -> bool:
    return isinstance(doc, dict) and all(
        isinstance(doc.get(key), list) for key in ("images", "annotations", "categories")
    )


def _is_coco_folder(ctx: ParseContext, listings: list[Listing]) -> bool:
    """Folders whose few JSON files sit at their top and are COCO documents, with every
    image in a folder below (a COCO file beside its image folder).

    NOTE: decided from the listing before any file is read, so that folders of pairs
    (data files at the top) cost no read: re-indexing them stays free."""
    if listings and all(_is_standard_coco(listing) for listing in listings):
        return True
    for listing in listings:
        root = listing.root.rstrip("/")
        docs = [e for e in listing.entries if e.is_json]
        data_at_top = any(not e.is_json and e.parent == root for e in listing.entries)
        if not listing.is_dir or not docs or len(docs) > 8 or data_at_top:
            return False
        if any(e.parent != root for e in docs):
            return False
    return all(
        _looks_like_coco(ctx.read_json(next(e for e in listing.entries if e.is_json)))
        for listing in listings
    )


def _is_standard_coco(listing: Listing) -> bool:
    """COCO's standard layout: annotations/instances_<subset>.json beside images/."""
    from ldb_clone.formats.coco import instances_subset

    if not listing.is_dir:
        return False
    root = listing.root.rstrip("/") + "/"
    names = [e.path[len(root) :] for e in listing.entries if e.path.startswith(root)]
    return any(n.startswith("images/") for n in names) and any(
        instances_subset(n) is not None for n in names if n.count("/") == 1
    )


def _is_yolo_dataset(listing: Listing) -> bool:
    """A folder holding images/ and labels/ (text label files) and its class names."""
    if not listing.is_dir:
        return False
    root = listing.root.rstrip("/") + "/"
    names = {e.path[len(root) :] for e in listing.entries if e.path.startswith(root)}
    has_names = any(n in names for n in ("data.yaml", "data.yml", "dataset.yaml", "classes.txt"))
    has_images = any(n.startswith("images/") for n in names)
    has_labels = any(n.startswith("labels/") and n.endswith(".txt") for n in names)
    return has_names and has_images and has_labels


def _is_voc_dataset(listing: Listing) -> bool:
    """A folder holding Annotations/ (XML files) and JPEGImages/."""
    if not listing.is_dir:
        return False
    root = listing.root.rstrip("/") + "/"
    names = [e.path[len(root) :] for e in listing.entries if e.path.startswith(root)]
    has_xml = any(n.startswith("Annotations/") and n.lower().endswith(".xml") for n in names)
    return has_xml and any(n.startswith("JPEGImages/") for n in names)


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
