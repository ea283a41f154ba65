"""The whole loop against a real Label Studio 1.23.2 on loopback (issue 11).

ldb writes tasks and ``label_config.xml``; a project is created from that config, the
tasks are imported, a labeller adds and changes annotations and predictions through the
REST API, Label Studio exports JSON and JSON_MIN, and ldb indexes them back. The server
comes from ``conftest.py`` (skipped without its venv; an error in CI).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.formats.shapes import read_shapes
from ldb_clone.instance import Instance, init_instance, open_instance
from ldb_clone.storage import add_storage
from tests.conftest import write_image, write_json
from tests.helpers import current, oid_of
from tests.labelstudio.server import Client

pytestmark = pytest.mark.labelstudio

KOREAN = "삼성전자는 서울에 있다."
ENGLISH = "Alice works at Acme in Berlin."
_numbers = itertools.count(1)


def ldb(*args: str) -> str:
    """``ldb ARGS`` in-process; its output, or a failure showing it."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"ldb {' '.join(args)}\n{result.stdout}{result.stderr}"
    return result.stdout


# an image project ---------------------------------------------------------------------------


@dataclass
class ImageProject:
    client: Client
    folder: Path  # below the server's document root, a storage location of the instance
    project: int
    tasks: list[dict[str, Any]]  # as Label Studio lists them after the import
    written: list[dict[str, Any]]  # what ldb wrote
    oids: dict[str, str]  # image file name -> object id

    def task_of(self, name: str) -> dict[str, Any]:
        (task,) = [t for t in self.tasks if unquote(t["data"]["image"]).endswith(name)]
        return task


def model_output(folder: Path) -> dict[str, Path]:
    """Images with a label and a box as a model gives them, with confidences, and one
    with a space in its name."""
    images = {}
    for name, label, confidence in (("cat 1", "cat", 0.9), ("dog", "dog", 0.6)):
        images[f"{name}.png"] = write_image(folder / f"{name}.png", size=40)
        box = {"label": label, "x": 4, "y": 8, "w": 20, "h": 10, "confidence": confidence - 0.1}
        write_json(
            folder / f"{name}.json",
            {"label": label, "confidence": confidence, "boxes": [box]},
        )
    return images


def image_project(
    client: Client, files_root: Path, instance: Instance, tmp_path: Path, *params: str
) -> ImageProject:
    """Index images into the instance, instantiate them as Label Studio tasks, create a
    project from ldb's label_config.xml with a Local Storage for the images' folder, and
    import the tasks."""
    folder = files_root / f"pets-{next(_numbers)}"
    images = model_output(folder)
    add_storage(instance, str(folder))
    ldb("index", "-m", "strict", str(folder))
    target = tmp_path / f"to-label-studio-{next(_numbers)}"
    ldb(
        "instantiate",
        "-m",
        "label-studio",
        "-t",
        str(target),
        "-p",
        f"local-files-root={files_root}",
        *params,
        "ds:root",
    )
    written = json.loads((target / "annotations.json").read_text(encoding="utf-8"))
    config = (target / "label_config.xml").read_text(encoding="utf-8")
    project = client.create_project(f"pets {folder.name}", config)  # the config is accepted
    client.post(
        "/api/storages/localfiles",
        {"project": project, "path": str(folder), "use_blob_urls": True, "title": "pets"},
    )
    answer = client.import_tasks(project, written)
    assert answer["task_count"] == len(written)
    return ImageProject(
        client,
        folder,
        project,
        client.tasks(project),
        written,
        {name: oid_of(instance, path) for name, path in images.items()},
    )


def box_result(label: str, x: float, y: float, w: float, h: float) -> dict[str, Any]:
    """A rectangle as Label Studio's editor saves it on a 40x40 image (percent)."""
    return {
        "from_name": "bbox",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 40,
        "original_height": 40,
        "image_rotation": 0,
        "value": {
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "rotation": 0,
            "rectanglelabels": [label],
        },
    }


def choice_result(label: str) -> dict[str, Any]:
    return {
        "from_name": "class",
        "to_name": "image",
        "type": "choices",
        "value": {"choices": [label]},
    }


def export_file(client: Client, project: int, path: Path, export_type: str = "JSON") -> Path:
    doc = client.export(project, export_type)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# images: annotations ------------------------------------------------------------------------


