"""What every format plug-in works with: index items, the parse context, parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ldb_clone.errors import FormatError

# declared in formats.declaration; re-exported for the format modules
from ldb_clone.formats.declaration import CARRIES as CARRIES
from ldb_clone.formats.declaration import PARAM_KEY as PARAM_KEY
from ldb_clone.formats.declaration import Format as Format
from ldb_clone.formats.declaration import Param as Param
from ldb_clone.fs import FileEntry, Listing
from ldb_clone.strict_json import load_json


class _NoAnnotation:
    def __repr__(self) -> str:
        return "NO_ANNOTATION"


NO_ANNOTATION: Any = _NoAnnotation()


@dataclass(slots=True)
class IndexItem:
    """One data object found by a format, with what it knows of its annotation.

    Exactly one of ``data`` (a file to hash) and ``object_id`` (an id already known
    to the catalog) is set. The annotation comes from one of: ``annotation`` (a value),
    ``annotation_file`` (a JSON file whose whole content is the annotation; the indexer
    reads it only when the stat cache cannot vouch for it) or ``finalize`` (called with
    the object id and the id key, for annotations that record the object's own id).
    """

    data: FileEntry | None = None
    object_id: str | None = None
    annotation: Any = NO_ANNOTATION
    annotation_file: FileEntry | None = None
    finalize: Callable[[str, str], Any] | None = None
    expected_object_id: str | None = None  # the id the hashed file must have, if known
    # transform records the annotation carried (annotation-only ``ldb-meta.transforms``)
    transforms: list[dict[str, Any]] | None = None

    @property
    def has_annotation(self) -> bool:
        return (
            self.annotation is not NO_ANNOTATION
            or self.annotation_file is not None
            or self.finalize is not None
        )


class ParseContext(Protocol):
    """What the indexer offers a format while it parses."""

    id_key: str  # "xxh3_128" or "md5": the key naming this instance's object ids
    params: dict[str, str]

    def read_json(self, entry: FileEntry) -> Any: ...

    def read_bytes(self, entry: FileEntry) -> bytes:
        """A file's bytes, read with its storage location's options."""
        ...

    def unchanged(self, entries: Iterable[FileEntry], annotations: bool) -> set[tuple[str, str]]:
        """(protocol, path) of the entries the stat cache vouches for (same size and mtime
        as when last indexed, as data objects or, with ``annotations``, as annotation
        files): a format may skip checking those again."""
        ...

    def resolve(
        self, url: str, base: FileEntry | None = None, named_in: str | None = None
    ) -> FileEntry | None:
        """Stat a path or URL named inside an annotation (relative to ``base``'s folder).

        A path outside every storage location (see ``confine``) is a NotInStorageError
        naming the path and ``named_in`` (where the annotation names it; default: the
        URL of ``base``), raised before anything is read."""
        ...

    def prefetch(self, requests: Iterable[tuple[str, FileEntry | None]]) -> None:
        """Stat many (url, base) at once, so that ``resolve`` of each is answered at once
        (remote URLs are looked up concurrently rather than one request after another)."""
        ...

    def known_objects(self, ids: Iterable[str]) -> set[str]: ...

    def storage_roots(self) -> list[str]:
        """The URLs of the instance's storage locations, in their configured order."""
        ...

    def store_text(self, text: str, where: str) -> FileEntry:
        """Keep a text that an annotation holds inline as a data object file: UTF-8, in
        the read-add location, named by its content's id; an error naming ``where`` and
        how to add a read-add location when there is none."""
        ...

    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def note_unpaired(self, count: int) -> None:
        """Report data files left out because they have no annotation."""
        ...

    def recall(self, key: str) -> str | None:
        """A value a format remembered at an earlier successful indexing, or None."""
        ...

    def remember(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` for later runs: it is stored only when this run
        finishes successfully, so an interrupted run leaves the old value (and a format
        that trusts it to skip work does that work again)."""
        ...


def parse_bool_param(params: dict[str, str], key: str, default: bool = False) -> bool:
    value = params.get(key)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise FormatError(f"Invalid value for parameter {key}: {value!r} (expected true or false)")


def load_json_bytes(data: bytes, url: str) -> Any:
    """A format's JSON document; any problem is a ``FormatError`` naming the file."""
    return load_json(data, url)


def all_entries(listings: list[Listing]) -> list[FileEntry]:
    """Entries of every listing, each path once, in listing order."""
    if len(listings) == 1:
        return listings[0].entries
    seen: set[tuple[str, str]] = set()
    result = []
    for listing in listings:
        for entry in listing.entries:
            key = (entry.protocol, entry.path)
            if key not in seen:
                seen.add(key)
                result.append(entry)
    return result
