"""The ``ldb`` command line: one short function per command over the library API.

Errors are ``LdbError``s, caught in one place (``LdbTyper``) and printed as
``error: <message>`` with exit code 1; a traceback only with ``-v``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any, ClassVar

import click
import typer
from typer.core import TyperCommand

from ldb_clone import __version__
from ldb_clone.errors import LdbError
from ldb_clone.formats import format_choices_help

_state = {"verbose": 0, "quiet": False}
PAIR_SEPARATOR = "\x00"  # never part of an argv string, so it joins KEY VALUE safely


class LdbCommand(TyperCommand):
    """Parses what click cannot express through typer, in one place.

    - ``-o/--option KEY VALUE`` takes two words; they are joined with a NUL before
      typer sees them (a typer option cannot be a list of pairs).
    - A unique prefix of a long option is accepted (``--summ`` for ``--summary``), as
      upstream's argparse command line did.
    - An option in ``optional_values`` may be given without its value (argparse's
      ``nargs="?"``): ``commit --auto-pull`` means ``--auto-pull true``.
    """

    pair_options = ("-o", "--option")
    # option -> (the value it takes when given alone, the values it may take)
    optional_values: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {}

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        long_names = sorted(
            {
                name
                for param in self.get_params(ctx)
                for name in (*param.opts, *param.secondary_opts)
                if name.startswith("--")
            }
        )
        rewritten: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                rewritten.extend(args[i:])
                break
            if arg.startswith("--") and len(arg) > 2:
                arg = _expand_prefix(arg, long_names)
            if arg in self.optional_values:
                implied, allowed = self.optional_values[arg]
                following = args[i + 1].lower() if i + 1 < len(args) else None
                if following not in allowed:
                    rewritten.append(f"{arg}={implied}")
                    i += 1
                    continue
            if arg in self.pair_options:
                if i + 2 >= len(args):
                    raise click.UsageError(f"Option '{arg}' requires two arguments: KEY VALUE", ctx)
                rewritten += [arg, args[i + 1] + PAIR_SEPARATOR + args[i + 2]]
                i += 3
                continue
            rewritten.append(arg)
            i += 1
        return super().parse_args(ctx, rewritten)


# option -> (filter kind, help); all are repeatable and applied in command-line order
FILTER_OPTIONS: dict[str, tuple[str, str]] = {
    "--query": ("query", "Keep objects whose annotation matches this LDB JMESPath query."),
    "--jquery": ("jquery", "Keep objects whose annotation matches this standard JMESPath."),
    "--file": ("file", "Keep objects whose file attributes (fs.size, tags, ...) match."),
    "--path": ("path", "Keep objects with a path matching this regular expression."),
    "--tag": ("tag", "Keep objects with at least one of these comma-separated tags."),
    "--no-tag": ("no_tag", "Keep objects missing at least one of these tags."),
    "--limit": ("limit", "Keep the first N objects."),
    "--sample": ("sample", "Keep each object with probability P (0 to 1)."),
    "--shuffle": ("shuffle", "Shuffle the objects."),
    "--pipe": ("pipe", "Filter or sort through a plugin: --pipe EXEC [ARGS...]."),
    "--pipe-timeout": (
        "pipe_timeout",
        "Stop a --pipe plugin (and its children) that runs longer than SECONDS; error.",
    ),
}
FILTERS_KEY = "ldb_filters"


class OrderedOptionsCommand(LdbCommand):
    """A command whose repeatable options keep their relative order.

    NOTE: click groups values by option, losing their relative order; a pipeline needs
    it (``--limit 10 --query q`` differs from ``--query q --limit 10``), so the order is
    read here from the raw arguments and handed to the command in ``ctx.meta``.
    ``ordered_options`` maps each option to (kind, help); ``--pipe`` takes every word up
    to the next option.
    """

    ordered_options: ClassVar[dict[str, tuple[str, str]]] = {}
    flags = ("shuffle",)
    metavars: ClassVar[dict[str, str]] = {
        "limit": "N",
        "sample": "P",
        "pipe": "EXEC [ARGS...]",
        "pipe_timeout": "SECONDS",
        "apply": "EXEC [ARGS...]",
    }
    commands = ("pipe", "apply")  # options that take an executable and its arguments

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for flag, (kind, help_text) in self.ordered_options.items():
            self.params.append(
                click.Option(
                    [flag],
                    is_flag=kind in self.flags,
                    multiple=kind not in self.flags,
                    expose_value=False,
                    metavar=self.metavars.get(
                        kind, "TEXT" if kind in ("path", "tag", "no_tag") else "QUERY"
                    ),
                    help=help_text,
                )
            )

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        recorded: list[tuple[str, Any]] = []
        rewritten: list[str] = []
        long_names = sorted({n for p in self.get_params(ctx) for n in p.opts if n[:2] == "--"})
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                rewritten.extend(args[i:])
                break
            name, sep, inline = (
                _expand_prefix(arg, long_names).partition("=") if arg[:2] == "--" else (arg, "", "")
            )
            if name not in self.ordered_options:
                rewritten.append(arg)
                i += 1
                continue
            kind = self.ordered_options[name][0]
            if kind in self.flags:
                recorded.append((kind, None))
                rewritten.append(name)
                i += 1
            elif kind in self.commands:
                words = [inline] if sep else []
                i += 1
                while i < len(args) and not (args[i].startswith("-") and len(args[i]) > 1):
                    words.append(args[i])
                    i += 1
                if not words:
                    raise click.UsageError(f"Option '{name}' requires an executable", ctx)
                recorded.append((kind, words))
                rewritten += [name, PAIR_SEPARATOR.join(words)]
            else:
                if sep:
                    value = inline
                    i += 1
                elif i + 1 < len(args):
                    value = args[i + 1]
                    i += 2
                else:
                    raise click.UsageError(f"Option '{name}' requires an argument", ctx)
                recorded.append((kind, value))
                rewritten += [name, value]
        _check_numeric_filters(ctx, recorded)
        ctx.meta[FILTERS_KEY] = recorded
        return super().parse_args(ctx, rewritten)


NUMERIC_FILTERS = ("limit", "sample", "pipe_timeout")


def _check_numeric_filters(ctx: click.Context, recorded: list[tuple[str, Any]]) -> None:
    """``--limit abc`` and the like are usage errors (exit 2), found before anything runs."""
    numeric = [(kind, value) for kind, value in recorded if kind in NUMERIC_FILTERS]
    if not numeric:
        return
    from ldb_clone.filters import Filter, FilterError, validate

    try:
        validate([Filter(kind, value) for kind, value in numeric])
    except FilterError as exc:
        raise click.UsageError(str(exc), ctx) from None


class CommitCommand(LdbCommand):
    optional_values: ClassVar[dict[str, tuple[str, tuple[str, ...]]]] = {
        "--auto-pull": ("true", ("true", "false"))
    }


class SelectionCommand(OrderedOptionsCommand):
    """A command that selects objects: sources plus the filter pipeline."""

    ordered_options = FILTER_OPTIONS


class InstantiateCommand(OrderedOptionsCommand):
    """instantiate and get: the selection, plus ``--apply EXEC [ARGS...]``."""

    ordered_options: ClassVar[dict[str, tuple[str, str]]] = {
        **FILTER_OPTIONS,
        "--apply": (
            "apply",
            "Run EXEC [ARGS...] on the result: it gets [raw dir, target dir] as JSON on stdin.",
        ),
    }


class JsonQueryCommand(OrderedOptionsCommand):
    """``ldb query``: filters and shows over plain JSON, in the order given."""

    ordered_options: ClassVar[dict[str, tuple[str, str]]] = {
        "--query": ("query", "Keep items matching this LDB JMESPath query."),
        "--jquery": ("jquery", "Keep items matching this standard JMESPath query."),
        "--show": ("show", "Print this LDB JMESPath query's value for each item."),
        "--jshow": ("jshow", "Print this standard JMESPath query's value for each item."),
    }


def _filters(ctx: click.Context) -> list[Any]:
    from ldb_clone.filters import Filter

    kinds = {kind for kind, _ in FILTER_OPTIONS.values()}
    return [Filter(kind, arg) for kind, arg in ctx.meta.get(FILTERS_KEY, []) if kind in kinds]


def _apply_command(ctx: click.Context) -> list[str]:
    commands = [arg for kind, arg in ctx.meta.get(FILTERS_KEY, []) if kind == "apply"]
    if len(commands) > 1:
        raise click.UsageError("Option '--apply' may be given once", ctx)
    return commands[0] if commands else []


def _expand_prefix(arg: str, long_names: list[str]) -> str:
    name, sep, value = arg.partition("=")
    if name in long_names:
        return arg
    matches = [full for full in long_names if full.startswith(name)]
    return matches[0] + sep + value if len(matches) == 1 else arg


def _report_error(exc: BaseException) -> None:
    from ldb_clone.errors import scrub
    from ldb_clone.terminal_text import printable

    if _state["verbose"]:
        sys.stderr.write(scrub("".join(traceback.format_exception(exc))))
    message = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, LdbError):
        message = f"{message} ({type(exc).__name__}; run with -v for the traceback)"
    # one line, and no file name's escape sequence reaches the terminal
    sys.stderr.write(f"error: {printable(scrub(message))}\n")
    sys.stderr.flush()


def _handle_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("error: interrupted\n")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(1) from None
        except Exception as exc:
            _report_error(exc)
            raise typer.Exit(1) from None

    return wrapper


class LdbTyper(typer.Typer):
    def command(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("cls", LdbCommand)
        decorator = super().command(*args, **kwargs)

        def register(fn):
            decorator(_handle_errors(fn))
            return fn

        return register


# NOTE: suggest_commands=False: click already says "Did you mean ...?"; typer would add
# the same suggestion a second time.
app = LdbTyper(
    name="ldb",
    suggest_commands=False,
    help="Label Database: index, query, version and convert labelled data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Verbose = Annotated[
    int,
    typer.Option(
        "-v", "--verbose", count=True, show_default=False, help="More output; -v shows tracebacks."
    ),
]
Quiet = Annotated[bool, typer.Option("-q", "--quiet", help="Less output: no progress bars.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]
Indent = Annotated[
    str | None,
    typer.Option("--indent", help="JSON indent: a number, 'none', or whitespace (default 2)."),
]
Sources = Annotated[
    list[str] | None,
    typer.Argument(
        help="Sources: ds:root, ds:NAME[.vN], ws:DIR, id:<hash> or paths "
        "(default: the workspace in the current directory).",
        show_default=False,
    ),
]


def _set_output(verbose: int, quiet: bool) -> None:
    _state["verbose"] = max(_state["verbose"], verbose)
    _state["quiet"] = _state["quiet"] or quiet


def _version(value: bool) -> None:
    if value:
        print(f"ldb {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Verbose = 0,
    quiet: Quiet = False,
    version: Annotated[
        bool,
        typer.Option(
            "-V", "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    _set_output(verbose, quiet)


def _reporter():
    from ldb_clone.console import CliReporter

    return CliReporter(quiet=_state["quiet"])


def _open():
    from ldb_clone.instance import open_instance

    return open_instance()


def _print_json(value: Any) -> None:
    from ldb_clone.strict_json import dumps

    sys.stdout.write(dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def _parse_params(values: list[str] | None) -> dict[str, str]:
    params = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep:
            raise LdbError(f"Invalid parameter {value!r}: use -p key=value")
        params[key.strip()] = val
    return params


def _indent(text: str | None) -> int | str | None:
    from ldb_clone.views import parse_indent

    try:
        return parse_indent(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--indent'") from None


def _check_choice(value: str, choices: tuple[str, ...], option: str) -> None:
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise click.BadParameter(f"{value!r} is not one of {shown}", param_hint=option)


def _parse_bool(value: str, option: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise click.BadParameter(f"{value!r} is not one of 'true', 'false'", param_hint=option)


# commands ---------------------------------------------------------------------------------


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Directory for the new instance.")],
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Replace an existing instance.")
    ] = False,
    hash_algorithm: Annotated[
        str,
        typer.Option(
            "--hash",
            metavar="{xxh3,md5}",
            help="Object id algorithm: xxh3 (fast, default) or md5 (upstream LDB's ids).",
        ),
    ] = "xxh3",
    catalog: Annotated[
        str | None,
        typer.Option(
            "--catalog",
            metavar="URL",
            help="Keep the catalog in this PostgreSQL database "
            "(postgresql://USER@HOST:PORT/DB), shared by a team.",
        ),
    ] = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Create a new LDB instance at PATH and make it the default one."""
    _set_output(verbose, quiet)
    from ldb_clone.instance import init_instance, remember_instance

    _check_choice(hash_algorithm, ("xxh3", "md5"), "--hash")

    for line in init_instance(path, force=force, hash_algorithm=hash_algorithm, catalog=catalog):
        print(line)
    print(remember_instance(path))


