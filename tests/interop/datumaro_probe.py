"""Run by the Datumaro venv's python (not the project's): what Datumaro makes of a
dataset, as one JSON line on stdout.

    python datumaro_probe.py count FORMAT PATH
        {"images": N, "boxes": N, "unlabelled_boxes": N, "labels": [...], "subsets": {...}}
    python datumaro_probe.py convert FORMAT PATH OUT_FORMAT OUT
        writes the dataset in OUT_FORMAT with its images (Datumaro's own output)
"""

from __future__ import annotations

import json
import sys


def count(fmt: str, path: str) -> dict:
    from datumaro.components.annotation import AnnotationType, Bbox
    from datumaro.components.dataset import Dataset

    dataset = Dataset.import_from(path, fmt)
    categories = dataset.categories().get(AnnotationType.label)
    names = [item.name for item in categories.items] if categories else []
    boxes = unlabelled = images = 0
    subsets: dict[str, int] = {}
    for item in dataset:
        images += 1
        subsets[item.subset] = subsets.get(item.subset, 0) + 1
        for annotation in item.annotations:
            if isinstance(annotation, Bbox):
                boxes += 1
                unlabelled += annotation.label is None
    return {
        "images": images,
        "boxes": boxes,
        "unlabelled_boxes": unlabelled,
        "labels": names,
        "subsets": subsets,
    }


def convert(fmt: str, path: str, out_format: str, out: str) -> dict:
    from datumaro.components.dataset import Dataset

    dataset = Dataset.import_from(path, fmt)
    dataset.export(out, out_format, save_media=True)
    return {"written": out}


def main() -> None:
    command, *args = sys.argv[1:]
    result = count(*args) if command == "count" else convert(*args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
