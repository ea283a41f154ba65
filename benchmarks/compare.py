#!/usr/bin/env python3
"""Benchmark two ``ldb`` executables in one go and print upstream/new ratios.

Usage::

    LDB_NEW=ldb LDB_UPSTREAM=/opt/upstream-ldb/bin/ldb python3 benchmarks/compare.py DATA_DIR [RUNS]

Runs are interleaved (new, upstream, new, upstream, ...) so that drift in machine load
affects both sides alike. Takes the same options as ``bench_index.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from bench_index import (
    ROW_FLOOR,
    ROW_INDEX,
    ROW_ORDER,
    CommandFailed,
    Results,
    bench_floor,
    bench_round,
    bench_startup,
    common_arguments,
    describe,
    format_table,
    report_failure,
    resolve_executable,
    resolve_target,
    warm_up,
)


def ratio_table(new: Results, upstream: Results) -> str:
    """Markdown table: medians of both and the speed-up (upstream median / new median)."""
    lines = [
        "| command | upstream median s | new median s | speed-up (upstream/new) |",
        "|---|---:|---:|---:|",
    ]
    for row in ROW_ORDER:
        if row == ROW_FLOOR:
            continue
        old_s, new_s = upstream.median(row), new.median(row)
        if old_s is None or new_s is None:
            continue
        ratio = f"{old_s / new_s:.1f}x" if new_s > 0 else "-"
        lines.append(f"| {row} | {old_s:.3f} | {new_s:.3f} | {ratio} |")
    floor_s, new_index, old_index = (
        new.median(ROW_FLOOR),
        new.median(ROW_INDEX),
        upstream.median(ROW_INDEX),
    )
    if floor_s and new_index and old_index:
        lines.append(
            f"\nfloor median {floor_s:.3f} s; first index / floor: "
            f"upstream {old_index / floor_s:.1f}x, new {new_index / floor_s:.1f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.startup_runs < 1:
        parser.error("run counts must be at least 1")

    target = resolve_target(args.data_dir, args.layout, args.format)
    new = Results(resolve_executable(os.environ.get("LDB_NEW") or "ldb"))
    upstream = Results(
        resolve_executable(os.environ.get("LDB_UPSTREAM") or "/opt/upstream-ldb/bin/ldb")
    )
    floor = Results("floor")
    sides = (new, upstream)
    try:
        for side in sides:
            warm_up(side.executable, target, side)
        for side in sides:
            bench_startup(side.executable, side, args.startup_runs)
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs} ...", file=sys.stderr, flush=True)
            for side in sides:
                bench_round(side.executable, target, side, count_objects=run == args.runs - 1)
            if not args.no_floor:
                bench_floor(target, floor)
    except CommandFailed as exc:
        return report_failure(exc)

    for side in sides:
        side.samples.update(floor.samples)
        print(describe(side, target, args.runs))
        print(format_table(side))
        print()
    print("## ratio\n")
    print(ratio_table(new, upstream))
    if new.objects != upstream.objects:
        print(f"\nwarning: objects indexed differ: new={new.objects} upstream={upstream.objects}")
    if args.json:
        both = {"new": new.to_json(), "upstream": upstream.to_json()}
        args.json.write_text(json.dumps(both, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
