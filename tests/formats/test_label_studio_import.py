"""Bringing labels back from Label Studio: exports shaped as a real Label Studio 1.23.2
writes them (see /work/shared/reference/ecosystem.md section 1): tasks with server
fields, ``predictions`` as integer ids, cancelled annotations, tasks from a local-files or
URL storage connection, text held in the task, JSON_MIN, CSV."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.errors import LdbError
from ldb_clone.formats.shapes import read_shapes
from ldb_clone.instance import init_instance, open_instance
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.storage import add_storage
from tests.helpers import by_path, current, oid_of
from tests.helpers import run_index as index_with

run_index = functools.partial(index_with, fmt="label-studio")
SERVER = "http://127.0.0.1:8080"
# 삼성전자 (ORG) at 0..4, 서울 (LOC) at 13..15
KOREAN = "삼성전자 이재용 회장이 서울 강남구 본사에서 실적을 발표했다."
ENGLISH = "Alice works at Acme."


def run_cli(*args: str):
    return CliRunner().invoke(app, list(args))


def one_error_line(stderr: str, *fragments: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# what Label Studio 1.23.2 exports ---------------------------------------------------------


def stamp(minute: int) -> str:
    return f"2026-12-01T05:{minute:02d}:00.123456Z"


def annotation(
    annotation_id: int, results: list[dict[str, Any]], minute: int = 0, cancelled: bool = False
) -> dict[str, Any]:
    return {
        "id": annotation_id,
        "completed_by": 1,
        "result": results,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": stamp(0),
        "updated_at": stamp(minute),
        "draft_created_at": None,
        "lead_time": 4.2,
        "prediction": {},
        "result_count": len(results),
        "unique_id": f"0000-{annotation_id}",
        "import_id": None,
        "last_action": None,
        "bulk_created": False,
        "task": 1,
        "project": 1,
        "updated_by": 1,
        "parent_prediction": None,
        "parent_annotation": None,
        "last_created_by": None,
    }


def ls_task(
    task_id: int, data: dict[str, Any], annotations: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    cancelled = sum(1 for a in annotations if a["was_cancelled"])
    return {
        "id": task_id,
        "data": data,
        "annotations": annotations,
        "predictions": [task_id],  # Label Studio exports prediction ids, not objects
        "drafts": [],
        "inner_id": task_id,
        "total_annotations": len(annotations) - cancelled,
        "cancelled_annotations": cancelled,
        "total_predictions": 1,
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": None,
        "project": 1,
        "updated_by": None,
        "file_upload": None,
        "comment_authors": [],
        "created_at": stamp(0),
        "updated_at": stamp(0),
        **extra,
    }


def choice(name: str) -> dict[str, Any]:
    return {
        "id": f"c{name}",
        "from_name": "class",
        "to_name": "image",
        "type": "choices",
        "origin": "manual",
        "value": {"choices": [name]},
    }


def box(x: float, y: float, w: float, h: float, label: str, rotation: float = 0) -> dict:
    return {
        "id": f"b{label}{x}",
        "from_name": "bbox",
        "to_name": "image",
        "type": "rectanglelabels",
        "origin": "manual",
        "original_width": 16,
        "original_height": 16,
        "image_rotation": 0,
        "value": {
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "rotation": rotation,
            "rectanglelabels": [label],
        },
    }


def span(text: str, part: str, label: str, from_name: str = "label") -> dict[str, Any]:
    start = text.index(part)
    return {
        "id": f"s{start}",
        "from_name": from_name,
        "to_name": "text",
        "type": "labels",
        "origin": "manual",
        "value": {"start": start, "end": start + len(part), "text": part, "labels": [label]},
    }


def korean_spans() -> list[dict[str, Any]]:
    return [span(KOREAN, "삼성전자", "ORG"), span(KOREAN, "서울", "LOC")]


def write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


def labels(instance) -> dict[str, Any]:
    """Every indexed path -> (label, boxes) as the shape readers see its annotation."""
    result = {}
    for path, value in by_path(instance).items():
        shapes = read_shapes(value)
        result[Path(path).name] = (
            shapes.label,
            [(b.label, b.x, b.y, b.w, b.h) for b in shapes.boxes],
        )
    return result


# 3. URLs of a local-files or URL storage connection -------------------------------------


def test_local_files_urls_resolve_below_local_files_root(instance, data_dir, make_image):
    """Tasks Label Studio made from a Local Storage connection name their images as
    /data/local-files/?d=... URLs, absolute or relative, with no data-object-info."""
    cat = make_image(data_dir / "pets" / "cat 00.png")
    dog = make_image(data_dir / "pets" / "dog-00.png")
    export = write(
        data_dir / "exports" / "project-1.json",
        [
            ls_task(
                1,
                {"image": f"{SERVER}/data/local-files/?d=pets/cat%2000.png"},
                [annotation(1, [choice("cat")])],
            ),
            ls_task(
                2,
                {"image": "/data/local-files/?d=pets/dog-00.png"},
                [annotation(2, [choice("dog")])],
            ),
        ],
    )

    result, _ = run_index(instance, export, params={"local-files-root": str(data_dir)})

    assert result.finished and result.new_objects == 2
    paths = {oid: rows for oid, rows in instance.catalog.object_paths(current(instance)).items()}
    assert paths[oid_of(instance, cat)] == [("file", str(cat))]
    assert paths[oid_of(instance, dog)] == [("file", str(dog))]
    assert labels(instance) == {"cat 00.png": ("cat", []), "dog-00.png": ("dog", [])}


def test_local_files_url_without_root_names_the_task_and_the_parameter(
    ldb, instance, data_dir, make_image
):
    make_image(data_dir / "pets" / "cat-00.png")
    url = f"{SERVER}/data/local-files/?d=pets/cat-00.png"
    export = write(data_dir / "project-1.json", [ls_task(7, {"image": url}, [])])

    proc = ldb("index", "-m", "label-studio", str(export))

    assert proc.returncode == 1
    one_error_line(proc.stderr, url, "id 7", str(export), "-p local-files-root=DIR")
    assert select_members(instance, ["ds:root"]) == []


def test_local_files_url_that_names_no_file_is_not_found(instance, data_dir):
    export = write(
        data_dir / "project-1.json",
        [ls_task(3, {"image": "/data/local-files/?d=pets/gone.png"}, [])],
    )

    with pytest.raises(LdbError, match=r"Data object not found: .*gone\.png.*id 3.*looked for"):
        run_index(instance, export, params={"local-files-root": str(data_dir)})


def test_local_files_url_may_not_climb_out_of_its_root(instance, data_dir, make_image):
    make_image(data_dir / "secret.png")
    export = write(
        data_dir / "project-1.json",
        [ls_task(4, {"image": "/data/local-files/?d=../data/secret.png"}, [])],
    )

    with pytest.raises(LdbError, match="leaves"):
        run_index(instance, export, params={"local-files-root": str(data_dir / "pets")})
    assert select_members(instance, ["ds:root"]) == []


def test_url_prefix_maps_to_a_storage_location(instance, data_dir, tmp_path, make_image):
    """-p url-prefix=URL: URL + PATH is PATH below a storage location (the first that
    holds it), as instantiate -p url-prefix writes them."""
    other = tmp_path / "other"
    other.mkdir()
    add_storage(instance, str(other))
    cat = make_image(other / "pets" / "cat.png")
    prefix = "https://files.example.com/ds/"
    export = write(
        data_dir / "project-1.json",
        [ls_task(1, {"image": prefix + "pets/cat.png"}, [annotation(1, [choice("cat")])])],
    )

    run_index(instance, export, params={"url-prefix": prefix})

    assert list(current(instance)) == [oid_of(instance, cat)]


def test_web_url_without_a_prefix_is_an_error_with_the_hint(ldb, instance, data_dir):
    url = "https://files.example.com/ds/pets/cat.png"
    export = write(data_dir / "project-1.json", [ls_task(5, {"image": url}, [])])

    proc = ldb("index", "-m", "label-studio", str(export))

    assert proc.returncode == 1
    one_error_line(proc.stderr, url, "id 5", "-p url-prefix=URL")


# 4. text held in the task ------------------------------------------------------------------


def korean_export(path: Path) -> Path:
    return write(
        path,
        [
            ls_task(1, {"text": KOREAN}, [annotation(1, korean_spans())]),
            ls_task(2, {"text": ENGLISH}, [annotation(2, [span(ENGLISH, "Acme", "ORG")])]),
        ],
    )


@pytest.fixture
def read_add(tmp_path, instance) -> Path:
    path = tmp_path / "read-add"
    path.mkdir()
    add_storage(instance, str(path), read_add=True)
    return path


def test_text_in_the_task_is_stored_in_read_add_storage(instance, data_dir, read_add, tmp_path):
    export = korean_export(data_dir / "texts.json")

    result, _ = run_index(instance, export)

    assert result.new_objects == 2
    stored = {Path(p).read_text(encoding="utf-8"): p for p in by_path(instance)}
    assert set(stored) == {KOREAN, ENGLISH}
    oid = instance.hasher.bytes_digest(KOREAN.encode("utf-8"))
    assert stored[KOREAN] == str(read_add / "label-studio-text" / f"{oid}.txt")
    assert current(instance)[oid][0]["data"]["text"] == KOREAN
    # indexing the same export again finds the same files: nothing new
    again, _ = run_index(instance, export)
    assert (again.new_objects, again.new_annotations) == (0, 0)
    # written back for Label Studio, the task holds its text, not the file's path
    instantiate(
        instance, select_members(instance, ["ds:root"]), str(tmp_path / "ls"), "label-studio"
    )
    tasks = json.loads((tmp_path / "ls" / "annotations.json").read_text(encoding="utf-8"))
    assert sorted(t["data"]["text"] for t in tasks) == sorted([KOREAN, ENGLISH])


def test_text_in_the_task_without_read_add_storage_is_one_error_line(ldb, instance, data_dir):
    export = korean_export(data_dir / "texts.json")

    for fmt in ("label-studio", "text"):
        proc = ldb("index", "-m", fmt, str(export))

        assert proc.returncode == 1
        one_error_line(proc.stderr, "id 1", "ldb add-storage -a true DIR")
    assert select_members(instance, ["ds:root"]) == []


@pytest.mark.parametrize(
    ("value", "inline"),
    [
        ("Alice works at Acme.", True),
        ("삼성전자 A/B 테스트", True),
        ("hello/world", True),
        ("first line\nsecond line.txt", True),
        ("/data/local-files/?d=texts/a.txt", False),
        ("s3://bucket/texts/a.txt", False),
        ("texts/my notes.txt", False),
        ("./a", False),
    ],
)
def test_text_or_the_name_of_a_text_file(value, inline):
    from ldb_clone.formats.label_studio.codec import is_inline_text

    assert is_inline_text('"data"."text"', value) is inline
    assert is_inline_text('"data"."image"', value) is False


# 5. text exports as text documents ---------------------------------------------------------


def entity_types(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(entity type, covered text) of every entity of a text document."""
    found = []
    for key, entities in doc["annotations"].items():
        data = {d["id"]: d for d in doc["annotationsData"][key]}
        for a in entities:
            entry = data[a["id"]]
            found.append((a["classification"]["entity_type"], entry["content"]))
    return found


