"""voc: Pascal VOC detection, one XML file per image (see ``codec``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone.formats.common_params import CLASS_PARAMS, SPLIT_PARAMS
from ldb_clone.formats.declaration import Format

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.fs import Listing

CODEC = "ldb_clone.formats.voc.codec"


def detect(ctx: ParseContext, listings: list[Listing]) -> bool:
    """Folders holding Annotations/ (XML files) and JPEGImages/."""
    return bool(listings) and all(_is_voc_dataset(listing) for listing in listings)


def _is_voc_dataset(listing: Listing) -> bool:
    from ldb_clone.formats.detection import names_in

    names = names_in(listing)
    has_xml = any(n.startswith("Annotations/") and n.lower().endswith(".xml") for n in names)
    return has_xml and any(n.startswith("JPEGImages/") for n in names)


VOC = Format(
    name="voc",
    # as Datumaro (voc, voc_detection), Roboflow and label-studio-converter name it;
    # the registry also reads "_" as "-"
    aliases=("pascal-voc", "voc-detection"),
    params={**CLASS_PARAMS, **SPLIT_PARAMS},
    parse=f"{CODEC}:parse",
    description="Pascal VOC: Annotations/*.xml (xmin ymin xmax ymax), JPEGImages/, ImageSets/.",
    export=f"{CODEC}:export",
    carries=("boxes",),
    detect=detect,
    detect_priority=30,
)
