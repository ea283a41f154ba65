"""Catalog predicates as PostgreSQL conditions on an annotation's JSONB copy.

``FieldEquals`` becomes JSONB containment (``doc @> '{"label": "cat"}'``), which the GIN
index (``jsonb_path_ops``) answers without reading every annotation. Containment of a
scalar under an object key is exactly the predicate's meaning: a missing key, or a step
through something that is not an object, contains nothing, and an array never contains a
scalar below the top level. Other predicates walk the document with ``->`` and a text
key, which finds nothing in arrays and scalars. Every condition is true or false, never
NULL, so ``Not`` stays the predicate's negation; an annotation without a JSONB copy
(text PostgreSQL cannot hold as JSONB, such as NaN) matches nothing.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
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


def compile_predicate(predicate: Predicate, doc: str) -> tuple[str, list[Any]]:
    """(SQL condition, its parameters) for ``predicate`` on the JSONB expression ``doc``."""
    params: list[Any] = []
    condition = _Compiler(params, itertools.count()).compile(predicate, doc)
    return f"({doc} IS NOT NULL AND {condition})", params


def _nested(path: JsonPath, value: JsonLiteral) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


class _Compiler:
    def __init__(self, params: list[Any], aliases: Iterator[int]) -> None:
        self.params = params
        self.aliases = aliases

    def at(self, doc: str, path: JsonPath) -> str:
        """The JSONB value at ``path`` below ``doc`` (NULL when there is none)."""
        steps = []
        for key in path:
            self.params.append(key)
            steps.append(" -> %s::text")
        return f"({doc}{''.join(steps)})" if steps else doc

    def equals(self, doc: str, path: JsonPath, value: JsonLiteral) -> str:
        if path:
            self.params.append(json.dumps(_nested(path, value)))
            return f"({doc} @> %s::jsonb)"
        # NOTE: at the top, containment would let an array contain the scalar
        self.params.append(json.dumps(value))
        return f"coalesce({doc} = %s::jsonb, false)"

    def compile(self, predicate: Predicate, doc: str) -> str:
        if isinstance(predicate, FieldEquals):
            return self.equals(doc, predicate.path, predicate.value)
        if isinstance(predicate, FieldIn):
            parts = [self.equals(doc, predicate.path, value) for value in predicate.values]
            return f"({' OR '.join(parts)})" if parts else "false"
        if isinstance(predicate, FieldType):
            found = self.at(doc, predicate.path)
            self.params.append(predicate.json_type)
            return f"coalesce(jsonb_typeof({found}) = %s::text, false)"
        if isinstance(predicate, HasField):
            return f"({self.at(doc, predicate.path)} IS NOT NULL)"
        if isinstance(predicate, EmptyArray):
            return f"coalesce({self.at(doc, predicate.path)} = '[]'::jsonb, false)"
        if isinstance(predicate, NoElement):
            return self.no_element(doc, predicate)
        if isinstance(predicate, AllOf):
            parts = [self.compile(part, doc) for part in predicate.parts]
            return f"({' AND '.join(parts)})" if parts else "true"
        if isinstance(predicate, AnyOf):
            parts = [self.compile(part, doc) for part in predicate.parts]
            return f"({' OR '.join(parts)})" if parts else "false"
        if isinstance(predicate, Not):
            return f"(NOT {self.compile(predicate.part, doc)})"
        raise TypeError(f"not a catalog predicate: {predicate!r}")

    def no_element(self, doc: str, predicate: NoElement) -> str:
        """An array's elements or an object's values: none meets ``where``.

        NOTE: the value's expression appears three times; its key parameters are bound
        once per appearance, in the order the SQL text names them.
        """
        alias = f"e{next(self.aliases)}"
        typed = self.at(doc, predicate.path)
        in_array = self.at(doc, predicate.path)
        array_condition = self.compile(predicate.where, f"{alias}.elem")
        in_object = self.at(doc, predicate.path)
        object_condition = self.compile(predicate.where, f"{alias}.elem")
        return (
            f"(CASE jsonb_typeof({typed}) "
            f"WHEN 'array' THEN NOT EXISTS (SELECT 1 FROM jsonb_array_elements({in_array}) "
            f"AS {alias}(elem) WHERE {array_condition}) "
            f"WHEN 'object' THEN NOT EXISTS (SELECT 1 FROM jsonb_each({in_object}) "
            f"AS {alias}(key, elem) WHERE {object_condition}) "
            "ELSE false END)"
        )
