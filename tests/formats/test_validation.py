"""formats.validation: the compiled fast check agrees with jsonschema on every document."""

from __future__ import annotations

import copy
import json
import random
from importlib.resources import files
from typing import Any

import jsonschema
import pytest

from ldb_clone.errors import FormatError
from ldb_clone.formats.validation import Validator, compile_schema

VALUES: list[Any] = [None, True, False, 0, -1, 1.0, 1.5, 2, "", "x", [], [1, 2, 3, 4], {}, {"a": 1}]


def schema(name: str) -> dict[str, Any]:
    path = files("ldb_clone.formats").joinpath(f"schemas/{name}.schema.json")
    return json.loads(path.read_text("utf-8"))


def sample_annotations() -> dict[str, Any]:
    return {
        "format_version": "1.0",
        "task_type": "image_classification",
        "version": 2,
        "content_hash": "sha256:0",
        "classes": [{"id": 0, "name": "cat", "color": "#fff"}],
        "images": [
            {
                "id": 1,
                "file_name": "a.png",
                "width": 4,
                "height": 3,
                "split": "train",
                "annotation": {"class_id": 0, "class_name": "cat", "confidence": 1.0},
                "metadata": {"status": "labeled", "labeled_by": "u", "labeled_at": "t"},
            },
            {"id": 2, "file_name": "b.png", "annotation": None, "metadata": {}},
        ],
        "statistics": {"total_images": 2, "labeled_images": 1, "labeling_progress": 0.5},
    }


def sample_detection() -> dict[str, Any]:
    doc = sample_annotations()
    doc["task_type"] = "object_detection"
    for image in doc["images"]:
        del image["annotation"]
        image["annotations"] = [{"class_id": 0, "bbox": [1, 2, 3, 4]}]
    return doc


def sample_meta() -> dict[str, Any]:
    return {
        "dataset_id": "d",
        "version": 1,
        "content_hash": "sha256:0",
        "statistics": {"total_images": 2, "num_classes": 1, "labeling_progress": 0.5},
        "task_type": "image_classification",
    }


def sample_coco() -> dict[str, Any]:
    box = [1, 2, 3, 4]
    return {
        "info": {"description": "d"},
        "licenses": [],
        "images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 3}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 3, "bbox": box, "area": 12, "iscrowd": 0,
             "segmentation": [[1, 2, 4, 2, 4, 6, 1, 6]]},
            {"id": 2, "image_id": 1, "category_id": 3, "bbox": [0.5, 1, 2, 2.5],
             "segmentation": {"counts": "abc", "size": [3, 4]}},
        ],
        "categories": [{"id": 3, "name": "car", "supercategory": None}],
    }  # fmt: skip


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``value`` (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found += paths(sub, (*prefix, index))
    return found


def mutated(doc: Any, rng: random.Random) -> Any:
    """A copy with one value replaced, one key removed, or one key added."""
    doc = copy.deepcopy(doc)
    path = rng.choice(paths(doc)[1:])
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    action = rng.random()
    if action < 0.2 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action < 0.3 and isinstance(parent, dict):
        parent["extra"] = rng.choice(VALUES)
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(VALUES))
    return doc


@pytest.mark.parametrize(
    ("name", "sample"),
    [
        ("platform.annotations", sample_annotations),
        ("platform.annotations", sample_detection),
        ("platform.meta", sample_meta),
        ("coco", sample_coco),
    ],
)
def test_the_fast_check_agrees_with_jsonschema(name, sample):
    spec = schema(name)
    fast = compile_schema(spec)
    full = jsonschema.Draft202012Validator(spec)
    assert fast is not None
    rng = random.Random(1234)
    doc = sample()
    assert fast(doc) and full.is_valid(doc)
    verdicts = set()
    for _ in range(1500):
        # NOTE: mutations pile up (with restarts), so documents with several problems occur
        doc = mutated(doc if rng.random() < 0.7 else sample(), rng)
        verdict = fast(doc)
        assert verdict == full.is_valid(doc), json.dumps(doc)
        verdicts.add(verdict)
    assert verdicts == {True, False}


