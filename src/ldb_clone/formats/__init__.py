"""The format registry: every format by name and alias, imported on first use.

A format is a ``Format`` object in its own module; third-party packages can add
formats through the ``ldb_clone.formats`` entry-point group (name -> "module:attr").
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ldb_clone.errors import FormatError

if TYPE_CHECKING:
    from ldb_clone.formats.base import Format

AUTO = "auto-detect"

# NOTE: dotted paths, not imports, so that `ldb --help` imports no format module.
FORMATS: dict[str, str] = {
    "strict-pairs": "ldb_clone.formats.pairs:STRICT_PAIRS",
    "bare-pairs": "ldb_clone.formats.pairs:BARE_PAIRS",
    "tensorflow-inferred": "ldb_clone.formats.tensorflow_inferred:TENSORFLOW_INFERRED",
    "annotation-only": "ldb_clone.formats.annotation_only:ANNOTATION_ONLY",
    "label-studio": "ldb_clone.formats.label_studio:LABEL_STUDIO",
    "platform": "ldb_clone.formats.platform:PLATFORM",
    "text": "ldb_clone.formats.text:TEXT",
    "coco": "ldb_clone.formats.coco:COCO",
    "yolo": "ldb_clone.formats.yolo:YOLO",
}
ALIASES: dict[str, str] = {
    "auto": AUTO,
    "strict": "strict-pairs",
    "bare": "bare-pairs",
    "infer": "tensorflow-inferred",
    "annot": "annotation-only",
    "platform-dataset": "platform",
    "text-annotation": "text",
}
# What the label-studio exporter asks, in order, before it requires a Label Studio task:
# "module:function" (imported on first use), each (ExportContext, ExportItem) -> the
# task made of an annotation of another format, or None when it is not one.
LABEL_STUDIO_CONVERTERS: list[str] = [
    "ldb_clone.formats.text:to_label_studio_task",
    "ldb_clone.formats.convert:to_label_studio_task",  # labels and boxes (formats.shapes)
]
# An SQLite condition on an annotation's JSON ``value`` column for the annotations a
# format stores for objects that are not labelled yet (ldb status counts them as
# unlabelled). Kept here, not in the format modules, so that status imports none.
UNLABELLED_SQL: dict[str, str] = {
    # a platform image record: classification with a null annotation, or detection with
    # an empty annotations list. NOTE: instr() skips the JSON parse of every annotation
    # that cannot be one (canonical JSON has no space after the colon); json_valid()
    # keeps an annotation holding NaN (which SQLite's JSON functions reject) from
    # failing the whole statement.
    "platform": (
        'CASE WHEN instr(value, \'"task_type":"\') > 0 AND json_valid(value) THEN '
        "(json_extract(value, '$.task_type') = 'image_classification'"
        " AND json_type(value, '$.annotation') = 'null')"
        " OR (json_extract(value, '$.task_type') = 'object_detection'"
        " AND json_type(value, '$.annotations') = 'array'"
        " AND json_array_length(value, '$.annotations') = 0) ELSE 0 END"
    ),
}
_loaded: dict[str, Format] = {}
_entry_points_read = False


def _read_entry_points() -> None:
    global _entry_points_read
    if _entry_points_read:
        return
    _entry_points_read = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="ldb_clone.formats"):
        FORMATS.setdefault(ep.name, ep.value)


def canonical_name(name: str) -> str:
    """The full name of a format or alias; an unknown name is a FormatError."""
    name = name.strip().lower()
    name = ALIASES.get(name, name)
    if name == AUTO or name in FORMATS:
        return name
    _read_entry_points()
    if name in FORMATS:
        return name
    raise FormatError(f"Unknown format {name!r}. Choose from: {', '.join(index_choices())}")


def get_format(name: str) -> Format:
    name = canonical_name(name)
    if name == AUTO:
        raise FormatError("auto-detect is not a concrete format")
    if name not in _loaded:
        module_name, attr = FORMATS[name].split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise FormatError(f"Unable to load format {name!r}: {exc}") from exc
        _loaded[name] = getattr(module, attr)
    return _loaded[name]


def index_choices() -> list[str]:
    choices = ["auto", AUTO]
    for alias, full in ALIASES.items():
        if full != AUTO and alias not in choices:
            choices += [alias, full]
    choices += [name for name in FORMATS if name not in choices]
    return choices


def instantiate_choices() -> list[str]:
    """What ``instantiate -m`` and ``get -m`` accept: every name but auto-detect's."""
    return [name for name in index_choices() if name not in ("auto", AUTO)]


def unlabelled_condition() -> str | None:
    """One SQLite condition matching every format's unlabelled annotations (or None)."""
    if not UNLABELLED_SQL:
        return None
    return " OR ".join(f"({condition})" for condition in UNLABELLED_SQL.values())
