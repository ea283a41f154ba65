"""The ``ldb`` command line: one short function per command over the library API.

- ``entry``: which commands there are and where, and ``main``;
- ``apps``: the typer apps and global options, marking commands, error handling;
- ``options``: shared options and the argv handling click cannot express through typer;
- ``output``: ``-v``/``-q`` state and printing a result as JSON or text;
- ``common``: opening the instance and selecting objects;
- ``*_cmds``: the commands, by topic.

``app`` (every command, as tests and ``CliRunner`` use it) is built on first use.
"""

from typing import Any

from ldb_clone.cli.entry import main
from ldb_clone.cli.output import _state

__all__ = ["_state", "app", "main"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from ldb_clone.cli.entry import full_app

        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
