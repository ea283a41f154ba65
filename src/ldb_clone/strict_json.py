"""Strict JSON: what arrives in data is parsed strictly (every problem becomes one line
of text), and what ``ldb`` prints or writes is always valid JSON.

The standard library's parser is kept (it keeps integers beyond 64 bits exact and reads
UTF-16/32 and a UTF-8 BOM, as before), but what it would let through and ``ldb`` could
not write back out as valid JSON is refused:

- ``NaN``, ``Infinity`` and ``-Infinity`` (refused by ``parse_constant``, at no cost);
- numbers too large for a double, such as ``1e400`` (they would become infinities);
- strings or keys with a lone UTF-16 surrogate (``"\\ud800"``), which have no UTF-8 form;
- bytes that are not valid UTF-8 (or UTF-16/32);
- nesting deeper than the parser's recursion allows.

orjson reads first: it refuses all of these itself, and where it refuses anything (a BOM,
UTF-16) the standard library's parser and the checks below decide. It turns integers
beyond 64 bits into floats, so a text with 19 digits in a row goes the slow way too.
The cheap checks come first; the walk that finds the JSON path of a bad value runs only
when a check fails. On the indexing hot path (``annotation_of``) the checks cost nothing
extra: the canonical encoding that hashes an annotation refuses non-finite numbers and
lone surrogates itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import orjson

from ldb_clone.errors import FormatError


class JsonProblem(ValueError):
    """Why a JSON text was refused, in one line, without the file's name; ``syntax`` is
    the parser's error when the text is not JSON at all."""

    def __init__(self, message: str, syntax: json.JSONDecodeError | None = None) -> None:
        super().__init__(message)
        self.syntax = syntax


