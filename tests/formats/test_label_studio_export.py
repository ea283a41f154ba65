"""instantiate -m label-studio for a real Label Studio (issue 11, export side): object URLs
it can load (-p local-files-root, -p url-prefix, s3:// kept), labels as predictions
(-p as=predictions, score, -p model-version), label_config.xml, and the control names
of the project a text task came from. The same files against a real server:
tests/labelstudio/test_label_studio_server.py."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone import cli
from ldb_clone.cli import app
from ldb_clone.errors import FormatError
from ldb_clone.formats.exporting import ExportContext, ExportItem
from ldb_clone.formats.label_studio.codec import export as export_label_studio
from ldb_clone.instance import Instance
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from tests.conftest import write_image, write_json
from tests.helpers import run_index

KOREAN = "삼성전자는 서울에 있다."


def export(instance: Instance, target: Path, **params: str) -> tuple[list[dict], Reporter]:
    reporter = Reporter()
    members = select_members(instance, ["ds:root"])
    instantiate(instance, members, str(target), "label-studio", params, reporter=reporter)
    tasks = json.loads((target / "annotations.json").read_text(encoding="utf-8"))
    return tasks, reporter


def by_image(tasks: list[dict]) -> dict[str, dict]:
    return {t["data"]["image"].rsplit("/", 1)[-1]: t for t in tasks}


def model_output(folder: Path) -> Path:
    """Two images with a label and a box as a model would give them: with confidences."""
    for name, label, confidence in (("cat 1", "cat", 0.9), ("dog", "dog", 0.6)):
        write_image(folder / "pets" / f"{name}.png", size=40)
        box = {"label": label, "x": 4, "y": 8, "w": 20, "h": 10, "confidence": confidence - 0.1}
        annotation = {"label": label, "confidence": confidence, "boxes": [box]}
        write_json(folder / "pets" / f"{name}.json", annotation)
    return folder / "pets"


# object URLs (item 1) -----------------------------------------------------------------------


def test_local_files_root_names_objects_as_label_studio_serves_them(instance, data_dir, tmp_path):
    run_index(instance, model_output(data_dir), fmt="strict")

    tasks, reporter = export(instance, tmp_path / "out", **{"local-files-root": str(data_dir)})

    assert sorted(t["data"]["image"] for t in tasks) == [
        "/data/local-files/?d=pets/cat%201.png",
        "/data/local-files/?d=pets/dog.png",
    ]
    assert reporter.warnings == []


def test_without_a_url_parameter_local_paths_are_written_with_a_warning(
    instance, data_dir, tmp_path
):
    run_index(instance, model_output(data_dir), fmt="strict")

    tasks, reporter = export(instance, tmp_path / "out")

    assert sorted(t["data"]["image"] for t in tasks) == [
        str(data_dir / "pets" / "cat 1.png"),
        str(data_dir / "pets" / "dog.png"),
    ]
    assert reporter.warnings == [
        "2 tasks name their object by a local path, which Label Studio cannot load: set "
        "-p local-files-root=DIR (its local-files document root) or -p url-prefix=URL"
    ]


def test_url_prefix_is_followed_by_the_path_below_the_storage_location(
    instance, data_dir, tmp_path
):
    run_index(instance, model_output(data_dir), fmt="strict")

    tasks, _ = export(instance, tmp_path / "out", **{"url-prefix": "http://files:8081/pets-v2/"})

    assert sorted(t["data"]["image"] for t in tasks) == [
        "http://files:8081/pets-v2/pets/cat%201.png",
        "http://files:8081/pets-v2/pets/dog.png",
    ]


def test_an_object_outside_the_local_files_root_is_an_error(instance, data_dir, tmp_path):
    run_index(instance, model_output(data_dir), fmt="strict")
    root = data_dir / "other"

    with pytest.raises(FormatError, match=r"is not below -p local-files-root=.*/other: Label"):
        export(instance, tmp_path / "out", **{"local-files-root": str(root)})
    assert not (tmp_path / "out").exists()


def test_s3_objects_keep_their_s3_url_with_a_local_files_root():
    from ldb_clone.formats.label_studio.urls import ObjectUrls

    urls = ObjectUrls.from_params({"local-files-root": "/srv/files"})
    remote = ExportItem("ab" * 16, None, False, "s3://bucket/pets/a.png", "pets/a.png")
    local = ExportItem("cd" * 16, None, False, "/srv/files/pets/a b.png", "pets/a b.png")

    assert urls.url_for(remote) == "s3://bucket/pets/a.png"
    assert urls.url_for(local) == "/data/local-files/?d=pets/a%20b.png"
    assert ObjectUrls.from_params({}).url_for(remote) == "s3://bucket/pets/a.png"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"local-files-root": "/a", "url-prefix": "http://h/"},
            "Choose one of -p local-files-root and -p url-prefix",
        ),
        ({"local-files-root": "s3://bucket/x"}, "is not a local folder"),
        ({"url-prefix": "files"}, "expected a URL such as"),
        ({"as": "guesses"}, "Invalid value for parameter as: 'guesses'"),
        ({"model-version": "m1"}, "Parameter model-version needs -p as=predictions"),
    ],
)
def test_bad_parameters_are_errors(params, message, instance, data_dir, tmp_path):
    run_index(instance, model_output(data_dir), fmt="strict")
    with pytest.raises(FormatError, match=message):
        export(instance, tmp_path / "out", **params)


@pytest.fixture
def in_process_cli(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(cli._state, "verbose", 0)
    monkeypatch.setitem(cli._state, "quiet", False)
    monkeypatch.delenv("LDB_DEBUG", raising=False)
    return lambda *args: CliRunner().invoke(app, list(args))


def test_cli_unknown_parameter_lists_the_valid_ones(in_process_cli, instance, data_dir, tmp_path):
    run_index(instance, model_output(data_dir), fmt="strict")
    result = in_process_cli(
        "instantiate", "-m", "label-studio", "-t", str(tmp_path / "o"), "-p", "prefix=x", "ds:root"
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "error: Invalid parameter: prefix. Supported parameters for label-studio are: "
        "local-files-root, url-prefix, as, model-version\n"
    )


# predictions (item 2) -----------------------------------------------------------------------


def test_as_predictions_gives_scored_predictions_and_no_annotations(instance, data_dir, tmp_path):
    run_index(instance, model_output(data_dir), fmt="strict")

    tasks, _ = export(
        instance, tmp_path / "out", **{"as": "predictions", "model-version": "yolo-v8n"}
    )

    cat = by_image(tasks)["cat 1.png"]
    assert "annotations" not in cat
    (prediction,) = cat["predictions"]
    assert prediction["model_version"] == "yolo-v8n"
    choice, box = prediction["result"]
    assert (choice["value"], choice["score"]) == ({"choices": ["cat"]}, 0.9)
    assert (box["value"]["rectanglelabels"], box["score"]) == (["cat"], 0.8)
    assert prediction["score"] == 0.8  # the least sure region
    assert by_image(tasks)["dog.png"]["predictions"][0]["score"] == 0.5


def test_as_annotations_is_the_default(instance, data_dir, tmp_path):
    run_index(instance, model_output(data_dir), fmt="strict")

    tasks, _ = export(instance, tmp_path / "out")

    assert all("predictions" not in t and len(t["annotations"]) == 1 for t in tasks)


def test_a_stored_task_becomes_a_prediction_of_its_last_annotation(instance, data_dir, tmp_path):
    image = write_image(data_dir / "ls" / "a.png")
    result = {"from_name": "species", "to_name": "img", "type": "choices"}
    task = {
        "data": {"img": str(image)},
        "annotations": [
            {"result": [{**result, "value": {"choices": ["cat"]}}]},
            {"result": [{**result, "value": {"choices": ["dog"]}}], "was_cancelled": True},
        ],
        "predictions": [{"model_version": "old", "result": []}, 7],
    }
    write_json(data_dir / "ls" / "export.json", [task])
    run_index(instance, data_dir / "ls" / "export.json", fmt="label-studio")

    (written,), _ = export(instance, tmp_path / "out", **{"as": "predictions"})

    assert "annotations" not in written
    assert written["predictions"] == [
        {"model_version": "old", "result": []},
        {"model_version": "ldb", "result": [{**result, "value": {"choices": ["cat"]}}]},
    ]


def test_a_platform_classification_confidence_becomes_the_score(instance, data_dir, tmp_path):
    folder = data_dir / "platform"
    write_image(folder / "images" / "a.png", size=20)
    doc = {
        "task_type": "image_classification",
        "classes": [{"id": 0, "name": "cat"}],
        "images": [
            {
                "id": 1,
                "file_name": "a.png",
                "width": 20,
                "height": 20,
                "annotation": {"class_id": 0, "class_name": "cat", "confidence": 0.42},
            }
        ],
    }
    write_json(folder / "annotations.json", doc)
    run_index(instance, folder, fmt="platform")

    (task,), _ = export(instance, tmp_path / "out", **{"as": "predictions"})

    assert task["predictions"][0]["score"] == 0.42
    assert task["predictions"][0]["result"][0]["value"] == {"choices": ["cat"]}


# label_config.xml (item 10) -----------------------------------------------------------------


def config_of(target: Path) -> ET.Element:
    return ET.fromstring((target / "label_config.xml").read_text(encoding="utf-8"))


def controls(view: ET.Element) -> dict[str, tuple[str, str | None, list[str]]]:
    """name -> (tag, toName, values) of every element with a name."""
    return {
        e.get("name") or e.tag: (
            e.tag,
            e.get("toName") or e.get("value"),
            sorted(c.get("value") for c in e),
        )
        for e in view
    }


def test_label_config_holds_the_controls_and_values_of_image_tasks(instance, data_dir, tmp_path):
    run_index(instance, model_output(data_dir), fmt="strict")

    export(instance, tmp_path / "out")

    view = config_of(tmp_path / "out")
    assert view.tag == "View"
    assert controls(view) == {
        "image": ("Image", "$image", []),
        "class": ("Choices", "image", ["cat", "dog"]),
        "bbox": ("RectangleLabels", "image", ["cat", "dog"]),
    }


def test_label_config_keeps_the_names_of_stored_tasks(instance, data_dir, tmp_path):
    image = write_image(data_dir / "ls" / "a.png")
    results = [
        {
            "from_name": "species",
            "to_name": "img",
            "type": "choices",
            "value": {"choices": ["a", "b"]},
        },
        {"from_name": "note", "to_name": "img", "type": "textarea", "value": {"text": ["x"]}},
        {"from_name": "pts", "to_name": "img", "type": "vectorlabels", "value": {}},
    ]
    write_json(
        data_dir / "ls" / "e.json",
        [{"data": {"img": str(image)}, "annotations": [{"result": results}]}],
    )
    run_index(instance, data_dir / "ls" / "e.json", fmt="label-studio")

    _, reporter = export(instance, tmp_path / "out")

    view = config_of(tmp_path / "out")
    assert controls(view) == {
        "img": ("Image", "$img", []),
        "species": ("Choices", "img", ["a", "b"]),
        "note": ("TextArea", "img", []),
    }
    assert view.find("Choices").get("choice") == "multiple"
    assert reporter.warnings[-1] == (
        "label_config.xml has no control for results of type vectorlabels (1 results): add "
        "them to it by hand"
    )


def text_pair(folder: Path) -> Path:
    """A Korean text with two entities, a relation and a classification."""
    start = KOREAN.index("서울")
    doc = {
        "annotations": {
            "text_1": [
                {"id": "e1", "tool": "named_entity", "classification": {"entity_type": "ORG"}},
                {"id": "e2", "tool": "named_entity", "classification": {"entity_type": "LOC"}},
                {"id": "d1", "tool": "classification", "classification": {"topic": "경제"}},
            ]
        },
        "annotationsData": {
            "text_1": [
                {"id": "e1", "start": 0, "end": 4, "text": "삼성전자"},
                {"id": "e2", "start": start, "end": start + 2, "text": "서울"},
                {"id": "d1"},
            ]
        },
        "relations": {
            "text_1": [
                {
                    "id": "e1e2",
                    "annotationId": "e1",
                    "targetAnnotationId": "e2",
                    "classification": {"relation_type": "located_in"},
                    "label": ["located_in"],
                }
            ]
        },
    }
    (folder / "texts").mkdir(parents=True)
    (folder / "texts" / "ko.txt").write_text(KOREAN, encoding="utf-8")
    write_json(folder / "texts" / "ko.json", doc)
    return folder / "texts"


def test_label_config_of_text_tasks(instance, data_dir, tmp_path):
    run_index(instance, text_pair(data_dir), fmt="text")

    (task,), _ = export(instance, tmp_path / "out", **{"local-files-root": str(data_dir)})

    assert task["data"]["text"] == KOREAN  # the text travels in the task
    assert task["data"]["data-object-info"]["path"] == str(data_dir / "texts" / "ko.txt")
    view = config_of(tmp_path / "out")
    assert controls(view) == {
        "text": ("Text", "$text", []),
        "label": ("Labels", "text", ["LOC", "ORG"]),
        "topic": ("Choices", "text", ["경제"]),
        "Relations": ("Relations", None, ["located_in"]),
    }


# control names of the project a text came from (item 9) ------------------------------------


def test_text_tasks_go_back_with_their_project_control_names(instance, data_dir, tmp_path):
    """A text project whose config names its controls ner / sentence: its tasks, indexed
    with -m text and instantiated again, keep those names (not label / text)."""
    text_file = data_dir / "ner" / "a.txt"
    text_file.parent.mkdir()
    text_file.write_text("Alice works at Acme.", encoding="utf-8")
    span = {"start": 0, "end": 5, "text": "Alice", "labels": ["PER"]}
    task = {
        "data": {"text": "Alice works at Acme.", "path": str(text_file)},
        "annotations": [
            {
                "result": [
                    {
                        "id": "r1",
                        "from_name": "ner",
                        "to_name": "sentence",
                        "type": "labels",
                        "value": span,
                    }
                ]
            }
        ],
    }
    write_json(data_dir / "ner" / "export.json", [task])
    run_index(instance, data_dir / "ner" / "export.json", fmt="text")

    (written,), _ = export(instance, tmp_path / "out")

    (result,) = written["annotations"][0]["result"]
    assert (result["from_name"], result["to_name"], result["value"]) == ("ner", "sentence", span)
    assert controls(config_of(tmp_path / "out"))["ner"] == ("Labels", "sentence", ["PER"])


def test_ldb_own_text_tasks_round_trip_without_recording_names(instance, data_dir, tmp_path):
    run_index(instance, text_pair(data_dir), fmt="text")
    export(instance, tmp_path / "out")
    before = json.loads((data_dir / "texts" / "ko.json").read_text(encoding="utf-8"))

    run_index(instance, tmp_path / "out" / "annotations.json", fmt="text")
    (again,), _ = export(instance, tmp_path / "again")

    members = select_members(instance, ["ds:root"])
    assert [m.version for m in members] == [1]  # the same document: no new version
    assert "extra" not in before
    assert again["annotations"][0]["result"][0]["from_name"] == "label"


def test_instantiate_only_parameters_are_refused_by_index(instance, data_dir):
    image = write_image(data_dir / "ls" / "a.png")
    write_json(data_dir / "ls" / "e.json", [{"data": {"image": str(image)}}])
    with pytest.raises(FormatError, match="Parameter as is for instantiate -m label-studio"):
        run_index(instance, data_dir / "ls" / "e.json", fmt="label-studio", params={"as": "x"})


def test_text_in_data_text_is_never_rewritten_as_a_url(tmp_path):
    """A stored text task whose path key is data.text (the text itself) keeps its text,
    and the text is not taken for a local path."""
    task = {"data": {"text": "Alice", "data-object-info": {"path_key": '"data"."text"'}}}
    item = ExportItem("ab" * 16, task, True, str(tmp_path / "t" / "a.txt"), "t/a.txt")
    warnings: list[str] = []
    ctx = ExportContext({"local-files-root": str(tmp_path)}, "xxh3_128", warn=warnings.append)

    plan = export_label_studio(ctx, [item])

    (written,) = json.loads(plan.extra[0].data)
    assert written["data"]["text"] == "Alice"
    assert warnings == []