def test_label_studio_loads_ldb_images_and_labels_come_back(
    label_studio_client, files_root, instance, tmp_path
):
    """Annotations (the default): the server accepts ldb's label config and tasks, serves
    every image by its /data/local-files/ URL, a labeller's change comes back into the
    same objects' annotations with the boxes in pixels."""
    client = label_studio_client
    loop = image_project(client, files_root, instance, tmp_path)

    for task in loop.tasks:
        url = task["data"]["image"]
        name = unquote(url.rsplit("/", 1)[-1])
        assert url == f"/data/local-files/?d={loop.folder.name}/{url.rsplit('/', 1)[-1]}"
        assert client.get(url, raw=True) == (loop.folder / name).read_bytes()
        assert task["total_annotations"] == 1 and task["total_predictions"] == 0

    # the labeller relabels the dog a wolf and moves its box
    dog = loop.task_of("dog.png")
    (annotation,) = client.get(f"/api/tasks/{dog['id']}/annotations")
    client.change_annotation(
        annotation["id"], [choice_result("wolf"), box_result("wolf", 25, 50, 50, 25)]
    )
    export = export_file(client, loop.project, tmp_path / "export.json")

    ldb("index", "-m", "label-studio", str(export))

    annotations = {oid: value for oid, (value, _) in current(instance).items()}
    assert set(annotations) == set(loop.oids.values())
    wolf = read_shapes(annotations[loop.oids["dog.png"]])
    assert wolf.label == "wolf"
    assert [(b.label, b.x, b.y, b.w, b.h) for b in wolf.boxes] == [("wolf", 10, 20, 20, 10)]
    cat = read_shapes(annotations[loop.oids["cat 1.png"]])
    assert cat.label == "cat"
    assert [(b.label, b.x, b.y, b.w, b.h) for b in cat.boxes] == [("cat", 4, 8, 20, 10)]


def test_a_raw_export_indexed_and_instantiated_imports_cleanly(
    label_studio_client, files_root, instance, tmp_path
):
    """Label Studio's JSON export lists predictions as integer ids, which it cannot import
    back (HTTP 500); what ldb writes from such an export imports into a new project."""
    client = label_studio_client
    loop = image_project(client, files_root, instance, tmp_path)
    cat = loop.task_of("cat 1.png")
    client.predict(cat["id"], [choice_result("lynx")], 0.3, "m2")
    export = export_file(client, loop.project, tmp_path / "export.json")
    assert any(isinstance(p, int) for t in json.loads(export.read_text()) for p in t["predictions"])

    ldb("index", "-m", "label-studio", str(export))
    target = tmp_path / "again"
    ldb(
        "instantiate", "-m", "label-studio", "-t", str(target),
        "-p", f"local-files-root={files_root}", "ds:root",
    )  # fmt: skip

    tasks = json.loads((target / "annotations.json").read_text(encoding="utf-8"))
    config = (target / "label_config.xml").read_text(encoding="utf-8")
    project = client.create_project("pets again", config)
    assert client.import_tasks(project, tasks)["task_count"] == 2
    again = {t["data"]["data-object-info"]["xxh3_128"]: t for t in client.tasks(project)}
    assert set(again) == set(loop.oids.values())
    assert again[loop.oids["cat 1.png"]]["total_annotations"] == 1


# images: predictions ------------------------------------------------------------------------


def test_predictions_leave_the_queue_to_the_labeller(
    label_studio_client, files_root, instance, tmp_path
):
    """-p as=predictions: Label Studio shows pre-annotations with their score and model
    version and no finished annotation; the labeller's accepted or corrected labels come
    back as the objects' annotations."""
    client = label_studio_client
    loop = image_project(
        client,
        files_root,
        instance,
        tmp_path,
        "-p",
        "as=predictions",
        "-p",
        "model-version=yolo-v8n",
    )

    for task in loop.tasks:
        assert (task["total_annotations"], task["total_predictions"]) == (0, 1)
    dog = loop.task_of("dog.png")
    (prediction,) = client.get(f"/api/predictions?task={dog['id']}")
    assert (prediction["model_version"], prediction["score"]) == ("yolo-v8n", 0.5)
    assert {r["type"]: r.get("score") for r in prediction["result"]} == {
        "choices": 0.6,
        "rectanglelabels": 0.5,
    }

    # the labeller accepts the dog's prediction as it is and corrects the cat's box
    client.annotate(dog["id"], prediction["result"])
    cat = loop.task_of("cat 1.png")
    client.annotate(cat["id"], [choice_result("cat"), box_result("cat", 10, 10, 50, 50)])
    export = export_file(client, loop.project, tmp_path / "export.json")

    ldb("index", "-m", "label-studio", str(export))

    annotations = {oid: value for oid, (value, _) in current(instance).items()}
    dog_shapes = read_shapes(annotations[loop.oids["dog.png"]])
    assert dog_shapes.label == "dog"
    assert [(b.x, b.y, b.w, b.h) for b in dog_shapes.boxes] == [(4, 8, 20, 10)]
    cat_shapes = read_shapes(annotations[loop.oids["cat 1.png"]])
    assert [(b.x, b.y, b.w, b.h) for b in cat_shapes.boxes] == [(4, 4, 20, 20)]


