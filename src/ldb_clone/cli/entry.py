"""Every ``ldb`` command, where it lives, and ``main``.

NOTE: a command line names one command, so ``main`` imports and builds only that one:
typer reads the signature of every command it registers, and the command modules import
much of the library. Building all 29 took about as long as starting Python. ``ldb
--help``, completion, an unknown name and the ``app`` that tests call get them all.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
from typing import Any

# (name, module in ldb_clone.cli, function), in the order of ``ldb --help``
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("init", "setup_cmds", "init"),
    ("add-storage", "setup_cmds", "add_storage"),
    ("index", "index_cmds", "index"),
    ("list", "select_cmds", "list_"),
    ("eval", "select_cmds", "eval_"),
    ("status", "dataset_cmds", "status"),
    ("stage", "dataset_cmds", "stage"),
    ("add", "dataset_cmds", "add"),
    ("del", "dataset_cmds", "del_"),
    ("commit", "dataset_cmds", "commit"),
    ("sync", "dataset_cmds", "sync"),
    ("diff", "dataset_cmds", "diff"),
    ("pull", "dataset_cmds", "pull"),
    ("unindex", "index_cmds", "unindex"),
    ("query", "select_cmds", "query_"),
    ("tag", "index_cmds", "tag_"),
    ("instantiate", "write_cmds", "instantiate_"),
    ("get", "write_cmds", "get_"),
    ("transform", "dataset_cmds", "transform_"),
    ("stats", "view_cmds", "stats_"),
    ("view", "view_cmds", "view_"),
    ("migrate", "setup_cmds", "migrate"),
    ("copy-catalog", "setup_cmds", "copy_catalog"),
    ("formats", "setup_cmds", "formats_"),
    ("completion", "setup_cmds", "completion"),
)
GROUPS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "ds": (("list", "dataset_cmds", "ds_list"), ("del", "dataset_cmds", "ds_del")),
    "storage": (("list", "setup_cmds", "storage_list"), ("rm", "setup_cmds", "storage_rm")),
}
_NAMES = frozenset(name for name, _, _ in COMMANDS) | GROUPS.keys()
# the global options that come before a command (none takes a value)
_GLOBAL_FLAGS = re.compile(r"-[vq]+|--verbose|--quiet")


def command_function(module: str, function: str) -> Any:
    return getattr(importlib.import_module(f"ldb_clone.cli.{module}"), function)


@functools.cache
def build_app(only: str | None = None) -> Any:
    """The ``ldb`` app with every command, or with only the command or group ``only``
    (built once a process: tests run thousands of command lines in one)."""
    from ldb_clone.cli.apps import new_app, new_group, register

    app = new_app()
    for name, module, function in COMMANDS:
        if only in (None, name):
            register(app, [command_function(module, function)])
    for name, members in GROUPS.items():
        if only in (None, name):
            group = new_group(name)
            register(group, [command_function(module, function) for _, module, function in members])
            app.add_typer(group, name=name)
    return app


def full_app() -> Any:
    return build_app(None)


def command_name(args: list[str]) -> str | None:
    """The command an argument list runs, when it is one of ``ldb``'s: the first argument
    after the global flags. None for ``--help``, ``--version`` and anything unknown."""
    for arg in args:
        if _GLOBAL_FLAGS.fullmatch(arg):
            continue
        return arg if arg in _NAMES else None
    return None


def main(argv: list[str] | None = None) -> None:
    from ldb_clone.cli.output import _state

    args = sys.argv[1:] if argv is None else argv
    if os.environ.get("LDB_DEBUG"):
        _state["verbose"] = 2
    instruction = os.environ.get("_LDB_COMPLETE")
    if instruction:
        # NOTE: typer would answer with its own instruction style; see ldb_clone.completion
        import typer

        from ldb_clone.completion import complete

        sys.exit(complete(typer.main.get_command(full_app()), instruction))
    name = command_name(args)
    app = build_app(name) if name is not None else full_app()
    app(args=args, prog_name="ldb")
