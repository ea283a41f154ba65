"""The wrong-format guard of ``ldb index``: stop before labels are replaced by nothing.

Indexing a COCO folder with ``-m yolo`` finds no label files, so every image gets an
annotation without boxes; replacing the current, labelled annotations with those would
silently lose the labels. Before anything is written, the run counts the objects whose
current annotation holds labels, boxes or entities and whose new one holds none; when
there are any it stops, unless ``--annotation-update replace`` was given explicitly.

Only annotations a format builds itself are checked; an annotation written by the user
and indexed as written (a format that declares ``as_written``) is replaced as asked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ldb_clone.errors import IndexingError
from ldb_clone.formats.base import IndexItem
from ldb_clone.formats.shapes import PLATFORM_TASK_TYPES, is_label_studio_task, read_shapes


class LabelLossError(IndexingError):
    pass


def holds_labels(value: Any) -> bool:
    """True when an annotation holds a label, a box, an entity, or content these readers
    do not know (which counts as labels: it may be anything)."""
    if value is None or value == {} or value == []:
        return False
    if isinstance(value, dict) and value.get("entities"):
        return True
    if _plain_with_boxes(value):
        return True
    shapes = read_shapes(value, classes=False)
    if shapes is None:
        return True
    return bool(shapes.label or shapes.boxes or shapes.lost)


def _plain_with_boxes(value: Any) -> bool:
    """A plain annotation (what coco, yolo and voc build) with a non-empty box list: each
    record is read as a box or counted as lost, so it holds labels.

    NOTE: the answer without reading every box (``ldb index -m coco`` asks this of every
    image)."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("boxes"), list)
        and len(value["boxes"]) > 0
        and value.get("task_type") not in PLATFORM_TASK_TYPES
        and not is_label_studio_task(value)
    )


def labels_lost(catalog: Any, items: Sequence[IndexItem], id_key: str) -> int:
    """How many objects at these items' paths would have an annotation holding labels
    replaced by one holding none."""
    built: dict[tuple[str, str], Any] = {}
    for item in items:
        if item.data is None or item.annotation_file is not None or not item.has_annotation:
            continue
        if item.finalize is None and holds_labels(item.annotation):
            continue
        built[(item.data.protocol, item.data.path)] = item
    by_protocol: dict[str, list[str]] = {}
    for protocol, path in built:
        by_protocol.setdefault(protocol, []).append(path)
    lost = 0
    for protocol, paths in by_protocol.items():
        for path, (oid, text) in catalog.current_annotations_at(protocol, paths).items():
            item = built[(protocol, path)]
            new = item.finalize(oid, id_key) if item.finalize else item.annotation
            if not holds_labels(new) and holds_labels(json.loads(text)):
                lost += 1
    return lost


def label_loss_error(lost: int, fmt: str, suggested: str | None) -> LabelLossError:
    hint = f"; the data looks like {suggested} (try -m {suggested})" if suggested else ""
    return LabelLossError(
        f"Indexing as {fmt} would replace {lost} annotations that hold labels, boxes or "
        f"entities with ones that hold none{hint}. Nothing was written; to replace them "
        "anyway, add --annotation-update replace"
    )