@app.command("add-storage")
def add_storage(
    path: Annotated[str, typer.Argument(help="Local directory or URL (s3://bucket/prefix).")],
    read_add: Annotated[
        str,
        typer.Option(
            "-a",
            "--read-add",
            metavar="{true,false}",
            help="Use this location for copies of files indexed from outside storage.",
        ),
    ] = "false",
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Replace existing locations inside PATH.")
    ] = False,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "-o",
            "--option",
            metavar="KEY VALUE",
            help="fsspec option for this location; VALUE is parsed as JSON, else a string.",
        ),
    ] = None,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Register a storage location that holds data objects.

    With --json, prints every storage location afterwards, credentials masked.
    """
    _set_output(verbose, quiet)
    from ldb_clone.storage import add_storage as _add_storage
    from ldb_clone.storage import load_locations

    options = _parse_options(option)
    instance = _open_or_create()
    message = _add_storage(
        instance, path, _parse_bool(read_add, "--read-add"), options, force, _reporter()
    )
    if json_out:
        locations = [loc.to_json() for loc in load_locations(instance)]
        _print_json({"message": message, "locations": locations})
    else:
        print(message)


def _parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``-o KEY VALUE`` pairs; VALUE is parsed as JSON, else kept as a string."""
    from ldb_clone.storage import parse_option_value

    options = {}
    for pair in pairs or []:
        key, _, value = pair.partition(PAIR_SEPARATOR)
        options[key] = parse_option_value(value)
    return options


