"""Looking at objects and JSON: list, eval and query."""

from __future__ import annotations

import sys
from itertools import chain
from typing import Annotated

import typer

from ldb_clone.cli.apps import command
from ldb_clone.cli.common import count_selected, select
from ldb_clone.cli.options import (
    Indent,
    JsonOut,
    JsonQueryCommand,
    SelectionCommand,
    Sources,
    filters,
    parse_indent,
    recorded,
    shows,
)
from ldb_clone.cli.output import emit, verbose, warn


@command("list", cls=SelectionCommand)
def list_(
    ctx: typer.Context,
    paths: Sources = None,
    summary: Annotated[bool, typer.Option("-s", "--summary", help="Print only the count.")] = False,
    json_out: JsonOut = False,
) -> None:
    """List data objects with their annotation version and path."""
    from ldb_clone.console import terminal_columns
    from ldb_clone.views import format_list, list_rows

    if summary and not json_out:
        print(count_selected(paths, ctx))
        return
    instance, members = select(paths, ctx)
    rows = list_rows(instance, members)
    table = format_list(rows, verbose=verbose(), columns=terminal_columns())
    emit(json_out, rows, chain(table, ["", f"{len(rows)} matching data objects"]))


@command("eval", cls=SelectionCommand)
def eval_(
    ctx: typer.Context,
    paths: Sources = None,
    json_only: Annotated[
        bool,
        typer.Option(
            "-j", "--json-only", "--json", help="Print only the JSON values (--json as upstream)."
        ),
    ] = False,
    indent: Indent = None,
    show: Annotated[
        list[str] | None,
        typer.Option("--show", metavar="QUERY", help="Show this LDB JMESPath query's value."),
    ] = None,
    jshow: Annotated[
        list[str] | None,
        typer.Option("--jshow", metavar="QUERY", help="Show this standard JMESPath's value."),
    ] = None,
    file_show: Annotated[
        list[str] | None,
        typer.Option("--file-show", metavar="QUERY", help="Show a query on file attributes."),
    ] = None,
    json_records: Annotated[
        bool,
        typer.Option(
            "--json-records",
            help="Print one JSON array of {id, annotation} (or {id, values}) for scripts.",
        ),
    ] = False,
) -> None:
    """Print the annotation of each selected data object, or the values of shown queries.

    Without --show/--jshow/--file-show the last --query/--jquery/--file is shown and the
    earlier ones filter (as upstream 0.7.0); with any show option all of them filter."""
    from ldb_clone.views import eval_records, evaluate, format_eval, show_last_query

    indent_value = parse_indent(indent)
    shown, kept = shows(file_show, show, jshow), filters(ctx)
    if not shown:
        kept, shown = show_last_query(kept)
    instance, members = select(paths, ctx, warn_to=warn, filters=kept)
    rows = evaluate(instance, members, shown, warn=warn)
    emit(json_records, eval_records(rows, bool(shown)), format_eval(rows, json_only, indent_value))


@command("query", cls=JsonQueryCommand)
def query_(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="JSON files (default: one document on stdin).", show_default=False),
    ] = None,
    slurp: Annotated[
        bool, typer.Option("-s", "--slurp", help="Wrap all loaded items in one array.")
    ] = False,
    unslurp: Annotated[
        bool, typer.Option("-u", "--unslurp", help="Split top-level arrays into items.")
    ] = False,
    indent: Indent = None,
) -> None:
    """Run JMESPath filters and shows over plain JSON files or stdin (no instance needed)."""
    from ldb_clone.instance import is_instance, locate_instance_dir
    from ldb_clone.jsonquery import load_json_inputs, run_json_query
    from ldb_clone.views import dump_json

    indent_value = parse_indent(indent)
    kept, shown = recorded(ctx, ("query", "jquery")), recorded(ctx, ("show", "jshow"))
    instance_dir = locate_instance_dir()  # for user functions, when there is an instance
    documents = load_json_inputs(paths or [], sys.stdin)
    user_functions = instance_dir if is_instance(instance_dir) else None
    for value in run_json_query(
        documents, kept, shown, slurp, unslurp, instance_dir=user_functions, warn=warn
    ):
        sys.stdout.write(dump_json(value, indent_value) + "\n")
