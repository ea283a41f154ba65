"""platform: a labelling platform's dataset folder (annotations.json, meta.json, images/)."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ldb_clone.errors import FormatError, LdbError, NotInStorageError
from ldb_clone.formats.platform.codec import content_hash
from ldb_clone.indexing import MEMORY_PREFIX
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.views import status_of
from tests.conftest import write_image
from tests.helpers import catalog_sql, current, ldb_in, oid_of, run_index

CAT = {"id": 0, "name": "cat", "color": "#FF6B6B"}
DOG = {"id": 1, "name": "dog", "color": "#4ECDC4"}
UPLOADED = "2025-01-20T10:00:00Z"


def image_entry(n: int, size: tuple[int, int] = (16, 16), **extra: Any) -> dict[str, Any]:
    return {
        "id": n,
        "file_name": f"img{n:03d}.png",
        "width": size[0],
        "height": size[1],
        "split": "train",
        "annotation": None,
        "metadata": {"status": "unlabeled", "uploaded_at": UPLOADED},
        **extra,
    }


def label(entry: dict[str, Any], cls: dict[str, Any], when: str = "2025-01-21T10:00:00Z"):
    """What a labelling tool does to an entry: set the annotation and the status."""
    entry["annotation"] = {"class_id": cls["id"], "class_name": cls["name"], "confidence": 1.0}
    entry["metadata"].update(status="labeled", labeled_by="user123", labeled_at=when)


def box(cls: dict[str, Any], x: int = 1) -> dict[str, Any]:
    return {"class_id": cls["id"], "class_name": cls["name"], "bbox": [x, 2, 3, 4]}


def document(images: list[dict[str, Any]], task_type: str = "image_classification", **extra):
    doc = {
        "format_version": "1.0",
        "dataset_id": "user123-cats-dogs",
        "task_type": task_type,
        "created_at": UPLOADED,
        "version": 1,
        "classes": [CAT, DOG],
        "images": images,
        **extra,
    }
    doc = copy.deepcopy(doc)  # never share CAT and DOG with a test that changes them
    doc["content_hash"] = content_hash(doc)
    return doc


def write_dataset(
    folder: Path, doc: dict[str, Any], meta: bool = True, seed: int | None = None
) -> dict[str, Any]:
    """Images (real PNGs) for every entry, annotations.json, and meta.json mirroring it."""
    for n, entry in enumerate(doc["images"]):
        path = folder / "images" / entry["file_name"]
        if not path.exists():
            write_image(path, seed=None if seed is None else seed + n)
    write_doc(folder, doc, meta)
    return doc


def write_doc(folder: Path, doc: dict[str, Any], meta: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "annotations.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    if meta:
        meta_doc = {"dataset_id": doc.get("dataset_id"), "version": doc.get("version", 1)}
        meta_doc["content_hash"] = doc.get("content_hash") or content_hash(doc)
        (folder / "meta.json").write_text(json.dumps(meta_doc), encoding="utf-8")


def index_platform(instance, *paths, **kwargs):
    return run_index(instance, *paths, fmt="platform", **kwargs)


def root(instance):
    return select_members(instance, ["ds:root"])


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def cats(data_dir: Path) -> dict[str, Any]:
    """A classification dataset of 4 images, the first one labelled cat, one dog."""
    images = [image_entry(n) for n in range(1, 5)]
    label(images[0], CAT)
    label(images[2], DOG)
    doc = document(images)
    return write_dataset(data_dir / "cats", doc)


# indexing ---------------------------------------------------------------------------------


def test_every_image_is_indexed_with_its_entry(instance, data_dir, cats):
    result, reporter = index_platform(instance, data_dir / "cats")

    assert result.finished and result.format == "platform"
    assert (result.found_objects, result.found_annotations, result.new_annotations) == (4, 4, 4)
    assert reporter.warnings == []
    by_file = {ann["file_name"]: (ann, version) for ann, version in current(instance).values()}
    first, version = by_file["img001.png"]
    assert version == 1
    assert first == {**cats["images"][0], "task_type": "image_classification", "classes": [CAT]}
    assert by_file["img002.png"][0] == {
        **cats["images"][1],
        "task_type": "image_classification",
        "classes": [],
    }
    assert by_file["img003.png"][0]["classes"] == [DOG]
    oid = oid_of(instance, data_dir / "cats" / "images" / "img001.png")
    assert current(instance)[oid][0]["file_name"] == "img001.png"


def test_the_annotations_file_itself_and_the_alias(instance, data_dir, cats):
    result, _ = run_index(instance, data_dir / "cats" / "annotations.json", fmt="platform-dataset")

    assert result.format == "platform"
    assert (result.found_objects, result.new_annotations) == (4, 4)
    assert len(root(instance)) == 4


def test_unlabelled_images_count_in_status(instance, data_dir, cats):
    index_platform(instance, data_dir / "cats")

    status = status_of("ds:root", root(instance), instance)

    assert (status.num_objects, status.num_annotations) == (4, 4)
    assert (status.labelled, status.unlabelled, status.progress) == (2, 2, 50.0)
    # without the instance (no SQL), every annotation counts as labelled, as before
    assert status_of("ds:root", root(instance)).labelled == 4


def test_detection_dataset(instance, data_dir, tmp_path):
    images = [image_entry(n) for n in range(1, 4)]
    for entry in images:
        del entry["annotation"]
        entry["annotations"] = []
    images[0]["annotations"] = [box(CAT), box(DOG, 5), box(CAT, 9)]
    doc = write_dataset(data_dir / "street", document(images, "object_detection"))

    result, reporter = index_platform(instance, data_dir / "street")

    assert (result.found_objects, result.new_annotations) == (3, 3)
    assert reporter.warnings == []
    values = {ann["file_name"]: ann for ann, _ in current(instance).values()}
    assert values["img001.png"]["classes"] == [CAT, DOG]
    assert values["img002.png"]["annotations"] == []
    status = status_of("ds:root", root(instance), instance)
    assert (status.labelled, status.unlabelled) == (1, 2)

    target = tmp_path / "out"
    instantiate(instance, root(instance), str(target), "platform", reporter=Reporter())
    written = read(target / "annotations.json")
    assert written["task_type"] == "object_detection"
    assert written["statistics"] == {
        "total_images": 3,
        "labeled_images": 1,
        "unlabeled_images": 2,
        "labeling_progress": 1 / 3,
        "total_annotations": 3,
    }
    assert written["images"] == doc["images"]
    assert written["classes"] == [CAT, DOG]


def test_a_missing_image_is_an_error_naming_it(instance, data_dir, cats):
    (data_dir / "cats" / "images" / "img003.png").unlink()

    with pytest.raises(LdbError, match=r"Image not found: .*/cats/images/img003\.png"):
        index_platform(instance, data_dir / "cats")
    assert root(instance) == []


def test_a_file_name_must_stay_below_images(instance, data_dir, cats):
    cats["images"][1]["file_name"] = "../escape.png"
    write_doc(data_dir / "cats", cats)

    with pytest.raises(FormatError, match=r"Invalid file_name '\.\./escape\.png'"):
        index_platform(instance, data_dir / "cats")


def test_an_image_linked_out_of_storage_is_refused(instance, data_dir, cats, tmp_path):
    """annotations.json given alone: its file names are resolved, symlinks included."""
    secret = write_image(tmp_path / "secret" / "shadow.png")
    image = data_dir / "cats" / "images" / "img002.png"
    image.unlink()
    image.symlink_to(secret)

    with pytest.raises(NotInStorageError, match=r"img002\.png.* resolves to .*shadow\.png"):
        index_platform(instance, data_dir / "cats" / "annotations.json")
    assert root(instance) == []


def test_a_folder_without_annotations_json(instance, data_dir, make_image):
    make_image(data_dir / "x" / "images" / "a.png")

    with pytest.raises(FormatError, match=r"No annotations\.json in"):
        index_platform(instance, data_dir / "x")


def test_unlisted_images_are_reported(instance, data_dir, cats, make_image):
    make_image(data_dir / "cats" / "images" / "extra.png")
    make_image(data_dir / "cats" / "masks" / "img001.png")

    result, reporter = index_platform(instance, data_dir / "cats")

    assert result.found_objects == 4
    assert reporter.warnings == [
        f"1 files in {data_dir}/cats/images/ are not listed in annotations.json and were "
        "not indexed"
    ]


def test_stale_hash_and_statistics_are_warnings(instance, data_dir, cats):
    cats["statistics"] = {
        "total_images": 4,
        "labeled_images": 0,
        "unlabeled_images": 4,
        "labeling_progress": 0.5,
    }
    cats["content_hash"] = "sha256:abc123"
    write_doc(data_dir / "cats", cats)

    result, reporter = index_platform(instance, data_dir / "cats")

    assert result.finished and result.found_objects == 4
    url = f"{data_dir}/cats/annotations.json"
    hash_warning, meta_warning, stats_warning = reporter.warnings
    assert hash_warning.startswith(f"{url}: content_hash sha256:abc123 does not match")
    assert meta_warning.startswith(f"{data_dir}/cats/meta.json: content_hash sha256:abc123")
    assert stats_warning == (
        f"{url}: statistics do not match its images: statistics.labeled_images is 0, "
        "counted 2, statistics.unlabeled_images is 4, counted 2"
    )


# meta.json: the content-hash fast path -------------------------------------------------------


def test_unchanged_meta_skips_annotations_json(instance, data_dir, cats):
    folder = data_dir / "cats"
    index_platform(instance, folder)
    # proof that it is not read: it is no longer even JSON
    (folder / "annotations.json").write_text("{not json", encoding="utf-8")

    result, reporter = index_platform(instance, folder)

    assert result.finished and result.found_objects == 0
    skipped = [line for line in reporter.lines if line.startswith("Skipped")]
    assert skipped == [
        f"Skipped {folder}/annotations.json: the content hash in meta.json is unchanged since "
        "it was last indexed"
    ]
    with pytest.raises(FormatError, match="Unable to read annotation file"):
        index_platform(instance, folder, params={"reread": "true"})


def test_a_changed_hash_reads_annotations_json_again(instance, data_dir, cats):
    folder = data_dir / "cats"
    index_platform(instance, folder)
    label(cats["images"][1], DOG)
    cats["version"] = 2
    cats["content_hash"] = content_hash(cats)
    write_doc(folder, cats)

    result, reporter = index_platform(instance, folder)

    assert not any(line.startswith("Skipped") for line in reporter.lines)
    assert (result.found_objects, result.new_annotations) == (4, 1)
    assert status_of("ds:root", root(instance), instance).labelled == 3


def test_no_meta_json_always_reads(instance, data_dir, cats):
    (data_dir / "cats" / "meta.json").unlink()
    index_platform(instance, data_dir / "cats")

    result, _ = index_platform(instance, data_dir / "cats")

    assert result.found_objects == 4
    keys = catalog_sql(
        instance.catalog, "SELECT count(*) FROM settings WHERE key LIKE ?", (MEMORY_PREFIX + "%",)
    )
    assert keys == [(0,)]


def test_a_failed_run_remembers_nothing(instance, data_dir, cats, make_image):
    broken = copy.deepcopy(cats)
    write_dataset(data_dir / "broken", broken)
    (data_dir / "broken" / "images" / "img004.png").unlink()

    with pytest.raises(LdbError, match="Image not found"):
        index_platform(instance, data_dir / "cats", data_dir / "broken")

    result, reporter = index_platform(instance, data_dir / "cats")
    assert result.found_objects == 4
    assert not any(line.startswith("Skipped") for line in reporter.lines)


# validation -----------------------------------------------------------------------------------


def bad_file_name(doc, meta):
    doc["images"][1]["file_name"] = 5


def bad_task_type(doc, meta):
    doc["task_type"] = "segmentation"


def no_annotation_key(doc, meta):
    del doc["images"][2]["annotation"]


def bad_class_id(doc, meta):
    doc["classes"][0]["id"] = "zero"


def bad_meta_version(doc, meta):
    meta["version"] = "3"


def bad_meta_statistics(doc, meta):
    meta["statistics"] = {"total_images": -1}


@pytest.mark.parametrize(
    ("change", "file_name", "path"),
    [
        (bad_file_name, "annotations.json", "images[1].file_name"),
        (bad_task_type, "annotations.json", "task_type"),
        (no_annotation_key, "annotations.json", "images[2]"),
        (bad_class_id, "annotations.json", "classes[0].id"),
        (bad_meta_version, "meta.json", "version"),
        (bad_meta_statistics, "meta.json", "statistics.total_images"),
    ],
)
def test_schema_errors_are_one_line(instance, data_dir, cats, ldb, change, file_name, path):
    folder = data_dir / "cats"
    ldb("index", "-m", "platform", str(folder), check=True)
    meta = read(folder / "meta.json")
    meta["content_hash"] = "sha256:changed"  # so annotations.json is read
    change(cats, meta)
    write_doc(folder, cats, meta=False)
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

    proc = ldb("index", "-m", "platform", str(folder))

    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: Invalid platform ")
    assert f"{folder}/{file_name} at {path}: " in lines[0]
    assert len(root(instance)) == 4  # nothing indexed before is lost


def test_malformed_json_is_one_line(instance, data_dir, cats, ldb):
    (data_dir / "cats" / "meta.json").write_text("{oops", encoding="utf-8")

    proc = ldb("index", "-m", "platform", str(data_dir / "cats"))

    assert proc.returncode == 1
    assert proc.stderr.startswith(
        f"error: Unable to read annotation file: {data_dir}/cats/meta.json"
    )
    assert len(proc.stderr.splitlines()) == 1


# instantiating ----------------------------------------------------------------------------------


def test_instantiate_writes_the_dataset_back(instance, data_dir, cats, tmp_path):
    index_platform(instance, data_dir / "cats")
    target = tmp_path / "out"

    result = instantiate(
        instance, root(instance), str(target), "platform", dataset=("cats", 3), reporter=Reporter()
    )

    assert (result.data_objects, result.annotations) == (4, 4)
    assert sorted(p.name for p in (target / "images").iterdir()) == [
        "img001.png",
        "img002.png",
        "img003.png",
        "img004.png",
    ]
    for entry in cats["images"]:
        name = entry["file_name"]
        assert (target / "images" / name).read_bytes() == (
            data_dir / "cats" / "images" / name
        ).read_bytes()
    doc = read(target / "annotations.json")
    assert doc["images"] == cats["images"]
    assert doc["classes"] == [CAT, DOG]
    assert (doc["dataset_id"], doc["version"], doc["format_version"]) == ("cats", 3, "1.0")
    assert (doc["created_at"], doc["last_modified_at"]) == (UPLOADED, "2025-01-21T10:00:00Z")
    assert doc["statistics"] == {
        "total_images": 4,
        "labeled_images": 2,
        "unlabeled_images": 2,
        "labeling_progress": 0.5,
    }
    assert doc["content_hash"] == content_hash(doc)
    assert read(target / "meta.json") == {
        "dataset_id": "cats",
        "version": 3,
        "content_hash": doc["content_hash"],
        "last_modified_at": "2025-01-21T10:00:00Z",
        "statistics": {**doc["statistics"], "num_classes": 2},
        "format_version": "1.0",
        "task_type": "image_classification",
    }

    # the round trip: the written folder indexes back to the same annotations
    before = current(instance)
    again, reporter = index_platform(instance, target)
    assert (again.found_objects, again.new_annotations, again.new_objects) == (4, 0, 0)
    assert reporter.warnings == []
    assert current(instance) == before


def test_instantiating_the_same_content_twice_gives_the_same_hash(
    instance, data_dir, cats, tmp_path
):
    index_platform(instance, data_dir / "cats")
    for name in ("a", "b"):
        instantiate(instance, root(instance), str(tmp_path / name), "platform", reporter=Reporter())

    assert (tmp_path / "a" / "meta.json").read_bytes() == (
        tmp_path / "b" / "meta.json"
    ).read_bytes()
    meta = read(tmp_path / "a" / "meta.json")
    assert (meta["dataset_id"], meta["version"]) == ("ldb-export", 1)


def test_classes_keep_their_ids_in_id_order(instance, data_dir, tmp_path):
    bird = {"id": 7, "name": "bird", "color": "#000000"}
    images = [image_entry(n) for n in range(1, 4)]
    label(images[0], DOG)
    label(images[1], bird)
    label(images[2], CAT)
    write_dataset(data_dir / "ds", document(images, classes=[DOG, bird, CAT]))
    index_platform(instance, data_dir / "ds")

    instantiate(instance, root(instance), str(tmp_path / "out"), "platform", reporter=Reporter())

    assert read(tmp_path / "out" / "annotations.json")["classes"] == [CAT, DOG, bird]


def test_classes_without_or_with_clashing_ids_are_numbered_by_name(instance, data_dir, tmp_path):
    # two datasets give "cat" different ids: both are renumbered, sorted by name
    one = [image_entry(1)]
    label(one[0], {"id": 5, "name": "zebra"})
    write_dataset(data_dir / "one", document(one, classes=[{"id": 5, "name": "zebra"}]))
    two = [image_entry(2), image_entry(3)]
    label(two[0], {"id": 5, "name": "ant"})
    label(two[1], {"id": 0, "name": "cat"})
    classes = [{"id": 5, "name": "ant"}, {"id": 0, "name": "cat"}]
    write_dataset(data_dir / "two", document(two, classes=classes))
    index_platform(instance, data_dir / "one", data_dir / "two")
    reporter = Reporter()

    instantiate(instance, root(instance), str(tmp_path / "out"), "platform", reporter=reporter)

    doc = read(tmp_path / "out" / "annotations.json")
    assert doc["classes"] == [
        {"id": 0, "name": "ant"},
        {"id": 1, "name": "cat"},
        {"id": 2, "name": "zebra"},
    ]
    labels = {e["file_name"]: e["annotation"] for e in doc["images"]}
    assert labels["img001.png"]["class_id"] == 2
    assert labels["img002.png"]["class_id"] == 0
    assert labels["img003.png"]["class_id"] == 1
    assert reporter.warnings == [
        "Class ids of the selected annotations disagree; classes renumbered by name"
    ]


def test_file_name_collisions_are_renamed(instance, data_dir, tmp_path):
    for name, seed in (("a", 1000), ("b", 2000)):
        write_dataset(data_dir / name, document([image_entry(1)]), seed=seed)
    index_platform(instance, data_dir / "a", data_dir / "b")
    oid_b = oid_of(instance, data_dir / "b" / "images" / "img001.png")
    oid_a = oid_of(instance, data_dir / "a" / "images" / "img001.png")
    later = max(oid_a, oid_b)  # both entries have id 1: the object id decides the order
    reporter = Reporter()

    instantiate(instance, root(instance), str(tmp_path / "out"), "platform", reporter=reporter)

    images = read(tmp_path / "out" / "annotations.json")["images"]
    assert [(e["id"], e["file_name"]) for e in images] == [
        (1, "img001.png"),
        (2, f"img001-{later}.png"),
    ]
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == sorted(
        ["img001.png", f"img001-{later}.png"]
    )
    written = tmp_path / "out" / "images" / f"img001-{later}.png"
    assert oid_of(instance, written) == later
    assert reporter.warnings == [
        "1 images had the same file name as another one and were written as <name>-<id><ext>",
        "1 images had the same id as another one and got new ids",
    ]


def test_objects_without_annotation_become_unlabelled_entries(instance, data_dir, tmp_path):
    small = data_dir / "bare" / "small.png"
    small.parent.mkdir()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(small)
    write_image(data_dir / "bare" / "other.png")
    run_index(instance, data_dir / "bare", fmt="bare")

    instantiate(instance, root(instance), str(tmp_path / "out"), "platform", reporter=Reporter())

    doc = read(tmp_path / "out" / "annotations.json")
    assert doc["images"] == [
        {
            "id": n,
            "file_name": name,
            "width": width,
            "height": 10 if name == "small.png" else 16,
            "split": "train",
            "annotation": None,
            "metadata": {"labeled_at": None, "labeled_by": None, "status": "unlabeled"},
        }
        for n, (name, width) in enumerate([("other.png", 16), ("small.png", 20)], 1)
    ]
    assert doc["classes"] == [] and doc["statistics"]["labeled_images"] == 0
    # and they index back as unlabelled platform images
    index_platform(instance, tmp_path / "out")
    assert status_of("ds:root", root(instance), instance).labelled == 0


def test_mixed_task_types_are_an_error(instance, data_dir, cats, tmp_path):
    images = [image_entry(9)]
    del images[0]["annotation"]
    images[0]["annotations"] = []
    write_dataset(data_dir / "street", document(images, "object_detection"))
    index_platform(instance, data_dir / "cats", data_dir / "street")

    with pytest.raises(FormatError, match="image_classification and object_detection"):
        instantiate(instance, root(instance), str(tmp_path / "out"), "platform")
    assert not (tmp_path / "out").exists()


def test_other_annotations_are_converted(instance, data_dir, make_image, make_json, tmp_path):
    """A label gives a classification dataset; an annotation nothing reads is unlabelled."""
    make_image(data_dir / "p" / "a.png", size=20)
    make_json(data_dir / "p" / "a.json", {"label": {"cat": "tabby"}, "split": "val"})
    make_image(data_dir / "p" / "b.png")
    make_json(data_dir / "p" / "b.json", {"label": "dog"})
    make_image(data_dir / "p" / "c.png")
    make_json(data_dir / "p" / "c.json", ["not", "a", "label"])
    run_index(instance, data_dir / "p", fmt="strict")
    reporter = Reporter()

    instantiate(instance, root(instance), str(tmp_path / "out"), "platform", reporter=reporter)

    doc = read(tmp_path / "out" / "annotations.json")
    assert doc["task_type"] == "image_classification"
    assert doc["classes"] == [{"id": 0, "name": "cat/tabby"}, {"id": 1, "name": "dog"}]
    unlabelled = {"labeled_at": None, "labeled_by": None, "status": "unlabeled"}
    labelled = {**unlabelled, "status": "labeled"}
    assert doc["images"] == [
        {
            "id": 1,
            "file_name": "a.png",
            "width": 20,
            "height": 20,
            "split": "val",
            "annotation": {"class_id": 0, "class_name": "cat/tabby"},
            "metadata": labelled,
        },
        {
            "id": 2,
            "file_name": "b.png",
            "width": 16,
            "height": 16,
            "split": "train",
            "annotation": {"class_id": 1, "class_name": "dog"},
            "metadata": labelled,
        },
        {
            "id": 3,
            "file_name": "c.png",
            "width": 16,
            "height": 16,
            "split": "train",
            "annotation": None,
            "metadata": unlabelled,
        },
    ]
    assert reporter.warnings == [
        "1 annotations with no label or boxes that the shape readers know could not be "
        "converted and were left out"
    ]


def test_other_boxes_give_a_detection_dataset(instance, data_dir, make_image, make_json, tmp_path):
    make_image(data_dir / "p" / "a.png")
    box = {"label": "cat", "x": 1, "y": 2, "w": 3, "h": 4, "confidence": 0.5}
    make_json(data_dir / "p" / "a.json", {"label": "cat", "boxes": [box]})
    make_image(data_dir / "p" / "b.png")
    make_json(data_dir / "p" / "b.json", {"label": "dog"})
    run_index(instance, data_dir / "p", fmt="strict")
    reporter = Reporter()

    instantiate(instance, root(instance), str(tmp_path / "out"), "platform", reporter=reporter)

    doc = read(tmp_path / "out" / "annotations.json")
    assert doc["task_type"] == "object_detection"
    assert doc["classes"] == [{"id": 0, "name": "cat"}]
    assert [image["annotations"] for image in doc["images"]] == [
        [{"class_id": 0, "class_name": "cat", "bbox": [1, 2, 3, 4], "confidence": 0.5}],
        [],
    ]
    assert doc["statistics"]["labeled_images"] == 1
    assert reporter.warnings == [
        "2 classification labels (an object_detection dataset holds boxes) could not be "
        "converted and were left out"
    ]
    # -p task-type chooses; a bad value is an error
    reporter = Reporter()
    params = {"task-type": "image_classification"}
    instantiate(
        instance, root(instance), str(tmp_path / "o2"), "platform", params, reporter=reporter
    )
    doc = read(tmp_path / "o2" / "annotations.json")
    assert [image["annotation"]["class_name"] for image in doc["images"]] == ["cat", "dog"]
    assert reporter.warnings == [
        "1 boxes (an image_classification dataset holds one label) could not be converted and "
        "were left out"
    ]
    with pytest.raises(FormatError, match="Invalid value for parameter task-type: 'x'"):
        instantiate(instance, root(instance), str(tmp_path / "o3"), "platform", {"task-type": "x"})


def test_annotations_only(instance, data_dir, cats, tmp_path):
    index_platform(instance, data_dir / "cats")

    instantiate(
        instance,
        root(instance),
        str(tmp_path / "out"),
        "platform",
        annotations_only=True,
        reporter=Reporter(),
    )

    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "annotations.json",
        "meta.json",
    ]


# the command line -------------------------------------------------------------------------------


def test_status_and_the_labelled_only_query(instance, data_dir, cats, tmp_path, ldb):
    ldb("index", "-m", "platform", str(data_dir / "cats"), check=True)

    status = ldb("status", "ds:root", check=True).stdout
    assert "  Num annotations:         4\n" in status
    assert status.endswith(
        "Labelling progress:\n"
        "  Labelled:                2\n"
        "  Unlabelled:              2\n"
        "  Progress:            50.0%\n"
    )
    as_json = json.loads(ldb("status", "--json", "ds:root", check=True).stdout)
    assert (as_json["num_unlabelled"], as_json["labelling_progress"]) == (2, 50.0)
    unlabelled = ldb("list", "-s", "ds:root", "--query", "annotation == `null`", check=True).stdout
    assert unlabelled == "2\n"

    ldb(
        "instantiate", "-m", "platform", "-t", str(tmp_path / "train"), "ds:root",
        "--query", "annotation != `null`", check=True,
    )  # fmt: skip

    doc = read(tmp_path / "train" / "annotations.json")
    assert [e["file_name"] for e in doc["images"]] == ["img001.png", "img003.png"]
    assert doc["statistics"]["labeling_progress"] == 1.0
    assert sorted(p.name for p in (tmp_path / "train" / "images").iterdir()) == [
        "img001.png",
        "img003.png",
    ]


def test_incremental_labelling_round_trip(instance, data_dir, tmp_path):
    """100 unlabelled images -> dataset -> instantiate -> label 20 -> index -> commit."""
    images = [image_entry(n) for n in range(1, 101)]
    doc = write_dataset(data_dir / "upload", document(images, classes=[]), seed=5000)
    ldb_in(tmp_path, "index", "-m", "platform", str(data_dir / "upload"))
    ldb_in(tmp_path, "stage", "ds:pets", "-t", "ws")
    ws = tmp_path / "ws"
    ldb_in(ws, "add", "ds:root")
    assert ldb_in(ws, "commit", "-m", "upload").stdout == "Committed ds:pets.v1\n"
    assert "  Progress:             0.0%" in ldb_in(ws, "status").stdout
    ldb_in(ws, "instantiate", "-m", "platform", "-f")
    first = read(ws / "annotations.json")
    first_meta = read(ws / "meta.json")
    assert (first["dataset_id"], first["version"]) == ("pets", 1)
    assert first["images"] == doc["images"]
    assert first["statistics"]["labeled_images"] == 0

    # a labelling tool labels 20 images and saves annotations.json, bumping nothing else
    labelled = copy.deepcopy(first)
    labelled["classes"] = [CAT, DOG]
    for n, entry in enumerate(labelled["images"][:20]):
        label(entry, CAT if n % 2 else DOG)
    (ws / "annotations.json").write_text(json.dumps(labelled, indent=2), encoding="utf-8")

    out = ldb_in(ws, "index", "-m", "platform", "-a", "ws:.", ".")
    assert "  Found data objects:          100\n" in out.stdout
    assert "  New annotations:              20\n" in out.stdout
    assert "Added 20 data objects to ds:pets at ws:." in out.stdout
    assert "content_hash" in out.stderr and "statistics.labeled_images is 0" in out.stderr
    versions = [v for _, v in current(instance).values()]
    assert sorted(versions) == [1] * 80 + [2] * 20
    status = ldb_in(ws, "status").stdout
    assert "  Labelled:               20\n" in status
    assert "  Progress:            20.0%\n" in status
    assert "  Modifications (m):   20\n" in status

    assert ldb_in(ws, "commit", "-m", "day 1").stdout == "Committed ds:pets.v2\n"
    ldb_in(ws, "instantiate", "-m", "platform", "-f")
    second = read(ws / "annotations.json")
    second_meta = read(ws / "meta.json")
    assert second["version"] == second_meta["version"] == 2 > first_meta["version"]
    assert second["content_hash"] == second_meta["content_hash"] == content_hash(second)
    assert second["content_hash"] != first["content_hash"]
    assert second["statistics"] == {
        "total_images": 100,
        "labeled_images": 20,
        "unlabeled_images": 80,
        "labeling_progress": 0.2,
    }
    assert second_meta["statistics"]["num_classes"] == 2
    assert second["images"] == labelled["images"]
    assert "  Labelled:                0\n" in ldb_in(tmp_path, "status", "ds:pets.v1").stdout

    # the version written is the one selected: ds:NAME.vN, or the latest for ds:NAME
    ldb_in(tmp_path, "instantiate", "-m", "platform", "-t", "v1", "ds:pets.v1")
    assert read(tmp_path / "v1" / "annotations.json") == first
    ldb_in(tmp_path, "get", "-m", "platform", "-t", "got", "ds:pets")
    assert read(tmp_path / "got" / "meta.json") == second_meta


def png_bytes(seed: int, size: tuple[int, int] = (16, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (seed % 256, seed * 7 % 256, 3)).save(out, format="PNG")
    return out.getvalue()


def test_a_dataset_on_s3(instance, s3, ldb, tmp_path):
    images = [image_entry(n) for n in range(1, 4)]
    label(images[0], CAT)
    doc = document(images)
    prefix = f"{s3.bucket}/cats"
    for n, entry in enumerate(images):
        s3.fs.pipe(f"{prefix}/images/{entry['file_name']}", png_bytes(n + 1))
    s3.fs.pipe(f"{prefix}/extra/wide.png", png_bytes(9, (30, 12)))
    s3.fs.pipe(f"{prefix}/annotations.json", json.dumps(doc).encode())
    meta = {"version": 1, "content_hash": doc["content_hash"]}
    s3.fs.pipe(f"{prefix}/meta.json", json.dumps(meta).encode())
    ldb("add-storage", f"s3://{prefix}", *s3.storage_options(), check=True)

    first = ldb("index", "-m", "platform", f"s3://{prefix}", check=True)
    by_file = ldb("index", "-m", "platform", "-p", "reread=true", f"s3://{prefix}/annotations.json")
    skipped = ldb("index", "-m", "platform", f"s3://{prefix}", check=True)

    assert "  Found data objects:            3\n" in first.stdout
    assert by_file.returncode == 0, by_file.stderr
    assert "  Found data objects:            3\n" in by_file.stdout
    assert f"Skipped s3://{prefix}/annotations.json" in skipped.stdout
    ldb("index", "-m", "bare", f"s3://{prefix}/extra", check=True)
    ldb("instantiate", "-m", "platform", "-t", str(tmp_path / "out"), "ds:root", check=True)
    written = read(tmp_path / "out" / "annotations.json")["images"]
    assert written[:3] == images
    assert (written[3]["file_name"], written[3]["width"], written[3]["height"]) == (
        "wide.png",
        30,
        12,
    )
