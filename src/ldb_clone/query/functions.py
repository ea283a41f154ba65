"""LDB's JMESPath functions (reference 1.5), added to the standard JMESPath set.

Signatures follow upstream's ``ldb/query/functions.py``. Where upstream let a Python
error escape (``add(["a"], [1])``, ``contains_any("abc", [1])``) these raise a
``JMESPathTypeError`` instead, so the object simply does not match.
"""

from __future__ import annotations

import json
import operator
import re
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from numbers import Number
from typing import Any, ClassVar

from jmespath import exceptions, lexer
from jmespath.functions import Functions, signature
from jmespath.visitor import _Expression

# Every JMESPath type except expref; upstream's "boolean|array|object|null|string|number".
_VALUE = {"types": ["boolean", "array", "object", "null", "string", "number"]}
_NUM_OR_ARRAY = {"types": ["number", "array"]}


class InvalidRegexError(exceptions.JMESPathError):
    """A ``regex``/``regex_match`` pattern that Python's ``re`` cannot compile."""


# functions whose second argument is a regular expression
REGEX_FUNCTIONS = ("regex", "regex_match")


def check_regex(pattern: str) -> None:
    """``InvalidRegexError`` when ``pattern`` does not compile (used on literal patterns
    when a query is compiled, so that a typo is an error rather than no match)."""
    _regex(pattern)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidRegexError(f"invalid regular expression {pattern!r}: {exc}") from None


class InvalidKeyPathError(exceptions.JMESPathError):
    """A ``has_keys``/``get`` key path that is not ``ident(.ident)*``."""


