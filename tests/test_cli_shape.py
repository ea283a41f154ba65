"""The command line stays thin: short command bodies, and no use of the catalog
(measured by benchmarks/cli_shape.py), and one helper prints results."""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path

from ldb_clone.cli.output import emit

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "cli_shape.py"


def _shape():
    spec = importlib.util.spec_from_file_location("cli_shape", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_bodies_are_short():
    bodies = _shape().command_bodies()
    assert len(bodies) >= 26
    longest = max(bodies, key=bodies.get)
    assert bodies[longest] <= 20, longest
    assert statistics.median(bodies.values()) <= 10


def test_the_command_line_never_touches_the_catalog():
    assert _shape().catalog_uses() == []


def test_the_measure_finds_long_bodies_and_catalog_uses(tmp_path):
    body = "\n".join(f"    x{n} = {n}" for n in range(24))
    (tmp_path / "cmds.py").write_text(
        "from ldb_clone.catalog import Catalog\n\n\n"
        f'@command("long")\ndef long(instance):\n    """Help."""\n{body}\n'
        "    return instance.catalog.unindex([])\n\n\n"
        "def helper():\n    return 1\n",
        encoding="utf-8",
    )
    shape = _shape()
    assert shape.command_bodies(tmp_path) == {"cmds.py:long": 25}
    assert shape.catalog_uses(tmp_path) == ["cmds.py:1", "cmds.py:31"]


class _Result:
    def to_json(self):
        return {"n": 1}


def test_emit_prints_json_or_text(capsys):
    emit(True, [_Result()], "text")
    assert capsys.readouterr().out == '[\n  {\n    "n": 1\n  }\n]\n'
    emit(False, _Result(), "text")
    emit(False, _Result(), ["a", "b"])
    emit(False, _Result(), [])
    emit(False, _Result(), None)
    assert capsys.readouterr().out == "text\na\nb\n"
    emit(True, None, "only for people")
    assert capsys.readouterr().out == ""