def test_auto_detect_reads_a_text_export_as_text_documents(instance, data_dir, read_add):
    export = korean_export(data_dir / "texts.json")

    result, _ = index_with(instance, export)

    assert result.format == "text"
    docs = {Path(p).read_text(encoding="utf-8"): v for p, v in by_path(instance).items()}
    assert entity_types(docs[KOREAN]) == [("ORG", "삼성전자"), ("LOC", "서울")]
    assert entity_types(docs[ENGLISH]) == [("ORG", "Acme")]
    # entity queries of the text format work on them
    query = "contains(annotations.*[].classification.entity_type, 'LOC')"
    listed = run_cli("list", "ds:root", "--jquery", query)
    assert listed.exit_code == 0, listed.output
    oid = instance.hasher.bytes_digest(KOREAN.encode("utf-8"))
    rows = [line.split()[0] for line in listed.stdout.splitlines() if line.startswith(" id:")]
    assert rows == [f"id:{oid}"]


def test_instantiate_text_converts_label_studio_text_tasks(instance, data_dir, read_add, tmp_path):
    """Indexed with -m label-studio, a text task is still a text document to -m text."""
    run_index(instance, korean_export(data_dir / "texts.json"))
    out = tmp_path / "out"
    query = "contains(annotations[].result[].value.labels[], 'LOC')"
    listed = run_cli("list", "ds:root", "--query", query)
    assert listed.exit_code == 0, listed.output
    assert "1 matching data objects" in listed.stdout

    instantiate(instance, select_members(instance, ["ds:root"]), str(out), "text")

    pairs = {}
    for doc_path in out.glob("*.json"):
        text = doc_path.with_suffix(".txt").read_text(encoding="utf-8")
        pairs[text] = json.loads(doc_path.read_text(encoding="utf-8"))
    assert entity_types(pairs[KOREAN]) == [("ORG", "삼성전자"), ("LOC", "서울")]
    # and they index back as text documents
    second = tmp_path / "second"
    init_instance(second)
    other = open_instance(second)
    try:
        add_storage(other, str(out))
        result, _ = index_with(other, out, fmt="text")
        assert result.new_objects == 2
    finally:
        other.close()


