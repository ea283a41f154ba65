"""LDB's JMESPath functions (reference 1.5): results, edge cases and type errors."""

from __future__ import annotations

import pytest

from ldb_clone.query import QueryError, compile_query
from ldb_clone.query.functions import (
    LDB_NAMES,
    InvalidKeyPathError,
    LdbFunctions,
    parse_key_path,
)


def evaluate(expression: str, value=None, strict: bool = False):
    """(result, {error type: count}) of one evaluation."""
    query = compile_query(expression, strict=strict)
    return query.search(value), dict(query.errors)


def ok(expression: str, value=None, strict: bool = False):
    result, errors = evaluate(expression, value, strict)
    assert errors == {}, errors
    return result


def fails(expression: str, value=None, strict: bool = False) -> str:
    """The one error type evaluating ``expression`` raises."""
    result, errors = evaluate(expression, value, strict)
    assert result is None
    assert len(errors) == 1, errors
    return next(iter(errors))


def test_every_ldb_function_is_registered():
    assert {
        "regex",
        "regex_match",
        "add",
        "sub",
        "mul",
        "div",
        "neg",
        "contains_all",
        "contains_any",
        "has_keys",
        "get",
        "dotproduct",
        "unique",
    } == LDB_NAMES
    # and the standard set is still there
    assert {"abs", "contains", "length", "sort_by", "max_by", "to_number"} <= set(
        LdbFunctions.FUNCTION_TABLE
    )


# regex / regex_match ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("regex(name, 'a')", True),
        ("regex(name, '^a')", False),  # a search, not a match at the start
        ("regex(name, '^c.t$')", True),
        ("regex(name, '')", True),
        ("regex(name, '[0-9]')", False),
        ("regex_match(name, 'a.')", "at"),
        ("regex_match(name, '[0-9]+')", None),
        ("regex_match('cat99 dog7', '[0-9]+')", "99"),
        ("regex_match(name, '(c)(a)')", "ca"),  # the whole match, not a group
    ],
)
def test_regex(expression, expected):
    assert ok(expression, {"name": "cat"}) == expected


@pytest.mark.parametrize("expression", ["regex(n, 'a')", "regex(name, n)", "regex_match(n, 'a')"])
def test_regex_needs_strings(expression):
    assert fails(expression, {"name": "cat", "n": 1}) == "JMESPathTypeError"


def test_regex_bad_pattern_from_the_data_is_a_runtime_error():
    """A literal bad pattern is an error when compiling (tests/query/test_query_limits.py);
    one that comes from the data can only be found per object."""
    query = compile_query("regex(name, pattern)")
    assert query.matches({"name": "a", "pattern": "("}) is False
    assert query.errors == {"InvalidRegexError": 1}
    (warning,) = query.take_warnings()
    assert warning.startswith("InvalidRegexError: invalid regular expression '(':")


def test_regex_flags_inside_pattern():
    assert ok("regex(name, '(?i)^CAT$')", {"name": "cat"}) is True


# arithmetic -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("add(`1`, `2`)", 3),
        ("add(`1.5`, `2`)", 3.5),
        ("sub(`1`, `3`)", -2),
        ("mul(`4`, `2.5`)", 10.0),
        ("div(`1`, `2`)", 0.5),
        ("div(`4`, `2`)", 2.0),  # true division
        ("add(`[1, 2, 3]`, `[10, 20, 30]`)", [11, 22, 33]),
        ("add(`[1, 2, 3]`, `[10, 20]`)", [11, 22]),  # zip truncates
        ("sub(`[1]`, `[10, 20]`)", [-9]),
        ("add(`[1, 2]`, `10`)", [11, 12]),  # scalar broadcast, both sides
        ("sub(`10`, `[1, 2]`)", [9, 8]),
        ("mul(`[1, 2]`, `3`)", [3, 6]),
        ("div(`[1, 2]`, `4`)", [0.25, 0.5]),
        ("div(`8`, `[2, 4]`)", [4.0, 2.0]),
        ("add(`[]`, `[1]`)", []),
        ("add(`[]`, `1`)", []),
        ("neg(`3`)", -3),
        ("neg(`-2.5`)", 2.5),
        ("neg(`[1, -2, 0]`)", [-1, 2, 0]),
        ("neg(`[]`)", []),
    ],
)
def test_arithmetic(expression, expected):
    result = ok(expression)
    assert result == expected
    assert type(result) is type(expected)


