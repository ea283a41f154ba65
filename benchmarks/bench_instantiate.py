"""Time ``ldb instantiate`` as whole commands, in several formats, against a ``cp -r`` floor.

Usage::

    python3 benchmarks/bench_instantiate.py LDB_EXECUTABLE [LDB_EXECUTABLE2] DATA_DIR
        [--runs 3] [--count 3000] [--formats strict,bare,infer,annot,label-studio]
        [--json PATH]

``DATA_DIR`` is an output folder of ``make_data.py``. Give two executables (ldb_clone
first, upstream ldb-alpha second) to compare them; runs are interleaved between them.

Setup (untimed, before anything is timed), per executable, one fresh ``HOME`` /
``LDB_DIR`` instance per layout that the chosen formats need:

- ``strict``, ``bare``, ``annot``: ``DATA_DIR/strict`` indexed with ``-m strict``;
- ``infer``: ``DATA_DIR/infer`` indexed with ``-m infer`` (class folders become labels);
- ``label-studio``: ``DATA_DIR/label-studio/annotations.json`` indexed with
  ``-m label-studio`` (storage ``DATA_DIR/label-studio``).

In each instance a dataset ``ds:bench`` is staged and committed holding the images
``img-00000`` .. ``img-<COUNT-1>`` (``ldb add ds:root --path REGEX``). The selection is by
file name rather than ``--limit`` because the two implementations use different object
ids (ldb-alpha: MD5, ldb_clone: XXH3-128), so ``--limit`` would pick different objects
in each; by name, every format and both executables get the same images.

Timed, per run and per format: ``ldb instantiate ds:bench -m FORMAT -t OUT`` where OUT is
a fresh empty folder in a scratch folder next to DATA_DIR (same disk); with
``--new-target`` OUT does not exist yet (ldb_clone then builds the output beside it and
renames it into place in one step, instead of one rename per file). Also timed once per
run (next to ``strict``, else the first format): the floor ``cp -r SRC DEST``, where SRC
holds exactly the COUNT images and their ``.json`` files from ``DATA_DIR/strict`` (hard
links, or copies if linking fails). Runs are interleaved between the executables. After
each timed command (untimed) its files are counted and ``os.sync()`` flushes them, so the
times are page-cache writes with a warm read cache (the untimed indexing reads every
file) and no writeback from earlier runs.

Nothing is deleted until the script ends, and timing starts only once creating files in
the scratch folder is fast (a probe of 500 small files, retried every 20 s for up to
``--max-wait`` seconds). On ext4 without a journal (this project's machine) creating a
file right after many deletes on the same disk is 5-15x slower for up to 6 minutes (see
``settle``), which would swamp the numbers. The scratch folder therefore grows to about
COUNT x 20 KB per run, format and executable (e.g. strict, 2 executables, 3 runs, 10,000
objects: about 1.4 GB) before it is removed.

If an executable fails a format (setup or instantiate), the failure is recorded and
printed, and the other formats and executables carry on. Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
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

# format -> layout whose instance it is instantiated from
FORMAT_LAYOUTS = {
    "strict": "strict",
    "bare": "strict",
    "annot": "strict",
    "infer": "infer",
    "label-studio": "label-studio",
}
DATASET = "ds:bench"
QUIET_MICROS = 40  # creating a 100-byte file: 28-35 us on a quiet disk, 150-500 after deletes
PROBE_PAUSE = 20
STEM_WIDTH = 5  # make_data.py names images img-NNNNN


def number_regex(count: int, width: int = STEM_WIDTH) -> str:
    """Regex matching the zero-padded numbers ``0 .. count-1`` of ``width`` digits."""
    if count >= 10**width:
        return rf"\d{{{width}}}"
    digits = f"{count:0{width}d}"
    parts = []
    for i, d in enumerate(digits):
        if d == "0":
            continue
        rest = width - i - 1
        top = int(d) - 1
        rng = "0" if top == 0 else f"[0-{top}]"
        parts.append(digits[:i] + rng + (rf"\d{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(parts) + ")"


def path_regex(count: int) -> str:
    """``--path`` pattern selecting images img-00000 .. img-<count-1> in every layout."""
    return rf"(?:^|/)img-{number_regex(count)}\.jpg$"


def floor_files(data_dir: Path, count: int) -> list[Path]:
    """The COUNT images of DATA_DIR/strict that the datasets hold, and their annotations."""
    pattern = re.compile(path_regex(count))
    images = sorted(p for p in (data_dir / "strict").rglob("img-*.jpg") if pattern.search(str(p)))
    if len(images) != count:
        raise SystemExit(f"error: {data_dir / 'strict'} has {len(images)} images, need {count}")
    files = []
    for image in images:
        files += [image, image.with_suffix(".json")]
    return files


def make_floor_source(files: list[Path], dest: Path) -> None:
    """Untimed: a flat folder holding exactly ``files`` (hard links, else copies)."""
    dest.mkdir()
    for f in files:
        try:
            os.link(f, dest / f.name)
        except OSError:
            shutil.copy2(f, dest / f.name)


def count_files(folder: Path) -> int:
    """Number of regular files below ``folder``."""
    return sum(len(names) for _root, _dirs, names in os.walk(folder))


def settle() -> None:
    """Untimed, after every timed command: flush dirty pages to disk, so that one run's
    writeback does not land in the next run's time.

    Why outputs are kept until the end: on ext4 without a journal, allocating an inode
    skips free inodes deleted in the last 60 s (360 s while their inode-table block is
    dirty), one buffer-cache lookup each (``recently_deleted`` in ``find_inode_bit``). On
    this machine, right after deleting 80,000 files, ``cp -r`` of 20,000 files took
    8.6 s instead of 0.56 s, and ``ldb_clone instantiate -m strict`` of 3,000 objects 4 s
    instead of 0.45 s.
    """
    os.sync()


def probe_creation(folder: Path, files: int = 500) -> float:
    """Microseconds per small file created in a new subfolder of ``folder`` (kept)."""
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=folder))
    start = time.perf_counter()
    for i in range(files):
        with open(probe / f"p{i}", "wb") as f:
            f.write(b"x" * 100)
    return (time.perf_counter() - start) / files * 1e6


def wait_for_quiet_disk(folder: Path, max_wait: float) -> float:
    """Untimed: wait (up to ``max_wait`` s) until creating files in ``folder`` is fast again.

    Recent deletes on the same file system (an earlier run's cleanup) slow file creation
    down several times for up to 6 minutes (see ``settle``). Returns the last probe.
    """
    deadline = time.monotonic() + max_wait
    while True:
        micros = probe_creation(folder)
        if micros <= QUIET_MICROS or time.monotonic() >= deadline:
            return micros
        print(
            f"file creation is slow ({micros:.0f} us/file > {QUIET_MICROS} us): recent "
            f"deletes on this disk; waiting {PROBE_PAUSE} s ...",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(PROBE_PAUSE)


def layout_setup(data_dir: Path, layout: str) -> list[list[str]]:
    """The ldb commands (after ``init``) that index ``layout`` into an instance."""
    storage = (data_dir / layout).resolve()
    index_path = storage / "annotations.json" if layout == "label-studio" else storage
    return [["add-storage", str(storage)], ["index", "-m", layout, str(index_path)]]


class Bench:
    """Instances, datasets, timings and failures for one executable."""

    def __init__(
        self, exe: str, data_dir: Path, count: int, scratch: Path, new_target: bool = False
    ) -> None:
        self.exe = exe
        self.new_target = new_target
        self.data_dir = data_dir
        self.count = count
        self.scratch = scratch
        self.results = Results(exe)
        self.homes: dict[str, str] = {}  # layout -> HOME of its instance
        self.objects: dict[str, str] = {}  # layout -> objects in ds:bench
        self.files_out: dict[str, list[int]] = {}  # row -> files written per run
        self.failures: dict[str, str] = {}  # format -> failure text
        self.setup_failures: dict[str, str] = {}  # layout -> failure text
        with tempfile.TemporaryDirectory(prefix="ldb-bench-inst-") as home:
            _s, text = run_timed([exe, "--version"], fresh_env(home), home, capture=True)
        self.results.version = text.strip().splitlines()[-1] if text.strip() else "?"

    def ldb(self, home: str, args: list[str], cwd: str | None = None, capture: bool = False):
        return run_timed([self.exe, *args], fresh_env(home), cwd or home, capture=capture)

    def setup(self, layout: str) -> None:
        """Untimed: an instance for ``layout`` with ``ds:bench`` committed."""
        home = tempfile.mkdtemp(prefix=f"ldb-bench-inst-{layout}-")
        self.homes[layout] = home
        print(f"setup {layout}: {self.exe} ...", file=sys.stderr, flush=True)
        self.ldb(home, ["init", fresh_env(home)["LDB_DIR"]])
        for args in layout_setup(self.data_dir, layout):
            self.ldb(home, args)
        ws = Path(home) / "ws"
        self.ldb(home, ["stage", DATASET, "-t", str(ws)])
        self.ldb(home, ["add", "ds:root", "--path", path_regex(self.count)], cwd=str(ws))
        self.ldb(home, ["commit", "-m", "bench"], cwd=str(ws))
        _s, text = self.ldb(home, ["list", "-s", DATASET], capture=True)
        numbers = re.findall(r"\d+", text)
        self.objects[layout] = numbers[-1] if numbers else "?"
        settle()

    def instantiate(self, fmt: str, row: str) -> None:
        """One timed ``ldb instantiate``; failures are recorded, not raised."""
        if fmt in self.failures:
            return
        layout = FORMAT_LAYOUTS[fmt]
        if layout in self.setup_failures:
            self.failures[fmt] = self.setup_failures[layout]
            return
        home = self.homes[layout]
        # kept until the end of the script: see settle()
        out = Path(tempfile.mkdtemp(prefix=f"out-{fmt}-", dir=self.scratch))
        if self.new_target:
            out = out / "target"  # does not exist yet: ldb creates it
        try:
            sample, _ = self.ldb(home, ["instantiate", DATASET, "-m", fmt, "-t", str(out)])
            self.results.add(row, sample)
            self.files_out.setdefault(row, []).append(count_files(out))
        except CommandFailed as exc:
            self.failures[fmt] = f"{exc}\n{exc.stderr.rstrip()}"
        finally:
            settle()

    def cleanup(self) -> None:
        for home in self.homes.values():
            shutil.rmtree(home, ignore_errors=True)


def instantiate_row(fmt: str, count: int) -> str:
    return f"instantiate -m {fmt} ({count} objects)"


def table(bench: Bench, floor: Results, floor_row: str) -> str:
    objects = ", ".join(f"{k}: {v}" for k, v in bench.objects.items())
    lines = [
        f"## {bench.exe} ({bench.results.version}; objects in {DATASET}: {objects})",
        "",
        "| command | median s | min s | max s | peak RSS MB | runs | files written |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [(r, bench.results.samples[r], bench.files_out.get(r)) for r in bench.results.samples]
    rows += [(floor_row, floor.samples[floor_row], None)] if floor.samples else []
    for row, got, written in rows:
        seconds = [s.seconds for s in got]
        files = "/".join(str(n) for n in sorted(set(written))) if written else ""
        lines.append(
            f"| {row} | {statistics.median(seconds):.3f} | {min(seconds):.3f} "
            f"| {max(seconds):.3f} | {max(s.peak_rss_mb for s in got):.1f} | {len(got)} "
            f"| {files} |"
        )
    for fmt, text in bench.failures.items():
        first = text.strip().splitlines()[-1] if text.strip() else ""
        lines.append(f"| instantiate -m {fmt} | FAILED: {first} | | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executables", nargs="+", help="one or two ldb executables, then DATA_DIR")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (default: 3)")
    parser.add_argument(
        "--count", type=int, default=3000, help="objects to instantiate (default: 3000)"
    )
    parser.add_argument(
        "--formats", default="strict", help=f"comma list of {','.join(FORMAT_LAYOUTS)}"
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=600,
        help="seconds to wait at most for file creation to be fast (default: 600)",
    )
    parser.add_argument(
        "--new-target",
        action="store_true",
        help="give -t a folder that does not exist yet (default: a fresh empty folder)",
    )
    parser.add_argument("--json", type=Path, help="also write all samples as JSON here")
    args = parser.parse_args(argv)
    if len(args.executables) not in (2, 3):
        parser.error("give one or two ldb executables, then DATA_DIR")
    if args.runs < 1 or args.count < 1:
        parser.error("--runs and --count must be at least 1")
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMAT_LAYOUTS]
    if unknown or not formats:
        parser.error(f"unknown formats {unknown}; choose from {','.join(FORMAT_LAYOUTS)}")
    *exes, data = args.executables
    data_dir = Path(data).resolve()
    for layout in {FORMAT_LAYOUTS[f] for f in formats} | {"strict"}:
        if not (data_dir / layout).is_dir():
            raise SystemExit(f"error: {data_dir / layout} does not exist (run make_data.py)")

    files = floor_files(data_dir, args.count)
    floor_row = f"cp -r ({len(files)} files)"
    floor = Results("cp -r")
    floor_fmt = "strict" if "strict" in formats else formats[0]  # time cp -r next to it
    scratch = Path(tempfile.mkdtemp(prefix="ldb-bench-inst-", dir=data_dir.parent))
    benches: list[Bench] = []
    try:
        make_floor_source(files, scratch / "cp-src")
        settle()
        benches = [
            Bench(resolve_executable(e), data_dir, args.count, scratch, args.new_target)
            for e in exes
        ]
        for bench in benches:  # untimed; no file is deleted from here until the end
            for layout in dict.fromkeys(FORMAT_LAYOUTS[f] for f in formats):
                try:
                    bench.setup(layout)
                except CommandFailed as exc:
                    bench.setup_failures[layout] = f"setup: {exc}\n{exc.stderr.rstrip()}"
        probe = wait_for_quiet_disk(scratch, args.max_wait)
        for fmt in formats:
            row = instantiate_row(fmt, args.count)
            for run in range(args.runs):
                print(f"{fmt}: run {run + 1}/{args.runs} ...", file=sys.stderr, flush=True)
                for bench in benches:
                    bench.instantiate(fmt, row)
                if fmt == floor_fmt:
                    dest = scratch / f"cp-dest-{run}"  # kept until the end: see settle()
                    sample, _ = run_timed(["cp", "-r", str(scratch / "cp-src"), str(dest)])
                    floor.add(floor_row, sample)
                    settle()
    except CommandFailed as exc:  # only the cp floor or `--version` get here
        return report_failure(exc)
    finally:
        for bench in benches:
            bench.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)

    print(
        f"data: {data_dir}  count={args.count}  runs={args.runs}  formats={','.join(formats)}  "
        f"target: {'new folder' if args.new_target else 'empty folder'}  "
        f"file-creation probe before timing: {probe:.0f} us/file"
        + ("" if probe <= QUIET_MICROS else " (SLOW: recent deletes; times are inflated)")
        + "\n"
    )
    for bench in benches:
        print(table(bench, floor, floor_row) + "\n")
    floor_median = floor.median(floor_row)
    if len(benches) == 2:
        new, old = benches
        print("| command | first median s | second median s | second / first |")
        print("|---|---:|---:|---:|")
        for fmt in formats:
            row = instantiate_row(fmt, args.count)
            a, b = new.results.median(row), old.results.median(row)
            if a and b:
                print(f"| {row} | {a:.3f} | {b:.3f} | {b / a:.1f}x |")
            else:
                shown = [f"{m:.3f}" if m else "failed" for m in (a, b)]
                print(f"| {row} | {shown[0]} | {shown[1]} | |")
        print()
    print("| executable | instantiate median s | cp -r median s | instantiate / cp -r |")
    print("|---|---:|---:|---:|")
    row = instantiate_row(floor_fmt, args.count)
    for bench in benches:
        median = bench.results.median(row)
        if median and floor_median:
            print(
                f"| {bench.exe} (-m {floor_fmt}) | {median:.3f} | {floor_median:.3f} "
                f"| {median / floor_median:.1f}x |"
            )
    for bench in benches:
        for fmt, text in bench.failures.items():
            print(f"\n### {bench.exe} failed -m {fmt}\n\n```\n{text}\n```")
    if args.json:
        payload = {
            "count": args.count,
            "formats": formats,
            "probe_us_per_file": probe,
            "new_target": args.new_target,
            "floor": floor.to_json(),
            "executables": [
                {
                    **b.results.to_json(),
                    "objects": b.objects,
                    "files_written": b.files_out,
                    "failures": b.failures,
                }
                for b in benches
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
