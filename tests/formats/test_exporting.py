"""ldb_clone.formats.exporting: what every format writes with: annotation files, safe and
unique names that fit the file system, losses reported once, opening objects."""

from __future__ import annotations

import json

import pytest

from ldb_clone.errors import FormatError
from ldb_clone.formats.exporting import (
    MAX_NAME_BYTES,
    ExportContext,
    ExportItem,
    dump_annotation,
    fit_path,
    flat_name,
    object_opener,
    safe_component,
    safe_relpath,
    shorten,
)

OID = "0123456789abcdef0123456789abcdef"


def item(url: str, relative_path: str | None = None, oid: str = OID) -> ExportItem:
    rel = relative_path if relative_path is not None else url.rsplit("/", 1)[-1]
    return ExportItem(oid, {"label": 1}, True, url, rel)


def test_dump_annotation_is_indented_sorted_utf8():
    value = {"b": [1, {"z": None, "a": "čaj"}], "a": 1.5}
    text = dump_annotation(value).decode("utf-8")
    assert text == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def test_dump_annotation_of_values_orjson_cannot_write():
    huge = {"n": 2**70}
    assert json.loads(dump_annotation(huge)) == huge
    assert json.loads(dump_annotation({"x": float("nan")})) == {"x": None}


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\\b", "nul\0"])
def test_unsafe_components(name: str):
    with pytest.raises(FormatError, match=r"Unsafe label: .* cannot be used as a file"):
        safe_component(name, "label")


def test_a_component_longer_than_a_file_name_is_unsafe():
    assert safe_component("é" * 127, "label") == "é" * 127  # 254 bytes
    with pytest.raises(FormatError, match=f"longer than {MAX_NAME_BYTES} bytes"):
        safe_component("é" * 128, "label")


def test_safe_relpath():
    assert safe_relpath("a/b/c.png") == "a/b/c.png"
    with pytest.raises(FormatError, match="Unsafe path: '/etc/passwd' is absolute"):
        safe_relpath("/etc/passwd")
    for path in ("a/../../b", "a//b", "a/./b", "a/"):
        with pytest.raises(FormatError, match="Unsafe class name"):
            safe_relpath(path, "class name")


def test_flat_name_is_upstreams():
    assert flat_name(item("/data/dog.small.PNG")) == (f"dog-small-{OID}", ".png")
    assert flat_name(item("s3://b/k/noext")) == (f"noext-{OID}", "")
    # a stem that already ends with the id is not given it twice
    assert flat_name(item(f"/d/{OID}.jpg")) == (OID, ".jpg")


def test_a_long_flat_name_is_shortened_and_keeps_id_and_extension():
    stem, ext = flat_name(item("/d/" + "ü" * 200 + ".jpeg"))
    assert stem.endswith(f"-{OID}") and ext == ".jpeg"
    assert len((stem + ".json").encode()) <= MAX_NAME_BYTES
    assert len((stem + ext).encode()) <= MAX_NAME_BYTES
    assert stem.startswith("ü" * 10)  # cut between characters, never inside one


def test_shorten_cuts_between_characters():
    assert shorten("abc", 3) == "abc"
    assert shorten("aéb", 2) == "a"  # é is two bytes
    assert shorten("aéb", 3) == "aé"
    assert shorten("", 0) == ""


def test_fit_path_shortens_only_what_is_too_long():
    assert fit_path("a/b/c.png", OID) == "a/b/c.png"
    long_folder = "f" * 300
    other_folder = "f" * 299 + "g"
    fitted = fit_path(f"{long_folder}/x.png", OID).split("/")
    assert len(fitted[0].encode()) <= MAX_NAME_BYTES and fitted[1] == "x.png"
    # two long folder names that share their start stay apart
    assert fit_path(f"{other_folder}/x.png", OID).split("/")[0] != fitted[0]
    name = fit_path("n" * 300 + ".png", OID)
    assert name.endswith(f"-{OID}.png")
    assert len(name.replace(".png", ".json").encode()) <= MAX_NAME_BYTES


def test_base_name_flat_and_with_a_folder():
    context = ExportContext({}, "id")
    assert context.base_name(item("/d/cat.png")) == (f"cat-{OID}", ".png")
    assert context.base_name(item("/d/cat.png"), folder="cats") == (f"cats/cat-{OID}", ".png")


def test_base_name_preserves_paths_and_falls_back_to_flat_names_on_a_clash():
    context = ExportContext({}, "id", preserve_paths=True)
    first = item("/data/a/cat.png", "a/cat.png")
    other_id = "f" * 32
    clash = item("/other/a/cat.png", "a/cat.png", oid=other_id)
    assert context.base_name(first) == ("a/cat", ".png")
    assert context.base_name(clash) == (f"a/cat-{other_id}", ".png")
    assert context.renamed == 1
    assert context.base_name(first, folder="out", keep_dirs=False) == ("out/cat", ".png")


def test_a_preserved_path_that_leaves_the_target_is_refused():
    context = ExportContext({}, "id", preserve_paths=True)
    with pytest.raises(FormatError, match=f"Unsafe path of id:{OID}"):
        context.base_name(item("/d/x.png", "../x.png"))


def test_losses_and_changes_are_reported_once_each_with_their_counts():
    warnings: list[str] = []
    context = ExportContext({}, "id", warn=warnings.append)
    context.note_loss("rotated boxes")
    context.note_loss("rotated boxes", 2)
    context.note_loss("polygons", 0)  # nothing lost: nothing said
    context.note_change("boxes outside their image were clipped to it", 4)
    context.report_losses()
    assert warnings == [
        "3 rotated boxes could not be converted and were left out",
        "4 boxes outside their image were clipped to it",
    ]
    context.report_losses()
    assert len(warnings) == 2  # reported, then forgotten
    ExportContext({}, "id").note_loss("anything")  # no warn callback: nothing breaks


def test_object_opener_reads_local_and_remote_objects(tmp_path):
    import fsspec

    (tmp_path / "a.png").write_bytes(b"local")
    memory = fsspec.filesystem("memory")
    memory.pipe_file("/bucket/b.png", b"remote")
    asked = []
    open_object = object_opener(lambda protocol, path: asked.append((protocol, path)) or {})
    try:
        with open_object(item(str(tmp_path / "a.png"))) as f:
            assert f.read() == b"local"
        with open_object(item("memory://bucket/b.png")) as f:
            assert f.read() == b"remote"
        assert asked == [("memory", "bucket/b.png")]
        with ExportContext({}, "id").open_object(item(str(tmp_path / "a.png"))) as f:
            assert f.read() == b"local"
    finally:
        memory.rm("/bucket", recursive=True)


def test_export_item_file_name():
    assert item("s3://bucket/dir/x.png").file_name == "x.png"
    assert item("/d/dir/").file_name == "dir"
