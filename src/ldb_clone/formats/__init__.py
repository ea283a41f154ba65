"""The format registry: every format by name and alias, each declared by its plug-in.

A format is a ``Format`` (``formats.declaration``) declared in its own subpackage's
``__init__`` (name, aliases, description, parameters, what it carries, what it can do,
how auto-detection recognises it); its parse/export code sits beside it and is imported
on first use. The declarations are the one source of names and aliases: the ``-m`` help
text, ``canonical_name`` and ``ldb formats`` all read them, and none imports a format's
code (``ldb --help`` stays fast). Third-party packages add formats through the
``ldb_clone.formats`` entry-point group (name -> "module:attr" of their ``Format``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ldb_clone.catalog.predicates import AnyOf, Predicate
from ldb_clone.errors import FormatError

if TYPE_CHECKING:
    from ldb_clone.formats.declaration import Format

AUTO = "auto-detect"
AUTO_ALIAS = "auto"
INDEX_DEFAULT = AUTO_ALIAS  # as upstream: ``ldb index`` auto-detects
INSTANTIATE_DEFAULT = "bare"  # as upstream: ``ldb instantiate`` writes bare pairs
ENTRY_POINT_GROUP = "ldb_clone.formats"

# NOTE: dotted paths of the declarations (each subpackage's __init__, which imports no
# parse/export code), in the order ``ldb formats`` lists them.
BUILTIN: tuple[str, ...] = (
    "ldb_clone.formats.pairs:STRICT_PAIRS",
    "ldb_clone.formats.pairs:BARE_PAIRS",
    "ldb_clone.formats.tensorflow_inferred:TENSORFLOW_INFERRED",
    "ldb_clone.formats.annotation_only:ANNOTATION_ONLY",
    "ldb_clone.formats.label_studio:LABEL_STUDIO",
    "ldb_clone.formats.platform:PLATFORM",
    "ldb_clone.formats.text:TEXT",
    "ldb_clone.formats.coco:COCO",
    "ldb_clone.formats.yolo:YOLO",
    "ldb_clone.formats.voc:VOC",
)
_formats: dict[str, Format] = {}
_aliases: dict[str, str] = {AUTO_ALIAS: AUTO}
_builtin_read = False
_entry_points_read = False


def _load(dotted: str, name: str) -> Format:
    module_name, attr = dotted.split(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise FormatError(f"Unable to load format {name!r}: {exc}") from exc


def _add(fmt: Format) -> None:
    """Register a format; a name or alias already taken keeps its first owner."""
    _formats.setdefault(fmt.name, fmt)
    for alias in fmt.aliases:
        _aliases.setdefault(alias, fmt.name)


def _registry() -> dict[str, Format]:
    global _builtin_read
    if not _builtin_read:
        _builtin_read = True
        for dotted in BUILTIN:
            _add(_load(dotted, dotted))
    return _formats


def _read_entry_points() -> None:
    global _entry_points_read
    _registry()
    if _entry_points_read:
        return
    _entry_points_read = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _formats:
            fmt = _load(ep.value, ep.name)
            _add(fmt)
            if ep.name != fmt.name:
                _aliases.setdefault(ep.name, fmt.name)


def canonical_name(name: str) -> str:
    """The full name of a format or alias; an unknown name is a FormatError."""
    registry = _registry()
    name = name.strip().lower()
    for spelling in (name, name.replace("_", "-")):
        spelling = _aliases.get(spelling, spelling)
        if spelling == AUTO or spelling in registry:
            return spelling
    _read_entry_points()
    name = _aliases.get(name, name)
    if name in registry:
        return name
    raise FormatError(f"Unknown format {name!r}. Choose from: {', '.join(index_choices())}")


def get_format(name: str) -> Format:
    name = canonical_name(name)
    if name == AUTO:
        raise FormatError("auto-detect is not a concrete format")
    return _registry()[name]


def names() -> list[str]:
    """The full name of every registered format, in registration order."""
    return list(_registry())


def all_formats() -> list[Format]:
    """Every registered format (built-in, then entry points)."""
    _read_entry_points()
    return list(_registry().values())


def short_name(name: str) -> str:
    """The shortest way to write a format on the command line: its name or an alias."""
    fmt = get_format(name)
    return min([fmt.name, *fmt.aliases], key=len)


def format_choices_help(default: str) -> str:
    """The ``-m`` option's help: every format by its short name, without importing any
    format's code (``ldb --help`` stays fast)."""
    short = [short_name(name) for name in names()]
    first = AUTO_ALIAS if canonical_name(default) == AUTO else short_name(default)
    rest = [name for name in short if name != first]
    return f"{first} (default), {', '.join(rest)} (or full names; see ldb formats)."


def index_choices() -> list[str]:
    choices = [AUTO_ALIAS, AUTO]
    for fmt in _registry().values():
        for alias in fmt.aliases:
            if alias not in choices:
                choices += [alias, fmt.name]
    choices += [name for name in _registry() if name not in choices]
    return choices


def instantiate_choices() -> list[str]:
    """What ``instantiate -m`` and ``get -m`` accept: every name but auto-detect's."""
    return [name for name in index_choices() if name not in (AUTO_ALIAS, AUTO)]


def unlabelled_predicate() -> Predicate | None:
    """One predicate matching the annotations that any built-in format declares
    unlabelled (``Format.unlabelled``), or None. ldb status counts them as unlabelled."""
    rules = tuple(f.unlabelled for f in _registry().values() if f.unlabelled is not None)
    return AnyOf(rules) if rules else None
