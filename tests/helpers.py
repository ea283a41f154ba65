"""Helpers the test modules share: running ``ldb`` (in-process or as a real process),
indexing through the library and reading results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ldb_clone.indexing import index
from ldb_clone.instance import Instance
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.views import annotation_values

SUMMARY_LABELS = (
    "Found data objects:",
    "Found annotations:",
    "New data objects:",
    "New annotations:",
    "New data object paths:",
    "Transform sets:",
)


def catalog_sql(catalog: Any, sql: str, params: Any = (), postgres: str | None = None) -> list:
    """Run ``sql`` (SQLite's dialect, ``?`` parameters) on a catalog of either backend,
    for the tests that look inside its tables; ``postgres``: the statement for PostgreSQL
    where the dialects differ. The rows it returns (none for a change)."""
    if hasattr(catalog, "conn"):  # the PostgreSQL backend
        cursor = catalog.conn.execute(postgres or sql.replace("?", "%s"), params)
        return cursor.fetchall() if cursor.description else []
    return catalog._db.execute(sql, params).fetchall()


def run_index(instance: Instance, *paths: Path | str, **kwargs: Any):
    """Index through the library API; return (IndexResult, Reporter)."""
    reporter = Reporter()
    result = index(instance, [str(p) for p in paths], reporter=reporter, **kwargs)
    return result, reporter


def current(instance: Instance) -> dict[str, tuple[Any, int | None]]:
    """object id -> (current annotation, its version)."""
    members = select_members(instance, ["ds:root"])
    values = dict(annotation_values(instance, members))
    return {m.object_id: (values[m.object_id], m.version) for m in members}


def by_path(instance: Instance) -> dict[str, Any]:
    """Every indexed path -> the current annotation of its object."""
    members = select_members(instance, ["ds:root"])
    values = dict(annotation_values(instance, members))
    paths = instance.catalog.object_paths(values)
    return {path: values[oid] for oid, rows in paths.items() for _, path in rows}


def oid_of(instance: Instance, path: Path) -> str:
    return instance.hasher.bytes_digest(path.read_bytes())


def summary_block(heading: str, *counts: int) -> str:
    """Upstream's summary block, values right-aligned at column 34."""
    lines = (f"  {label:<23}{count:>9}" for label, count in zip(SUMMARY_LABELS, counts))
    return heading + ":\n" + "\n".join(lines)


def rewrite_json(path: Path, value: Any) -> None:
    """New content and a clearly later mtime, so the stat cache sees the change."""
    before = path.stat().st_mtime_ns
    path.write_text(json.dumps(value), encoding="utf-8")
    os.utime(path, ns=(before + 5 * 10**9, before + 5 * 10**9))


def ldb_in(cwd: Path, *args: str, check: bool = True) -> CliResult:
    """Run ``ldb`` (in-process) in ``cwd`` (a workspace, say); fail on a non-zero exit."""
    return run_cli(*args, cwd=cwd, check=check)


def current_in_fresh_instance(instance_dir: Path, folder: Path, fmt: str) -> dict:
    """Index ``folder`` in format ``fmt`` into a new instance at ``instance_dir`` (with
    ``folder`` as its storage location); return its ``current()``."""
    from ldb_clone.instance import init_instance, open_instance
    from ldb_clone.storage import add_storage

    init_instance(instance_dir)
    second = open_instance(instance_dir)
    try:
        add_storage(second, str(folder))
        run_index(second, folder, fmt=fmt)
        return current(second)
    finally:
        second.close()


def assert_one_error_line(result: Any, *fragments: str) -> str:
    """Exit status 1 and one ``error:`` line on stderr holding every fragment, no traceback;
    ``result`` is any run of ``ldb`` (ours, a subprocess, typer's runner). Returns the line."""
    code = result.returncode if hasattr(result, "returncode") else result.exit_code
    assert code == 1, (code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# Running the command line -----------------------------------------------------------------

# NOTE: the fault switch ends the process with os._exit; in-process it would end pytest.
_PROCESS_ONLY_VARIABLES = ("LDB_TEST_CRASH_AT",)


@dataclass
class CliResult:
    """What a run of ``ldb`` left behind: the shape of ``subprocess.CompletedProcess``."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def cli_state() -> dict[str, Any]:
    """The command line's module-level output state (-v/-q): the one place tests name it."""
    from ldb_clone import cli

    return cli._state


@contextmanager
def _fresh_state_and_cwd(cwd: Path | str | None) -> Iterator[None]:
    """Each run starts as a new process would: default -v/-q and its own cwd; both are
    restored afterwards."""
    state = cli_state()
    saved = dict(state)
    state.update(verbose=0, quiet=False)
    before = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(before)
        state.clear()
        state.update(saved)


def _forget_listings() -> None:
    """A new process starts with no cached directory listings: drop those of the fsspec
    filesystems an earlier run left cached (the filesystems and their clients stay)."""
    if "fsspec" not in sys.modules:
        return
    from fsspec.spec import AbstractFileSystem

    classes = [AbstractFileSystem]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        for fs in list(cls.__dict__.get("_cache", {}).values()):
            fs.invalidate_cache()


def _exit_code(code: object) -> int:
    """The exit status ``sys.exit(code)`` gives a process (a message means status 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def run_cli(
    *args: str | Path,
    input: str | None = None,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | str | None = None,
    check: bool = False,
) -> CliResult:
    """Run ``ldb ARGS`` in this process through ``ldb_clone.cli.main``: stdin from
    ``input``, ``env`` over the environment (None unsets), in ``cwd``; stdout, stderr and
    the exit status are captured as a real process would leave them (an escaping exception
    prints its traceback and exits 1). Everything is restored afterwards."""
    from click.testing import CliRunner

    from ldb_clone.cli import main

    argv = [str(a) for a in args]
    for name in _PROCESS_ONLY_VARIABLES:
        if {**os.environ, **(env or {})}.get(name) is not None:
            raise ValueError(f"{name} ends the process: use run_process (the process marker)")
    _forget_listings()
    runner = CliRunner()
    hook = sys.excepthook  # typer installs its own
    with runner.isolation(input=input, env=env) as (out, err, _), _fresh_state_and_cwd(cwd):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc.code)
        except Exception:
            traceback.print_exc()  # to the captured stderr, as the interpreter would
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            sys.excepthook = hook
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace")
    result = CliResult(argv, code, stdout, stderr)
    if check and code != 0:
        raise AssertionError(f"ldb {' '.join(argv)} exited {code}\n{stdout}\n{stderr}")
    return result


def run_process(
    *args: str | Path,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess:
    """Run the real ``python -m ldb_clone ARGS`` in a subprocess: for the tests where the
    process itself matters (exit status of the entry point, signals, crashes, start-up,
    concurrency). Mark them ``@pytest.mark.process``."""
    result = subprocess.run(
        [sys.executable, "-m", "ldb_clone", *map(str, args)],
        capture_output=True,
        text=True,
        input=input,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"ldb {' '.join(map(str, args))} exited {result.returncode}\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result
