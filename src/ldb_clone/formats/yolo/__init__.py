"""yolo: the Ultralytics layout, images/ and labels/ side by side (see ``codec``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone.formats.common_params import CLASS_PARAMS, SPLIT_PARAMS
from ldb_clone.formats.declaration import Format

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.fs import Listing

CODEC = "ldb_clone.formats.yolo.codec"
NAMES_FILES = ("data.yaml", "data.yml", "dataset.yaml", "classes.txt")


def detect(ctx: ParseContext, listings: list[Listing]) -> bool:
    """Folders holding images/, labels/ (text label files) and their class names."""
    return bool(listings) and all(_is_yolo_dataset(listing) for listing in listings)


def _is_yolo_dataset(listing: Listing) -> bool:
    from ldb_clone.formats.detection import names_in

    names = set(names_in(listing))
    has_names = any(n in names for n in NAMES_FILES)
    has_images = any(n.startswith("images/") for n in names)
    has_labels = any(n.startswith("labels/") and n.endswith(".txt") for n in names)
    return has_names and has_images and has_labels


YOLO = Format(
    name="yolo",
    params={**CLASS_PARAMS, **SPLIT_PARAMS},
    parse=f"{CODEC}:parse",
    description="YOLO (Ultralytics): images/ and labels/ (class cx cy w h), data.yaml names.",
    export=f"{CODEC}:export",
    carries=("boxes",),
    detect=detect,
    detect_priority=20,
)
