"""Predicates (``catalog.predicates``) compiled to SQLite conditions on a JSON text column.

Every compiled piece is 0 or 1, never NULL, so that ``Not`` means "does not hold" even
where a key is missing; ``CASE`` (whose order SQLite keeps, unlike ``AND``'s) checks a
value's type before a JSON function reads it.

- A text pre-check for compound rules: canonical JSON (sorted keys, no spaces,
  ``"key":value``) must hold certain fragments for a predicate to hold
  (``FieldEquals(("task_type",), "x")`` needs ``"task_type":"``); ``instr`` finds them
  without parsing, so most annotations are never parsed for a rule such as a format's
  unlabelled test. A single test (one JSON function) goes without: SQLite's ``instr`` is
  a plain scan that costs about as much as the parse it would save.
- Validity: SQLite's JSON functions reject ``NaN`` and ``Infinity``, which catalogs
  written before canonical JSON refused them may hold, and fail the whole statement.
  The fast condition assumes valid JSON; ``guard=True`` adds ``json_valid`` (an extra
  parse per row), for the backend to rerun a statement that failed so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ldb_clone.catalog.predicates import (
    AllOf,
    AnyOf,
    EmptyArray,
    FieldEquals,
    FieldIn,
    FieldType,
    HasField,
    JsonLiteral,
    JsonPath,
    NoElement,
    Not,
    Predicate,
)

# JSON type name -> what SQLite's json_type (and json_each's type column) call it
_SQLITE_TYPES = {
    "null": ("null",),
    "boolean": ("true", "false"),
    "number": ("integer", "real"),
    "string": ("text",),
    "array": ("array",),
    "object": ("object",),
}


class NotCompilable(Exception):
    """A predicate SQLite cannot express (a key SQLite's JSON paths cannot spell); the
    backend evaluates it in Python instead."""


def json_path(path: JsonPath) -> str:
    """SQLite's JSON path for a key chain: ``$."a"."b"``."""
    for key in path:
        if '"' in key or "\\" in key:
            raise NotCompilable(f"key {key!r} cannot be written in an SQLite JSON path")
    return "$" + "".join(f'."{key}"' for key in path)


@dataclass(slots=True)
class _Context:
    """Where the JSON being tested is: a column of JSON text (the annotation), or an
    element of ``json_each`` (whose ``value`` is JSON text only for arrays and objects,
    and whose ``type`` column names its type)."""

    value: str
    element_type: str | None = None  # json_each's type column, for an element
    aliases: Iterator[int] = field(default_factory=lambda: iter(range(1_000_000)))

    def json_type(self, path: JsonPath) -> tuple[str, list[Any]]:
        """SQL for the SQLite type name of the value at ``path`` (NULL when none)."""
        if self.element_type is None:
            return f"json_type({self.value}, ?)", [json_path(path)]
        if not path:
            return self.element_type, []
        return (
            f"CASE WHEN {self.element_type} = 'object' THEN json_type({self.value}, ?) END",
            [json_path(path)],
        )

    def extract(self, path: JsonPath) -> tuple[str, list[Any]]:
        """SQL for the value at ``path`` as an SQL value (text, number)."""
        if self.element_type is None:
            return f"json_extract({self.value}, ?)", [json_path(path)]
        if not path:
            return self.value, []
        return (
            f"CASE WHEN {self.element_type} = 'object' THEN json_extract({self.value}, ?) END",
            [json_path(path)],
        )

    def json_text(self, path: JsonPath) -> tuple[str, list[Any]]:
        """SQL for (JSON text, path) arguments of a JSON table function at ``path``; only
        used once the value there is known to be an array or object."""
        if self.element_type is None or path:
            return f"{self.value}, ?", [json_path(path)]
        return self.value, []


def _types(names: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{name}'" for name in names) + ")"


def _equals(ctx: _Context, path: JsonPath, literal: JsonLiteral) -> tuple[str, list[Any]]:
    type_sql, type_params = ctx.json_type(path)
    if isinstance(literal, bool):
        return f"coalesce({type_sql} = ?, 0)", [*type_params, "true" if literal else "false"]
    if isinstance(literal, str):
        kinds = "('text')"
    elif isinstance(literal, (int, float)):
        kinds = "('integer', 'real')"
    else:
        raise NotCompilable(f"not a JSON literal: {literal!r}")
    value_sql, value_params = ctx.extract(path)
    return (
        f"CASE WHEN {type_sql} IN {kinds} THEN {value_sql} = ? ELSE 0 END",
        [*type_params, *value_params, literal],
    )


def _compile(predicate: Predicate, ctx: _Context) -> tuple[str, list[Any]]:
    if isinstance(predicate, FieldEquals):
        return _equals(ctx, predicate.path, predicate.value)
    if isinstance(predicate, FieldIn):
        return _compile(AnyOf(tuple(FieldEquals(predicate.path, v) for v in predicate.values)), ctx)
    if isinstance(predicate, FieldType):
        type_sql, params = ctx.json_type(predicate.path)
        return f"coalesce({type_sql} IN {_types(_SQLITE_TYPES[predicate.json_type])}, 0)", params
    if isinstance(predicate, HasField):
        type_sql, params = ctx.json_type(predicate.path)
        return f"({type_sql} IS NOT NULL)", params
    if isinstance(predicate, EmptyArray):
        type_sql, params = ctx.json_type(predicate.path)
        text_sql, text_params = ctx.json_text(predicate.path)
        return (
            f"CASE WHEN {type_sql} = 'array' THEN json_array_length({text_sql}) = 0 ELSE 0 END",
            [*params, *text_params],
        )
    if isinstance(predicate, NoElement):
        type_sql, params = ctx.json_type(predicate.path)
        text_sql, text_params = ctx.json_text(predicate.path)
        alias = f"e{next(ctx.aliases)}"
        inner = _Context(f"{alias}.value", f"{alias}.type", ctx.aliases)
        where_sql, where_params = _compile(predicate.where, inner)
        return (
            f"CASE WHEN {type_sql} IN ('array', 'object') THEN NOT EXISTS "
            f"(SELECT 1 FROM json_each({text_sql}) AS {alias} WHERE {where_sql}) ELSE 0 END",
            [*params, *text_params, *where_params],
        )
    if isinstance(predicate, (AllOf, AnyOf)):
        if not predicate.parts:
            return ("1" if isinstance(predicate, AllOf) else "0"), []
        joiner = " AND " if isinstance(predicate, AllOf) else " OR "
        pieces = [_compile(part, ctx) for part in predicate.parts]
        return (
            "(" + joiner.join(sql for sql, _ in pieces) + ")",
            [param for _, params in pieces for param in params],
        )
    if isinstance(predicate, Not):
        sql, params = _compile(predicate.part, ctx)
        return f"(NOT {sql})", params
    raise TypeError(f"not a catalog predicate: {predicate!r}")


def _key_fragment(key: str) -> str | None:
    """``"key":`` as canonical JSON writes it, or None when the key would be escaped."""
    if '"' in key or "\\" in key or any(ord(c) < 0x20 for c in key):
        return None
    return f'"{key}":'


def _path_fragments(path: JsonPath, value_start: str = "") -> set[str]:
    """Fragments the text holds when there is a value at ``path`` starting with
    ``value_start``: each step through an object, then the last key."""
    fragments = set()
    for i, key in enumerate(path):
        fragment = _key_fragment(key)
        if fragment is not None:
            last = i == len(path) - 1
            fragments.add(fragment + (value_start if last else "{"))
    return fragments


_TYPE_STARTS = {"null": "null", "string": '"', "array": "[", "object": "{"}


def _literal_start(literal: JsonLiteral) -> str:
    if isinstance(literal, bool):
        return "true" if literal else "false"
    return '"' if isinstance(literal, str) else ""


def required_fragments(predicate: Predicate) -> set[str]:
    """Text that canonical JSON meeting ``predicate`` always contains."""
    if isinstance(predicate, FieldEquals):
        return _path_fragments(predicate.path, _literal_start(predicate.value))
    if isinstance(predicate, FieldIn):
        return _common(
            [required_fragments(FieldEquals(predicate.path, v)) for v in predicate.values]
        )
    if isinstance(predicate, FieldType):
        return _path_fragments(predicate.path, _TYPE_STARTS.get(predicate.json_type, ""))
    if isinstance(predicate, (HasField, NoElement)):
        return _path_fragments(predicate.path)
    if isinstance(predicate, EmptyArray):
        return _path_fragments(predicate.path, "[]")
    if isinstance(predicate, AllOf):
        return set().union(*(required_fragments(part) for part in predicate.parts))
    if isinstance(predicate, AnyOf):
        return _common([required_fragments(part) for part in predicate.parts])
    return set()  # Not: nothing is required


def _common(sets: list[set[str]]) -> set[str]:
    return set.intersection(*sets) if sets else set()


_SINGLE_TESTS = (FieldEquals, FieldIn, FieldType, HasField, EmptyArray)


def _branch(predicate: Predicate, column: str, guard: bool) -> tuple[str, list[Any]]:
    sql, params = _compile(predicate, _Context(column))
    fragments: list[str] = []
    if not isinstance(predicate, _SINGLE_TESTS):
        fragments = sorted(required_fragments(predicate), key=lambda f: (-len(f), f))
    checks = [f"instr({column}, ?) > 0" for _ in fragments]
    if guard:
        checks.append(f"json_valid({column})")
    if not checks:
        return sql, params
    return f"CASE WHEN {' AND '.join(checks)} THEN {sql} ELSE 0 END", [*fragments, *params]


def compile_predicate(
    predicate: Predicate, column: str, guard: bool = False
) -> tuple[str, list[Any]]:
    """An SQLite condition (0 or 1) and its parameters: whether the JSON text in
    ``column`` meets ``predicate``; NULL never does. With ``guard``, text SQLite cannot
    parse never does either (and fails nothing). Raises ``NotCompilable``."""
    parts = predicate.parts if isinstance(predicate, AnyOf) and predicate.parts else (predicate,)
    pieces = [_branch(part, column, guard) for part in parts]
    sql = " OR ".join(piece for piece, _ in pieces)
    return f"({column} IS NOT NULL AND ({sql}))", [p for _, params in pieces for p in params]