def test_text_task_from_a_local_files_connection_reads_the_file(instance, data_dir):
    """A text task whose data.text is a local-files URL (a storage connection of .txt
    files): the spans are checked against the file's text, which is the object."""
    text_file = data_dir / "texts" / "news 1.txt"
    text_file.parent.mkdir()
    text_file.write_text(KOREAN, encoding="utf-8")
    url = f"{SERVER}/data/local-files/?d=texts/news%201.txt"
    export = write(
        data_dir / "project-2.json", [ls_task(1, {"text": url}, [annotation(1, korean_spans())])]
    )

    result, _ = index_with(instance, export, fmt="text", params={"local-files-root": str(data_dir)})

    assert result.new_objects == 1
    assert entity_types(by_path(instance)[str(text_file)]) == [("ORG", "삼성전자"), ("LOC", "서울")]


# 6. JSON_MIN and CSV -----------------------------------------------------------------------


def json_min_image(image: str, record_id: int, **controls: Any) -> dict[str, Any]:
    return {
        "image": image,
        "id": record_id,
        **controls,
        "annotator": 1,
        "annotation_id": record_id,
        "created_at": stamp(0),
        "updated_at": stamp(1),
        "lead_time": 3.5,
    }


def test_json_min_image_export(instance, data_dir, make_image):
    """A single choice is a plain string; boxes are a list of values with the original
    size merged in."""
    cat = make_image(data_dir / "cat.png")
    dog = make_image(data_dir / "dog.png")
    boxes = [{**box(25, 50, 50, 25, "cat")["value"], "original_width": 16, "original_height": 16}]
    export = write(
        data_dir / "min.json",
        [
            json_min_image(str(cat), 1, **{"class": "cat", "bbox": boxes}),
            json_min_image(str(dog), 2, **{"class": "dog"}),
        ],
    )

    result, _ = index_with(instance, export)

    assert result.format == "label-studio"
    assert labels(instance) == {"cat.png": ("cat", [("cat", 4, 8, 8, 4)]), "dog.png": ("dog", [])}
    task = current(instance)[oid_of(instance, cat)][0]
    assert task["id"] == 1 and task["annotations"][0]["id"] == 1


