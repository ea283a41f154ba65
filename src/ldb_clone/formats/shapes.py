"""Shape readers: the classification label and the boxes of any stored annotation.

This is the hub of conversions between formats. Every exporter that writes labels or
boxes (coco, yolo, platform, label-studio, tensorflow-inferred) asks ``read_shapes`` what
an annotation holds, whatever format indexed it:

- plain annotations (strict-pairs, and what coco and yolo store):
  ``{"label": "cat", "size": {"width": 64, "height": 64},
  "boxes": [{"label": "cat", "x": 14, "y": 14, "w": 32, "h": 37}]}``;
- tensorflow-inferred labels: ``{"label": "cat"}``, and nested ones
  ``{"label": {"cat": "tabby"}}``, read as the folder path ``"cat/tabby"`` (nothing of
  the label is lost, and tensorflow-inferred writes it back as the same folders);
- platform image records (``task_type``): ``annotation.class_name`` (classification),
  ``annotations[].bbox`` with ``class_name`` (detection), ``width``/``height``;
- Label Studio tasks: the most recently updated annotation that was not cancelled;
  ``choices`` give the label, ``rectanglelabels`` boxes (percent of
  ``original_width``/``original_height``; a rotated one becomes its enclosing box,
  counted as a loss).

Boxes are in pixels, top-left origin: (x, y) the top-left corner, w and h the size. All
functions here are pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PLATFORM_TASK_TYPES = ("image_classification", "object_detection")
# where a box record keeps the fields of the format that indexed it (coco, yolo, voc): they
# are carried along so that the format can write the box back as it was
SOURCE_KEYS = ("coco", "yolo", "voc")
DIGITS = 4  # computed pixel values are rounded to this many decimals


@dataclass(frozen=True, slots=True)
class Box:
    """One labelled box in pixels; ``class_id`` is the source's class number, if any."""

    label: str
    x: float
    y: float
    w: float
    h: float
    confidence: float | None = None
    class_id: int | None = None
    source: Mapping[str, Any] | None = None  # {"coco": {...}} or {"yolo": {...}}, as stored


@dataclass(slots=True)
class Shapes:
    """What an annotation holds that other formats can carry.

    ``lost`` counts what the reader saw but cannot express as a label or a box (a rotated
    rectangle, a polygon result), by a short description; exporters report it.
    """

    label: str | None = None
    label_confidence: float | None = None  # a model's confidence in the label
    boxes: list[Box] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    class_ids: dict[str, int] = field(default_factory=dict)  # name -> the source's id
    # the source's whole class list (id -> name: COCO categories, YOLO names, platform
    # classes), also the classes no box of this annotation uses; None when not recorded
    classes: dict[int, str] | None = None
    lost: dict[str, int] = field(default_factory=dict)
    split: str | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        if self.width and self.height:
            return self.width, self.height
        return None

    def lose(self, what: str, count: int = 1) -> None:
        self.lost[what] = self.lost.get(what, 0) + count


def read_shapes(annotation: Any, classes: bool = True) -> Shapes | None:
    """The label and boxes of an annotation, or None when it holds neither in a form
    these readers know (an empty box list counts: an image known to have no boxes).

    ``classes=False``: a caller that does not look at ``Shapes.classes`` (counting
    labels) lets a plain annotation's recorded class list (COCO's 80 categories in every
    image's record) go unread."""
    if not isinstance(annotation, dict):
        return None
    if is_label_studio_task(annotation):
        return _label_studio(annotation)
    if annotation.get("task_type") in PLATFORM_TASK_TYPES:
        return _platform(annotation)
    return _plain(annotation, classes)


def classification_label(annotation: Any) -> str | None:
    shapes = read_shapes(annotation, classes=False)
    return shapes.label if shapes is not None else None


# plain ------------------------------------------------------------------------------------


