"""Queries that used to fail quietly or crash: invalid literal regular expressions, long
flat ``||``/``&&`` chains, and nesting too deep to evaluate."""

from __future__ import annotations

import json

import jmespath
import pytest
from jmespath.visitor import Options, TreeInterpreter
from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.query import QueryError, compile_query, is_true
from ldb_clone.query.functions import LdbFunctions
from ldb_clone.query.interpreter import StrictTreeInterpreter
from tests.helpers import assert_one_error_line
from tests.query.test_query import VALUES, _outcome


@pytest.mark.parametrize(
    "expression",
    ["regex(a, '[')", 'regex_match(a, `"(x"`)', "items[?regex(name, '*cat')]"],
)
def test_invalid_literal_regex_is_an_error_when_compiling(expression):
    with pytest.raises(QueryError, match=r"invalid regular expression"):
        compile_query(expression)


def test_invalid_regex_cli_exits_1(tmp_path):
    doc = tmp_path / "doc.json"
    doc.write_text('{"a": "x"}', encoding="utf-8")

    result = CliRunner().invoke(app, ["query", "--query", "regex(a, '[')", str(doc)])

    assert result.exit_code == 1
    assert_one_error_line(result, "invalid regular expression '['")


def test_valid_regex_still_matches():
    assert compile_query("regex(a, '^c.t$')").matches({"a": "cat"})


@pytest.mark.parametrize("strict", [True, False], ids=["query", "jquery"])
def test_a_6000_way_or_chain_compiles_and_evaluates(strict):
    expression = " || ".join(f"n == `{i}`" for i in range(6000))
    query = compile_query(expression, strict=strict)

    assert query.matches({"n": 5999})
    assert query.matches({"n": 0})
    assert not query.matches({"n": 6000})
    assert query.search({"n": 6000}) is False


def test_a_6000_way_and_chain_returns_the_first_false_operand():
    expression = " && ".join(["a"] * 5999 + ["b"])
    query = compile_query(expression, strict=False)

    assert query.search({"a": 1, "b": "last"}) == "last"
    assert query.search({"a": [], "b": "last"}) == []
    assert query.matches({"a": 1, "b": "x"}) and not query.matches({"a": 1, "b": ""})


def test_nesting_too_deep_to_evaluate_is_an_error():
    with pytest.raises(QueryError, match=r"nested too deeply$"):
        compile_query("!" * 6000 + "a")


CHAINS = [
    "a || b || c",
    "a && b && c",
    "a || (b || c) && d",
    "(a && b) && (c && d)",
    "a || b && c || d",
    "a.b || a || b || x || `0`",
    "a[?b || c || `false`]",
]


@pytest.mark.parametrize("strict", [True, False], ids=["query", "jquery"])
@pytest.mark.parametrize("expression", CHAINS)
def test_flattened_chains_agree_with_the_tree_interpreter(expression, strict):
    query = compile_query(expression, strict=strict)
    parsed = jmespath.compile(expression).parsed
    interpreter = (StrictTreeInterpreter if strict else TreeInterpreter)(
        Options(custom_functions=LdbFunctions())
    )
    for value in VALUES:
        expected = _outcome(lambda v: interpreter.visit(parsed, v), value)
        actual = _outcome(query.program.evaluate, value)
        assert actual == expected, value
        if expected[0] == "ok":
            assert query.program.match(value) == is_true(json.loads(expected[1])), value