IF_THEN_ELSE = {"if": {"type": "string"}, "then": {"minLength": 1}, "else": {"type": "null"}}
CLOSED = {"properties": {"a": {}}, "additionalProperties": {"type": "string"}}
RECURSIVE = {"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"}


@pytest.mark.parametrize(
    ("spec", "valid", "invalid"),
    [
        ({"type": "integer"}, [1, 1.0, -3], [True, 1.5, "1", None]),
        ({"type": ["number", "null"]}, [1, 2.5, None], [False, "x"]),
        ({"enum": [1, "a"]}, [1, 1.0, "a"], [True, "b"]),
        ({"const": False}, [False], [0, None]),
        ({"minLength": 2}, ["ab", 5], ["a"]),
        ({"anyOf": [{"type": "string"}, {"minimum": 3}]}, ["x", 3, None], [2]),
        (IF_THEN_ELSE, ["a", None], ["", 1]),
        (CLOSED, [{"a": 1}, {"a": 1, "b": "x"}, 7], [{"a": 1, "c": 2}]),
        ({"dependentRequired": {"a": ["b"]}}, [{}, {"b": 1}, {"a": 1, "b": 2}], [{"a": 1}]),
        (RECURSIVE, [[], [[[]]]], [[1]]),
        ({"items": {"type": "number"}}, [[], [1, 2.5], "x"], [[1, True], [None], [[1]]]),
    ],
)  # fmt: skip
def test_keywords(spec, valid, invalid):
    fast = compile_schema(spec)
    full = jsonschema.Draft202012Validator(spec)
    for value in valid:
        assert fast(value) and full.is_valid(value), value
    for value in invalid:
        assert not fast(value) and not full.is_valid(value), value


def test_other_keywords_fall_back_to_jsonschema():
    spec = {"type": "object", "patternProperties": {"^x": {"type": "integer"}}}
    assert compile_schema(spec) is None
    validator = Validator(spec, "test file")

    validator.check({"x1": 1}, "f.json")
    with pytest.raises(
        FormatError, match=r"^Invalid test file f\.json at x1: expected integer, got a string"
    ):
        validator.check({"x1": "a"}, "f.json")


# start-up: jsonschema is imported only to explain an invalid document ---------------------

_CHECK_VALID_COCO = """
import sys
from ldb_clone.formats.validation import schema_validator
doc = {"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 3}],
       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]}],
       "categories": [{"id": 1, "name": "cat"}]}
schema_validator("coco", "COCO annotation file").check(doc, "a.json")
print("jsonschema" in sys.modules)
"""


@pytest.mark.process
def test_a_valid_document_is_checked_without_importing_jsonschema():
    """Importing jsonschema costs about 0.1 s of every ``ldb index -m coco``."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _CHECK_VALID_COCO], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_an_invalid_document_still_names_its_problem_after_the_lazy_import():
    validator = Validator(schema("coco"), "COCO annotation file")
    with pytest.raises(FormatError, match=r"^Invalid COCO annotation file a\.json at images"):
        validator.check({"images": 3, "annotations": [], "categories": []}, "a.json")


# the hand-written COCO check agrees with jsonschema ---------------------------------------


def test_the_hand_written_coco_check_agrees_with_jsonschema():
    from ldb_clone.formats.coco.check import is_valid_coco

    full = jsonschema.Draft202012Validator(schema("coco"))
    rng = random.Random(4321)
    doc = sample_coco()
    assert is_valid_coco(doc) and full.is_valid(doc)
    verdicts = set()
    for _ in range(3000):
        doc = mutated(doc if rng.random() < 0.7 else sample_coco(), rng)
        verdict = is_valid_coco(doc)
        assert verdict == full.is_valid(doc), json.dumps(doc)
        verdicts.add(verdict)
    assert verdicts == {True, False}
    for value in (None, [], "x", {"images": [], "annotations": []}):
        assert is_valid_coco(value) == full.is_valid(value)
