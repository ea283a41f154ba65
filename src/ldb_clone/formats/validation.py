"""JSON Schema validation of format input, fast enough for documents of 100,000 records.

``jsonschema`` costs about 60 µs per image record of the platform schema (45 s for the
seed's largest annotations.json). A schema that uses only the keywords below is also
compiled into plain Python checks (2-3 µs a record) that answer "valid?"; ``jsonschema``
runs only when that answer is no, to find the problem and its JSON path. A schema with
any other keyword is checked by ``jsonschema`` alone. Both agree on every document (see
tests/formats/test_validation.py), so the fast answer is only a shortcut.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from ldb_clone.errors import FormatError

Check = Callable[[Any], bool]
# keywords that only describe (they never make a document invalid)
_NOTES = {"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default"}
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    # as jsonschema: 1.0 is an integer, True is not
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


# types a Python isinstance answers (bool is an int: numbers are tested apart)
_PLAIN_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


class _Unsupported(Exception):
    pass


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema's enum and const see it (true is not 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.defs = root.get("$defs", {})
        self.compiled: dict[str, Check] = {}
        self.compiling: set[str] = set()

    def ref(self, ref: str) -> Check:
        prefix = "#/$defs/"
        if not ref.startswith(prefix) or ref[len(prefix) :] not in self.defs:
            raise _Unsupported(ref)
        name = ref[len(prefix) :]
        if name in self.compiled and name not in self.compiling:
            return self.compiled[name]  # NOTE: no indirection per value once compiled
        if name not in self.compiled:
            self.compiling.add(name)
            self.compiled[name] = lambda v: self.compiled[name](v)  # recursion guard
            self.compiled[name] = self.schema(self.defs[name])
            self.compiling.discard(name)
            return self.compiled[name]
        return lambda v: self.compiled[name](v)  # a reference to itself, while compiled

    def schema(self, schema: Any) -> Check:
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise _Unsupported(schema)
        checks = [self.keyword(key, value, schema) for key, value in schema.items()]
        checks = [c for c in checks if c is not None]
        if len(checks) == 1:
            return checks[0]

        # NOTE: loops rather than all(...): no generator object per call (2x faster)
        def every(v: Any) -> bool:
            for check in checks:  # noqa: SIM110
                if not check(v):
                    return False
            return True

        return every

    def keyword(self, key: str, value: Any, schema: dict[str, Any]) -> Check | None:
        if key in _NOTES or key in ("then", "else"):
            return None
        method = getattr(self, "k_" + key.lstrip("$"), None)
        if method is None:
            raise _Unsupported(key)
        return method(value, schema)

    def k_ref(self, value: str, schema: dict[str, Any]) -> Check:
        return self.ref(value)

    def k_type(self, value: Any, schema: dict[str, Any]) -> Check:
        names = value if isinstance(value, list) else [value]
        if len(names) == 1:
            return _TYPES[names[0]]
        plain = tuple(_PLAIN_TYPES[name] for name in names if name in _PLAIN_TYPES)
        numeric = [_TYPES[name] for name in names if name not in _PLAIN_TYPES]
        if not numeric:
            return lambda v: isinstance(v, plain)
        number = numeric[-1] if len(numeric) == 1 else _TYPES["number"]
        return lambda v: isinstance(v, plain) or number(v)

    def k_enum(self, value: list[Any], schema: dict[str, Any]) -> Check:
        return lambda v: any(_same(v, option) for option in value)

    def k_const(self, value: Any, schema: dict[str, Any]) -> Check:
        return lambda v: _same(v, value)

    def k_required(self, value: list[str], schema: dict[str, Any]) -> Check:
        def required(v: Any) -> bool:
            if isinstance(v, dict):
                for key in value:
                    if key not in v:
                        return False
            return True

        return required

    def k_properties(self, value: dict[str, Any], schema: dict[str, Any]) -> Check:
        props = [(key, self.schema(sub)) for key, sub in value.items()]

        def properties(v: Any) -> bool:
            if isinstance(v, dict):
                for key, check in props:
                    if key in v and not check(v[key]):
                        return False
            return True

        return properties

    def k_additionalProperties(self, value: Any, schema: dict[str, Any]) -> Check:
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        named = set(schema.get("properties", {}))
        check = self.schema(value)

        def additional(v: Any) -> bool:
            if isinstance(v, dict):
                for key, item in v.items():
                    if key not in named and not check(item):
                        return False
            return True

        return additional

    def k_dependentRequired(self, value: dict[str, list[str]], schema: dict[str, Any]) -> Check:
        pairs = list(value.items())

        def dependent(v: Any) -> bool:
            if isinstance(v, dict):
                for key, needed in pairs:
                    if key in v and any(other not in v for other in needed):
                        return False
            return True

        return dependent

    def k_items(self, value: Any, schema: dict[str, Any]) -> Check:
        if "prefixItems" in schema:
            raise _Unsupported("prefixItems")
        if value == {"type": "number"}:
            # NOTE: the most common item schema (boxes, polygons), checked without a call
            # per item
            def numbers(v: Any) -> bool:
                if isinstance(v, list):
                    for item in v:
                        if not isinstance(item, (int, float)) or isinstance(item, bool):
                            return False
                return True

            return numbers
        check = self.schema(value)

        def items(v: Any) -> bool:
            if isinstance(v, list):
                for item in v:
                    if not check(item):
                        return False
            return True

        return items

    def k_minimum(self, value: float, schema: dict[str, Any]) -> Check:
        return lambda v: not _is_number(v) or v >= value

    def k_maximum(self, value: float, schema: dict[str, Any]) -> Check:
        return lambda v: not _is_number(v) or v <= value

    def k_minLength(self, value: int, schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) >= value

    def k_minItems(self, value: int, schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, list) or len(v) >= value

    def k_maxItems(self, value: int, schema: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, list) or len(v) <= value

    def k_anyOf(self, value: list[Any], schema: dict[str, Any]) -> Check:
        checks = [self.schema(sub) for sub in value]
        return lambda v: any(check(v) for check in checks)

    def k_allOf(self, value: list[Any], schema: dict[str, Any]) -> Check:
        checks = [self.schema(sub) for sub in value]
        return lambda v: all(check(v) for check in checks)

    def k_if(self, value: Any, schema: dict[str, Any]) -> Check:
        condition = self.schema(value)
        then = self.schema(schema.get("then", True))
        otherwise = self.schema(schema.get("else", True))
        return lambda v: then(v) if condition(v) else otherwise(v)


def compile_schema(schema: dict[str, Any]) -> Check | None:
    """A fast validity check for ``schema``, or None when it uses other keywords."""
    try:
        return _Compiler(schema).schema(schema)
    except (_Unsupported, KeyError):
        return None


class Validator:
    """A JSON Schema (draft 2020-12) and the fast check compiled from it."""

    def __init__(self, schema: dict[str, Any], document: str) -> None:
        self.document = document
        self.schema = schema
        self.fast = compile_schema(schema)

    @functools.cached_property
    def full(self) -> Any:
        """jsonschema's validator, built on first use.

        NOTE: importing jsonschema costs about 0.1 s of start-up; valid documents of a
        schema the fast check covers never need it."""
        import jsonschema

        return jsonschema.Draft202012Validator(self.schema)

    def is_valid(self, value: Any) -> bool:
        return self.fast(value) if self.fast is not None else self.full.is_valid(value)

    def first_error(self, value: Any) -> Any:
        """jsonschema's most relevant error for ``value``, or None when it is valid.

        NOTE: the compiled check answers for valid documents; jsonschema (20x slower)
        only looks at the others, to say what is wrong."""
        if self.is_valid(value):
            return None
        from jsonschema.exceptions import best_match

        # None when the fast check is stricter than jsonschema: should not happen
        return best_match(self.full.iter_errors(value))

    def check(self, value: Any, url: str) -> None:
        """A FormatError naming the file and the JSON path of the most relevant problem:
        ``Invalid <document> <url> at <path>: <problem>``."""
        error = self.first_error(value)
        if error is not None:
            path, problem = json_path(error.absolute_path), schema_message(error)
            raise FormatError(f"Invalid {self.document} {url} at {path}: {problem}")


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_MESSAGE = 200


def json_path(parts: Iterable[str | int]) -> str:
    """``["images", 2, "id"]`` -> ``images[2].id``: JMESPath spelling (keys that are not
    identifiers are quoted), so the path can be pasted into ``ldb query --show``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _IDENTIFIER.match(part) else json.dumps(part, ensure_ascii=False)
            text += f".{key}" if text else key
    return text or "(document)"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    for kind, name in ((dict, "an object"), (list, "an array"), (str, "a string")):
        if isinstance(value, kind):
            return name
    return "an integer" if isinstance(value, int) else "a number"


def schema_message(error: Any) -> str:
    """jsonschema's message, without the (possibly huge) offending value."""
    if error.validator == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        return f"expected {' or '.join(names)}, got {_json_type(error.instance)}"
    message = " ".join(error.message.split())
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


@functools.cache
def schema_validator(name: str, document: str) -> Validator:
    """The validator of ``formats/schemas/<name>.schema.json`` (package data);
    ``document`` names the file kind in messages (``platform annotations file``)."""
    import importlib.resources

    path = f"schemas/{name}.schema.json"
    text = importlib.resources.files("ldb_clone.formats").joinpath(path).read_text("utf-8")
    return Validator(json.loads(text), document)
