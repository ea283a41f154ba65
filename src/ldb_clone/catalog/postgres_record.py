"""One indexed batch into the PostgreSQL catalog, safe beside other writers.

New objects are inserted first, in id order, with ``ON CONFLICT DO NOTHING`` (a
concurrent writer's insert of the same id makes it a known object here); then every
object of the batch is locked in id order (``FOR UPDATE``) before its paths, versions and
tags are worked out as the SQLite catalog does. Annotations are content-addressed and
inserted the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ldb_clone.catalog.postgres_sql import (
    CURRENT,
    IN_IDS,
    IN_KEYS,
    PATH_TYPES,
    TEXT_KEY,
    copied_rows,
    json_param,
    json_rows,
    jsonb_text,
)
from ldb_clone.catalog.records import ObjectRecord, RecordCounts
from ldb_clone.errors import CatalogError


def record_batch(
    conn: psycopg.Connection,
    records: Sequence[ObjectRecord],
    texts: dict[str, str],
    now: str,
    user: str,
) -> RecordCounts:
    """Store one batch of indexed objects (the protocol's ``record_objects``) inside the
    caller's transaction on ``conn``."""
    counts = RecordCounts()
    annotation_pks = store_annotations(conn, texts)
    # New objects are inserted first, in id order, from their first record; a
    # concurrent writer's insert of the same id makes it an existing one here.
    first: dict[str, ObjectRecord] = {}
    for rec in records:
        first.setdefault(rec.object_id, rec)
    oids = sorted(first)
    # a new object's current version is known before it is inserted: the versions
    # below number its batch's annotations from 1 (saves an UPDATE of every new object)
    as_new = _versions_if_new(records)
    new_rows = [(*_object_row(first[oid], now, user), as_new.get(oid)) for oid in oids]
    table = copied_rows(conn, "new_objects", (TEXT_KEY, *["text"] * 6, "int"), new_rows)
    inserted = {
        row[0]
        for row in conn.execute(
            "INSERT INTO objects (id, type, first_indexed, last_indexed, last_indexed_by, "
            f"protocol, path, current_version) SELECT * FROM {table} "
            "ORDER BY 1 ON CONFLICT (id) DO NOTHING RETURNING id",
        ).fetchall()
    }
    counts.new_objects = len(inserted)
    # id -> (pk, current version, its annotation id, type, protocol, path), locked
    existing: dict[str, tuple] = {
        oid: tuple(row)
        for oid, *row in conn.execute(
            "SELECT o.id, o.pk, o.current_version, a.id, o.type, o.protocol, o.path "
            f"FROM objects o {CURRENT} WHERE o.id {IN_IDS} ORDER BY o.id "
            "FOR UPDATE OF o",
            (json_param(oids),),
        )
    }
    pks = {oid: row[0] for oid, row in existing.items()}
    path_pks = sorted(
        {
            pks[r.object_id]
            for r in records
            if r.path is not None and r.object_id not in inserted and not r.path_unchanged
        }
    )
    known_paths: dict[tuple[int, str, str], tuple] = {}
    if path_pks:
        known_paths = {
            (pk, protocol, path): (size, mtime)
            for pk, protocol, path, size, mtime in conn.execute(
                "SELECT object, protocol, path, size, mtime_ns FROM object_paths "
                f"WHERE object {IN_KEYS}",
                (json_param(path_pks),),
            )
        }
    version_pks = sorted(
        {
            pks[r.object_id]
            for r in records
            if r.annotation_id is not None
            and r.object_id not in inserted
            and existing[r.object_id][2] != r.annotation_id
        }
    )
    versions: dict[str, dict[str, int]] = {}
    if version_pks:
        for oid, version, aid in conn.execute(
            "SELECT o.id, v.version, a.id FROM annotation_versions v "
            "JOIN objects o ON o.pk = v.object JOIN annotations a ON a.pk = v.annotation "
            f"WHERE v.object {IN_KEYS}",
            (json_param(version_pks),),
        ):
            versions.setdefault(oid, {})[aid] = version
    for oid, (_, version, aid, *_) in existing.items():
        if aid is not None:
            versions.setdefault(oid, {})[aid] = version

    object_updates: dict[str, tuple] = {}
    seen_again: set[str] = set()
    path_rows: dict[tuple[int, str, str], tuple] = {}
    new_versions: list[tuple] = []
    current = {oid: row[1] for oid, row in existing.items()}
    tag_rows: set[tuple[int, str]] = set()
    first_seen: set[str] = set()
    for rec in records:
        oid = rec.object_id
        p = rec.path
        protocol = p.protocol if p is not None else None
        path = p.path if p is not None else None
        is_new = oid in inserted
        old = existing[oid]
        if is_new and oid not in first_seen:
            first_seen.add(oid)  # inserted from this very record
        elif (rec.type and rec.type != old[3]) or (p is not None and (protocol, path) != old[4:]):
            object_updates[oid] = (rec.type, now, user, protocol, path, oid)
            old = existing[oid] = (
                old[0],
                old[1],
                old[2],
                rec.type or old[3],
                protocol if p is not None else old[4],
                path if p is not None else old[5],
            )
        elif not is_new:
            seen_again.add(oid)
        if p is not None and not (rec.path_unchanged and not is_new):
            key = (old[0], protocol, path)
            known = known_paths.get(key)
            if known is None:
                counts.new_paths += 1
            if known != (p.size, p.mtime_ns):
                known_paths[key] = (p.size, p.mtime_ns)
                stat = (p.size, p.mtime_ns, p.atime_ns, p.ctime_ns, p.mode, p.uid, p.gid)
                path_rows[key] = (*key, *stat, now, now)
        if rec.annotation_id is not None:
            obj_versions = versions.setdefault(oid, {})
            version = obj_versions.get(rec.annotation_id)
            if version is None:
                version = max(obj_versions.values(), default=0) + 1
                obj_versions[rec.annotation_id] = version
                new_versions.append(
                    (old[0], version, rec.annotation_id, now, rec.annotation_mtime_ns)
                )
                counts.new_annotations += 1
            current[oid] = version
        for tag in rec.tags:
            tag_rows.add((old[0], tag))

    if object_updates:
        conn.execute(
            "UPDATE objects o SET type = CASE WHEN u.type = '' THEN o.type ELSE u.type END, "
            "last_indexed = u.now, last_indexed_by = u.usr, "
            "protocol = coalesce(u.protocol, o.protocol), path = coalesce(u.path, o.path) "
            f"FROM (SELECT c0 AS type, c1 AS now, c2 AS usr, c3 AS protocol, c4 AS path, "
            f"c5 AS id FROM {json_rows(*['text'] * 6)} AS j) AS u WHERE o.id = u.id",
            (json_param(list(object_updates.values())),),
        )
    again = sorted(seen_again - object_updates.keys())
    if again:
        conn.execute(
            f"UPDATE objects SET last_indexed = %s, last_indexed_by = %s WHERE id {IN_IDS}",
            (now, user, json_param(again)),
        )
    if path_rows:
        table = copied_rows(conn, "new_paths", PATH_TYPES, sorted(path_rows.values()))
        conn.execute(
            "INSERT INTO object_paths (object, protocol, path, size, mtime_ns, atime_ns, "
            f"ctime_ns, mode, uid, gid, first_indexed, last_indexed) SELECT * FROM {table} "
            "ON CONFLICT (object, protocol, path) DO UPDATE SET size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, atime_ns = excluded.atime_ns, "
            "ctime_ns = excluded.ctime_ns, mode = excluded.mode, uid = excluded.uid, "
            "gid = excluded.gid, last_indexed = excluded.last_indexed",
        )
    if new_versions:
        needed = {row[2] for row in new_versions} - annotation_pks.keys()
        if needed:
            annotation_pks.update(
                conn.execute(
                    f"SELECT id, pk FROM annotations WHERE id {IN_IDS}",
                    (json_param(sorted(needed)),),
                ).fetchall()
            )
        missing = {row[2] for row in new_versions} - annotation_pks.keys()
        if missing:
            raise CatalogError(f"no text given for new annotation {sorted(missing)[0]}")
        rows = [(pk, v, annotation_pks[aid], t, m) for pk, v, aid, t, m in new_versions]
        table = copied_rows(
            conn, "new_versions", ("bigint", "int", "bigint", "text", "bigint"), rows
        )
        conn.execute(
            "INSERT INTO annotation_versions (object, version, annotation, first_indexed, "
            f"mtime_ns) SELECT * FROM {table}"
        )
    changed = [
        (existing[oid][0], version)
        for oid, version in current.items()
        if version != existing[oid][1]
    ]
    if changed:
        conn.execute(
            "UPDATE objects o SET current_version = c.c1 "
            f"FROM {json_rows('bigint', 'int')} AS c WHERE o.pk = c.c0",
            (json_param(changed),),
        )
    if tag_rows:
        conn.execute(
            "INSERT INTO object_tags (object, tag) "
            f"SELECT * FROM {json_rows('bigint', 'text')} AS j ORDER BY 1, 2 "
            "ON CONFLICT DO NOTHING",
            (json_param(sorted(tag_rows)),),
        )
    return counts


def store_annotations(conn: psycopg.Connection, texts: dict[str, str]) -> dict[str, int]:
    """Insert the annotations not stored yet (in id order); return each one's key.

    One round trip: the keys of the rows inserted come back from the insert, those of
    the rows already there from the same statement's snapshot."""
    if not texts:
        return {}
    ids = sorted(texts)
    rows = ((i, texts[i], jsonb_text(texts[i])) for i in ids)
    table = copied_rows(conn, "new_annotations", (TEXT_KEY, "text", "jsonb"), rows)
    keys = dict(
        conn.execute(
            "WITH new AS (INSERT INTO annotations (id, value, doc) "
            f"SELECT * FROM {table} ORDER BY c0 ON CONFLICT (id) DO NOTHING RETURNING id, pk) "
            "SELECT id, pk FROM new UNION ALL "
            f"SELECT a.id, a.pk FROM annotations a JOIN {table} j ON a.id = j.c0",
        ).fetchall()
    )
    late = [i for i in ids if i not in keys]
    if late:  # inserted by a concurrent writer after the statement's snapshot was taken
        keys.update(
            conn.execute(
                f"SELECT id, pk FROM annotations WHERE id {IN_IDS}", (json_param(late),)
            ).fetchall()
        )
    return keys


def _versions_if_new(records: Sequence[ObjectRecord]) -> dict[str, int]:
    """Each object's current version in this batch if none of its annotations is
    stored yet: its distinct annotations numbered from 1, the last one current."""
    numbered: dict[str, dict[str, int]] = {}
    current: dict[str, int] = {}
    for rec in records:
        if rec.annotation_id is not None:
            versions = numbered.setdefault(rec.object_id, {})
            current[rec.object_id] = versions.setdefault(rec.annotation_id, len(versions) + 1)
    return current


def _object_row(rec: ObjectRecord, now: str, user: str) -> tuple:
    p = rec.path
    protocol = p.protocol if p is not None else None
    path = p.path if p is not None else None
    return (rec.object_id, rec.type, now, now, user, protocol, path)
