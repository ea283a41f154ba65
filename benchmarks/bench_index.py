#!/usr/bin/env python3
"""Time whole ``ldb`` commands (init, add-storage, index, re-index) against generated data.

Usage::

    python3 benchmarks/bench_index.py LDB_EXECUTABLE DATA_DIR [RUNS=3]

``RUNS`` may also come from the environment variable of that name.
``DATA_DIR`` is an output folder of ``make_data.py``. Environment variables ``LAYOUT``
(default ``strict``) and ``FORMAT`` (default: the format matching the layout) pick the
subfolder and the ``ldb index -m`` format; ``--layout`` / ``--format`` override them.

Every run uses a fresh temporary ``HOME`` and ``LDB_DIR``. Wall time comes from
``time.perf_counter`` around the child process; peak RSS from ``os.wait4`` (the child's
own maximum resident set size, including any children it waited for). Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLOOR_SCRIPT = HERE / "floor.py"

LAYOUT_FORMATS = {
    "strict": "strict",
    "bare": "bare",
    "infer": "infer",
    "label-studio": "label-studio",
}

ROW_VERSION = "ldb --version"
ROW_HELP = "ldb --help"
ROW_INIT = "ldb init"
ROW_ADD_STORAGE = "ldb add-storage"
ROW_INDEX = "ldb index (first)"
ROW_REINDEX = "ldb index (again, unchanged)"
ROW_FLOOR = "floor (walk+read+xxh3+json)"
ROW_ORDER = (ROW_VERSION, ROW_HELP, ROW_INIT, ROW_ADD_STORAGE, ROW_INDEX, ROW_REINDEX, ROW_FLOOR)


class CommandFailed(Exception):
    """A timed command exited non-zero."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"command failed (exit {returncode}): {' '.join(argv)}")
        self.stderr = stderr


@dataclass
class Sample:
    """One timed execution."""

    seconds: float
    peak_rss_mb: float


@dataclass
class Results:
    """All samples for one executable, keyed by row name."""

    executable: str
    version: str = ""
    objects: str = "?"
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    def add(self, row: str, sample: Sample) -> None:
        """Record ``sample`` under ``row``."""
        self.samples.setdefault(row, []).append(sample)

    def median(self, row: str) -> float | None:
        """Median seconds of ``row`` or None if it was not measured."""
        got = self.samples.get(row)
        return statistics.median(s.seconds for s in got) if got else None

    def to_json(self) -> dict:
        """Plain-data form for ``--json``."""
        return {
            "executable": self.executable,
            "version": self.version,
            "objects": self.objects,
            "rows": {
                row: {
                    "median_s": self.median(row),
                    "min_s": min(s.seconds for s in got),
                    "max_s": max(s.seconds for s in got),
                    "peak_rss_mb": max(s.peak_rss_mb for s in got),
                    "seconds": [s.seconds for s in got],
                }
                for row, got in self.samples.items()
            },
        }


@dataclass
class Target:
    """What to index: the layout folder, the path given to ``ldb index`` and the format."""

    layout: str
    storage: Path
    index_path: Path
    fmt: str


def run_timed(
    argv: list[str],
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    capture: bool = False,
) -> tuple[Sample, str]:
    """Run ``argv`` to completion; return its timing and (if ``capture``) its stdout."""
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=err,
            env=env,
            cwd=cwd,
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise CommandFailed(argv, proc.returncode, err.read().decode(errors="replace"))
        out.seek(0)
        text = out.read().decode(errors="replace") if capture else ""
    # ru_maxrss is in KiB on Linux.
    return Sample(elapsed, usage.ru_maxrss / 1024), text


def fresh_env(home: str) -> dict[str, str]:
    """Environment with ``HOME`` and ``LDB_DIR`` pointing into a fresh temp folder."""
    env = dict(os.environ)
    env["HOME"] = home
    env["LDB_DIR"] = os.path.join(home, "inst")
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("XDG_DATA_HOME", None)
    return env


def resolve_target(data_dir: Path, layout: str, fmt: str | None) -> Target:
    """Work out the storage folder, index path and format for ``layout``."""
    if layout not in LAYOUT_FORMATS:
        raise SystemExit(f"error: unknown layout {layout!r}; choose from {list(LAYOUT_FORMATS)}")
    storage = (data_dir / layout).resolve()
    index_path = storage / "annotations.json" if layout == "label-studio" else storage
    if not index_path.exists():
        raise SystemExit(f"error: {index_path} does not exist (run make_data.py first)")
    return Target(layout, storage, index_path, fmt or LAYOUT_FORMATS[layout])


def resolve_executable(exe: str) -> str:
    """Absolute path of ``exe`` (looked up on PATH if needed)."""
    found = shutil.which(exe)
    if not found:
        raise SystemExit(f"error: ldb executable not found: {exe}")
    return os.path.abspath(found)


