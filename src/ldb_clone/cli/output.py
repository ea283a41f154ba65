"""What commands print: a result as one JSON document (``--json``) or as text, warnings,
and the reporter that shows progress. ``-v``/``-q`` land in ``_state``."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

# set by -v/-q wherever they are given (before or after the command name); tests reset it
_state: dict[str, Any] = {"verbose": 0, "quiet": False}


def set_output(verbose: int = 0, quiet: bool = False) -> None:
    """-v and -q add up: ``ldb -v list -q`` is verbose and quiet."""
    _state["verbose"] = max(_state["verbose"], verbose)
    _state["quiet"] = _state["quiet"] or quiet


def verbose() -> bool:
    return _state["verbose"] > 0


def print_json(value: Any) -> None:
    from ldb_clone.strict_json import dumps

    sys.stdout.write(dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def emit(json_out: bool, data: Any, text: str | Iterable[str] | None = None) -> None:
    """Print ``data`` as one JSON document with ``--json``, else ``text``: a string, or
    lines (nothing when there are none; a generator is only run without ``--json``), or
    None for no text output. Objects in ``data`` with a ``to_json()`` are shown by it;
    ``data`` None: a message that ``--json`` leaves out."""
    if json_out:
        if data is not None:
            print_json(_jsonable(data))
    elif isinstance(text, str):
        print(text)
    elif text is not None:
        print_lines(text)


def _jsonable(data: Any) -> Any:
    if hasattr(data, "to_json"):
        return data.to_json()
    if isinstance(data, list):
        return [_jsonable(item) for item in data]
    return data


def print_lines(lines: Iterable[str]) -> None:
    """Lines, each ended by a newline; nothing at all when there are none."""
    text = "\n".join(lines)
    if text:
        sys.stdout.write(text + "\n")


def warn(message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"warning: {message}\n")


def reporter(to_stderr: bool = False):
    """Progress and messages of long work; ``to_stderr`` keeps stdout for ``--json``."""
    from ldb_clone.console import CliReporter

    result = CliReporter(quiet=_state["quiet"])
    result.to_stderr = to_stderr
    return result
