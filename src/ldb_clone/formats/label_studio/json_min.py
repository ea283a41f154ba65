"""Label Studio JSON_MIN exports, read as the tasks of a JSON export.

JSON_MIN flattens each annotated task into one object: its ``data`` keys, ``id``, one key
per control (``from_name``) holding that control's values, and ``annotator``,
``annotation_id``, ``created_at``, ``updated_at``, ``lead_time``. A single choice is a
plain string; regions are a list of ``value`` objects with ``original_width`` and
``original_height`` merged in. ``task_of`` rebuilds the task, with one annotation whose
results hold those values, so that everything reading tasks reads JSON_MIN too.
"""

from __future__ import annotations

from typing import Any

from ldb_clone.errors import FormatError

INFO_KEY = "data-object-info"
# what JSON_MIN adds to the data keys besides the controls' values
RECORD_KEYS = ("id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time")
# names of the object tags Label Studio's templates use for the data (``value="$image"``)
OBJECT_NAMES = ("image", "text", "audio", "video", "html", "hypertext", "url", "pdf")
# the key of a region's value that names its kind, most specific first
VALUE_KINDS = (
    "rectanglelabels",
    "polygonlabels",
    "ellipselabels",
    "keypointlabels",
    "brushlabels",
    "labels",
    "choices",
    "taxonomy",
    "rating",
)
RESULT_SIZE_KEYS = ("original_width", "original_height", "image_rotation")


def is_min_record(value: Any) -> bool:
    """An object of a JSON_MIN export: no ``data`` object, and an annotation's id or
    annotator beside the task's id."""
    return (
        isinstance(value, dict)
        and not isinstance(value.get("data"), dict)
        and "id" in value
        and ("annotation_id" in value or "annotator" in value)
    )


def task_of(record: dict[str, Any], where: str) -> dict[str, Any]:
    """The JSON-export task a JSON_MIN record stands for."""
    data_keys = _data_keys(record, where)
    to_name = data_keys[0]
    data = {key: record[key] for key in data_keys}
    if isinstance(record.get(INFO_KEY), dict):
        data[INFO_KEY] = record[INFO_KEY]
    results = []
    for key, value in record.items():
        if key in RECORD_KEYS or key in data:
            continue
        results += _results(key, to_name, value)
    annotation: dict[str, Any] = {"result": results}
    for source, target in (
        ("annotation_id", "id"),
        ("annotator", "completed_by"),
        ("created_at", "created_at"),
        ("updated_at", "updated_at"),
        ("lead_time", "lead_time"),
    ):
        if source in record:
            annotation[target] = record[source]
    return {"id": record["id"], "data": data, "annotations": [annotation]}


def _data_keys(record: dict[str, Any], where: str) -> list[str]:
    """The keys of ``data``: the one that ``data-object-info.path_key`` names, else the
    string-valued keys named like an object tag, else the only string-valued key."""
    info = record.get(INFO_KEY)
    path_key = info.get("path_key") if isinstance(info, dict) else None
    if isinstance(path_key, str):
        for key in record:
            if path_key.endswith((f'"{key}"', f".{key}")) and key != INFO_KEY:
                return [key]
    strings = [k for k, v in record.items() if isinstance(v, str) and k not in RECORD_KEYS]
    named = [k for k in strings if k in OBJECT_NAMES]
    if named:
        return named
    if len(strings) == 1:
        return strings
    raise FormatError(
        f"Cannot tell the data key of a Label Studio JSON_MIN record: {where} (candidates: "
        f"{', '.join(map(repr, strings)) or 'none'}); export JSON from Label Studio instead"
    )


def _results(from_name: str, to_name: str, value: Any) -> list[dict[str, Any]]:
    values = value if isinstance(value, list) else [value]
    if values and all(isinstance(v, str) for v in values):
        values = [{"choices": list(values)}]
    results = []
    for region in values:
        if not isinstance(region, dict):
            continue
        region = dict(region)
        result: dict[str, Any] = {"from_name": from_name, "to_name": to_name}
        result["type"] = _kind(region)
        for key in RESULT_SIZE_KEYS:
            if key in region:
                result[key] = region.pop(key)
        result["value"] = region
        results.append(result)
    return results


def _kind(region: dict[str, Any]) -> str:
    for kind in VALUE_KINDS:
        if kind in region:
            return kind
    if all(k in region for k in ("x", "y", "width", "height")):
        return "rectangle"
    if "text" in region and "start" not in region:
        return "textarea"
    return "unknown"
