"""annotation-only: JSON records naming their data object by id or path (see ``codec``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone.formats.declaration import Format, Param

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.fs import Listing

CODEC = "ldb_clone.formats.annotation_only.codec"


def detect(ctx: ParseContext, listings: list[Listing]) -> bool:
    """JSON files alone that no other format recognised."""
    from ldb_clone.formats.detection import json_alone

    return json_alone(listings)


ANNOTATION_ONLY = Format(
    name="annotation-only",
    aliases=("annot",),
    params={"single-file": Param("true: every file holds a top-level array of records", "false")},
    parse=f"{CODEC}:parse",
    description="Annotation records naming their data object by id or path.",
    export=f"{CODEC}:export",
    carries=("labels", "boxes", "records"),
    detect=detect,
    detect_priority=80,
    as_written=True,
    counts_read_objects_only=True,
)
