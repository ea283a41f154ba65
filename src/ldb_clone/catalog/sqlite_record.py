"""Writing one batch of indexed objects into the SQLite catalog: objects, paths,
annotation versions and tags, looked up and written in a handful of statements."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from ldb_clone.catalog.records import ObjectRecord, RecordCounts
from ldb_clone.catalog.sqlite_sql import CURRENT, IN_IDS, ids_param
from ldb_clone.errors import CatalogError


def record_batch(
    db: sqlite3.Connection,
    records: Sequence[ObjectRecord],
    annotation_texts: dict[str, str],
    now: str,
    user: str,
) -> RecordCounts:
    """``CatalogBackend.record_objects`` inside the caller's write transaction."""
    counts = RecordCounts()
    # id -> (pk, current version, its annotation id, type, protocol, path)
    existing: dict[str, tuple] = {}
    for oid, *row in db.execute(
        "SELECT o.id, o.pk, o.current_version, a.id, o.type, o.protocol, o.path "
        f"FROM objects o {CURRENT} WHERE o.id {IN_IDS}",
        (ids_param({r.object_id for r in records}),),
    ):
        existing[oid] = tuple(row)
    # Paths and versions are looked up only where something may have changed.
    path_pks = {
        existing[r.object_id][0]
        for r in records
        if r.path is not None and not r.path_unchanged and r.object_id in existing
    }
    known_paths: dict[tuple[int, str, str], tuple] = {}
    if path_pks:
        known_paths = {
            (pk, protocol, path): (size, mtime)
            for pk, protocol, path, size, mtime in db.execute(
                "SELECT object, protocol, path, size, mtime_ns FROM object_paths "
                f"WHERE object {IN_IDS}",
                (json.dumps(sorted(path_pks)),),
            )
        }
    version_pks = {
        existing[r.object_id][0]
        for r in records
        if r.annotation_id is not None
        and r.object_id in existing
        and existing[r.object_id][2] != r.annotation_id
    }
    versions: dict[str, dict[str, int]] = {}
    if version_pks:
        for oid, version, aid in db.execute(
            "SELECT o.id, v.version, a.id FROM annotation_versions v "
            "JOIN objects o ON o.pk = v.object JOIN annotations a ON a.pk = v.annotation "
            f"WHERE v.object {IN_IDS}",
            (json.dumps(sorted(version_pks)),),
        ):
            versions.setdefault(oid, {})[aid] = version
    for oid, (_, version, aid, *_) in existing.items():
        if aid is not None:
            versions.setdefault(oid, {})[aid] = version

    new_objects: dict[str, list] = {}
    object_updates: dict[str, tuple] = {}
    seen_again: set[str] = set()  # known objects whose type and path are unchanged
    path_rows: list[list] = []
    new_versions: list[list] = []
    current = {oid: row[1] for oid, row in existing.items()}
    tag_rows: set[tuple[str, str]] = set()
    for rec in records:
        oid = rec.object_id
        p = rec.path
        protocol = p.protocol if p is not None else None
        path = p.path if p is not None else None
        old = existing.get(oid)
        if old is None and oid not in new_objects:
            new_objects[oid] = [oid, rec.type, now, now, user, protocol, path, None]
            counts.new_objects += 1
        elif old is None or (
            (rec.type and rec.type != old[3]) or (p is not None and (protocol, path) != old[4:])
        ):
            object_updates[oid] = (rec.type, now, user, protocol, path, oid)
        else:
            seen_again.add(oid)
        if p is not None and not (rec.path_unchanged and old is not None):
            key = (old[0] if old else oid, protocol, path)
            known = known_paths.get(key)
            if known is None:
                counts.new_paths += 1
            # NOTE: an unchanged path is not rewritten: re-indexing a large
            # unchanged location then costs a listing, not a rewrite.
            if known != (p.size, p.mtime_ns):
                known_paths[key] = (p.size, p.mtime_ns)
                stat = (p.size, p.mtime_ns, p.atime_ns, p.ctime_ns, p.mode, p.uid, p.gid)
                path_rows.append([oid, protocol, path, *stat, now, now])
        if rec.annotation_id is not None:
            obj_versions = versions.setdefault(oid, {})
            version = obj_versions.get(rec.annotation_id)
            if version is None:
                version = max(obj_versions.values(), default=0) + 1
                obj_versions[rec.annotation_id] = version
                new_versions.append([oid, version, rec.annotation_id, now, rec.annotation_mtime_ns])
                counts.new_annotations += 1
            current[oid] = version
        for tag in rec.tags:
            tag_rows.add((oid, tag))

    # New objects get the next integer keys (this transaction holds the write lock),
    # and are inserted with their current version; existing ones are updated.
    pks = {oid: row[0] for oid, row in existing.items()}
    next_pk = db.execute("SELECT coalesce(max(pk), 0) FROM objects").fetchone()[0] + 1
    for number, (oid, row) in enumerate(new_objects.items(), next_pk):
        row[7] = current.get(oid)
        pks[oid] = number
        row.append(number)
    db.executemany(
        "INSERT INTO objects (id, type, first_indexed, last_indexed, last_indexed_by, "
        "protocol, path, current_version, pk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        new_objects.values(),
    )
    db.executemany(
        "UPDATE objects SET type = CASE WHEN ?1 = '' THEN type ELSE ?1 END, "
        "last_indexed = ?2, last_indexed_by = ?3, protocol = coalesce(?4, protocol), "
        "path = coalesce(?5, path) WHERE id = ?6",
        object_updates.values(),
    )
    # NOTE: one statement for all unchanged objects; re-indexing a large unchanged
    # location is mostly this.
    db.execute(
        f"UPDATE objects SET last_indexed = ?, last_indexed_by = ? WHERE id {IN_IDS}",
        (now, user, ids_param(seen_again - object_updates.keys())),
    )
    for row in path_rows:
        row[0] = pks[row[0]]
    db.executemany(
        "INSERT INTO object_paths (object, protocol, path, size, mtime_ns, atime_ns, "
        "ctime_ns, mode, uid, gid, first_indexed, last_indexed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (object, protocol, path) DO UPDATE SET size = excluded.size, "
        "mtime_ns = excluded.mtime_ns, atime_ns = excluded.atime_ns, "
        "ctime_ns = excluded.ctime_ns, mode = excluded.mode, uid = excluded.uid, "
        "gid = excluded.gid, last_indexed = excluded.last_indexed",
        path_rows,
    )
    annotation_pks = _store_annotations(db, annotation_texts)
    if new_versions:
        needed = {row[2] for row in new_versions}
        unknown = needed - annotation_pks.keys()
        if unknown:
            annotation_pks.update(
                db.execute(
                    f"SELECT id, pk FROM annotations WHERE id {IN_IDS}", (ids_param(unknown),)
                )
            )
        missing = needed - annotation_pks.keys()
        if missing:
            raise CatalogError(f"no text given for new annotation {sorted(missing)[0]}")
        for row in new_versions:
            row[0] = pks[row[0]]
            row[2] = annotation_pks[row[2]]
        db.executemany(
            "INSERT INTO annotation_versions (object, version, annotation, "
            "first_indexed, mtime_ns) VALUES (?, ?, ?, ?, ?)",
            new_versions,
        )
    db.executemany(
        "UPDATE objects SET current_version = ? WHERE pk = ?",
        [
            (version, existing[oid][0])
            for oid, version in current.items()
            if oid in existing and version != existing[oid][1]
        ],
    )
    if tag_rows:
        db.executemany(
            "INSERT OR IGNORE INTO object_tags (object, tag) VALUES (?, ?)",
            [(pks[oid], tag) for oid, tag in tag_rows],
        )
    return counts


def _store_annotations(db: sqlite3.Connection, texts: dict[str, str]) -> dict[str, int]:
    """Insert the annotations not stored yet; return the integer key of each."""
    if not texts:
        return {}
    pks = dict(db.execute(f"SELECT id, pk FROM annotations WHERE id {IN_IDS}", (ids_param(texts),)))
    new = [aid for aid in texts if aid not in pks]
    next_pk = db.execute("SELECT coalesce(max(pk), 0) FROM annotations").fetchone()[0] + 1
    rows = [(pk, aid, texts[aid]) for pk, aid in enumerate(new, next_pk)]
    db.executemany("INSERT INTO annotations (pk, id, value) VALUES (?, ?, ?)", rows)
    pks.update((aid, pk) for pk, aid, _ in rows)
    return pks
