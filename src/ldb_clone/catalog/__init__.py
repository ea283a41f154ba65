"""The catalog: every indexed object, path, annotation version, tag, storage location,
dataset and transform, behind one typed protocol (``CatalogBackend``).

``open_catalog`` picks the backend; the rest of ldb uses only the protocol's methods,
the records of ``catalog.records`` and the predicates of ``catalog.predicates``. No SQL
is written outside this package.

- ``protocol``   what the rest of the code may ask of a catalog
- ``records``    the dataclasses a catalog takes and returns
- ``predicates`` conditions on annotation JSON that a backend answers in its database
- ``schema``     the tables and the migrations between schema versions
- ``sqlite``     the embedded default backend (one SQLite file in the instance folder),
  with ``sqlite_open`` (opening, checks, migrations), ``sqlite_record`` (writing an
  indexed batch), ``sqlite_predicates`` (predicates -> SQL) and ``sqlite_sql`` (shared
  SQL fragments)
"""

from __future__ import annotations

import os
from pathlib import Path

from ldb_clone.catalog.protocol import CatalogBackend, RootMember
from ldb_clone.catalog.records import (
    DatasetVersion,
    ObjectInfo,
    ObjectRecord,
    PathRecord,
    RecordCounts,
    StorageRow,
)
from ldb_clone.catalog.schema import SCHEMA_VERSION
from ldb_clone.catalog.sqlite import SQLiteCatalog
from ldb_clone.catalog_url import is_postgres_url

__all__ = [
    "SCHEMA_VERSION",
    "Catalog",
    "CatalogBackend",
    "DatasetVersion",
    "ObjectInfo",
    "ObjectRecord",
    "PathRecord",
    "RecordCounts",
    "RootMember",
    "SQLiteCatalog",
    "StorageRow",
    "open_catalog",
]

# The SQLite backend under its historical name.
Catalog = SQLiteCatalog


def open_catalog(location: str | os.PathLike[str], create: bool = False) -> CatalogBackend:
    """Open (or with ``create``, create) the catalog at ``location``: for now the path
    of an SQLite file. Raises ``InstanceError`` when it cannot be used.

    NOTE: the one place that chooses a backend; a server URL (a team catalog) is told
    apart here from a file path.
    """
    if isinstance(location, str) and is_postgres_url(location):
        from ldb_clone.catalog_url import open_postgres  # imports psycopg only now

        return open_postgres(location, create=create)
    return SQLiteCatalog(Path(location), create=create)
