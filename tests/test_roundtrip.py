"""Format round trips: index in format A into one instance, instantiate in format B into a
folder, index that folder in format B into a fresh instance: every object keeps exactly
its annotation (object ids are content hashes, so both instances agree on them)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ldb_clone.instance import Instance, init_instance, open_instance
from ldb_clone.instantiation import instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.storage import add_storage
from tests.conftest import write_image, write_json
from tests.helpers import current, oid_of, rewrite_json, run_index

UNANNOTATED = object()  # an object indexed without annotation (bare-pairs only)
NOT_ANNOTATED = (None, None)  # current() of an object without annotation

# Annotations of any JSON shape: nested objects and arrays, unicode, numbers, booleans,
# null, a top-level array, a string, an empty object; file names with dots, unicode,
# spaces and glob characters, an upper-case extension, non-image files, two objects with
# the same file name. (path below the storage location, annotation)
RICH = [
    (
        "pets/cat-1.png",
        {
            "label": "cat",
            "boxes": [[0, 1, 15, 14], [2.5, 3.25, 8, 9]],
            "meta": {"verified": True, "score": 0.875, "reviewer": None},
            "note": 'Ünïcödé 猫 🐈 "quoted" \\ back\nnew line',
        },
    ),
    (
        "pets/dog.2.png",
        {
            "label": {"dog": "beagle"},
            "count": 2,
            "ratios": [1.5, -0.25, 0.001, 10000000000],
            "flags": {"occluded": False, "truncated": True},
        },
    ),
    ("x/a.png", ["top-level", "array", 3, {"nested": [True, None, -1]}]),
    ("y/a.png", {}),
    ("z/Фото [1] 100% #x.JPEG", {"ключ": "значение", "emoji": "👍", "zero": 0, "neg": -7.5}),
    ("docs/archive.tar.gz", "a string annotation"),
    ("docs/README", None),
]
RICH_UNANNOTATED = ["pets/unlabelled.png", "x/b.png"]

# Label-only annotations, which tensorflow-inferred can carry (as folder names).
LABELS = [
    ("c1.png", {"label": "cat"}),
    ("c2.png", {"label": "cat"}),
    ("t.png", {"label": {"cat": "tabby"}}),
    ("p.png", {"label": {"bird": {"parrot": "ara"}}}),
    ("u.png", {"label": "chat noir ü 猫"}),
]

IMAGE_SUFFIXES = {".png", ".jpeg", ".jpg"}


def write_object(path: Path) -> Path:
    """A real image for image names, distinct bytes for anything else."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return write_image(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(f"not an image: {path.name}".encode())
    return path


def annotation_file(data: Path) -> Path:
    """The pair-format annotation of a data file: ``a.tar.gz`` -> ``a.tar.json``."""
    return data.with_suffix(".json")


def annotated(value: Any) -> tuple[Any, int]:
    return (value, 1)


def fresh_instance(path: Path, hash_algorithm: str = "xxh3") -> Instance:
    init_instance(path, hash_algorithm=hash_algorithm)
    return open_instance(path)


def label_path(label: Any, name: str) -> str:
    """The tensorflow-inferred path of a label: {"cat": "tabby"} -> cat/tabby/<name>."""
    parts = []
    while isinstance(label, dict):
        ((key, label),) = label.items()
        parts.append(key)
    return "/".join([*parts, label, name])


def ls_task(image: str, task_id: int, choice: str) -> dict[str, Any]:
    return {
        "id": task_id,
        "data": {"image": image},
        "annotations": [
            {
                "id": task_id * 10,
                "result": [
                    {
                        "type": "choices",
                        "from_name": "choice",
                        "to_name": "image",
                        "value": {"choices": [choice]},
                    }
                ],
                "was_cancelled": False,
                "lead_time": 3.25,
            }
        ],
        "predictions": [{"model_version": "v1 ✓", "score": 0.5, "result": []}],
        "meta": {},
    }


def with_info(task: dict[str, Any], id_key: str, oid: str) -> dict[str, Any]:
    data = {**task["data"], "data-object-info": {"path_key": '"data"."image"', id_key: oid}}
    return {**task, "data": data}


# format A: write a dataset, index it into instance 1 and return what current() must give


