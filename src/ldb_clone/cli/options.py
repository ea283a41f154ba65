"""Options shared by commands, and the argv handling click cannot express through typer.

The custom click command classes live here, in one place: ``-o KEY VALUE`` pairs,
unique prefixes of long options, optional option values, ``-v``/``-q`` on every
command, and filters whose order on the command line matters (``--pipe EXEC ARGS...``
and ``--apply EXEC ARGS...`` take every word up to the next option).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

import click
import typer
from typer.core import TyperCommand

from ldb_clone.cli.output import set_output
from ldb_clone.errors import LdbError
from ldb_clone.formats import INDEX_DEFAULT, INSTANTIATE_DEFAULT, format_choices_help

PAIR_SEPARATOR = "\x00"  # never part of an argv string, so it joins KEY VALUE safely
VERBOSE_HELP = "More output; -v shows tracebacks."
QUIET_HELP = "Less output: no progress bars."


def _note_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    set_output(verbose=value or 0)


def _note_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    set_output(quiet=bool(value))


class LdbCommand(TyperCommand):
    """Parses what click cannot express through typer, in one place.

    - ``-v/--verbose`` and ``-q/--quiet`` are options of every command; they set the
      output state (``cli.output``) while the arguments are parsed.
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params += [
            click.Option(
                ["-v", "--verbose"],
                count=True,
                expose_value=False,
                callback=_note_verbose,
                help=VERBOSE_HELP,
            ),
            click.Option(
                ["-q", "--quiet"],
                is_flag=True,
                expose_value=False,
                callback=_note_quiet,
                help=QUIET_HELP,
            ),
        ]

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


def _expand_prefix(arg: str, long_names: list[str]) -> str:
    name, sep, value = arg.partition("=")
    if name in long_names:
        return arg
    matches = [full for full in long_names if full.startswith(name)]
    return matches[0] + sep + value if len(matches) == 1 else arg


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


def recorded(ctx: click.Context, kinds: tuple[str, ...]) -> list[tuple[str, Any]]:
    """The ordered options of these kinds, as (kind, value) in command-line order."""
    return [(kind, arg) for kind, arg in ctx.meta.get(FILTERS_KEY, []) if kind in kinds]


def filters(ctx: click.Context) -> list[Any]:
    """The filter pipeline given on the command line, in order."""
    from ldb_clone.filters import Filter

    kinds = tuple(kind for kind, _ in FILTER_OPTIONS.values())
    return [Filter(kind, arg) for kind, arg in recorded(ctx, kinds)]


def apply_command(ctx: click.Context) -> list[str]:
    """``--apply EXEC [ARGS...]`` (at most once); empty when not given."""
    commands = [arg for _, arg in recorded(ctx, ("apply",))]
    if len(commands) > 1:
        raise click.UsageError("Option '--apply' may be given once", ctx)
    return commands[0] if commands else []


# values ---------------------------------------------------------------------------------


def parse_params(values: list[str] | None) -> dict[str, str]:
    """``-p key=value`` format parameters."""
    params = {}
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep:
            raise LdbError(f"Invalid parameter {value!r}: use -p key=value")
        params[key.strip()] = val
    return params


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """``-o KEY VALUE`` pairs; VALUE is parsed as JSON, else kept as a string."""
    from ldb_clone.storage import parse_option_value

    options = {}
    for pair in pairs or []:
        key, _, value = pair.partition(PAIR_SEPARATOR)
        options[key] = parse_option_value(value)
    return options


def parse_indent(text: str | None) -> int | str | None:
    from ldb_clone.views import parse_indent as parse

    try:
        return parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--indent'") from None


def check_choice(value: str | None, choices: tuple[str, ...], option: str) -> None:
    """A value of an option with a fixed set of choices (None: not given)."""
    if value is not None and value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise click.BadParameter(f"{value!r} is not one of {shown}", param_hint=option)


def parse_bool(value: str | None, option: str) -> bool | None:
    """``true`` or ``false``, in any case; None when not given."""
    if value is None:
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise click.BadParameter(f"{value!r} is not one of 'true', 'false'", param_hint=option)


def check_index_format(fmt: str) -> None:
    from ldb_clone.formats import canonical_name

    try:
        canonical_name(fmt)
    except LdbError as exc:
        raise click.BadParameter(str(exc), param_hint="'-m' / '--format'") from None


def check_write_format(fmt: str) -> str:
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


def check_target_options(option: list[str] | None, target: str) -> None:
    from ldb_clone.fs import LOCAL, split_url

    if option and split_url(target)[0] == LOCAL:
        raise click.UsageError(
            f"Option '-o' applies to a cloud target (s3://...), not to '{target}'"
        )


def workspace_dir(value: str | None) -> str | None:
    """``-a ws:DIR`` -> DIR (``.`` for ``ws:``); None when not given."""
    if value is None:
        return None
    if not value.startswith("ws:"):
        raise click.BadParameter("expected ws:DIR, e.g. ws:.", param_hint="'-a' / '--add'")
    return value[3:] or "."


def split_version(sources: list[str] | None) -> tuple[list[str], int | None]:
    """``pull``'s arguments: sources, then an optional ``vN``."""
    sources = list(sources or [])
    if sources and re.fullmatch(r"v(\d+)", sources[-1]):
        return sources[:-1], int(sources[-1][1:])
    return sources, None


def shows(
    file_show: list[str] | None, show: list[str] | None, jshow: list[str] | None
) -> list[tuple[str, str]]:
    """``eval``'s show options as (kind, query): file ones, then LDB, then standard."""
    return (
        [("file", q) for q in file_show or []]
        + [("query", q) for q in show or []]
        + [("jquery", q) for q in jshow or []]
    )


# shell completion of -m -----------------------------------------------------------------


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


# option types ---------------------------------------------------------------------------

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
IndexFormat = Annotated[
    str,
    typer.Option(
        "-m",
        "--format",
        metavar="FORMAT",
        help=format_choices_help(INDEX_DEFAULT),
        autocompletion=_complete_formats(_index_choices),
    ),
]
Format = Annotated[
    str,
    typer.Option(
        "-m",
        "--format",
        metavar="FORMAT",
        help=format_choices_help(INSTANTIATE_DEFAULT),
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
