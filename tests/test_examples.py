"""Issue 13, item 15: the bundled examples' tour runs in CI, and examples/README.md's
counts are the files' (and what the tour shows)."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
QUICKSTART = EXAMPLES / "quickstart.sh"


def readme_counts() -> dict[str, int]:
    text = " ".join((EXAMPLES / "README.md").read_text(encoding="utf-8").split())
    patterns = {
        "image files": r"(\d+) image files",
        "distinct images": r"(\d+) of them distinct",
        "text documents": r"(\d+) text documents",
        "data objects": r"(\d+) data objects in all",
    }
    found = {}
    for key, pattern in patterns.items():
        match = re.search(pattern, text)
        assert match, f"examples/README.md does not say '{pattern}'"
        found[key] = int(match.group(1))
    return found


def test_examples_readme_counts_are_the_files():
    images = sorted(EXAMPLES.rglob("*.png"))
    texts = sorted((EXAMPLES / "text").glob("*.txt"))
    distinct = {hashlib.sha256(p.read_bytes()).hexdigest() for p in images}
    assert readme_counts() == {
        "image files": len(images),
        "distinct images": len(distinct),
        "text documents": len(texts),
        "data objects": len(distinct) + len(texts),
    }


def test_ci_runs_the_quickstart():
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "bash examples/quickstart.sh" in commands
    # after the install into the venv, so the tour uses the ldb CI just installed
    assert commands.index("bash examples/quickstart.sh") > commands.index(
        'pip install --quiet ".[test]"'
    )


@pytest.mark.slow
def test_the_quickstart_runs_and_shows_the_readme_counts(tmp_path):
    wrapper = tmp_path / "ldb"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m ldb_clone "$@"\n')
    wrapper.chmod(0o755)
    result = subprocess.run(
        ["bash", str(QUICKSTART)],
        capture_output=True,
        text=True,
        env={**os.environ, "LDB": str(wrapper)},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    objects = readme_counts()["data objects"]
    assert f"\n{objects} matching data objects\n" in result.stdout
    assert f"Num data objects: {objects:8}" in result.stdout