def source_pairs(instance, data_dir, tmp_path, content, fmt):
    expected = {}
    for rel, annotation in content:
        data = write_object(data_dir / rel)
        if annotation is UNANNOTATED:
            expected[oid_of(instance, data)] = NOT_ANNOTATED
            continue
        write_json(annotation_file(data), annotation)
        expected[oid_of(instance, data)] = annotated(annotation)
    result, _ = run_index(instance, data_dir, fmt=fmt)
    assert result.finished
    return expected


def source_strict(instance, data_dir, tmp_path, content):
    return source_pairs(instance, data_dir, tmp_path, content, "strict-pairs")


def source_bare(instance, data_dir, tmp_path, content):
    return source_pairs(instance, data_dir, tmp_path, content, "bare-pairs")


def source_annot(instance, data_dir, tmp_path, content):
    """Records in their own folder naming their objects by a path relative to the record;
    both record shapes; one file holding an array of two records."""
    records_dir = tmp_path / "records"
    expected = {}
    records = []
    for position, (rel, annotation) in enumerate(content):
        data = write_object(data_dir / rel)
        expected[oid_of(instance, data)] = annotated(annotation)
        path = os.path.relpath(data, records_dir)
        if position % 2:
            records.append({"annotation": annotation, "ldb_meta": {"path": path}})
        else:
            records.append({"annotation": annotation, "data-object-info": {"path": path}})
    write_json(records_dir / "pair.json", records[:2])
    for position, record in enumerate(records[2:]):
        write_json(records_dir / f"record-{position}.json", record)
    result, _ = run_index(instance, records_dir, fmt="annotation-only")
    assert result.finished
    return expected


def source_infer(instance, data_dir, tmp_path, content):
    expected = {}
    for name, annotation in content:
        image = write_image(data_dir / "animals" / label_path(annotation["label"], name))
        expected[oid_of(instance, image)] = annotated(annotation)
    result, _ = run_index(instance, data_dir / "animals", fmt="tensorflow-inferred")
    assert result.finished
    return expected


def source_label_studio(instance, data_dir, tmp_path, content):
    """A Label Studio export naming its images by absolute path."""
    tasks = []
    expected = {}
    for position, (rel, _) in enumerate(content):
        image = write_image(data_dir / "images" / f"{Path(rel).stem}.png")
        task = ls_task(str(image), position + 1, ["猫", "dog", "ünï"][position % 3])
        tasks.append(task)
        oid = oid_of(instance, image)
        expected[oid] = annotated(with_info(task, instance.hasher.id_key, oid))
    export = write_json(tmp_path / "ls-export" / "export.json", tasks)
    result, _ = run_index(instance, export, fmt="label-studio")
    assert result.finished
    return expected


SOURCES: dict[str, Callable[..., dict[str, Any]]] = {
    "strict": source_strict,
    "bare": source_bare,
    "annot": source_annot,
    "infer": source_infer,
    "label-studio": source_label_studio,
}

# format B
TARGETS: dict[str, tuple[str, dict[str, str]]] = {
    "strict": ("strict-pairs", {}),
    "bare": ("bare-pairs", {}),
    "annot": ("annotation-only", {}),
    "annot-single": ("annotation-only", {"single-file": "true"}),
    "infer": ("tensorflow-inferred", {}),
    "label-studio": ("label-studio", {}),
}
# annot and label-studio name objects outside the folder: the fresh instance must trust
# the folder the objects live in (a storage location), as a path named inside an
# annotation is never copied to read-add storage
NAMES_OBJECTS = {"annotation-only", "label-studio"}


def expected_after(expected: dict[str, Any], target: str) -> dict[str, Any]:
    """Only bare-pairs writes objects without an annotation."""
    if target == "bare":
        return expected
    return {oid: value for oid, value in expected.items() if value != NOT_ANNOTATED}


def index_into_fresh(
    path: Path,
    target_dir: Path,
    fmt: str,
    params: dict[str, str],
    hash_algorithm="xxh3",
    objects_in: Path | None = None,
) -> Instance:
    """A fresh instance with ``target_dir`` indexed; formats that name their objects need
    the folder holding them (``objects_in``) registered as storage too."""
    second = fresh_instance(path, hash_algorithm)
    add_storage(second, str(target_dir))
    if fmt in NAMES_OBJECTS:
        assert objects_in is not None
        add_storage(second, str(objects_in))
    result, _ = run_index(second, target_dir, fmt=fmt, params=params)
    assert result.finished
    return second