# text ---------------------------------------------------------------------------------------


def text_document(text: str, entities: list[tuple[str, str, str]]) -> dict[str, Any]:
    """A text-annotator document with entities (id, covered text, type)."""
    annotations, data = [], []
    for aid, part, kind in entities:
        start = text.index(part)
        annotations.append(
            {"id": aid, "tool": "named_entity", "classification": {"entity_type": kind}}
        )
        data.append({"id": aid, "start": start, "end": start + len(part), "text": part})
    return {"annotations": {"text_1": annotations}, "annotationsData": {"text_1": data}}


@dataclass
class TextProject:
    project: int
    tasks: list[dict[str, Any]]
    oids: dict[str, str]  # file name -> object id


def text_project(
    client: Client, files_root: Path, instance: Instance, tmp_path: Path
) -> TextProject:
    folder = files_root / f"texts-{next(_numbers)}"
    folder.mkdir()
    texts = {
        "ko.txt": (KOREAN, [("k1", "삼성전자", "ORG")]),
        "en.txt": (ENGLISH, [("e1", "Alice", "PER"), ("e2", "Berlin", "LOC")]),
    }
    for name, (text, entities) in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
        write_json((folder / name).with_suffix(".json"), text_document(text, entities))
    add_storage(instance, str(folder))
    ldb("index", "-m", "text", str(folder))
    target = tmp_path / f"texts-out-{next(_numbers)}"
    ldb("instantiate", "-m", "label-studio", "-t", str(target), "ds:root")
    tasks = json.loads((target / "annotations.json").read_text(encoding="utf-8"))
    config = (target / "label_config.xml").read_text(encoding="utf-8")
    project = client.create_project(f"texts {folder.name}", config)
    assert client.import_tasks(project, tasks)["task_count"] == 2
    oids = {name: oid_of(instance, folder / name) for name in texts}
    return TextProject(project, client.tasks(project), oids)


def spans_of(doc: dict[str, Any]) -> set[tuple[str, str]]:
    """(covered text, entity type) of every entity of a text document."""
    data = {d["id"]: d for d in doc["annotationsData"]["text_1"]}
    spans = set()
    for annotation in doc["annotations"]["text_1"]:
        entry = data[annotation["id"]]
        text = entry.get("text", entry.get("content"))
        spans.add((text, annotation["classification"].get("entity_type")))
    return spans


def add_seoul(client: Client, loop: TextProject) -> None:
    """The labeller marks 서울 as a LOC in the Korean task (offsets in code points)."""
    (korean,) = [t for t in loop.tasks if t["data"]["text"] == KOREAN]
    (annotation,) = client.get(f"/api/tasks/{korean['id']}/annotations")
    start = KOREAN.index("서울")
    seoul = {
        "id": "seoul",
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": start + 2, "text": "서울", "labels": ["LOC"]},
    }
    client.change_annotation(annotation["id"], [*annotation["result"], seoul])


def test_text_entities_korean_included_go_and_come_back(
    label_studio_client, files_root, instance, tmp_path
):
    client = label_studio_client
    loop = text_project(client, files_root, instance, tmp_path)
    add_seoul(client, loop)
    export = export_file(client, loop.project, tmp_path / "export.json")

    ldb("index", "-m", "text", str(export))

    docs = {oid: value for oid, (value, _) in current(instance).items()}
    assert spans_of(docs[loop.oids["ko.txt"]]) == {("삼성전자", "ORG"), ("서울", "LOC")}
    assert spans_of(docs[loop.oids["en.txt"]]) == {("Alice", "PER"), ("Berlin", "LOC")}


# what needs the import side (issue 11 items 3-8) ----------------------------------------------


def fresh(tmp_path: Path, *storage: Path) -> Instance:
    init_instance(tmp_path / "fresh")
    second = open_instance(tmp_path / "fresh")
    for folder in storage:
        add_storage(second, str(folder))
    return second


