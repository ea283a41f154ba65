"""User functions: ``CUSTOM_FUNCTIONS`` in ``<instance>/custom_code/ldb_user_functions/*.py``.

Each module may define::

    CUSTOM_FUNCTIONS = {"name": (callable, ["type|type", ...])}

with JMESPath type names (``number string array object boolean null expref any`` or
``array-<type>``); a final ``"*"`` makes the last argument variadic. The modules of
an instance are imported once per process (``function_set``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from jmespath.functions import REVERSE_TYPES_MAP, signature

from ldb_clone.errors import LdbError
from ldb_clone.query.functions import LdbFunctions

USER_FUNCTIONS_DIR = Path("custom_code", "ldb_user_functions")
CUSTOM_FUNCTIONS_VAR = "CUSTOM_FUNCTIONS"
TYPE_NAMES = frozenset(REVERSE_TYPES_MAP) | {"any"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class UserFunctionError(LdbError):
    """A user function module that cannot be imported or registers a bad function."""


@dataclass(frozen=True)
class UserFunction:
    name: str
    func: Callable[..., Any]
    signature: tuple[dict[str, Any], ...]
    path: Path


@dataclass(eq=False)
class FunctionSet:
    """The functions one query can call, and the warnings from loading them."""

    functions: LdbFunctions
    warnings: tuple[str, ...] = ()
    _untaken: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._untaken = list(self.warnings)

    def take_warnings(self) -> list[str]:
        """The load warnings not taken yet (so each is printed once per process)."""
        taken, self._untaken = self._untaken, []
        return taken


BUILTIN_FUNCTIONS = FunctionSet(LdbFunctions())
_loaded: dict[str, FunctionSet] = {}


def function_set(instance_dir: Path | None) -> FunctionSet:
    """Standard + LDB + the instance's user functions, loaded on first use and cached."""
    if instance_dir is None:
        return BUILTIN_FUNCTIONS
    key = os.path.abspath(instance_dir)
    found = _loaded.get(key)
    if found is None:
        functions, warnings = load_user_functions(Path(key))
        if functions or warnings:
            found = FunctionSet(functions_class(functions)(), tuple(warnings))
        else:
            found = BUILTIN_FUNCTIONS
        _loaded[key] = found
    return found


def clear_cache() -> None:
    _loaded.clear()


def load_user_functions(instance_dir: Path) -> tuple[list[UserFunction], list[str]]:
    """Import every user function module (sorted by name); return (functions, warnings).

    Raises ``UserFunctionError`` for a module that fails to import, a malformed
    ``CUSTOM_FUNCTIONS``, or a name that is already defined.
    """
    directory = instance_dir / USER_FUNCTIONS_DIR
    if not directory.is_dir():
        return [], []
    taken = {name: None for name in LdbFunctions.FUNCTION_TABLE}
    functions: list[UserFunction] = []
    warnings: list[str] = []
    for path in sorted(directory.glob("*.py")):
        table = getattr(_import(path), CUSTOM_FUNCTIONS_VAR, None)
        if table is None:
            warnings.append(
                f"User function module {path} has no {CUSTOM_FUNCTIONS_VAR} variable; "
                "it defines no functions"
            )
            continue
        if not isinstance(table, Mapping):
            _fail(path, f"{CUSTOM_FUNCTIONS_VAR} must be a dict, not {type(table).__name__}")
        for name, spec in table.items():
            user_function = _user_function(path, name, spec)
            if name in taken:
                where = "a builtin or LDB function" if taken[name] is None else str(taken[name])
                _fail(path, f"function {name!r} is already defined ({where})")
            taken[name] = path
            functions.append(user_function)
    return functions, warnings


def parse_signature(arg_types: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """``["number|array-number", "string", "*"]`` -> a jmespath ``@signature``."""
    if isinstance(arg_types, str) or not isinstance(arg_types, Sequence):
        raise ValueError("argument types must be a list of strings")
    arg_types = list(arg_types)
    variadic = bool(arg_types) and arg_types[-1] == "*"
    if variadic:
        arg_types.pop()
        if not arg_types:
            raise ValueError("'*' must follow an argument type")
    params: list[dict[str, Any]] = []
    for arg in arg_types:
        if not isinstance(arg, str) or not arg:
            raise ValueError(f"invalid argument type {arg!r}")
        types = [_parse_type(part.strip()) for part in arg.split("|")]
        params.append({"types": [] if "any" in types else types})
    if variadic:
        params[-1]["variadic"] = True
    return tuple(params)


def functions_class(user_functions: Sequence[UserFunction]) -> type[LdbFunctions]:
    """A ``LdbFunctions`` subclass that also holds ``user_functions``."""
    attrs = {f"_func_{f.name}": _method(f.func, f.signature) for f in user_functions}
    return type("UserFunctions", (LdbFunctions,), attrs)


def _method(func: Callable[..., Any], params: tuple[dict[str, Any], ...]):
    @signature(*params)
    def call(self, *args):
        return func(*args)

    return call


def _parse_type(text: str) -> str:
    base, dash, sub = text.partition("-")
    if dash:
        if base != "array":
            raise ValueError(f"invalid argument type {text!r}: only 'array' takes a sub-type")
        if sub not in TYPE_NAMES:
            raise ValueError(f"invalid argument type {text!r}: unknown sub-type {sub!r}")
        return "array" if sub == "any" else text
    if text not in TYPE_NAMES:
        raise ValueError(
            f"invalid argument type {text!r}: use one of {', '.join(sorted(TYPE_NAMES))}"
        )
    return text


def _user_function(path: Path, name: Any, spec: Any) -> UserFunction:
    if not isinstance(name, str) or not _NAME.match(name):
        _fail(path, f"invalid function name {name!r}")
    if not isinstance(spec, (tuple, list)) or len(spec) != 2 or not callable(spec[0]):
        _fail(path, f"function {name!r} must map to (callable, [argument types])")
    try:
        params = parse_signature(spec[1])
    except ValueError as exc:
        _fail(path, f"function {name!r}: {exc}")
    return UserFunction(name, spec[0], params, path)


def _import(path: Path) -> ModuleType:
    digest = hashlib.sha1(str(path.parent).encode()).hexdigest()[:8]
    name = f"ldb_user_functions_{digest}_{path.stem}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError("not an importable Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and pickling look modules up here
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        _fail(path, f"{type(exc).__name__}: {exc}")
    return module


def _fail(path: Path, reason: str):
    reason = " ".join(str(reason).split())
    raise UserFunctionError(f"Unable to load custom user functions: {path}: {reason}")
