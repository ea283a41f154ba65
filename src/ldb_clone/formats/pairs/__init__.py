"""strict-pairs and bare-pairs (upstream LDB's own formats): each data file with a
same-named ``.json`` annotation beside it. Parsing and export are in ``codec``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone.formats.declaration import Format

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.fs import Listing

CODEC = "ldb_clone.formats.pairs.codec"


def detect_strict(ctx: ParseContext, listings: list[Listing]) -> bool:
    """Whatever no other format recognises: auto-detection's last resort."""
    return True


STRICT_PAIRS = Format(
    name="strict-pairs",
    aliases=("strict",),
    parse=f"{CODEC}:parse_strict",
    description="Data files with a same-named .json annotation beside them; lone files skipped.",
    export=f"{CODEC}:export_strict",
    carries=("labels", "boxes", "records"),
    detect=detect_strict,
    detect_priority=1000,
    as_written=True,
)
BARE_PAIRS = Format(
    name="bare-pairs",
    aliases=("bare",),
    parse=f"{CODEC}:parse_bare",
    description="Like strict-pairs, and data files without an annotation are indexed too.",
    export=f"{CODEC}:export_bare",
    carries=("labels", "boxes", "records"),
    as_written=True,
)
