"""TOML configuration: the instance's ``config`` and the user's ``~/.ldb/config``."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ldb_clone.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILENAME = "config"


def global_base() -> Path:
    return Path.home() / ".ldb"


def global_config_path() -> Path:
    return global_base() / CONFIG_FILENAME


def load(path: Path) -> dict[str, Any]:
    """Read a TOML file; a missing file is an empty config."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Invalid TOML in config file '{path}': {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"Unable to read config file '{path}': {exc.strerror}") from exc


def get(cfg: dict[str, Any], dotted_key: str, default: Any = None) -> Any:
    node: Any = cfg
    for part in dotted_key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


@contextlib.contextmanager
def edit(path: Path) -> Iterator[Any]:
    """Edit a TOML file in place, keeping the user's comments and layout (tomlkit).

    The new text is written to a temporary file and renamed over the old one.
    """
    import tomlkit

    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        doc = tomlkit.document()
    except OSError as exc:  # a folder, no permission: not a question of TOML
        raise ConfigError(f"Unable to read config file '{path}': {exc.strerror or exc}") from exc
    except Exception as exc:
        raise ConfigError(f"Invalid TOML in config file '{path}': {exc}") from exc
    yield doc
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"Unable to write config file '{path}': {exc.strerror}") from exc


def set_key(doc: Any, dotted_key: str, value: Any) -> None:
    import tomlkit

    *tables, key = dotted_key.split(".")
    node = doc
    for name in tables:
        if name not in node:
            node[name] = tomlkit.table()
        node = node[name]
    node[key] = value
