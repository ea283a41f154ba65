"""What exporters that convert annotations share: the shapes of an item (with what they
cannot carry counted), image sizes read by Pillow, class numbering, unique file names."""

from __future__ import annotations

import posixpath
from typing import Any

from ldb_clone.errors import FormatError
from ldb_clone.formats.exporting import ExportContext, ExportItem, safe_relpath
from ldb_clone.formats.shapes import Box, Shapes, read_shapes, tidy


def item_shapes(ctx: ExportContext, item: ExportItem, keeps_coco: bool = False) -> Shapes | None:
    """The shapes of an item's annotation (None without an annotation); an annotation
    these readers do not know counts as a loss, and so does what the reader could not
    carry, and (unless the target is COCO, ``keeps_coco``) COCO segmentations, of which
    only the boxes convert."""
    if not item.has_annotation:
        return None
    shapes = read_shapes(item.annotation)
    if shapes is None:
        ctx.note_loss("annotations with no label or boxes that the shape readers know")
        return None
    for what, count in shapes.lost.items():
        ctx.note_loss(what, count)
    if not keeps_coco:
        masks = sum(1 for box in shapes.boxes if _segmentation(box))
        ctx.note_loss("COCO segmentations (polygons or masks: only their boxes convert)", masks)
    return shapes


def _segmentation(box: Any) -> bool:
    """Whether a box indexed from COCO has a segmentation that is more than its box (COCO
    writers, ldb among them, write a box as its 4-corner polygon)."""
    coco = (box.source or {}).get("coco")
    segmentation = coco.get("segmentation") if isinstance(coco, dict) else None
    return bool(segmentation) and not is_box_polygon(segmentation, box)


_NUMBER_TYPES = frozenset((int, float))


def is_box_polygon(segmentation: Any, box: Any) -> bool:
    """One polygon of 4 points, each a corner of the box (to 0.01 px)."""
    if not isinstance(segmentation, list) or len(segmentation) != 1:
        return False
    points = segmentation[0]
    if not isinstance(points, list) or len(points) != 8:
        return False
    # NOTE: plain loops, no closures: this runs once per COCO box of an export
    x0, x1, y0, y1 = box.x, box.x + box.w, box.y, box.y + box.h
    if points == [x0, y0, x1, y0, x1, y1, x0, y1] and _NUMBER_TYPES.issuperset(map(type, points)):
        # the exact corners in the order COCO writers use (one comparison in C): the
        # checks below would find each point at a corner, so the four are what counts
        return round(x0, 2) != round(x1, 2) and round(y0, 2) != round(y1, 2)
    for v in points:
        if not isinstance(v, int | float) or isinstance(v, bool):
            return False
    xs, ys = points[0::2], points[1::2]
    for x in xs:
        if not (abs(x - x0) <= 0.01 or abs(x - x1) <= 0.01):  # NaN is near nothing
            return False
    for y in ys:
        if not (abs(y - y0) <= 0.01 or abs(y - y1) <= 0.01):
            return False
    return len({(round(x, 2), round(y, 2)) for x, y in zip(xs, ys)}) == 4


