"""Stable class ids for the formats that number classes (yolo, coco).

A class's id must not depend on the selection: training code and pretrained weights
know a class by its number. The ids come from the source's own class list, which every
annotation indexed from it carries (COCO ``categories``, YOLO ``names``, platform
``classes``; see ``shapes.Shapes.classes``), so a subset that lacks a class still knows
it. ``-p classes=a,b,c`` or ``-p classes-file=PATH`` (one name a line) fixes the list.

``dataset_classes`` gives name -> id in the source's numbering (which may have gaps, or
start at 0); ``yolo_ids`` and ``coco_ids`` turn that into what each format needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ldb_clone.errors import FormatError
from ldb_clone.formats.common_params import CLASS_PARAMS as CLASS_PARAMS
from ldb_clone.formats.common_params import CLASSES_FILE_PARAM, CLASSES_PARAM
from ldb_clone.formats.exporting import ExportContext
from ldb_clone.formats.shapes import Shapes


def dataset_classes(ctx: ExportContext, shapes: Iterable[Shapes | None]) -> dict[str, int]:
    """name -> id of every class of the selection's sources, in id order.

    An explicit list (``-p classes`` / ``classes-file``) numbers its names 0, 1, ... and
    must name every box's class. Otherwise the ids are the sources' own (their whole
    class lists and the ids on boxes); classes no source numbered follow in name order.
    When sources disagree (one name with two ids, or one id with two names), every class
    is numbered by name, with a warning.
    """
    shapes = [s for s in shapes if s is not None]
    used = {box.label for s in shapes for box in s.boxes}
    explicit = explicit_classes(ctx.params)
    if explicit is not None:
        missing = sorted(used - set(explicit))
        if missing:
            raise FormatError(
                f"Class {missing[0]!r} of the selected boxes is not in the class list given by "
                f"-p {CLASSES_PARAM}/{CLASSES_FILE_PARAM} ({len(missing)} classes missing)"
            )
        return {name: number for number, name in enumerate(explicit)}
    ids: dict[str, set[int]] = {}
    lists: dict[int, dict[int, str]] = {}  # NOTE: equal lists are one object (shapes.py)
    for s in shapes:
        if s.classes:
            lists.setdefault(id(s.classes), s.classes)
    for classes in lists.values():
        for class_id, name in classes.items():
            ids.setdefault(name, set()).add(class_id)
    for s in shapes:
        for name, class_id in s.class_ids.items():
            ids.setdefault(name, set()).add(class_id)
    for name in used:
        ids.setdefault(name, set())
    numbered = {name: next(iter(found)) for name, found in ids.items() if len(found) == 1}
    clash = any(len(found) > 1 for found in ids.values())
    if clash or len(set(numbered.values())) != len(numbered):
        ctx.warn(
            "Class ids of the selected annotations' sources disagree; classes numbered by "
            f"name (fix the list with -p {CLASSES_PARAM}=a,b,c)"
        )
        return {name: number for number, name in enumerate(sorted(ids))}
    next_id = max(numbered.values(), default=-1) + 1
    for name in sorted(set(ids) - set(numbered)):
        numbered[name] = next_id
        next_id += 1
    return dict(sorted(numbered.items(), key=lambda item: item[1]))


def yolo_ids(numbers: dict[str, int]) -> dict[str, int]:
    """0..n-1 in the sources' id order (as Datumaro and Ultralytics turn COCO category
    ids 1, 2, 3, 5, ... into 0, 1, 2, 3, ...)."""
    order = sorted(numbers, key=lambda name: numbers[name])
    return {name: position for position, name in enumerate(order)}


def coco_ids(numbers: dict[str, int]) -> dict[str, int]:
    """The sources' ids, moved up so that the first is at least 1: COCO tools read
    category id 0 as background (a YOLO class 0 becomes category 1)."""
    shift = max(0, 1 - min(numbers.values(), default=1))
    return {name: number + shift for name, number in numbers.items()}


def explicit_classes(params: dict[str, str]) -> list[str] | None:
    """The class list of ``-p classes=a,b,c`` or ``-p classes-file=PATH``, or None."""
    text = params.get(CLASSES_PARAM)
    path = params.get(CLASSES_FILE_PARAM)
    if text is not None and path is not None:
        raise FormatError(f"Give -p {CLASSES_PARAM} or -p {CLASSES_FILE_PARAM}, not both")
    if text is not None:
        names = [name.strip() for name in text.split(",")]
        where = f"-p {CLASSES_PARAM}"
    elif path is not None:
        try:
            content = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise FormatError(f"Unable to read the class list {path}: {reason}") from exc
        names = [line.strip() for line in content.splitlines() if line.strip()]
        where = path
    else:
        return None
    if not names or not all(names):
        raise FormatError(f"Invalid class list {where}: an empty class name")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise FormatError(f"Invalid class list {where}: {name!r} is named twice")
        seen.add(name)
    return names
