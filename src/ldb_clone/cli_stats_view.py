"""``ldb stats`` and ``ldb view``, registered on the ``ldb`` app (imported at the end of
cli.py): thin commands over ``ldb_clone.stats`` and ``ldb_clone.view``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer

from ldb_clone.cli import (
    JsonOut,
    Quiet,
    SelectionCommand,
    Sources,
    Verbose,
    _filters,
    _members,
    _open,
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
    from ldb_clone.stats import stats_of
    from ldb_clone.workspace import default_workspace_source

    result = stats_of(_open(), paths or [default_workspace_source()], _filters(ctx), _warn)
    if json_out:
        _print_json(result.to_json())
        return
    from ldb_clone.stats_render import render

    render(result)


class ViewCommand(SelectionCommand):
    pair_options = ()  # -o is the output folder here, not -o KEY VALUE


@app.command("view", cls=ViewCommand)
def view_(
    ctx: typer.Context,
    paths: Sources = None,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder to write the page into (index.html).")
    ] = ...,
    copy: Annotated[
        bool, typer.Option("--copy", help="Copy the full files beside the page (to publish it).")
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", help="Two sources (OLD NEW): mark added, removed, changed.")
    ] = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Write a static HTML page of the selection: thumbnails with boxes, texts with
    entities, charts; it opens from the file system, offline."""
    _set_output(verbose, quiet)
    from ldb_clone.view import write_view

    old, title = None, "ldb view: " + " ".join(paths or ["workspace"])
    if diff:
        if len(paths or []) != 2:
            raise click.UsageError("--diff takes exactly two sources: OLD NEW", ctx)
        instance, old = _members(paths[:1], ctx, warn=_warn)
        instance, members = _members(paths[1:], ctx, warn=_warn, instance=instance)
    else:
        instance, members = _members(paths, ctx, warn=_warn)
    result = write_view(instance, members, output, title, copy, old, _reporter())
    made = f"{result.thumbnails} thumbnails, {result.texts} texts"
    print(f"Wrote a view of {result.objects} objects ({made}) to {result.path / 'index.html'}")
