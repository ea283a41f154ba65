"""Time ``ldb view`` of COUNT images (thumbnails included) against making the same
thumbnails alone with Pillow in one process.

Usage::

    python3 benchmarks/bench_view.py "LDB_COMMAND" DATA_DIR [--runs 3] [--count 10000]

``LDB_COMMAND`` is how to run ldb (one word, or quoted words such as
``"python -m ldb_clone"``). ``DATA_DIR`` is an output folder of ``make_data.py`` with the
``strict`` layout (128x128 JPEGs with annotations of a label and boxes).

Setup (untimed): a fresh ``HOME`` and instance that indexes ``DATA_DIR/strict``.
Timed per run, interleaved: the whole command ``ldb view ds:root -o OUT`` (a new OUT
each time: thumbnails, annotation files, data.js, index.html, the atomic swap), and the
floor: one Python process that opens every image with Pillow, ``thumbnail((256, 256))``
and saves it as a JPEG into a fresh folder. Prints the medians and their ratio (the
target is at most 3).
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

FLOOR = """
import os, sys
from PIL import Image
out = sys.argv[1]
for i, path in enumerate(sys.argv[2:]):
    with Image.open(path) as image:
        image.thumbnail((256, 256))
        image.convert("RGB").save(os.path.join(out, f"{i}.jpg"), "JPEG", quality=80)
"""


def images_of(folder: Path, count: int) -> list[str]:
    found = sorted(str(p) for p in folder.rglob("*.jpg"))
    if len(found) < count:
        sys.exit(f"{folder} has {len(found)} images, fewer than --count {count}")
    return found[:count]


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ldb")
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--count", type=int, default=10_000)
    args = parser.parse_args(argv)
    ldb = shlex.split(args.ldb)
    strict = args.data_dir / "strict"
    images = images_of(strict, args.count)

    with tempfile.TemporaryDirectory(prefix="bench-view-", dir=args.data_dir.parent) as scratch:
        root = Path(scratch)
        # the selection: exactly COUNT images, hard links (or copies) of the first ones
        source = root / "src"
        source.mkdir()
        for i, image in enumerate(images):
            for path in (image, image[: -len(".jpg")] + ".json"):
                dest = source / f"{i:05}{Path(path).suffix}"
                try:
                    os.link(path, dest)
                except OSError:
                    dest.write_bytes(Path(path).read_bytes())
        home = root / "home"
        home.mkdir()
        env = {**os.environ, "HOME": str(home), "LDB_DIR": str(root / "instance")}
        for step in (["init", str(root / "instance")], ["add-storage", str(source)]):
            subprocess.run([*ldb, *step], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            [*ldb, "index", "-m", "strict", str(source)],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        thumbs = sorted(str(p) for p in source.glob("*.jpg"))
        view_times, floor_times = [], []
        for run in range(args.runs):
            out = root / f"view-{run}"
            view_times.append(timed([*ldb, "view", "ds:root", "-q", "-o", str(out)], env))
            floor_out = root / f"floor-{run}"
            floor_out.mkdir()
            floor_times.append(
                timed([sys.executable, "-c", FLOOR, str(floor_out), *thumbs], os.environ)
            )
            os.sync()
        view, floor = statistics.median(view_times), statistics.median(floor_times)
        print(f"images: {len(thumbs)}, runs: {args.runs}")
        print(f"ldb view ds:root -o OUT          median {view:7.2f} s  {view_times}")
        print(f"Pillow thumbnails, one process   median {floor:7.2f} s  {floor_times}")
        print(f"ratio: {view / floor:.2f} (target: at most 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
