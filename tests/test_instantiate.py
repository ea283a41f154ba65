"""ldb instantiate and ldb get: layouts, target rules, transforms, --apply, safety."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest

import ldb_clone.instantiation
from ldb_clone.errors import FormatError, LdbError
from ldb_clone.instantiation import STAGING_PREFIX, export_items, instantiate
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.workspace import WorkspaceError
from tests.helpers import oid_of, run_index

PETS = {"cat-1": {"label": "cat", "n": 1}, "dog.small": {"label": "dog"}, "Bird": None}


@pytest.fixture
def pets(instance, data_dir, make_image, make_json):
    """Two annotated images (one with dots in its name), one unannotated upper-case .PNG."""
    paths = {}
    for stem, annotation in PETS.items():
        ext = ".PNG" if stem == "Bird" else ".png"
        paths[stem] = make_image(data_dir / "pets" / f"{stem}{ext}")
        if annotation is not None:
            make_json(data_dir / "pets" / f"{stem}.json", annotation)
    run_index(instance, data_dir / "pets", fmt="bare")
    return paths


def root(instance):
    return select_members(instance, ["ds:root"])


def files_below(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if (p.is_file() or p.is_symlink()) and ".ldb_workspace" not in p.parts
    )


def test_bare_pairs_layout(instance, pets, tmp_path):
    target = tmp_path / "out"
    result = instantiate(instance, root(instance), str(target))
    ids = {stem: oid_of(instance, path) for stem, path in pets.items()}
    assert files_below(target) == sorted(
        [
            f"cat-1-{ids['cat-1']}.png",
            f"cat-1-{ids['cat-1']}.json",
            f"dog-small-{ids['dog.small']}.png",
            f"dog-small-{ids['dog.small']}.json",
            f"Bird-{ids['Bird']}.png",
        ]
    )
    assert (result.data_objects, result.annotations) == (3, 2)
    text = (target / f"cat-1-{ids['cat-1']}.json").read_text(encoding="utf-8")
    assert text == '{\n  "label": "cat",\n  "n": 1\n}'
    assert (target / f"cat-1-{ids['cat-1']}.png").read_bytes() == pets["cat-1"].read_bytes()


def test_strict_pairs_leaves_unannotated_objects_out(instance, pets, tmp_path):
    result = instantiate(instance, root(instance), str(tmp_path / "out"), "strict")
    assert (result.data_objects, result.annotations) == (2, 2)
    assert len(files_below(tmp_path / "out")) == 4


def test_annotations_only_and_preserve_paths(instance, pets, tmp_path):
    result = instantiate(
        instance, root(instance), str(tmp_path / "a"), "bare", annotations_only=True
    )
    assert (result.data_objects, result.annotations) == (0, 2)
    assert all(name.endswith(".json") for name in files_below(tmp_path / "a"))

    instantiate(instance, root(instance), str(tmp_path / "p"), "bare", preserve_paths=True)
    assert files_below(tmp_path / "p") == [
        "pets/Bird.PNG",
        "pets/cat-1.json",
        "pets/cat-1.png",
        "pets/dog.small.json",
        "pets/dog.small.png",
    ]
    with pytest.raises(FormatError, match="tensorflow-inferred has no annotation files"):
        instantiate(instance, root(instance), str(tmp_path / "i"), "infer", annotations_only=True)
    assert not (tmp_path / "i").exists()


def test_preserve_paths_resolves_collisions(instance, data_dir, make_image, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    from ldb_clone.storage import add_storage

    add_storage(instance, str(other))
    make_image(data_dir / "x" / "a.png")
    make_image(other / "x" / "a.png")
    run_index(instance, data_dir, other, fmt="bare")
    reporter = Reporter()
    instantiate(
        instance, root(instance), str(tmp_path / "out"), preserve_paths=True, reporter=reporter
    )
    names = files_below(tmp_path / "out")
    assert len(names) == 2 and "x/a.png" in names
    assert next(n for n in names if n != "x/a.png").startswith("x/a-")
    assert reporter.warnings and "same path" in reporter.warnings[0]


def test_tensorflow_inferred_layout(instance, data_dir, make_image, tmp_path):
    make_image(data_dir / "animals" / "cat" / "1.png")
    make_image(data_dir / "animals" / "cat" / "tabby" / "2.png")
    make_image(data_dir / "animals" / "3.png")
    run_index(instance, data_dir / "animals", fmt="infer", params={"base-label": "none"})
    result = instantiate(
        instance, root(instance), str(tmp_path / "out"), "infer", {"base-label": "none"}
    )
    names = files_below(tmp_path / "out")
    assert [n.split("-")[0] for n in names] == ["3", "cat/1", "cat/tabby/2"]
    assert (result.data_objects, result.annotations) == (3, 0)


def test_tensorflow_inferred_needs_annotations(instance, pets, tmp_path):
    with pytest.raises(FormatError, match="Missing annotation for data object: id:"):
        instantiate(instance, root(instance), str(tmp_path / "out"), "infer")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "label",
    ["../x", "/etc", "a/../../b", "", ".", "..", "a\0b", "x/y", None, ["a"], {"a": 1, "b": 2}],
)
def test_unsafe_labels_are_refused(instance, data_dir, make_image, make_json, tmp_path, label):
    image = make_image(data_dir / "evil.png")
    make_json(data_dir / "evil.json", {"label": label})
    run_index(instance, data_dir, fmt="strict")
    (tmp_path / "deep").mkdir()
    with pytest.raises(FormatError, match=f"id:{oid_of(instance, image)}"):
        instantiate(instance, root(instance), str(tmp_path / "deep" / "out"), "infer")
    # nothing was written anywhere below tmp_path but the instance and the data
    written = {p.name for p in tmp_path.iterdir()}
    assert written <= {"instance", "data", "home", "deep"}
    assert files_below(tmp_path / "deep") == []


def test_nested_unsafe_label_is_refused(instance, data_dir, make_image, make_json, tmp_path):
    make_image(data_dir / "evil.png")
    make_json(data_dir / "evil.json", {"label": {"ok": {"..": "x"}}})
    run_index(instance, data_dir, fmt="strict")
    with pytest.raises(FormatError, match="Unsafe label"):
        instantiate(instance, root(instance), str(tmp_path / "out"), "infer")


def test_numeric_labels_become_folders(instance, data_dir, make_image, make_json, tmp_path):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": 7})
    run_index(instance, data_dir, fmt="strict")
    instantiate(instance, root(instance), str(tmp_path / "out"), "infer")
    assert files_below(tmp_path / "out")[0].startswith("7/a-")


def test_annotation_only_layout(instance, pets, tmp_path):
    result = instantiate(instance, root(instance), str(tmp_path / "out"), "annot")
    assert (result.data_objects, result.annotations) == (0, 2)
    cat_id = oid_of(instance, pets["cat-1"])
    record = json.loads((tmp_path / "out" / f"cat-1-{cat_id}.json").read_text())
    assert record == {
        "annotation": {"label": "cat", "n": 1},
        "data-object-info": {"path": f"file://{pets['cat-1']}", "xxh3_128": cat_id},
    }
    instantiate(instance, root(instance), str(tmp_path / "one"), "annot", {"single-file": "true"})
    assert files_below(tmp_path / "one") == ["dataset.json"]
    records = json.loads((tmp_path / "one" / "dataset.json").read_text())
    assert sorted(r["annotation"]["label"] for r in records) == ["cat", "dog"]


def test_annotation_only_records_transforms(instance, instance_dir, pets, tmp_path, ldb):
    with open(instance_dir / "config", "a", encoding="utf-8") as f:
        f.write('\n[transform.flip]\nrun = ["python3", "flip.py"]\n')
    ldb("stage", "ds:p", "-t", "ws", check=True)
    os.chdir(tmp_path / "ws")
    ldb("add", "ds:root", check=True)
    ldb("transform", "-a", "flip", "--query", "label == `cat`", check=True)
    ldb("instantiate", "-m", "annot", "-t", str(tmp_path / "out"), check=True)
    records = [json.loads(p.read_text()) for p in (tmp_path / "out").iterdir()]
    with_meta = [r for r in records if "ldb-meta" in r]
    assert len(with_meta) == 1 and with_meta[0]["annotation"]["label"] == "cat"
    names = sorted(t["name"] for t in with_meta[0]["ldb-meta"]["transforms"])
    assert names == ["flip", "self"]


def test_md5_instance_writes_md5_keys(tmp_path, make_image, make_json, monkeypatch):
    from ldb_clone.instance import init_instance, open_instance
    from ldb_clone.storage import add_storage

    init_instance(tmp_path / "md5inst", hash_algorithm="md5")
    inst = open_instance(tmp_path / "md5inst")
    (tmp_path / "d").mkdir()
    add_storage(inst, str(tmp_path / "d"))
    image = make_image(tmp_path / "d" / "a.png")
    make_json(tmp_path / "d" / "a.json", {"label": "x"})
    run_index(inst, tmp_path / "d", fmt="strict")
    instantiate(inst, root(inst), str(tmp_path / "out"), "annot")
    (record_file,) = (tmp_path / "out").iterdir()
    info = json.loads(record_file.read_text())["data-object-info"]
    import hashlib

    assert info["md5"] == hashlib.md5(image.read_bytes()).hexdigest()
    inst.close()


def label_studio_export(folder: Path, make_image) -> Path:
    tasks = []
    for n, label in enumerate(["cat", "dog"]):
        make_image(folder / "images" / f"{label}.png")
        tasks.append(
            {
                "id": n + 1,
                "data": {"image": f"images/{label}.png"},
                "annotations": [{"result": [{"type": "choices", "value": {"choices": [label]}}]}],
                "predictions": [n + 1, {"result": [], "model_version": "m"}],
            }
        )
    export = folder / "export.json"
    export.write_text(json.dumps(tasks), encoding="utf-8")
    return export


def test_label_studio_layout(instance, data_dir, make_image, tmp_path):
    export = label_studio_export(data_dir / "ls", make_image)
    run_index(instance, export, fmt="label-studio")
    reporter = Reporter()
    result = instantiate(
        instance, root(instance), str(tmp_path / "out"), "label-studio", reporter=reporter
    )
    assert files_below(tmp_path / "out") == ["annotations.json", "label_config.xml"]
    assert (result.data_objects, result.annotations) == (0, 2)
    tasks = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert sorted(t["data"]["image"] for t in tasks) == [
        str(data_dir / "ls" / "images" / "cat.png"),
        str(data_dir / "ls" / "images" / "dog.png"),
    ]
    assert all(t["predictions"] == [{"result": [], "model_version": "m"}] for t in tasks)
    assert all(t["data"]["data-object-info"]["path_key"] == '"data"."image"' for t in tasks)
    assert reporter.warnings == [
        "Dropped 2 predictions entries that are not objects (prediction ids from a Label "
        "Studio export), so that Label Studio can import annotations.json",
        "2 tasks name their object by a local path, which Label Studio cannot load: set "
        "-p local-files-root=DIR (its local-files document root) or -p url-prefix=URL",
    ]


def test_label_studio_needs_tasks(instance, data_dir, make_image, make_json, tmp_path):
    """Tasks, or annotations a converter turns into one (not this one)."""
    make_image(data_dir / "odd" / "a.png")
    make_json(data_dir / "odd" / "a.json", {"n": 1})
    run_index(instance, data_dir / "odd", fmt="strict")
    with pytest.raises(FormatError, match="Malformatted annotation for data object: id:"):
        instantiate(instance, root(instance), str(tmp_path / "out"), "label-studio")


# target rules ------------------------------------------------------------------------------


def test_target_rules(instance, pets, tmp_path, ldb):
    members = root(instance)
    with pytest.raises(WorkspaceError, match="Parent directory does not exist"):
        instantiate(instance, members, str(tmp_path / "no" / "such"))
    assert not (tmp_path / "no").exists()

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(WorkspaceError, match="Not a workspace or an empty directory"):
        instantiate(instance, members, str(busy), force=True)
    assert files_below(busy) == ["keep.txt"]

    ldb("stage", "ds:x", "-t", "ws", check=True)
    ws = tmp_path / "ws"
    instantiate(instance, members, str(ws))
    before = files_below(ws)
    with pytest.raises(WorkspaceError, match="Workspace is not empty"):
        instantiate(instance, members, str(ws), "strict")
    assert files_below(ws) == before
    instantiate(instance, members, str(ws), "strict", force=True)
    assert len(files_below(ws)) == 4  # the bare-pairs files were replaced by the strict ones
    assert not list(ws.glob(STAGING_PREFIX + "*"))


def test_a_failure_leaves_the_target_as_it_was(instance, pets, tmp_path):
    pets["dog.small"].unlink()  # indexed, now gone, with no other path
    target = tmp_path / "out"
    with pytest.raises(LdbError, match=r"Unable to copy data object id:.*dog\.small\.png"):
        instantiate(instance, root(instance), str(target))
    assert not target.exists()
    target.mkdir()
    with pytest.raises(LdbError):
        instantiate(instance, root(instance), str(target))
    assert list(target.iterdir()) == []


def test_a_moved_object_is_copied_from_another_path(instance, pets, data_dir, tmp_path):
    copy = data_dir / "copies" / "cat.png"
    copy.parent.mkdir()
    copy.write_bytes(pets["cat-1"].read_bytes())
    run_index(instance, copy, fmt="bare")
    pets["cat-1"].unlink()
    instantiate(instance, root(instance), str(tmp_path / "out"), "strict")
    assert len(files_below(tmp_path / "out")) == 4


def test_link_shares_bytes_and_never_is_the_default(instance, pets, tmp_path, monkeypatch):
    import fcntl

    cloned = set()  # inodes a copy-on-write clone (FICLONE) of succeeded, where supported
    real_ioctl = fcntl.ioctl

    def recording_ioctl(fd, request, source_fd, *args):
        answer = real_ioctl(fd, request, source_fd, *args)
        cloned.add(os.fstat(source_fd).st_ino)
        return answer

    monkeypatch.setattr(fcntl, "ioctl", recording_ioctl)
    instantiate(instance, root(instance), str(tmp_path / "copy"))
    assert cloned == set()  # a plain instantiate never clones
    instantiate(instance, root(instance), str(tmp_path / "link"), link=True)
    for name in files_below(tmp_path / "link"):
        linked, copied = tmp_path / "link" / name, tmp_path / "copy" / name
        assert linked.read_bytes() == copied.read_bytes()
        assert copied.stat().st_nlink == 1
    for stem, source in pets.items():
        pattern = f"{stem.replace('.', '-')}-*{source.suffix.lower()}"
        linked = next((tmp_path / "link").glob(pattern))
        copied = tmp_path / "copy" / linked.name
        assert copied.stat().st_ino != source.stat().st_ino
        # a hard link is the source's inode; a clone is a new inode sharing its blocks
        hard_link = (linked.stat().st_dev, linked.stat().st_ino) == (
            source.stat().st_dev,
            source.stat().st_ino,
        )
        assert hard_link or source.stat().st_ino in cloned, f"{linked.name} was copied"


# transforms and --apply -------------------------------------------------------------------

TRANSFORM = """
import json, os, shutil, sys
request = json.load(sys.stdin)
assert set(request) >= {"transform_name", "output_dir", "data_object"}, request
name = os.path.basename(request["data_object"])
shutil.copy(request["data_object"], os.path.join(request["output_dir"], "t-" + name))
if "annotation" in request:
    with open(request["annotation"]) as f:
        value = json.load(f)
    value["by"] = request["transform_name"]
    stem = os.path.splitext("t-" + name)[0]
    with open(os.path.join(request["output_dir"], stem + ".json"), "w") as f:
        json.dump(value, f)
