"""SQL fragments the SQLite catalog modules share."""

from __future__ import annotations

import json
from collections.abc import Iterable

# A version's annotation, joined by the object's integer key.
CURRENT = (
    "LEFT JOIN annotation_versions v ON v.object = o.pk AND v.version = o.current_version "
    "LEFT JOIN annotations a ON a.pk = v.annotation"
)

# NOTE: id lists are passed as one JSON parameter and expanded with json_each, which
# avoids SQLite's limit on bound variables and is as fast as a long IN (...) list.
IN_IDS = "IN (SELECT value FROM json_each(?))"
SCAN_THRESHOLD = 2000  # id lists longer than this are answered by scanning the table


def ids_param(values: Iterable[str]) -> str:
    """One parameter for ``IN_IDS``."""
    return json.dumps(list(values))
