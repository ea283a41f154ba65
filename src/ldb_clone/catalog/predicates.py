"""Conditions on an annotation's JSON value that a catalog answers in its database.

Code outside ``catalog/`` describes what it wants with these small frozen objects (a
query's ``label == `cat```, a format's "not labelled yet" rule); each backend compiles
them to its own SQL. They hold no SQL and know no backend.

A ``JsonPath`` is a tuple of object keys from the annotation's root (or, inside
``NoElement``, from the element). JSON types are named as JSON names them: ``null``,
``boolean``, ``number``, ``string``, ``array``, ``object``.

Semantics every backend keeps (and ``evaluate`` spells out in Python):
- a step through something that is not an object, or a missing key, finds nothing, and a
  condition on nothing is false (``Not`` of it is true);
- ``FieldEquals`` compares like JSON: a string equals only that string, a number only an
  equal number (``1 == 1.0``), a boolean only that boolean (``true`` is not ``1``);
- an annotation the database cannot read as JSON matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonPath = tuple[str, ...]
JsonLiteral = str | int | float | bool
JSON_TYPES = ("null", "boolean", "number", "string", "array", "object")


@dataclass(frozen=True, slots=True)
class FieldEquals:
    """The value at ``path`` is ``value`` (same JSON type)."""

    path: JsonPath
    value: JsonLiteral


@dataclass(frozen=True, slots=True)
class FieldIn:
    """The value at ``path`` equals one of ``values`` (as ``FieldEquals``)."""

    path: JsonPath
    values: tuple[JsonLiteral, ...]


@dataclass(frozen=True, slots=True)
class FieldType:
    """There is a value at ``path`` and its JSON type is ``json_type``."""

    path: JsonPath
    json_type: str  # one of JSON_TYPES

    def __post_init__(self) -> None:
        if self.json_type not in JSON_TYPES:
            raise ValueError(f"unknown JSON type {self.json_type!r}; one of {JSON_TYPES}")


@dataclass(frozen=True, slots=True)
class HasField:
    """There is a value at ``path`` (``null`` counts)."""

    path: JsonPath


@dataclass(frozen=True, slots=True)
class EmptyArray:
    """The value at ``path`` is an array with no element."""

    path: JsonPath


@dataclass(frozen=True, slots=True)
class NoElement:
    """The value at ``path`` is an array or an object, and none of its elements (an
    object's values) meets ``where``; paths in ``where`` start at the element."""

    path: JsonPath
    where: Predicate


@dataclass(frozen=True, slots=True)
class AllOf:
    """Every one of ``parts`` holds (true when there is none)."""

    parts: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """At least one of ``parts`` holds (false when there is none)."""

    parts: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Predicate


Predicate = (
    FieldEquals | FieldIn | FieldType | HasField | EmptyArray | NoElement | AllOf | AnyOf | Not
)

_MISSING = object()


def _lookup(value: Any, path: JsonPath) -> Any:
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def json_type(value: Any) -> str | None:
    """The JSON type name of a parsed value (None for anything JSON does not have)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return None


def _same(found: Any, literal: JsonLiteral) -> bool:
    kind = json_type(literal)
    return json_type(found) == kind and found == literal


def evaluate(predicate: Predicate, value: Any) -> bool:
    """Whether a parsed annotation meets ``predicate``: the meaning every backend's SQL
    must reproduce (the conformance tests compare them)."""
    if isinstance(predicate, FieldEquals):
        return _same(_lookup(value, predicate.path), predicate.value)
    if isinstance(predicate, FieldIn):
        found = _lookup(value, predicate.path)
        return any(_same(found, literal) for literal in predicate.values)
    if isinstance(predicate, FieldType):
        found = _lookup(value, predicate.path)
        return found is not _MISSING and json_type(found) == predicate.json_type
    if isinstance(predicate, HasField):
        return _lookup(value, predicate.path) is not _MISSING
    if isinstance(predicate, EmptyArray):
        return _lookup(value, predicate.path) == []
    if isinstance(predicate, NoElement):
        found = _lookup(value, predicate.path)
        if isinstance(found, dict):
            found = list(found.values())
        elif not isinstance(found, list):
            return False
        return not any(evaluate(predicate.where, element) for element in found)
    if isinstance(predicate, AllOf):
        return all(evaluate(part, value) for part in predicate.parts)
    if isinstance(predicate, AnyOf):
        return any(evaluate(part, value) for part in predicate.parts)
    if isinstance(predicate, Not):
        return not evaluate(predicate.part, value)
    raise TypeError(f"not a catalog predicate: {predicate!r}")


def required_keys(predicate: Predicate) -> frozenset[str] | None:
    """Top-level keys of which an annotation must hold at least one for ``predicate`` to
    hold (an annotation that is not an object holds none), or None when there is no such
    set (under ``Not``, or a condition on the whole value). Lets a caller skip evaluating
    the many annotations that cannot match, as ``evaluate`` would answer them."""
    if isinstance(predicate, (FieldEquals, FieldIn, FieldType, HasField, EmptyArray, NoElement)):
        return frozenset(predicate.path[:1]) or None
    if isinstance(predicate, AllOf):
        for part in predicate.parts:
            keys = required_keys(part)
            if keys is not None:
                return keys
        return None
    if isinstance(predicate, AnyOf):
        union: frozenset[str] = frozenset()
        for part in predicate.parts:
            keys = required_keys(part)
            if keys is None:
                return None
            union |= keys
        return union
    return None
