"""ldb_clone.fs: URLs, local walks and listings (hidden files, symlinks, odd names), reads;
remote listings through fsspec's in-memory filesystem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ldb_clone.errors import StorageError
from ldb_clone.fs import (
    LOCAL,
    FileEntry,
    Skipped,
    escaped,
    folder_names,
    is_below,
    is_hidden_below,
    is_utf8,
    join_url,
    list_path,
    read_bytes,
    remote_reason,
    sibling_entry,
    split_url,
    stat_local,
    stat_url,
    walk_local,
)

NOT_UTF8 = os.fsdecode(b"bad-\xff.png")  # a name as Python reads it from disk


def tree(root: Path, *files: str) -> Path:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    return root


def names(entries, root: Path) -> list[str]:
    return [os.path.relpath(e.path, root) for e in entries]


# URLs and paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("s3://bucket/key/a.png", ("s3", "bucket/key/a.png")),
        ("S3://bucket/dir/", ("s3", "bucket/dir")),
        ("s3a://bucket/k", ("s3", "bucket/k")),
        ("s3n://bucket/k", ("s3", "bucket/k")),
        ("gs://b/k", ("gs", "b/k")),
        ("file:///data/x.png", (LOCAL, "/data/x.png")),
        ("local:///data/./y/../x.png", (LOCAL, "/data/x.png")),
        ("/abs/path/", (LOCAL, "/abs/path")),
    ],
)
def test_split_url(url: str, expected: tuple[str, str]):
    assert split_url(url) == expected


def test_split_url_makes_local_paths_absolute(tmp_path: Path, isolated_home: Path):
    assert split_url("rel/a.png") == (LOCAL, f"{tmp_path}/rel/a.png")  # the cwd
    assert split_url("rel/a.png", base="/base") == (LOCAL, "/base/rel/a.png")
    assert split_url("/abs.png", base="/base") == (LOCAL, "/abs.png")
    assert split_url("~/x.png") == (LOCAL, f"{isolated_home}/x.png")


def test_join_url_is_the_inverse_of_split_url():
    for url in ("s3://bucket/key.png", "/data/a.png", "memory://x/y"):
        assert join_url(*split_url(url)) == url


def test_is_below_compares_whole_components():
    assert is_below("/data/a.png", ["/data"])
    assert is_below("/data", ["/data/"])
    assert is_below("/data/x/y", ["/other", "/data/x"])
    assert not is_below("/database/a.png", ["/data"])
    assert not is_below("/data/a.png", [])
    assert is_below("/anything", ["/"])


def test_is_hidden_below_looks_only_below_the_root():
    assert is_hidden_below("/r/.git/a.png", "/r")
    assert is_hidden_below("/r/x/.a.png", "/r")
    assert not is_hidden_below("/r/x/a.png", "/r")
    assert not is_hidden_below("/.home/r/x/a.png", "/.home/r")  # dots above the root count not
    assert is_hidden_below("/elsewhere/.b.png", "/r")  # not below: only its own name counts


def test_names_that_are_not_utf8_are_recognised_and_escaped():
    assert is_utf8("plain.png") and is_utf8("čaj-日本.png")
    assert not is_utf8(NOT_UTF8)
    assert escaped(f"/data/{NOT_UTF8}") == "/data/bad-\\xff.png"
    assert escaped("/data/čaj.png") == "/data/čaj.png"


def test_file_entry_parts():
    entry = FileEntry("s3", "bucket/dir/pic.tar.gz", size=10)
    assert (entry.url, entry.name, entry.parent, entry.suffix) == (
        "s3://bucket/dir/pic.tar.gz",
        "pic.tar.gz",
        "bucket/dir",
        ".gz",
    )
    assert FileEntry(LOCAL, "/d/.hidden", size=0).suffix == ""
    assert FileEntry(LOCAL, "/d/a.json", size=0).is_json and FileEntry(
        LOCAL, "/d/a.json", size=0
    ).url == ("/d/a.json")
    assert FileEntry("memory", "top", size=0).parent == ""


# local files ---------------------------------------------------------------------------------


def test_stat_local_only_regular_files(tmp_path: Path):
    tree(tmp_path, "a.png")
    entry = stat_local(str(tmp_path / "a.png"))
    assert entry is not None and entry.size == len(b"a.png") and entry.mtime_ns
    assert entry.mode is not None and entry.uid == os.getuid()
    assert stat_local(str(tmp_path)) is None  # a folder
    assert stat_local(str(tmp_path / "missing")) is None
    assert stat_local(str(tmp_path / "a.png" / "below")) is None
    assert stat_url(LOCAL, str(tmp_path / "a.png")) == entry


def test_walk_skips_hidden_files_and_folders(tmp_path: Path):
    root = tree(tmp_path / "r", "b.png", "a/z.json", "a/y.png", ".git/config", "c/.hidden.png")
    # a folder's files in name order, then its folders'
    assert names(walk_local(str(root)), root) == ["b.png", "a/y.png", "a/z.json"]


def test_walk_follows_links_inside_bounds_only(tmp_path: Path):
    root = tree(tmp_path / "r", "own.png")
    outside = tree(tmp_path / "outside", "far.png")
    (root / "inner").symlink_to(root / "own.png")
    (root / "out-file").symlink_to(outside / "far.png")
    (root / "out-dir").symlink_to(outside)
    skipped = Skipped()
    assert names(walk_local(str(root), skipped=skipped), root) == ["inner", "own.png"]
    assert sorted(skipped.links_out) == [f"{root}/out-dir", f"{root}/out-file"]
    # with the outside folder in bounds, both links are followed
    found = walk_local(str(root), bounds=[str(root), str(outside)])
    assert names(found, root) == ["inner", "out-file", "own.png", "out-dir/far.png"]


def test_walk_does_not_loop(tmp_path: Path):
    root = tree(tmp_path / "r", "sub/a.png")
    (root / "sub" / "up").symlink_to(root)  # back to a folder above
    (root / "self-1").symlink_to(root / "self-2")  # links that lead to each other
    (root / "self-2").symlink_to(root / "self-1")
    skipped = Skipped()
    assert names(walk_local(str(root), skipped=skipped), root) == ["sub/a.png"]
    assert sorted(skipped.loops) == [f"{root}/self-1", f"{root}/self-2", f"{root}/sub/up"]


def test_walk_leaves_out_names_that_are_not_utf8(tmp_path: Path):
    root = tree(tmp_path / "r", "good.png")
    (root / NOT_UTF8).write_bytes(b"x")
    skipped = Skipped()
    assert names(walk_local(str(root), skipped=skipped), root) == ["good.png"]
    assert skipped.not_utf8 == [f"{root}/bad-\\xff.png"]


def test_skipped_warns_once_per_kind_naming_the_first_few():
    skipped = Skipped(links_out=[f"/l{n}" for n in range(7)], loops=["/loop"], not_utf8=[])
    warnings = skipped.warnings(shown=2)
    assert warnings == [
        "7 symbolic link(s) leading outside every storage location were not followed: "
        "/l0, /l1 and 5 more",
        "1 symbolic link(s) forming a loop were not followed: /loop",
    ]
    assert Skipped().warnings() == []


def test_list_path_of_a_folder_a_file_and_a_glob(tmp_path: Path):
    root = tree(tmp_path / "r", "a.png", "a.json", "sub/b.png")
    (folder,) = list_path(str(root))
    assert (folder.root, folder.is_dir) == (str(root), True)
    assert names(folder.entries, root) == ["a.json", "a.png", "sub/b.png"]
    (single,) = list_path(str(root / "sub" / "b.png"))
    assert (single.root, single.is_dir, names(single.entries, root)) == (
        str(root / "sub"),
        False,
        ["sub/b.png"],
    )
    globbed = list_path(f"{root}/**/*.png")
    assert [(names(x.entries, root), x.is_dir) for x in globbed] == [
        (["a.png"], False),
        (["sub/b.png"], False),
    ]
    assert [x.arg for x in list_path(f"{root}/s*")] == [f"{root}/sub"]


def test_list_path_errors_name_the_argument(tmp_path: Path):
    with pytest.raises(StorageError, match=f"Path not found: '{tmp_path}/nope'"):
        list_path(str(tmp_path / "nope"))
    with pytest.raises(StorageError, match=r"No files match: '.*\*\.nothing'"):
        list_path(f"{tmp_path}/*.nothing")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(StorageError, match="Not a regular file: "):
        list_path(str(tmp_path / "pipe"))


def test_list_path_glob_leaves_out_links_out_of_bounds(tmp_path: Path):
    root = tree(tmp_path / "r", "in.png")
    outside = tree(tmp_path / "outside", "far.png")
    (root / "out.png").symlink_to(outside / "far.png")
    skipped = Skipped()
    listings = list_path(f"{root}/*.png", skipped=skipped)
    assert [x.arg for x in listings] == [f"{root}/in.png"]
    assert skipped.links_out == [f"{root}/out.png"]
    # a storage location holding the target admits it
    listings = list_path(f"{root}/*.png", storage_roots=[str(outside)])
    assert [x.arg for x in listings] == [f"{root}/in.png", f"{root}/out.png"]


def test_list_path_of_a_name_that_is_not_utf8_lists_nothing(tmp_path: Path):
    (tmp_path / NOT_UTF8).write_bytes(b"x")
    skipped = Skipped()
    assert list_path(str(tmp_path / NOT_UTF8), skipped=skipped) == []
    assert skipped.not_utf8 == [f"{tmp_path}/bad-\\xff.png"]


def test_sibling_entry(tmp_path: Path):
    root = tree(tmp_path / "r", "a.png", "a.json", ".hidden", "sub/x.png")
    outside = tree(tmp_path / "outside", "far.json")
    (root / "link.json").symlink_to(outside / "far.json")
    entry = stat_local(str(root / "a.png"))
    assert sibling_entry(entry, "a.json").path == f"{root}/a.json"
    assert sibling_entry(entry, "a.png") is None  # itself
    assert sibling_entry(entry, ".hidden") is None
    assert sibling_entry(entry, "sub") is None  # a folder
    assert sibling_entry(entry, "missing.json") is None
    assert sibling_entry(entry, "link.json") is None  # leads outside storage
    assert sibling_entry(entry, "link.json", bounds=[str(outside)]).path == f"{root}/link.json"
    assert sibling_entry(FileEntry("s3", "bucket/a.png", size=1), "a.json") is None
    assert sorted(folder_names(str(root))) == [".hidden", "a.json", "a.png", "link.json", "sub"]
    assert folder_names(f"{tmp_path}/gone") == []


def test_read_bytes_and_its_errors(tmp_path: Path):
    tree(tmp_path, "a.png")
    entry = stat_local(str(tmp_path / "a.png"))
    assert read_bytes(entry) == b"a.png"
    (tmp_path / "a.png").unlink()
    with pytest.raises(StorageError, match=r"File vanished or unreadable: '.*a\.png'"):
        read_bytes(entry)
    (tmp_path / "a.png").mkdir()
    with pytest.raises(StorageError, match=r"Unable to read '.*a\.png': Is a directory"):
        read_bytes(entry)


# remote (fsspec's in-memory filesystem) ------------------------------------------------------


@pytest.fixture
def memory():
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    for name in ("b/d/a.png", "b/d/a.json", "b/d/.hidden/x.png", "b/d/sub/c.png", "b/e.png"):
        fs.pipe_file(f"/{name}", name.encode())
    yield fs
    fs.store.clear()


def test_remote_folder_listing_skips_hidden_and_folders(memory):
    (listing,) = list_path("memory://b/d")
    assert (listing.root, listing.is_dir) == ("b/d", True)
    assert [e.url for e in listing.entries] == [
        "memory:///b/d/a.json",
        "memory:///b/d/a.png",
        "memory:///b/d/sub/c.png",
    ]
    assert [e.size for e in listing.entries] == [len("b/d/a.json"), len("b/d/a.png"), 13]


def test_remote_file_glob_and_missing(memory):
    (single,) = list_path("memory://b/e.png")
    assert (single.is_dir, single.root) == (False, "/b")
    assert [e.name for e in single.entries] == ["e.png"]
    assert [x.entries[0].name for x in list_path("memory://b/d/*.png")] == ["a.png"]
    with pytest.raises(StorageError, match=r"No files match: 'memory://b/\*\.txt'"):
        list_path("memory://b/*.txt")
    with pytest.raises(StorageError, match=r"Path not found: 'memory://b/nope\.png'"):
        list_path("memory://b/nope.png")


def test_remote_options_come_from_the_callback(memory):
    asked = []
    list_path("memory://b/e.png", options_for=lambda protocol, path: asked.append(path) or {})
    assert asked == ["b/e.png"]


def test_remote_stat_and_read(memory):
    entry = stat_url("memory", "/b/e.png")
    assert entry is not None and (entry.protocol, entry.size) == ("memory", len("b/e.png"))
    assert read_bytes(entry) == b"b/e.png"
    assert stat_url("memory", "/b/d") is None  # a folder
    assert stat_url("memory", "/b/nope") is None


def test_unknown_protocol_is_a_storage_error():
    with pytest.raises(StorageError, match="Unsupported protocol 'nosuchfs'"):
        list_path("nosuchfs://x/y")


def test_remote_reason_is_the_first_line_with_the_type_when_short():
    assert remote_reason(OSError(2, "No such bucket\nmore detail")) == "No such bucket"
    assert remote_reason(PermissionError("denied")) == "PermissionError: denied"
    assert remote_reason(RuntimeError()) == "RuntimeError"
    assert remote_reason(ValueError("None")) == "ValueError"