def test_json_min_text_export(instance, data_dir, read_add):
    export = write(
        data_dir / "min.json",
        [
            {
                "text": KOREAN,
                "id": 1,
                "label": [s["value"] for s in korean_spans()],
                "annotator": 1,
                "annotation_id": 1,
                "created_at": stamp(0),
                "updated_at": stamp(0),
                "lead_time": 9.0,
            }
        ],
    )

    result, _ = index_with(instance, export)

    assert (result.format, result.new_objects) == ("text", 1)
    [doc] = by_path(instance).values()
    assert entity_types(doc) == [("ORG", "삼성전자"), ("LOC", "서울")]


def test_csv_export_is_refused(ldb, instance, data_dir):
    export = data_dir / "project-1.csv"
    export.write_text("image,id,class\n/data/local-files/?d=a.png,1,cat\n", encoding="utf-8")

    proc = ldb("index", "-m", "label-studio", str(export))

    assert proc.returncode == 1
    one_error_line(proc.stderr, str(export), "JSON or JSON_MIN")


@pytest.mark.parametrize(("fmt", "content"), [("label-studio", []), ("text", [{"x": 1}])])
def test_an_export_with_nothing_to_index_is_an_error(ldb, instance, data_dir, fmt, content):
    export = write(data_dir / "empty.json", content)

    proc = ldb("index", "-m", fmt, str(export))

    assert proc.returncode == 1
    one_error_line(proc.stderr, str(export))


