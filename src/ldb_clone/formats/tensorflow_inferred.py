"""tensorflow-inferred: labels are the folder names below the indexed folder.

``animals/cat/1.png`` -> ``{"label": "cat"}``; ``animals/cat/tabby/2.png`` ->
``{"label": {"cat": "tabby"}}``. Files directly in the indexed folder need
``-p base-label=NAME``. ``-p label-key=a.b`` nests the label under another key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ldb_clone.errors import FormatError
from ldb_clone.formats.base import Format, IndexItem, ParseContext
from ldb_clone.fs import Listing

DEFAULT_LABEL_KEY = "label"


def label_from_parts(parts: list[str]) -> Any:
    label: Any = parts[-1]
    for part in reversed(parts[:-1]):
        label = {part: label}
    return label


def wrap_label(label: Any, label_key: str) -> dict[str, Any]:
    keys = [k for k in label_key.split(".")]
    if not all(keys):
        raise FormatError(f"Invalid label-key: {label_key!r}")
    value: Any = label
    for key in reversed(keys):
        value = {key: value}
    return value


def check_roots(listings: list[Listing]) -> None:
    for listing in listings:
        if not listing.is_dir:
            raise FormatError(
                f"tensorflow-inferred indexes folders, and '{listing.arg}' is a file; "
                "pass the folder whose sub-folders are the labels"
            )
    roots = sorted({lst.root.rstrip("/") for lst in listings})
    for outer in roots:
        for inner in roots:
            if inner != outer and inner.startswith(outer + "/"):
                raise FormatError(
                    f"Overlapping folders for tensorflow-inferred: '{outer}' contains '{inner}'"
                )


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    check_roots(listings)
    json_files = [e for lst in listings for e in lst.entries if e.is_json]
    if json_files:
        raise FormatError(
            "No annotation files should be present for tensorflow-inferred format: "
            f"found {len(json_files)} JSON file(s), the first is {json_files[0].url}"
        )
    label_key = ctx.params.get("label-key", DEFAULT_LABEL_KEY)
    base_label = ctx.params.get("base-label")
    skipped = 0
    for listing in listings:
        root = listing.root.rstrip("/") + "/"
        for entry in listing.entries:
            parts = entry.path[len(root) :].split("/")[:-1]
            if parts:
                label = label_from_parts(parts)
            elif base_label is not None:
                label = base_label
            else:
                skipped += 1
                continue
            yield IndexItem(data=entry, annotation=wrap_label(label, label_key))
    if skipped:
        ctx.warn(
            f"Skipping {skipped} file(s) found directly in the indexed folder: they have no "
            "label folder. Give them a label with -p base-label=<label>"
        )


TENSORFLOW_INFERRED = Format(
    name="tensorflow-inferred",
    aliases=("infer",),
    params={
        "label-key": "dotted key the label is stored under (default: label)",
        "base-label": "label for files directly in the indexed folder",
    },
    parse=parse,
    description="Class folders: the folder path below the indexed folder is the label.",
)
