"""Content hashes: data objects by their bytes, annotations by their canonical JSON."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import orjson
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
    fast = _orjson_canonical(value)
    if fast is not None:
        return fast.decode("utf-8")
    return _stdlib_canonical(value)


def canonical_json_bytes(value: Any) -> bytes:
    """``canonical_json`` encoded as UTF-8 (``UnicodeEncodeError`` for a lone surrogate)."""
    fast = _orjson_canonical(value)
    if fast is not None:
        return fast
    return _stdlib_canonical(value).encode("utf-8")


def _stdlib_canonical(value: Any) -> str:
    """The definition of the canonical form (annotation ids are hashes of this text)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
# Where orjson's text may differ from the standard library's: a number in exponent form
# (orjson writes 1e-7 for 1e-07), a number below 1e-4 written out (0.00001 for 1e-05),
# and null (orjson writes NaN and infinities as null where the standard library refuses
# them). See ``_may_differ``.
_DIGIT_E = re.compile(rb"[0-9][eE]")
_DIGITS_AND_E = bytes.maketrans(b"123456789E", b"000000000e")
_NUMBER_BYTES = b"0123456789.-"
_VALUE_STARTS = b":,["


def _may_differ(data: bytes) -> bool:
    """Whether orjson's ``data`` may not be the standard library's text: it holds null,
    0.0000 or a number in exponent form (a digit and an e that follow a value start).
    A match inside a string only sends that value the slow way.

    NOTE: plain substring searches and a regex that starts with a character class: a
    regex for the exact number syntax took longer than the standard library encoder."""
    if b"null" in data or b"0.0000" in data:
        return True
    # NOTE: most texts hold no digit followed by an e: a translate and a substring search
    # answer that in C (the regex scan alone took 60 us for a 5 KB COCO annotation)
    if b"0e" not in data.translate(_DIGITS_AND_E):
        return False
    for match in _DIGIT_E.finditer(data):
        start = match.start()
        while start > 0 and data[start - 1] in _NUMBER_BYTES:
            start -= 1
        if start == 0 or data[start - 1] in _VALUE_STARTS:
            return True
    return False


def _orjson_canonical(value: Any) -> bytes | None:
    """``_stdlib_canonical(value)`` as UTF-8, 5-10x faster, or None where orjson's text
    could differ from it (see ``_may_differ``) or orjson cannot write the value
    (integers beyond 64 bits, keys that are not strings, lone surrogates, subclasses,
    nesting deeper than 254).

    NOTE: annotation ids are hashes of the canonical text, so this must give the same
    bytes as the standard library for every value it answers; tests/test_hashing.py
    compares the two on many generated values."""
    try:
        data = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return None
    if _may_differ(data):
        return None
    return data


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
        data = canonical_json_bytes(value)
        return self.bytes_digest(data), data.decode("utf-8")

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
