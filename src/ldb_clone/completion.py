"""``ldb completion``: shell completion scripts, and answering the shell's requests.

The scripts are click's: the shell runs ``ldb`` with ``_LDB_COMPLETE=<shell>_complete``
(plus the words typed so far in shell-specific variables) and shows what it prints.

NOTE: typer's ``Typer.__call__`` handles ``_LDB_COMPLETE`` itself with typer's own
instruction style (``complete_bash``), which does not match click's scripts, so
``cli.main`` answers completion requests here instead.
"""

from __future__ import annotations

import click
import click.shell_completion

PROG_NAME = "ldb"
COMPLETE_VAR = "_LDB_COMPLETE"
SHELLS = ("bash", "zsh", "fish")

# NOTE: click 8.4's fish script splits each answer line on a newline, which fish has
# already split on, so it completes nothing (and prints errors). This one reads one
# ``type,value<TAB>help`` line per candidate (click 8.1's protocol, help on the same line).
_SOURCE_FISH = """\
function %(complete_func)s;
    set -l response (env %(complete_var)s=fish_complete COMP_WORDS=(commandline -cp) \
COMP_CWORD=(commandline -t) %(prog_name)s);

    for completion in $response;
        set -l metadata (string split -m 1 "," -- $completion);

        if test "$metadata[1]" = "dir";
            __fish_complete_directories $metadata[2];
        else if test "$metadata[1]" = "file";
            __fish_complete_path $metadata[2];
        else if test "$metadata[1]" = "plain";
            echo $metadata[2];
        end;
    end;
end;

complete --no-files --command %(prog_name)s --arguments "(%(complete_func)s)";
"""


class FishComplete(click.shell_completion.FishComplete):
    """Fish completion with a script and answers that agree (see ``_SOURCE_FISH``)."""

    source_template = _SOURCE_FISH

    def format_completion(self, item: click.shell_completion.CompletionItem) -> str:
        value = " ".join(str(item.value).split("\n"))
        help_text = " ".join((item.help or "").split())
        return f"{item.type},{value}\t{help_text}" if help_text else f"{item.type},{value}"


click.shell_completion.add_completion_class(FishComplete, "fish")


def completion_script(command: click.Command, shell: str) -> str:
    """The script that makes ``shell`` complete ``ldb`` command lines."""
    cls = click.shell_completion.get_completion_class(shell)
    if cls is None or shell not in SHELLS:
        raise ValueError(f"Unsupported shell: {shell!r} (use one of {', '.join(SHELLS)})")
    return cls(command, {}, PROG_NAME, COMPLETE_VAR).source()


def complete(command: click.Command, instruction: str) -> int:
    """Answer one request from a completion script; return the exit code.

    ``instruction`` is click's ``<shell>_complete`` or ``<shell>_source``; typer's
    reversed spelling (``complete_<shell>``) is accepted too.
    """
    first, _, rest = instruction.partition("_")
    if first in ("complete", "source"):
        instruction = f"{rest}_{first}"
    try:
        return click.shell_completion.shell_complete(
            command, {}, PROG_NAME, COMPLETE_VAR, instruction
        )
    except click.ClickException:
        # words that do not parse yet (``--pipe`` with nothing after it): no candidates
        return 0
