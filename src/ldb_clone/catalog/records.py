"""The records a catalog takes and gives back: plain dataclasses, no database in sight.

Every backend speaks these; the rest of the code never sees a database row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, kw_only=True)
class FileStat:
    """What the file system said about a file; any of it may be unknown (None)."""

    size: int | None = None
    mtime_ns: int | None = None
    atime_ns: int | None = None
    ctime_ns: int | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None


@dataclass(slots=True)
class PathRecord(FileStat):
    """Where an object was seen, with what the file system said about it (keywords).

    ``ldb_clone.fs.FileEntry`` is a ``PathRecord`` (with helpers for listings), so a
    listing is recorded without copying.
    """

    protocol: str
    path: str  # absolute local path, or the fsspec path without protocol ("bucket/key")


@dataclass(slots=True)
class ObjectRecord:
    """One indexed occurrence of a data object, as the indexer hands it to the catalog."""

    object_id: str
    type: str = ""
    path: PathRecord | None = None  # None: no path (a file outside storage)
    annotation_id: str | None = None  # None: nothing to record about annotations
    annotation_mtime_ns: int | None = None
    tags: Sequence[str] = ()
    # True when the stat cache vouched for the path: the catalog already holds it with
    # this size and mtime, so it need not be looked up
    path_unchanged: bool = False


@dataclass(slots=True)
class RecordCounts:
    """What one ``record_objects`` batch added."""

    new_objects: int = 0
    new_annotations: int = 0
    new_paths: int = 0


@dataclass(slots=True)
class StorageRow:
    """A storage location as the catalog keeps it (``ldb_clone.storage.StorageLocation``
    is one, with helpers)."""

    protocol: str
    path: str
    read_add: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ObjectInfo(FileStat):
    """What the catalog knows of one object: its identity, when it was indexed, and its
    current path (None when it has none) with that path's file-system metadata."""

    id: str
    type: str
    first_indexed: str
    last_indexed: str
    last_indexed_by: str
    protocol: str | None
    path: str | None
    current_version: int | None


@dataclass(slots=True)
class DatasetVersion:
    """One saved version of a dataset."""

    version: int
    collection: int  # the backend's key of its collection (see ``collection_members``)
    collection_id: str
    size: int
    parent: int | None
    auto_pull: bool
    message: str
    committed: str
    committed_by: str
    transform_mapping: int | None  # the backend's key (see ``transform_mapping``)
    transform_mapping_id: str | None
