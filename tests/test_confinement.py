"""Paths that arrive inside annotation files stay inside the storage locations (SPEC 6).

An annotation naming ``file:///etc/shadow``, ``../../etc/passwd`` or a symlink that leads
out of storage is refused before the file is read, even when a read-add location exists
(only paths given on the command line may be copied there).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone import cli
from ldb_clone.errors import LdbError, NotInStorageError
from ldb_clone.instance import Instance
from ldb_clone.storage import add_storage
from tests.conftest import write_image, write_json
from tests.helpers import current, run_index


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside every storage location (an image, so every format could take it)."""
    return write_image(tmp_path / "secret" / "shadow.png")


@pytest.fixture
def read_add(tmp_path: Path, instance: Instance, data_dir: Path) -> Path:
    path = tmp_path / "read-add"
    path.mkdir()
    add_storage(instance, str(path), read_add=True)
    return path


def label_studio(folder: Path, named: str) -> tuple[Path, str]:
    return write_json(folder / "tasks.json", [{"data": {"image": named}}]), "label-studio"


def annotation_only(folder: Path, named: str) -> tuple[Path, str]:
    record = {"annotation": {"label": "x"}, "data-object-info": {"path": named}}
    return write_json(folder / "record.json", record), "annotation-only"


def coco(folder: Path, named: str) -> tuple[Path, str]:
    doc = {
        "images": [{"id": 1, "file_name": named, "width": 16, "height": 16}],
        "annotations": [],
        "categories": [{"id": 1, "name": "cat"}],
    }
    return write_json(folder / "coco.json", doc), "coco"


def text_task(folder: Path, named: str) -> tuple[Path, str]:
    task = {"data": {"text": "hello", "document": named}}
    return write_json(folder / "texts.json", [task]), "text"


WRITERS = [label_studio, annotation_only, coco, text_task]


def named_forms(secret: Path, annotation_folder: Path) -> dict[str, str]:
    """The ways an annotation can name the secret file."""
    relative = os.path.relpath(secret, annotation_folder)
    return {"file-url": f"file://{secret}", "absolute": str(secret), "dot-dot": relative}


@pytest.mark.parametrize("form", ["file-url", "absolute", "dot-dot"])
@pytest.mark.parametrize("write", WRITERS, ids=lambda w: w.__name__)
def test_an_annotation_cannot_name_a_file_outside_storage(
    instance, data_dir, read_add, secret, write, form
):
    folder = data_dir / "labels"
    named = named_forms(secret, folder)[form]
    annotation, fmt = write(folder, named)
    with pytest.raises(NotInStorageError) as raised:
        run_index(instance, annotation, fmt=fmt)
    message = str(raised.value)
    assert str(annotation) in message and str(secret) in message
    assert "outside every storage location" in message
    assert not any(p.is_file() for p in read_add.rglob("*"))  # nothing copied
    assert current(instance) == {}


@pytest.mark.parametrize("write", WRITERS, ids=lambda w: w.__name__)
def test_a_symlink_in_storage_cannot_lead_an_annotation_out(
    instance, data_dir, read_add, secret, write
):
    link = data_dir / "innocent.png"
    link.symlink_to(secret)
    annotation, fmt = write(data_dir / "labels", str(link))
    with pytest.raises(NotInStorageError, match=re.escape(f"which resolves to '{secret}'")):
        run_index(instance, annotation, fmt=fmt)
    assert not any(p.is_file() for p in read_add.rglob("*"))
    assert current(instance) == {}


def test_a_symlinked_folder_in_storage_cannot_lead_an_annotation_out(
    instance, data_dir, read_add, secret
):
    (data_dir / "etc").symlink_to(secret.parent, target_is_directory=True)
    annotation, fmt = label_studio(data_dir, f"{data_dir}/etc/{secret.name}")
    with pytest.raises(NotInStorageError, match="resolves to"):
        run_index(instance, annotation, fmt=fmt)


def test_paths_inside_storage_still_work_through_dot_dot_and_symlinks(instance, data_dir, read_add):
    image = write_image(data_dir / "images" / "a.png")
    (data_dir / "alias.png").symlink_to(image)
    other = write_image(data_dir / "images" / "b.png")
    tasks = [
        {"data": {"image": "../images/a.png"}},
        {"data": {"image": f"file://{data_dir}/alias.png"}},
        {"data": {"image": str(other)}},
    ]
    annotation = write_json(data_dir / "labels" / "tasks.json", tasks)
    result, _ = run_index(instance, annotation, fmt="label-studio")
    assert result.finished and result.found_objects == 3
    assert not any(p.is_file() for p in read_add.rglob("*"))