"""


@pytest.fixture
def transformed_ws(instance, instance_dir, pets, tmp_path, ldb, monkeypatch):
    """A workspace with every pet; cats get the `twin` transform too, dogs only `twin`."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "twin.py").write_text(TRANSFORM)
    with open(instance_dir / "config", "a", encoding="utf-8") as f:
        # a relative script path: it runs in the caller's directory
        f.write(f'\n[transform.twin]\nrun = ["{sys.executable}", "scripts/twin.py"]\n')
    ldb("stage", "ds:p", "-t", "ws", check=True)
    monkeypatch.chdir(tmp_path / "ws")
    ldb("add", "ds:root", check=True)
    ldb("transform", "-a", "twin", "--query", "label == `cat`", check=True)
    ldb("transform", "-s", "twin", "--query", "label == `dog`", check=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "ws"


def test_exec_transforms_run_in_the_callers_directory(transformed_ws, tmp_path, ldb):
    out = ldb("instantiate", "ws:ws", "-m", "strict", "-t", "out", check=True).stdout
    assert "Data objects:         2" in out
    names = files_below(tmp_path / "out")
    assert sum(n.startswith("t-cat-1-") for n in names) == 2  # the transform's pair
    assert sum(n.startswith("cat-1-") for n in names) == 2  # self: the raw pair
    assert sum(n.startswith("t-dog-small-") for n in names) == 2
    assert not any(n.startswith("dog-small-") for n in names)  # no self for the dog
    made = next((tmp_path / "out").glob("t-cat-1-*.json"))
    assert json.loads(made.read_text())["by"] == "twin"


def test_a_failing_transform_names_the_object(transformed_ws, tmp_path, ldb):
    (tmp_path / "scripts" / "twin.py").write_text("import sys; sys.exit('no good')")
    result = ldb("instantiate", "ws:ws", "-t", "out")
    assert result.returncode == 1
    assert result.stderr.startswith("error: transform twin (for id:")
    assert "exited with code 1: no good" in result.stderr
    assert not (tmp_path / "out").exists()


APPLY = """
import json, os, shutil, sys
raw, final = json.load(sys.stdin)
for name in os.listdir(raw):
    shutil.copy(os.path.join(raw, name), os.path.join(final, "applied-" + name))
"""


def test_apply(instance, pets, tmp_path, ldb):
    (tmp_path / "apply.py").write_text(APPLY)
    result = ldb(
        "instantiate", "ds:root", "-t", "out", "--apply", sys.executable, "apply.py", check=True
    )
    assert "Data objects:         3" in result.stdout
    names = files_below(tmp_path / "out")
    assert len(names) == 5 and all(n.startswith("applied-") for n in names)
    assert not list((tmp_path / "out").glob(STAGING_PREFIX + "*"))

    (tmp_path / "apply.py").write_text("import sys; sys.exit(3)")
    failed = ldb("instantiate", "ds:root", "-t", "out2", "--apply", sys.executable, "apply.py")
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: --apply ") and "exited with code 3" in failed.stderr
    assert not (tmp_path / "out2").exists()


# get --------------------------------------------------------------------------------------


def test_get_stages_adds_and_writes_additively(instance, pets, tmp_path, ldb):
    first = ldb("get", "ds:root", "--query", "label == `cat`", "-t", "got", check=True).stdout
    lines = first.splitlines()
    assert lines[0].startswith("Staged ds:.temp.") and lines[0].endswith(" at 'got'")
    assert "Adding to working dataset...\nInstantiating data...\n" in first
    assert lines[-2:] == ["  Data objects:         1", "  Annotations:          1"]
    (tmp_path / "got" / "mine.txt").write_text("kept")
    ldb("get", "ds:root", "--query", "label == `dog`", "-t", "got", check=True)
    names = files_below(tmp_path / "got")
    assert "mine.txt" in names
    assert sum(n.endswith(".png") for n in names) == 2

    os.chdir(tmp_path / "got")
    listed = ldb("list", "-s", check=True).stdout
    assert listed.strip() == "2"
    committed = ldb("commit", check=False)
    assert committed.returncode == 1 and "temporary" in committed.stderr


def test_get_honours_params_and_refuses_busy_folders(
    instance, data_dir, make_image, make_json, tmp_path, ldb
):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"kind": {"name": "cat"}})
    run_index(instance, data_dir, fmt="strict")
    ldb("get", "ds:root", "-m", "infer", "-p", "label-key=kind.name", "-t", "g", check=True)
    assert files_below(tmp_path / "g")[0].startswith("cat/a-")

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("")
    result = ldb("get", "ds:root", "-t", "busy")
    assert result.returncode == 1
    assert "Target must be empty, missing, or a valid workspace" in result.stderr