def test_arithmetic_on_annotation_fields():
    value = {"box": [10, 20, 30, 40], "scale": 2}
    assert ok("mul(box, scale)", value) == [20, 40, 60, 80]
    assert ok("sub(box[2:], box[:2])", value) == [20, 20]
    assert ok("div(box[2], box[3]) < `1`", value) is True


@pytest.mark.parametrize(
    "expression",
    [
        "add('a', `1`)",
        "add(`1`, `true`)",
        "add(`null`, `1`)",
        'add(`["a"]`, `[1]`)',  # upstream concatenated strings here
        "mul(`[[1]]`, `2`)",
        "neg('a')",
        "neg(`[true]`)",
        "div(`{}`, `1`)",
    ],
)
def test_arithmetic_type_errors(expression):
    assert fails(expression) == "JMESPathTypeError"


def test_division_by_zero_is_a_runtime_error():
    assert fails("div(`1`, `0`)") == "ZeroDivisionError"
    assert fails("div(`[1, 2]`, `[1, 0]`)") == "ZeroDivisionError"


# contains_all / contains_any ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('contains_all(tags, `["a", "c"]`)', True),
        ('contains_all(tags, `["a", "x"]`)', False),
        ("contains_all(tags, `[]`)", True),
        ('contains_any(tags, `["x", "c"]`)', True),
        ('contains_any(tags, `["x", "y"]`)', False),
        ("contains_any(tags, `[]`)", False),
        ('contains_all(name, `["ca", "t"]`)', True),  # substrings of a string
        ('contains_all(name, `["ca", "dog"]`)', False),
        ('contains_any(name, `["dog", "at"]`)', True),
        ("contains_all(nums, `[1, 3]`)", True),
        ("contains_any(nums, `[[1]]`)", False),
    ],
)
def test_contains(expression, expected):
    value = {"tags": ["a", "b", "c"], "name": "cat", "nums": [1, 2, 3]}
    assert ok(expression, value) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "contains_all(`1`, `[1]`)",
        "contains_any(`{}`, `[1]`)",
        "contains_all(`[1]`, 'a')",
        "contains_any('abc', `[1]`)",  # a string only contains strings
    ],
)
def test_contains_type_errors(expression):
    assert fails(expression) == "JMESPathTypeError"


# has_keys / get -------------------------------------------------------------------------------

NESTED = {"a": 1, "b": {"c": None, "d": {"e": [1]}}, "x.y": {"z": 2}, "": 0}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("has_keys(@, 'a')", True),
        ("has_keys(@, 'a', 'b')", True),
        ("has_keys(@, 'b.c')", True),  # present with a null value still counts
        ("has_keys(@, 'b.d.e')", True),
        ("has_keys(@, 'a', 'b.x')", False),
        ("has_keys(@, 'q')", False),
        ("has_keys(@, 'a.b')", False),  # a is a number, not an object
        ("has_keys(@, 'b.d.e.f')", False),  # e is an array
        ("has_keys(@, '\"x.y\".z')", True),  # quoted identifiers may hold dots
        ("has_keys(@, 'x.y')", False),
        ("has_keys(b, 'c', 'd')", True),
        ("has_keys(`null`, 'a')", False),
        ("has_keys(`[1]`, 'a')", False),
        ("has_keys('abc', 'a')", False),
    ],
)
def test_has_keys(expression, expected):
    assert ok(expression, NESTED) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("get(@, 'a')", 1),
        ("get(@, 'b.d.e')", [1]),
        ("get(@, 'b.c')", None),
        ("get(@, 'b.c', `5`)", None),  # present: its value, even null
        ("get(@, 'q')", None),
        ("get(@, 'q', `5`)", 5),
        ("get(@, 'q', 'dflt')", "dflt"),
        ("get(@, 'a.b', `[]`)", []),
        ("get(@, '\"x.y\".z')", 2),
        ("get(`null`, 'a', `0`)", 0),
    ],
)
def test_get(expression, expected):
    assert ok(expression, NESTED) == expected


