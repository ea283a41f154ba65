"""The public Python API: what notebooks, pipelines and tests call instead of ``ldb``.

Every function here is what a command does, without the printing: it takes an open
``Instance`` and returns a result object. The command line is built on the same library,
so an instance written here is the instance ``ldb`` sees, and the other way round.

Errors are ``LdbError`` subclasses (``ldb_clone.errors``) with a one-line message that
names the file, the option or the object at fault.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ldb_clone.errors import LdbError
from ldb_clone.filters import Filter, FilterError, validate
from ldb_clone.formats import INDEX_DEFAULT, INSTANTIATE_DEFAULT

if TYPE_CHECKING:
    from ldb_clone.indexing import IndexResult
    from ldb_clone.instance import Instance
    from ldb_clone.instantiation import InstantiateResult
    from ldb_clone.selection import Member

ROOT = "ds:root"
StrPath = str | os.PathLike[str]


def create_instance(
    path: StrPath, *, force: bool = False, hash_algorithm: str = "xxh3"
) -> Instance:
    """Create an instance at ``path`` (as ``ldb init``) and open it.

    ``force`` replaces an instance already there; a folder holding anything else is
    never replaced."""
    from ldb_clone.instance import init_instance, open_instance

    init_instance(Path(path), force=force, hash_algorithm=hash_algorithm)
    return open_instance(Path(os.path.normpath(path)))


def open_instance(path: StrPath | None = None) -> Instance:
    """Open the instance at ``path``, or the one ``ldb`` would use: ``LDB_DIR``, then the
    user's global config, then ``~/.ldb/personal_instance``. Close it with ``close()`` or
    use it as a context manager."""
    from ldb_clone.instance import open_instance as _open

    return _open(None if path is None else Path(path))


def add_storage(
    instance: Instance,
    url: StrPath,
    *,
    read_add: bool = False,
    options: dict[str, Any] | None = None,
    force: bool = False,
) -> str:
    """Register a storage location (a local folder or ``s3://bucket/prefix``) that data
    may be indexed from; ``options`` are fsspec options (endpoint, credentials...).
    Returns the message ``ldb add-storage`` prints."""
    from ldb_clone.storage import add_storage as _add

    return _add(instance, os.fspath(url), read_add=read_add, options=options, force=force)


def index(
    instance: Instance,
    paths: StrPath | Sequence[StrPath],
    *,
    format: str = INDEX_DEFAULT,
    params: dict[str, str] | None = None,
    tags: Sequence[str] = (),
    annotation_update: str | None = None,
    dry_run: bool = False,
) -> IndexResult:
    """Index data objects and annotations under ``paths`` (as ``ldb index``).

    ``format`` is a format name or alias (``ldb formats`` lists them) and ``params`` its
    ``-p`` parameters. The result counts found and new objects and annotations; its
    ``object_ids`` are the objects this run indexed."""
    from ldb_clone.indexing import index as _index

    return _index(
        instance,
        _paths(paths),
        fmt=format,
        params=dict(params or {}),
        add_tags=list(tags),
        annotation_update=annotation_update,
        dry_run=dry_run,
    )


def select(
    instance: Instance,
    sources: str | Sequence[str] = ROOT,
    *,
    query: str | None = None,
    jquery: str | None = None,
    path: str | None = None,
    tags: str | Sequence[str] = (),
    no_tags: str | Sequence[str] = (),
    limit: int | None = None,
    filters: Sequence[Filter] = (),
) -> list[Member]:
    """The members (object id, annotation id, version) the sources name, filtered.

    ``sources`` are what ``ldb list`` takes: ``ds:root``, ``ds:NAME[.vN]``, ``ws:DIR``,
    ``id:HASH`` or storage paths. The keyword filters run in the order of this signature
    (query, jquery, path regex, tags, no-tags, limit); for another order, or for
    ``--file``, ``--sample``, ``--shuffle`` and ``--pipe``, pass ``filters`` (a list of
    ``Filter(kind, arg)``, run after the keyword ones, in the order given)."""
    from ldb_clone.filters import select_filtered

    steps: list[Filter] = []
    if query is not None:
        steps.append(Filter("query", query))
    if jquery is not None:
        steps.append(Filter("jquery", jquery))
    if path is not None:
        steps.append(Filter("path", path))
    if tags:
        steps.append(Filter("tag", _tag_list(tags)))
    if no_tags:
        steps.append(Filter("no_tag", _tag_list(no_tags)))
    if limit is not None:
        steps.append(Filter("limit", limit))
    steps.extend(filters)
    validate(steps)  # bad arguments fail here, before anything is read
    return select_filtered(instance, _sources(sources), steps)


def annotations(instance: Instance, members: Iterable[Member]) -> Iterator[tuple[str, Any]]:
    """(object id, annotation value) for each member, in order; the value is None for an
    object without an annotation. Values are plain JSON (dicts, lists, strings...)."""
    from ldb_clone.views import annotation_values

    yield from annotation_values(instance, list(members))


def instantiate(
    instance: Instance,
    members: Sequence[Member],
    target: StrPath,
    *,
    format: str = INSTANTIATE_DEFAULT,
    params: dict[str, str] | None = None,
    force: bool = False,
    annotations_only: bool = False,
    dry_run: bool = False,
) -> InstantiateResult:
    """Write the members into ``target`` in ``format`` (as ``ldb instantiate``): a new or
    empty folder, or a URL. The folder is written completely or not at all."""
    from ldb_clone.errors import FormatError
    from ldb_clone.formats import AUTO, canonical_name
    from ldb_clone.instantiation import instantiate as _instantiate

    name = canonical_name(format)
    if name == AUTO:
        raise FormatError("auto-detect is for indexing: name the format to write")
    return _instantiate(
        instance,
        list(members),
        os.fspath(target),
        name,
        dict(params or {}),
        force=force,
        annotations_only=annotations_only,
        dry_run=dry_run,
    )


def _paths(paths: StrPath | Sequence[StrPath]) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def _sources(sources: str | Sequence[str]) -> list[str]:
    return [sources] if isinstance(sources, str) else list(sources) or [ROOT]


def _tag_list(tags: str | Sequence[str]) -> str:
    """Tags as the command line's comma-separated list (what ``Filter`` checks)."""
    if isinstance(tags, str):
        return tags
    if any("," in tag for tag in tags):
        raise FilterError(f"Invalid tags {list(tags)!r}: a tag holds no comma")
    return ",".join(tags)


__all__ = [
    "Filter",
    "LdbError",
    "add_storage",
    "annotations",
    "create_instance",
    "index",
    "instantiate",
    "open_instance",
    "select",
]