def test_cli_errors_are_one_line(instance, pets, tmp_path, ldb):
    outside = ldb("instantiate", "-t", "out")
    assert outside.returncode == 1 and outside.stderr.startswith("error: Not in a workspace")
    bad = ldb("instantiate", "ds:root", "-m", "nope", "-t", "out")
    assert bad.returncode == 2
    param = ldb("instantiate", "ds:root", "-m", "strict", "-p", "x=1", "-t", "out")
    assert param.returncode == 1
    assert (
        param.stderr
        == "error: Invalid parameter: x. No parameters are supported for strict-pairs\n"
    )
    for result in (outside, param):
        assert "Traceback" not in result.stderr
    json_out = ldb("instantiate", "ds:root", "-t", "j", "--json", check=True)
    assert json.loads(json_out.stdout)["data_objects"] == 3


def test_remote_target(instance, pets, tmp_path):
    """A URL target is built locally and uploaded (fsspec's in-memory filesystem here;
    S3 has its own tests against a server)."""
    import fsspec

    fs = fsspec.filesystem("memory")
    result = instantiate(instance, root(instance), "memory://bucket/ds", "strict")
    assert result.target == "memory://bucket/ds"
    assert len(fs.find("/bucket/ds")) == 4
    with pytest.raises(WorkspaceError, match="Not an empty location"):
        instantiate(instance, root(instance), "memory://bucket/ds", "strict")
    fs.rm("/bucket", recursive=True)


