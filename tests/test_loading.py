"""ldb_clone.loading: hashing objects and parsing annotation files for the indexer, locally
(in-process, in threads, in forked workers) and remotely (fsspec's in-memory filesystem);
every way gives the same result, and the first failure is reported."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import fsspec
import pytest

from ldb_clone import loading
from ldb_clone.fs import FileEntry
from ldb_clone.hashing import Hasher
from ldb_clone.loading import Loader, LoadResult, load_local, load_remote, remote_concurrency

ALGORITHMS = ("xxh3", "md5")


def files(folder: Path, count: int, annotated: int = 0) -> tuple[list[tuple[str, int]], list[str]]:
    """``count`` data files (distinct contents) and ``annotated`` JSON files."""
    folder.mkdir(parents=True, exist_ok=True)
    data, annotations = [], []
    for n in range(count):
        path = folder / f"{n}.bin"
        path.write_bytes(f"object {n}".encode() * (n + 1))
        data.append((str(path), path.stat().st_size))
    for n in range(annotated):
        path = folder / f"{n}.json"
        path.write_text(json.dumps({"n": n, "label": "cat"}), encoding="utf-8")
        annotations.append(str(path))
    return data, annotations


def expected(algorithm: str, data, annotations) -> LoadResult:
    """What loading must give, computed here without ldb_clone.loading."""
    hasher = Hasher(algorithm)
    result = LoadResult()
    for path, _ in data:
        result.digests[path] = hasher.bytes_digest(Path(path).read_bytes())
    for path in annotations:
        result.annotations[path] = hasher.annotation_id(json.loads(Path(path).read_bytes()))
    return result


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_load_local_hashes_and_parses(tmp_path, algorithm):
    data, annotations = files(tmp_path, 3, annotated=2)
    result = load_local(algorithm, data, annotations)
    assert result == expected(algorithm, data, annotations)
    if algorithm == "md5":
        first = Path(data[0][0]).read_bytes()
        assert result.digests[data[0][0]] == hashlib.md5(first).hexdigest()
    _, text = result.annotations[annotations[1]]
    assert text == '{"label":"cat","n":1}'  # canonical: sorted keys, no spaces


def test_a_large_local_file_is_hashed_in_chunks_to_the_same_digest(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 40_000)  # ~10 MB: above the one-read size
    data = [(str(big), big.stat().st_size)]
    assert load_local("xxh3", data, []).digests == expected("xxh3", data, []).digests
    assert load_local("xxh3", [(str(big), None)], []).digests == {
        str(big): Hasher().bytes_digest(big.read_bytes())
    }


def test_load_local_stops_at_bad_json_naming_the_file(tmp_path):
    data, annotations = files(tmp_path, 1, annotated=1)
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": NaN}', encoding="utf-8")
    result = load_local("xxh3", data, [str(bad), *annotations])
    assert result.error is not None and result.error[:2] == ("json", str(bad))
    assert result.annotations == {}  # nothing after the first failure
    assert set(result.digests) == {data[0][0]}


def test_load_local_reports_a_vanished_or_unreadable_file(tmp_path):
    data, _ = files(tmp_path, 2)
    Path(data[1][0]).unlink()
    result = load_local("xxh3", data, [])
    assert result.error == ("vanished", data[1][0], "file vanished before it was read")
    (tmp_path / "folder.json").mkdir()
    result = load_local("xxh3", [], [str(tmp_path / "folder.json")])
    assert result.error == ("unreadable", str(tmp_path / "folder.json"), "Is a directory")


def test_remote_concurrency_from_the_environment(monkeypatch):
    monkeypatch.delenv("LDB_REMOTE_CONCURRENCY", raising=False)
    assert remote_concurrency() == loading.REMOTE_CONCURRENCY
    monkeypatch.setenv("LDB_REMOTE_CONCURRENCY", "1")
    assert remote_concurrency() == 1
    monkeypatch.setenv("LDB_REMOTE_CONCURRENCY", "0")
    assert remote_concurrency() == 1
    monkeypatch.setenv("LDB_REMOTE_CONCURRENCY", "many")
    assert remote_concurrency() == loading.REMOTE_CONCURRENCY


@pytest.fixture
def bucket():
    """Objects and annotations in fsspec's in-memory filesystem, as ``FileEntry``s."""
    fs = fsspec.filesystem("memory")
    contents = {f"/bucket/{n}.bin": f"remote {n}".encode() * (n + 1) for n in range(5)}
    contents["/bucket/a.json"] = b'{"label": "dog"}'
    contents["/bucket/b.json"] = b'{"label": "cat", "box": [1, 2]}'
    for path, raw in contents.items():
        fs.pipe_file(path, raw)
    entries = {p: FileEntry("memory", p, size=len(raw)) for p, raw in contents.items()}
    yield fs, contents, entries
    fs.rm("/bucket", recursive=True)


@pytest.mark.parametrize("concurrency", ["1", "8"])
def test_load_remote_keyed_by_url(bucket, monkeypatch, concurrency):
    monkeypatch.setenv("LDB_REMOTE_CONCURRENCY", concurrency)
    fs, contents, entries = bucket
    data = [e for p, e in entries.items() if p.endswith(".bin")]
    jsons = [e for p, e in entries.items() if p.endswith(".json")]
    result = load_remote("xxh3", data, jsons, lambda entry: fs)
    hasher = Hasher()
    assert result.error is None
    assert result.digests == {e.url: hasher.bytes_digest(contents[e.path]) for e in data}
    assert result.annotations == {
        e.url: hasher.annotation_id(json.loads(contents[e.path])) for e in jsons
    }