def test_tasks_label_studio_made_itself_resolve_by_local_files_root(
    label_studio_client, files_root, instance, tmp_path, monkeypatch
):
    """Item 3: a fresh instance (no ids known) resolves /data/local-files/ URLs with the
    same -p local-files-root on index; the tasks need no data-object-info."""
    client = label_studio_client
    loop = image_project(client, files_root, instance, tmp_path)
    doc = client.export(loop.project)
    for task in doc:
        task["data"].pop("data-object-info")
    export = tmp_path / "made-by-ls.json"
    export.write_text(json.dumps(doc), encoding="utf-8")
    second = fresh(tmp_path, loop.folder)
    monkeypatch.setenv("LDB_DIR", str(tmp_path / "fresh"))

    ldb("index", "-m", "label-studio", "-p", f"local-files-root={files_root}", str(export))

    assert set(current(second)) == set(loop.oids.values())
    second.close()


def test_json_min_export_indexes(label_studio_client, files_root, instance, tmp_path):
    """Item 6: a JSON_MIN export (flat tasks, one key per control) is read."""
    client = label_studio_client
    loop = image_project(client, files_root, instance, tmp_path)
    export = export_file(client, loop.project, tmp_path / "min.json", "JSON_MIN")

    ldb("index", "-m", "label-studio", "-p", f"local-files-root={files_root}", str(export))

    annotations = {oid: value for oid, (value, _) in current(instance).items()}
    assert read_shapes(annotations[loop.oids["dog.png"]]).label == "dog"


def test_progress_after_a_round_trip_counts_tasks_without_annotations(
    label_studio_client, files_root, instance, tmp_path
):
    """Item 8: tasks exported with no annotation (predictions only) are unlabelled."""
    client = label_studio_client
    loop = image_project(client, files_root, instance, tmp_path, "-p", "as=predictions")
    client.annotate(loop.task_of("dog.png")["id"], [choice_result("dog")])
    export = export_file(client, loop.project, tmp_path / "export.json")

    ldb("index", "-m", "label-studio", str(export))

    status = json.loads(ldb("status", "--json", "ds:root"))
    assert (status["num_annotations"], status["num_unlabelled"]) == (2, 1)


def test_text_json_min_export_indexes(label_studio_client, files_root, instance, tmp_path):
    """Items 4-6: a text JSON_MIN export (the text in the task, one key per control) reads
    as documents: the labeller's new entity arrives."""
    client = label_studio_client
    loop = text_project(client, files_root, instance, tmp_path)
    add_seoul(client, loop)
    export = export_file(client, loop.project, tmp_path / "min.json", "JSON_MIN")

    result = CliRunner().invoke(app, ["index", "-m", "text", str(export)])

    assert result.exit_code == 0, result.stderr
    docs = {oid: value for oid, (value, _) in current(instance).items()}
    assert ("서울", "LOC") in spans_of(docs[loop.oids["ko.txt"]])


# label configs --------------------------------------------------------------------------------


def _task(*results: dict[str, Any], key: str = "image") -> dict[str, Any]:
    return {"data": {key: "x"}, "annotations": [{"result": list(results)}]}


CONFIG_CASES = {
    "unlabelled images": (
        [{"data": {"image": "x"}, "annotations": []}],
        ("image", "Image", "image"),
    ),
    "relations without labels": (
        [
            _task(
                {"id": "a", "from_name": "label", "to_name": "text", "type": "labels",
                 "value": {"start": 0, "end": 1, "labels": ["PER"]}},
                {"from_id": "a", "to_id": "a", "type": "relation", "labels": []},
                key="text",
            )
        ],
        ("text", "Text", "text"),
    ),
    "odd values and several controls": (
        [
            _task(
                {"from_name": "q", "to_name": "img", "type": "choices",
                 "value": {"choices": ['a "quoted" <b> & c', "날씨"]}},
                {"from_name": "note", "to_name": "img", "type": "textarea", "value": {}},
                {"from_name": "poly", "to_name": "img", "type": "polygonlabels",
                 "value": {"polygonlabels": ["road"]}},
                key="img",
            )
        ],
        ("img", "Image", "img"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_every_kind_of_label_config_is_accepted(label_studio_client, case):
    """label_config.xml shapes that the loops above do not write, checked by the server."""
    from ldb_clone.formats.label_studio.config import LabelConfig

    tasks, shown = CONFIG_CASES[case]
    config = LabelConfig()
    for task in tasks:
        config.add_task(task, shown)

    # the server validates the config: one it cannot use is an HTTP 400, raised here
    project = label_studio_client.create_project(f"config {case}", config.xml())
    assert isinstance(project, int) and project > 0