def label_text(value: Any) -> str | None:
    """A label as a string: ``"cat"``, ``3`` -> ``"3"``, ``{"cat": "tabby"}`` ->
    ``"cat/tabby"``; None for anything else (lists, booleans, objects of several keys)."""
    if type(value) is str:  # the common case, first
        return value or None
    parts = []
    while isinstance(value, dict):
        if len(value) != 1:
            return None
        ((key, value),) = value.items()
        parts.append(str(key))
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    parts.append(str(value))
    text = "/".join(parts)
    return text if text else None


def _number(value: Any) -> float | None:
    if type(value) is int:  # the common case, first (bool is not int here)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return value


def _size(annotation: dict[str, Any]) -> tuple[int | None, int | None]:
    size = annotation.get("size")
    holder = size if isinstance(size, dict) else annotation
    width, height = _number(holder.get("width")), _number(holder.get("height"))
    if not width or not height or width < 0 or height < 0:
        return None, None
    return round(width), round(height)


def _plain(annotation: dict[str, Any], classes: bool = True) -> Shapes | None:
    has_label = "label" in annotation
    boxes = annotation.get("boxes")
    if not has_label and not isinstance(boxes, list):
        return None
    shapes = Shapes(label=label_text(annotation.get("label")) if has_label else None)
    if shapes.label is not None:
        shapes.label_confidence = _number(annotation.get("confidence"))
    shapes.width, shapes.height = _size(annotation)
    if isinstance(annotation.get("split"), str):
        shapes.split = annotation["split"]
    if classes:
        shapes.classes = _recorded_classes(annotation)
    for record in boxes if isinstance(boxes, list) else []:
        box = _plain_box(record)
        if box is None:
            shapes.lose("boxes without a label or x, y, w, h")
            continue
        shapes.boxes.append(box)
        if box.class_id is not None:
            shapes.class_ids.setdefault(box.label, box.class_id)
    return shapes


def _recorded_classes(annotation: dict[str, Any]) -> dict[int, str] | None:
    """The class list of the source an annotation was indexed from: COCO ``categories``
    (``coco.categories``) or YOLO ``names`` (``yolo.names``, a list in id order)."""
    coco = annotation.get("coco")
    if isinstance(coco, dict) and isinstance(coco.get("categories"), list):
        return _id_names(coco["categories"])
    yolo = annotation.get("yolo")
    if isinstance(yolo, dict) and isinstance(yolo.get("names"), list):
        return _shared(
            ("names", yolo["names"]),
            lambda names: {i: n for i, n in enumerate(names[1]) if isinstance(n, str) and n},
        )
    return None


def _id_names(records: list[Any]) -> dict[int, str]:
    """id -> name of ``[{"id": 1, "name": "person"}, ...]`` (COCO categories, platform
    classes); records without an integer id or a name are left out."""
    return _shared(
        ("records", records),
        lambda key: {
            c["id"]: c["name"]
            for c in key[1]
            if isinstance(c, dict) and _is_id(c.get("id")) and _named(c)
        },
    )


def _shared(raw: Any, build: Any) -> dict[int, str]:
    """``build(raw)``, computed once for equal values of ``raw`` and then shared (callers
    must not change it).

    NOTE: every annotation of a source carries the same class list: it is read once per
    run (the serialised list is the key), not once per annotation, and exporters can
    tell the lists apart by identity."""
    import orjson

    try:
        key = orjson.dumps(raw)
    except (orjson.JSONEncodeError, TypeError):
        return build(raw)
    found = _SHARED.get(key)
    if found is None:
        if len(_SHARED) >= 64:
            _SHARED.clear()
        found = _SHARED[key] = build(raw)
    return found


_SHARED: dict[bytes, dict[int, str]] = {}