def warm_up(exe: str, target: Target, results: Results) -> None:
    """Untimed: fill the page cache and the interpreter's bytecode cache; record the version."""
    with tempfile.TemporaryDirectory(prefix="ldb-bench-") as home:
        _sample, text = run_timed([exe, "--version"], env=fresh_env(home), cwd=home, capture=True)
    results.version = text.strip().splitlines()[-1] if text.strip() else "?"
    for _root, _dirs, files in os.walk(target.storage):
        for name in files:
            with open(os.path.join(_root, name), "rb") as f:
                while f.read(1 << 20):
                    pass


def bench_startup(exe: str, results: Results, repeats: int) -> None:
    """Time ``ldb --version`` and ``ldb --help``, ``repeats`` times each."""
    with tempfile.TemporaryDirectory(prefix="ldb-bench-") as home:
        env = fresh_env(home)
        for _ in range(repeats):
            results.add(ROW_VERSION, run_timed([exe, "--version"], env=env, cwd=home)[0])
            results.add(ROW_HELP, run_timed([exe, "--help"], env=env, cwd=home)[0])


def bench_round(exe: str, target: Target, results: Results, count_objects: bool) -> None:
    """One run: init, add-storage, index, re-index in a fresh HOME / LDB_DIR."""
    with tempfile.TemporaryDirectory(prefix="ldb-bench-") as home:
        env = fresh_env(home)
        ldb_dir = env["LDB_DIR"]
        steps = (
            (ROW_INIT, ["init", ldb_dir]),
            (ROW_ADD_STORAGE, ["add-storage", str(target.storage)]),
            (ROW_INDEX, ["index", "-m", target.fmt, str(target.index_path)]),
            (ROW_REINDEX, ["index", "-m", target.fmt, str(target.index_path)]),
        )
        for row, args in steps:
            results.add(row, run_timed([exe, *args], env=env, cwd=home)[0])
        if count_objects:
            results.objects = count_indexed(exe, env, home)


def count_indexed(exe: str, env: dict[str, str], cwd: str) -> str:
    """Untimed sanity check: number of data objects reported by ``ldb list -s ds:root``."""
    try:
        _sample, text = run_timed([exe, "list", "-s", "ds:root"], env=env, cwd=cwd, capture=True)
    except CommandFailed:
        return "? (ldb list -s ds:root failed)"
    numbers = re.findall(r"\d+", text)
    return numbers[-1] if numbers else "?"


def bench_floor(target: Target, results: Results) -> None:
    """Time ``floor.py`` over the layout folder (one Python process, no ldb)."""
    results.add(ROW_FLOOR, run_timed([sys.executable, str(FLOOR_SCRIPT), str(target.storage)])[0])


def format_table(results: Results) -> str:
    """Markdown table of one executable's results."""
    lines = [
        "| command | median s | min s | max s | peak RSS MB | runs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in ROW_ORDER:
        got = results.samples.get(row)
        if not got:
            continue
        secs = [s.seconds for s in got]
        lines.append(
            f"| {row} | {statistics.median(secs):.3f} | {min(secs):.3f} | {max(secs):.3f} "
            f"| {max(s.peak_rss_mb for s in got):.1f} | {len(secs)} |"
        )
    return "\n".join(lines)


def describe(results: Results, target: Target, runs: int) -> str:
    """Header lines printed above a table."""
    return (
        f"## {results.executable} ({results.version})\n\n"
        f"data: {target.index_path}  layout={target.layout}  format={target.fmt}  "
        f"runs={runs}  objects indexed={results.objects}\n"
    )


def common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared with compare.py."""
    parser.add_argument("data_dir", type=Path, help="output folder of make_data.py")
    parser.add_argument(
        "runs",
        type=int,
        nargs="?",
        default=int(os.environ.get("RUNS") or 3),
        help="index runs (env RUNS; default: 3)",
    )
    parser.add_argument(
        "--layout",
        default=os.environ.get("LAYOUT") or "strict",
        help="subfolder of DATA_DIR: strict, bare, infer, label-studio (env LAYOUT)",
    )
    parser.add_argument(
        "--format",
        default=os.environ.get("FORMAT") or None,
        help="format for ldb index -m (env FORMAT; default: matches the layout)",
    )
    parser.add_argument(
        "--startup-runs", type=int, default=5, help="runs of --version / --help (default: 5)"
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the floor measurement")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")


def report_failure(exc: CommandFailed) -> int:
    """Print a failed command and its stderr; return the exit code to use."""
    print(f"\nerror: {exc}", file=sys.stderr)
    print(exc.stderr.rstrip(), file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("executable", help="ldb executable to benchmark")
    common_arguments(parser)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.startup_runs < 1:
        parser.error("run counts must be at least 1")

    target = resolve_target(args.data_dir, args.layout, args.format)
    exe = resolve_executable(args.executable)
    results = Results(exe)
    floor = Results("floor")
    try:
        warm_up(exe, target, results)
        bench_startup(exe, results, args.startup_runs)
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs} ...", file=sys.stderr, flush=True)
            bench_round(exe, target, results, count_objects=run == args.runs - 1)
            if not args.no_floor:
                bench_floor(target, floor)
    except CommandFailed as exc:
        return report_failure(exc)

    results.samples.update(floor.samples)
    print(describe(results, target, args.runs))
    print(format_table(results))
    if args.json:
        args.json.write_text(json.dumps(results.to_json(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
