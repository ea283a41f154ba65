"""Compiling and evaluating queries: flavours, truthiness, runtime errors, syntax errors."""

from __future__ import annotations

import json

import jmespath
import pytest
from jmespath.visitor import Options, TreeInterpreter

from ldb_clone.errors import LdbError
from ldb_clone.query import QueryError, QuerySyntaxError, compile_query, is_true
from ldb_clone.query.functions import LdbFunctions
from ldb_clone.query.interpreter import (
    StrictTreeInterpreter,
    build_evaluator,
    build_matcher,
)

# --query vs --jquery ---------------------------------------------------------------------------

OBJECTS = [{"label": "cat"}, {"label": "dog"}, {}, {"label": None}, [], None]


def count(expression: str, strict: bool, values=OBJECTS) -> int:
    query = compile_query(expression, strict=strict)
    return sum(query.matches(v) for v in values)


def test_missing_keys_drop_every_object_in_the_strict_flavour():
    # the reference's example: `list --query 'missing == other'` -> 0, --jquery -> 6
    assert count("missing == other", strict=True) == 0
    assert count("missing == other", strict=False) == len(OBJECTS)


def test_strict_lookup_errors_are_counted_by_type():
    query = compile_query("label == 'cat'", strict=True)
    assert [query.matches(v) for v in OBJECTS] == [True, False, False, False, False, False]
    # {} lacks the key; [] and null are not objects
    assert query.errors == {"MissingIdentifierException": 1, "IdentifierTypeException": 2}


def test_standard_flavour_treats_missing_and_non_objects_as_null():
    query = compile_query("label == `null`", strict=False)
    assert [query.matches(v) for v in OBJECTS] == [False, False, True, True, True, True]
    assert not query.errors


def test_strict_key_present_with_null_value_is_not_missing():
    query = compile_query("label == `null`", strict=True)
    assert query.matches({"label": None}) is True
    assert not query.errors


@pytest.mark.parametrize(
    ("expression", "value", "strict_result", "standard_result"),
    [
        ("a.b", {"a": {"b": 1}}, 1, 1),
        ("a.b", {"a": {}}, None, None),
        ("a.b", {"a": None}, None, None),
        ("a.b", {"a": "text"}, None, None),
        ("a[0].b", {"a": [{"c": 1}]}, None, None),
        ("a[*].b", {"a": [{"b": 1}, {"c": 2}]}, None, [1]),  # one bad element fails it all
        ("a[?b == `1`]", {"a": [{"b": 1}, {"c": 2}]}, None, [{"b": 1}]),
        ("a || b", {"b": 2}, None, 2),  # no fallback past a missing key
        ("b || a", {"b": 2}, 2, 2),  # short cut: a is never looked up
        ("has_keys(@, 'a')", {}, False, False),  # functions look keys up themselves
        ("get(@, 'a', `3`)", {}, 3, 3),
        ("a[1]", {"a": [1]}, None, None),  # an index past the end is null in both
    ],
)
def test_flavours(expression, value, strict_result, standard_result):
    assert compile_query(expression, strict=True).search(value) == strict_result
    assert compile_query(expression, strict=False).search(value) == standard_result


# truthiness -----------------------------------------------------------------------------------

FALSE_VALUES = [False, None, "", [], {}]
TRUE_VALUES = [True, 0, 0.0, -1, 1.5, "0", "false", " ", [0], [None], [[]], {"a": None}]


@pytest.mark.parametrize("value", FALSE_VALUES)
@pytest.mark.parametrize("strict", [True, False])
def test_false_values(value, strict):
    assert compile_query("@", strict=strict).matches(value) is False
    assert compile_query("x", strict=strict).matches({"x": value}) is False
    assert is_true(value) is False


@pytest.mark.parametrize("value", TRUE_VALUES)
@pytest.mark.parametrize("strict", [True, False])
def test_true_values(value, strict):
    assert compile_query("@", strict=strict).matches(value) is True
    assert compile_query("x", strict=strict).matches({"x": value}) is True
    assert is_true(value) is True


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("!`0`", False),  # 0 is true, so !0 is false
        ("!`[]`", True),
        ('`0` && `""`', False),
        ("`[]` || `0`", True),
        ("`1` == `true`", False),  # JMESPath: true is not 1
        ("`0` == `false`", False),
        ("`1.0` == `1`", True),
        ('`"a"` < `"b"`', True),  # strings are ordered too
        ('`"1"` < `2`', False),  # mixed: a TypeError, so no match
        ("`[1]` < `[2]`", False),  # arrays are not ordered: null
        ("`null`", False),
    ],
)
def test_matches_uses_jmespath_rules(expression, expected):
    assert compile_query(expression, strict=False).matches(None) is expected


# runtime errors -------------------------------------------------------------------------------


