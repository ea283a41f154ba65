"""Compiling ``--query``/``--jquery`` expressions and evaluating them over many objects."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jmespath import exceptions, lexer
from jmespath.parser import Parser

from ldb_clone.errors import LdbError
from ldb_clone.query.functions import REGEX_FUNCTIONS, InvalidRegexError, check_regex
from ldb_clone.query.interpreter import Evaluator, build_evaluator, build_matcher
from ldb_clone.query.user_functions import FunctionSet, function_set

_MAX_WARNING_CHARS = 300
LOOKUP_ERRORS = frozenset({"MissingIdentifierException", "IdentifierTypeException"})


class QueryError(LdbError):
    """An expression that cannot be used: bad syntax, unknown function, wrong arity."""


class QuerySyntaxError(QueryError):
    pass


@dataclass(frozen=True, eq=False)
class Program:
    """A compiled expression; shared by every ``Query`` with the same text and flavour."""

    expression: str
    strict: bool
    parsed: dict[str, Any]
    evaluate: Evaluator
    match: Evaluator


class Query:
    """One use of a compiled expression, with its own record of runtime errors.

    A runtime error (a JMESPath type error, a missing key in the strict flavour, an
    exception in a function) makes ``matches`` false and ``search`` None; it is
    counted by exception type in ``errors``, and ``take_warnings`` reports each type
    once.
    """

    def __init__(self, program: Program, functions: FunctionSet) -> None:
        self.program = program
        self.functions = functions
        self.errors: Counter[str] = Counter()
        self._examples: dict[str, str] = {}
        self._reported: set[str] = set()

    @property
    def expression(self) -> str:
        return self.program.expression

    @property
    def strict(self) -> bool:
        return self.program.strict

    def matches(self, value: Any) -> bool:
        """The JMESPath truthiness of the result; False when evaluating fails."""
        try:
            return self.program.match(value)
        except Exception as exc:
            self._record(exc)
            return False

    def search(self, value: Any) -> Any:
        """The result; None when evaluating fails."""
        try:
            return self.program.evaluate(value)
        except Exception as exc:
            self._record(exc)
            return None

    def take_warnings(self, lookup_errors: bool = True) -> list[str]:
        """One line per error type not reported yet, plus user function load warnings.

        Load warnings come once per process and instance, from whichever query takes
        them first. ``lookup_errors=False`` leaves out the strict flavour's missing-key
        and not-an-object errors, which only mean "no match" (upstream's ``list``,
        ``add`` ... printed no warnings at all).
        """
        messages = self.functions.take_warnings()
        for name, example in self._examples.items():
            if name not in self._reported and (lookup_errors or name not in LOOKUP_ERRORS):
                self._reported.add(name)
                count = self.errors[name]
                values = "value" if count == 1 else "values"
                messages.append(f"{name}: {example} (query {self.expression!r}, {count} {values})")
        return messages

    def _record(self, exc: Exception) -> None:
        name = type(exc).__name__
        self.errors[name] += 1
        if name not in self._examples:
            text = " ".join(str(exc).split()) or name
            if len(text) > _MAX_WARNING_CHARS:
                text = text[: _MAX_WARNING_CHARS - 3] + "..."
            self._examples[name] = text

    def __repr__(self) -> str:
        flavour = "query" if self.strict else "jquery"
        return f"<Query {flavour} {self.expression!r}>"


def compile_query(expression: str, strict: bool = True, instance_dir: Path | None = None) -> Query:
    """Compile ``expression``: ``strict`` is ``--query`` (LDB), otherwise ``--jquery``.

    The functions are the standard JMESPath ones, LDB's and the user functions of
    ``instance_dir`` (when given). Raises ``QuerySyntaxError`` (one line, with the
    column) for malformed text and ``QueryError`` for an unknown function or a wrong
    number of arguments.
    """
    functions = function_set(instance_dir)
    return Query(_program(expression, bool(strict), functions), functions)


def clear_caches() -> None:
    """Forget compiled expressions and loaded user functions (for tests)."""
    from ldb_clone.query.user_functions import clear_cache

    _program.cache_clear()
    clear_cache()


@lru_cache(maxsize=1024)
def _program(expression: str, strict: bool, functions: FunctionSet) -> Program:
    parsed = parse(expression)
    _check_functions(expression, parsed, functions)
    try:
        return Program(
            expression,
            strict,
            parsed,
            build_evaluator(parsed, strict, functions.functions),
            build_matcher(parsed, strict, functions.functions),
        )
    except RecursionError:
        raise QueryError(f"Invalid query {_shown(expression)}: nested too deeply") from None


def parse(expression: str) -> dict[str, Any]:
    """jmespath's AST for ``expression``, or ``QuerySyntaxError``; chains of ``||`` (or
    of ``&&``) are one node with every operand as a child (see ``flatten_chains``)."""
    if not isinstance(expression, str) or not expression.strip():
        raise QuerySyntaxError(f"Invalid query {expression!r}: the expression is empty")
    try:
        return flatten_chains(Parser().parse(expression).parsed)
    except exceptions.JMESPathError as exc:
        reason = _describe(expression, exc)
        raise QuerySyntaxError(f"Invalid query {_shown(expression)}: {reason}") from None
    except RecursionError:
        raise QuerySyntaxError(f"Invalid query {_shown(expression)}: nested too deeply") from None


_CHAINS = ("or_expression", "and_expression")
_MAX_SHOWN = 200


def _shown(expression: str) -> str:
    """The expression quoted for a message, shortened when long (a 6,000-way ``||``)."""
    if len(expression) <= _MAX_SHOWN:
        return repr(expression)
    return repr(expression[: _MAX_SHOWN - 3] + "...")


def flatten_chains(tree: dict[str, Any]) -> dict[str, Any]:
    """A copy of jmespath's AST in which ``a || b || c`` (nested two by two, as the parser
    builds it) is one ``or_expression`` with children [a, b, c]; the same for ``&&``.

    Both operators are associative (each returns its first operand that decides, else
    the last), so the meaning is unchanged; but a 6,000-way chain no longer needs 6,000
    levels of recursion to check, build or evaluate. Iterative, and the parser's
    cached tree is not modified.
    """
    root = dict(tree)
    stack = [root]
    while stack:
        node = stack.pop()
        children = node.get("children")
        if not children:
            continue
        if node["type"] in _CHAINS:
            children = _operands(node)
        node["children"] = [dict(c) if isinstance(c, dict) else c for c in children]
        stack.extend(c for c in node["children"] if isinstance(c, dict))
    return root


def _operands(chain: dict[str, Any]) -> list[Any]:
    """The operands of a chain of one operator, in order, however it is nested."""
    operands = []
    pending = list(reversed(chain["children"]))
    while pending:
        child = pending.pop()
        if isinstance(child, dict) and child.get("type") == chain["type"]:
            pending.extend(reversed(child["children"]))
        else:
            operands.append(child)
    return operands


def _describe(expression: str, exc: exceptions.JMESPathError) -> str:
    if isinstance(exc, exceptions.IncompleteExpressionError) or (
        isinstance(exc, exceptions.ParseError) and exc.token_type == "EOF"
    ):
        # NOTE: the end is reported at the last character, so "label ==" -> column 8.
        return f"unexpected end of expression at column {len(expression.rstrip())}"
    if isinstance(exc, exceptions.LexerError):
        message = exc.message[:1].lower() + exc.message[1:]
        return f"{message} at column {exc.lexer_position + 1}"
    if isinstance(exc, exceptions.ParseError):
        tokens = _tokens(expression)
        if exc.msg.startswith("Quoted identifier"):
            for token, following in itertools.pairwise(tokens):
                if token["type"] == "quoted_identifier" and following["type"] == "lparen":
                    column = token["start"] + 1
                    return f"quoted identifier used as a function name at column {column}"
        # the source text up to the next token (jmespath's token "end" is not always right)
        starts = [t["start"] for t in tokens] + [len(expression)]
        token_text = str(exc.token_value)
        if exc.lex_position in starts[:-1]:
            i = starts.index(exc.lex_position)
            token_text = expression[starts[i] : max(starts[i + 1], starts[i] + 1)].rstrip()
        if exc.msg.startswith("Invalid function name"):
            return f"invalid function name {token_text} at column {exc.lex_position + 1}"
        return f"unexpected {token_text!r} at column {exc.lex_position + 1}"
    return " ".join(str(exc).split())


def _tokens(expression: str) -> list[dict[str, Any]]:
    try:
        return list(lexer.Lexer().tokenize(expression))
    except exceptions.JMESPathError:
        return []


def _check_functions(expression: str, tree: dict[str, Any], functions: FunctionSet) -> None:
    """Unknown functions, wrong argument counts and invalid literal regular expressions
    are errors before any object is read."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node["type"] == "function_expression":
            _check_call(expression, node, functions)
        stack.extend(child for child in node.get("children", ()) if isinstance(child, dict))


def _check_call(expression: str, node: dict[str, Any], functions: FunctionSet) -> None:
    name = node["value"]
    table = functions.functions.FUNCTION_TABLE
    if name not in table:
        raise QueryError(f"Invalid query {_shown(expression)}: unknown function {name}()")
    params = table[name]["signature"]
    given = len(node["children"])
    variadic = bool(params) and params[-1].get("variadic", False)
    most = getattr(functions.functions, "MAX_ARGS", {}).get(name)
    least = len(params)
    if variadic and most is None:
        expected, wrong = f"at least {least}", given < least
    elif variadic:
        expected, wrong = f"{least} to {most}", not least <= given <= most
    else:
        expected, wrong = str(least), given != least
    if wrong:
        plural = "" if expected.endswith(" 1") or expected == "1" else "s"
        raise QueryError(
            f"Invalid query {_shown(expression)}: {name}() takes {expected} "
            f"argument{plural}, got {given}"
        )
    if name in REGEX_FUNCTIONS:
        pattern = node["children"][1]
        if pattern["type"] == "literal" and isinstance(pattern["value"], str):
            try:
                check_regex(pattern["value"])
            except InvalidRegexError as exc:
                raise QueryError(f"Invalid query {_shown(expression)}: {exc}") from None
