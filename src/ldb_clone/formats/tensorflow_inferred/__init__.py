"""tensorflow-inferred: the folder path below the indexed folder is the label (see
``codec``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone.formats.declaration import Format, Param

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.fs import Listing

CODEC = "ldb_clone.formats.tensorflow_inferred.codec"
DEFAULT_LABEL_KEY = "label"


def detect(ctx: ParseContext, listings: list[Listing]) -> bool:
    """No JSON, and every data file in a sub-folder of an indexed folder."""
    from ldb_clone.formats.detection import has_data, has_json

    if has_json(listings) or not has_data(listings):
        return False
    return all(
        listing.is_dir
        and all("/" in e.path[len(listing.root.rstrip("/")) + 1 :] for e in listing.entries)
        for listing in listings
    )


TENSORFLOW_INFERRED = Format(
    name="tensorflow-inferred",
    aliases=("infer",),
    params={
        "label-key": Param("dotted key the label is stored under", DEFAULT_LABEL_KEY),
        "base-label": Param("label for files directly in the indexed folder (default: none)"),
    },
    parse=f"{CODEC}:parse",
    description="Class folders: the folder path below the indexed folder is the label.",
    export=f"{CODEC}:export",
    carries=("labels",),
    detect=detect,
    detect_priority=40,
    leading_blank_line=True,
)
