"""text: ``<name>.txt`` texts with a text-annotator document (``<name>.json``) beside each.

Parsing and export are in ``codec``; the document's checks in ``document``; conversion
to and from Label Studio text tasks in ``label_studio``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone.catalog.predicates import AllOf, EmptyArray, FieldType, NoElement, Not
from ldb_clone.formats.declaration import Format, Param
from ldb_clone.formats.label_studio import URL_PARAMS

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.fs import Listing

CODEC = "ldb_clone.formats.text.codec"
TEXT_SUFFIX = ".txt"
STRICT_OFFSETS = "strict-offsets"


def detect(ctx: ParseContext, listings: list[Listing]) -> bool:
    """JSON files alone that are a Label Studio export of texts; or .txt data files only,
    whose first annotation file is a text document."""
    from ldb_clone.formats.detection import first_json, has_data, has_json, json_alone

    if not has_json(listings):
        return False
    if not has_data(listings):
        from ldb_clone.formats.label_studio.codec import is_text_export

        return json_alone(listings) and is_text_export(first_json(ctx, listings))
    return _is_text(ctx, listings)


def _is_text(ctx: ParseContext, listings: list[Listing]) -> bool:
    from ldb_clone.formats.base import all_entries
    from ldb_clone.formats.detection import first_json
    from ldb_clone.formats.text.document import looks_like_document

    data = [e for e in all_entries(listings) if not e.is_json]
    if not all(e.name.endswith(TEXT_SUFFIX) for e in data):
        return False
    return looks_like_document(first_json(ctx, listings))


TEXT = Format(
    name="text",
    aliases=("text-annotation",),
    params={
        STRICT_OFFSETS: Param(
            "true: an entity whose covered text differs from its content is an error (false: "
            "a warning)",
            "false",
        ),
        **URL_PARAMS,
    },
    parse=f"{CODEC}:parse",
    description="<name>.txt texts with a text-annotator document (<name>.json) beside each.",
    export=f"{CODEC}:export",
    carries=("labels", "spans"),
    detect=detect,
    detect_priority=50,
    # a document with no annotation under any key (a text task that came back from
    # Label Studio without annotations)
    unlabelled=AllOf(
        (
            FieldType(("annotationsData",), "object"),
            FieldType(("annotations",), "object"),
            NoElement(("annotations",), Not(EmptyArray(()))),
        )
    ),
)