def source_content(source: str, content: str) -> list[tuple[str, Any]]:
    data = RICH if content == "rich" else LABELS
    if source in ("strict", "bare", "annot") and content == "labels":
        data = [(f"labels/{name}", value) for name, value in data]
    if source == "bare" and content == "rich":
        data = [*data, *((rel, UNANNOTATED) for rel in RICH_UNANNOTATED)]
    return data


def cases() -> Iterator[Any]:
    for source in ("strict", "bare", "annot"):
        for target in ("strict", "bare", "annot", "annot-single"):
            yield pytest.param(source, "rich", target, id=f"{source}-rich->{target}")
    for source in ("strict", "bare", "annot", "infer"):
        for target in ("strict", "bare", "annot", "annot-single", "infer"):
            yield pytest.param(source, "labels", target, id=f"{source}-labels->{target}")
    for target in ("strict", "bare", "annot", "annot-single", "label-studio"):
        yield pytest.param("label-studio", "tasks", target, id=f"label-studio->{target}")


@pytest.mark.parametrize(("source", "content", "target"), list(cases()))
def test_round_trip(source, content, target, instance, data_dir, tmp_path):
    expected = SOURCES[source](instance, data_dir, tmp_path, source_content(source, content))
    assert current(instance) == expected
    fmt, params = TARGETS[target]
    out = tmp_path / "out"

    result = instantiate(instance, select_members(instance, ["ds:root"]), str(out), fmt, params)

    kept = expected_after(expected, target)
    with_annotation = sum(value != NOT_ANNOTATED for value in kept.values())
    assert (result.data_objects, result.annotations) == (
        0 if fmt in NAMES_OBJECTS else len(kept),
        0 if fmt == "tensorflow-inferred" else with_annotation,
    )
    second = index_into_fresh(tmp_path / "inst2", out, fmt, params, objects_in=data_dir)
    try:
        assert current(second) == kept
        paths = second.catalog.object_paths(list(kept))
        stored_in = data_dir if fmt in NAMES_OBJECTS else out  # named objects: in place
        assert {
            oid: [Path(p).is_relative_to(stored_in) for _, p in rows] for oid, rows in paths.items()
        } == {oid: [True] for oid in kept}
    finally:
        second.close()


# the layouts the round trips go through ---------------------------------------------------


def flat_names(instance: Instance, data_dir: Path, rels: list[str]) -> dict[str, tuple[str, str]]:
    """object id -> (<stem>-<id>, lower-cased extension), upstream's instantiated names."""
    names = {}
    for rel in rels:
        oid = oid_of(instance, data_dir / rel)
        stem, ext = os.path.splitext(os.path.basename(rel))
        names[oid] = (f"{stem.replace('.', '-')}-{oid}", ext.lower())
    return names


def test_instantiated_files_are_what_the_formats_read(instance, data_dir, tmp_path):
    expected = source_bare(instance, data_dir, tmp_path, source_content("bare", "rich"))
    members = select_members(instance, ["ds:root"])
    for name in ("strict", "bare", "annot", "annot-single"):
        fmt, params = TARGETS[name]
        instantiate(instance, members, str(tmp_path / name), fmt, params)

    files = {
        name: sorted(
            p.relative_to(tmp_path / name).as_posix() for p in (tmp_path / name).rglob("*")
        )
        for name in ("strict", "bare", "annot", "annot-single")
    }
    flat = flat_names(instance, data_dir, [rel for rel, _ in RICH] + RICH_UNANNOTATED)
    with_annotation = [oid for oid, value in expected.items() if value != NOT_ANNOTATED]
    without = [oid for oid in expected if oid not in with_annotation]
    pairs = [flat[o][0] + flat[o][1] for o in with_annotation]
    pairs += [flat[o][0] + ".json" for o in with_annotation]
    assert files["strict"] == sorted(pairs)
    assert files["bare"] == sorted(pairs + [flat[o][0] + flat[o][1] for o in without])
    assert files["annot"] == sorted(flat[o][0] + ".json" for o in with_annotation)
    assert files["annot-single"] == ["dataset.json"]
    sources = {oid_of(instance, data_dir / rel): data_dir / rel for rel, _ in RICH}
    for oid in with_annotation:
        value = expected[oid][0]
        text = (tmp_path / "strict" / f"{flat[oid][0]}.json").read_text(encoding="utf-8")
        assert text == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
        data = sources[oid].read_bytes()
        assert (tmp_path / "strict" / "".join(flat[oid])).read_bytes() == data
        assert (tmp_path / "bare" / "".join(flat[oid])).read_bytes() == data
        record = json.loads((tmp_path / "annot" / f"{flat[oid][0]}.json").read_text("utf-8"))
        assert record == {
            "annotation": value,
            "data-object-info": {"xxh3_128": oid, "path": f"file://{sources[oid]}"},
        }
    records = json.loads((tmp_path / "annot-single" / "dataset.json").read_text("utf-8"))
    by_id = {r["data-object-info"]["xxh3_128"]: (r["annotation"], 1) for r in records}
    assert by_id == {oid: expected[oid] for oid in with_annotation}


