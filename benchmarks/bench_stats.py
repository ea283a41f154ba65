"""Time ``ldb stats ds:root`` on a catalog of COUNT objects (default 1,000,000).

Usage::

    python3 benchmarks/bench_stats.py "LDB_COMMAND" [--count 1000000] [--runs 3] [--keep DIR]

Setup (untimed): a fresh instance whose catalog is filled through the catalog's own
record path (``Catalog.record_objects`` and the summaries ``ldb index`` keeps beside each
batch, ``stats.keep_summaries``, in batches), with no files: each object has one
path and the annotation ``make_data.py`` draws for a strict pair (label, split, 1-3
boxes, source metadata), every annotation distinct. Then, timed as whole commands:
the first ``ldb stats ds:root --json`` and RUNS later ones (a catalog filled by an older
ldb, without summaries, makes the first run summarise every annotation once). Prints
every time and the median of the later runs (the target is at most 10 s).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from make_data import make_meta

BATCH = 20_000


def fill(instance_dir: Path, count: int) -> None:
    from ldb_clone.catalog import ObjectRecord, PathRecord
    from ldb_clone.instance import init_instance, open_instance
    from ldb_clone.stats import keep_summaries

    init_instance(instance_dir)
    instance = open_instance(instance_dir)
    hasher = instance.hasher
    catalog = instance.catalog
    with catalog.bulk_writes():
        for start in range(0, count, BATCH):
            records, texts = [], {}
            for i in range(start, min(start + BATCH, count)):
                aid, text = hasher.annotation_id(make_meta(0, i)["annotation"])
                texts[aid] = text
                oid = hasher.bytes_digest(f"object {i}".encode())
                path = PathRecord("file", f"/bench/part-{i // 1000:04}/img-{i:07}.jpg", size=10_000)
                records.append(ObjectRecord(oid, "jpg", path, aid))
            with catalog.transaction():  # as ldb index stores a batch: records, summaries
                catalog.record_objects(records, texts, "2026-12-01T00:00:00+00:00", "bench")
                keep_summaries(catalog, texts)
            print(f"  {min(start + BATCH, count):,} objects", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    instance.close()


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ldb")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="reuse (or create) the instance here")
    args = parser.parse_args(argv)
    ldb = shlex.split(args.ldb)
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as scratch:
        instance_dir = args.keep or Path(scratch) / "instance"
        if not instance_dir.exists():
            started = time.perf_counter()
            fill(instance_dir, args.count)
            print(f"filled the catalog in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, "HOME": scratch, "LDB_DIR": str(instance_dir)}
        command = [*ldb, "stats", "ds:root", "--json"]
        first = timed(command, env)
        later = [timed(command, env) for _ in range(args.runs)]
        print(f"objects: {args.count:,}")
        print(f"first ldb stats ds:root               {first:7.2f} s")
        print(f"later runs  median {statistics.median(later):7.2f} s  {later}")
        print("target: at most 10 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