class _NonFiniteLiteral(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NonFiniteLiteral(name)


_STRICT = json.JSONDecoder(parse_constant=_refuse_constant)
_LENIENT = json.JSONDecoder()  # only to locate a refused value
# An exponent of 100 or more: the only way (short of 309 digits) to overflow a double.
# NOTE: it starts at the "e", which is rarer than a digit (about 4x faster than also
# matching the digit before it); an "e100" inside a string only costs a walk.
_BIG_EXPONENT = re.compile(r"[eE]\+?0*[1-9][0-9]{2}")
# A \u escape of a high surrogate not followed by a low one, or of a low one not preceded
# by a high one (a valid pair such as "\ud83d\ude00", or Hangul "\ud55c", does not match).
_HIGH = r"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = r"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_LONE_SURROGATE = re.compile(f"{_HIGH}(?!{_LOW})|(?<!{_HIGH}){_LOW}")


def parse_json(raw: bytes | str, *, thorough: bool = True) -> Any:
    """The value of a JSON text, or ``JsonProblem``.

    ``thorough=False`` skips the checks for out-of-range numbers and lone surrogates,
    for a caller that encodes the value canonically right after (``annotation_of``),
    which finds both for free.
    """
    value = _fast_value(raw)
    if value is not _NO_ANSWER:
        return value
    text = _text(raw)
    try:
        value = _STRICT.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonProblem(str(exc), exc) from None
    except _NonFiniteLiteral as exc:
        raise JsonProblem(_locate_literal(text) or f"{exc} is not valid JSON") from None
    except RecursionError:
        raise JsonProblem("JSON nested too deeply") from None
    if thorough and (_BIG_EXPONENT.search(text) or _maybe_lone_surrogate(text)):
        problem = _locate(value)
        if problem:
            raise JsonProblem(problem)
    return value


_NO_ANSWER = object()
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19  # 19 digits in a row: maybe an integer beyond 64 bits


def _fast_value(raw: bytes | str) -> Any:
    """orjson's value of ``raw`` where it is exactly the standard library's, else
    ``_NO_ANSWER``.

    NOTE: 2-3x faster than the standard library and the checks, which it makes needless:
    orjson refuses NaN, infinities, numbers beyond a double and lone surrogates. The
    digits test (a translate and a substring search, about 1 ms a MB) stands in for a
    regex that took longer than the parse."""
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the standard library says where
            return _NO_ANSWER
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NO_ANSWER
    if _LONG_NUMBER in raw.translate(_DIGITS_TO_ZERO):
        return _NO_ANSWER
    return value


def parse_stored(text: bytes | str) -> Any:
    """The value of a text ``ldb`` stored itself (canonical JSON from the catalog): read
    as ``parse_json`` reads, without its checks (such a text may hold NaN or Infinity)."""
    value = _fast_value(text)
    return json.loads(text) if value is _NO_ANSWER else value


def _maybe_lone_surrogate(text: str) -> bool:
    return ("\\ud" in text or "\\uD" in text) and _LONE_SURROGATE.search(text) is not None


def annotation_of(raw: bytes | str, annotation_id: Callable[[Any], tuple[str, str]]):
    """(id, canonical text) of the annotation in a JSON file's content, or ``JsonProblem``.

    ``annotation_id`` is ``Hasher.annotation_id``; its canonical encoding refuses
    non-finite numbers, and its UTF-8 encoding refuses lone surrogates.
    """
    value = parse_json(raw, thorough=False)
    try:
        return annotation_id(value)
    except (ValueError, UnicodeEncodeError, RecursionError) as exc:
        if isinstance(exc, RecursionError):
            raise JsonProblem("JSON nested too deeply") from None
        raise JsonProblem(_locate(value) or str(exc)) from None


def value_problem(value: Any) -> str:
    """Why ``value`` (parsed elsewhere) cannot be stored: its first non-finite number or
    lone surrogate, with its JSON path."""
    return _locate(value) or "a value that has no valid JSON form"


def load_json(raw: bytes | str, name: str) -> Any:
    """``parse_json`` with a ``FormatError`` naming the file."""
    try:
        return parse_json(raw)
    except JsonProblem as exc:
        raise FormatError(f"Unable to read annotation file: {name}: {exc}") from None


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` that never writes ``NaN`` or ``Infinity`` (not JSON): a computed
    number that is not finite (``to_number('nan')`` in a query, say) is written as
    ``null``, as JavaScript's ``JSON.stringify`` does. Costs nothing when there is none."""
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:
        return json.dumps(finite_or_null(value), allow_nan=False, **options)


def finite_or_null(value: Any) -> Any:
    """A copy of ``value`` with every NaN or infinite float replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(v) for v in value]
    return value


def _locate_literal(text: str) -> str | None:
    """Where the first NaN or Infinity literal of ``text`` is (parsed again, leniently)."""
    try:
        return _locate(_LENIENT.decode(text))
    except (ValueError, RecursionError):
        return None  # too deep (or broken) further on


def _text(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        # as json.loads does, but strict: no surrogates smuggled in as UTF-8 bytes
        return raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError as exc:
        raise JsonProblem(f"not valid UTF-8 (byte {exc.start})") from None


def _locate(value: Any) -> str | None:
    """The first non-finite number or lone surrogate in ``value``, with its JSON path
    (``None`` when there is none). Iterative: documents may be nested ~1,000 deep."""
    from ldb_clone.formats.validation import json_path

    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                what = "NaN" if math.isnan(item) else "Infinity or a number out of range"
                return f"{what} at {json_path(path)}: JSON numbers must be finite"
        elif isinstance(item, str):
            if not _encodable(item):
                where = json_path(path)
                return f"a lone surrogate (\\u{_surrogate(item):04x}) in the string at {where}"
        elif isinstance(item, dict):
            for key in item:
                if not _encodable(key):
                    where = json_path(path)
                    return f"a lone surrogate (\\u{_surrogate(key):04x}) in a key of {where}"
            stack.extend(((*path, k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(item))))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _surrogate(text: str) -> int:
    return next(ord(c) for c in text if 0xD800 <= ord(c) <= 0xDFFF)