def test_large_remote_objects_are_streamed_to_the_same_digest(bucket, monkeypatch):
    fs, contents, entries = bucket
    monkeypatch.setattr(loading, "STREAM_THRESHOLD", 10)
    monkeypatch.setattr(loading, "CHUNK", 7)
    data = [e for p, e in entries.items() if p.endswith(".bin")]
    result = load_remote("md5", data, [], lambda entry: fs)
    assert result.digests == {e.url: hashlib.md5(contents[e.path]).hexdigest() for e in data}


def test_remote_failures_keep_the_first_error(bucket, monkeypatch):
    monkeypatch.setenv("LDB_REMOTE_CONCURRENCY", "1")  # one at a time: data files first
    fs, _, entries = bucket
    fs.pipe_file("/bucket/bad.json", b"{nope")
    bad = FileEntry("memory", "/bucket/bad.json", size=5)
    gone = FileEntry("memory", "/bucket/gone.bin", size=5)
    result = load_remote("xxh3", [gone], [bad], lambda entry: fs)
    assert result.error == ("vanished", gone.url, "file vanished before it was read")
    result = load_remote("xxh3", [], [bad], lambda entry: fs)
    assert result.error is not None and result.error[:2] == ("json", bad.url)

    def refused(entry):
        raise PermissionError("Access Denied")

    result = load_remote("xxh3", [entries["/bucket/0.bin"]], [], refused)
    assert result.error == (
        "unreadable",
        "memory:///bucket/0.bin",
        "Access Denied",
    )


@pytest.mark.parametrize(
    "count, expected_files",
    [(3, 3), (80, 80), (80, loading.PROCESS_THRESHOLD)],
    ids=["in-process", "threads", "worker-processes"],
)
def test_every_way_of_loading_gives_the_same_result(tmp_path, count, expected_files):
    data, annotations = files(tmp_path, count, annotated=5)
    loader = Loader("xxh3", expected_files)
    try:
        first = loader.submit(data[: count // 2], annotations)
        second = loader.submit(data[count // 2 :], [])
        merged = loading._merge([first.get(), second.get()])
    finally:
        loader.close()
    assert merged == expected("xxh3", data, annotations)


VALUES = [
    (0, {"label": "cat", "boxes": [{"label": "cat", "x": 1, "y": 2, "w": 3, "h": 4}]}),
    (1, {"label": "dog", "size": {"width": 8, "height": 6}}),
    (2, {"score": float("nan")}),  # no valid JSON form: left to the caller
    (3, {"z": 1, "a": [1.5, "é"]}),
]


def test_values_are_encoded_and_every_annotation_summarised(tmp_path):
    from ldb_clone.stats import summaries_of

    data, annotations = files(tmp_path, 2, annotated=2)
    hasher = Hasher("xxh3")
    result = load_local("xxh3", data, annotations, VALUES, summarise=True)
    assert result.values == {key: hasher.annotation_id(v) for key, v in VALUES if key != 2}
    texts = dict([*result.annotations.values(), *result.values.values()])
    assert len(texts) == 5
    assert result.summaries == summaries_of(texts)
    plain = load_local("xxh3", data, annotations, VALUES)
    assert plain.summaries == {} and plain.values == result.values


def test_values_go_to_worker_processes_only(tmp_path):
    data, annotations = files(tmp_path, 80, annotated=1)
    for expected_files, encoded in ((80, False), (loading.PROCESS_THRESHOLD, True)):
        loader = Loader("xxh3", expected_files)
        try:
            result = loader.submit(data, annotations, values=VALUES, summarise=True).get()
        finally:
            loader.close()
        assert result.digests == expected("xxh3", data, annotations).digests
        # in-process the caller encodes and summarises as cheaply itself
        assert sorted(result.values) == ([0, 1, 3] if encoded else [])
        assert len(result.summaries) == (4 if encoded else 0)


def test_a_failure_in_a_worker_comes_back(tmp_path):
    data, annotations = files(tmp_path, 70, annotated=1)
    Path(data[40][0]).unlink()
    loader = Loader("xxh3", loading.PROCESS_THRESHOLD)
    try:
        result = loader.submit(data, annotations).get()
    finally:
        loader.close()
    assert result.error == ("vanished", data[40][0], "file vanished before it was read")


def test_local_and_remote_in_one_batch(tmp_path, bucket):
    fs, contents, entries = bucket
    data, annotations = files(tmp_path, 2, annotated=1)
    remote = [entries["/bucket/1.bin"]]
    loader = Loader("xxh3", 3)
    try:
        result = loader.submit(data, annotations, remote, [], fs_for=lambda entry: fs).get()
        only_remote = loader.submit([], [], remote, [], fs_for=lambda entry: fs).get()
    finally:
        loader.close()
    local = expected("xxh3", data, annotations)
    remote_digest = {remote[0].url: Hasher().bytes_digest(contents["/bucket/1.bin"])}
    assert result.digests == {**local.digests, **remote_digest}
    assert result.annotations == local.annotations
    assert only_remote.digests == remote_digest