@pytest.mark.parametrize(
    "expression",
    ["has_keys(@, `1`)", "has_keys(@, 'a', `1`)", "get(@, `1`)", "get(@, `null`, `1`)"],
)
def test_key_paths_must_be_strings(expression):
    assert fails(expression, NESTED) == "JMESPathTypeError"


@pytest.mark.parametrize("key", ["a.", ".a", "a..b", "a[0]", "a b", "`1`", "a.*", "a.0"])
def test_invalid_key_paths(key):
    with pytest.raises(InvalidKeyPathError):
        parse_key_path(key)
    assert fails(f"has_keys(@, '{key}')", NESTED) == "InvalidKeyPathError"
    assert fails(f"get(@, '{key}')", NESTED) == "InvalidKeyPathError"


def test_key_path_parsing():
    assert parse_key_path("a") == ("a",)
    assert parse_key_path("a.b.c") == ("a", "b", "c")
    assert parse_key_path('"a.b".c') == ("a.b", "c")
    assert parse_key_path('a."with space"') == ("a", "with space")


def test_has_keys_and_get_arity_is_checked_when_compiling():
    with pytest.raises(QueryError, match=r"has_keys\(\) takes at least 2 arguments, got 1"):
        compile_query("has_keys(@)")
    with pytest.raises(QueryError, match=r"get\(\) takes 2 to 3 arguments, got 4"):
        compile_query("get(@, 'a', `1`, `2`)")
    assert ok("has_keys(@, 'a', 'b', 'b.c', 'b.d')", NESTED) is True


def test_expref_is_not_a_value_for_get():
    assert fails("get(&a, 'a')", NESTED) == "JMESPathTypeError"


# dotproduct / unique --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("dotproduct(`[1, 2, 3]`, `[4, 5, 6]`)", 32),
        ("dotproduct(`[0.5]`, `[4]`)", 2.0),
        ("dotproduct(`[]`, `[]`)", 0),
    ],
)
def test_dotproduct(expression, expected):
    assert ok(expression) == expected


def test_dotproduct_unequal_lengths():
    query = compile_query("dotproduct(`[1, 2]`, `[1]`)")
    assert query.search(None) is None
    assert query.errors == {"ValueError": 1}
    assert "vector lengths must match: 2 != 1" in query.take_warnings()[0]


@pytest.mark.parametrize(
    "expression", ['dotproduct(`[1, "a"]`, `[1, 2]`)', "dotproduct(`1`, `[1]`)"]
)
def test_dotproduct_type_errors(expression):
    assert fails(expression) == "JMESPathTypeError"


def test_unique_keeps_first_occurrence_in_order():
    assert ok("unique(`[3, 1, 3, 2, 1]`)") == [3, 1, 2]
    assert ok('unique(`["b", "a", "b"]`)') == ["b", "a"]
    assert ok("unique(`[]`)") == []


def test_unique_is_json_aware():
    # true is not 1 (Python would merge them), 1 and 1.0 are one JSON number,
    # arrays and objects compare by value
    value = [1, True, 1.0, "1", None, None, [1, 2], [1, 2], {"a": 1, "b": 2}, {"b": 2, "a": 1}]
    assert ok("unique(@)", value) == [1, True, "1", None, [1, 2], {"a": 1, "b": 2}]


def test_unique_needs_an_array():
    assert fails("unique('abc')") == "JMESPathTypeError"


# the standard functions with exprefs still work on the compiled evaluator ------------------


def test_expref_functions():
    items = [{"n": 2, "s": "b"}, {"n": 1, "s": "a"}, {"n": 3, "s": "c"}]
    assert ok("sort_by(@, &n)[*].s", items) == ["a", "b", "c"]
    assert ok("max_by(@, &n).s", items) == "c"
    assert ok("map(&add(n, `1`), @)", items) == [3, 2, 4]
    # a missing key inside an expref fails the whole expression in the strict flavour
    assert ok("map(&q, @)", items) == [None, None, None]
    assert fails("map(&q, @)", items, strict=True) == "MissingIdentifierException"


def test_unknown_function_is_an_error_when_compiling():
    with pytest.raises(QueryError) as caught:
        compile_query("regx(a, 'b')")
    assert str(caught.value) == "Invalid query \"regx(a, 'b')\": unknown function regx()"
