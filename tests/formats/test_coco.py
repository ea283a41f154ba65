"""coco: a COCO detection/segmentation file and its images, indexed and written back."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ldb_clone.errors import FormatError, LdbError
from ldb_clone.formats import get_format
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from tests.conftest import write_json
from tests.helpers import by_path, current, current_in_fresh_instance, oid_of, run_index

CATEGORIES = [
    {"id": 17, "name": "cat", "supercategory": "animal"},
    {"id": 18, "name": "dog", "supercategory": "animal"},
    {"id": 44, "name": "bottle", "supercategory": "kitchen"},
]
POLYGON = [[10.0, 10.0, 40.0, 10.0, 40.0, 30.0]]
RLE = {"counts": "a1b2", "size": [48, 64]}


def coco_doc() -> dict[str, Any]:
    """Three images: two boxes (one with a polygon), one crowd box (RLE), none."""
    return copy.deepcopy(
        {
            "info": {"description": "pets", "version": "1.0", "year": 2026},
            "licenses": [{"id": 1, "name": "CC-BY", "url": "https://example.org/by"}],
            "images": [
                {"id": 1, "file_name": "a.png", "width": 64, "height": 48, "license": 1},
                {"id": 2, "file_name": "b.png", "width": 32, "height": 32, "date_captured": "x"},
                {"id": 5, "file_name": "c.png", "width": 16, "height": 16},
            ],
            "annotations": [
                {
                    "id": 1,
                    "image_id": 1,
                    "category_id": 17,
                    "bbox": [10.0, 10.0, 30.0, 20.0],
                    "area": 300.0,
                    "iscrowd": 0,
                    "segmentation": POLYGON,
                },
                {"id": 2, "image_id": 1, "category_id": 18, "bbox": [1, 2, 3.5, 4], "area": 14},
                {
                    "id": 7,
                    "image_id": 2,
                    "category_id": 44,
                    "bbox": [0, 0, 32, 16],
                    "area": 400,
                    "iscrowd": 1,
                    "segmentation": RLE,
                },
            ],
            "categories": CATEGORIES,
        }
    )


SIZES = {"a.png": (64, 48), "b.png": (32, 32), "c.png": (16, 16)}
SINGLE = {"layout": "single-file"}


def written_doc(doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """``doc`` as ldb writes it: what COCO tools need filled in (``iscrowd`` 0, the box as
    ``segmentation`` polygon, ``info`` and ``licenses``)."""
    doc = coco_doc() if doc is None else copy.deepcopy(doc)
    for annotation in doc["annotations"]:
        x, y, w, h = annotation["bbox"]
        annotation.setdefault("iscrowd", 0)
        annotation.setdefault("segmentation", [[x, y, x + w, y, x + w, y + h, x, y + h]])
    doc.setdefault("info", {"description": "Written by ldb"})
    doc.setdefault("licenses", [])
    return doc


def write_coco(folder: Path, doc: dict[str, Any] | None = None, images: str = "images") -> Path:
    """The COCO file in ``folder`` and real images of the recorded sizes in ``images``."""
    doc = coco_doc() if doc is None else doc
    for image in doc["images"]:
        width, height = SIZES.get(image["file_name"], (16, 16))
        path = folder / images / image["file_name"] if images else folder / image["file_name"]
        write_png(path, width, height)
    return write_json(folder / "annotations.json", doc)


_seed = iter(range(1000, 10**6))


def write_png(path: Path, width: int, height: int) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    n = next(_seed)
    Image.new("RGB", (width, height), (n % 256, n // 256 % 256, 7)).save(path)
    return path


def root(instance):
    return select_members(instance, ["ds:root"])


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def index_coco(instance, *paths, **kwargs):
    return run_index(instance, *paths, fmt="coco", **kwargs)


# indexing ---------------------------------------------------------------------------------


def test_every_image_becomes_an_object_with_its_boxes(instance, data_dir):
    coco = write_coco(data_dir / "pets")

    result, reporter = index_coco(instance, coco)

    assert result.finished
    assert (result.found_objects, result.new_annotations) == (3, 3)
    assert reporter.warnings == []
    images = data_dir / "pets" / "images"
    values = by_path(instance)
    assert values[str(images / "a.png")] == {
        "size": {"width": 64, "height": 48},
        "boxes": [
            {
                "label": "cat",
                "x": 10.0,
                "y": 10.0,
                "w": 30.0,
                "h": 20.0,
                "coco": {
                    "id": 1,
                    "category_id": 17,
                    "area": 300.0,
                    "iscrowd": 0,
                    "segmentation": POLYGON,
                },
            },
            {
                "label": "dog",
                "x": 1,
                "y": 2,
                "w": 3.5,
                "h": 4,
                "coco": {"id": 2, "category_id": 18, "area": 14},
            },
        ],
        "coco": {
            "image": coco_doc()["images"][0],
            "categories": CATEGORIES,
            "licenses": coco_doc()["licenses"],
            "info": coco_doc()["info"],
        },
    }
    assert values[str(images / "b.png")]["boxes"][0]["coco"]["segmentation"] == RLE
    empty = values[str(images / "c.png")]
    assert (empty["boxes"], empty["coco"]["categories"]) == ([], CATEGORIES)
    assert "licenses" not in empty["coco"]


def test_the_folder_the_file_beside_its_images_and_the_images_parameter(
    instance, data_dir, tmp_path
):
    # the folder holding the COCO file: the file is found in it
    write_coco(data_dir / "one")
    assert index_coco(instance, data_dir / "one")[0].found_objects == 3
    # images beside the COCO file (file_name relative to its folder)
    doc = coco_doc()
    for n, image in enumerate(doc["images"]):
        image["file_name"] = f"pics/{n}.png"
    write_coco(data_dir / "two", doc, images="")
    assert index_coco(instance, data_dir / "two" / "annotations.json")[0].found_objects == 3
    # -p images=DIR, relative to the working directory
    doc = coco_doc()
    write_coco(data_dir / "three", doc, images="../elsewhere")
    (data_dir / "three" / "annotations.json").rename(data_dir / "three" / "instances.json")
    result, _ = index_coco(
        instance,
        data_dir / "three" / "instances.json",
        params={"images": str((data_dir / "elsewhere").relative_to(tmp_path))},
    )
    assert result.found_objects == 3


def test_other_json_files_in_the_folder_are_counted(instance, data_dir):
    write_coco(data_dir / "pets")
    write_json(data_dir / "pets" / "notes.json", {"not": "coco"})

    _, reporter = index_coco(instance, data_dir / "pets")

    assert reporter.warnings == [
        "1 JSON files that are not COCO instances files were not read (first: "
        f"{data_dir / 'pets' / 'notes.json'})"
    ]


def test_not_coco(instance, data_dir, make_json, make_image):
    make_image(data_dir / "x" / "a.png")
    with pytest.raises(FormatError, match=r"No COCO annotation file .* in .*x"):
        index_coco(instance, data_dir / "x")
    make_json(data_dir / "x" / "a.json", [{"data": {}}])
    with pytest.raises(FormatError, match=r"Not a COCO annotation file: .*a\.json"):
        index_coco(instance, data_dir / "x" / "a.json")


def test_a_missing_image_is_an_error_naming_it(instance, data_dir):
    coco = write_coco(data_dir / "pets")
    (data_dir / "pets" / "images" / "b.png").unlink()
    (data_dir / "pets" / "images" / "c.png").unlink()

    with pytest.raises(
        LdbError,
        match=r"Image not found: b\.png \(images\[1\] of .*annotations\.json; looked for b\.png "
        r"or images/b\.png\) \(1 more missing\)",
    ):
        index_coco(instance, coco)
    assert current(instance) == {}


def change(path: str, value: Any):
    def apply(doc):
        *keys, last = path.split(".")
        target = doc
        for key in keys:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value

    return apply


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (change("annotations.0.bbox", [1, 2, 3]), r"at annotations\[0\]\.bbox: .*too short"),
        (change("annotations.1.iscrowd", 2), r"at annotations\[1\]\.iscrowd: 2 is not one of"),
        (change("images.0.file_name", 5), r"at images\[0\]\.file_name: expected string, got an"),
        (change("categories.0.name", None), r"at categories\[0\]\.name: expected string, got null"),
        (
            change("annotations.2.segmentation", "x"),
            r"at annotations\[2\]\.segmentation: 'x' is not",
        ),
        (change("annotations.2.image_id", 9), r"at annotations\[2\]\.image_id: no image with id 9"),
        (change("annotations.0.category_id", 1), r"at annotations\[0\]\.category_id: no category"),
        (change("images.2.id", 1), r"at images\[2\]\.id: 1 is also the id of images\[0\]"),
        (change("categories.1.id", 17), r"at categories\[1\]\.id: 17 is also the id of categ"),
        (change("images.2.file_name", "a.png"), r"at images\[2\]\.file_name: 'a.png' is also"),
    ],
)
def test_invalid_files_are_one_line_errors(instance, data_dir, edit, message):
    doc = coco_doc()
    write_coco(data_dir / "pets")
    edit(doc)
    coco = write_json(data_dir / "pets" / "annotations.json", doc)

    with pytest.raises(
        FormatError, match=r"Invalid COCO annotation file .*annotations\.json " + message
    ):
        index_coco(instance, coco)


def test_a_valid_file_is_checked_without_the_schema_validator(instance, data_dir, monkeypatch):
    """The hand-written check answers for valid files (several times faster); the schema
    validator only explains invalid ones (the cases above)."""
    from ldb_clone.formats.coco import codec as coco

    def not_needed(*args):
        raise AssertionError("schema validator used for a valid file")

    monkeypatch.setattr(coco, "schema_validator", not_needed)
    index_coco(instance, write_coco(data_dir / "pets"))
    assert len(current(instance)) == len(coco_doc()["images"])


def test_cli_errors_have_no_traceback(ldb, instance, data_dir):
    doc = coco_doc()
    doc["annotations"][0]["bbox"] = "x"
    write_coco(data_dir / "pets", doc)

    result = ldb("index", "-m", "coco", str(data_dir / "pets"))

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: Invalid COCO annotation file ")
    assert "at annotations[0].bbox: expected array, got a string" in result.stderr


# instantiating ----------------------------------------------------------------------------


def test_round_trip_gives_the_same_file_and_annotations(instance, data_dir, tmp_path):
    write_coco(data_dir / "pets")
    index_coco(instance, data_dir / "pets")
    out = tmp_path / "out"
    reporter = Reporter()

    result = instantiate(instance, root(instance), str(out), "coco", SINGLE, reporter=reporter)

    assert (result.data_objects, result.annotations) == (3, 3)
    assert reporter.warnings == []
    assert sorted(p.name for p in (out / "images").iterdir()) == ["a.png", "b.png", "c.png"]
    assert read(out / "annotations.json") == written_doc()
    expected = current(instance)
    a_png = oid_of(instance, data_dir / "pets" / "images" / "a.png")
    # the dog box got what COCO tools need
    expected[a_png][0]["boxes"][1]["coco"].update(
        iscrowd=0, segmentation=[[1, 2, 4.5, 2, 4.5, 6, 1, 6]]
    )
    assert current_in_fresh_instance(tmp_path / "second", out, "coco") == expected


def test_categories_no_selected_box_uses_keep_their_ids(instance, data_dir, tmp_path):
    """The whole category list of the source is written, also for a subset (issue 12.1)."""
    doc = coco_doc()
    doc["categories"].append({"id": 90, "name": "toothbrush"})
    write_coco(data_dir / "pets", doc)
    index_coco(instance, data_dir / "pets")
    without_cats = [
        m
        for m in root(instance)
        if m.object_id != oid_of(instance, data_dir / "pets" / "images" / "a.png")
    ]

    instantiate(instance, without_cats, str(tmp_path / "out"), "coco", SINGLE)

    written = read(tmp_path / "out" / "annotations.json")
    assert written["categories"] == doc["categories"]
    assert [a["category_id"] for a in written["annotations"]] == [44]


def pairs(data_dir: Path, annotations: dict[str, Any], size: tuple[int, int] = (64, 48)):
    for rel, annotation in annotations.items():
        write_png(data_dir / rel, *size)
        if annotation is not None:
            write_json((data_dir / rel).with_suffix(".json"), annotation)


def test_from_plain_annotations(instance, data_dir, tmp_path):
    """Categories numbered from 1 by name, sizes from the annotation or read by Pillow,
    the classification label counted as lost, same file names renamed."""
    pairs(
        data_dir,
        {
            "p/x/cat-1.png": {
                "label": "cat",
                "size": {"width": 64, "height": 48},
                "boxes": [{"label": "cat", "x": 1, "y": 2, "w": 3, "h": 4, "confidence": 0.5}],
            },
            "p/y/cat-1.png": {"boxes": [{"label": "dog", "x": 5, "y": 6, "w": 7, "h": 8}]},
            "p/z/bird.png": None,
            "p/z/odd.png": {"label": "parrot"},
            "p/z/list.png": ["x"],
        },
    )
    run_index(instance, data_dir / "p", fmt="bare")
    reporter = Reporter()

    instantiate(instance, root(instance), str(tmp_path / "out"), "coco", SINGLE, reporter=reporter)

    doc = read(tmp_path / "out" / "annotations.json")
    x_id = oid_of(instance, data_dir / "p" / "x" / "cat-1.png")
    y_id = oid_of(instance, data_dir / "p" / "y" / "cat-1.png")
    second = max(x_id, y_id)
    assert [i["file_name"] for i in doc["images"]] == [
        "bird.png",
        "cat-1.png",
        f"cat-1-{second}.png",
        "list.png",
        "odd.png",
    ]
    assert all((i["width"], i["height"]) == (64, 48) for i in doc["images"])
    assert [i["id"] for i in doc["images"]] == [1, 2, 3, 4, 5]
    assert doc["categories"] == [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
    boxes = {
        (a["category_id"], tuple(a["bbox"]), a["area"], a["iscrowd"]) for a in doc["annotations"]
    }
    assert boxes == {(1, (1, 2, 3, 4), 12, 0), (2, (5, 6, 7, 8), 56, 0)}
    assert [a.get("score") for a in doc["annotations"] if a["category_id"] == 1] == [0.5]
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == sorted(
        i["file_name"] for i in doc["images"]
    )
    assert reporter.warnings == [
        "1 images had the same file name as another one and were written as <name>-<id><ext>",
        "1 annotations with no label or boxes that the shape readers know could not be "
        "converted and were left out",
        "2 classification labels (COCO holds boxes: see -m infer or platform) could not be "
        "converted and were left out",
    ]


def test_clashing_category_ids_are_renumbered_by_name(instance, data_dir, tmp_path):
    first = coco_doc()
    write_coco(data_dir / "one", first)
    second = coco_doc()
    for image in second["images"]:
        image["file_name"] = "2-" + image["file_name"]
    second["categories"][0]["id"] = 18  # cat is 18 here, dog is 18 in the other
    second["categories"][1]["id"] = 17
    second["annotations"][0]["category_id"] = 18
    second["annotations"][1]["category_id"] = 17
    write_coco(data_dir / "two", second)
    index_coco(instance, data_dir / "one", data_dir / "two")
    reporter = Reporter()

    instantiate(instance, root(instance), str(tmp_path / "out"), "coco", SINGLE, reporter=reporter)

    doc = read(tmp_path / "out" / "annotations.json")
    assert [(c["id"], c["name"], c["supercategory"]) for c in doc["categories"]] == [
        (1, "bottle", "kitchen"),
        (2, "cat", "animal"),
        (3, "dog", "animal"),
    ]
    names = {c["id"]: c["name"] for c in doc["categories"]}
    by_image = {i["id"]: i["file_name"] for i in doc["images"]}
    labels = sorted((by_image[a["image_id"]], names[a["category_id"]]) for a in doc["annotations"])
    assert labels == [
        ("2-a.png", "cat"),
        ("2-a.png", "dog"),
        ("2-b.png", "bottle"),
        ("a.png", "cat"),
        ("a.png", "dog"),
        ("b.png", "bottle"),
    ]
    assert (
        "Class ids of the selected annotations' sources disagree; classes numbered by name "
        "(fix the list with -p classes=a,b,c)" in reporter.warnings
    )
    # images and annotation ids taken twice get new ones
    assert sorted(i["id"] for i in doc["images"]) == [1, 2, 5, 6, 7, 8]
    assert sorted(a["id"] for a in doc["annotations"]) == [1, 2, 7, 8, 9, 10]
    assert (
        "3 images had an id below 1, not a number or the same as another one, and got new ids"
        in reporter.warnings
    )


def test_unsafe_file_names_are_never_written_outside(instance, data_dir, tmp_path):
    doc = coco_doc()
    write_coco(data_dir / "pets", doc)
    index_coco(instance, data_dir / "pets")
    for name in ("../../evil.png", "/etc/evil.png", "a/../../evil.png"):
        doc["images"][0]["file_name"] = name
        # the record says so; the object is still images/a.png
        record = {"boxes": [], "coco": {"image": doc["images"][0]}}
        write_json(
            data_dir / "rec" / "a.json",
            {
                "annotation": record,
                "data-object-info": {"path": str(data_dir / "pets" / "images" / "a.png")},
            },
        )
        run_index(instance, data_dir / "rec", fmt="annot")
        out = tmp_path / f"out-{len(name)}"
        instantiate(instance, root(instance), str(out), "coco", SINGLE)
        written = read(out / "annotations.json")
        assert "a.png" in [i["file_name"] for i in written["images"]]
        assert not (tmp_path / "evil.png").exists() and not (out.parent / "evil.png").exists()


def test_annotations_only(instance, data_dir, tmp_path):
    write_coco(data_dir / "pets")
    index_coco(instance, data_dir / "pets")

    result = instantiate(
        instance, root(instance), str(tmp_path / "out"), "coco", annotations_only=True
    )

    assert result.data_objects == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["annotations"]
    assert [p.name for p in (tmp_path / "out" / "annotations").iterdir()] == [
        "instances_default.json"
    ]


def test_a_size_nobody_knows_is_null(instance, data_dir, tmp_path):
    (data_dir / "t").mkdir()
    (data_dir / "t" / "notes.txt").write_text("not an image")
    write_json(
        data_dir / "t" / "notes.json", {"boxes": [{"label": "x", "x": 1, "y": 1, "w": 1, "h": 1}]}
    )
    run_index(instance, data_dir / "t", fmt="strict")
    reporter = Reporter()

    instantiate(instance, root(instance), str(tmp_path / "out"), "coco", SINGLE, reporter=reporter)

    (image,) = read(tmp_path / "out" / "annotations.json")["images"]
    assert (image["width"], image["height"]) == (None, None)
    assert reporter.warnings == [
        "1 image sizes (not recorded, and not readable by Pillow: width and height null) could "
        "not be converted and were left out"
    ]


def test_cli_index_and_instantiate(ldb, instance, data_dir, tmp_path):
    write_coco(data_dir / "pets")

    indexed = ldb("index", "-m", "coco", str(data_dir / "pets"))
    written = ldb("instantiate", "-m", "coco", "-t", str(tmp_path / "out"), "ds:root")
    single = ldb(
        "instantiate", "-m", "coco", "-p", "layout=single-file", "-t", str(tmp_path / "one"),
        "ds:root",
    )  # fmt: skip

    assert indexed.returncode == 0, indexed.stderr
    assert "Data format: coco" in indexed.stdout
    assert written.returncode == 0, written.stderr
    out = tmp_path / "out"
    assert read(out / "annotations" / "instances_default.json") == written_doc()
    assert sorted(p.name for p in (out / "images" / "default").iterdir()) == [
        "a.png", "b.png", "c.png",
    ]  # fmt: skip
    assert single.returncode == 0, single.stderr
    assert read(tmp_path / "one" / "annotations.json") == written_doc()


def test_registered():
    assert set(get_format("coco").params) == {
        "images", "layout", "classes", "classes-file", "split", "seed",
    }  # fmt: skip


def test_segmentations_into_yolo_are_counted(instance, data_dir, tmp_path):
    write_coco(data_dir / "pets")
    index_coco(instance, data_dir / "pets")
    reporter = Reporter()

    instantiate(instance, root(instance), str(tmp_path / "out"), "yolo", reporter=reporter)

    assert reporter.warnings == [
        "No split: data.yaml's val is the training images (split them with "
        "-p split=train:0.8,val:0.2)",
        "2 COCO segmentations (polygons or masks: only their boxes convert) could not be "
        "converted and were left out",
    ]
    # bottle, category 44, is the third category in id order (cat 17, dog 18)
    assert (tmp_path / "out" / "labels" / "b.txt").read_text() == "2 0.5 0.25 1 0.5\n"
