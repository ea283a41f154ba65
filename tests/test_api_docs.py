"""docs/api.md's examples run as written, and the public API is what ``__all__`` says."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ldb_clone

ROOT = Path(__file__).resolve().parent.parent
API_DOC = ROOT / "docs" / "api.md"


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_api_doc_examples_run_in_order(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shutil.copytree(ROOT / "examples" / "strict-pairs", tmp_path / "strict-pairs")
    blocks = _python_blocks(API_DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(API_DOC), "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    # the index block's counts, the number of cats, and the YOLO export of them
    new_objects, new_annotations = map(int, printed[0].split())
    assert new_objects == new_annotations > 0
    cats = int(printed[1])
    assert cats > 0
    assert f"{cats} images written" in printed
    assert "Invalid --limit -1: must not be negative" in printed
    labels = (tmp_path / "cats-yolo").rglob("*.txt")
    assert sum(1 for _ in labels) >= cats


def test_every_exported_name_resolves_and_is_documented() -> None:
    assert set(ldb_clone.__all__) == {"__version__", *ldb_clone._EXPORTS}
    doc = API_DOC.read_text(encoding="utf-8")
    for name in ldb_clone.__all__:
        assert getattr(ldb_clone, name) is not None
        if name != "__version__":
            assert name in doc, f"{name} is exported but not in docs/api.md"
    assert issubclass(ldb_clone.FormatError, ldb_clone.LdbError)
    assert issubclass(ldb_clone.FilterError, ldb_clone.LdbError)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ldb_clone.nope  # noqa: B018


def test_importing_the_package_loads_no_library_module() -> None:
    """The exports are lazy: ``ldb --help`` must not pay for the API's imports."""
    code = (
        "import sys, ldb_clone;print(sorted(m for m in sys.modules if m.startswith('ldb_clone')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['ldb_clone']"


def test_select_rejects_bad_tags_and_auto_format(tmp_path: Path) -> None:
    with ldb_clone.create_instance(tmp_path / "inst") as instance:
        with pytest.raises(ldb_clone.FilterError, match="comma"):
            ldb_clone.select(instance, tags=["a,b"])
        with pytest.raises(ldb_clone.FormatError, match="auto-detect"):
            ldb_clone.instantiate(instance, [], tmp_path / "out", format="auto")
        assert ldb_clone.select(instance) == []