def test_a_storage_location_reached_through_a_symlink_still_works(tmp_path, instance, make_image):
    real = tmp_path / "real"
    make_image(real / "a.png")
    (tmp_path / "linked").symlink_to(real, target_is_directory=True)
    add_storage(instance, str(tmp_path / "linked"))
    annotation = write_json(tmp_path / "linked" / "tasks.json", [{"data": {"image": "a.png"}}])
    result, _ = run_index(instance, annotation, fmt="label-studio")
    assert result.finished and result.found_objects == 1


def test_an_annotation_outside_storage_cannot_name_its_neighbours(
    tmp_path, instance, data_dir, read_add
):
    """Given on the command line, the annotation file itself may be outside storage;
    what it names may not (it would be copied to read-add storage)."""
    outside = tmp_path / "downloads"
    write_image(outside / "photo.png")
    annotation, fmt = label_studio(outside, "photo.png")
    with pytest.raises(NotInStorageError, match=r"photo\.png"):
        run_index(instance, annotation, fmt=fmt)
    assert not any(p.is_file() for p in read_add.rglob("*"))


def test_the_command_line_prints_one_error_line(instance, data_dir, read_add, secret, monkeypatch):
    monkeypatch.setitem(cli._state, "verbose", 0)
    monkeypatch.setitem(cli._state, "quiet", False)
    annotation, fmt = label_studio(data_dir, f"file://{secret}")
    result = CliRunner().invoke(cli.app, ["index", "-m", fmt, str(annotation)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines == [
        f'error: \'{secret}\' named in {annotation} (task 0) at "data"."image" is outside '
        "every storage location (add a storage location that contains it)"
    ]


# listing folders: symlinks and file names ----------------------------------------------


def indexed_paths(instance: Instance) -> set[str]:
    rows = instance.catalog.object_paths({oid for oid in current(instance)})
    return {path for paths in rows.values() for _, path in paths}


@pytest.fixture
def secret_folder(tmp_path: Path) -> Path:
    """A folder outside every storage location, standing for /etc."""
    folder = tmp_path / "etc"
    for name in ("passwd.png", "shadow.png", "hosts.png"):
        write_image(folder / name)
    return folder


def test_symlinks_leading_out_of_storage_are_not_followed(
    instance, data_dir, secret_folder, read_add
):
    image = write_image(data_dir / "a.png")
    (data_dir / "etc").symlink_to(secret_folder, target_is_directory=True)
    (data_dir / "b.png").symlink_to(secret_folder / "shadow.png")
    result, reporter = run_index(instance, data_dir, fmt="bare")
    assert result.finished and result.found_objects == 1
    assert indexed_paths(instance) == {str(image)}
    assert reporter.warnings == [
        "2 symbolic link(s) leading outside every storage location were not followed: "
        f"{data_dir}/b.png, {data_dir}/etc"
    ]
    assert not any(p.is_file() for p in read_add.rglob("*"))


def test_symlinks_inside_storage_are_followed(instance, data_dir):
    image = write_image(data_dir / "real" / "a.png")
    (data_dir / "alias.png").symlink_to(image)
    (data_dir / "folder").symlink_to(data_dir / "real", target_is_directory=True)
    result, reporter = run_index(instance, data_dir, fmt="bare")
    assert result.finished and reporter.warnings == []
    assert indexed_paths(instance) == {
        str(image),
        f"{data_dir}/alias.png",
        f"{data_dir}/folder/a.png",
    }


def test_symlink_loops_are_not_followed(instance, data_dir):
    image = write_image(data_dir / "d" / "a.png")
    (data_dir / "d" / "up").symlink_to(data_dir, target_is_directory=True)
    (data_dir / "d" / "self").symlink_to(data_dir / "d", target_is_directory=True)
    (data_dir / "x.png").symlink_to(data_dir / "y.png")  # two links naming each other
    (data_dir / "y.png").symlink_to(data_dir / "x.png")
    result, reporter = run_index(instance, data_dir, fmt="bare")
    assert result.finished and indexed_paths(instance) == {str(image)}
    assert reporter.warnings == [
        f"4 symbolic link(s) forming a loop were not followed: {data_dir}/x.png, "
        f"{data_dir}/y.png, {data_dir}/d/self, {data_dir}/d/up"
    ]


@pytest.mark.parametrize("pattern", ["*.png", "*/*.png", "**/*.png"])
def test_a_glob_does_not_follow_symlinks_out_of_storage(instance, data_dir, secret_folder, pattern):
    image = write_image(data_dir / "sub" / "a.png")
    (data_dir / "b.png").symlink_to(secret_folder / "passwd.png")
    (data_dir / "sub" / "b.png").symlink_to(secret_folder / "passwd.png")
    (data_dir / "etc").symlink_to(secret_folder, target_is_directory=True)
    result, reporter = run_index(instance, f"{data_dir}/{pattern}", fmt="bare")
    assert result.finished
    assert indexed_paths(instance) == ({str(image)} if "/" in pattern else set())
    assert len(reporter.warnings) == 1
    assert "leading outside every storage location" in reporter.warnings[0]


def test_a_folder_outside_storage_keeps_its_own_links_only(
    tmp_path, instance, data_dir, secret_folder, read_add
):
    """A folder given on the command line outside storage is copied to read-add storage;
    its symlinks may lead within it, not elsewhere."""
    outside = tmp_path / "downloads"
    write_image(outside / "a.png")
    (outside / "alias.png").symlink_to(outside / "a.png")
    (outside / "etc").symlink_to(secret_folder, target_is_directory=True)
    result, reporter = run_index(instance, outside, fmt="bare")
    assert result.finished and result.found_objects == 2  # a.png and alias.png
    copied = sorted(p.name for p in read_add.rglob("*") if p.is_file())
    assert copied == ["a.png"]  # alias.png has the same bytes: copied once
    assert len(reporter.warnings) == 1 and f"{outside}/etc" in reporter.warnings[0]


def test_a_file_name_that_is_not_utf8_is_skipped_with_a_warning(instance, data_dir):
    image = write_image(data_dir / "a.png")
    bad_name = os.path.join(os.fsencode(data_dir), b"caf\xe9.png")
    with open(bad_name, "wb") as f:
        f.write(image.read_bytes() + b"different")
    bad_folder = os.path.join(os.fsencode(data_dir), b"d\xff")
    os.mkdir(bad_folder)
    write_image(Path(os.fsdecode(bad_folder)) / "b.png")
    result, reporter = run_index(instance, data_dir, fmt="bare")
    assert result.finished and indexed_paths(instance) == {str(image)}
    assert reporter.warnings == [
        "2 file(s) or folder(s) whose name is not valid UTF-8 were skipped: "
        f"{data_dir}/caf\\xe9.png, {data_dir}/d\\xff"
    ]


def test_a_partner_linked_out_of_storage_is_not_pulled_in(instance, data_dir, tmp_path):
    """A data file given alone pulls in its .json partner, but not through a symlink
    leading out of storage."""
    image = write_image(data_dir / "a.png")
    outside = write_json(tmp_path / "secret" / "a.json", {"label": "secret"})
    (data_dir / "a.json").symlink_to(outside)
    result, _ = run_index(instance, image, fmt="strict")
    assert result.finished and result.found_annotations == 0


def test_a_command_line_file_name_that_is_not_utf8_is_skipped(instance, data_dir):
    """As the shell expands ``data/*``: the other files are indexed."""
    image = write_image(data_dir / "a.png")
    bad_name = os.path.join(os.fsencode(data_dir), b"caf\xe9.png")
    with open(bad_name, "wb") as f:
        f.write(b"not an image")
    result, reporter = run_index(instance, os.fsdecode(bad_name), image, fmt="bare")
    assert result.finished and indexed_paths(instance) == {str(image)}
    assert reporter.warnings == [
        "1 file(s) or folder(s) whose name is not valid UTF-8 were skipped: "
        f"{data_dir}/caf\\xe9.png"
    ]


def test_an_annotation_naming_a_path_that_is_not_unicode_is_an_error(instance, data_dir):
    """JSON can spell a lone surrogate (\\udce9): the JSON loader refuses it first, with
    an error naming the file and where the string is, no traceback."""
    annotation = data_dir / "tasks.json"
    annotation.write_text('[{"data": {"image": "caf\\udce9.png"}}]', encoding="utf-8")
    with pytest.raises(LdbError) as raised:
        run_index(instance, annotation, fmt="label-studio")
    assert str(raised.value) == (
        f"Unable to read annotation file: {annotation}: "
        "a lone surrogate (\\udce9) in the string at [0].data.image"
    )


def test_a_link_loop_beside_a_file_does_not_hide_its_partner(instance, data_dir):
    image = write_image(data_dir / "a.png")
    write_json(data_dir / "a.json", {"label": "cat"})
    (data_dir / "x.png").symlink_to(data_dir / "y.png")
    (data_dir / "y.png").symlink_to(data_dir / "x.png")
    result, _ = run_index(instance, image, fmt="strict")
    assert result.finished and result.found_annotations == 1


def test_a_named_path_inside_storage_by_its_real_path_is_not_copied(
    tmp_path, instance, read_add, make_image
):
    """The location is registered through a symlink; the annotation names the real path.
    It is inside storage, so it is indexed where it is: never copied to read-add."""
    real = tmp_path / "real"
    image = make_image(real / "a.png")
    (tmp_path / "linked").symlink_to(real, target_is_directory=True)
    add_storage(instance, str(tmp_path / "linked"))
    annotation = write_json(tmp_path / "linked" / "tasks.json", [{"data": {"image": str(image)}}])
    result, _ = run_index(instance, annotation, fmt="label-studio")
    assert result.finished and indexed_paths(instance) == {str(image)}
    assert not any(p.is_file() for p in read_add.rglob("*"))