def _open_or_create():
    """add-storage creates the default instance when none exists (as upstream)."""
    from ldb_clone.instance import init_instance, is_instance, locate_instance_dir, open_instance

    path = locate_instance_dir()
    if not path.exists():
        for line in init_instance(path):
            print(line)
    elif not is_instance(path):
        return open_instance(path)
    return open_instance(path)


def _complete_formats(choices):
    """Shell completion of -m: the names ``choices()`` lists that start as typed."""

    def complete(incomplete: str) -> list[str]:
        return [name for name in choices() if name.startswith(incomplete)]

    return complete


def _index_choices() -> list[str]:
    from ldb_clone.formats import index_choices

    return index_choices()


def _instantiate_choices() -> list[str]:
    from ldb_clone.formats import instantiate_choices

    return instantiate_choices()


@app.command()
def index(
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders, globs or URLs.", show_default=False)
    ],
    fmt: Annotated[
        str,
        typer.Option(
            "-m",
            "--format",
            metavar="FORMAT",
            help=format_choices_help("auto"),
            autocompletion=_complete_formats(_index_choices),
        ),
    ] = "auto",
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
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Index data objects and annotations into the instance."""
    _set_output(verbose, quiet)
    from ldb_clone.formats import canonical_name
    from ldb_clone.indexing import index as _index

    if annotation_update is not None:
        _check_choice(annotation_update, ("replace", "merge"), "--annotation-update")
    try:
        canonical_name(fmt)
    except LdbError as exc:
        raise click.BadParameter(str(exc), param_hint="'-m' / '--format'") from None
    reporter = _reporter()
    if json_out:
        reporter.to_stderr = True
    held = contextlib.nullcontext(None)
    if add_to is not None and not dry_run:
        from ldb_clone.workspace import locked_workspace

        if not add_to.startswith("ws:"):
            raise click.BadParameter("expected ws:DIR, e.g. ws:.", param_hint="'-a' / '--add'")
        held = locked_workspace(add_to[3:] or ".")
    with held as workspace:
        instance = _open()
        result = _index(
            instance,
            paths,
            fmt,
            _parse_params(param),
            add_tags or (),
            annotation_update,
            ephemeral_remote,
            reporter,
            dry_run=dry_run,
        )
        if workspace is not None:
            from dataclasses import replace

            from ldb_clone.datasets import add_members
            from ldb_clone.selection import current_members

            members = [
                replace(m, transforms=result.transforms[m.object_id])
                if m.object_id in result.transforms
                else m
                for m in current_members(instance, result.object_ids)
            ]
            added = add_members(instance, workspace, members)
            reporter.echo("")
            reporter.echo(
                f"Added {added.changed} data objects to ds:{workspace.dataset_name} at {add_to}"
            )
    if json_out:
        _print_json(result.to_json())


def _members(
    sources: list[str] | None,
    ctx: click.Context | None = None,
    warn=None,
    auto_index: bool = False,
    instance=None,
    filters: list[Any] | None = None,
):
    """The selected members after the command's filters (or ``filters``), in their order.
    With ``auto_index`` (add, sync, get) unknown files are indexed when core.auto_index is
    set."""
    from ldb_clone.filters import select_filtered
    from ldb_clone.workspace import default_workspace_source

    instance = instance or _open()
    if not sources:
        sources = [default_workspace_source()]
    if filters is None:
        filters = _filters(ctx) if ctx is not None else []
    reporter = _reporter() if auto_index else None
    members = select_filtered(instance, sources, filters, warn, auto_index, reporter)
    return instance, members


def _warn(message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"warning: {message}\n")


@app.command("list", cls=SelectionCommand)
def list_(
    ctx: typer.Context,
    paths: Sources = None,
    summary: Annotated[bool, typer.Option("-s", "--summary", help="Print only the count.")] = False,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """List data objects with their annotation version and path."""
    _set_output(verbose, quiet)
    from ldb_clone.views import format_list, list_rows

    instance, members = _members(paths, ctx)
    if json_out:
        _print_json([row.to_json() for row in list_rows(instance, members)])
        return
    if summary:
        print(len(members))
        return
    from ldb_clone.console import terminal_columns

    rows = list_rows(instance, members)
    for line in format_list(rows, verbose=_state["verbose"] > 0, columns=terminal_columns()):
        print(line)
    print(f"\n{len(members)} matching data objects")


@app.command("eval", cls=SelectionCommand)
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
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Print the annotation of each selected data object, or the values of shown queries.

    Without --show/--jshow/--file-show the last --query/--jquery/--file is shown and the
    earlier ones filter (as upstream 0.7.0); with any show option all of them filter."""
    _set_output(verbose, quiet)
    from ldb_clone.views import dump_json, evaluate, show_last_query

    indent_value = _indent(indent)
    shows = (
        [("file", q) for q in file_show or []]
        + [("query", q) for q in show or []]
        + [("jquery", q) for q in jshow or []]
    )
    filters = _filters(ctx)
    if not shows:
        filters, shows = show_last_query(filters)
    instance, members = _members(paths, ctx, warn=_warn, filters=filters)
    rows = evaluate(instance, members, shows, warn=_warn)
    if json_records:
        key = "values" if shows else "annotation"
        _print_json([{"id": oid, key: values if shows else values[0]} for oid, values in rows])
        return
    out = []
    for oid, values in rows:
        if not json_only:
            out.append(f"id:{oid}")
        out.extend(dump_json(value, indent_value) for value in values)
        if not json_only:
            out.append("")
    if out:
        sys.stdout.write("\n".join(out) + "\n")


