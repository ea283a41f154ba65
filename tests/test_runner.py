"""The in-process runner behind the ``ldb`` fixture leaves what a real process would."""

from __future__ import annotations

import os

import pytest

from tests.helpers import cli_state, run_cli


def test_usage_errors_exit_2_and_unknown_commands_name_themselves(instance):
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "No such command 'no-such-command'" in result.stderr
    assert result.stdout == ""


def test_a_run_starts_with_default_output_state_and_leaves_it(instance):
    state = dict(cli_state())
    assert run_cli("-q", "status", "ds:root").returncode == 0
    assert cli_state() == state


def test_cwd_env_and_stdin_apply_to_the_run_only(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("LDB_DIR", "/nowhere")
    here = os.getcwd()
    found = run_cli("status", "ds:root", env={"LDB_DIR": str(instance.path)}, cwd=tmp_path / "home")
    assert found.returncode == 0 and "Num data objects" in found.stdout
    assert os.environ["LDB_DIR"] == "/nowhere" and os.getcwd() == here
    assert run_cli("status", "ds:root").returncode == 1  # /nowhere
    # stdin: ldb query reads one document from it
    monkeypatch.setenv("LDB_DIR", str(instance.path))
    result = run_cli("query", "--show", "label", input='{"label": "cat"}')
    assert (result.returncode, result.stdout) == (0, '"cat"\n')


def test_an_escaping_exception_prints_a_traceback_and_exits_1(monkeypatch):
    def broken(argv):
        raise RuntimeError("boom")

    monkeypatch.setattr("ldb_clone.cli.main", broken)
    result = run_cli("status")
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback") and "RuntimeError: boom" in result.stderr


def test_sys_exit_with_a_message_exits_1_and_prints_it(monkeypatch):
    def leaving(argv):
        raise SystemExit("gone")

    monkeypatch.setattr("ldb_clone.cli.main", leaving)
    assert (run_cli().returncode, run_cli().stderr) == (1, "gone\n")


def test_the_crash_switch_is_refused_in_process(instance):
    with pytest.raises(ValueError, match="use run_process"):
        run_cli("status", env={"LDB_TEST_CRASH_AT": "anywhere"})
