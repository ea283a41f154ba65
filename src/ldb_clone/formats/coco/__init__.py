"""coco: COCO detection/segmentation JSON documents beside their images. Parsing and
export are in ``codec``, the fast structural check of a document in ``check``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone.formats.common_params import CLASS_PARAMS, SPLIT_PARAMS
from ldb_clone.formats.declaration import Format, Param

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.fs import Listing

CODEC = "ldb_clone.formats.coco.codec"
IMAGES_PARAM = "images"
LAYOUT_PARAM = "layout"
STANDARD = "standard"  # annotations/instances_<subset>.json + images/<subset>/
SINGLE_FILE = "single-file"  # annotations.json + images/


def detect(ctx: ParseContext, listings: list[Listing]) -> bool:
    """JSON files alone whose first is a COCO document; or folders holding a COCO file
    at their top beside a folder of images (see ``_is_coco_folder``)."""
    from ldb_clone.formats.detection import first_json, has_data, has_json, json_alone

    if has_json(listings) and not has_data(listings):
        return json_alone(listings) and looks_like_coco(first_json(ctx, listings))
    return has_json(listings) == has_data(listings) and _is_coco_folder(ctx, listings)


def looks_like_coco(doc: object) -> bool:
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
        looks_like_coco(ctx.read_json(next(e for e in listing.entries if e.is_json)))
        for listing in listings
    )


def _is_standard_coco(listing: Listing) -> bool:
    """COCO's standard layout: annotations/instances_<subset>.json beside images/."""
    from ldb_clone.formats.coco.codec import instances_subset
    from ldb_clone.formats.detection import names_in

    names = names_in(listing)
    return any(n.startswith("images/") for n in names) and any(
        instances_subset(n) is not None for n in names if n.count("/") == 1
    )


COCO = Format(
    name="coco",
    params={
        IMAGES_PARAM: "folder holding the images (default: beside the COCO file, or its images/)",
        LAYOUT_PARAM: Param(
            f"instantiate: {STANDARD} (annotations/instances_<split>.json, images/<split>/) "
            f"or {SINGLE_FILE} (annotations.json, images/)",
            STANDARD,
        ),
        **CLASS_PARAMS,
        **SPLIT_PARAMS,
    },
    parse=f"{CODEC}:parse",
    description="A COCO detection/segmentation JSON (images, annotations, categories), images.",
    export=f"{CODEC}:export",
    carries=("boxes", "masks"),
    detect=detect,
    detect_priority=70,
)