def test_infer_layout_is_the_label_folders(instance, data_dir, tmp_path):
    expected = source_strict(instance, data_dir, tmp_path, source_content("strict", "labels"))
    out = tmp_path / "out"
    instantiate(instance, select_members(instance, ["ds:root"]), str(out), "infer", {})
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == sorted(
        label_path(value["label"], f"{Path(name).stem}-{oid}.png")
        for (name, value), oid in zip(LABELS, expected)
    )


@pytest.mark.parametrize(
    ("params", "annotations", "layout"),
    [
        (
            {"base-label": "unknown"},
            [{"label": "unknown"}, {"label": "cat"}, {"label": {"cat": "tabby"}}],
            ["", "cat", "cat/tabby"],
        ),
        (
            {"label-key": "meta.class"},
            [{"meta": {"class": "dog"}}, {"meta": {"class": {"bird": "ara"}}}],
            ["dog", "bird/ara"],
        ),
    ],
    ids=["base-label", "label-key"],
)
def test_infer_parameters_round_trip(params, annotations, layout, instance, data_dir, tmp_path):
    content = [(f"in/{n}.png", value) for n, value in enumerate(annotations)]
    expected = source_strict(instance, data_dir, tmp_path, content)
    out = tmp_path / "out"

    instantiate(instance, select_members(instance, ["ds:root"]), str(out), "infer", params)

    folders = {
        oid_of(instance, p): p.parent.relative_to(out).as_posix().removeprefix(".")
        for p in out.rglob("*.png")
    }
    assert folders == dict(zip(expected, layout))
    second = index_into_fresh(tmp_path / "inst2", out, "infer", params)
    try:
        assert current(second) == expected
    finally:
        second.close()


# unannotated objects, --preserve-paths, --annotations-only, md5 ---------------------------


def test_unannotated_objects_survive_bare_and_are_dropped_by_strict(
    ldb, instance, data_dir, tmp_path
):
    """Through the command line: bare -> bare keeps every object; bare -> strict only the
    annotated ones."""
    a = write_image(data_dir / "a.png")
    write_json(data_dir / "a.json", {"label": "a", "ok": True})
    b = write_image(data_dir / "sub" / "b.png")
    c = write_image(data_dir / "sub" / "c.png")
    ldb("index", "-m", "bare", str(data_dir), check=True)
    oid_a, oid_b, oid_c = (oid_of(instance, p) for p in (a, b, c))
    everything = {
        oid_a: annotated({"label": "a", "ok": True}),
        oid_b: NOT_ANNOTATED,
        oid_c: NOT_ANNOTATED,
    }
    assert current(instance) == everything

    for target, kept in (("bare", everything), ("strict", {oid_a: everything[oid_a]})):
        out = tmp_path / f"out-{target}"
        ldb("instantiate", "ds:root", "-m", target, "-t", str(out), check=True)
        inst2 = tmp_path / f"inst2-{target}"
        env = {"LDB_DIR": str(inst2)}
        ldb("init", str(inst2), env=env, check=True)
        ldb("add-storage", str(out), env=env, check=True)
        ldb("index", "-m", target, str(out), env=env, check=True)
        second = open_instance(inst2)
        try:
            assert current(second) == kept
        finally:
            second.close()
    assert sorted(p.name for p in (tmp_path / "out-bare").iterdir()) == sorted(
        [f"a-{oid_a}.png", f"a-{oid_a}.json", f"b-{oid_b}.png", f"c-{oid_c}.png"]
    )
    assert sorted(p.name for p in (tmp_path / "out-strict").iterdir()) == sorted(
        [f"a-{oid_a}.png", f"a-{oid_a}.json"]
    )


