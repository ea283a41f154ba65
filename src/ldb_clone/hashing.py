"""Content hashes: data objects by their bytes, annotations by their canonical JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import xxhash

DEFAULT_ALGORITHM = "xxh3"
ALGORITHMS = ("xxh3", "md5")
# The key that carries an object id in exported files names its algorithm.
ID_KEYS = {"xxh3": "xxh3_128", "md5": "md5"}
CHUNK_SIZE = 1 << 20


def _new_hasher(algorithm: str) -> Callable[[], Any]:
    if algorithm == "xxh3":
        return xxhash.xxh3_128
    if algorithm == "md5":
        return hashlib.md5
    raise ValueError(f"unknown hash algorithm: {algorithm!r}")


def canonical_json(value: Any) -> str:
    """Sorted keys, no extra spaces, UTF-8 characters kept: the form annotations are hashed in.

    NaN and infinities raise ``ValueError``: what is hashed is stored and written back
    out, and must stay valid JSON."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


class Hasher:
    """Hashes bytes, files and annotations with one instance's algorithm."""

    def __init__(self, algorithm: str = DEFAULT_ALGORITHM) -> None:
        self.algorithm = algorithm
        self.id_key = ID_KEYS[algorithm]
        self._new = _new_hasher(algorithm)
        if algorithm == "xxh3":
            self.bytes_digest: Callable[[bytes], str] = xxhash.xxh3_128_hexdigest
        else:
            self.bytes_digest = lambda data: hashlib.md5(data).hexdigest()

    def annotation_id(self, value: Any) -> tuple[str, str]:
        """Return (id, canonical JSON text) of an annotation value."""
        text = canonical_json(value)
        return self.bytes_digest(text.encode("utf-8")), text

    def stream_digest(self, chunks) -> str:
        h = self._new()
        for chunk in chunks:
            h.update(chunk)
        return h.hexdigest()

    def file_digest(self, path: str, size: int | None = None) -> str:
        """Hash a local file; small files in one read, large ones in chunks."""
        with open(path, "rb") as f:
            if size is not None and size <= 4 * CHUNK_SIZE:
                return self.bytes_digest(f.read())
            return self.stream_digest(iter(lambda: f.read(CHUNK_SIZE), b""))


def is_hex_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789abcdef" for c in text)
