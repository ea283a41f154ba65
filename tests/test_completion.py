"""``ldb completion``: the scripts, and ``ldb`` answering the requests they make."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from ldb_clone.cli import app
from ldb_clone.completion import COMPLETE_VAR, SHELLS, complete, completion_script

COMMAND = typer.main.get_command(app)
# what identifies each shell's script
MARKERS = {
    "bash": "complete -o nosort -F _ldb_completion ldb",
    "zsh": "#compdef ldb",
    "fish": "complete --no-files --command ldb",
}


def request(ldb, instruction: str, **words: str) -> subprocess.CompletedProcess:
    """What ``ldb`` prints when a completion script asks it for candidates."""
    return ldb(env={COMPLETE_VAR: instruction, **words}, check=True)


@pytest.mark.parametrize("shell", SHELLS)
def test_script_for_each_shell(ldb, shell):
    result = ldb("completion", "-s", shell, check=True)
    assert COMPLETE_VAR in result.stdout
    assert f"{shell}_complete" in result.stdout
    assert MARKERS[shell] in result.stdout
    assert result.stdout == completion_script(COMMAND, shell).rstrip("\n") + "\n"


def test_bash_is_the_default(ldb):
    default = ldb("completion", check=True).stdout
    assert default == ldb("completion", "--shell", "bash", check=True).stdout
    assert MARKERS["bash"] in default


@pytest.mark.parametrize("shell", ["tcsh", "powershell", ""])
def test_unknown_shell_is_a_usage_error(ldb, shell):
    result = ldb("completion", "-s", shell)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'bash', 'zsh', 'fish'" in result.stderr
    with pytest.raises(ValueError, match="Unsupported shell"):
        completion_script(COMMAND, shell)


def test_bash_request_completes_a_command_name(ldb):
    result = request(ldb, "bash_complete", COMP_WORDS="ldb ind", COMP_CWORD="1")
    assert result.stdout.splitlines() == ["plain,index"]
    several = request(ldb, "bash_complete", COMP_WORDS="ldb i", COMP_CWORD="1")
    assert several.stdout.splitlines() == ["plain,init", "plain,index", "plain,instantiate"]


def test_bash_request_completes_options_of_a_command(ldb):
    result = request(ldb, "bash_complete", COMP_WORDS="ldb tag --re", COMP_CWORD="2")
    assert result.stdout.splitlines() == ["plain,--remove"]
    result = request(ldb, "bash_complete", COMP_WORDS="ldb completion --sh", COMP_CWORD="2")
    assert result.stdout.splitlines() == ["plain,--shell"]


def test_zsh_and_fish_requests(ldb):
    zsh = request(ldb, "zsh_complete", COMP_WORDS="ldb comp", COMP_CWORD="1")
    assert zsh.stdout.splitlines()[:2] == ["plain", "completion"]
    fish = request(ldb, "fish_complete", COMP_WORDS="ldb ta", COMP_CWORD="ta")
    assert fish.stdout.splitlines() == ["plain,tag\tAdd, remove or replace the tags of the..."]


def test_fish_answers_are_one_line_per_candidate():
    from click.shell_completion import CompletionItem

    from ldb_clone.completion import FishComplete

    fish = FishComplete(COMMAND, {}, "ldb", COMPLETE_VAR)
    assert fish.format_completion(CompletionItem("a,b", help="x\ny,  z")) == "plain,a,b\tx y, z"
    assert fish.format_completion(CompletionItem("v", type="file")) == "file,v"
    # the script splits only on the first comma, so values and help may hold commas
    assert 'string split -m 1 ","' in fish.source()


def test_typer_style_instruction_is_accepted(ldb):
    result = request(ldb, "complete_bash", COMP_WORDS="ldb ind", COMP_CWORD="1")
    assert result.stdout.splitlines() == ["plain,index"]


def test_source_instruction_prints_the_script(ldb):
    result = request(ldb, "bash_source")
    assert result.stdout.rstrip("\n") == completion_script(COMMAND, "bash").rstrip("\n")


def test_unparsable_words_give_no_candidates(capsys, monkeypatch):
    monkeypatch.setenv("COMP_WORDS", "ldb list --pipe ")
    monkeypatch.setenv("COMP_CWORD", "3")
    assert complete(COMMAND, "bash_complete") == 0
    assert complete(COMMAND, "nosuchshell_complete") == 1


@pytest.fixture
def ldb_on_path(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has an ``ldb`` that runs this checkout."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ldb"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ldb_clone "$@"\n')
    wrapper.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.process
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_script_completes_in_a_real_bash(ldb_on_path):
    script = (
        "source <(ldb completion -s bash)\n"
        "COMP_WORDS=(ldb ind); COMP_CWORD=1; _ldb_completion ldb\n"
        'echo "${COMPREPLY[*]}"\n'
        "COMPREPLY=(); COMP_WORDS=(ldb tag --se); COMP_CWORD=2; _ldb_completion ldb\n"
        'echo "${COMPREPLY[*]}"\n'
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=ldb_on_path, check=True
    )
    assert result.stdout.splitlines() == ["index", "--set"]


@pytest.mark.process
@pytest.mark.skipif(shutil.which("fish") is None, reason="needs fish")
def test_script_completes_in_a_real_fish(ldb_on_path):
    script = "\n".join(
        ["ldb completion -s fish | source", 'complete -C "ldb ind"', 'complete -C "ldb tag --re"']
    )
    result = subprocess.run(
        ["fish", "-c", script], capture_output=True, text=True, env=ldb_on_path, check=True
    )
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        "index\tIndex data objects and annotations into...",
        "--remove\tComma-separated tags to remove.",
    ]


@pytest.mark.process
@pytest.mark.skipif(shutil.which("zsh") is None, reason="needs zsh")
def test_script_registers_in_a_real_zsh(ldb_on_path):
    script = (
        "autoload -Uz compinit && compinit -u -d /dev/null\n"
        "source <(ldb completion -s zsh)\n"
        "print -- ${_comps[ldb]}\n"
    )
    result = subprocess.run(
        ["zsh", "-f", "-c", script], capture_output=True, text=True, env=ldb_on_path, check=True
    )
    assert result.stdout.strip() == "_ldb_completion"