@app.command()
def status(
    dataset: Annotated[
        str | None,
        typer.Argument(
            help="ds:NAME[.vN] or ds:root (default: the workspace).", show_default=False
        ),
    ] = None,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Show counts, labelling progress and unsaved changes of a dataset or the workspace."""
    _set_output(verbose, quiet)
    from ldb_clone.views import status_of
    from ldb_clone.workspace import default_workspace_source

    instance = _open()
    if dataset is None:
        default_workspace_source()
        result = _workspace_status(instance)
    else:
        name = dataset
        from ldb_clone.selection import select_members

        result = status_of(name, select_members(instance, [name]), instance)
        if name != "ds:root":
            from ldb_clone.datasets import parse_ref, version_info

            info = version_info(instance, parse_ref(name))
            result.name = f"ds:{info['name']}.v{info['version']}"
            result.auto_pull = bool(info["auto_pull"])
            result.message = info["message"] or None
    if json_out:
        _print_json(result.to_json())
    else:
        print(result.format())


def _in_workspace() -> bool:
    from ldb_clone.workspace import is_workspace

    return is_workspace(Path("."))


def _workspace_status(instance):
    from ldb_clone.datasets import Snapshot, members_of, parent_snapshot
    from ldb_clone.views import collection_changes, status_of
    from ldb_clone.workspace import load_workspace

    ws = load_workspace(".")
    result = status_of(f"ds:{ws.dataset_name}", members_of(instance, ws.members), instance)
    result.workspace = "."
    result.auto_pull = ws.auto_pull
    result.changes = collection_changes(
        parent_snapshot(instance, ws), Snapshot(ws.members, ws.transforms)
    )
    return result


@app.command()
def stage(
    dataset: Annotated[str, typer.Argument(help="ds:NAME or ds:NAME.vN to stage.")],
    target: Annotated[
        Path, typer.Option("-t", "--target", help="Workspace directory (default: .).")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("-f", "--force", help="Overwrite unsaved changes and workspace files.")
    ] = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Stage a dataset in a workspace directory, to change and commit it."""
    _set_output(verbose, quiet)
    from ldb_clone.datasets import stage as _stage
    from ldb_clone.workspace import workspace_lock

    instance = _open_or_quick_start()
    with workspace_lock(target):
        print(_stage(instance, dataset, target, force))


def _open_or_quick_start():
    """stage and get create the instance where it is looked for when there is none."""
    from ldb_clone.instance import locate_instance_dir, quick_start

    located = locate_instance_dir()
    if located.exists():
        return _open()
    instance, messages = quick_start(located)
    for line in messages:
        print(line)
    return instance


def _selection_or_error(ctx: click.Context, paths: list[str] | None, default: str | None):
    """Sources for add/del/tag-like commands: given ones, else ``default`` when filters were
    given; neither is an error, as upstream."""
    if paths:
        return paths
    if not _filters(ctx):
        raise LdbError("Must provide either a query or at least one path")
    return [default] if default else []


@app.command(cls=SelectionCommand)
def add(
    ctx: typer.Context,
    paths: Sources = None,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Add the selected objects (with their annotations) to the working dataset."""
    _set_output(verbose, quiet)
    from ldb_clone.datasets import add_members
    from ldb_clone.workspace import locked_workspace

    with locked_workspace(".") as ws:
        sources = _selection_or_error(ctx, paths, "ds:root")
        instance, members = _members(sources, ctx, auto_index=True)
        result = add_members(instance, ws, members)
    if json_out:
        _print_json(
            {
                "dataset": f"ds:{ws.dataset_name}",
                "selected": len(members),
                "added": result.changed,
                "updated_transforms": result.transforms,
            }
        )
        return
    print("Adding to working dataset...")
    print(f"Added {result.changed} data objects to ds:{ws.dataset_name} at ws:.")
    print(f"Updated {result.transforms} transforms")


@app.command("del", cls=SelectionCommand)
def del_(
    ctx: typer.Context,
    paths: Sources = None,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Remove the selected objects from the working dataset."""
    _set_output(verbose, quiet)
    from ldb_clone.datasets import delete_members
    from ldb_clone.selection import indexed_ids, source_kind
    from ldb_clone.workspace import locked_workspace

    with locked_workspace(".") as ws:
        sources = _selection_or_error(ctx, paths, "ws:.")
        if not _filters(ctx) and source_kind(sources) == "id":
            ids = indexed_ids(_open(), sources)
        else:
            ids = [m.object_id for m in _members(sources, ctx)[1]]
        removed = delete_members(ws, ids)
    if json_out:
        _print_json({"dataset": f"ds:{ws.dataset_name}", "removed": removed})
        return
    print(f"Deleted {removed} data objects from ds:{ws.dataset_name}")


@app.command(cls=CommitCommand)
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
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Save the working dataset as a new version."""
    _set_output(verbose, quiet)
    from ldb_clone.datasets import commit as _commit
    from ldb_clone.workspace import locked_workspace

    pull = None if auto_pull is None else _parse_bool(auto_pull, "--auto-pull")
    with locked_workspace(".") as ws:
        print(_commit(_open(), ws, message, pull, dataset))


@app.command(cls=SelectionCommand)
def sync(
    ctx: typer.Context,
    paths: Sources = None,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Make the working dataset exactly the selection (default: the files in `.`)."""
    _set_output(verbose, quiet)
    from ldb_clone.datasets import sync_members
    from ldb_clone.workspace import locked_workspace

    with locked_workspace(".") as ws:
        instance, members = _members(paths or ["."], ctx, auto_index=True)
        result, removed = sync_members(instance, ws, members)
    added = result.changed
    name = f"ds:{ws.dataset_name}"
    if json_out:
        _print_json({"dataset": name, "selected": len(members), "added": added, "removed": removed})
        return
    print("Syncing working dataset...")
    print(f"Added {added} data objects to {name}")
    print(f"Deleted {removed} data objects from {name}")


@app.command(cls=SelectionCommand)
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
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Show what changed: the workspace against its parent version, A against the
    workspace, or A against B. Filters keep the changes of matching objects (as they are
    on the newer side)."""
    _set_output(verbose, quiet)
    from ldb_clone import datasets as ds
    from ldb_clone.history import filter_changes, modification_details
    from ldb_clone.terminal_text import printable
    from ldb_clone.views import left_truncate
    from ldb_clone.workspace import load_workspace

    instance = _open()
    if first is None:
        ws = load_workspace(".")
        old, new = ds.parent_snapshot(instance, ws), ds.resolve_snapshot(instance, "ws:.")
    elif second is None:
        old, new = ds.resolve_snapshot(instance, first), ds.resolve_snapshot(instance, "ws:.")
    else:
        old, new = ds.resolve_snapshot(instance, first), ds.resolve_snapshot(instance, second)
    rows = filter_changes(instance, ds.diff(instance, old, new), old, new, _filters(ctx), _warn)
    counts = [sum(1 for r in rows if r.kind == kind) for kind in "+-m"]
    changed = modification_details(instance, rows, old, new) if annotations else {}
    if json_out:
        _print_json(
            {
                "additions": counts[0],
                "deletions": counts[1],
                "modifications": counts[2],
                "changes": [
                    {
                        "change": r.kind,
                        "id": r.object_id,
                        "old": r.old_version,
                        "new": r.new_version,
                        **(
                            {"annotation": [c.to_json() for c in changed[r.object_id]]}
                            if r.object_id in changed
                            else {}
                        ),
                    }
                    for r in rows
                ],
            }
        )
        return
    if not summary and rows:
        infos = instance.catalog.object_infos([r.object_id for r in rows])
        for r in rows:
            info = infos.get(r.object_id)
            path = info.path if info and info.path else ""
            path = printable(path)
            shown = path if _state["verbose"] else left_truncate(path, 36)
            if r.kind == "m":
                annot = f"{r.old_version or '-'} -> {r.new_version or '-'}"
            else:
                annot = str((r.new_version if r.kind == "+" else r.old_version) or "-")
            print(f"{r.kind} id:{r.object_id:35} {annot:12} {shown}")
            for change in changed.get(r.object_id, []):
                print(f"    {change.format()}")
    if any(counts):
        if not summary:
            print()
        print(
            f"  Additions (+): {counts[0]:8}\n"
            f"  Deletions (-): {counts[1]:8}\n"
            f"  Modifications (m): {counts[2]:4}"
        )


@app.command(cls=SelectionCommand)
def pull(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Sources to limit the update to, then an optional vN.", show_default=False
        ),
    ] = None,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Update the working dataset's annotations to their latest version (or to vN)."""
    _set_output(verbose, quiet)
    import re

    from ldb_clone.datasets import pull as _pull
    from ldb_clone.workspace import locked_workspace

    sources = list(paths or [])
    version = None
    if sources and re.fullmatch(r"v(\d+)", sources[-1]):
        version = int(sources.pop()[1:])
    with locked_workspace(".") as ws:
        _, members = _members(sources or ["ws:."], ctx)
        done, updated, missing = _pull(_open(), ws, [m.object_id for m in members], version)
    print(f"Updating to {'latest version' if version is None else f'v{version}'}")
    print()
    print(f"ds:{ws.dataset_name}")
    print(f"  Already up-to-date: {done:8d}")
    print(f"  New updates:        {updated:8d}")
    print(f"  Missing version:    {missing:8d}")
    print()  # upstream's summary ends with a blank line


@app.command(cls=SelectionCommand)
def unindex(
    ctx: typer.Context,
    paths: Sources = None,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Remove the selected objects from the index (not objects in saved datasets)."""
    _set_output(verbose, quiet)
    instance, members = _members(_selection_or_error(ctx, paths, "ds:root"), ctx)
    ids = [m.object_id for m in members]
    saved = instance.catalog.datasets_containing(ids)
    if saved:
        oid, names = next(iter(sorted(saved.items())))
        more = f" (and {len(saved) - 1} more objects)" if len(saved) > 1 else ""
        raise LdbError(
            f"Data object id:{oid} is contained in saved datasets: {', '.join(names)}{more}"
        )
    removed = instance.catalog.unindex(ids)
    if json_out:
        _print_json({"removed": removed})
    else:
        print(f"Deleted {removed} data objects from ds:root")


ds_app = LdbTyper(
    name="ds",
    suggest_commands=False,
    help="List and delete saved datasets.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(ds_app, name="ds")


@ds_app.command("list")
def ds_list(
    all_versions: Annotated[
        bool,
        typer.Option("-a", "--all", help="Every version, with its date, author, size and message."),
    ] = False,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """List saved datasets (their latest version), or with -a every version with its
    date, author, object count and message."""
    _set_output(verbose, quiet)
    instance = _open()
    if all_versions:
        from ldb_clone.history import dataset_log, format_log

        entries = dataset_log(instance)
        if json_out:
            _print_json([e.to_json() for e in entries])
        elif entries:
            print("\n".join(format_log(entries)))
        else:
            print("No saved datasets")
        return
    names = [f"ds:{name}.v{latest}" for name, latest in instance.catalog.dataset_names()]
    if json_out:
        _print_json(names)
    elif names:
        print("\n".join(names))
    else:
        print("No saved datasets")


@ds_app.command("del")
def ds_del(
    datasets: Annotated[list[str], typer.Argument(help="ds:NAME of the datasets to delete.")],
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Delete datasets by name (all their versions); other datasets are not touched."""
    _set_output(verbose, quiet)
    from ldb_clone.datasets import DatasetError, parse_ref

    instance = _open()
    refs = [parse_ref(d) for d in datasets]
    for ref in refs:
        if ref.version is not None:
            raise DatasetError(f"Expected a dataset name without a version: {ref}")
        if not instance.catalog.dataset_versions(ref.name):
            raise DatasetError(f"Dataset not found: ds:{ref.name}")
    for ref in refs:
        instance.catalog.delete_dataset(ref.name)
        print(f"Deleted ds:{ref.name}")


storage_app = LdbTyper(
    name="storage",
    help="List and remove storage locations (add them with ldb add-storage).",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(storage_app, name="storage")


@storage_app.command("list")
def storage_list(
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """List storage locations: URL, read-add, options (credentials masked)."""
    _set_output(verbose, quiet)
    from ldb_clone.storage import format_locations, load_locations
    from ldb_clone.terminal_text import printable

    locations = load_locations(_open())
    if json_out:
        _print_json([loc.to_json() for loc in locations])
    elif locations:
        print("\n".join(printable(line) for line in format_locations(locations)))
    else:
        print("No storage locations")


@storage_app.command("rm")
def storage_rm(
    path: Annotated[str, typer.Argument(help="The location's folder or URL, as registered.")],
    force: Annotated[
        bool,
        typer.Option(
            "-f", "--force", help="Remove it even if indexed objects are stored only there."
        ),
    ] = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Remove a storage location (its files and the index are not touched)."""
    _set_output(verbose, quiet)
    from ldb_clone.storage import remove_storage
    from ldb_clone.terminal_text import printable

    print(printable(remove_storage(_open(), path, force)))


@app.command("query", cls=JsonQueryCommand)
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
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Run JMESPath filters and shows over plain JSON files or stdin (no instance needed)."""
    _set_output(verbose, quiet)
    from ldb_clone.instance import is_instance, locate_instance_dir
    from ldb_clone.jsonquery import load_json_inputs, run_json_query
    from ldb_clone.views import dump_json

    indent_value = _indent(indent)
    recorded = ctx.meta.get(FILTERS_KEY, [])
    filters = [(kind, expr) for kind, expr in recorded if kind in ("query", "jquery")]
    shows = [(kind, expr) for kind, expr in recorded if kind in ("show", "jshow")]
    instance_dir = locate_instance_dir()  # for user functions, when there is an instance
    documents = load_json_inputs(paths or [], sys.stdin)
    for value in run_json_query(
        documents,
        filters,
        shows,
        slurp,
        unslurp,
        instance_dir=instance_dir if is_instance(instance_dir) else None,
        warn=_warn,
    ):
        sys.stdout.write(dump_json(value, indent_value) + "\n")


@app.command("tag", cls=SelectionCommand)
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
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Add, remove or replace the tags of the selected data objects."""
    _set_output(verbose, quiet)
    from ldb_clone.tagging import TagUpdate, require_selection, tag_objects

    require_selection(paths or [], ctx.meta.get(FILTERS_KEY, []))
    update = TagUpdate.parse(add, remove, set_tags)
    # only filters: the workspace inside one, else every object (ds:root)
    default = ["ws:."] if _in_workspace() else ["ds:root"]
    instance, members = _members(paths or default, ctx)
    result = tag_objects(instance, (m.object_id for m in members), update)
    if json_out:
        _print_json(result.to_json())
    else:
        print(result.format())


Format = Annotated[
    str,
    typer.Option(
        "-m",
        "--format",
        metavar="FORMAT",
        help=format_choices_help("bare"),
        autocompletion=_complete_formats(_instantiate_choices),
    ),
]
Target = Annotated[str, typer.Option("-t", "--target", help="Target folder or URL (default: .).")]
Params = Annotated[
    list[str] | None,
    typer.Option("-p", "--param", metavar="KEY=VALUE", help="Format parameter."),
]
PreservePaths = Annotated[
    bool,
    typer.Option("--preserve-paths", help="Keep each object's path below its storage location."),
]
AnnotationsOnly = Annotated[
    bool,
    typer.Option("--annotations-only", help="Write only the annotations, not the data objects."),
]
TargetOptions = Annotated[
    list[str] | None,
    typer.Option(
        "-o",
        "--option",
        metavar="KEY VALUE",
        help="fsspec option for a cloud target (endpoint, credentials), as add-storage's; "
        "a target in a bucket of a storage location has that location's already.",
    ),
]
Link = Annotated[
    bool,
    typer.Option(
        "--link",
        help="Clone (copy-on-write) or hard-link local objects instead of copying them.",
    ),
]


def _check_format(fmt: str) -> str:
    """A format to write in: auto-detect (for indexing only) and unknown names are usage
    errors naming the formats that can be written."""
    from ldb_clone.formats import AUTO, canonical_name, instantiate_choices

    choices = ", ".join(instantiate_choices())
    try:
        name = canonical_name(fmt)
    except LdbError:
        name = None
    if name is None or name == AUTO:
        why = "auto-detect is for indexing" if name == AUTO else "unknown format"
        raise click.BadParameter(
            f"{fmt!r}: {why}. Choose from: {choices}", param_hint="'-m' / '--format'"
        )
    return name


def _check_target_options(option: list[str] | None, target: str) -> None:
    from ldb_clone.fs import LOCAL, split_url

    if option and split_url(target)[0] == LOCAL:
        raise click.UsageError(
            f"Option '-o' applies to a cloud target (s3://...), not to '{target}'"
        )


def _write_options(
    apply: list[str],
    preserve_paths: bool,
    annotations_only: bool,
    link: bool,
    option: list[str] | None,
    target: str,
) -> dict[str, Any]:
    """The options instantiate and get share, as keyword arguments of instantiate()."""
    _check_target_options(option, target)
    return {
        "target_options": _parse_options(option),
        "apply": apply,
        "preserve_paths": preserve_paths,
        "annotations_only": annotations_only,
        "link": link,
        "reporter": _reporter(),
    }


def _dataset_identity(instance, sources: list[str] | None) -> tuple[str, int] | None:
    """(name, version) of the one dataset being written, for formats that record it:
    ``ds:NAME[.vN]`` (the latest version without one), or the workspace's dataset (the
    version it was staged from or last committed, 1 if never committed); else None."""
    from ldb_clone.datasets import parse_ref, version_record
    from ldb_clone.workspace import load_workspace

    if not sources:
        sources = ["ws:."] if _in_workspace() else []
    if len(sources) != 1:
        return None
    source = sources[0]
    if source.startswith("ws:"):
        ws = load_workspace(source[3:] or ".")
        return ws.dataset_name, ws.parent or 1
    if not source.startswith("ds:") or source == "ds:root":
        return None
    ref = parse_ref(source)
    return ref.name, ref.version or version_record(instance, ref)["version"]


def _with_upstream_gap(result, fmt: str, heading: str = "Copied dataset to workspace.") -> str:
    """The summary after the blank line upstream's progress bar leaves on stdout (it has
    a bar for every format but label-studio, which writes one file)."""
    from ldb_clone.formats import canonical_name

    if result.dry_run or canonical_name(fmt) == "label-studio":
        return result.summary(heading)
    return "\n" + result.summary(heading)


@app.command("instantiate", cls=InstantiateCommand)
def instantiate_(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Sources (default: the working dataset).", show_default=False),
    ] = None,
    fmt: Format = "bare",
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
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Write the selected objects and annotations into a folder, in a format.

    The target must be empty, or a workspace holding nothing but its dataset (-f deletes
    the other files first). Without sources the working dataset is written.
    """
    _set_output(verbose, quiet)
    from ldb_clone.instantiate import instantiate

    _check_format(fmt)
    apply = _apply_command(ctx)
    if not paths and not _in_workspace():
        raise LdbError("Not in a workspace: give sources to instantiate (e.g. ds:root, ds:NAME)")
    instance, members = _members(paths, ctx)
    result = instantiate(
        instance,
        members,
        target,
        fmt,
        _parse_params(param),
        force=force,
        dataset=_dataset_identity(instance, paths),
        dry_run=dry_run,
        **_write_options(apply, preserve_paths, annotations_only, link, option, target),
    )
    if json_out:
        _print_json(result.to_json())
    else:
        print(_with_upstream_gap(result, fmt))


@app.command("get", cls=InstantiateCommand)
def get_(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Sources: paths, ds:NAME, id:<hash>, ...", show_default=False),
    ] = None,
    fmt: Format = "bare",
    target: Target = ".",
    param: Params = None,
    preserve_paths: PreservePaths = False,
    annotations_only: AnnotationsOnly = False,
    link: Link = False,
    option: TargetOptions = None,
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Add the selection to a workspace (staging a temporary dataset there if needed) and
    write those objects into it."""
    _set_output(verbose, quiet)
    from ldb_clone.datasets import add_members, get_into_workspace
    from ldb_clone.instantiate import instantiate
    from ldb_clone.workspace import workspace_lock

    _check_format(fmt)
    _check_target_options(option, target)
    apply = _apply_command(ctx)
    sources = _selection_or_error(ctx, paths, "ds:root")
    instance = _open_or_quick_start()
    with workspace_lock(target):
        ws, staged = get_into_workspace(Path(target))
        if staged and not json_out:
            print(staged)
        _, members = _members(sources, ctx, auto_index=True, instance=instance)
        add_members(instance, ws, members, save=False)
        if not json_out:
            # upstream's get announces the add but prints no add counts
            print("Adding to working dataset...")
            print("Instantiating data...\n")
        result = instantiate(
            instance,
            members,
            target,
            fmt,
            _parse_params(param),
            clean=False,
            dataset=_dataset_identity(instance, sources),
            workspace=ws,
            **_write_options(apply, preserve_paths, annotations_only, link, option, target),
        )
    if json_out:
        _print_json({**result.to_json(), "dataset": f"ds:{ws.dataset_name}"})
    else:
        print(_with_upstream_gap(result, fmt, "Copied data to workspace."))


@app.command("transform", cls=SelectionCommand)
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
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Add, remove or set the transforms instantiate applies to objects of the workspace.

    Names are `self` (copy the object as it is) or `[transform.NAME]` entries of the
    config, whose `run = [...]` command instantiate executes. Transforms that arrived
    with data (indexed annotation-only files, a migrated instance) run only after
    `--trust NAME`.
    """
    _set_output(verbose, quiet)
    from ldb_clone.datasets import set_transforms
    from ldb_clone.transforms import TransformUpdate
    from ldb_clone.workspace import locked_workspace

    trusted: list[str] = []
    if trust:
        from ldb_clone.trust import trust as trust_transform

        trusting = _open()
        for name in trust:
            trusted.append(trust_transform(trusting, name))
            if not json_out:
                print(trusted[-1])
        if not (add or remove or set_to):
            if json_out:
                _print_json({"trusted": trusted})
            return
    update = TransformUpdate.parse(add, remove, set_to)
    with locked_workspace(".") as ws:
        instance, members = _members(paths or ["ws:."], ctx)
        count = set_transforms(instance, ws, [m.object_id for m in members], update)
    if json_out:
        extra = {"trusted": trusted} if trusted else {}
        _print_json({"dataset": f"ds:{ws.dataset_name}", "objects": count, **extra})
    else:
        print(f"{update.verb} transforms for {count} data objects in ds:{ws.dataset_name}")


@app.command()
def migrate(
    source: Annotated[Path, typer.Argument(help="An upstream LDB instance directory.")],
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Read an upstream LDB (ldb-alpha) instance into this one: objects, annotation
    versions, tags, storage locations, transforms and datasets with all their versions."""
    _set_output(verbose, quiet)
    from ldb_clone.migrate import migrate as _migrate

    result = _migrate(_open(), source, _reporter())
    if json_out:
        _print_json(result.to_json())
    else:
        print(result.summary(source.absolute()))


@app.command("copy-catalog")
def copy_catalog(
    source: Annotated[str, typer.Argument(help="Instance folder or postgresql:// URL.")],
    target: Annotated[str, typer.Argument(help="Instance folder or postgresql:// URL.")],
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Copy a catalog between an instance's SQLite file and a PostgreSQL database, in
    either direction; only rows the target lacks are added, so running it twice adds
    nothing."""
    _set_output(verbose, quiet)
    from ldb_clone.catalog_copy import copy_catalog as _copy
    from ldb_clone.catalog_copy import summary

    added = _copy(source, target)
    if json_out:
        _print_json(added)
    else:
        print(summary(source, target, added))


@app.command("formats")
def formats_(
    json_out: JsonOut = False,
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """List every format: its aliases, whether it indexes and instantiates, what it
    carries, and its -p parameters with their defaults."""
    _set_output(verbose, quiet)
    from ldb_clone.formats.describe import describe_all, format_text

    rows = describe_all()
    if json_out:
        _print_json(rows)
    else:
        print(format_text(rows))


@app.command()
def completion(
    shell: Annotated[
        str,
        typer.Option(
            "-s", "--shell", metavar="{bash,zsh,fish}", help="Shell syntax (default bash)."
        ),
    ] = "bash",
    verbose: Verbose = 0,
    quiet: Quiet = False,
) -> None:
    """Print a shell completion script for ldb."""
    _set_output(verbose, quiet)
    from ldb_clone.completion import SHELLS, completion_script

    _check_choice(shell, SHELLS, "--shell")
    sys.stdout.write(completion_script(typer.main.get_command(app), shell).rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    # NOTE: answer --version before importing anything else, so it starts fast.
    if args in (["--version"], ["-V"]):
        print(f"ldb {__version__}")
        return
    if os.environ.get("LDB_DEBUG"):
        _state["verbose"] = 2
    instruction = os.environ.get("_LDB_COMPLETE")
    if instruction:
        # NOTE: typer would answer with its own instruction style; see ldb_clone.completion
        from ldb_clone.completion import complete

        sys.exit(complete(typer.main.get_command(app), instruction))
    app(args=args, prog_name="ldb")