def test_export_items_carry_locations(instance, pets, data_dir):
    items = {i.file_name: i for i in export_items(instance, root(instance))}
    assert items["cat-1.png"].relative_path == "pets/cat-1.png"
    assert items["cat-1.png"].url == str(pets["cat-1"])
    assert items["Bird.PNG"].has_annotation is False


def test_a_new_target_gets_normal_permissions_and_leaves_nothing_beside_it(
    instance, pets, tmp_path
):
    mask = os.umask(0o022)
    try:
        instantiate(instance, root(instance), str(tmp_path / "new"))
    finally:
        os.umask(mask)
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o755
    pets["cat-1"].unlink()
    with pytest.raises(LdbError):
        instantiate(instance, root(instance), str(tmp_path / "failed"))
    assert not list(tmp_path.glob(STAGING_PREFIX + "*"))
    assert not (tmp_path / "failed").exists()


def test_annotations_orjson_refuses_are_written_as_stored(instance, data_dir, make_image, tmp_path):
    """Stored annotations are loaded with orjson, and with the standard library where
    orjson refuses: an integer beyond 64 bits. (NaN is refused when indexing.)"""
    make_image(data_dir / "big.png")
    (data_dir / "big.json").write_text('{"label": "cat", "n": 1180591620717411303424}')
    run_index(instance, data_dir, fmt="strict")

    (item,) = export_items(instance, select_members(instance, ["ds:root"]))

    assert item.annotation["n"] == 2**70


