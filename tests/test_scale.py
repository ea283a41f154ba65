"""Scale tests (marked slow): thousands of real pairs through the whole indexer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from ldb_clone import hashing, loading
from ldb_clone.indexing import index
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members

pytestmark = pytest.mark.slow

COUNT = 5000


def _make_pairs(root: Path, count: int) -> None:
    for n in range(count):
        folder = root / f"part-{n // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        image = Image.new("RGB", (8, 8), (n % 256, (n // 256) % 256, 7))
        image.save(folder / f"img-{n:05d}.png")
        (folder / f"img-{n:05d}.json").write_text(
            json.dumps({"label": ["cat", "dog", "bird"][n % 3], "n": n})
        )


def test_index_thousands_of_pairs_then_reindex_reads_nothing(instance, data_dir, monkeypatch):
    _make_pairs(data_dir, COUNT)
    first = index(instance, [str(data_dir)], "strict", reporter=Reporter())
    assert (first.found_objects, first.new_objects, first.new_annotations) == (COUNT,) * 3
    members = select_members(instance, ["ds:root"])
    assert len(members) == COUNT
    assert all(m.version == 1 for m in members)

    reads = []
    real_digest = hashing.Hasher.file_digest

    def counting_digest(self, path, size=None):
        reads.append(path)
        return real_digest(self, path, size)

    monkeypatch.setattr(hashing.Hasher, "file_digest", counting_digest)
    # in-process loading, so that any read would be counted here
    monkeypatch.setattr(loading, "PROCESS_THRESHOLD", 10**9)
    again = index(instance, [str(data_dir)], "strict", reporter=Reporter())
    assert again.found_objects == COUNT
    assert (again.new_objects, again.new_annotations, again.new_paths) == (0, 0, 0)
    assert reads == []
