"""tensorflow-inferred: labels are the folder names below the indexed folder.

``animals/cat/1.png`` -> ``{"label": "cat"}``; ``animals/cat/tabby/2.png`` ->
``{"label": {"cat": "tabby"}}``. Files directly in the indexed folder need
``-p base-label=NAME``. ``-p label-key=a.b`` nests the label under another key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ldb_clone.errors import FormatError
from ldb_clone.formats.base import IndexItem, ParseContext
from ldb_clone.formats.exporting import (
    ExportContext,
    ExportItem,
    ExportPlan,
    ItemOutput,
    OutFile,
    safe_component,
)
from ldb_clone.formats.tensorflow_inferred import DEFAULT_LABEL_KEY
from ldb_clone.fs import Listing


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


def label_folders(annotation: Any, label_key: str, base_label: str | None, oid: str) -> list[str]:
    """The folders an object's label puts it in: ``{"label": {"cat": "tabby"}}`` ->
    ``["cat", "tabby"]``; the base label -> ``[]`` (the target itself).

    Every folder name is checked: a label such as ``../x``, ``/etc`` or ``""`` is refused
    with an error naming the object rather than written anywhere.
    """
    value = annotation
    for key in label_key.split("."):
        if not isinstance(value, dict) or key not in value:
            value = _converted_label(annotation, label_key)
            if value is None:
                raise FormatError(
                    f"Annotations for tensorflow-inferred format should contain key: "
                    f"{label_key}, or be of a format whose classification label converts "
                    f"(missing for id:{oid})"
                )
            break
        value = value[key]
    if base_label is not None and value == base_label:
        return []
    parts = []
    while isinstance(value, dict):
        if len(value) != 1:
            raise FormatError(
                f"Label of id:{oid} cannot be a folder path: a nested label has exactly one "
                f"key at each level, got {len(value)}"
            )
        ((key, value),) = value.items()
        parts.append(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FormatError(
            f"Label of id:{oid} cannot be a folder name: {json.dumps(value)} "
            "(labels are strings or numbers)"
        )
    parts.append(str(value))
    return [safe_component(part, f"label of id:{oid}") for part in parts]


def _converted_label(annotation: Any, label_key: str) -> Any:
    """The classification label of an annotation of another format (a Label Studio
    choice, a platform class; see ``formats.shapes``) as a label value: ``"cat/tabby"``
    -> ``{"cat": "tabby"}``. Only with the default label key (another key is asked for by
    name); None when there is none."""
    from ldb_clone.formats.shapes import classification_label

    if label_key != DEFAULT_LABEL_KEY:
        return None
    label = classification_label(annotation)
    return None if label is None else label_from_parts(label.split("/"))


def export(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    if ctx.annotations_only:
        raise FormatError(
            "tensorflow-inferred has no annotation files (labels are folder names); "
            "choose another format for --annotations-only"
        )
    label_key = ctx.params.get("label-key", DEFAULT_LABEL_KEY)
    base_label = ctx.params.get("base-label")
    plan = ExportPlan()
    for item in items:
        if not item.has_annotation:
            raise FormatError(
                "For tensorflow-inferred instantiate format, all data objects must have an "
                f"annotation. Missing annotation for data object: id:{item.object_id}"
            )
        folder = "/".join(label_folders(item.annotation, label_key, base_label, item.object_id))
        base, ext = ctx.base_name(item, folder, keep_dirs=False)
        plan.items.append(ItemOutput(item, [OutFile(base + ext, item=item)], folder))
        plan.data_objects += 1
    return plan