def test_preserve_paths_round_trip(instance, data_dir, tmp_path):
    """Objects keep their path below their storage location; one with the same path in a
    second location gets its flat name in that folder. Re-indexed: same annotations."""
    expected = source_strict(instance, data_dir, tmp_path, RICH)
    other = tmp_path / "other"
    other.mkdir()
    add_storage(instance, str(other))
    clash = write_image(other / "pets" / "cat-1.png")
    write_json(other / "pets" / "cat-1.json", {"label": "other cat", "n": 1})
    run_index(instance, other, fmt="strict")
    clash_id = oid_of(instance, clash)
    expected[clash_id] = annotated({"label": "other cat", "n": 1})
    assert current(instance) == expected
    out = tmp_path / "out"
    reporter = Reporter()
    members = select_members(instance, ["ds:root"])

    instantiate(instance, members, str(out), "strict", {}, preserve_paths=True, reporter=reporter)

    order = [m.object_id for m in members]
    cat_id = oid_of(instance, data_dir / "pets" / "cat-1.png")
    first, later = sorted((cat_id, clash_id), key=order.index)  # the first keeps the path
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    rels = [rel for rel, _ in RICH]
    names = [*rels, *(annotation_file(Path(rel)).as_posix() for rel in rels)]
    names += [f"pets/cat-1-{later}.png", f"pets/cat-1-{later}.json"]
    assert files == sorted(names)
    assert json.loads((out / "pets" / "cat-1.json").read_text("utf-8")) == expected[first][0]
    assert json.loads((out / f"pets/cat-1-{later}.json").read_text("utf-8")) == expected[later][0]
    assert oid_of(instance, out / "pets" / "cat-1.png") == first
    assert oid_of(instance, out / f"pets/cat-1-{later}.png") == later
    assert reporter.warnings == [
        "1 objects had the same path as another one and were written under their "
        "<name>-<id> name instead"
    ]
    second = index_into_fresh(tmp_path / "inst2", out, "strict-pairs", {})
    try:
        assert current(second) == expected
    finally:
        second.close()


def test_preserve_paths_same_stem_different_extension(instance, data_dir, tmp_path):
    """x/a.png and x/a.jpg would share x/a.json: the second gets its flat name."""
    content = [("x/a.png", {"label": "png"}), ("x/a.jpg", {"label": "jpg"})]
    expected = source_annot(instance, data_dir, tmp_path, content)
    out = tmp_path / "out"
    members = select_members(instance, ["ds:root"])

    instantiate(instance, members, str(out), "bare", {}, preserve_paths=True)

    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    png, jpg = (oid_of(instance, data_dir / rel) for rel, _ in content)
    order = [m.object_id for m in members]
    (first, first_ext), (later, later_ext) = sorted(
        [(png, ".png"), (jpg, ".jpg")], key=lambda pair: order.index(pair[0])
    )
    assert files == sorted(
        [f"x/a{first_ext}", "x/a.json", f"x/a-{later}{later_ext}", f"x/a-{later}.json"]
    )
    assert (json.loads((out / "x" / "a.json").read_text("utf-8")), 1) == expected[first]
    second = index_into_fresh(tmp_path / "inst2", out, "bare-pairs", {})
    try:
        assert current(second) == expected
    finally:
        second.close()


