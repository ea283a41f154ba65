"""The typer apps and their global options, marking commands, and error handling.

Errors are ``LdbError``s, caught in one place (``_handle_errors``) and printed as
``error: <message>`` with exit code 1; a traceback only with ``-v``.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import click
import typer

from ldb_clone.cli.options import QUIET_HELP, VERBOSE_HELP, LdbCommand
from ldb_clone.cli.output import _state, set_output
from ldb_clone.errors import LdbError


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


def command(name: str | None = None, cls: type[LdbCommand] = LdbCommand) -> Callable:
    """Mark a function as the command ``name`` (default: its own name); ``register``
    adds it to an app."""

    def mark(fn: Callable) -> Callable:
        fn.ldb_command = {"name": name, "cls": cls}
        return fn

    return mark


def register(typer_app: typer.Typer, functions: Sequence[Callable]) -> None:
    """Add marked command functions to ``typer_app`` in this order (``--help``'s)."""
    for fn in functions:
        typer_app.command(**fn.ldb_command)(_handle_errors(fn))


def _typer(name: str, help_text: str, **kwargs: Any) -> typer.Typer:
    # NOTE: suggest_commands=False: click already says "Did you mean ...?"; typer would
    # add the same suggestion a second time.
    return typer.Typer(
        name=name,
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
        **kwargs,
    )


def _version(value: bool) -> None:
    if value:
        from ldb_clone.__main__ import print_version

        print_version()
        raise typer.Exit()


def _main(
    verbose: Annotated[
        int, typer.Option("-v", "--verbose", count=True, show_default=False, help=VERBOSE_HELP)
    ] = 0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help=QUIET_HELP)] = False,
    version: Annotated[
        bool,
        typer.Option(
            "-V", "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    set_output(verbose, quiet)


def new_app() -> typer.Typer:
    """The ``ldb`` app with its global options and no commands yet (``entry`` adds them)."""
    app = _typer(
        "ldb",
        "Label Database: index, query, version and convert labelled data.",
        suggest_commands=False,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_main)
    return app


GROUP_HELP = {
    "ds": "List and delete saved datasets.",
    "storage": "List and remove storage locations (add them with ldb add-storage).",
}


def new_group(name: str) -> typer.Typer:
    """The sub-app of ``ldb ds`` or ``ldb storage``, without its commands."""
    # NOTE: as before, only ds turns off typer's suggestions (click makes its own)
    extra = {"suggest_commands": False} if name == "ds" else {}
    return _typer(name, GROUP_HELP[name], **extra)
