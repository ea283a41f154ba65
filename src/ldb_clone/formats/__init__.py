"""The format registry: every format by name and alias, imported on first use.

A format is a ``Format`` object in its own module, which declares its parameters (with
defaults and help), what it carries and its description; third-party packages can add
formats through the ``ldb_clone.formats`` entry-point group (name -> "module:attr").
The two tables below (names and aliases) are the one list of formats: ``canonical_name``,
the ``-m`` help text (``format_choices_help``) and ``ldb formats`` all read them.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import TYPE_CHECKING

from ldb_clone.catalog.predicates import (
    AllOf,
    AnyOf,
    EmptyArray,
    FieldEquals,
    FieldType,
    HasField,
    NoElement,
    Not,
    Predicate,
)
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
    "voc": "ldb_clone.formats.voc:VOC",
}
ALIASES: dict[str, str] = {
    "auto": AUTO,
    "strict": "strict-pairs",
    "bare": "bare-pairs",
    "infer": "tensorflow-inferred",
    "annot": "annotation-only",
    "platform-dataset": "platform",
    "text-annotation": "text",
    # as Datumaro (voc, voc_detection), Roboflow and label-studio-converter name it;
    # canonical_name also reads "_" as "-"
    "pascal-voc": "voc",
    "voc-detection": "voc",
}
# What the label-studio exporter asks, in order, before it requires a Label Studio task:
# "module:function" (imported on first use), each (ExportContext, ExportItem) -> the
# task made of an annotation of another format, or None when it is not one.
LABEL_STUDIO_CONVERTERS: list[str] = [
    "ldb_clone.formats.text:to_label_studio_task",
    "ldb_clone.formats.convert:to_label_studio_task",  # labels and boxes (formats.shapes)
]
# What each format stores for objects that are not labelled yet (ldb status counts them
# as unlabelled): a catalog predicate on the annotation JSON, which the catalog answers in
# its database. Kept here, not in the format modules, so that status imports none.
UNLABELLED: dict[str, Predicate] = {
    # a platform image record: classification with a null annotation, or detection with
    # an empty annotations list
    "platform": AnyOf(
        (
            AllOf(
                (
                    FieldEquals(("task_type",), "image_classification"),
                    FieldType(("annotation",), "null"),
                )
            ),
            AllOf((FieldEquals(("task_type",), "object_detection"), EmptyArray(("annotations",)))),
        )
    ),
    # a Label Studio task whose annotations list holds none that was not cancelled (a task
    # sent to Label Studio unlabelled, or skipped there); was_cancelled missing, null,
    # false or 0 is not cancelled
    "label-studio": AllOf(
        (
            FieldType(("data",), "object"),
            FieldType(("annotations",), "array"),
            NoElement(
                ("annotations",),
                AllOf(
                    (
                        FieldType((), "object"),
                        AnyOf(
                            (
                                Not(HasField(("was_cancelled",))),
                                FieldType(("was_cancelled",), "null"),
                                FieldEquals(("was_cancelled",), False),
                                FieldEquals(("was_cancelled",), 0),
                            )
                        ),
                    )
                ),
            ),
        )
    ),
    # a text-annotation document with no annotation under any key (what a text task that
    # came back from Label Studio without annotations becomes)
    "text": AllOf(
        (
            FieldType(("annotationsData",), "object"),
            FieldType(("annotations",), "object"),
            NoElement(("annotations",), Not(EmptyArray(()))),
        )
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
    for spelling in (name, name.replace("_", "-")):
        spelling = ALIASES.get(spelling, spelling)
        if spelling == AUTO or spelling in FORMATS:
            return spelling
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
        fmt: Format = getattr(module, attr)
        aliases = [alias for alias, full in ALIASES.items() if full == name]
        aliases += [alias for alias in fmt.aliases if alias not in aliases]
        _loaded[name] = replace(fmt, aliases=tuple(aliases))
    return _loaded[name]


def all_formats() -> list[Format]:
    """Every registered format (built-in, then entry points), loaded."""
    _read_entry_points()
    return [get_format(name) for name in FORMATS]


def short_name(name: str) -> str:
    """The shortest way to write a format on the command line: its name or an alias."""
    names = [name, *(alias for alias, full in ALIASES.items() if full == name)]
    return min(names, key=len)


def format_choices_help(default: str) -> str:
    """The ``-m`` option's help: every format by its short name, without importing any
    format module (``ldb --help`` stays fast)."""
    names = [short_name(name) for name in FORMATS]
    first = short_name(canonical_name(default))
    rest = [name for name in names if name != first]
    return f"{first} (default), {', '.join(rest)} (or full names; see ldb formats)."


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


def unlabelled_predicate() -> Predicate | None:
    """One predicate matching every format's unlabelled annotations (or None)."""
    if not UNLABELLED:
        return None
    return AnyOf(tuple(UNLABELLED.values()))