def test_preserve_paths_infer_keeps_file_names_in_label_folders(instance, data_dir, tmp_path):
    content = [("one/1.png", {"label": "cat"}), ("two/1.png", {"label": "cat"})]
    content += [("two/2.png", {"label": {"cat": "tabby"}})]
    expected = source_strict(instance, data_dir, tmp_path, content)
    out = tmp_path / "out"
    members = select_members(instance, ["ds:root"])

    instantiate(instance, members, str(out), "infer", {}, preserve_paths=True)

    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    ones = [oid_of(instance, data_dir / rel) for rel in ("one/1.png", "two/1.png")]
    later = sorted(ones, key=[m.object_id for m in members].index)[1]
    assert files == sorted(["cat/1.png", f"cat/1-{later}.png", "cat/tabby/2.png"])
    second = index_into_fresh(tmp_path / "inst2", out, "infer", {})
    try:
        assert current(second) == expected
    finally:
        second.close()


@pytest.mark.parametrize("single_file", [False, True], ids=["per-file", "single-file"])
def test_annotations_only_edit_round_trip(ldb, instance, data_dir, tmp_path, single_file):
    """Export records for review, edit one, index them back into the same instance: the
    edited object gets annotation version 2, the others stay as they were."""
    expected = source_strict(instance, data_dir, tmp_path, RICH)
    out = tmp_path / "review"
    params = ["-p", "single-file=true"] if single_file else []
    ldb(
        "instantiate",
        "ds:root",
        "-m",
        "annot",
        "--annotations-only",
        *params,
        "-t",
        str(out),
        check=True,
    )
    edited_id = oid_of(instance, data_dir / "pets" / "dog.2.png")
    edited = {"label": {"dog": "beagle"}, "count": 3, "reviewed": "✓ José", "ok": True}
    if single_file:
        [record_file] = list(out.iterdir())
        records = json.loads(record_file.read_text("utf-8"))
        assert len(records) == len(RICH)
        [record] = [r for r in records if r["data-object-info"]["xxh3_128"] == edited_id]
        record["annotation"] = edited
        rewrite_json(record_file, records)
    else:
        assert len(list(out.iterdir())) == len(RICH)
        record_file = out / f"dog-2-{edited_id}.json"
        record = json.loads(record_file.read_text("utf-8"))
        assert record["annotation"] == expected[edited_id][0]
        rewrite_json(record_file, {**record, "annotation": edited})
    assert [p for p in out.rglob("*") if p.suffix != ".json"] == []

    done = ldb("index", "-m", "annot", *params, str(out), check=True)

    assert "  New data objects:              0\n" in done.stdout
    assert "  New annotations:               1\n" in done.stdout
    assert current(instance) == {**expected, edited_id: (edited, 2)}


def test_strict_annotations_only_writes_only_annotation_files(instance, data_dir, tmp_path):
    expected = source_strict(instance, data_dir, tmp_path, RICH)
    out = tmp_path / "out"
    members = select_members(instance, ["ds:root"])

    instantiate(instance, members, str(out), "strict", {}, annotations_only=True)

    written = {p.name: (json.loads(p.read_text("utf-8")), 1) for p in out.iterdir()}
    flat = flat_names(instance, data_dir, [rel for rel, _ in RICH])
    assert written == {f"{flat[oid][0]}.json": value for oid, value in expected.items()}


@pytest.mark.parametrize("second_hash", ["md5", "xxh3"])
def test_md5_instance_round_trip_through_annotation_only(tmp_path, second_hash):
    """An md5 instance writes its ids under "md5"; a fresh md5 instance reads them back
    with the same ids; an xxh3 instance takes them as a hint and hashes the path."""
    first = fresh_instance(tmp_path / "md5-instance", "md5")
    try:
        data = tmp_path / "md5-data"
        data.mkdir()
        add_storage(first, str(data))
        expected = source_strict(first, data, tmp_path, RICH)
        md5 = {
            hashlib.md5((data / rel).read_bytes()).hexdigest(): annotated(value)
            for rel, value in RICH
        }
        assert current(first) == expected == md5
        out = tmp_path / "out"
        instantiate(first, select_members(first, ["ds:root"]), str(out), "annot", {})
    finally:
        first.close()
    records = [json.loads(p.read_text("utf-8")) for p in out.iterdir()]
    assert {r["data-object-info"]["md5"]: annotated(r["annotation"]) for r in records} == md5
    assert all(sorted(r["data-object-info"]) == ["md5", "path"] for r in records)

    second = index_into_fresh(
        tmp_path / "inst2", out, "annotation-only", {}, second_hash, objects_in=data
    )
    try:
        if second_hash == "md5":
            assert current(second) == md5
        else:
            assert current(second) == {
                oid_of(second, data / rel): annotated(value) for rel, value in RICH
            }
    finally:
        second.close()


