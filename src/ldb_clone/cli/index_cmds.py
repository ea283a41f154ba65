"""The index: index, unindex and tag data objects."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ldb_clone.cli.apps import command
from ldb_clone.cli.common import (
    held_workspace,
    in_workspace,
    open_default,
    select,
    sources_or_default,
)
from ldb_clone.cli.options import (
    IndexFormat,
    JsonOut,
    SelectionCommand,
    Sources,
    check_choice,
    check_index_format,
    filters,
    parse_params,
    workspace_dir,
)
from ldb_clone.cli.output import emit, reporter
from ldb_clone.formats import INDEX_DEFAULT


@command()
def index(
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders, globs or URLs.", show_default=False)
    ],
    fmt: IndexFormat = INDEX_DEFAULT,
    add_tags: Annotated[
        list[str] | None,
        typer.Option(
            "--add-tags", "--add-tag", metavar="TAGS", help="Comma-separated tags to add."
        ),
    ] = None,
    annotation_update: Annotated[
        str | None,
        typer.Option(
            "--annotation-update",
            metavar="{replace,merge}",
            help="replace (default) or merge new annotations into current ones. By default "
            "the run stops before annotations holding labels are replaced by ones holding "
            "none; an explicit replace lets it.",
            show_default=False,
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("-p", "--param", metavar="KEY=VALUE", help="Format parameter."),
    ] = None,
    add_to: Annotated[
        str | None,
        typer.Option(
            "-a", "--add", metavar="ws:DIR", help="Also add the indexed objects to this workspace."
        ),
    ] = None,
    ephemeral_remote: Annotated[
        bool,
        typer.Option(
            "--ephemeral-remote", help="Copy cloud files outside storage to read-add storage."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Report what would be found, added and replaced; write nothing."
        ),
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Index data objects and annotations into the instance."""
    from ldb_clone.datasets import add_indexed
    from ldb_clone.indexing import index

    options = _index_options(fmt, param, add_tags, annotation_update, ephemeral_remote, dry_run)
    progress = reporter(to_stderr=json_out)
    with held_workspace(None if dry_run else workspace_dir(add_to)) as ws:
        instance = open_default()
        result = index(instance, paths, reporter=progress, **options)
        if ws is not None:
            add_indexed(instance, ws, result, progress, add_to)
    emit(json_out, result)


def _index_options(
    fmt: str,
    param: list[str] | None,
    add_tags: list[str] | None,
    annotation_update: str | None,
    ephemeral_remote: bool,
    dry_run: bool,
) -> dict[str, Any]:
    """The keyword arguments of ``indexing.index()``, checked."""
    check_choice(annotation_update, ("replace", "merge"), "--annotation-update")
    check_index_format(fmt)
    return {
        "fmt": fmt,
        "params": parse_params(param),
        "add_tags": add_tags or (),
        "annotation_update": annotation_update,
        "ephemeral_remote": ephemeral_remote,
        "dry_run": dry_run,
    }


@command(cls=SelectionCommand)
def unindex(ctx: typer.Context, paths: Sources = None, json_out: JsonOut = False) -> None:
    """Remove the selected objects from the index (not objects in saved datasets)."""
    from ldb_clone.indexing import unindex

    instance, members = select(sources_or_default(ctx, paths, "ds:root"), ctx)
    removed = unindex(instance, [m.object_id for m in members])
    emit(json_out, {"removed": removed}, f"Deleted {removed} data objects from ds:root")


@command("tag", cls=SelectionCommand)
def tag_(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Sources: ds:root or id:<hash> (ds:root when only filters are given).",
            show_default=False,
        ),
    ] = None,
    add: Annotated[
        list[str] | None,
        typer.Option("-a", "--add", metavar="TAGS", help="Comma-separated tags to add."),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("-r", "--remove", metavar="TAGS", help="Comma-separated tags to remove."),
    ] = None,
    set_tags: Annotated[
        list[str] | None,
        typer.Option(
            "-s",
            "--set",
            metavar="TAGS",
            help="Comma-separated tags replacing all tags of each object.",
        ),
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Add, remove or replace the tags of the selected data objects."""
    from ldb_clone.tagging import TagUpdate, require_selection, tag_objects

    require_selection(paths or [], filters(ctx))
    update = TagUpdate.parse(add, remove, set_tags)
    # only filters: the workspace inside one, else every object (ds:root)
    default = ["ws:."] if in_workspace() else ["ds:root"]
    instance, members = select(paths or default, ctx)
    result = tag_objects(instance, (m.object_id for m in members), update)
    emit(json_out, result, result.format())
