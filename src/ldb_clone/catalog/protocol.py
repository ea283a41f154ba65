"""What the rest of ldb may ask of a catalog: the contract every backend implements.

Nothing outside ``ldb_clone.catalog`` imports a backend class or sees a connection; it
gets a ``CatalogBackend`` from ``open_catalog`` and uses only the methods below. Ids are
the hex ids of data objects, annotations, collections and transforms; timestamps
(``now``) are ISO 8601 text and ``user`` a user name, both given by the caller so that a
whole command stamps one time.

Errors: a catalog that cannot be opened or used raises ``InstanceError``; asking for
something inconsistent (a collection naming objects that are not indexed: its subclass
``NotIndexedError``; a version whose annotation text was not given) raises
``CatalogError``; a write on a read-only
catalog raises ``InstanceError`` (see ``require_writable``). Backends never let their
driver's exceptions escape for conditions a user can meet.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from ldb_clone.catalog.predicates import Predicate
from ldb_clone.catalog.records import (
    DatasetVersion,
    ObjectInfo,
    ObjectRecord,
    RecordCounts,
    StorageRow,
)

__all__ = ["CatalogBackend", "RootMember"]

# (object id, its current annotation id or None, that annotation's version or None)
RootMember = tuple[str, "str | None", "int | None"]


@runtime_checkable
class CatalogBackend(Protocol):
    """A catalog: objects, their paths, annotation versions and tags; storage locations;
    the stat cache; collections, datasets and transforms; settings."""

    read_only: bool
    """True when this process may read but not write the catalog."""

    has_server: bool
    """True when a server process does the catalog's work (PostgreSQL): a thread that
    waits for it leaves this process free to prepare the next batch (see batch_writer)."""

    # life cycle and transactions ----------------------------------------------------------

    def close(self) -> None:
        """Release the connection; the object is not used afterwards."""

    def reopen(self) -> CatalogBackend:
        """A second, independent connection to the same catalog, for another thread
        (``ldb index`` writes batches from one thread while it reads from this one). Open,
        use and close it in that one thread."""

    def transaction(self) -> AbstractContextManager[None]:
        """A write transaction: everything inside commits together or not at all (an
        exception rolls back and propagates). Nested uses join the outer one. Raises
        ``InstanceError`` on a read-only catalog."""

    def bulk_writes(self) -> AbstractContextManager[None]:
        """Many transactions in a row follow (indexing): the backend may defer upkeep
        (checkpoints, statistics) to the end. Each transaction still commits on its own."""

    def require_writable(self) -> None:
        """Raise ``InstanceError`` (one clear line) if this catalog is read-only."""

    # settings -----------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        """The value of a setting, or None."""

    def settings_with_prefix(self, prefix: str) -> dict[str, str]:
        """key -> value of the settings whose key starts with ``prefix``."""

    def set_setting(self, key: str, value: str) -> None:
        """Create or replace one setting (its own transaction, or the caller's)."""

    # storage locations --------------------------------------------------------------------

    def storage_locations(self) -> list[StorageRow]:
        """Every storage location, in the order they were given."""

    def replace_storage_locations(self, locations: Sequence[StorageRow]) -> None:
        """Make ``locations`` (in this order) the whole list of storage locations."""

    def objects_only_under(self, protocol: str, root: str) -> int:
        """How many objects have paths, all of them at or below ``root`` (``""``: every
        path of ``protocol``): the objects a storage location alone holds."""

    # stat cache ---------------------------------------------------------------------------

    def unchanged_files(
        self, protocol: str, kind: str, files: Sequence[tuple[str, int, int]]
    ) -> dict[str, str]:
        """path -> recorded digest, for the (path, size, mtime_ns) files whose size and
        mtime are exactly as last recorded under ``kind``."""

    def put_file_states(self, kind: str, rows: Iterable[tuple[str, str, int, int, str]]) -> None:
        """Record (protocol, path, size, mtime_ns, digest) rows of one kind, replacing
        what was recorded for the same (protocol, path, kind)."""

    # objects and annotations --------------------------------------------------------------

    def count_objects(self) -> int:
        """How many objects are indexed."""

    def known_objects(self, object_ids: Iterable[str]) -> set[str]:
        """The ids among these that are indexed."""

    def resolve_prefix(self, prefix: str) -> list[str]:
        """Object ids starting with ``prefix``, sorted, at most two (enough to tell that
        a prefix is ambiguous)."""

    def record_objects(
        self,
        records: Sequence[ObjectRecord],
        annotation_texts: dict[str, str],
        now: str,
        user: str,
    ) -> RecordCounts:
        """Store one batch of indexed objects in one transaction.

        New objects are created; known ones get ``last_indexed``/``last_indexed_by``
        ``now``/``user`` and, when given, their new type and current path. Each path is
        recorded with its metadata. A new annotation for an object becomes its next
        version (1, 2, ...) and its current one; an annotation the object had before
        becomes current again without a new version. ``annotation_texts`` holds the
        canonical JSON of annotations that may not be stored yet (id -> text); a new
        version whose annotation is neither stored nor given raises ``CatalogError``.
        Tags are added.
        """

    def touch_objects(
        self, object_ids: Collection[str], now: str, user: str, tags: Sequence[str] = ()
    ) -> None:
        """Mark objects as indexed again (and add tags) without changing anything else."""

    def unindex(self, object_ids: Collection[str]) -> int:
        """Forget objects: their paths, annotation versions, tags and stat-cache entries
        of kind ``object`` for their paths. Annotations stay (shared, content-addressed).
        Returns how many objects were removed."""

    def object_states(
        self, object_ids: Iterable[str]
    ) -> dict[str, tuple[str | None, str | None, str | None, str]]:
        """object id -> (current annotation id or None, protocol, path, type), if known."""

    def object_infos(self, object_ids: Iterable[str]) -> dict[str, ObjectInfo]:
        """object id -> what is known of it (unknown ids are left out)."""

    def object_paths(self, object_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """object id -> every (protocol, path) it was indexed at, oldest first (ties by
        path)."""

    def object_tags(self, object_ids: Iterable[str]) -> dict[str, list[str]]:
        """object id -> its tags, sorted (objects without tags are left out)."""

    def edit_object_tags(
        self,
        object_ids: Collection[str],
        add: Collection[str] = (),
        remove: Collection[str] = (),
        replace: bool = False,
    ) -> int:
        """Add and remove tags of many objects in one transaction; return how many of them
        had their tag set changed. ``add`` and ``remove`` must not overlap. With
        ``replace`` the tags end up exactly ``add`` (``remove`` is ignored). Unknown ids
        are skipped."""

    def current_annotations(self, object_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
        """object id -> (version, annotation id) of its current annotation, if it has one."""

    def current_annotations_at(
        self, protocol: str, paths: Iterable[str]
    ) -> dict[str, tuple[str, str]]:
        """path -> (object id, current annotation text) of objects whose current path is
        one of ``paths`` and that have an annotation."""

    def annotation_texts(self, annotation_ids: Iterable[str]) -> dict[str, str]:
        """annotation id -> canonical JSON text (unknown ids are left out)."""

    def version_numbers(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """For the objects named in ``pairs``: (object id, annotation id) -> that
        annotation's version number, for every annotation each object had."""

    def annotation_version_numbers(self, object_id: str) -> dict[str, int]:
        """annotation id -> version number, for every annotation the object had."""

    def root_members(self, where: Predicate | None = None) -> list[RootMember]:
        """Every object with its current annotation, sorted by object id; with ``where``,
        only those whose current annotation meets it (objects without one never do)."""

    def annotations_matching(self, annotation_ids: Collection[str], where: Predicate) -> set[str]:
        """The annotation ids among these whose JSON value meets ``where``."""

    # collections and datasets ----------------------------------------------------------------

    def save_collection(self, collection_id: str, members: dict[str, str | None]) -> int:
        """Store a collection (object id -> annotation id or None) once, under its
        content id; return the backend's key for it. Raises ``NotIndexedError`` (a
        ``CatalogError``) when a member names an object that is not indexed."""

    def collection_members(self, collection: int) -> dict[str, str | None]:
        """object id -> annotation id or None, by object id, of a stored collection."""

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        """Every version of a dataset, oldest first (empty when there is no such dataset)."""

    def add_dataset_version(
        self,
        name: str,
        collection: int,
        parent: int | None,
        auto_pull: bool,
        message: str,
        now: str,
        user: str,
        transform_mapping: int | None = None,
    ) -> int:
        """Append a version to a dataset (creating the dataset); return its number.
        Two writers appending at once get two consecutive numbers."""

    def dataset_names(self) -> list[tuple[str, int]]:
        """(name, latest version) of every dataset, by name."""

    def delete_dataset(self, name: str) -> bool:
        """Remove a dataset name and its versions; collections and transform mappings no
        version uses go too. False when there was no such dataset."""

    def datasets_containing(self, object_ids: Iterable[str]) -> dict[str, list[str]]:
        """object id -> ``ds:name.vN`` of every saved dataset version that contains it,
        by name and version."""

    # transforms ---------------------------------------------------------------------------

    def save_transforms(self, transforms: dict[str, str]) -> None:
        """Store transforms (id -> canonical JSON) that are not stored yet."""

    def transform_values(self, transform_ids: Iterable[str]) -> dict[str, Any]:
        """transform id -> its parsed value (``{"transform_type": ..., "value": ...}``)."""

    def save_transform_mapping(self, mapping_id: str, text: str) -> int:
        """Store a transform mapping (its canonical JSON) once; return the backend's key."""

    def transform_mapping(self, key: int | None) -> dict[str, list[str]]:
        """The mapping (object id -> transform ids) stored under ``key`` (empty for None
        or an unknown key)."""

    # stats (ldb stats): summaries per annotation, counted in the database -------------

    def annotation_summaries(self, annotation_ids: Collection[str], kind: int) -> dict[str, str]:
        """annotation id -> stored summary text of this ``kind``, for those that have one."""

    def annotation_values_flagged(
        self, annotation_ids: Collection[str], flag: Predicate | None
    ) -> Iterator[tuple[str, str, bool]]:
        """(id, JSON text, whether it meets ``flag``) of these annotations, read as they
        are iterated."""

    def store_annotation_summaries(self, summaries: dict[str, str], kind: int) -> None:
        """Keep summaries (annotation id -> text) of this ``kind``; a read-only catalog
        keeps none."""

    def file_type_counts(self, object_ids: Collection[str] | None) -> list[tuple[str, int, int]]:
        """(file type, objects, bytes of their current path) of these objects, or of every
        object (None)."""

    def tag_counts(self, object_ids: Collection[str] | None) -> dict[str, int]:
        """tag -> how many of these objects (or of every object: None) carry it."""

    def current_annotations_without_summary(self, kind: int) -> list[str]:
        """Ids of the current annotations that have no stored summary of this ``kind``."""

    def current_summary_counts(self, kind: int) -> list[tuple[str | None, bool, int]]:
        """(summary text, annotated, objects) over every object's current annotation,
        grouped by summary; the summary is None for objects without an annotation and for
        annotations without a stored summary of this ``kind``."""

    def current_version_counts(self) -> dict[int, int]:
        """version number -> objects whose current annotation is that version."""
