#!/usr/bin/env python3
"""COCO -> YOLO with images: ``ldb`` against Datumaro's ``datum convert`` and a floor.

Usage::

    python3 benchmarks/bench_coco_yolo.py WORK_DIR [--count 5000] [--boxes 3] [--runs 3]
        [--ldb "PYTHON -m ldb_clone"] [--datumaro-venv DIR] [--json PATH]

Generates (once, fixed seed) ``WORK_DIR/coco``: COUNT JPEGs in ``images/<split>/`` and
``annotations/instances_<split>.json`` (train 80%, val 20%) with BOXES boxes each (COCO
category ids 1, 3, 10, 18: person, car, traffic light, dog), the standard layout
Datumaro reads. Then, RUNS
times, interleaved (so that drift in machine load hits every side alike):

1. ``ldb index -m coco WORK_DIR/coco`` (one run reads the standard layout) +
   ``ldb instantiate -m yolo`` into a fresh instance and folder (``init`` and
   ``add-storage`` are not timed);
2. ``datum convert -if coco_instances -f yolo_ultralytics -- --save-media`` (or, when
   the venv lacks Datumaro's CLI extras, the same import and export through its API);
3. ``ldb instantiate -m yolo`` alone, from the instance of step 1, into a fresh folder;
4. ``coco_yolo_floor.py``: read the COCO file, write the label files, copy the images.

Each timed command starts after ``sync`` (untimed), so that none pays for the writeback
of the files an earlier one wrote. Prints the median wall-clock time of each and the
ratios ldb/datum and instantiate/floor (targets: at most 0.5 and 1.3), and the median
user CPU time of each (children's ``ru_utime``, less sensitive to other load on the
machine than wall-clock time).
``--ldb`` is split like a shell command; it defaults to ``ldb_clone`` run by the
interpreter that runs this script (and the floor script), so that both start alike: a
launcher such as pyenv's ``python3`` shim (a bash script) costs 0.1-0.2 s per command.
The Datumaro venv defaults to ``$LDB_DATUMARO_VENV`` or
``~/.cache/ldb-clone/datumaro-1.13.12`` (``tests/interop/ensure_datumaro.sh`` builds it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATEGORIES = [(1, "person"), (3, "car"), (10, "traffic light"), (18, "dog")]
WIDTH, HEIGHT = 160, 120
STEPS = ("ldb index + instantiate", "datum convert", "ldb instantiate", "floor script")


def make_data(root: Path, count: int, boxes: int) -> list[Path]:
    """The COCO dataset, 80% train and 20% val (Datumaro's YOLO exporter needs both),
    written once and reused while its annotation files exist."""
    splits = {"train": range(0, count * 4 // 5), "val": range(count * 4 // 5, count)}
    sources = [root / "annotations" / f"instances_{split}.json" for split in splits]
    if all(source.exists() for source in sources):
        return sources
    from PIL import Image

    rng = random.Random(0)
    annotation_id = 0
    for (split, numbers), source in zip(splits.items(), sources):
        images_dir = root / "images" / split
        images_dir.mkdir(parents=True, exist_ok=True)
        doc: dict = {"info": {"description": "bench"}, "licenses": [], "images": []}
        doc["annotations"] = []
        doc["categories"] = [{"id": cid, "name": name} for cid, name in CATEGORIES]
        for n in numbers:
            name = f"img-{n:05d}.jpg"
            color = (n % 256, n // 256 % 256, rng.randrange(256))
            picture = Image.new("RGB", (WIDTH, HEIGHT), color)
            for _ in range(16):  # noise: two solid JPEGs of close colours can be the same bytes
                xy = (rng.randrange(WIDTH), rng.randrange(HEIGHT))
                picture.putpixel(xy, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
            picture.save(images_dir / name, quality=90)
            doc["images"].append({"id": n + 1, "file_name": name, "width": WIDTH, "height": HEIGHT})
            for _ in range(boxes):
                w, h = rng.randint(4, WIDTH // 2), rng.randint(4, HEIGHT // 2)
                x, y = rng.randint(0, WIDTH - w), rng.randint(0, HEIGHT - h)
                annotation_id += 1
                doc["annotations"].append(
                    {
                        "id": annotation_id,
                        "image_id": n + 1,
                        "category_id": rng.choice(CATEGORIES)[0],
                        "bbox": [x, y, w, h],
                        "area": w * h,
                        "iscrowd": 0,
                        "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
                    }
                )
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(json.dumps(doc), encoding="utf-8")
    return sources


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall-clock and user CPU seconds of one command (with the children it waited for).

    NOTE: the page cache is flushed (untimed) first: each step writes 10,000 files, and
    on this machine's disk the writeback of one step's files slowed the next step 2-5x
    (a step's own creation of files then spent seconds of system time), so that a step's
    time depended on which step ran before it."""
    os.sync()
    user_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    user = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - user_before
    if result.returncode != 0:
        sys.exit(f"failed: {shlex.join(command)}\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return elapsed, user


API_CONVERT = """
import sys, datumaro as dm
dm.Dataset.import_from(sys.argv[1], "coco_instances").export(
    sys.argv[2], "yolo_ultralytics", save_media=True)
"""


def datum_convert(venv: str, source: Path, out: Path) -> list[str]:
    """``datum convert``; when the venv lacks Datumaro's CLI extras (``datumaro[cli]``:
    tensorboardX, scipy, ...), the same two calls that command makes, through its API."""
    datum = Path(venv) / "bin" / "datum"
    probe = subprocess.run([str(datum), "--version"], capture_output=True, text=True)
    if probe.returncode == 0:
        command = [str(datum), "convert", "-i", str(source), "-if", "coco_instances"]
        return [*command, "-f", "yolo_ultralytics", "-o", str(out), "--", "--save-media"]
    return [str(Path(venv) / "bin" / "python"), "-c", API_CONVERT, str(source), str(out)]


def warm_up(ldb: list[str], coco: Path, work: Path, env: dict[str, str]) -> Path:
    """One untimed index + instantiate, so that ldb's bytecode cache is written; returns
    its scratch folder, deleted at the end."""
    scratch = Path(tempfile.mkdtemp(prefix="warm-up-", dir=work))
    env = {**env, "HOME": str(scratch), "LDB_DIR": str(scratch / "instance")}
    for command in (
        ["init", str(scratch / "instance")],
        ["add-storage", str(coco)],
        ["index", "-q", "-m", "coco", str(coco)],
        ["instantiate", "-q", "-m", "yolo", "ds:root", "-t", str(scratch / "out")],
    ):
        subprocess.run([*ldb, *command], env=env, check=True, capture_output=True)
    return scratch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--boxes", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ldb", default=f"{shlex.quote(sys.executable)} -m ldb_clone")
    default_venv = os.environ.get("LDB_DATUMARO_VENV") or str(
        Path.home() / ".cache" / "ldb-clone" / "datumaro-1.13.12"
    )
    parser.add_argument("--datumaro-venv", default=default_venv)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ldb = shlex.split(args.ldb)
    coco = args.work / "coco"
    make_data(coco, args.count, args.boxes)
    # bytecode as an installed package has it: a PYTHONDONTWRITEBYTECODE in the caller's
    # environment would make ldb compile every module of its own on every run (0.1-0.2 s)
    plain_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base_env = {**plain_env, "PYTHONPYCACHEPREFIX": str(args.work / "pycache")}
    warm_up_scratch = warm_up(ldb, coco, args.work, base_env)
    times: dict[str, list[float]] = {step: [] for step in STEPS}
    cpu: dict[str, list[float]] = {step: [] for step in STEPS}

    def record(step: str, *measured: tuple[float, float]) -> None:
        times[step].append(sum(wall for wall, _ in measured))
        cpu[step].append(sum(user for _, user in measured))

    # NOTE: nothing is deleted before the last run: on this machine's ext4 (no journal),
    # creating files right after deleting thousands is several times slower (see
    # README.md, "Instantiate"), and would slow whichever step came first after a delete
    scratches: list[Path] = [warm_up_scratch]
    for run in range(args.runs):
        scratch = Path(tempfile.mkdtemp(prefix=f"run{run}-", dir=args.work))
        env = {**base_env, "HOME": str(scratch), "LDB_DIR": str(scratch / "instance")}
        subprocess.run([*ldb, "init", str(scratch / "instance")], env=env, check=True,
                       capture_output=True)  # fmt: skip
        subprocess.run([*ldb, "add-storage", str(coco)], env=env, check=True, capture_output=True)
        index = timed([*ldb, "index", "-q", "-m", "coco", str(coco)], env)
        instantiate = [*ldb, "instantiate", "-q", "-m", "yolo", "ds:root", "-t"]
        record(STEPS[0], index, timed([*instantiate, str(scratch / "ldb-out")], env))
        datum = datum_convert(args.datumaro_venv, coco, scratch / "d")
        record(STEPS[1], timed(datum, plain_env))
        record(STEPS[2], timed([*instantiate, str(scratch / "ldb-out2")], env))
        floor = [sys.executable, str(HERE / "coco_yolo_floor.py"), str(coco)]
        record(STEPS[3], timed([*floor, str(scratch / "floor-out")]))
        scratches.append(scratch)
        print(f"run {run + 1}: " + ", ".join(f"{s} {t[-1]:.2f}s" for s, t in times.items()))
    for scratch in scratches:
        shutil.rmtree(scratch)
    medians = {step: statistics.median(values) for step, values in times.items()}
    cpu_medians = {step: statistics.median(values) for step, values in cpu.items()}
    ratios = {
        "ldb / datum (target <= 0.5)": medians[STEPS[0]] / medians[STEPS[1]],
        "instantiate / floor (target <= 1.3)": medians[STEPS[2]] / medians[STEPS[3]],
    }
    boxes = args.count * args.boxes
    print(f"\n{args.count} images, {boxes} boxes, COCO -> YOLO with images, medians of {args.runs}")
    print("| step | median (s) | runs (s) | user CPU median (s) | user CPU runs (s) |")
    print("| --- | --- | --- | --- | --- |")
    for step, values in times.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        cpu_runs = ", ".join(f"{v:.2f}" for v in cpu[step])
        print(f"| {step} | {medians[step]:.2f} | {runs} | {cpu_medians[step]:.2f} | {cpu_runs} |")
    for name, value in ratios.items():
        print(f"| {name} | {value:.2f}x | | | |")
    print(
        f"| by user CPU: ldb / datum | {cpu_medians[STEPS[0]] / cpu_medians[STEPS[1]]:.2f}x | |"
        f" instantiate / floor | {cpu_medians[STEPS[2]] / cpu_medians[STEPS[3]]:.2f}x |"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"times": times, "cpu": cpu, "medians": medians, "ratios": ratios})
        )


if __name__ == "__main__":
    main()
