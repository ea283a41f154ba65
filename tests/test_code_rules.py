"""Rules for the package's own code that a reviewer would otherwise check by hand."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "ldb_clone"


def runtime_asserts(root: Path) -> list[str]:
    """``file:line`` of every ``assert`` statement below ``root``: ``python -O`` drops them,
    so a check the code relies on must be a real one."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assert):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_the_package_uses_no_assert_as_a_runtime_check():
    assert runtime_asserts(PACKAGE) == []


def test_the_scan_finds_an_assert(tmp_path):
    (tmp_path / "m.py").write_text("def f(x):\n    assert x is not None\n    return x\n")
    assert runtime_asserts(tmp_path) == ["m.py:2"]
