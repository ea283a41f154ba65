"""Auto-detection: ask every registered format whether it recognises the listings.

Formats are asked in ascending ``detect_priority`` (then registration order) and the
first that says yes is chosen. The built-in order: platform, yolo and voc folders (their
layout is unmistakable); tensorflow-inferred (data files only, all in sub-folders); text
(a Label Studio export of texts, or .txt files with text documents); label-studio (JSON
files alone holding other tasks); coco (JSON files alone holding COCO documents, or a
COCO file at the top of a folder of images); annotation-only (other JSON files alone);
and strict-pairs, which takes whatever is left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone import formats
from ldb_clone.errors import FormatError
from ldb_clone.formats import detection

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.formats.declaration import Format
    from ldb_clone.fs import Listing


def detect_format(ctx: ParseContext, listings: list[Listing]) -> Format:
    """The format the listings are most likely in."""
    candidates = [fmt for fmt in formats.all_formats() if fmt.detect is not None]
    candidates.sort(key=lambda fmt: fmt.detect_priority)  # stable: registration order
    cached = detection.CachedReads(ctx)
    try:
        for fmt in candidates:
            if fmt.detect(cached, listings):
                return fmt
    finally:
        detection.forget()
    raise FormatError("No format recognises these files; name one with --format")


def detect(ctx: ParseContext, listings: list[Listing]) -> str:
    """The name of the format the listings are most likely in."""
    return detect_format(ctx, listings).name
