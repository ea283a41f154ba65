"""The queries ``ldb stats`` asks of a PostgreSQL catalog (mixed into ``PostgresCatalog``);
the same contract as ``sqlite_stats``: one summary per annotation, kept in a table made with
the schema (or, in a catalog made before it, on first write), counted with ``GROUP BY`` in
the server."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from ldb_clone.catalog.postgres_schema import MIGRATION_LOCK
from ldb_clone.catalog.postgres_sql import IN_IDS, TEXT_KEY, copied_rows, json_param
from ldb_clone.catalog.predicates import Predicate
from ldb_clone.catalog.sql_postgres import compile_predicate

CREATE_SUMMARIES = (
    "CREATE TABLE IF NOT EXISTS annotation_summaries (annotation BIGINT PRIMARY KEY "
    "REFERENCES annotations(pk) ON DELETE CASCADE, kind INTEGER NOT NULL, "
    "summary TEXT NOT NULL)"
)
_CURRENT = (
    "SELECT DISTINCT v.annotation AS pk FROM objects o JOIN annotation_versions v "
    "ON v.object = o.pk AND v.version = o.current_version"
)


class PostgresStatsQueries:
    conn: Any
    read_only: bool
    _summaries_ready = False  # the summary table is known to exist

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...
    def _defer_after_commit(self, fn: Callable[..., Any], *args: Any) -> bool: ...
    def _write(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def _summary_table_exists(self) -> bool:
        return self._rows("SELECT to_regclass('annotation_summaries') IS NOT NULL")[0][0]

    def annotation_summaries(self, annotation_ids: Collection[str], kind: int) -> dict[str, str]:
        if not annotation_ids or not self._summary_table_exists():
            return {}
        rows = self._rows(
            "SELECT a.id, s.summary FROM annotation_summaries s "
            f"JOIN annotations a ON a.pk = s.annotation WHERE s.kind = %s AND a.id {IN_IDS}",
            (kind, json_param(annotation_ids)),
        )
        return dict(rows)

    def annotation_values_flagged(
        self, annotation_ids: Collection[str], flag: Predicate | None
    ) -> Iterator[tuple[str, str, bool]]:
        condition, params = ("false", []) if flag is None else compile_predicate(flag, "a.doc")
        rows = self._rows(
            f"SELECT a.id, a.value, coalesce(({condition}), false) FROM annotations a "
            f"WHERE a.id {IN_IDS}",
            (*params, json_param(annotation_ids)),
        )
        yield from ((aid, value, bool(flagged)) for aid, value, flagged in rows)

    def store_annotation_summaries(self, summaries: dict[str, str], kind: int) -> None:
        if not summaries or self.read_only:
            return
        if not self._summaries_ready:
            self._write(self._make_summary_table)
        if not self._defer_after_commit(self._insert_summaries, list(summaries.items()), kind):
            self._write(self._insert_summaries, list(summaries.items()), kind)

    def _insert_summaries(
        self, items: list[tuple[str, str]], kind: int, conn: Any | None = None
    ) -> None:
        conn = conn or self.conn
        table = copied_rows(conn, "new_summaries", (TEXT_KEY, "text"), sorted(items))
        conn.execute(
            "INSERT INTO annotation_summaries (annotation, kind, summary) "
            f"SELECT a.pk, %s, r.c1 FROM {table} r JOIN annotations a ON a.id = r.c0 "
            "ORDER BY a.pk ON CONFLICT (annotation) DO UPDATE "
            "SET kind = excluded.kind, summary = excluded.summary",
            (kind,),
        )

    def _make_summary_table(self) -> None:
        """Create the summary table of a catalog made before it was part of the schema.

        NOTE: one creator at a time. Creating it (REFERENCES annotations) locks
        ``annotations`` against other writers' inserts until the creator commits; four
        indexers that all created it in their first batch queued behind each other's
        locks (deadlocks, retries: 30 s instead of 2)."""
        if self._summary_table_exists():
            self._summaries_ready = True
            return
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        self.conn.execute(CREATE_SUMMARIES)

    def file_type_counts(self, object_ids: Collection[str] | None) -> list[tuple[str, int, int]]:
        query = (
            "SELECT o.type, count(*), coalesce(sum(p.size), 0) FROM objects o "
            "LEFT JOIN object_paths p ON p.object = o.pk AND p.protocol = o.protocol "
            "AND p.path = o.path"
        )
        if object_ids is None:
            rows = self._rows(f"{query} GROUP BY o.type")
        else:
            rows = self._rows(
                f"{query} WHERE o.id {IN_IDS} GROUP BY o.type", (json_param(object_ids),)
            )
        return [(kind, int(count), int(size)) for kind, count, size in rows]

    def tag_counts(self, object_ids: Collection[str] | None) -> dict[str, int]:
        query = "SELECT t.tag, count(*) FROM object_tags t"
        if object_ids is None:
            return dict(self._rows(f"{query} GROUP BY t.tag"))
        return dict(
            self._rows(
                f"{query} JOIN objects o ON o.pk = t.object WHERE o.id {IN_IDS} GROUP BY t.tag",
                (json_param(object_ids),),
            )
        )

    def current_annotations_without_summary(self, kind: int) -> list[str]:
        if not self._summary_table_exists():
            query = f"SELECT a.id FROM ({_CURRENT}) c JOIN annotations a ON a.pk = c.pk"
            return [row[0] for row in self._rows(query)]
        query = (
            f"SELECT a.id FROM ({_CURRENT}) c JOIN annotations a ON a.pk = c.pk "
            "LEFT JOIN annotation_summaries s ON s.annotation = c.pk AND s.kind = %s "
            "WHERE s.annotation IS NULL"
        )
        return [row[0] for row in self._rows(query, (kind,))]

    def current_summary_counts(self, kind: int) -> list[tuple[str | None, bool, int]]:
        if not self._summary_table_exists():
            return self._rows(
                "SELECT NULL, current_version IS NOT NULL, count(*) FROM objects GROUP BY 2"
            )
        return self._rows(
            "SELECT s.summary, v.annotation IS NOT NULL, count(*) FROM objects o "
            "LEFT JOIN annotation_versions v ON v.object = o.pk AND v.version = o.current_version "
            "LEFT JOIN annotation_summaries s ON s.annotation = v.annotation AND s.kind = %s "
            "GROUP BY 1, 2",
            (kind,),
        )

    def current_version_counts(self) -> dict[int, int]:
        return dict(
            self._rows(
                "SELECT current_version, count(*) FROM objects "
                "WHERE current_version IS NOT NULL GROUP BY current_version"
            )
        )
