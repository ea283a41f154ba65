"""The stat cache: a file whose size and mtime are exactly as last recorded keeps the
digest recorded for it, so unchanged files are not read and hashed again.

The catalog stores the records (``put_file_states``, ``unchanged_files``); this is the
one place that looks listings up in it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ldb_clone.catalog import CatalogBackend, PathRecord

OBJECT_KIND = "object"  # a data object file -> its object id
JSON_KIND = "json"  # an annotation file -> the digest of its content


def cached_digests(
    catalog: CatalogBackend, entries: Iterable[PathRecord], kind: str
) -> dict[tuple[str, str], str]:
    """(protocol, path) -> recorded digest, for the entries whose size and mtime match
    the cache (entries without an mtime never do)."""
    by_protocol: dict[str, list[tuple[str, int, int]]] = {}
    for entry in entries:
        if entry.mtime_ns is not None and entry.size is not None:
            by_protocol.setdefault(entry.protocol, []).append(
                (entry.path, entry.size, entry.mtime_ns)
            )
    result: dict[tuple[str, str], str] = {}
    for protocol, files in by_protocol.items():
        for path, digest in catalog.unchanged_files(protocol, kind, files).items():
            result[(protocol, path)] = digest
    return result
