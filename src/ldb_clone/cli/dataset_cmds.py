"""Datasets and the workspace: status, stage, add, del, commit, sync, diff, pull,
transform, and ``ds list``/``ds del``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ldb_clone.cli.apps import command
from ldb_clone.cli.common import (
    open_default,
    open_or_quick_start,
    select,
    selected_ids,
    sources_or_default,
)
from ldb_clone.cli.options import (
    CommitCommand,
    JsonOut,
    SelectionCommand,
    Sources,
    filters,
    parse_bool,
    split_version,
)
from ldb_clone.cli.output import emit, verbose, warn


@command()
def status(
    dataset: Annotated[
        str | None,
        typer.Argument(
            help="ds:NAME[.vN] or ds:root (default: the workspace).", show_default=False
        ),
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Show counts, labelling progress and unsaved changes of a dataset or the workspace."""
    from ldb_clone.status import status

    result = status(open_default(), dataset)
    emit(json_out, result, result.format())


@command()
def stage(
    dataset: Annotated[str, typer.Argument(help="ds:NAME or ds:NAME.vN to stage.")],
    target: Annotated[
        Path, typer.Option("-t", "--target", help="Workspace directory (default: .).")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Overwrite unsaved changes and workspace files.")
    ] = False,
) -> None:
    """Stage a dataset in a workspace directory, to change and commit it."""
    from ldb_clone.datasets import stage
    from ldb_clone.workspace import workspace_lock

    instance = open_or_quick_start()
    with workspace_lock(target):
        print(stage(instance, dataset, target, force))


@command(cls=SelectionCommand)
def add(ctx: typer.Context, paths: Sources = None, json_out: JsonOut = False) -> None:
    """Add the selected objects (with their annotations) to the working dataset."""
    from ldb_clone.datasets import add_members
    from ldb_clone.workspace import locked_workspace

    with locked_workspace(".") as ws:
        sources = sources_or_default(ctx, paths, "ds:root")
        instance, members = select(sources, ctx, auto_index=True)
        result = add_members(instance, ws, members)
    name = f"ds:{ws.dataset_name}"
    counts = {"selected": len(members), "added": result.changed}
    text = [
        "Adding to working dataset...",
        f"Added {result.changed} data objects to {name} at ws:.",
        f"Updated {result.transforms} transforms",
    ]
    emit(json_out, {"dataset": name, **counts, "updated_transforms": result.transforms}, text)


@command("del", cls=SelectionCommand)
def del_(ctx: typer.Context, paths: Sources = None, json_out: JsonOut = False) -> None:
    """Remove the selected objects from the working dataset."""
    from ldb_clone.datasets import delete_members
    from ldb_clone.workspace import locked_workspace

    with locked_workspace(".") as ws:
        removed = delete_members(ws, selected_ids(ctx, sources_or_default(ctx, paths, "ws:.")))
    name = f"ds:{ws.dataset_name}"
    emit(
        json_out,
        {"dataset": name, "removed": removed},
        f"Deleted {removed} data objects from {name}",
    )


@command(cls=CommitCommand)
def commit(
    dataset: Annotated[
        str | None, typer.Argument(help="Commit under this name (ds:NAME).", show_default=False)
    ] = None,
    message: Annotated[str, typer.Option("-m", "--message", help="Commit message.")] = "",
    auto_pull: Annotated[
        str | None,
        typer.Option(
            "--auto-pull",
            metavar="[{true,false}]",
            help="Keep annotations at their latest version when staged (alone: true).",
        ),
    ] = None,
) -> None:
    """Save the working dataset as a new version."""
    from ldb_clone.datasets import commit
    from ldb_clone.workspace import locked_workspace

    pull = parse_bool(auto_pull, "--auto-pull")
    with locked_workspace(".") as ws:
        print(commit(open_default(), ws, message, pull, dataset))


@command(cls=SelectionCommand)
def sync(ctx: typer.Context, paths: Sources = None, json_out: JsonOut = False) -> None:
    """Make the working dataset exactly the selection (default: the files in `.`)."""
    from ldb_clone.datasets import sync_members
    from ldb_clone.workspace import locked_workspace

    with locked_workspace(".") as ws:
        instance, members = select(paths or ["."], ctx, auto_index=True)
        result, removed = sync_members(instance, ws, members)
    name, added = f"ds:{ws.dataset_name}", result.changed
    counts = {"selected": len(members), "added": added, "removed": removed}
    text = [
        "Syncing working dataset...",
        f"Added {added} data objects to {name}",
        f"Deleted {removed} data objects from {name}",
    ]
    emit(json_out, {"dataset": name, **counts}, text)


