"""A small indexed selection for ``ldb stats`` and ``ldb view``: five images with labels
and boxes (strict pairs), one Korean text document with entities and a relation (text),
and one image without an annotation (bare)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ldb_clone.instance import Instance
from tests.conftest import write_image
from tests.formats.test_text import at, entity, ranged, relation, write_pair
from tests.helpers import run_index

KOREAN = "삼성전자 이재용 회장이 서울 강남구 본사에서 실적을 발표했다."
# (label, boxes) of each image; sizes differ so that boxes are drawn in image pixels
IMAGES = [
    ("cat", [("cat", 2, 3, 20, 10)]),
    ("cat", [("cat", 1, 1, 8, 8), ("dog", 10, 10, 12, 6)]),
    ("dog", [("dog", 0, 0, 16, 16)]),
    ("dog", []),
    ("bird", [("bird", 4, 4, 4, 4), ("bird", 8, 8, 4, 4), ("cat", 0, 0, 2, 2)]),
]


@dataclass
class Sample:
    images: Path
    texts: Path
    extra: Path  # an image without an annotation
    image_ids: list[str]


def korean_document() -> dict[str, Any]:
    return {
        "extra": {"text_1": {"originalText": KOREAN, "language": "ko"}},
        "annotations": {"text_1": [entity("k1", "ORG"), entity("k2", "PER"), entity("k3", "LOC")]},
        "annotationsData": {
            "text_1": [
                ranged("k1", KOREAN, "삼성전자"),
                ranged("k2", KOREAN, "이재용"),
                ranged("k3", KOREAN, "서울 강남구"),
            ]
        },
        "relations": {"text_1": [relation("k2", "k1", "affiliation")]},
        "annotationGroups": {"text_1": []},
    }


def korean_spans() -> dict[str, tuple[int, int]]:
    return {
        t: at(KOREAN, part)
        for t, part in (("ORG", "삼성전자"), ("PER", "이재용"), ("LOC", "서울 강남구"))
    }


def write_images(folder: Path) -> None:
    for n, (label, boxes) in enumerate(IMAGES):
        write_image(folder / f"img{n}.png", seed=500 + n, size=32 + 8 * n)
        annotation = {
            "label": label,
            "split": "train" if n < 3 else "val",
            "boxes": [dict(zip(("label", "x", "y", "w", "h"), box)) for box in boxes],
        }
        (folder / f"img{n}.json").write_text(json.dumps(annotation), encoding="utf-8")


@pytest.fixture
def sample(instance: Instance, data_dir: Path) -> Sample:
    images, texts, extra = data_dir / "images", data_dir / "texts", data_dir / "extra"
    images.mkdir()
    write_images(images)
    write_pair(texts, "news", KOREAN, korean_document())
    write_image(extra / "lonely.png", seed=900)
    run_index(instance, images, fmt="strict")
    run_index(instance, texts, fmt="text")
    run_index(instance, extra, fmt="bare")
    from tests.helpers import oid_of

    ids = [oid_of(instance, images / f"img{n}.png") for n in range(len(IMAGES))]
    return Sample(images, texts, extra, ids)