def test_runtime_error_makes_the_item_not_match_and_is_counted():
    query = compile_query("length(name) > `2`", strict=False)
    values = [{"name": "abc"}, {"name": 3}, {"name": "a"}, {"name": None}, {"name": [1, 2, 3]}]
    assert [query.matches(v) for v in values] == [True, False, False, False, True]
    assert query.errors == {"JMESPathTypeError": 2}


def test_search_returns_none_on_error():
    query = compile_query("abs(n)", strict=False)
    assert [query.search(v) for v in ({"n": -2}, {"n": "x"}, {})] == [2, None, None]
    assert query.errors == {"JMESPathTypeError": 2}


def test_one_warning_per_error_type():
    query = compile_query("abs(n)", strict=True)
    for value in ({"n": "x"}, {"n": "y"}, {}, {"n": 1}, {}):
        query.search(value)
    warnings = query.take_warnings()
    assert len(warnings) == 2
    assert warnings[0].startswith("JMESPathTypeError: In function abs(), invalid type")
    assert warnings[0].endswith("(query 'abs(n)', 2 values)")
    assert warnings[1] == ("MissingIdentifierException: missing key 'n' (query 'abs(n)', 2 values)")
    assert all("\n" not in w for w in warnings)
    # reported once; a new type later is reported then
    query.search({"n": "z"})
    assert query.take_warnings() == []
    query.search([])
    (new,) = query.take_warnings()
    assert new.startswith("IdentifierTypeException: cannot look up key 'n' in a list")


def test_lookup_errors_can_be_left_out_of_the_warnings():
    query = compile_query("abs(n)", strict=True)
    for value in ({"n": "x"}, {}, None):
        query.search(value)
    (warning,) = query.take_warnings(lookup_errors=False)
    assert warning.startswith("JMESPathTypeError:")
    assert query.errors == {
        "JMESPathTypeError": 1,
        "MissingIdentifierException": 1,
        "IdentifierTypeException": 1,
    }


def test_long_error_messages_are_shortened_to_one_line():
    query = compile_query("abs(@)")
    query.search({"k": "v" * 1000, "multi": "line\nbreak"})
    (warning,) = query.take_warnings()
    assert "\n" not in warning
    assert len(warning) < 400


def test_queries_keep_separate_error_records():
    first = compile_query("abs(n)")
    second = compile_query("abs(n)")
    first.search({"n": "x"})
    assert first.errors == {"JMESPathTypeError": 1}
    assert not second.errors
    assert second.take_warnings() == []


# syntax errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("label ==", "Invalid query 'label ==': unexpected end of expression at column 8"),
        ("label == ", "Invalid query 'label == ': unexpected end of expression at column 8"),
        ("a.", "Invalid query 'a.': unexpected end of expression at column 2"),
        ("foo(", "Invalid query 'foo(': unexpected end of expression at column 4"),
        ("a b", "Invalid query 'a b': unexpected 'b' at column 3"),
        ("a == == 1", "Invalid query 'a == == 1': unexpected '==' at column 6"),
        ("a.(b)", "Invalid query 'a.(b)': unexpected '(' at column 3"),
        ("label = 'cat'", "Invalid query \"label = 'cat'\": unknown token '=' at column 7"),
        ("a ~ b", "Invalid query 'a ~ b': unknown token ~ at column 3"),
        ("x == 'ab", "Invalid query \"x == 'ab\": unclosed ' delimiter at column 6"),
        ("'a'(b)", "Invalid query \"'a'(b)\": invalid function name 'a' at column 1"),
        (
            'x || "f"(b)',
            "Invalid query 'x || \"f\"(b)': quoted identifier used as a function name at column 6",
        ),
        ("", "Invalid query '': the expression is empty"),
        ("   ", "Invalid query '   ': the expression is empty"),
        ("a\n==", "Invalid query 'a\\n==': unexpected end of expression at column 4"),
    ],
)
@pytest.mark.parametrize("strict", [True, False])
def test_syntax_errors_are_one_line_with_the_column(expression, message, strict):
    with pytest.raises(QuerySyntaxError) as caught:
        compile_query(expression, strict=strict)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, LdbError)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("abs(a, b)", "abs() takes 1 argument, got 2"),
        ("regex(a)", "regex() takes 2 arguments, got 1"),
        ("not_null()", "not_null() takes at least 1 argument, got 0"),
        ("a[?nope(b)]", "unknown function nope()"),
        ("{x: length(a, b)}", "length() takes 1 argument, got 2"),
    ],
)
def test_function_errors_are_found_when_compiling(expression, message):
    with pytest.raises(QueryError) as caught:
        compile_query(expression)
    assert str(caught.value) == f"Invalid query {expression!r}: {message}"


# caching ---------------------------------------------------------------------------------------


