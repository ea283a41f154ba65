"""Seeing a selection: stats and view."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer

from ldb_clone.cli.apps import command
from ldb_clone.cli.common import open_default, select
from ldb_clone.cli.options import JsonOut, SelectionCommand, Sources, filters
from ldb_clone.cli.output import emit, reporter, warn


@command("stats", cls=SelectionCommand)
def stats_(ctx: typer.Context, paths: Sources = None, json_out: JsonOut = False) -> None:
    """Count what a selection holds: objects, labels, boxes, entities, splits, files."""
    from ldb_clone.stats import stats_of
    from ldb_clone.workspace import default_workspace_source

    result = stats_of(open_default(), paths or [default_workspace_source()], filters(ctx), warn)
    if json_out:
        emit(True, result.to_json())
        return
    from ldb_clone.stats_render import render

    render(result)


class ViewCommand(SelectionCommand):
    pair_options = ()  # -o is the output folder here, not -o KEY VALUE


@command("view", cls=ViewCommand)
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
) -> None:
    """Write a static HTML page of the selection: thumbnails with boxes, texts with
    entities, charts; it opens from the file system, offline."""
    from ldb_clone.view import write_view

    if diff and len(paths or []) != 2:
        raise click.UsageError("--diff takes exactly two sources: OLD NEW", ctx)
    instance = old = None
    if diff:
        instance, old = select(paths[:1], ctx, warn)
    instance, members = select(paths[1:] if diff else paths, ctx, warn, instance=instance)
    title = "ldb view: " + " ".join(paths or ["workspace"])
    result = write_view(instance, members, output, title, copy, old, reporter())
    made = f"{result.thumbnails} thumbnails, {result.texts} texts"
    print(f"Wrote a view of {result.objects} objects ({made}) to {result.path / 'index.html'}")
