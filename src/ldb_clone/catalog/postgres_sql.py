"""SQL fragments and parameter helpers the PostgreSQL catalog modules share."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

CURRENT = (
    "LEFT JOIN annotation_versions v ON v.object = o.pk AND v.version = o.current_version "
    "LEFT JOIN annotations a ON a.pk = v.annotation"
)
LOCAL_PROTOCOL = "file"
# NOTE: id lists are one JSON parameter (see json_param), joined as a set (a hashed semi-join), not
# "= ANY(array)", which compares each row with every element of a long list.
IN_IDS = "IN (SELECT json_array_elements_text(%s::json))"
IN_KEYS = "IN (SELECT json_array_elements_text(%s::json)::bigint)"


def json_param(values: Iterable[Any]) -> str:
    """A list as one JSON text parameter: psycopg adapts one string many times faster
    than a list (an array) of the same values."""
    return orjson.dumps(values if isinstance(values, list) else list(values)).decode()


def json_rows(*types: str) -> str:
    """Rows from one JSON parameter holding a list of lists, as columns c0, c1, ... of
    the given SQL types.

    NOTE: read as JSONB, parsed once; ``->>`` on a JSON (text) row parses the row again
    for every column, which made a 12-column batch insert twice as slow."""
    columns = ", ".join(f"(r->>{i})::{kind} AS c{i}" for i, kind in enumerate(types))
    return f"(SELECT {columns} FROM jsonb_array_elements(%s::jsonb) AS r)"


def copied_rows(conn: Any, name: str, types: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """``rows`` sent by COPY into the session's temporary table ``name`` (columns c0, c1,
    ... of the given SQL types, emptied first and at every commit), for the INSERT ...
    SELECT that follows; returns ``name``.

    NOTE: COPY is the fastest way into PostgreSQL: a batch's rows as one JSON parameter
    (``json_rows``) cost the server about a third more time for the large inserts of
    ``ldb index``. Temporary tables are private to the connection; one created in a
    transaction that rolls back is gone, hence IF NOT EXISTS every time."""
    columns = ", ".join(f"c{i}" for i in range(len(types)))
    spec = ", ".join(f"c{i} {kind}" for i, kind in enumerate(types))
    conn.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ({spec}) ON COMMIT DELETE ROWS; DELETE FROM {name}"
    )
    with conn.cursor().copy(f"COPY {name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return name


TEXT_KEY = 'text COLLATE "C"'  # a temporary column sorted as the tables' keys are
# object_paths rows: object, protocol, path, seven stat numbers, first/last indexed
PATH_TYPES = ("bigint", TEXT_KEY, TEXT_KEY, *["bigint"] * 7, "text", "text")


def content_key(content_id: str) -> int:
    """A positive 60-bit key derived from a content id: the same on every retry."""
    return int(hashlib.blake2b(content_id.encode(), digest_size=8).hexdigest()[:15], 16)


def jsonb_text(text: str) -> str | None:
    """The annotation text when PostgreSQL's JSONB can hold it, else None (NaN and
    infinities, a NUL character): such an annotation is never matched in SQL."""
    if "\\u0000" in text:
        return None
    try:
        orjson.loads(text)  # strict JSON: refuses NaN and infinities
    except orjson.JSONDecodeError:  # those, or what orjson cannot hold (huge integers)
        try:
            json.loads(text, parse_constant=reject_constant)
        except ValueError:
            return None
    return text


def reject_constant(name: str) -> Any:
    raise ValueError(name)
