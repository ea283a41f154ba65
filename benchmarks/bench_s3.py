"""Index strict pairs from S3 (moto's server on loopback): many requests in flight against
one request at a time, and a re-index that must download nothing.

Usage::

    .venv/bin/python benchmarks/bench_s3.py LDB_EXECUTABLE DATA_DIR [--count 2000] [--runs 3]

Needs the test extra (moto, s3fs): run it with the project's venv Python. DATA_DIR is an
output folder of ``make_data.py``; the first COUNT images of ``DATA_DIR/strict`` and their
``.json`` files are uploaded once to a bucket on a server started by this script.

Every run uses a fresh instance and times, as whole commands, interleaved:

- ``ldb index -m strict s3://bench/strict`` with ``LDB_REMOTE_CONCURRENCY=1`` (one request
  at a time, the way upstream LDB reads), then with the default concurrency;
- the same index again, unchanged, counting the server's GET requests for objects.

``--latency-ms`` (default 20) is added to every request, as a distant endpoint would: on
loopback a request costs only the server's own CPU time, and moto's server is one Python
process, so without it requests in flight wait for the same core and the benchmark
measures moto rather than the client. Run with ``--latency-ms 0`` to see that too.

Upstream ldb-alpha 0.7.0 cannot take part: it ignores storage options while listing, so it
cannot reach any endpoint but AWS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.s3server
from bench_index import CommandFailed, fresh_env, report_failure, resolve_executable, run_timed

BUCKET = "bench"


def upload(server, data_dir: Path, count: int) -> int:
    images = sorted((data_dir / "strict").rglob("img-*.jpg"))[:count]
    if len(images) < count:
        raise SystemExit(f"only {len(images)} images in {data_dir / 'strict'}")
    local, remote = [], []
    for image in images:
        for path in (image, image.with_suffix(".json")):
            rel = path.relative_to(data_dir / "strict").as_posix()
            local.append(str(path))
            remote.append(f"{BUCKET}/strict/{rel}")
    fs = server.filesystem()
    fs.mkdir(BUCKET)
    fs.put(local, remote)
    return len(local)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executable")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=20.0,
        help="added to every request, as a distant S3 endpoint would (default 20 ms)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.pop(name, None)
    from tests.s3server import S3Server

    exe = resolve_executable(args.executable)
    server = S3Server().start()
    try:
        server.reset()
        files = upload(server, args.data_dir, args.count)
        print(f"uploaded {files} files to {server.endpoint}/{BUCKET}", file=sys.stderr)
        latency = args.latency_ms / 1000
        rows: dict[str, list[float]] = {}
        gets: list[int] = []
        url = f"s3://{BUCKET}/strict"
        for run in range(args.runs):
            print(f"run {run + 1}/{args.runs} ...", file=sys.stderr, flush=True)
            for label, concurrency in (("one request at a time", "1"), ("default", None)):
                home = tempfile.mkdtemp(prefix="ldb-bench-s3-")
                try:
                    env = fresh_env(home)
                    if concurrency:
                        env["LDB_REMOTE_CONCURRENCY"] = concurrency
                    run_timed([exe, "init", env["LDB_DIR"]], env, home)
                    run_timed([exe, "add-storage", url, *server.storage_options()], env, home)
                    server.recorder.latency = latency
                    sample, _ = run_timed([exe, "index", "-m", "strict", url], env, home)
                    rows.setdefault(f"index ({label})", []).append(sample.seconds)
                    if concurrency is None:
                        server.recorder.reset()
                        server.recorder.latency = latency
                        again, _ = run_timed([exe, "index", "-m", "strict", url], env, home)
                        rows.setdefault("index again, unchanged", []).append(again.seconds)
                        gets.append(server.recorder.gets(f"/{BUCKET}/strict/"))
                finally:
                    shutil.rmtree(home, ignore_errors=True)
    except CommandFailed as exc:
        return report_failure(exc)
    finally:
        server.stop()
    print(
        f"## {exe}: {args.count} strict pairs ({files} files) on S3 (moto, loopback, "
        f"{args.latency_ms:g} ms added per request)\n"
    )
    print("| command | median s | min s | max s | runs |")
    print("|---|---:|---:|---:|---:|")
    for row, seconds in rows.items():
        print(
            f"| {row} | {statistics.median(seconds):.3f} | {min(seconds):.3f} "
            f"| {max(seconds):.3f} | {len(seconds)} |"
        )
    one = statistics.median(rows["index (one request at a time)"])
    many = statistics.median(rows["index (default)"])
    print(f"\nspeed-up of the default over one request at a time: {one / many:.1f}x")
    print(f"object GET requests during the unchanged re-index: {gets}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