def is_number(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


@lru_cache(maxsize=1024)
def parse_key_path(text: str) -> tuple[str, ...]:
    """``a.b."c.d"`` -> ``("a", "b", "c.d")``: identifiers separated by dots."""
    try:
        tokens = list(lexer.Lexer().tokenize(text))[:-1]  # drop eof
    except exceptions.JMESPathError:
        raise InvalidKeyPathError(f"invalid key path {text!r}") from None
    keys = tokens[0::2]
    dots = tokens[1::2]
    # NOTE: upstream accepted a trailing dot ("a."); it is rejected here.
    if (
        len(keys) != len(dots) + 1
        or any(t["type"] not in ("unquoted_identifier", "quoted_identifier") for t in keys)
        or any(t["type"] != "dot" for t in dots)
    ):
        raise InvalidKeyPathError(f"invalid key path {text!r}")
    return tuple(t["value"] for t in keys)


_MISSING = object()


def _lookup(value: Any, keys: tuple[str, ...]) -> Any:
    node = value
    for key in keys:
        if not isinstance(node, dict):
            return _MISSING
        node = node.get(key, _MISSING)
        if node is _MISSING:
            return _MISSING
    return node


def _check_key_path(name: str, key: Any) -> tuple[str, ...]:
    if not isinstance(key, str):
        raise exceptions.JMESPathTypeError(name, key, _type_name(key), ["string"])
    return parse_key_path(key)


_PYTHON_TYPES = {
    "boolean": (bool,),
    "array": (list,),
    "object": (dict, OrderedDict),
    "null": (type(None),),
    "string": (str,),
    "number": (int, float),
    "expref": (_Expression,),
}


def _python_types(types: list[str]) -> frozenset[type] | None:
    """The Python types a signature accepts without a closer look; None for sub-types."""
    if any("-" in t for t in types):
        return None
    return frozenset(py for t in types for py in _PYTHON_TYPES[t])


_TYPE_NAMES = {bool: "boolean", str: "string", list: "array", dict: "object", type(None): "null"}


def _type_name(value: Any) -> str:
    if is_number(value):
        return "number"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _check_numbers(name: str, values: list[Any]) -> None:
    for item in values:
        if not is_number(item):
            raise exceptions.JMESPathTypeError(
                name, item, _type_name(item), ["number", "array-number"]
            )


def _elementwise(name: str, op: Callable[[Any, Any], Any], x: Any, y: Any) -> Any:
    x_list = isinstance(x, list)
    y_list = isinstance(y, list)
    if x_list:
        _check_numbers(name, x)
    if y_list:
        _check_numbers(name, y)
    if x_list and y_list:
        return [op(a, b) for a, b in zip(x, y)]
    if x_list:
        return [op(a, y) for a in x]
    if y_list:
        return [op(x, b) for b in y]
    return op(x, y)


def _check_searches(name: str, subject: Any, searches: list[Any]) -> None:
    if isinstance(subject, str):
        for item in searches:
            if not isinstance(item, str):
                raise exceptions.JMESPathTypeError(name, item, _type_name(item), ["string"])


def _unique_key(value: Any) -> Any:
    if is_number(value):
        return ("number", value)  # 1 and 1.0 are one JSON number; true is not 1
    if isinstance(value, (list, dict)):
        return ("json", json.dumps(value, sort_keys=True))
    return (type(value).__name__, value)


class LdbFunctions(Functions):
    """The standard JMESPath functions plus LDB's."""

    # Upper arity limits the signatures cannot express (checked when compiling).
    MAX_ARGS: ClassVar[dict[str, int]] = {"get": 3}

    def _type_check_single(self, current, types, function_name):
        # NOTE: jmespath checks array sub-types even when the value is a scalar, so a
        # user signature like "number|array-number" would fail on a number.
        if not isinstance(current, list) and any("-" in t for t in types):
            scalar_types = [t for t in types if "-" not in t]
            if (
                scalar_types
                and type(current).__name__ in self._get_allowed_pytypes(scalar_types)[0]
            ):
                return
            raise exceptions.JMESPathTypeError(function_name, current, _type_name(current), types)
        super()._type_check_single(current, types, function_name)

    def bind(self, name: str) -> Callable[[list[Any]], Any]:
        """A fast ``call_function(name, args)`` for arity-checked ``args``.

        The signature is turned into sets of Python types once; only a value outside
        them (or in an array sub-typed parameter) goes through jmespath's full check.
        """
        spec = self.FUNCTION_TABLE[name]
        method = spec["function"]
        params = spec["signature"]
        checks = [(i, p["types"], _python_types(p["types"])) for i, p in enumerate(params)]
        checks = [check for check in checks if check[1]]  # no types: anything goes
        type_check = self._type_check_single

        def call(args: list[Any]) -> Any:
            for i, types, fast in checks:
                if fast is None or type(args[i]) not in fast:
                    type_check(args[i], types, name)
            return method(self, *args)

        return call

    @signature({"types": ["string"]}, {"types": ["string"]})
    def _func_regex(self, string, pattern):
        return _regex(pattern).search(string) is not None

    @signature({"types": ["string"]}, {"types": ["string"]})
    def _func_regex_match(self, string, pattern):
        match = _regex(pattern).search(string)
        return None if match is None else match.group()

    @signature(_NUM_OR_ARRAY, _NUM_OR_ARRAY)
    def _func_add(self, x, y):
        return _elementwise("add", operator.add, x, y)

    @signature(_NUM_OR_ARRAY, _NUM_OR_ARRAY)
    def _func_sub(self, x, y):
        return _elementwise("sub", operator.sub, x, y)

    @signature(_NUM_OR_ARRAY, _NUM_OR_ARRAY)
    def _func_mul(self, x, y):
        return _elementwise("mul", operator.mul, x, y)

    @signature(_NUM_OR_ARRAY, _NUM_OR_ARRAY)
    def _func_div(self, x, y):
        return _elementwise("div", operator.truediv, x, y)

    @signature(_NUM_OR_ARRAY)
    def _func_neg(self, x):
        if isinstance(x, list):
            _check_numbers("neg", x)
            return [-item for item in x]
        return -x

    @signature({"types": ["array", "string"]}, {"types": ["array"]})
    def _func_contains_all(self, subject, searches):
        _check_searches("contains_all", subject, searches)
        return all(item in subject for item in searches)

    @signature({"types": ["array", "string"]}, {"types": ["array"]})
    def _func_contains_any(self, subject, searches):
        _check_searches("contains_any", subject, searches)
        return any(item in subject for item in searches)

    @signature(_VALUE, {"types": ["string"], "variadic": True})
    def _func_has_keys(self, value, *key_paths):
        paths = [_check_key_path("has_keys", key) for key in key_paths]
        return all(_lookup(value, keys) is not _MISSING for keys in paths)

    @signature(_VALUE, {"types": ["string"], "variadic": True})
    def _func_get(self, value, key_path, *default):
        if len(default) > 1:
            raise exceptions.ArityError(3, 2 + len(default), "get")
        found = _lookup(value, _check_key_path("get", key_path))
        if found is _MISSING:
            return default[0] if default else None
        return found

    @signature({"types": ["array-number"]}, {"types": ["array-number"]})
    def _func_dotproduct(self, x, y):
        if len(x) != len(y):
            raise ValueError(f"vector lengths must match: {len(x)} != {len(y)}")
        return sum(a * b for a, b in zip(x, y))

    @signature({"types": ["array"]})
    def _func_unique(self, values):
        seen = set()
        result = []
        for value in values:
            key = _unique_key(value)
            if key not in seen:
                seen.add(key)
                result.append(value)
        return result


STANDARD_NAMES = frozenset(Functions.FUNCTION_TABLE)
LDB_NAMES = frozenset(LdbFunctions.FUNCTION_TABLE) - STANDARD_NAMES