def _plain_box(record: Any) -> Box | None:
    """``{"label", "x", "y", "w", "h"}`` (or ``"bbox": [x, y, w, h]``), with an optional
    ``confidence`` and the fields of the format that indexed it (``coco``, ``yolo``)."""
    if not isinstance(record, dict):
        return None
    label = label_text(record.get("label"))
    if "bbox" in record and "x" not in record:
        bbox = record.get("bbox")
        values = bbox if isinstance(bbox, list) and len(bbox) == 4 else [None] * 4
    else:
        values = [record.get("x"), record.get("y"), record.get("w"), record.get("h")]
    if label is None:
        return None
    x, y, w, h = map(_number, values)
    if x is None or y is None or w is None or h is None:
        return None
    source = None
    for key in SOURCE_KEYS:
        fields = record.get(key)
        if isinstance(fields, dict):
            if source is None:
                source = {}
            source[key] = fields
    class_id = _source_class_id(source) if source is not None else None
    confidence = record.get("confidence")
    confidence = None if confidence is None else _number(confidence)
    return Box(label, x, y, w, h, confidence, class_id, source)


def _source_class_id(source: dict[str, Any]) -> int | None:
    for key, id_key in (("coco", "category_id"), ("yolo", "class_id")):
        fields = source.get(key)
        value = fields.get(id_key) if fields is not None else None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


# platform ---------------------------------------------------------------------------------


def _platform(record: dict[str, Any]) -> Shapes:
    shapes = Shapes()
    shapes.width, shapes.height = _size(record)
    if isinstance(record.get("split"), str):
        shapes.split = record["split"]
    classes = record.get("classes")
    names = _id_names(classes) if isinstance(classes, list) else {}
    for class_id, name in names.items():
        shapes.class_ids.setdefault(name, class_id)
    shapes.classes = names or None
    if record["task_type"] == "image_classification":
        label = record.get("annotation")
        if isinstance(label, dict):
            shapes.label = _class_name(label, names)
            shapes.label_confidence = _number(label.get("confidence"))
        return shapes
    for label in record.get("annotations") or []:
        box = _platform_box(label, names) if isinstance(label, dict) else None
        if box is None:
            shapes.lose("platform boxes without a class or bbox")
        else:
            shapes.boxes.append(box)
    return shapes


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _named(record: dict[str, Any]) -> bool:
    return isinstance(record.get("name"), str) and bool(record["name"])


def _class_name(label: dict[str, Any], names: dict[int, str]) -> str | None:
    name = label.get("class_name")
    if isinstance(name, str) and name:
        return name
    return names.get(label.get("class_id"))  # type: ignore[arg-type]


def _platform_box(label: dict[str, Any], names: dict[int, str]) -> Box | None:
    name = _class_name(label, names)
    bbox = label.get("bbox")
    if name is None or not isinstance(bbox, list) or len(bbox) != 4:
        return None
    numbers = [_number(v) for v in bbox]
    if any(n is None for n in numbers):
        return None
    x, y, w, h = numbers
    class_id = label.get("class_id") if _is_id(label.get("class_id")) else None
    return Box(name, x, y, w, h, _number(label.get("confidence")), class_id)


# Label Studio -----------------------------------------------------------------------------


def is_label_studio_task(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("data"), dict)
        and any(isinstance(value.get(k), list) for k in ("annotations", "completions"))
    )


def task_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    """The annotation a task's labels are read from: its most recently updated one that
    was not cancelled (``completions`` in exports before Label Studio 1.0). Predictions
    are not labels."""
    annotations = task.get("annotations")
    if not isinstance(annotations, list):
        annotations = task.get("completions") or []
    index = latest_annotation(annotations)
    return annotations[index] if index is not None else None


def latest_annotation(annotations: list[Any]) -> int | None:
    """The position of the most recently updated annotation that was not cancelled, by
    ``updated_at`` (else ``created_at``); without times, or on a tie, the later one in
    the list (Label Studio lists the newest last). None when there is none."""
    best: int | None = None
    best_key: tuple[float, int] | None = None
    for position, annotation in enumerate(annotations):
        if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
            continue
        key = (annotation_time(annotation), position)
        if best_key is None or key > best_key:
            best, best_key = position, key
    return best


