"""User functions from ``<instance>/custom_code/ldb_user_functions/``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ldb_clone.errors import LdbError
from ldb_clone.query import QueryError, UserFunctionError, clear_caches, compile_query
from ldb_clone.query.user_functions import (
    BUILTIN_FUNCTIONS,
    USER_FUNCTIONS_DIR,
    function_set,
    load_user_functions,
    parse_signature,
)


@pytest.fixture(autouse=True)
def fresh_caches():
    clear_caches()
    yield
    clear_caches()


@pytest.fixture
def inst(tmp_path: Path) -> Path:
    return tmp_path / "inst"


def write_module(instance_dir: Path, name: str, source: str) -> Path:
    path = instance_dir / USER_FUNCTIONS_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def run(expression: str, value, instance_dir: Path, strict: bool = True):
    query = compile_query(expression, strict=strict, instance_dir=instance_dir)
    return query.search(value), dict(query.errors)


def test_functions_are_registered(inst):
    write_module(
        inst,
        "funcs.py",
        """
        def double(x):
            return x * 2

        def shout(s, times):
            return s.upper() + "!" * times

        CUSTOM_FUNCTIONS = {
            "double": (double, ["number"]),
            "shout": (shout, ["string", "number"]),
        }
        """,
    )
    assert run("double(n)", {"n": 21}, inst) == (42, {})
    assert run("shout(label, `2`)", {"label": "cat"}, inst) == ("CAT!!", {})
    query = compile_query("double(n) > `10`", strict=True, instance_dir=inst)
    assert [query.matches({"n": n}) for n in (3, 6)] == [False, True]
    # LDB and standard functions are still there alongside
    assert run("add(double(n), length(label))", {"n": 1, "label": "ab"}, inst) == (4, {})


def test_argument_types_are_checked(inst):
    write_module(
        inst,
        "funcs.py",
        """
        CUSTOM_FUNCTIONS = {
            "ident": (lambda x: x, ["number|string"]),
            "anything": (lambda x: [x], ["any"]),
        }
        """,
    )
    assert run("ident(n)", {"n": 1}, inst) == (1, {})
    assert run("ident(n)", {"n": "a"}, inst) == ("a", {})
    assert run("ident(n)", {"n": [1]}, inst) == (None, {"JMESPathTypeError": 1})
    assert run("ident(n)", {"n": None}, inst) == (None, {"JMESPathTypeError": 1})
    for value in (None, 1, "a", [1], {"k": 1}, True):
        assert run("anything(@)", value, inst, strict=False) == ([value], {})


def test_array_subtypes(inst):
    write_module(
        inst,
        "funcs.py",
        """
        CUSTOM_FUNCTIONS = {
            "joined": (lambda xs: "-".join(xs), ["array-string"]),
            "total": (lambda x: sum(x) if isinstance(x, list) else x, ["number|array-number"]),
            "count": (len, ["array-any"]),
        }
        """,
    )
    assert run("joined(tags)", {"tags": ["a", "b"]}, inst) == ("a-b", {})
    assert run("joined(tags)", {"tags": ["a", 1]}, inst) == (None, {"JMESPathTypeError": 1})
    assert run("joined(tags)", {"tags": "ab"}, inst) == (None, {"JMESPathTypeError": 1})
    assert run("total(n)", {"n": [1, 2]}, inst) == (3, {})
    assert run("total(n)", {"n": 5}, inst) == (5, {})  # a scalar is fine next to array-number
    assert run("total(n)", {"n": [1, "x"]}, inst) == (None, {"JMESPathTypeError": 1})
    assert run("total(n)", {"n": "x"}, inst) == (None, {"JMESPathTypeError": 1})
    assert run("count(@)", [1, "a", None], inst) == (3, {})


def test_variadic_last_argument(inst):
    write_module(
        inst,
        "funcs.py",
        """
        def total(first, *rest):
            return first + sum(rest)

        def tagged(value, *names):
            return [n for n in names if n in value.get("tags", [])]

        CUSTOM_FUNCTIONS = {
            "total": (total, ["number", "*"]),
            "tagged": (tagged, ["object", "string", "*"]),
        }
        """,
    )
    assert run("total(`1`)", None, inst) == (1, {})
    assert run("total(`1`, `2`, `3`)", None, inst) == (6, {})
    assert run("tagged(@, 'a', 'c', 'd')", {"tags": ["a", "b", "c"]}, inst) == (["a", "c"], {})
    with pytest.raises(QueryError, match=r"total\(\) takes at least 1 argument, got 0"):
        compile_query("total()", instance_dir=inst)
    with pytest.raises(QueryError, match=r"tagged\(\) takes at least 2 arguments, got 1"):
        compile_query("tagged(@)", instance_dir=inst)


def test_fixed_arity_is_checked_when_compiling(inst):
    write_module(inst, "f.py", 'CUSTOM_FUNCTIONS = {"one": (lambda x: x, ["any"])}\n')
    with pytest.raises(QueryError, match=r"one\(\) takes 1 argument, got 2"):
        compile_query("one(a, b)", instance_dir=inst)


def test_expref_arguments(inst):
    write_module(
        inst,
        "funcs.py",
        """
        def count_where(expref, items):
            return sum(1 for item in items if expref.visit(expref.expression, item))

        CUSTOM_FUNCTIONS = {"count_where": (count_where, ["expref", "array"])}
        """,
    )
    items = [{"ok": True}, {"ok": False}, {"ok": True}]
    assert run("count_where(&ok, @)", items, inst) == (2, {})


def test_an_exception_in_a_user_function_is_a_runtime_error(inst):
    write_module(
        inst,
        "funcs.py",
        """
        def picky(x):
            if x < 0:
                raise ArithmeticError("negative")
            return x

        CUSTOM_FUNCTIONS = {"picky": (picky, ["number"])}
        """,
    )
    query = compile_query("picky(n) >= `0`", strict=True, instance_dir=inst)
    assert [query.matches({"n": n}) for n in (1, -1, 2, -3)] == [True, False, True, False]
    assert query.errors == {"ArithmeticError": 2}
    assert query.take_warnings() == [
        "ArithmeticError: negative (query 'picky(n) >= `0`', 2 values)"
    ]


def test_modules_are_loaded_in_sorted_order(inst):
    write_module(inst, "b.py", 'CUSTOM_FUNCTIONS = {"f": (lambda: 1, [])}\n')
    write_module(inst, "a.py", 'CUSTOM_FUNCTIONS = {"f": (lambda: 2, [])}\n')
    with pytest.raises(UserFunctionError) as caught:
        load_user_functions(inst)
    message = str(caught.value)
    b_path = inst / USER_FUNCTIONS_DIR / "b.py"
    a_path = inst / USER_FUNCTIONS_DIR / "a.py"
    assert message == (
        f"Unable to load custom user functions: {b_path}: "
        f"function 'f' is already defined ({a_path})"
    )


def test_several_modules_contribute(inst):
    write_module(inst, "a.py", 'CUSTOM_FUNCTIONS = {"one": (lambda: 1, [])}\n')
    write_module(inst, "b.py", 'CUSTOM_FUNCTIONS = {"two": (lambda: 2, [])}\n')
    write_module(inst, "notes.txt", "not python")
    functions, warnings = load_user_functions(inst)
    assert [f.name for f in functions] == ["one", "two"]
    assert warnings == []
    assert run("[one(), two()]", {}, inst) == ([1, 2], {})


@pytest.mark.parametrize("name", ["regex", "has_keys", "length", "sort_by", "abs"])
def test_redefining_a_builtin_or_ldb_function_is_an_error(inst, name):
    path = write_module(inst, "funcs.py", f'CUSTOM_FUNCTIONS = {{"{name}": (len, ["any"])}}\n')
    with pytest.raises(UserFunctionError) as caught:
        compile_query("@", instance_dir=inst)
    assert isinstance(caught.value, LdbError)
    assert str(caught.value) == (
        f"Unable to load custom user functions: {path}: "
        f"function '{name}' is already defined (a builtin or LDB function)"
    )


def test_module_without_the_variable_gives_a_warning(inst):
    path = write_module(inst, "helpers.py", "def util():\n    return 1\n")
    write_module(inst, "real.py", 'CUSTOM_FUNCTIONS = {"one": (lambda: 1, [])}\n')
    functions, warnings = load_user_functions(inst)
    assert [f.name for f in functions] == ["one"]
    expected = (
        f"User function module {path} has no CUSTOM_FUNCTIONS variable; it defines no functions"
    )
    assert warnings == [expected]
    # through queries: the warning is taken once per process, by the first query asking
    first = compile_query("one()", instance_dir=inst)
    second = compile_query("one() == `1`", instance_dir=inst)
    assert first.take_warnings() == [expected]
    assert first.take_warnings() == []
    assert second.take_warnings() == []
    assert second.matches(None) is True


def test_only_a_module_without_the_variable(inst):
    write_module(inst, "helpers.py", "X = 1\n")
    query = compile_query("length(@)", instance_dir=inst)
    assert query.search("abc") == 3
    assert len(query.take_warnings()) == 1


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def broken(:\n", "SyntaxError: invalid syntax"),
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
        ("import no_such_module_for_ldb\n", "ModuleNotFoundError: No module named"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
    ],
)
def test_import_errors(inst, source, reason):
    path = write_module(inst, "bad.py", source)
    with pytest.raises(UserFunctionError) as caught:
        compile_query("a", instance_dir=inst)
    message = str(caught.value)
    assert message.startswith(f"Unable to load custom user functions: {path}: {reason}")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        ('["f"]', "CUSTOM_FUNCTIONS must be a dict, not list"),
        ('{"f": len}', "function 'f' must map to (callable, [argument types])"),
        ('{"f": (1, ["any"])}', "function 'f' must map to (callable, [argument types])"),
        ('{"f": (len, "string")}', "function 'f': argument types must be a list of strings"),
        ('{"f": (len, ["strin"])}', "function 'f': invalid argument type 'strin'"),
        ('{"f": (len, ["number-string"])}', "only 'array' takes a sub-type"),
        ('{"f": (len, ["array-thing"])}', "unknown sub-type 'thing'"),
        ('{"f": (len, ["*"])}', "'*' must follow an argument type"),
        ('{"my-func": (len, ["any"])}', "invalid function name 'my-func'"),
        ('{1: (len, ["any"])}', "invalid function name 1"),
    ],
)
def test_malformed_registrations(inst, table, reason):
    write_module(inst, "funcs.py", f"CUSTOM_FUNCTIONS = {table}\n")
    with pytest.raises(
        UserFunctionError, match=r"^Unable to load custom user functions: .*funcs\.py: "
    ) as caught:
        compile_query("a", instance_dir=inst)
    assert reason in str(caught.value)


def test_parse_signature():
    assert parse_signature(["number", "string|null"]) == (
        {"types": ["number"]},
        {"types": ["string", "null"]},
    )
    assert parse_signature(["any", "array-any", "array-number", "*"]) == (
        {"types": []},
        {"types": ["array"]},
        {"types": ["array-number"], "variadic": True},
    )
    assert parse_signature([]) == ()


def test_loaded_once_per_process_and_instance(inst, tmp_path):
    marker = tmp_path / "imports.log"
    write_module(
        inst,
        "funcs.py",
        f"""
        with open({str(marker)!r}, "a") as log:
            log.write("imported\\n")
        CUSTOM_FUNCTIONS = {{"one": (lambda: 1, [])}}
        """,
    )
    assert function_set(inst) is function_set(inst)
    for expression in ("one()", "one() == `1`", "one()"):
        compile_query(expression, instance_dir=inst).search(None)
    assert marker.read_text() == "imported\n"
    # the same directory spelled differently is the same instance
    assert function_set(inst / ".." / "inst") is function_set(inst)


def test_instances_are_separate(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    write_module(first, "funcs.py", 'CUSTOM_FUNCTIONS = {"which": (lambda: "one", [])}\n')
    write_module(second, "funcs.py", 'CUSTOM_FUNCTIONS = {"which": (lambda: "two", [])}\n')
    assert run("which()", None, first) == ("one", {})
    assert run("which()", None, second) == ("two", {})
    with pytest.raises(QueryError, match=r"unknown function which\(\)"):
        compile_query("which()")  # no instance: no user functions


def test_no_user_functions_shares_the_builtin_set(inst, tmp_path):
    assert function_set(None) is BUILTIN_FUNCTIONS
    assert function_set(tmp_path / "nothing-here") is BUILTIN_FUNCTIONS
    (inst / USER_FUNCTIONS_DIR).mkdir(parents=True)
    assert function_set(inst) is BUILTIN_FUNCTIONS
    # so compiled programs are shared with queries made without an instance
    assert compile_query("a", instance_dir=inst).program is compile_query("a").program


def test_with_a_real_instance(instance_dir):
    write_module(
        instance_dir, "labels.py", 'CUSTOM_FUNCTIONS = {"lower": (str.lower, ["string"])}\n'
    )
    query = compile_query("lower(label) == 'cat'", strict=True, instance_dir=instance_dir)
    assert [query.matches(v) for v in ({"label": "CAT"}, {"label": "Dog"}, {})] == [
        True,
        False,
        False,
    ]
