"""What a format declares about itself: ``Format`` and its ``Param``s.

Kept apart from ``formats.base`` (what parsing works with) and from every format's
parse/export code so that the registry can read all declarations (names, aliases, help)
without importing any of that: ``ldb --help`` needs the names and stays fast. A format's
operations may therefore be given as ``"module:function"`` strings, imported on first call.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ldb_clone.errors import FormatError

if TYPE_CHECKING:
    from ldb_clone.catalog.predicates import Predicate

PARAM_KEY = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$")
# What a format's annotations can hold, for ``ldb formats`` (``Format.carries``)
CARRIES = ("labels", "boxes", "masks", "spans", "records")


@dataclass(frozen=True)
class Param:
    """One ``-p KEY=VALUE`` parameter a format takes: a line of help, and its default as
    it would be written on the command line (None when leaving it out means something
    the help says, such as "read it from the data")."""

    help: str
    default: str | None = None


class Deferred:
    """A function named ``"module:attr"``, imported when it is first called."""

    __slots__ = ("_function", "target")

    def __init__(self, target: str) -> None:
        self.target = target
        self._function: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._function is None:
            module_name, attr = self.target.split(":")
            self._function = getattr(importlib.import_module(module_name), attr)
        return self._function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Deferred({self.target!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Deferred) and other.target == self.target

    def __hash__(self) -> int:
        return hash(self.target)


Operation = Callable[..., Any] | str | None


@dataclass(frozen=True)
class Format:
    """A data format, as its plug-in declares it: the one source of its name, aliases,
    help (``description``, ``params``), what it carries (from ``CARRIES``) and does.

    ``parse`` (ParseContext, listings -> IndexItems) and ``export`` (ExportContext, items
    -> ExportPlan) are None for a format that cannot index or instantiate. ``detect``
    (ParseContext, listings -> bool) says whether auto-detection should pick this format;
    formats are asked in ascending ``detect_priority`` and the first yes wins. ``params``
    maps each parameter to its ``Param`` (a plain help string is a ``Param`` without
    default). The remaining flags declare where a format behaves differently.
    """

    name: str
    aliases: tuple[str, ...] = ()
    params: Mapping[str, Param | str] = field(default_factory=dict)
    parse: Operation = None
    description: str = ""
    export: Operation = None
    carries: tuple[str, ...] = ()
    detect: Operation = None
    detect_priority: int = 100
    # False: ``index --annotation-update merge`` is refused (its annotations are documents
    # that a key-by-key merge would corrupt)
    merges: bool = True
    # True: its annotations are the user's own files taken as written, so the index guard
    # against losing labels (``annotation_guard``) does not check them
    as_written: bool = False
    # True: as upstream, ``ldb index`` counts as found only the data objects it had to
    # read and hash, not those named by an indexed id
    counts_read_objects_only: bool = False
    # upstream LDB's output quirks: an empty line after "Data format:" when named
    # explicitly; a progress bar (that leaves an empty line) when instantiating
    leading_blank_line: bool = False
    export_progress_bar: bool = True
    # what it stores for an object not labelled yet (ldb status counts these as
    # unlabelled): a catalog predicate on the annotation, answered in the database
    unlabelled: Predicate | None = None

    def __post_init__(self) -> None:
        declared = {
            key: value if isinstance(value, Param) else Param(str(value))
            for key, value in self.params.items()
        }
        object.__setattr__(self, "params", declared)
        for name in ("parse", "export", "detect"):
            operation = getattr(self, name)
            if isinstance(operation, str):
                object.__setattr__(self, name, Deferred(operation))

    def check_params(self, params: dict[str, str]) -> dict[str, str]:
        for key in params:
            if key in self.params:
                continue
            shown = key if PARAM_KEY.match(key) else repr(key)
            if not self.params:
                raise FormatError(
                    f"Invalid parameter: {shown}. No parameters are supported for {self.name}"
                )
            raise FormatError(
                f"Invalid parameter: {shown}. Supported parameters for {self.name} are: "
                + ", ".join(self.params)
            )
        return params
