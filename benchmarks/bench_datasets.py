"""Time dataset commands on an indexed instance: add with a query, list, status, commit, diff.

Usage: python3 benchmarks/bench_datasets.py LDB_EXECUTABLE DATA_DIR [RUNS] [--json PATH]

DATA_DIR/strict is indexed once (untimed) into a fresh instance. Each run then stages a
new dataset in a fresh workspace and times, as whole commands:

- ``add ds:root --query 'label == `cat`'`` (the issue's selection benchmark),
- ``add ds:root`` (every object), then on that full working dataset
  ``list -s``, ``status``, ``commit``, ``diff`` (against the committed version) and
  ``list -s ds:NAME`` (the saved version).

Works with upstream ldb-alpha too: give two executables (ldb_clone first) to compare them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_index import (
    CommandFailed,
    Results,
    fresh_env,
    report_failure,
    resolve_executable,
    run_timed,
)

CAT_QUERY = "label == `cat`"


def bench(exe: str, data_dir: Path, runs: int) -> Results:
    results = Results(exe)
    home = tempfile.mkdtemp(prefix="ldb-bench-ds-")
    try:
        env = fresh_env(home)
        storage = str((data_dir / "strict").resolve())
        run_timed([exe, "init", env["LDB_DIR"]], env, home)
        run_timed([exe, "add-storage", storage], env, home)
        run_timed([exe, "index", "-m", "strict", storage], env, home)
        _, count = run_timed([exe, "list", "-s", "ds:root"], env, home, capture=True)
        results.objects = count.strip()
        for run in range(runs):
            print(f"run {run + 1}/{runs} ...", file=sys.stderr, flush=True)
            ws = Path(home) / f"ws{run}"
            run_timed([exe, "stage", f"ds:cats{run}", "-t", str(ws)], env, home)
            sample, _ = run_timed([exe, "add", "ds:root", "--query", CAT_QUERY], env, str(ws))
            results.add("add ds:root --query (cats)", sample)
            full = Path(home) / f"full{run}"
            run_timed([exe, "stage", f"ds:all{run}", "-t", str(full)], env, home)
            for row, argv in (
                ("add ds:root (all)", ["add", "ds:root"]),
                ("list -s (workspace)", ["list", "-s"]),
                ("status (workspace)", ["status"]),
                ("commit", ["commit", "-m", "all"]),
                ("diff (vs committed)", ["diff"]),
                ("list -s ds:NAME", ["list", "-s", f"ds:all{run}"]),
            ):
                sample, _ = run_timed([exe, *argv], env, str(full))
                results.add(row, sample)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return results


def table(results: Results) -> str:
    lines = [
        f"## {results.executable} ({results.objects} objects indexed)",
        "",
        "| command | median s | min s | max s | peak RSS MB | runs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row, got in results.samples.items():
        seconds = [s.seconds for s in got]
        lines.append(
            f"| {row} | {results.median(row):.3f} | {min(seconds):.3f} | {max(seconds):.3f} "
            f"| {max(s.peak_rss_mb for s in got):.1f} | {len(got)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executables", nargs="+", help="ldb executables, then DATA_DIR")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    *exes, data = args.executables
    all_results = []
    try:
        for exe in exes:
            all_results.append(bench(resolve_executable(exe), Path(data), args.runs))
    except CommandFailed as exc:
        return report_failure(exc)
    for results in all_results:
        print(table(results) + "\n")
    if len(all_results) == 2:
        new, old = all_results
        print("| command | first median s | second median s | second / first |")
        print("|---|---:|---:|---:|")
        for row in new.samples:
            a, b = new.median(row), old.median(row)
            if a and b:
                print(f"| {row} | {a:.3f} | {b:.3f} | {b / a:.1f}x |")
    if args.json:
        args.json.write_text(json.dumps([r.to_json() for r in all_results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
