"""The team catalog against the SQLite one, in the same run (medians), as issue 15 asks.

Usage:
  python3 benchmarks/bench_postgres.py DATA_DIR SERVER_URL [--runs 3]
      [--query-objects 50000] [--scale-objects 1000000] [--json PATH]

DATA_DIR holds ``strict/`` from ``make_data.py --count 10000``. SERVER_URL names a
PostgreSQL server and a role that may create databases (tests/postgres/start_postgres.sh
prints one); every instance gets a fresh database, dropped afterwards. Rows:

1. ``index`` of the 10,000 strict pairs and an unchanged re-index, SQLite and PostgreSQL
   runs interleaved (target: PostgreSQL within 1.5x of SQLite).
2. Four ``ldb index`` processes at once, of a quarter of the pairs each (2,500 pairs when
   there are 10,000), into one PostgreSQL catalog, against one indexer of them all
   (target: faster; the ratio is printed).
3. ``add ds:root --query 'label == `cat`'`` on QUERY_OBJECTS objects whose annotations
   are generated straight into both catalogs (target: PostgreSQL no slower).
4. The scale run: SCALE_OBJECTS generated objects in PostgreSQL only; the same ``add
   --query`` (target: at most 5 s) and ``list -s ds:root`` (at most 1 s).

Needs psycopg and this checkout's ldb_clone importable (the generated catalogs are written
through its catalog API); the ``ldb`` commands run as ``python -m ldb_clone``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

LDB = [sys.executable, "-m", "ldb_clone"]
CAT_QUERY = "label == `cat`"
LABELS = ("cat", "dog", "bird", "horse", "fish")
GENERATE_BATCH = 20_000


def run(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"error: {' '.join(argv)} failed: {result.stderr.strip()}")
    return elapsed


def run_together(commands: list[list[str]], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    procs = [
        subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for argv in commands
    ]
    for proc, argv in zip(procs, commands):
        _, stderr = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"error: {' '.join(argv[:4])} failed: {stderr.decode().strip()}")
    return time.perf_counter() - start


class Server:
    """Fresh databases on one PostgreSQL server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created: list[str] = []

    def database(self) -> str:
        import psycopg

        name = f"ldb_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        parts = urllib.parse.urlsplit(self.url)
        return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    def drop_all(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            for name in self.created:
                for attempt in range(5):  # FORCE may not end an autovacuum worker: wait
                    try:
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                        break
                    except psycopg.Error as exc:
                        print(f"note: database {name}: {exc}", file=sys.stderr)
                        time.sleep(0.5 * (attempt + 1))


def new_instance(home: Path, name: str, catalog: str | None, storage: Path | None) -> dict:
    env = {**os.environ, "HOME": str(home), "LDB_DIR": str(home / name)}
    env.pop("LDB_CATALOG", None)
    init = [*LDB, "init", str(home / name)] + (["--catalog", catalog] if catalog else [])
    run(init, env, str(home))
    if storage is not None:
        run([*LDB, "add-storage", str(storage)], env, str(home))
    return env


def bench_index(data: Path, server: Server, runs: int, rows: dict[str, list[float]]) -> None:
    storage = data / "strict"
    for number in range(runs):
        print(f"index run {number + 1}/{runs} ...", file=sys.stderr, flush=True)
        for backend in ("sqlite", "postgres"):
            home = Path(tempfile.mkdtemp(prefix="ldb-bench-pg-"))
            try:
                catalog = server.database() if backend == "postgres" else None
                env = new_instance(home, "inst", catalog, storage)
                index = [*LDB, "index", "-m", "strict-pairs", str(storage)]
                rows.setdefault(f"index 10k ({backend})", []).append(run(index, env, str(home)))
                rows.setdefault(f"re-index ({backend})", []).append(run(index, env, str(home)))
            finally:
                shutil.rmtree(home, ignore_errors=True)


def quarters(data: Path) -> Path:
    """DATA_DIR/quarters/q0..q3: the strict pairs in four equal folders (hard links, made
    once). Indexers get folders, not file lists: ``ldb index`` of many file arguments is
    slow on both backends."""
    root = data / "quarters"
    if root.is_dir():
        return root
    images = sorted((data / "strict").rglob("*.jpg"))
    size = -(-len(images) // 4)
    building = data / "quarters.partial"
    shutil.rmtree(building, ignore_errors=True)
    for number, start in enumerate(range(0, len(images), size)):
        folder = building / f"q{number}"
        folder.mkdir(parents=True)
        for image in images[start : start + size]:
            for source in (image, image.with_suffix(".json")):
                os.link(source, folder / f"{source.parent.name}-{source.name}")
    building.rename(root)
    return root


def bench_concurrent(data: Path, server: Server, runs: int, rows: dict[str, list[float]]) -> None:
    storage = quarters(data)
    folders = sorted(storage.iterdir())
    for number in range(runs):
        print(f"concurrent run {number + 1}/{runs} ...", file=sys.stderr, flush=True)
        home = Path(tempfile.mkdtemp(prefix="ldb-bench-pg-"))
        try:
            env = new_instance(home, "one", server.database(), storage)
            one = [*LDB, "index", "-m", "strict-pairs", str(storage)]
            rows.setdefault("one indexer, all pairs (postgres)", []).append(
                run(one, env, str(home))
            )
            env = new_instance(home, "four", server.database(), storage)
            four = [[*LDB, "index", "-m", "strict-pairs", str(folder)] for folder in folders]
            rows.setdefault("four indexers, a quarter each (postgres)", []).append(
                run_together(four, env, str(home))
            )
        finally:
            shutil.rmtree(home, ignore_errors=True)


def generate(catalog_location: str | Path, count: int) -> None:
    """``count`` objects with a small generated annotation each, through the catalog API
    (no files: the query reads the catalog only)."""
    from ldb_clone.catalog import ObjectRecord, PathRecord, open_catalog
    from ldb_clone.hashing import Hasher

    hasher = Hasher()
    rng = random.Random(0)
    catalog = open_catalog(catalog_location)
    try:
        with catalog.bulk_writes():
            for start in range(0, count, GENERATE_BATCH):
                records, texts = [], {}
                for n in range(start, min(count, start + GENERATE_BATCH)):
                    value = {
                        "id": f"img-{n:07d}",
                        "label": rng.choice(LABELS),
                        "split": rng.choice(("train", "val", "test")),
                        "difficulty": rng.randint(1, 5),
                    }
                    aid, text = hasher.annotation_id(value)
                    texts[aid] = text
                    oid = hasher.bytes_digest(f"object {n}".encode())
                    path = PathRecord("file", f"/generated/img-{n:07d}.jpg", size=1, mtime_ns=n)
                    records.append(ObjectRecord(oid, "jpg", path, aid))
                catalog.record_objects(records, texts, "2024-01-01T00:00:00+00:00", "bench")
    finally:
        catalog.close()


def bench_query(server: Server, count: int, runs: int, rows: dict[str, list[float]]) -> None:
    home = Path(tempfile.mkdtemp(prefix="ldb-bench-pg-"))
    try:
        envs = {}
        for backend in ("sqlite", "postgres"):
            catalog = server.database() if backend == "postgres" else None
            envs[backend] = new_instance(home, backend, catalog, None)
            print(f"generating {count} objects ({backend}) ...", file=sys.stderr, flush=True)
            generate(catalog or home / backend / "catalog.db", count)
        for number in range(runs):
            for backend, env in envs.items():
                ws = home / f"ws-{backend}-{number}"
                run([*LDB, "stage", f"ds:q{number}", "-t", str(ws)], env, str(home))
                seconds = run([*LDB, "add", "ds:root", "--query", CAT_QUERY], env, str(ws))
                rows.setdefault(f"add --query, {count} objects ({backend})", []).append(seconds)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def bench_scale(server: Server, count: int, runs: int, rows: dict[str, list[float]]) -> None:
    home = Path(tempfile.mkdtemp(prefix="ldb-bench-pg-"))
    try:
        catalog = server.database()
        env = new_instance(home, "scale", catalog, None)
        print(f"generating {count} objects (postgres) ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        generate(catalog, count)
        print(f"  generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        for number in range(runs):
            ws = home / f"ws{number}"
            run([*LDB, "stage", f"ds:s{number}", "-t", str(ws)], env, str(home))
            seconds = run([*LDB, "add", "ds:root", "--query", CAT_QUERY], env, str(ws))
            rows.setdefault(f"add --query, {count} objects (postgres)", []).append(seconds)
            seconds = run([*LDB, "list", "-s", "ds:root"], env, str(home))
            rows.setdefault(f"list -s ds:root, {count} objects (postgres)", []).append(seconds)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def ratio(rows: dict[str, list[float]], top: str, bottom: str) -> str:
    if top not in rows or bottom not in rows:
        return "n/a"
    return f"{statistics.median(rows[top]) / statistics.median(rows[bottom]):.2f}x"


def report(rows: dict[str, list[float]], args: argparse.Namespace) -> str:
    lines = ["| row | median s | runs |", "|---|---:|---:|"]
    for row, seconds in rows.items():
        lines.append(f"| {row} | {statistics.median(seconds):.2f} | {len(seconds)} |")
    q = args.query_objects
    lines += [
        "",
        "| ratio (target) | value |",
        "|---|---:|",
        "| index, postgres / sqlite (<= 1.5) | "
        + ratio(rows, "index 10k (postgres)", "index 10k (sqlite)")
        + " |",
        "| re-index, postgres / sqlite (<= 1.5) | "
        + ratio(rows, "re-index (postgres)", "re-index (sqlite)")
        + " |",
        "| four indexers / one indexer (< 1) | "
        + ratio(
            rows,
            "four indexers, a quarter each (postgres)",
            "one indexer, all pairs (postgres)",
        )
        + " |",
        f"| add --query {q}, postgres / sqlite (<= 1) | "
        + ratio(rows, f"add --query, {q} objects (postgres)", f"add --query, {q} objects (sqlite)")
        + " |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path, help="holds strict/ from make_data.py")
    parser.add_argument("server_url", help="postgresql://USER@HOST:PORT/DB (may create DBs)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--query-objects", type=int, default=50_000)
    parser.add_argument("--scale-objects", type=int, default=1_000_000, help="0: skip")
    parser.add_argument("--skip", action="append", default=[], help="index, concurrent, query")
    parser.add_argument("--json", type=Path, help="also write the samples here")
    args = parser.parse_args(argv)
    server = Server(args.server_url)
    rows: dict[str, list[float]] = {}
    try:
        if "index" not in args.skip:
            bench_index(args.data_dir, server, args.runs, rows)
        if "concurrent" not in args.skip:
            bench_concurrent(args.data_dir, server, args.runs, rows)
        if "query" not in args.skip:
            bench_query(server, args.query_objects, args.runs, rows)
        if args.scale_objects:
            bench_scale(server, args.scale_objects, args.runs, rows)
    finally:
        print(report(rows, args))
        server.drop_all()
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
