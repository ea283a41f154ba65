"""What commands do before their own work: open the instance, select objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ldb_clone.cli.options import filters as given_filters
from ldb_clone.cli.output import reporter
from ldb_clone.errors import LdbError


def open_default():
    from ldb_clone.instance import open_instance

    return open_instance()


def open_or_create():
    """add-storage creates the default instance when none exists (as upstream)."""
    from ldb_clone.instance import init_instance, locate_instance_dir, open_instance

    path = locate_instance_dir()
    if not path.exists():
        for line in init_instance(path):
            print(line)
    return open_instance(path)


def open_or_quick_start():
    """stage and get create the instance where it is looked for when there is none."""
    from ldb_clone.instance import locate_instance_dir, quick_start

    located = locate_instance_dir()
    if located.exists():
        return open_default()
    instance, messages = quick_start(located)
    for line in messages:
        print(line)
    return instance


def in_workspace() -> bool:
    from ldb_clone.workspace import is_workspace

    return is_workspace(Path("."))


def select(
    sources: list[str] | None,
    ctx: click.Context | None = None,
    warn_to=None,
    auto_index: bool = False,
    instance=None,
    filters: list[Any] | None = None,
):
    """(instance, the selected members after the command's filters (or ``filters``), in
    their order). No sources: the workspace in the current directory. With
    ``auto_index`` (add, sync, get) unknown files are indexed when core.auto_index is
    set."""
    from ldb_clone.filters import select_filtered
    from ldb_clone.workspace import default_workspace_source

    instance = instance or open_default()
    if not sources:
        sources = [default_workspace_source()]
    if filters is None:
        filters = given_filters(ctx) if ctx is not None else []
    progress = reporter() if auto_index else None
    return instance, select_filtered(instance, sources, filters, warn_to, auto_index, progress)


def count_selected(sources: list[str] | None, ctx: click.Context) -> int:
    """How many members ``select`` would return (``ds:root`` counted by the catalog)."""
    from ldb_clone.filters import count_filtered
    from ldb_clone.workspace import default_workspace_source

    return count_filtered(
        open_default(), sources or [default_workspace_source()], given_filters(ctx)
    )


def selected_ids(ctx: click.Context, sources: list[str]) -> list[str]:
    """The object ids ``del`` removes: ``id:`` sources without filters are taken as
    given (those in the index, as upstream), anything else is selected."""
    from ldb_clone.selection import indexed_ids, source_kind

    if not given_filters(ctx) and source_kind(sources) == "id":
        return indexed_ids(open_default(), sources)
    return [m.object_id for m in select(sources, ctx)[1]]


def sources_or_default(ctx: click.Context, paths: list[str] | None, default: str | None):
    """Sources for add/del/get/unindex: given ones, else ``default`` when filters were
    given; neither is an error, as upstream."""
    if paths:
        return paths
    if not given_filters(ctx):
        raise LdbError("Must provide either a query or at least one path")
    return [default] if default else []


def held_workspace(directory: str | None):
    """The workspace at ``directory``, held while the command changes it (a context
    manager); None inside it when no directory is given."""
    import contextlib

    from ldb_clone.workspace import locked_workspace

    return locked_workspace(directory) if directory else contextlib.nullcontext(None)