def test_label_studio_relative_image_becomes_the_recorded_location(instance, data_dir, tmp_path):
    """A task naming its image relative to the export is written with the object's
    recorded location (documented); everything else of the task is unchanged."""
    image = write_image(data_dir / "images" / "rel.png")
    export = tmp_path / "ls-export" / "export.json"
    task = ls_task(os.path.relpath(image, export.parent), 1, "猫")
    write_json(export, [task])
    run_index(instance, export, fmt="label-studio")
    oid = oid_of(instance, image)
    assert current(instance) == {oid: annotated(with_info(task, "xxh3_128", oid))}
    out = tmp_path / "out"

    instantiate(instance, select_members(instance, ["ds:root"]), str(out), "label-studio", {})

    moved = {**task, "data": {"image": str(image)}}
    second = index_into_fresh(tmp_path / "inst2", out, "label-studio", {}, objects_in=data_dir)
    try:
        assert current(second) == {oid: annotated(with_info(moved, "xxh3_128", oid))}
    finally:
        second.close()


# the command line, once per target format -------------------------------------------------


@pytest.mark.parametrize(
    ("source", "content", "target"),
    [
        ("strict", "rich", "strict"),
        ("annot", "rich", "bare"),
        ("bare", "rich", "annot"),
        ("strict", "rich", "annot-single"),
        ("infer", "labels", "infer"),
        ("label-studio", "tasks", "label-studio"),
    ],
)
def test_round_trip_cli(ldb, source, content, target, instance, data_dir, tmp_path):
    expected = SOURCES[source](instance, data_dir, tmp_path, source_content(source, content))
    fmt, params = TARGETS[target]
    p_args = [a for key, value in params.items() for a in ("-p", f"{key}={value}")]
    out = tmp_path / "out"

    done = ldb("instantiate", "ds:root", "-m", fmt, *p_args, "-t", str(out), "--json", check=True)

    kept = expected_after(expected, target)
    report = json.loads(done.stdout)
    written = sum(value != NOT_ANNOTATED for value in kept.values())
    if fmt == "tensorflow-inferred":
        written = 0
    assert (report["format"], report["annotations"]) == (fmt, written)
    inst2 = tmp_path / "inst2"
    env = {"LDB_DIR": str(inst2)}
    ldb("init", str(inst2), env=env, check=True)
    ldb("add-storage", str(out), env=env, check=True)
    if fmt in NAMES_OBJECTS:
        ldb("add-storage", str(data_dir), env=env, check=True)
    indexed = ldb("index", "-m", fmt, *p_args, str(out), env=env, check=True)
    # annotation-only: every record names an object this instance does not know yet, so
    # its path is read and hashed: a data object found, as upstream counts it
    found = written if fmt == "annotation-only" else len(kept)
    assert f"  {'Found data objects:':<23}{found:>9}\n" in indexed.stdout
    second = open_instance(inst2)
    try:
        assert current(second) == kept
    finally:
        second.close()


@pytest.mark.parametrize("target", ["strict", "bare", "infer"])
def test_instantiating_the_copy_again_gives_the_same_files(target, instance, data_dir, tmp_path):
    """Flat names already ending in the id are kept: instance 2 writes the very files
    instance 1 wrote."""
    content = "labels" if target == "infer" else "rich"
    SOURCES["bare"](instance, data_dir, tmp_path, source_content("strict", content))
    fmt, params = TARGETS[target]
    first_out, second_out = tmp_path / "out-1", tmp_path / "out-2"
    instantiate(instance, select_members(instance, ["ds:root"]), str(first_out), fmt, params)
    second = index_into_fresh(tmp_path / "inst2", first_out, fmt, params)
    try:
        instantiate(second, select_members(second, ["ds:root"]), str(second_out), fmt, params)
    finally:
        second.close()

    def tree(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }

    assert tree(second_out) == tree(first_out)
    assert len(tree(first_out)) == len(RICH if content == "rich" else LABELS) * (
        1 if target == "infer" else 2
    )