# 7. two tasks for one object ---------------------------------------------------------------


def test_two_tasks_for_one_object_keep_the_newest_annotation(instance, data_dir, make_image):
    """Task 1 was edited last (05:30) though it comes first; task 2's newer annotation
    was cancelled (skipped) and does not count."""
    cat = make_image(data_dir / "cat.png")
    dog = make_image(data_dir / "dog.png")
    export = write(
        data_dir / "project.json",
        [
            ls_task(1, {"image": str(cat)}, [annotation(1, [choice("tabby")], minute=30)]),
            ls_task(
                2,
                {"image": str(cat)},
                [
                    annotation(2, [choice("cat")], minute=10),
                    annotation(3, [choice("lion")], minute=40, cancelled=True),
                ],
            ),
            ls_task(3, {"image": str(dog)}, [annotation(4, [choice("dog")])]),
            ls_task(4, {"image": str(dog)}, []),
        ],
    )

    result, reporter = run_index(instance, export)

    assert result.new_objects == 2
    assert labels(instance) == {"cat.png": ("tabby", []), "dog.png": ("dog", [])}
    warnings = [line for line in reporter.warnings if "more than one task" in line]
    assert len(warnings) == 1 and warnings[0].startswith("2 data object(s)")


def test_latest_annotation_within_a_task_wins(instance, data_dir, make_image):
    cat = make_image(data_dir / "cat.png")
    export = write(
        data_dir / "project.json",
        [
            ls_task(
                1,
                {"image": str(cat)},
                [annotation(1, [choice("tabby")], minute=50), annotation(2, [choice("cat")])],
            )
        ],
    )

    run_index(instance, export)

    assert labels(instance) == {"cat.png": ("tabby", [])}


# 8. labelling progress ---------------------------------------------------------------------


