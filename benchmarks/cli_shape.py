#!/usr/bin/env python3
"""How thin the command line is: the length of every command body, and where the
command line reaches into the catalog (it never should).

Usage: ``python3 benchmarks/cli_shape.py [FILE_OR_DIR ...]`` (default: src/ldb_clone/cli)

A command is a function decorated with ``@command(...)`` or ``@<app>.command(...)``;
its body is the lines after its signature and docstring.
"""

from __future__ import annotations

import ast
import statistics
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "src" / "ldb_clone" / "cli"


def _python_files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _is_command(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "command":
            return True
    return False


def _body_lines(node: ast.FunctionDef) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if not body:
        return 0
    return node.end_lineno - body[0].lineno + 1


def command_bodies(path: Path = DEFAULT) -> dict[str, int]:
    """``file:function`` -> body length in lines, for every command under ``path``."""
    bodies = {}
    for file in _python_files(path):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and _is_command(node):
                bodies[f"{file.name}:{node.name}"] = _body_lines(node)
    return bodies


def catalog_uses(path: Path = DEFAULT) -> list[str]:
    """``file:line`` of every import of the catalog module and every name or attribute
    called ``catalog`` under ``path``."""
    found = []
    for file in _python_files(path):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [alias.name for alias in node.names]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.Name):
                names = [node.id]
            if any(name == "catalog" or name.endswith(".catalog") for name in names):
                found.append(f"{file.name}:{node.lineno}")
    return found


def main(argv: list[str]) -> None:
    for path in [Path(arg) for arg in argv] or [DEFAULT]:
        bodies = command_bodies(path)
        lengths = sorted(bodies.values())
        print(f"{path}: {len(lengths)} commands")
        for name, lines in sorted(bodies.items(), key=lambda item: -item[1]):
            print(f"  {lines:4d}  {name}")
        if lengths:
            print(f"  max {max(lengths)}, median {statistics.median(lengths)}")
        print(f"  catalog uses: {', '.join(catalog_uses(path)) or 'none'}")


if __name__ == "__main__":
    main(sys.argv[1:])
