"""JSON that arrives in data is parsed strictly; everything ldb writes is valid JSON.

Deep nesting, lone surrogates, NaN, Infinity and out-of-range numbers give one error
line naming the file (and the JSON path of a bad number) and leave the instance as it
was; what ``ldb`` prints or writes out never contains NaN or Infinity.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.errors import FormatError
from ldb_clone.formats.exporting import dump_annotation
from ldb_clone.selection import select_members
from ldb_clone.strict_json import JsonProblem, parse_json
from tests.conftest import write_image, write_json
from tests.formats.test_coco import coco_doc, write_coco
from tests.helpers import assert_one_error_line, current, run_index

DEEP = "[" * 100_000 + "]" * 100_000


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), input=input)


BAD_ANNOTATIONS = {
    "deep": (DEEP, "nested too deeply"),
    "surrogate": ('{"label": "\\ud800"}', "lone surrogate (\\ud800) in the string at label"),
    "surrogate-key": ('{"\\udfff": 1}', "lone surrogate (\\udfff) in a key"),
    "nan": ('{"box": [1, NaN]}', "NaN at box[1]"),
    "infinity": ('{"a": {"b": -Infinity}}', "Infinity or a number out of range at a.b"),
    "overflow": ('{"score": 1e400}', "out of range at score"),
    "not-utf8": (b'{"label": "\xff"}', "not valid UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_ANNOTATIONS))
def test_bad_annotation_file_is_one_line_naming_the_file(case, instance, data_dir):
    content, expected = BAD_ANNOTATIONS[case]
    write_image(data_dir / "kept.png")
    write_json(data_dir / "kept.json", {"label": "cat"})
    assert run("index", str(data_dir)).exit_code == 0
    before = current(instance)
    write_image(data_dir / "x.png")
    bad = data_dir / "x.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")

    result = run("index", str(data_dir))

    assert result.exit_code == 1
    assert_one_error_line(result, str(bad), expected)
    assert current(instance) == before


def test_non_finite_number_in_a_format_document_names_file_and_path(instance, data_dir):
    doc = coco_doc()
    path = write_coco(data_dir, doc)
    text = path.read_text(encoding="utf-8").replace('"area": 14', '"area": 1e400')
    path.write_text(text, encoding="utf-8")

    with pytest.raises(FormatError) as caught:
        run_index(instance, data_dir, fmt="coco")

    message = str(caught.value)
    assert str(path) in message and "annotations[1].area" in message
    assert select_members(instance, ["ds:root"]) == []


def test_overflowing_float_without_exponent_is_refused(instance, data_dir):
    """A 400-digit number overflows a double without an exponent; the canonical
    encoding refuses it where the cheap text check cannot see it."""
    path = write_coco(data_dir, coco_doc())
    huge = "1" * 400 + ".0"
    text = path.read_text(encoding="utf-8").replace('"area": 14', f'"area": {huge}')
    path.write_text(text, encoding="utf-8")

    with pytest.raises(FormatError, match=r"a\.png: .*out of range at .*area"):
        run_index(instance, data_dir, fmt="coco")


def test_valid_json_is_read_as_before(instance, data_dir):
    """Big integers stay exact; a UTF-8 BOM and escaped surrogate pairs are fine."""
    write_image(data_dir / "a.png")
    (data_dir / "a.json").write_bytes(
        b'\xef\xbb\xbf{"n": 123456789012345678901234567890, "s": "\\ud83d\\ude00", "e": 1e-400}'
    )
    run_index(instance, data_dir)
    [(value, _)] = current(instance).values()
    assert value == {"n": 123456789012345678901234567890, "s": "\U0001f600", "e": 0.0}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(DEEP, "nested too deeply", id="deep"),
        pytest.param('[{"x": NaN}]', "NaN at [0].x", id="nan"),
        pytest.param('{"x": "\\udc00"}', "lone surrogate", id="surrogate"),
    ],
)
def test_query_input_problems_name_the_file(tmp_path: Path, text, expected):
    bad = tmp_path / "doc.json"
    bad.write_text(text, encoding="utf-8")

    result = run("query", str(bad))

    assert result.exit_code == 1
    assert_one_error_line(result, f"Invalid JSON in {bad}", expected)


def test_query_on_stdin_refuses_infinity():
    result = run("query", input='{"x": Infinity}')

    assert result.exit_code == 1
    assert_one_error_line(result, "Invalid JSON in stdin", "at x")


def test_query_never_prints_nan(tmp_path: Path):
    doc = write_json(tmp_path / "doc.json", {"v": "nan", "w": "1e400"})

    result = run("query", "--show", "[to_number(v), to_number(w)]", str(doc))

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [None, None]


def test_annotation_files_written_out_are_valid_json():
    text = dump_annotation({"a": float("nan"), "b": [float("inf"), 1.5]})
    assert json.loads(text, parse_constant=lambda name: pytest.fail(name)) == {
        "a": None,
        "b": [None, 1.5],
    }


def test_large_finite_numbers_and_look_alikes_are_accepted():
    """The cheap check for out-of-range numbers only decides when to look closer."""
    text = '{"big": 1E+200, "name": "e100 \\\\ud800", "small": -1.5e-300}'
    assert parse_json(text) == {"big": 1e200, "name": "e100 \\ud800", "small": -1.5e-300}


def test_parse_json_reports_syntax_errors_with_position():
    with pytest.raises(JsonProblem, match=r"line 1 column 7"):
        parse_json(b'{"a":1')


def test_nan_before_deep_nesting_is_still_one_line():
    with pytest.raises(JsonProblem, match=r"^NaN is not valid JSON$"):
        parse_json("[NaN, " + DEEP + "]")


def test_query_stdin_that_is_not_utf8_is_one_line():
    result = run("query", input=b'{"x": "\xff"}')

    assert result.exit_code == 1
    assert_one_error_line(result, "stdin")


@pytest.mark.parametrize(
    ("text", "value"),
    [('"\\ud83d\\ude00"', "\U0001f600"), ('"\\ud55c"', "\ud55c"), ('["\\uD83D\\uDE00"]', ["😀"])],
)
def test_escaped_surrogate_pairs_and_hangul_are_accepted(text, value):
    assert parse_json(text) == value


@pytest.mark.parametrize(
    "text",
    [
        '{"id": 123456789012345678901234567890}',  # beyond 64 bits: exact, not a float
        '{"id": -9223372036854775809}',
        "[18446744073709551615, 9223372036854775807, -9223372036854775808]",
        '{"digits": "1234567890123456789012", "x": 0.12345678901234567890123}',
        '{"a": 1.5e-320, "b": -0.0, "c": 1E5, "d": "\\u00e9\\ud83d\\ude00"}',
    ],
)
def test_values_are_the_standard_librarys(text):
    """orjson reads first; what it would read differently goes the standard library's way."""
    for raw in (text, text.encode("utf-8")):
        value = parse_json(raw)
        assert json.dumps(value) == json.dumps(json.loads(text))
        assert [type(v) for v in _leaves(value)] == [type(v) for v in _leaves(json.loads(text))]


def test_utf16_and_a_bom_are_read_as_before():
    assert parse_json('{"a": [1, "é"]}'.encode("utf-16")) == {"a": [1, "é"]}
    assert parse_json('\ufeff{"bom": 1}'.encode()) == {"bom": 1}


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_instantiate_writes_integers_beyond_64_bits_exactly(instance, data_dir, tmp_path):
    """Annotations read back from the catalog keep such integers (orjson alone would make
    them floats)."""
    write_image(data_dir / "a.png")
    write_json(data_dir / "a.json", {"n": 123456789012345678901234567890, "m": -(2**63) - 1})
    run_index(instance, data_dir)
    result = run("instantiate", "ds:root", "-t", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    [written] = (tmp_path / "out").glob("*.json")
    assert b"123456789012345678901234567890" in written.read_bytes()
    assert json.loads(written.read_bytes()) == {
        "n": 123456789012345678901234567890,
        "m": -(2**63) - 1,
    }
