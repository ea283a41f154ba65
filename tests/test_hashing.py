"""Content hashes: object ids from file bytes, annotation ids from canonical JSON."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import xxhash

from ldb_clone.hashing import (
    ALGORITHMS,
    CHUNK_SIZE,
    DEFAULT_ALGORITHM,
    ID_KEYS,
    Hasher,
    canonical_json,
    is_hex_id,
)

REFERENCE = {
    "md5": lambda data: hashlib.md5(data).hexdigest(),
    "xxh3": xxhash.xxh3_128_hexdigest,
}


def test_default_algorithm_is_xxh3_and_md5_is_available():
    assert DEFAULT_ALGORITHM == "xxh3"
    assert set(ALGORITHMS) == {"xxh3", "md5"}
    assert Hasher().algorithm == "xxh3"
    assert ID_KEYS == {"xxh3": "xxh3_128", "md5": "md5"}
    assert Hasher("md5").id_key == "md5"
    assert Hasher("xxh3").id_key == "xxh3_128"


def test_canonical_json_sorts_keys_at_every_level():
    value = {"b": 1, "a": {"z": [3, {"y": 1, "x": 2}], "c": None}}
    assert canonical_json(value) == '{"a":{"c":null,"z":[3,{"x":2,"y":1}]},"b":1}'


def test_canonical_json_uses_compact_separators():
    text = canonical_json({"a": [1, 2], "b": "c d"})
    assert text == '{"a":[1,2],"b":"c d"}'
    assert ", " not in text and ": " not in text


def test_canonical_json_keeps_non_ascii_characters():
    text = canonical_json({"label": "chat noir é", "名前": "猫"})
    assert text == '{"label":"chat noir é","名前":"猫"}'
    assert "\\u" not in text


def test_canonical_json_of_scalars_and_lists():
    assert canonical_json(None) == "null"
    assert canonical_json("cat") == '"cat"'
    assert canonical_json([1, "two", True]) == '[1,"two",true]'


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_annotation_id_is_the_hash_of_the_canonical_utf8_text(algorithm):
    value = {"label": "é", "n": 1}
    aid, text = Hasher(algorithm).annotation_id(value)
    assert text == '{"label":"é","n":1}'
    assert aid == REFERENCE[algorithm](text.encode("utf-8"))
    assert is_hex_id(aid)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_annotation_id_does_not_depend_on_key_order(algorithm):
    hasher = Hasher(algorithm)
    first = {"label": "cat", "box": {"x": 1, "y": 2}, "tags": ["a", "b"]}
    second = json.loads('{"tags": ["a", "b"], "box": {"y": 2, "x": 1}, "label": "cat"}')
    assert list(first) != list(second)
    assert hasher.annotation_id(first) == hasher.annotation_id(second)


def test_annotation_id_changes_with_content_and_list_order():
    hasher = Hasher()
    base = hasher.annotation_id({"tags": ["a", "b"]})[0]
    assert hasher.annotation_id({"tags": ["b", "a"]})[0] != base
    assert hasher.annotation_id({"tags": ["a", "b", "c"]})[0] != base


def test_md5_and_xxh3_annotation_ids_differ():
    value = {"label": "cat"}
    assert Hasher("md5").annotation_id(value)[0] != Hasher("xxh3").annotation_id(value)[0]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_bytes_digest_matches_the_reference_library(algorithm):
    data = b"\x89PNG\r\n\x1a\n some bytes"
    assert Hasher(algorithm).bytes_digest(data) == REFERENCE[algorithm](data)


def test_md5_file_digest_equals_hashlib(tmp_path: Path, make_image):
    path = make_image(tmp_path / "a.png")
    data = path.read_bytes()
    hasher = Hasher("md5")
    expected = hashlib.md5(data).hexdigest()
    assert hasher.file_digest(str(path)) == expected
    assert hasher.file_digest(str(path), size=len(data)) == expected


def test_xxh3_file_digest_equals_xxhash(tmp_path: Path, make_image):
    path = make_image(tmp_path / "a.png")
    data = path.read_bytes()
    expected = xxhash.xxh3_128(data).hexdigest()
    assert Hasher().file_digest(str(path)) == expected
    assert Hasher().file_digest(str(path), size=len(data)) == expected


def test_file_digest_of_an_empty_file(tmp_path: Path):
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    assert Hasher("md5").file_digest(str(path), size=0) == hashlib.md5(b"").hexdigest()
    assert Hasher("xxh3").file_digest(str(path)) == xxhash.xxh3_128_hexdigest(b"")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_chunked_and_single_read_digests_agree_on_a_large_file(tmp_path: Path, algorithm):
    # More than 4 MiB and not a multiple of the chunk size: the chunked path is used.
    data = os.urandom(4 * CHUNK_SIZE + 12345)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    hasher = Hasher(algorithm)
    expected = REFERENCE[algorithm](data)
    chunked = hasher.file_digest(str(path), size=len(data))
    streamed = hasher.file_digest(str(path))
    single = hasher.bytes_digest(data)
    odd_chunks = hasher.stream_digest(data[i : i + 777_777] for i in range(0, len(data), 777_777))
    assert chunked == streamed == single == odd_chunks == expected


def test_is_hex_id():
    assert is_hex_id("0" * 32)
    assert is_hex_id("06430cccfe24c272d92ef493ab0497f1")
    assert not is_hex_id("06430CCCFE24C272D92EF493AB0497F1")
    assert not is_hex_id("06430cccfe24c272d92ef493ab0497f")
    assert not is_hex_id("g6430cccfe24c272d92ef493ab0497f1")
    assert not is_hex_id("")


def _generated_value(rnd, depth: int = 0):
    """A JSON value with the numbers and characters where fast encoders tend to differ:
    floats of every magnitude, big integers, control and non-ASCII characters."""
    kind = rnd.random()
    if depth > 3 or kind < 0.5:
        pick = rnd.random()
        if pick < 0.3:
            exponent = rnd.randint(-30, 30)
            return rnd.choice([rnd.uniform(-10, 10) * 10**exponent, round(rnd.random(), 7)])
        if pick < 0.5:
            return rnd.randint(-(2**70), 2**70) if rnd.random() < 0.1 else rnd.randint(-999, 999)
        if pick < 0.8:
            alphabet = [chr(c) for c in range(0x80)] + ["é", "\u2028", "\x7f", "😀", "\uffff"]
            return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 5)))
        return rnd.choice([None, True, False, -0.0, 1e-05, 1e16, 5e-324])
    if kind < 0.75:
        return [_generated_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    return {str(_generated_value(rnd, 4)): _generated_value(rnd, depth + 1) for _ in range(3)}


def test_canonical_json_is_the_standard_library_text_for_every_value():
    # annotation ids are hashes of this text: the fast encoder must never change it
    import random

    from ldb_clone.hashing import _orjson_canonical, _stdlib_canonical

    rnd = random.Random(12)
    fast = 0
    for _ in range(20000):
        value = _generated_value(rnd)
        assert canonical_json(value) == _stdlib_canonical(value), value
        fast += _orjson_canonical(value) is not None
    assert fast > 5000  # the fast path is taken, and checked, for most values


@pytest.mark.parametrize(
    "value", [{1: "a", 2: "b"}, {"n": 2**64}, {"x": 1e-07}, {"x": 3.5e-05}, [None, 1]]
)
def test_canonical_json_of_values_the_fast_encoder_leaves_to_the_standard_library(value):
    assert canonical_json(value) == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def test_canonical_json_refuses_non_finite_numbers_and_lone_surrogates():
    for bad in (float("nan"), float("inf"), {"a": [float("-inf")]}):
        with pytest.raises(ValueError):
            canonical_json(bad)
    with pytest.raises(UnicodeEncodeError):
        Hasher().annotation_id({"label": "\ud800"})