@command(cls=SelectionCommand)
def diff(
    ctx: typer.Context,
    first: Annotated[
        str | None, typer.Argument(help="ds:NAME[.vN], ds:root or ws:DIR.", show_default=False)
    ] = None,
    second: Annotated[
        str | None, typer.Argument(help="What to compare it with.", show_default=False)
    ] = None,
    summary: Annotated[bool, typer.Option("-s", "--summary", help="Print only the counts.")] = (
        False
    ),
    annotations: Annotated[
        bool,
        typer.Option(
            "-p",
            "--annotations",
            help="Also show what changed inside each modified annotation, key by key.",
        ),
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Show what changed: the workspace against its parent version, A against the
    workspace, or A against B. Filters keep the changes of matching objects (as they are
    on the newer side)."""
    from ldb_clone.history import compare, format_diff

    instance = open_default()
    report = compare(instance, first, second, filters(ctx), warn, details=annotations)
    emit(json_out, report, format_diff(instance, report, summary, full_paths=verbose()))


@command(cls=SelectionCommand)
def pull(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Sources to limit the update to, then an optional vN.", show_default=False
        ),
    ] = None,
) -> None:
    """Update the working dataset's annotations to their latest version (or to vN)."""
    from ldb_clone.datasets import format_pull, pull
    from ldb_clone.workspace import locked_workspace

    sources, version = split_version(paths)
    with locked_workspace(".") as ws:
        _, members = select(sources or ["ws:."], ctx)
        counts = pull(open_default(), ws, [m.object_id for m in members], version)
    print(format_pull(ws.dataset_name, version, counts))


@command("transform", cls=SelectionCommand)
def transform_(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Sources (default: the whole workspace).", show_default=False),
    ] = None,
    add: Annotated[
        list[str] | None,
        typer.Option("-a", "--add", metavar="NAMES", help="Comma-separated transforms to add."),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option(
            "-r", "--remove", metavar="NAMES", help="Comma-separated transforms to remove."
        ),
    ] = None,
    set_to: Annotated[
        list[str] | None,
        typer.Option(
            "-s", "--set", metavar="NAMES", help="Comma-separated transforms replacing the set."
        ),
    ] = None,
    trust: Annotated[
        list[str] | None,
        typer.Option(
            "--trust",
            metavar="NAME",
            help="Let instantiate run a transform that arrived with data (adds it to the config).",
        ),
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Add, remove or set the transforms instantiate applies to objects of the workspace.

    Names are `self` (copy the object as it is) or `[transform.NAME]` entries of the
    config, whose `run = [...]` command instantiate executes. Transforms that arrived
    with data (indexed annotation-only files, a migrated instance) run only after
    `--trust NAME`.
    """
    from ldb_clone.datasets import set_transforms
    from ldb_clone.transforms import TransformUpdate
    from ldb_clone.workspace import locked_workspace

    trusted = _trust(trust or [], json_out)
    if trust and not (add or remove or set_to):
        emit(json_out, {"trusted": trusted})
        return
    update = TransformUpdate.parse(add, remove, set_to)
    with locked_workspace(".") as ws:
        instance, members = select(paths or ["ws:."], ctx)
        count = set_transforms(instance, ws, [m.object_id for m in members], update)
    name, extra = f"ds:{ws.dataset_name}", {"trusted": trusted} if trusted else {}
    text = f"{update.verb} transforms for {count} data objects in {name}"
    emit(json_out, {"dataset": name, "objects": count, **extra}, text)


def _trust(names: list[str], json_out: bool) -> list[str]:
    """``transform --trust NAME``: each message printed as it is trusted (not with --json)."""
    from ldb_clone.trust import trust

    trusted: list[str] = []
    if names:
        instance = open_default()
        for name in names:
            trusted.append(trust(instance, name))
            if not json_out:
                print(trusted[-1])
    return trusted


@command("list")
def ds_list(
    all_versions: Annotated[
        bool,
        typer.Option("-a", "--all", help="Every version, with its date, author, size and message."),
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """List saved datasets (their latest version), or with -a every version with its
    date, author, object count and message."""
    from ldb_clone.datasets import saved_dataset_refs
    from ldb_clone.history import dataset_log, format_log

    instance = open_default()
    if all_versions:
        entries = dataset_log(instance)
        emit(json_out, entries, list(format_log(entries)) or "No saved datasets")
    else:
        names = saved_dataset_refs(instance)
        emit(json_out, names, names or "No saved datasets")


@command("del")
def ds_del(
    datasets: Annotated[list[str], typer.Argument(help="ds:NAME of the datasets to delete.")],
) -> None:
    """Delete datasets by name (all their versions); other datasets are not touched."""
    from ldb_clone.datasets import delete_datasets

    for name in delete_datasets(open_default(), datasets):
        print(f"Deleted {name}")
