"""Where an instance's catalog lives: the SQLite file in its folder, or a PostgreSQL
database named by a URL (``LDB_CATALOG``, else ``core.catalog`` in the instance config).

Knows nothing about drivers, so the SQLite path never imports psycopg. A password in a
URL is never shown: ``mask_url`` is the one way a URL reaches a message, and the password
is registered with ``errors.SECRETS`` so that tracebacks and ``--json`` output are
scrubbed of it too.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import Any

from ldb_clone.errors import SECRETS, ConfigError

ENV_VAR = "LDB_CATALOG"
CONFIG_KEY = "core.catalog"
SCHEMES = ("postgresql", "postgres")
MASK = "****"

# libpq's key=value password in a query string (postgresql://h/db?password=x)
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)([^&#]*)")


def is_postgres_url(text: str) -> bool:
    return urllib.parse.urlsplit(text).scheme.lower() in SCHEMES


def mask_url(url: str) -> str:
    """``url`` with its password (in the user part or the query) replaced by ``****``."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostport}"
    masked = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return _QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, masked)


def url_passwords(url: str) -> list[str]:
    """The password text a URL holds, raw and percent-decoded (each may be printed)."""
    found = []
    userinfo, at, _ = urllib.parse.urlsplit(url).netloc.rpartition("@")
    if at and ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    found += [m.group(2) for m in _QUERY_PASSWORD.finditer(url)]
    decoded = [urllib.parse.unquote(p) for p in found]
    return [p for p in dict.fromkeys(found + decoded) if p]


def check_url(url: str) -> str:
    """A PostgreSQL URL that names a database, its password registered as a secret."""
    SECRETS.update(url_passwords(url))
    if not is_postgres_url(url):
        raise ConfigError(
            f"Unsupported catalog {mask_url(url)!r}: expected a URL like "
            "postgresql://USER@HOST:PORT/DATABASE"
        )
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    if not parts.path.strip("/") and not ({"dbname", "service"} & query.keys()):
        # NOTE: with service=NAME, libpq reads the database from the service file
        raise ConfigError(f"The catalog URL {mask_url(url)!r} names no database")
    return url


def configured_url(config: dict[str, Any]) -> str | None:
    """The catalog URL for an instance with this (merged) config: ``LDB_CATALOG`` wins
    over ``core.catalog``; None means the SQLite file in the instance folder."""
    value = os.environ.get(ENV_VAR)
    if not value:
        value = (config.get("core") or {}).get("catalog") if isinstance(config, dict) else None
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{CONFIG_KEY} must be a string (a postgresql:// URL)")
    return check_url(value) if value else None


def open_postgres(url: str, create: bool = False) -> Any:
    """The PostgreSQL catalog at ``url`` (psycopg is imported only here)."""
    check_url(url)
    try:
        from ldb_clone.catalog.postgres import PostgresCatalog
    except ImportError as exc:
        raise ConfigError(
            f"The catalog {mask_url(url)!r} is a PostgreSQL database, which needs the "
            f"psycopg driver: pip install 'ldb-clone[postgres]' ({exc})"
        ) from None
    return PostgresCatalog(url, create=create)
