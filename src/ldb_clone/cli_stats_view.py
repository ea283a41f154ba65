"""``ldb stats`` and ``ldb view``, registered on the ``ldb`` app (imported at the end of
cli.py): thin commands over ``ldb_clone.stats`` and ``ldb_clone.view``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ldb_clone.cli import (
    JsonOut,
    Quiet,
    SelectionCommand,
    Sources,
    Verbose,
    _filters,
    _members,
    _print_json,
    _reporter,
    _set_output,
    _warn,
    app,
)


@app.command("stats", cls=SelectionCommand)
def stats_(
    ctx: typer.Context,
    paths: Sources = None,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Count what a selection holds: objects, labels, boxes, entities, splits, files."""
    _set_output(verbose, quiet)
    from ldb_clone.stats import selection_stats

    instance, members = _members(paths, ctx, warn=_warn)
    result = selection_stats(instance, members)
    if json_out:
        _print_json(result.to_json())
        return
    from ldb_clone.stats_render import render

    render(result)