def read_image_size(ctx: ExportContext, item: ExportItem) -> tuple[int, int] | None:
    """(width, height) read by Pillow from the image header; None when the object is not
    an image Pillow knows, or cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with ctx.open_object(item) as f, Image.open(f) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def image_size(
    ctx: ExportContext, item: ExportItem, shapes: Shapes | None
) -> tuple[int, int] | None:
    """The size the annotation records, else the one Pillow reads."""
    if shapes is not None and shapes.size is not None:
        return shapes.size
    return read_image_size(ctx, item)


def is_classification(shapes: list[Shapes | None]) -> bool:
    """Whether the annotations hold classification labels and not one box."""
    present = [s for s in shapes if s is not None]
    return any(s.label is not None for s in present) and not any(s.boxes for s in present)


def fit_boxes(ctx: ExportContext, boxes: list[Box], width: int, height: int) -> list[Box]:
    """The boxes clipped to the image (tools such as Ultralytics drop an image whose box
    reaches outside it), and without the boxes that have no area left; both counted."""
    import dataclasses

    fitted = []
    for box in boxes:
        x0, y0 = max(box.x, 0), max(box.y, 0)
        x1, y1 = min(box.x + box.w, width), min(box.y + box.h, height)
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            ctx.note_loss("boxes with no area inside their image (degenerate)")
            continue
        if (x0, y0, x1, y1) != (box.x, box.y, box.x + box.w, box.y + box.h):
            ctx.note_change("boxes reaching outside their image were clipped to it")
            box = dataclasses.replace(box, x=tidy(x0), y=tidy(y0), w=tidy(x1 - x0), h=tidy(y1 - y0))
        fitted.append(box)
    return fitted


class UniqueNames:
    """File names in one folder, made unique: a name already taken (compared without
    case, for case-insensitive file systems; by stem when ``by_stem``, as YOLO pairs
    ``a.png`` with ``labels/a.txt``) becomes ``<stem>-<object id><ext>``."""

    def __init__(self, by_stem: bool = False) -> None:
        self.by_stem = by_stem
        self.taken: set[str] = set()
        self.renamed = 0

    def _key(self, name: str) -> str:
        return (posixpath.splitext(name)[0] if self.by_stem else name).lower()

    def claim(self, name: str, object_id: str) -> str:
        if self._key(name) in self.taken:
            stem, ext = posixpath.splitext(name)
            name = f"{stem}-{object_id}{ext}"
            self.renamed += 1
        self.taken.add(self._key(name))
        return name

    def report(self, ctx: ExportContext) -> None:
        if self.renamed:
            ctx.warn(
                f"{self.renamed} images had the same file name as another one and were "
                "written as <name>-<id><ext>"
            )


def safe_name(name: Any, item: ExportItem) -> str:
    """A relative file name from an annotation (``file_name``), or the object's own file
    name when it is missing or would leave its folder."""
    if isinstance(name, str) and name:
        try:
            return safe_relpath(name, "file_name")
        except FormatError:
            pass
    return item.file_name


def recorded_name(item: ExportItem) -> Any:
    """The file name an annotation records (a COCO image's, a platform record's), if any."""
    annotation = item.annotation if isinstance(item.annotation, dict) else {}
    coco = annotation.get("coco")
    if isinstance(coco, dict) and isinstance(coco.get("image"), dict):
        return coco["image"].get("file_name")
    return annotation.get("file_name")


# Label Studio -----------------------------------------------------------------------------

LS_IMAGE_KEY = '"data"."image"'
LS_OBJECT = "image"  # the <Image name="image" value="$image"/> of the labelling config
LS_CHOICES = "class"  # <Choices name="class" toName="image">
LS_RECTANGLES = "bbox"  # <RectangleLabels name="bbox" toName="image">


def to_label_studio_task(ctx: ExportContext, item: ExportItem) -> dict[str, Any] | None:
    """The Label Studio image task of an annotation the shape readers know (None for Label
    Studio tasks, which are written as they are, and for anything else): the label as a
    ``choices`` result, boxes as ``rectanglelabels`` in percent of the image size."""
    from ldb_clone.formats.label_studio.codec import INFO_KEY
    from ldb_clone.formats.shapes import is_label_studio_task

    annotation = item.annotation
    if not item.has_annotation or is_label_studio_task(annotation):
        return None
    if isinstance(annotation, dict) and isinstance(annotation.get("data"), dict):
        return None  # a task without annotations yet
    shapes = read_shapes(annotation)
    if shapes is None:
        return None
    shapes = item_shapes(ctx, item)
    if shapes is None:
        return None
    results = _ls_results(ctx, item, shapes)
    info = {ctx.id_key: item.object_id, "path_key": LS_IMAGE_KEY}
    return {
        "data": {"image": item.url, INFO_KEY: info},
        "annotations": [{"result": results}] if results else [],
    }


def _ls_results(ctx: ExportContext, item: ExportItem, shapes: Shapes) -> list[dict[str, Any]]:
    from ldb_clone.formats.shapes import percent

    results: list[dict[str, Any]] = []
    if shapes.label is not None:
        choice: dict[str, Any] = {
            "from_name": LS_CHOICES,
            "to_name": LS_OBJECT,
            "type": "choices",
            "value": {"choices": [shapes.label]},
        }
        if shapes.label_confidence is not None:
            choice["score"] = shapes.label_confidence
        results.append(choice)
    if not shapes.boxes:
        return results
    size = image_size(ctx, item, shapes)
    if size is None:
        ctx.note_loss(
            "boxes of images whose size is unknown (Label Studio boxes are percent of it)",
            len(shapes.boxes),
        )
        return results
    width, height = size
    for box in shapes.boxes:
        result: dict[str, Any] = {
            "from_name": LS_RECTANGLES,
            "to_name": LS_OBJECT,
            "type": "rectanglelabels",
            "original_width": width,
            "original_height": height,
            "image_rotation": 0,
            "value": {
                "x": percent(box.x, width),
                "y": percent(box.y, height),
                "width": percent(box.w, width),
                "height": percent(box.h, height),
                "rotation": 0,
                "rectanglelabels": [box.label],
            },
        }
        if box.confidence is not None:
            result["score"] = box.confidence
        results.append(result)
    return results
