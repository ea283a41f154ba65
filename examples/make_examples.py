#!/usr/bin/env python3
"""Generate the bundled example dataset in this folder (deterministic).

The generated files are committed, so users never need to run this. To rebuild:

    python examples/make_examples.py

Every image is a small 64x64 PNG drawing made with Pillow. Drawing helpers return the
bounding box of what they drew, so the boxes written into the annotations match the pixels.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZE = 64
OUTPUT_DIRS = ("strict-pairs", "class-folders", "label-studio", "annotation-only", "platform")

Box = tuple[int, int, int, int]  # x, y, w, h
Color = tuple[int, int, int]


def _box(x0: float, y0: float, x1: float, y1: float) -> Box:
    x0, y0 = max(0, round(x0)), max(0, round(y0))
    x1, y1 = min(SIZE, round(x1)), min(SIZE, round(y1))
    return (x0, y0, x1 - x0, y1 - y0)


def draw_cat(d: ImageDraw.ImageDraw, cx: int, cy: int, r: int, fur: Color, eye: Color) -> Box:
    ear = r * 0.9
    d.polygon(
        [(cx - r, cy - r * 0.2), (cx - r * 0.75, cy - r - ear * 0.5), (cx - r * 0.2, cy - r)],
        fill=fur,
    )
    d.polygon(
        [(cx + r, cy - r * 0.2), (cx + r * 0.75, cy - r - ear * 0.5), (cx + r * 0.2, cy - r)],
        fill=fur,
    )
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fur)
    e = max(1, r // 5)
    for sx in (-1, 1):
        ex = cx + sx * r * 0.4
        d.ellipse([ex - e, cy - r * 0.3 - e, ex + e, cy - r * 0.3 + e], fill=eye)
    d.polygon(
        [(cx - e, cy + r * 0.1), (cx + e, cy + r * 0.1), (cx, cy + r * 0.1 + e)],
        fill=(230, 120, 140),
    )
    for dy in (-2, 2):
        d.line(
            [(cx - r * 1.1, cy + r * 0.25 + dy), (cx - r * 0.3, cy + r * 0.25)], fill=(40, 40, 40)
        )
        d.line(
            [(cx + r * 0.3, cy + r * 0.25), (cx + r * 1.1, cy + r * 0.25 + dy)], fill=(40, 40, 40)
        )
    return _box(cx - r * 1.1, cy - r - ear * 0.5, cx + r * 1.1, cy + r)


def draw_dog(d: ImageDraw.ImageDraw, cx: int, cy: int, r: int, fur: Color, ears: Color) -> Box:
    d.ellipse([cx - r * 1.3, cy - r * 0.7, cx - r * 0.6, cy + r * 0.6], fill=ears)
    d.ellipse([cx + r * 0.6, cy - r * 0.7, cx + r * 1.3, cy + r * 0.6], fill=ears)
    d.rounded_rectangle([cx - r * 0.8, cy - r, cx + r * 0.8, cy + r], radius=r // 2, fill=fur)
    d.ellipse([cx - r * 0.5, cy + r * 0.1, cx + r * 0.5, cy + r * 0.9], fill=(235, 225, 210))
    e = max(1, r // 6)
    for sx in (-1, 1):
        ex = cx + sx * r * 0.35
        d.ellipse([ex - e, cy - r * 0.35 - e, ex + e, cy - r * 0.35 + e], fill=(20, 20, 20))
    d.ellipse([cx - e * 1.5, cy + r * 0.2, cx + e * 1.5, cy + r * 0.2 + e * 2], fill=(20, 20, 20))
    d.line([(cx, cy + r * 0.45), (cx, cy + r * 0.65)], fill=(20, 20, 20))
    return _box(cx - r * 1.3, cy - r, cx + r * 1.3, cy + r)


def draw_bird(
    d: ImageDraw.ImageDraw,
    cx: int,
    cy: int,
    r: int,
    body: Color,
    wing: Color,
    tail: Color | None = None,
) -> Box:
    left = cx - r * 1.2
    if tail is not None:  # long parrot tail
        d.polygon(
            [(cx - r * 0.6, cy), (cx - r * 1.9, cy + r * 0.9), (cx - r * 1.5, cy + r * 1.2)],
            fill=tail,
        )
        left = cx - r * 1.9
    else:
        d.polygon(
            [(cx - r * 0.7, cy), (cx - r * 1.2, cy - r * 0.4), (cx - r * 1.2, cy + r * 0.4)],
            fill=wing,
        )
    d.line(
        [(cx - r * 0.2, cy + r * 0.5), (cx - r * 0.3, cy + r * 1.2)], fill=(200, 140, 0), width=2
    )
    d.line(
        [(cx + r * 0.2, cy + r * 0.5), (cx + r * 0.3, cy + r * 1.2)], fill=(200, 140, 0), width=2
    )
    d.ellipse([cx - r, cy - r * 0.6, cx + r * 0.8, cy + r * 0.7], fill=body)
    hx, hy, hr = cx + r * 0.7, cy - r * 0.6, r * 0.5
    d.ellipse([hx - hr, hy - hr, hx + hr, hy + hr], fill=body)
    d.polygon(
        [
            (hx + hr * 0.8, hy - hr * 0.3),
            (hx + hr * 1.9, hy + hr * 0.1),
            (hx + hr * 0.8, hy + hr * 0.5),
        ],
        fill=(250, 170, 20),
    )
    d.ellipse([hx, hy - 2, hx + 3, hy + 1], fill=(10, 10, 10))
    d.ellipse([cx - r * 0.6, cy - r * 0.2, cx + r * 0.3, cy + r * 0.45], fill=wing)
    top = hy - hr
    return _box(left, top, hx + hr * 1.9, cy + r * 1.2)


def draw_parrot(
    d: ImageDraw.ImageDraw, cx: int, cy: int, r: int, body: Color, wing: Color, tail: Color
) -> Box:
    return draw_bird(d, cx, cy, r, body, wing, tail)


DRAWERS: dict[str, Callable[..., Box]] = {
    "cat": draw_cat,
    "dog": draw_dog,
    "bird": draw_bird,
    "parrot": draw_parrot,
}


def render(
    background: Color, ground: Color | None, shapes: list[tuple[str, tuple[Any, ...]]]
) -> tuple[bytes, list[dict[str, Any]]]:
    """Draw ``shapes`` (kind, args) on a 64x64 canvas; return PNG bytes and labelled boxes."""
    img = Image.new("RGB", (SIZE, SIZE), background)
    d = ImageDraw.Draw(img)
    if ground is not None:
        d.rectangle([0, SIZE * 3 // 4, SIZE, SIZE], fill=ground)
    boxes = []
    for kind, args in shapes:
        x, y, w, h = DRAWERS[kind](d, *args)
        boxes.append({"label": kind, "x": x, "y": y, "w": w, "h": h})
    # A palette image keeps the files at a few hundred bytes to a couple of KB.
    img = img.quantize(colors=32, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue(), boxes


# name -> (background, ground, shapes)
IMAGES: dict[str, tuple[Color, Color | None, list[tuple[str, tuple[Any, ...]]]]] = {
    # platform: a classification dataset, two images labelled, two not yet
    "cat-10": ((250, 240, 200), None, [("cat", (32, 34, 15, (120, 120, 120), (90, 200, 90)))]),
    "dog-10": ((210, 240, 210), None, [("dog", (32, 32, 14, (150, 100, 60), (80, 50, 30)))]),
    "cat-11": ((230, 210, 250), None, [("cat", (30, 36, 14, (250, 250, 250), (200, 80, 80)))]),
    "bird-10": ((200, 230, 255), None, [("bird", (32, 30, 12, (240, 200, 40), (200, 120, 20)))]),
    # strict-pairs, annotated
    "cat-1": (
        (200, 230, 250),
        (120, 190, 90),
        [("cat", (30, 36, 15, (240, 150, 50), (60, 160, 60)))],
    ),
    "cat-2": (
        (250, 240, 200),
        None,
        [
            ("cat", (18, 40, 11, (130, 130, 140), (220, 200, 40))),
            ("cat", (46, 26, 11, (40, 40, 45), (90, 200, 90))),
        ],
    ),
    "cat-3": ((60, 90, 180), None, [("cat", (34, 34, 18, (245, 245, 245), (70, 120, 220)))]),
    "cat-4": (
        (230, 200, 230),
        (150, 110, 80),
        [("cat", (40, 38, 13, (160, 100, 60), (50, 50, 50)))],
    ),
    "dog-1": (
        (210, 240, 210),
        (110, 170, 80),
        [("dog", (32, 34, 16, (180, 120, 60), (90, 55, 30)))],
    ),
    "dog-2": (
        (220, 220, 255),
        (120, 180, 100),
        [
            ("dog", (22, 36, 12, (200, 200, 210), (70, 70, 80))),
            ("cat", (48, 42, 9, (240, 150, 50), (60, 60, 200))),
        ],
    ),
    "bird-1": ((170, 220, 255), None, [("bird", (30, 32, 13, (60, 110, 220), (30, 60, 160)))]),
    "bird-2": (
        (255, 230, 210),
        None,
        [
            ("bird", (20, 22, 8, (200, 40, 40), (120, 20, 20))),
            ("bird", (42, 44, 9, (240, 210, 40), (160, 130, 20))),
        ],
    ),
    # strict-pairs, no annotation (also found in class-folders)
    "cat-5": (
        (250, 250, 230),
        (170, 200, 120),
        [("cat", (28, 34, 14, (90, 90, 90), (240, 200, 0)))],
    ),
    "dog-3": ((240, 220, 200), None, [("dog", (34, 30, 15, (245, 245, 240), (30, 30, 30)))]),
    # class-folders only
    "cat-6": ((180, 250, 220), None, [("cat", (32, 30, 16, (250, 200, 120), (40, 90, 40)))]),
    "cat-7": ((40, 40, 70), None, [("cat", (24, 38, 13, (20, 20, 25), (250, 230, 60)))]),
    "dog-4": (
        (250, 250, 250),
        (200, 170, 120),
        [("dog", (30, 34, 14, (120, 70, 30), (60, 35, 15)))],
    ),
    "parrot-1": (
        (200, 250, 200),
        None,
        [("parrot", (36, 28, 12, (40, 180, 60), (220, 40, 40), (40, 80, 220)))],
    ),
    "parrot-2": (
        (250, 250, 210),
        None,
        [("parrot", (38, 30, 12, (230, 40, 40), (40, 80, 220), (250, 200, 0)))],
    ),
    "parrot-3": (
        (210, 230, 250),
        (140, 100, 60),
        [("parrot", (40, 26, 11, (250, 200, 30), (40, 160, 200), (30, 140, 60)))],
    ),
    # label-studio
    "cat-9": ((255, 220, 220), None, [("cat", (26, 38, 14, (200, 160, 110), (40, 140, 200)))]),
    "dog-9": (
        (220, 255, 250),
        (90, 160, 90),
        [("dog", (36, 32, 14, (230, 200, 150), (180, 120, 60)))],
    ),
    "bird-9": ((235, 235, 235), None, [("bird", (28, 30, 12, (90, 60, 40), (60, 40, 25)))]),
    "parrot-9": (
        (30, 90, 60),
        None,
        [("parrot", (38, 32, 13, (30, 100, 230), (250, 200, 0), (230, 40, 40)))],
    ),
}

# Annotations for the annotated strict-pairs images: name -> (subfolder, extra fields).
STRICT_PAIRS: dict[str, tuple[str, dict[str, Any]]] = {
    "cat-1": ("", {"split": "train", "reviewed": True}),
    "cat-2": ("", {"split": "train", "reviewed": True}),
    "cat-3": ("", {"split": "val", "reviewed": False}),
    "dog-1": ("", {"breed": "beagle", "split": "train", "reviewed": True}),
    "dog-2": ("", {"breed": "husky", "split": "val", "reviewed": True}),
    "bird-1": ("", {"split": "train", "reviewed": False}),
    "cat-4": ("more", {"split": "val", "reviewed": True, "occluded": True}),
    "bird-2": ("more", {"split": "train", "reviewed": True, "source": "field-trip-3"}),
}
STRICT_UNANNOTATED = ("cat-5", "dog-3")
CLASS_FOLDERS = {
    "cat": ("cat-5", "cat-6", "cat-7"),
    "dog": ("dog-3", "dog-4"),
    "bird/parrot": ("parrot-1", "parrot-2", "parrot-3"),
}
LABEL_STUDIO = ("cat-9", "dog-9", "bird-9", "parrot-9")


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def ls_timestamp(minute: int) -> str:
    return f"2026-11-01T10:{minute:02d}:00.000000Z"


def ls_result(kind: str, box: dict[str, Any], idx: int, label: str) -> list[dict[str, Any]]:
    """Label Studio result list: one choice plus one rectangle (percent coordinates)."""
    return [
        {
            "id": f"c{idx}",
            "from_name": "class",
            "to_name": "image",
            "type": "choices",
            "origin": "manual",
            "value": {"choices": [kind]},
        },
        {
            "id": f"r{idx}",
            "from_name": "bbox",
            "to_name": "image",
            "type": "rectanglelabels",
            "origin": "manual",
            "original_width": SIZE,
            "original_height": SIZE,
            "image_rotation": 0,
            "value": {
                "x": round(box["x"] * 100 / SIZE, 2),
                "y": round(box["y"] * 100 / SIZE, 2),
                "width": round(box["w"] * 100 / SIZE, 2),
                "height": round(box["h"] * 100 / SIZE, 2),
                "rotation": 0,
                "rectanglelabels": [label],
            },
        },
    ]


def ls_annotation(
    ann_id: int, task_id: int, user: int, minute: int, lead: float, result: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": ann_id,
        "completed_by": user,
        "result": result,
        "was_cancelled": False,
        "ground_truth": False,
        "created_at": ls_timestamp(minute),
        "updated_at": ls_timestamp(minute),
        "draft_created_at": None,
        "lead_time": lead,
        "prediction": {},
        "result_count": 0,
        "unique_id": f"00000000-0000-4000-8000-{ann_id:012d}",
        "import_id": None,
        "last_action": None,
        "bulk_created": False,
        "task": task_id,
        "project": 1,
        "updated_by": user,
        "parent_prediction": None,
        "parent_annotation": None,
        "last_created_by": None,
    }


def main() -> None:
    for name in OUTPUT_DIRS:
        shutil.rmtree(HERE / name, ignore_errors=True)

    rendered = {name: render(*spec) for name, spec in IMAGES.items()}
    digests = {hashlib.md5(png).hexdigest() for png, _ in rendered.values()}
    assert len(digests) == len(rendered), "every drawing must be unique"

    # strict-pairs: image + sibling JSON with the same stem
    sp = HERE / "strict-pairs"
    for name, (sub, extra) in STRICT_PAIRS.items():
        png, boxes = rendered[name]
        kind = name.split("-")[0]
        annot: dict[str, Any] = {"label": kind}
        if "breed" in extra:
            annot["breed"] = extra["breed"]
        annot["size"] = {"width": SIZE, "height": SIZE}
        annot["boxes"] = boxes
        annot.update({k: v for k, v in extra.items() if k != "breed"})
        write_bytes(sp / sub / f"{name}.png", png)
        write_json(sp / sub / f"{name}.json", annot)
    for name in STRICT_UNANNOTATED:
        write_bytes(sp / f"{name}.png", rendered[name][0])

    # class-folders: label comes from the folder path (tensorflow-inferred)
    for folder, names in CLASS_FOLDERS.items():
        for name in names:
            write_bytes(HERE / "class-folders" / folder / f"{name}.png", rendered[name][0])

    # label-studio: images/ plus a JSON export with paths relative to the export file
    ls_dir = HERE / "label-studio"
    tasks = []
    for i, name in enumerate(LABEL_STUDIO, start=1):
        png, boxes = rendered[name]
        write_bytes(ls_dir / "images" / f"{name}.png", png)
        kind = name.split("-")[0]
        choice = "bird" if kind == "parrot" else kind
        result = ls_result(choice, boxes[0], i, kind)
        annotations = [ls_annotation(i, i, 1, 2 * i, round(2.5 + 1.1 * i, 1), result)]
        predictions: list[Any] = []
        if name == "dog-9":
            predictions = [1]  # Label Studio 1.23 exports prediction ids only
        elif name == "bird-9":
            predictions = [
                {
                    "id": 2,
                    "model_version": "m1",
                    "created_ago": "0\u00a0minutes",
                    "score": 0.9,
                    "result": ls_result(choice, boxes[0], 100 + i, kind),
                    "cluster": None,
                    "neighbors": None,
                    "mislabeling": 0.0,
                    "created_at": ls_timestamp(1),
                    "updated_at": ls_timestamp(1),
                    "model": None,
                    "model_run": None,
                    "task": i,
                    "project": 1,
                }
            ]
        elif name == "parrot-9":  # a second annotator disagreed on the class
            other = ls_result("parrot", boxes[0], 50 + i, kind)
            annotations.append(ls_annotation(10 + i, i, 2, 2 * i + 1, 7.4, other))
        tasks.append(
            {
                "id": i,
                "data": {"image": f"images/{name}.png"},
                "annotations": annotations,
                "drafts": [],
                "predictions": predictions,
                "meta": {},
                "created_at": ls_timestamp(0),
                "updated_at": ls_timestamp(2 * i),
                "inner_id": i,
                "total_annotations": len(annotations),
                "cancelled_annotations": 0,
                "total_predictions": len(predictions),
                "comment_count": 0,
                "unresolved_comment_count": 0,
                "last_comment_updated_at": None,
                "project": 1,
                "updated_by": 1,
                "comment_authors": [],
            }
        )
    write_json(ls_dir / "annotations.json", tasks)

    # annotation-only: new annotations for objects already in strict-pairs
    ao = HERE / "annotation-only"
    write_json(
        ao / "cat-1.json",
        {
            "annotation": {"label": "cat", "reviewed": False, "note": "relabelled"},
            "data-object-info": {"path": "../strict-pairs/cat-1.png"},
        },
    )
    bird2 = rendered["bird-2"]
    write_json(
        ao / "bird-2.json",
        {
            "annotation": {
                "label": "bird",
                "size": {"width": SIZE, "height": SIZE},
                "boxes": bird2[1],
                "split": "test",
                "reviewed": True,
                "note": "moved to test split",
            },
            "data-object-info": {
                "md5": hashlib.md5(bird2[0]).hexdigest(),
                "path": "../strict-pairs/more/bird-2.png",
            },
        },
    )

    write_platform(rendered)


PLATFORM = [("cat-10", "cat"), ("dog-10", "dog"), ("cat-11", None), ("bird-10", None)]
PLATFORM_CLASSES = [
    {"id": 0, "name": "cat", "color": "#FF6B6B"},
    {"id": 1, "name": "dog", "color": "#4ECDC4"},
]


def write_platform(rendered: dict[str, tuple[bytes, Any]]) -> None:
    """platform/: a classification dataset as the seed describes it, half labelled."""
    folder = HERE / "platform"
    images = []
    for n, (name, label) in enumerate(PLATFORM, start=1):
        write_bytes(folder / "images" / f"{name}.png", rendered[name][0])
        entry: dict[str, Any] = {
            "id": n,
            "file_name": f"{name}.png",
            "width": SIZE,
            "height": SIZE,
            "split": "train",
            "annotation": None,
            "metadata": {"status": "unlabeled", "uploaded_at": "2025-01-20T10:00:00Z"},
        }
        if label is not None:
            cls = next(c for c in PLATFORM_CLASSES if c["name"] == label)
            entry["annotation"] = {"class_id": cls["id"], "class_name": label, "confidence": 1.0}
            entry["metadata"] = {
                "labeled_by": "user123",
                "labeled_at": f"2025-01-20T10:1{n}:00Z",
                "status": "labeled",
                "uploaded_at": "2025-01-20T10:00:00Z",
            }
        images.append(entry)
    labelled = sum(1 for e in images if e["annotation"] is not None)
    statistics = {
        "total_images": len(images),
        "labeled_images": labelled,
        "unlabeled_images": len(images) - labelled,
        "labeling_progress": labelled / len(images),
    }
    doc: dict[str, Any] = {
        "format_version": "1.0",
        "dataset_id": "example-pets",
        "task_type": "image_classification",
        "created_at": "2025-01-20T10:00:00Z",
        "last_modified_at": "2025-01-20T10:12:00Z",
        "version": 2,
        "classes": PLATFORM_CLASSES,
        "splits": {"train": len(images)},
        "images": images,
        "statistics": statistics,
    }
    # sha256 over the canonical JSON (sorted keys, compact) of the document without the hash
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    doc["content_hash"] = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    write_json(folder / "annotations.json", doc)
    meta = {
        "dataset_id": doc["dataset_id"],
        "version": doc["version"],
        "content_hash": doc["content_hash"],
        "last_modified_at": doc["last_modified_at"],
        "statistics": {
            **{k: v for k, v in statistics.items() if k != "labeling_progress"},
            "num_classes": len(PLATFORM_CLASSES),
        },
        "format_version": "1.0",
        "task_type": doc["task_type"],
    }
    write_json(folder / "meta.json", meta)


if __name__ == "__main__":
    main()
