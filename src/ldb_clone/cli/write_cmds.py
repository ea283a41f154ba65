"""Writing objects out: instantiate and get."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import click
import typer

from ldb_clone.cli.apps import command
from ldb_clone.cli.common import (
    in_workspace,
    open_or_quick_start,
    select,
    sources_or_default,
)
from ldb_clone.cli.options import (
    AnnotationsOnly,
    Format,
    InstantiateCommand,
    JsonOut,
    Link,
    Params,
    PreservePaths,
    Target,
    TargetOptions,
    apply_command,
    check_target_options,
    check_write_format,
    parse_options,
    parse_params,
)
from ldb_clone.cli.output import emit, reporter
from ldb_clone.errors import LdbError
from ldb_clone.formats import INSTANTIATE_DEFAULT

# upstream's get announces the add but prints no add counts
GET_ANNOUNCEMENT = "Adding to working dataset...\nInstantiating data...\n"


def _check_write_args(ctx: click.Context, fmt: str, option: list[str] | None, target: str) -> None:
    """Usage errors found before anything is read: the format, ``--apply`` given more
    than once, and (for get) ``-o`` with a local target."""
    check_write_format(fmt)
    check_target_options(option, target)
    apply_command(ctx)


def _write_options(
    ctx: click.Context, target: str, param: list[str] | None, option: list[str] | None, **flags
) -> dict[str, Any]:
    """The keyword arguments of ``instantiate()`` that instantiate and get share:
    ``--apply``, ``-p``, ``-o`` (only for a cloud target) and the flags as given."""
    check_target_options(option, target)
    return {
        "params": parse_params(param),
        "target_options": parse_options(option),
        "apply": apply_command(ctx),
        "reporter": reporter(),
        **flags,
    }


@command("instantiate", cls=InstantiateCommand)
def instantiate_(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Sources (default: the working dataset).", show_default=False),
    ] = None,
    fmt: Format = INSTANTIATE_DEFAULT,
    target: Target = ".",
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Delete the files of a workspace target first.")
    ] = False,
    param: Params = None,
    preserve_paths: PreservePaths = False,
    annotations_only: AnnotationsOnly = False,
    link: Link = False,
    option: TargetOptions = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Report what would be written; write nothing."),
    ] = False,
    json_out: JsonOut = False,
) -> None:
    """Write the selected objects and annotations into a folder, in a format.

    The target must be empty, or a workspace holding nothing but its dataset (-f deletes
    the other files first). Without sources the working dataset is written.
    """
    from ldb_clone.datasets import dataset_identity
    from ldb_clone.instantiation import instantiate, summary_text

    _check_write_args(ctx, fmt, None, target)
    if not paths and not in_workspace():
        raise LdbError("Not in a workspace: give sources to instantiate (e.g. ds:root, ds:NAME)")
    instance, members = select(paths, ctx)
    flags = dict(preserve_paths=preserve_paths, annotations_only=annotations_only, link=link)
    options = _write_options(ctx, target, param, option, force=force, dry_run=dry_run, **flags)
    dataset = dataset_identity(instance, paths)
    result = instantiate(instance, members, target, fmt, dataset=dataset, **options)
    emit(json_out, result, summary_text(result, fmt))


@command("get", cls=InstantiateCommand)
def get_(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Sources: paths, ds:NAME, id:<hash>, ...", show_default=False),
    ] = None,
    fmt: Format = INSTANTIATE_DEFAULT,
    target: Target = ".",
    param: Params = None,
    preserve_paths: PreservePaths = False,
    annotations_only: AnnotationsOnly = False,
    link: Link = False,
    option: TargetOptions = None,
    json_out: JsonOut = False,
) -> None:
    """Add the selection to a workspace (staging a temporary dataset there if needed) and
    write those objects into it."""
    from ldb_clone.datasets import add_members, dataset_identity, get_into_workspace
    from ldb_clone.instantiation import instantiate, summary_text
    from ldb_clone.workspace import workspace_lock

    _check_write_args(ctx, fmt, option, target)
    flags = dict(preserve_paths=preserve_paths, annotations_only=annotations_only, link=link)
    sources = sources_or_default(ctx, paths, "ds:root")
    instance = open_or_quick_start()
    with workspace_lock(target):
        ws, staged = get_into_workspace(Path(target))
        emit(json_out, None, [staged] if staged else None)
        _, members = select(sources, ctx, auto_index=True, instance=instance)
        add_members(instance, ws, members, save=False)
        emit(json_out, None, GET_ANNOUNCEMENT)
        options = _write_options(ctx, target, param, option, clean=False, workspace=ws, **flags)
        dataset = dataset_identity(instance, sources)
        result = instantiate(instance, members, target, fmt, dataset=dataset, **options)
    data = {**result.to_json(), "dataset": f"ds:{ws.dataset_name}"}
    emit(json_out, data, summary_text(result, fmt, "Copied data to workspace."))
