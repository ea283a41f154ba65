"""platform: a labelling platform's dataset folder (see ``codec``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone.catalog.predicates import AllOf, AnyOf, EmptyArray, FieldEquals, FieldType
from ldb_clone.formats.declaration import Format, Param

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.fs import Listing

CODEC = "ldb_clone.formats.platform.codec"
TASK_TYPE_PARAM = "task-type"


def detect(ctx: ParseContext, listings: list[Listing]) -> bool:
    """Folders with annotations.json and images/, whose meta.json (small: read rather than
    annotations.json, which may be large) has a task_type or content_hash, or else whose
    annotations.json is a platform document."""
    return bool(listings) and all(_is_platform_dataset(ctx, listing) for listing in listings)


def _is_platform_dataset(ctx: ParseContext, listing: Listing) -> bool:
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


PLATFORM = Format(
    name="platform",
    aliases=("platform-dataset",),
    params={
        "reread": Param(
            "true: read annotations.json even when meta.json's hash is unchanged", "false"
        ),
        TASK_TYPE_PARAM: Param(
            "image_classification or object_detection: what annotations of other formats are "
            "converted to (default: detection when some have boxes)"
        ),
    },
    parse=f"{CODEC}:parse",
    description="A labelling platform's dataset folder: annotations.json, meta.json, images/.",
    export=f"{CODEC}:export",
    carries=("labels", "boxes"),
    detect=detect,
    detect_priority=10,
    # an image record not labelled yet: classification with a null annotation, or
    # detection with an empty annotations list
    unlabelled=AnyOf(
        (
            AllOf(
                (
                    FieldEquals(("task_type",), "image_classification"),
                    FieldType(("annotation",), "null"),
                )
            ),
            AllOf((FieldEquals(("task_type",), "object_detection"), EmptyArray(("annotations",)))),
        )
    ),
)
