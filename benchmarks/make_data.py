#!/usr/bin/env python3
"""Generate deterministic benchmark data sets for ``ldb index``.

Usage::

    python benchmarks/make_data.py OUT_DIR --count N [--layouts strict,bare,infer,label-studio]

Each image is generated once (seeded per image, so the output does not depend on how the
work is split between processes) and written into every requested layout:

* ``strict/part-NNN/img-NNNNN.jpg`` + ``img-NNNNN.json`` (every image annotated)
* ``bare/part-NNN/img-NNNNN.jpg`` (about half of them with a ``.json`` annotation)
* ``infer/<class>/img-NNNNN.jpg`` (class folders, some nested; no annotations)
* ``label-studio/images/part-NNN/img-NNNNN.jpg`` + ``label-studio/annotations.json``
  (a Label Studio JSON export that references the images by absolute path)
"""

from __future__ import annotations

import argparse
import io
import json
import math
import multiprocessing
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

LAYOUTS = ("strict", "bare", "infer", "label-studio")
PART_SIZE = 1000  # at most this many images per part-NNN folder
IMAGE_SIZE = 128
JPEG_QUALITY = 85  # with the noise mix below, lands near 10 KB per image
NOISE_ALPHA = 0.42

# (top-level label, folder below infer/)
CLASSES: tuple[tuple[str, str], ...] = (
    ("cat", "cat/tabby"),
    ("cat", "cat/siamese"),
    ("dog", "dog"),
    ("dog", "dog/beagle"),
    ("bird", "bird"),
    ("horse", "horse"),
    ("fish", "fish/goldfish"),
)
SPLITS = ("train", "train", "train", "train", "valid", "test")
ANNOTATORS = ("alice", "bob", "carol", "dave", "erin", "frank")
CAMERAS = ("canon-eos-80d", "nikon-d750", "pixel-6", "iphone-13", "sony-a7iii")
LICENSES = ("CC-BY-4.0", "CC0-1.0", "CC-BY-SA-4.0", "proprietary")
WEATHER = ("sunny", "cloudy", "rain", "indoor", "night")


def image_rng(seed: int, index: int) -> random.Random:
    """RNG for image pixels of image ``index``."""
    return random.Random(f"ldb-bench-image-{seed}-{index}")


def meta_rng(seed: int, index: int) -> random.Random:
    """RNG for the annotation / class of image ``index``."""
    return random.Random(f"ldb-bench-meta-{seed}-{index}")


def stem(index: int) -> str:
    """File name stem of image ``index``."""
    return f"img-{index:05d}"


def part_dir(index: int) -> str:
    """Name of the part folder holding image ``index``."""
    return f"part-{index // PART_SIZE:03d}"


def make_jpeg(seed: int, index: int) -> bytes:
    """Return the bytes of a unique ~10 KB 128x128 JPEG for image ``index``."""
    rng = image_rng(seed, index)
    size = IMAGE_SIZE
    background = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    blotches = Image.frombytes("RGB", (32, 32), rng.randbytes(32 * 32 * 3))
    img = Image.blend(background, blotches.resize((size, size), Image.BILINEAR), 0.6)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 8)):
        x0, y0 = rng.randrange(size - 16), rng.randrange(size - 16)
        box = (x0, y0, x0 + rng.randint(8, 60), y0 + rng.randint(8, 60))
        color = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=color)
        else:
            draw.rectangle(box, fill=color)
    grain = Image.frombytes("L", (size, size), rng.randbytes(size * size))
    img = Image.blend(img, Image.merge("RGB", (grain, grain, grain)), NOISE_ALPHA)
    out = io.BytesIO()
    # The comment makes every image's bytes unique even if two happened to render alike.
    img.save(out, "JPEG", quality=JPEG_QUALITY, comment=f"ldb-bench {seed} {index}".encode())
    return out.getvalue()


def make_meta(seed: int, index: int) -> dict[str, Any]:
    """Draw class, annotation and bookkeeping values for image ``index``."""
    rng = meta_rng(seed, index)
    label, class_dir = rng.choice(CLASSES)
    boxes = []
    for _ in range(rng.randint(1, 3)):
        w, h = rng.randint(12, 96), rng.randint(12, 96)
        boxes.append(
            {
                "label": label if not boxes else rng.choice(CLASSES)[0],
                "x": rng.randint(0, IMAGE_SIZE - w),
                "y": rng.randint(0, IMAGE_SIZE - h),
                "w": w,
                "h": h,
                "score": round(rng.uniform(0.3, 1.0), 4),
            }
        )
    annotation = {
        "id": stem(index),
        "label": label,
        "split": rng.choice(SPLITS),
        "size": {"width": IMAGE_SIZE, "height": IMAGE_SIZE, "channels": 3},
        "boxes": boxes,
        "source": {
            "camera": rng.choice(CAMERAS),
            "license": rng.choice(LICENSES),
            "captured": f"20{rng.randint(15, 22)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
            "weather": rng.choice(WEATHER),
        },
        "annotator": rng.choice(ANNOTATORS),
        "reviewed": rng.random() < 0.7,
        "difficulty": rng.randint(1, 5),
    }
    return {
        "label": label,
        "class_dir": class_dir,
        "annotation": annotation,
        "bare_annotated": rng.random() < 0.5,
        "lead_time": round(rng.uniform(1.0, 30.0), 3),
        "annotator_id": rng.randint(1, 6),
    }