def test_compiled_programs_are_cached():
    first = compile_query("label == 'cat'", strict=True)
    second = compile_query("label == 'cat'", strict=True)
    assert first is not second  # each use records its own errors
    assert first.program is second.program
    assert compile_query("label == 'cat'", strict=False).program is not first.program
    assert compile_query("label == 'dog'", strict=True).program is not first.program


def test_repr():
    assert repr(compile_query("a", strict=True)) == "<Query query 'a'>"
    assert repr(compile_query("a", strict=False)) == "<Query jquery 'a'>"


# the compiled evaluator agrees with jmespath's tree interpreter ---------------------------------

EXPRESSIONS = [
    "@",
    "a",
    "a.b",
    "a.b.c",
    "a[0]",
    "a[-1]",
    "a[0][0]",
    "a[1:]",
    "a[::-1]",
    "a[:1].b",
    "a[*]",
    "a[*].b",
    "a[*][0]",
    "a[].b",
    "a[]",
    "a[][]",
    "*",
    "*.b",
    "a.*",
    "a.*.b",
    "a[?b > `1`].c",
    "a[?b == 'x']",
    "a[?b]",
    "a[?@ > `1`]",
    "a[?!b]",
    "[a, b]",
    "a.[b, c]",
    "{x: a, y: b.c}",
    "a.{x: b}",
    "a || b",
    "a && b",
    "!a",
    "!b",
    "!!a",
    "a == b",
    "a != b",
    "a < b",
    "a <= b",
    "a > `1`",
    "a >= `1`",
    "`1` < a",
    "'abc' > b",
    "a == `1`",
    "a == `0`",
    "a == `true`",
    "a != `false`",
    "`0` == b",
    "a == 'x'",
    "'x' != a",
    "a == `[1, 2, 3]`",
    "a | b",
    "a | [0]",
    "a[*].b | [0]",
    "(a || b).c",
    "a.b || c.d",
    "a.b.c == 'x' && d",
    "length(a)",
    "sort_by(a, &b)",
    "max_by(a, &b).c",
    "map(&b, a)",
    "not_null(x, a)",
    "contains(a, `1`)",
    "to_number(a) > `2`",
    "keys(@)",
    "type(a)",
    "max(a)",
    "'x'",
    '`{"k": [1, 2]}`',
    "@.a",
    "has_keys(@, 'a', 'b')",
    "get(@, 'a.b', 'none')",
    "add(a, `1`)",
    "unique(a)",
    "regex(a, 'b')",
]

VALUES = [
    None,
    {},
    [],
    "str",
    0,
    True,
    {"a": 1},
    {"a": 0, "b": False},
    {"a": True, "b": 1},
    {"a": "abc", "b": "abd"},
    {"a": {"b": {"c": "x"}}, "d": True},
    {"a": {"b": None}, "c": {"d": 4}},
    {"a": [1, 2, 3]},
    {"a": [1, 2, 3], "b": [1]},
    {"a": [{"b": 2, "c": 3}, {"b": 0, "c": None}, {"c": 5}], "b": [1]},
    {"a": [{"b": 2, "c": 3}, {"b": 1, "c": 4}], "b": "q"},
    {"a": [[1, 2], [3], 4], "b": "x"},
    {"a": {"x": {"b": 1}, "y": {"b": 2}, "z": 3}},
    {"a": {"b": "x", "c": {"b": 1}}, "x": None},
    [1, 2],
    [{"a": 1}, {"b": 2}],
    {"a": "b", "b": "b"},
]


def _outcome(evaluate, value):
    try:
        return "ok", json.dumps(evaluate(value))
    except Exception as exc:
        return "error", type(exc).__name__


@pytest.mark.parametrize("strict", [True, False], ids=["query", "jquery"])
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_compiled_evaluator_matches_tree_interpreter(expression, strict):
    functions = LdbFunctions()
    parsed = jmespath.compile(expression).parsed
    interpreter = (StrictTreeInterpreter if strict else TreeInterpreter)(
        Options(custom_functions=functions)
    )
    evaluate = build_evaluator(parsed, strict, functions)
    match = build_matcher(parsed, strict, functions)
    for value in VALUES:
        expected = _outcome(lambda v: interpreter.visit(parsed, v), value)
        assert _outcome(evaluate, value) == expected, value
        truth = expected[0] == "ok" and is_true(json.loads(expected[1]))
        assert _outcome(match, value) in (("ok", json.dumps(truth)), expected), value


def test_standard_flavour_agrees_with_jmespath_search():
    value = {"people": [{"name": "a", "age": 30}, {"name": "b", "age": 20}, {"name": "c"}]}
    for expression in ["people[?age > `25`].name", "sort_by(people[?age], &age)[*].name"]:
        assert compile_query(expression, strict=False).search(value) == jmespath.search(
            expression, value
        )
