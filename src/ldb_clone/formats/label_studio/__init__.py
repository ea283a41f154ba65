"""label-studio: Label Studio JSON and JSON_MIN exports, each task one object's annotation.

Parsing and export are in ``codec``; the labelling config in ``config``; JSON_MIN records
in ``json_min``; tasks written as predictions in ``predictions``; object URLs in ``urls``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldb_clone.catalog.predicates import (
    AllOf,
    AnyOf,
    FieldEquals,
    FieldType,
    HasField,
    NoElement,
    Not,
)
from ldb_clone.formats.declaration import Format

if TYPE_CHECKING:
    from ldb_clone.formats.base import ParseContext
    from ldb_clone.fs import Listing

CODEC = "ldb_clone.formats.label_studio.codec"
LOCAL_FILES_ROOT = "local-files-root"
URL_PREFIX = "url-prefix"
LOCAL_FILES_URL = "/data/local-files/?d="
URL_PARAMS = {
    LOCAL_FILES_ROOT: "Label Studio's local-files document root (LABEL_STUDIO_LOCAL_FILES_"
    f"DOCUMENT_ROOT) as a local folder: {LOCAL_FILES_URL}PATH stands for DIR/PATH "
    "(instantiate writes such URLs for local objects below it, index reads them)",
    URL_PREFIX: "a URL Label Studio fetches objects from: URL + PATH stands for PATH below "
    "a storage location (instantiate writes such URLs, index reads them)",
}
AS = "as"
MODEL_VERSION = "model-version"
ANNOTATIONS = "annotations"
PREDICTIONS = "predictions"
DEFAULT_MODEL_VERSION = "ldb"

PREDICTION_PARAMS = {
    AS: f"{ANNOTATIONS} (default: finished labels) or {PREDICTIONS} (pre-annotations for "
    "labellers to check, with score from the confidence)",
    MODEL_VERSION: f"the predictions' model_version (with -p {AS}={PREDICTIONS}; default "
    f"{DEFAULT_MODEL_VERSION})",
}

# What the exporter asks, in order, before it requires a Label Studio task:
# "module:function" (imported on first use), each (ExportContext, ExportItem) -> the
# task made of an annotation of another format, or None when it is not one.
CONVERTERS: list[str] = [
    "ldb_clone.formats.text.codec:to_label_studio_task",
    "ldb_clone.formats.convert:to_label_studio_task",  # labels and boxes (formats.shapes)
]


def detect(ctx: ParseContext, listings: list[Listing]) -> bool:
    """JSON files alone, the first of them Label Studio tasks."""
    from ldb_clone.formats.detection import first_json, json_alone
    from ldb_clone.formats.label_studio.codec import looks_like_label_studio

    return json_alone(listings) and looks_like_label_studio(first_json(ctx, listings))


LABEL_STUDIO = Format(
    name="label-studio",
    params={**URL_PARAMS, **PREDICTION_PARAMS},
    parse=f"{CODEC}:parse",
    description="A Label Studio JSON or JSON_MIN export: each task one object's annotation.",
    export=f"{CODEC}:export",
    carries=("labels", "boxes", "spans"),
    detect=detect,
    detect_priority=60,
    # a task whose annotations list holds none that was not cancelled (sent to Label
    # Studio unlabelled, or skipped there); was_cancelled missing, null, false or 0 is
    # not cancelled
    unlabelled=AllOf(
        (
            FieldType(("data",), "object"),
            FieldType(("annotations",), "array"),
            NoElement(
                ("annotations",),
                AllOf(
                    (
                        FieldType((), "object"),
                        AnyOf(
                            (
                                Not(HasField(("was_cancelled",))),
                                FieldType(("was_cancelled",), "null"),
                                FieldEquals(("was_cancelled",), False),
                                FieldEquals(("was_cancelled",), 0),
                            )
                        ),
                    )
                ),
            ),
        )
    ),
    merges=False,  # a task's annotations list is replaced, never merged key by key
    export_progress_bar=False,  # upstream writes one file, without a progress bar
)