def write_chunk(args: tuple[str, int, int, int, tuple[str, ...]]) -> list[tuple[str, float, int]]:
    """Generate images ``start..stop-1`` and write them into every layout.

    Returns ``(label, lead_time, annotator_id)`` per image, for the Label Studio export.
    """
    out_dir, seed, start, stop, layouts = args
    out = Path(out_dir)
    made_dirs: set[Path] = set()

    def write(path: Path, data: bytes) -> None:
        if path.parent not in made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(path.parent)
        path.write_bytes(data)

    results = []
    for index in range(start, stop):
        jpeg = make_jpeg(seed, index)
        meta = make_meta(seed, index)
        annotation = json.dumps(meta["annotation"], indent=2).encode()
        name, part = stem(index), part_dir(index)
        if "strict" in layouts:
            write(out / "strict" / part / f"{name}.jpg", jpeg)
            write(out / "strict" / part / f"{name}.json", annotation)
        if "bare" in layouts:
            write(out / "bare" / part / f"{name}.jpg", jpeg)
            if meta["bare_annotated"]:
                write(out / "bare" / part / f"{name}.json", annotation)
        if "infer" in layouts:
            write(out / "infer" / meta["class_dir"] / f"{name}.jpg", jpeg)
        if "label-studio" in layouts:
            write(out / "label-studio" / "images" / part / f"{name}.jpg", jpeg)
        results.append((meta["label"], meta["lead_time"], meta["annotator_id"]))
    return results


def label_studio_task(out_dir: Path, index: int, label: str, lead_time: float, user: int) -> dict:
    """One task of a Label Studio JSON export for image ``index``."""
    image = out_dir / "label-studio" / "images" / part_dir(index) / f"{stem(index)}.jpg"
    stamp = f"2022-{index % 12 + 1:02d}-{index % 28 + 1:02d}T12:00:00.000000Z"
    return {
        "id": index + 1,
        "data": {"image": str(image)},
        "annotations": [
            {
                "id": index + 1,
                "completed_by": user,
                "result": [
                    {
                        "id": f"r{index:07x}",
                        "from_name": "class",
                        "to_name": "image",
                        "type": "choices",
                        "value": {"choices": [label]},
                        "origin": "manual",
                    }
                ],
                "was_cancelled": False,
                "ground_truth": False,
                "created_at": stamp,
                "updated_at": stamp,
                "lead_time": lead_time,
            }
        ],
        "predictions": [],
    }


def chunk_ranges(count: int) -> list[tuple[int, int]]:
    """Split ``range(count)`` into chunks that never straddle a part folder."""
    size = max(10, min(250, math.ceil(count / 100)))
    ranges = []
    for part_start in range(0, count, PART_SIZE):
        part_stop = min(part_start + PART_SIZE, count)
        ranges += [(s, min(s + size, part_stop)) for s in range(part_start, part_stop, size)]
    return ranges


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="output folder (created if missing)")
    parser.add_argument("--count", "-n", type=int, required=True, help="number of images")
    parser.add_argument(
        "--layouts",
        default=",".join(LAYOUTS),
        help=f"comma-separated subset of {','.join(LAYOUTS)} (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed (default: 0)")
    parser.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes (default: 2)"
    )
    parser.add_argument("--force", action="store_true", help="delete existing layout folders first")
    args = parser.parse_args(argv)
    layouts = tuple(x.strip() for x in args.layouts.split(",") if x.strip())
    unknown = sorted(set(layouts) - set(LAYOUTS))
    if unknown or not layouts:
        parser.error(f"unknown layouts {unknown}; choose from {','.join(LAYOUTS)}")
    if args.count < 1:
        parser.error("--count must be at least 1")
    args.layouts = layouts
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    out_dir: Path = args.out_dir.resolve()
    for layout in args.layouts:
        target = out_dir / layout
        if target.exists() and any(target.iterdir()):
            if not args.force:
                print(f"error: {target} is not empty (use --force to replace it)", file=sys.stderr)
                return 2
            shutil.rmtree(target)
    out_dir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    tasks = [(str(out_dir), args.seed, s, e, args.layouts) for s, e in chunk_ranges(args.count)]
    results: dict[int, list[tuple[str, float, int]]] = {}
    done, next_report = 0, 10
    with multiprocessing.Pool(max(1, args.workers)) as pool:
        for task, chunk in zip(tasks, pool.imap(write_chunk, tasks), strict=True):
            results[task[2]] = chunk
            done += len(chunk)
            while next_report <= 100 and done * 100 >= next_report * args.count:
                elapsed = time.perf_counter() - started
                print(f"{next_report:3d}% ({done}/{args.count} images) {elapsed:.1f}s", flush=True)
                next_report += 10

    if "label-studio" in args.layouts:
        tasks_json = [
            label_studio_task(out_dir, start + offset, *item)
            for start, chunk in sorted(results.items())
            for offset, item in enumerate(chunk)
        ]
        export = out_dir / "label-studio" / "annotations.json"
        export.write_text(json.dumps(tasks_json, indent=1))

    files = total_bytes = 0
    for layout in args.layouts:
        for root, _dirs, names in os.walk(out_dir / layout):
            files += len(names)
            total_bytes += sum(os.path.getsize(os.path.join(root, n)) for n in names)
    elapsed = time.perf_counter() - started
    print(
        f"wrote {args.count} images x {len(args.layouts)} layouts ({','.join(args.layouts)}) "
        f"to {out_dir}: {files} files, {total_bytes / 1e6:.1f} MB in {elapsed:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
