"""A hand-written validity check of a COCO document, equivalent to
``schemas/coco.schema.json``.

The check compiled from the schema (``validation.compile_schema``) calls a function per
keyword and value: about 80 ms for a file of 4,000 images and 12,000 boxes. These loops
answer the same question several times faster. They only answer "valid?": for an invalid
document ``coco`` asks jsonschema what is wrong and where (the message names the file and
JSON path), so a disagreement could only let a document through to jsonschema, which has
the last word. tests/formats/test_validation.py checks the agreement on mutated documents.
"""

from __future__ import annotations

from typing import Any


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    """``{"type": ["integer", "string"]}``: 1.0 is an integer, True is not."""
    if isinstance(value, str):
        return True
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_size(value: Any) -> bool:
    """``{"type": ["number", "null"], "minimum": 0}``."""
    return value is None or (_is_number(value) and not value < 0)


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 1


def _is_image(image: Any) -> bool:
    if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
        return False
    if not _is_id(image["id"]) or not _is_name(image["file_name"]):
        return False
    for key in ("width", "height"):  # noqa: SIM110 (loops: no generator per record)
        if key in image and not _is_size(image[key]):
            return False
    return True


_NUMBER_TYPES = frozenset((int, float))  # exact types: bool is not a number here


def _is_numbers(value: Any) -> bool:
    # NOTE: exact types, compared in C (a parsed document holds no subclasses; one would
    # only be sent to jsonschema)
    return type(value) is list and _NUMBER_TYPES.issuperset(map(type, value))


def _is_segmentation(value: Any) -> bool:
    """A list of polygons, or an RLE ``{"counts": string or list, "size": [h, w]}``."""
    if isinstance(value, list):
        for polygon in value:  # noqa: SIM110
            if not _is_numbers(polygon):
                return False
        return True
    if not isinstance(value, dict) or "counts" not in value or "size" not in value:
        return False
    if not isinstance(value["counts"], (str, list)):
        return False
    size = value["size"]
    return isinstance(size, list) and len(size) == 2 and all(_is_integer(v) for v in size)


def _is_integer(value: Any) -> bool:
    return not isinstance(value, (bool, str)) and _is_id(value)


_ID_TYPES = frozenset((int, str))  # the common ids, before _is_id's full answer


def _is_annotation(annotation: Any) -> bool:
    if not isinstance(annotation, dict):
        return False
    for key in ("id", "image_id", "category_id"):
        if key not in annotation:
            return False
        value = annotation[key]
        if type(value) not in _ID_TYPES and not _is_id(value):
            return False
    bbox = annotation.get("bbox")
    if "bbox" not in annotation or not _is_numbers(bbox) or len(bbox) != 4:
        return False
    if "area" in annotation and not (_is_number(annotation["area"]) and not annotation["area"] < 0):
        return False
    if "iscrowd" in annotation and not _is_crowd_flag(annotation["iscrowd"]):
        return False
    return "segmentation" not in annotation or _is_segmentation(annotation["segmentation"])


def _is_crowd_flag(value: Any) -> bool:
    """``{"enum": [0, 1]}``: 1.0 is 1, true is not."""
    return _is_number(value) and value in (0, 1)


def _is_category(category: Any) -> bool:
    if not isinstance(category, dict) or "id" not in category or "name" not in category:
        return False
    if not _is_id(category["id"]) or not _is_name(category["name"]):
        return False
    supercategory = category.get("supercategory")
    return supercategory is None or isinstance(supercategory, str)


def is_valid_coco(doc: Any) -> bool:
    """Whether ``doc`` is valid against the COCO schema."""
    if not isinstance(doc, dict):
        return False
    for key, check in (
        ("images", _is_image),
        ("annotations", _is_annotation),
        ("categories", _is_category),
    ):
        if key not in doc:
            return False
        records = doc[key]
        if not isinstance(records, list):
            return False
        for record in records:
            if not check(record):
                return False
    if "info" in doc and not isinstance(doc["info"], dict):
        return False
    if "licenses" not in doc:
        return True
    licenses = doc["licenses"]
    return isinstance(licenses, list) and all(isinstance(lic, dict) for lic in licenses)