# local files written by two threads, a share of whole folders each ------------------------


def label_folders(instance, data_dir, make_image) -> None:
    for n in range(12):
        make_image(data_dir / "animals" / ("cat", "dog", "bird")[n % 3] / f"{n}.png")
    run_index(instance, data_dir / "animals", fmt="infer")


def test_two_writers_write_the_same_files_as_one(
    instance, data_dir, make_image, tmp_path, monkeypatch
):
    label_folders(instance, data_dir, make_image)
    threads: dict[str, set[str]] = {}
    original = ldb_clone.instantiation._Writer._write_one

    def recording(self, out):
        folder = os.path.dirname(out.path)
        threads.setdefault(threading.current_thread().name, set()).add(folder)
        original(self, out)

    monkeypatch.setattr(ldb_clone.instantiation._Writer, "_write_one", recording)
    monkeypatch.setattr(ldb_clone.instantiation, "SHARED_WRITE_MIN", 0)
    instantiate(instance, root(instance), str(tmp_path / "two"), "infer")
    assert len(threads) == 2
    first, second = threads.values()
    assert first and second and not first & second  # whole folders each

    monkeypatch.setattr(ldb_clone.instantiation, "SHARED_WRITE_MIN", 10**9)
    threads.clear()
    instantiate(instance, root(instance), str(tmp_path / "one"), "infer")
    assert len(threads) == 1
    names = files_below(tmp_path / "one")
    assert files_below(tmp_path / "two") == names and len(names) == 12
    for name in names:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_two_shares_keep_folders_whole_and_balance_them():
    from ldb_clone.instantiation import _two_shares

    def out(path, size):
        return ldb_clone.instantiation.OutFile(path=path, data=b"x" * size)

    files = [out(f"a/{n}", 10) for n in range(6)] + [out(f"b/{n}", 10) for n in range(5)]
    files += [out("c/big", 400_000), out("d/0", 1)]
    shares = _two_shares(files)
    assert sorted(id(f) for f in shares[0] + shares[1]) == sorted(id(f) for f in files)
    folders = [{os.path.dirname(f.path) for f in share} for share in shares]
    assert not folders[0] & folders[1]
    assert {"c"} in [folders[0] - {"d"}, folders[1] - {"d"}]  # the big one alone
    assert _two_shares([out("a/1", 1), out("a/2", 1)]) is None


def test_a_failure_in_the_second_writer_leaves_the_target_as_it_was(
    instance, data_dir, make_image, tmp_path, monkeypatch
):
    label_folders(instance, data_dir, make_image)
    monkeypatch.setattr(ldb_clone.instantiation, "SHARED_WRITE_MIN", 0)
    for n in range(12):  # every object gone from storage, in both shares
        (data_dir / "animals" / ("cat", "dog", "bird")[n % 3] / f"{n}.png").unlink()
    target = tmp_path / "out"
    with pytest.raises(LdbError, match=r"Unable to copy data object id:"):
        instantiate(instance, root(instance), str(target), "infer")
    assert not target.exists()
