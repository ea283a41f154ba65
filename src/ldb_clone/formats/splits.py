"""Which split (train, val, ...) each object is written into, for the formats with a split
layout (yolo's ``images/<split>/``, coco's ``instances_<split>.json``).

An object keeps the split its annotation records (COCO subset, YOLO split folder,
platform ``split``, any ``split`` field). ``-p split=train:0.8,val:0.2`` splits the
objects that have none at random by those fractions; ``-p seed=N`` (default 0) fixes the
draw, so the same selection is split the same way every time.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ldb_clone.errors import FormatError
from ldb_clone.formats.common_params import SEED_PARAM, SPLIT_PARAM
from ldb_clone.formats.common_params import SPLIT_PARAMS as SPLIT_PARAMS
from ldb_clone.formats.exporting import ExportContext, ExportItem, safe_component, safe_relpath
from ldb_clone.formats.shapes import Shapes


def object_splits(
    ctx: ExportContext, items: Sequence[ExportItem], shapes: Sequence[Shapes | None]
) -> list[str | None]:
    """The split of each item (None: none recorded and no ``-p split``)."""
    splits = [_recorded(s) for s in shapes]
    fractions = _fractions(ctx.params)
    if fractions is None:
        return splits
    pending = sorted((items[i].object_id, i) for i, split in enumerate(splits) if split is None)
    random.Random(_seed(ctx.params)).shuffle(pending)
    start = 0
    total = 0.0
    for position, (name, fraction) in enumerate(fractions):
        total += fraction
        end = len(pending) if position == len(fractions) - 1 else round(total * len(pending))
        for _, index in pending[start:end]:
            splits[index] = name
        start = end
    return splits


def _recorded(shapes: Shapes | None) -> str | None:
    if shapes is None or not shapes.split:
        return None
    try:
        return safe_relpath(shapes.split, "split")
    except FormatError:
        return None


def _fractions(params: dict[str, str]) -> list[tuple[str, float]] | None:
    text = params.get(SPLIT_PARAM)
    if text is None:
        return None
    fractions: list[tuple[str, float]] = []
    for part in text.split(","):
        name, _, value = part.partition(":")
        name = name.strip()
        try:
            fraction = float(value)
        except ValueError:
            fraction = -1.0
        if not name or not 0 <= fraction <= 1 or name in dict(fractions):
            raise FormatError(
                f"Invalid value for parameter {SPLIT_PARAM}: {text!r} (expected split:fraction "
                "pairs with distinct names, such as train:0.8,val:0.2)"
            )
        fractions.append((safe_component(name, "split"), fraction))
    if abs(sum(f for _, f in fractions) - 1) > 1e-6:
        raise FormatError(
            f"Invalid value for parameter {SPLIT_PARAM}: {text!r} (the fractions must add up to 1)"
        )
    return fractions


def _seed(params: dict[str, str]) -> int:
    value = params.get(SEED_PARAM, "0")
    try:
        return int(value)
    except ValueError:
        raise FormatError(
            f"Invalid value for parameter {SEED_PARAM}: {value!r} (expected an integer)"
        ) from None
