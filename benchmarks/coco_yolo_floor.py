#!/usr/bin/env python3
"""The floor for COCO -> YOLO with images: read the COCO files, write the label files,
copy the images. Usage: ``python3 coco_yolo_floor.py COCO_DIR OUT``, where COCO_DIR holds
``annotations/instances_<split>.json`` and ``images/<split>/`` (the standard layout)."""

import glob
import json
import os
import shutil
import sys

source, out = sys.argv[1:3]
names: dict[int, str] = {}
for path in sorted(glob.glob(f"{source}/annotations/instances_*.json")):
    split = os.path.basename(path)[len("instances_") : -len(".json")]
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    names.update((c["id"], c["name"]) for c in doc["categories"])
    class_of = {cid: n for n, cid in enumerate(sorted(c["id"] for c in doc["categories"]))}
    lines: dict[int, list[str]] = {image["id"]: [] for image in doc["images"]}
    sizes = {image["id"]: (image["width"], image["height"]) for image in doc["images"]}
    for a in doc["annotations"]:
        (width, height), (x, y, w, h) = sizes[a["image_id"]], a["bbox"]
        lines[a["image_id"]].append(
            f"{class_of[a['category_id']]} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f}"
            f" {w / width:.6f} {h / height:.6f}\n"
        )
    os.makedirs(f"{out}/images/{split}")
    os.makedirs(f"{out}/labels/{split}")
    for image in doc["images"]:
        name = image["file_name"]
        shutil.copyfile(f"{source}/images/{split}/{name}", f"{out}/images/{split}/{name}")
        with open(f"{out}/labels/{split}/{os.path.splitext(name)[0]}.txt", "w") as f:
            f.writelines(lines[image["id"]])
listed = "".join(f"  {n}: {names[cid]}\n" for n, cid in enumerate(sorted(names)))
with open(f"{out}/data.yaml", "w") as f:
    f.write(f"path: .\ntrain: images/train\nval: images/val\nnames:\n{listed}")
