"""The catalog's tables, as SQLite DDL, and the migrations between schema versions.

``MIGRATIONS[n]`` takes a catalog from version n to n + 1; ``PRAGMA user_version``
records how many ran. Another backend keeps the same tables and columns in its own
dialect and the same version numbers.
"""

from __future__ import annotations

# NOTE: entities have an integer key and a unique hash id. Rows that point at objects
# and annotations use the integer, so indexing appends to those tables instead of
# inserting at random places in B-trees keyed by hashes (which rewrote most pages of a
# large catalog on every commit). Only the two unique hash indexes stay random.
SCHEMA_V1 = """
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE storage_locations (
    protocol TEXT NOT NULL,
    path TEXT NOT NULL,
    read_add INTEGER NOT NULL DEFAULT 0,
    options TEXT NOT NULL DEFAULT '{}',
    position INTEGER NOT NULL,
    PRIMARY KEY (protocol, path)
) WITHOUT ROWID;
CREATE TABLE objects (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL DEFAULT '',
    first_indexed TEXT NOT NULL,
    last_indexed TEXT NOT NULL,
    last_indexed_by TEXT NOT NULL,
    protocol TEXT,
    path TEXT,
    current_version INTEGER
);
CREATE TABLE object_paths (
    object INTEGER NOT NULL REFERENCES objects(pk) ON DELETE CASCADE,
    protocol TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    atime_ns INTEGER,
    ctime_ns INTEGER,
    mode INTEGER,
    uid INTEGER,
    gid INTEGER,
    first_indexed TEXT NOT NULL,
    last_indexed TEXT NOT NULL,
    PRIMARY KEY (object, protocol, path)
) WITHOUT ROWID;
CREATE TABLE annotations (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL
);
CREATE TABLE annotation_versions (
    object INTEGER NOT NULL REFERENCES objects(pk) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    annotation INTEGER NOT NULL REFERENCES annotations(pk),
    first_indexed TEXT NOT NULL,
    mtime_ns INTEGER,
    PRIMARY KEY (object, version),
    UNIQUE (object, annotation)
) WITHOUT ROWID;
CREATE TABLE object_tags (
    object INTEGER NOT NULL REFERENCES objects(pk) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (object, tag)
) WITHOUT ROWID;
CREATE TABLE file_states (
    protocol TEXT NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (protocol, path, kind)
) WITHOUT ROWID;
"""

# Schema migrations, applied in order; PRAGMA user_version records how many ran.
# Version 2: datasets. A collection is a content-addressed set of (object, annotation)
# members; a dataset is a named, append-only list of versions, each pointing at one.
SCHEMA_V2 = """
CREATE TABLE collections (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL
);
CREATE TABLE collection_members (
    collection INTEGER NOT NULL REFERENCES collections(pk) ON DELETE CASCADE,
    object INTEGER NOT NULL REFERENCES objects(pk),
    annotation INTEGER REFERENCES annotations(pk),
    PRIMARY KEY (collection, object)
) WITHOUT ROWID;
CREATE INDEX collection_members_by_object ON collection_members (object);
CREATE TABLE datasets (
    pk INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE dataset_versions (
    dataset INTEGER NOT NULL REFERENCES datasets(pk) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    collection INTEGER NOT NULL REFERENCES collections(pk),
    parent INTEGER,
    auto_pull INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    committed TEXT NOT NULL,
    committed_by TEXT NOT NULL,
    PRIMARY KEY (dataset, version)
) WITHOUT ROWID;
"""

# Version 3: transforms. A transform is content-addressed by its canonical JSON
# ({"transform_type", "value"}); a transform mapping (object id -> the ids of its
# transforms, only for objects whose set is not the default) is stored once per content,
# and each dataset version points at one (NULL: every object has the default set).
SCHEMA_V3 = """
CREATE TABLE transforms (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL
);
CREATE TABLE transform_mappings (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL
);
ALTER TABLE dataset_versions ADD COLUMN transform_mapping INTEGER
    REFERENCES transform_mappings(pk);
"""

MIGRATIONS: tuple[str, ...] = (SCHEMA_V1, SCHEMA_V2, SCHEMA_V3)
SCHEMA_VERSION = len(MIGRATIONS)