def status_counts() -> dict[str, Any]:
    result = run_cli("status", "ds:root", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_tasks_without_live_annotations_are_unlabelled(instance, data_dir, make_image):
    images = [make_image(data_dir / f"{n}.png") for n in range(4)]
    export = write(
        data_dir / "project.json",
        [
            ls_task(1, {"image": str(images[0])}, [annotation(1, [choice("cat")])]),
            ls_task(2, {"image": str(images[1])}, []),
            ls_task(3, {"image": str(images[2])}, [annotation(2, [], cancelled=True)]),
            ls_task(
                4,
                {"image": str(images[3])},
                [annotation(3, [], cancelled=True), annotation(4, [choice("dog")])],
            ),
        ],
    )

    run_index(instance, export)

    status = status_counts()
    assert (status["num_annotations"], status["num_unlabelled"]) == (4, 2)
    assert status["labelling_progress"] == 50.0


def test_text_tasks_without_annotations_are_unlabelled_documents(instance, data_dir, read_add):
    export = write(
        data_dir / "texts.json",
        [
            ls_task(1, {"text": KOREAN}, [annotation(1, korean_spans())]),
            ls_task(2, {"text": ENGLISH}, [annotation(2, [], cancelled=True)]),
        ],
    )

    result, _ = index_with(instance, export)

    assert result.format == "text"
    status = status_counts()
    assert (status["num_annotations"], status["num_unlabelled"]) == (2, 1)


def test_progress_survives_a_round_trip(instance, data_dir, make_image, tmp_path):
    """A platform dataset half labelled, sent to Label Studio and exported with all its
    tasks (server fields added, no annotation for the unlabelled ones), is half labelled
    after indexing the export in a new instance."""
    folder = data_dir / "platform"
    records = []
    for n in range(4):
        make_image(folder / "images" / f"{n}.png")
        label = {"class_id": 0, "class_name": "cat"} if n % 2 else None
        records.append(
            {"id": n + 1, "file_name": f"{n}.png", "width": 16, "height": 16, "annotation": label}
        )
    write(
        folder / "annotations.json",
        {
            "task_type": "image_classification",
            "classes": [{"id": 0, "name": "cat"}],
            "images": records,
        },
    )
    index_with(instance, folder, fmt="platform")
    assert status_counts()["labelling_progress"] == 50.0
    out = tmp_path / "to-label-studio"
    instantiate(instance, select_members(instance, ["ds:root"]), str(out), "label-studio")
    sent = json.loads((out / "annotations.json").read_text())
    exported = [
        ls_task(n, t["data"], [annotation(n, a["result"]) for a in t["annotations"]])
        for n, t in enumerate(sent, 1)
    ]
    export = write(tmp_path / "export" / "project-1.json", exported)

    second = tmp_path / "second"
    init_instance(second)
    other = open_instance(second)
    try:
        add_storage(other, str(data_dir))
        index_with(other, export, fmt="label-studio")
    finally:
        other.close()
    result = run_cli("status", "ds:root", "--json")
    assert json.loads(result.stdout)["labelling_progress"] == 50.0  # the first instance
    second_status = CliRunner().invoke(
        app, ["status", "ds:root", "--json"], env={"LDB_DIR": str(second)}
    )
    assert json.loads(second_status.stdout)["num_unlabelled"] == 2
    assert json.loads(second_status.stdout)["labelling_progress"] == 50.0


# 9. rotated rectangles ---------------------------------------------------------------------


def test_rotated_rectangle_kept_for_label_studio_enclosing_box_elsewhere(
    instance, data_dir, make_image, tmp_path
):
    cat = make_image(data_dir / "cat.png")
    rotated = box(25, 25, 50, 25, "cat", rotation=90)
    export = write(
        data_dir / "project.json", [ls_task(1, {"image": str(cat)}, [annotation(1, [rotated])])]
    )
    run_index(instance, export)
    members = select_members(instance, ["ds:root"])

    reporter = Reporter()
    instantiate(instance, members, str(tmp_path / "coco"), "coco", reporter=reporter)
    coco = json.loads((tmp_path / "coco" / "annotations" / "instances_default.json").read_text())
    # 8x4 px at (4, 4) turned 90 degrees clockwise about (4, 4) covers x 0..4, y 4..12
    assert [a["bbox"] for a in coco["annotations"]] == [[0, 4, 4, 8]]
    assert any(
        "1 rotations of Label Studio rectangles (each written as its enclosing box)" in line
        for line in reporter.warnings
    )

    instantiate(instance, members, str(tmp_path / "ls"), "label-studio")
    [task] = json.loads((tmp_path / "ls" / "annotations.json").read_text())
    assert task["annotations"][0]["result"][0]["value"]["rotation"] == 90