def annotation_time(annotation: dict[str, Any]) -> float:
    """When an annotation was last changed, as a POSIX timestamp (``-inf`` when it does
    not say): ``updated_at``, else ``created_at``, ISO 8601 (naive times are UTC)."""
    from datetime import datetime, timezone

    for name in ("updated_at", "created_at"):
        value = annotation.get(name)
        if not isinstance(value, str):
            continue
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    return float("-inf")


def _label_studio(task: dict[str, Any]) -> Shapes:
    shapes = Shapes()
    annotation = task_annotation(task)
    results = annotation.get("result") if annotation else None
    for result in results if isinstance(results, list) else []:
        if not isinstance(result, dict):
            continue
        kind = result.get("type")
        if kind == "choices":
            _ls_choice(shapes, result)
        elif kind == "rectanglelabels":
            _ls_rectangle(shapes, result)
        else:
            shapes.lose(f"Label Studio {kind} results")
    return shapes


def _ls_value(result: dict[str, Any]) -> dict[str, Any]:
    value = result.get("value")
    return value if isinstance(value, dict) else {}


def _ls_choice(shapes: Shapes, result: dict[str, Any]) -> None:
    choices = [c for c in _ls_value(result).get("choices") or [] if isinstance(c, str)]
    if not choices:
        return
    if shapes.label is not None or len(choices) > 1:
        shapes.lose("Label Studio choices beyond the first (one label per object)")
    if shapes.label is None:
        shapes.label = choices[0]
        shapes.label_confidence = _number(result.get("score"))


def _ls_rectangle(shapes: Shapes, result: dict[str, Any]) -> None:
    value = _ls_value(result)
    labels = [c for c in value.get("rectanglelabels") or [] if isinstance(c, str)]
    width = _number(result.get("original_width", value.get("original_width")))
    height = _number(result.get("original_height", value.get("original_height")))
    numbers = [_number(value.get(k)) for k in ("x", "y", "width", "height")]
    if not labels or not width or not height or any(n is None for n in numbers):
        shapes.lose("Label Studio rectangles without a label, a position or original size")
        return
    if shapes.width is None:
        shapes.width, shapes.height = round(width), round(height)
    x, y, w, h = (pixels(n, extent) for n, extent in zip(numbers, (width, height) * 2))
    rotation = _number(value.get("rotation")) or 0
    if rotation % 360:
        shapes.lose("rotations of Label Studio rectangles (each written as its enclosing box)")
        x, y, w, h = enclosing_box(x, y, w, h, rotation, width, height)
    shapes.boxes.append(Box(labels[0], x, y, w, h, _number(result.get("score"))))


def enclosing_box(
    x: float, y: float, w: float, h: float, degrees: float, width: float, height: float
) -> tuple[float, float, float, float]:
    """The axis-aligned box around a rectangle turned ``degrees`` clockwise about its
    top-left corner (x, y) (Label Studio's rotation), kept inside the image."""
    import math

    turn = math.radians(degrees)
    cos, sin = math.cos(turn), math.sin(turn)
    corners = [
        (x + dx * cos - dy * sin, y + dx * sin + dy * cos)
        for dx, dy in ((0, 0), (w, 0), (w, h), (0, h))
    ]
    left = max(0.0, min(cx for cx, _ in corners))
    top = max(0.0, min(cy for _, cy in corners))
    right = min(float(width), max(cx for cx, _ in corners))
    bottom = min(float(height), max(cy for _, cy in corners))
    return tidy(left), tidy(top), tidy(right - left), tidy(bottom - top)


def pixels(percent: float, extent: float) -> float:
    return tidy(percent / 100 * extent)


def percent(value: float, extent: float) -> float:
    return tidy(value / extent * 100)


def tidy(value: float) -> float:
    """A computed coordinate rounded to DIGITS decimals, and an int when it is whole (so
    that 14.000000000000002 is stored as 14)."""
    value = round(value, DIGITS)
    return int(value) if value == int(value) else value
