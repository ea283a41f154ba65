"""Transforms that arrive with data are recorded but never run until the user trusts them.

The command line runs in-process (typer's CliRunner); the "evil" transform is a real
executable that would leave a marker file if it ever ran.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.transforms import EXEC, Transform, transform_id
from ldb_clone.trust import (
    FROM_INDEXED_DATA,
    UntrustedTransformError,
    check_runnable,
    record_arrived,
    trust,
)


def run(*args: str, cwd: Path, monkeypatch: pytest.MonkeyPatch, code: int = 0):
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "the-transform-ran"


@pytest.fixture
def records(tmp_path, data_dir, make_image, marker) -> Path:
    """An annotation-only file whose ldb-meta carries an exec transform named rotate."""
    script = tmp_path / "evil.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    image = make_image(data_dir / "a.png")
    record = {
        "annotation": {"label": "cat"},
        "data-object-info": {"path": str(image)},
        "ldb-meta": {
            "transforms": [
                {"transform": {"transform_type": "predefined", "value": "self"}, "name": "self"},
                {
                    "transform": {"transform_type": "exec", "value": [sys.executable, str(script)]},
                    "name": "rotate",
                },
            ]
        },
    }
    folder = tmp_path / "records"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(record), encoding="utf-8")
    return folder


@pytest.fixture
def ws(tmp_path, instance, monkeypatch, records) -> Path:
    run("stage", "ds:pets", "-t", "ws", cwd=tmp_path, monkeypatch=monkeypatch)
    ws = tmp_path / "ws"
    run("index", "-a", "ws:.", "-m", "annot", str(records), cwd=ws, monkeypatch=monkeypatch)
    return ws


def test_an_indexed_exec_transform_is_not_run_until_trusted(
    instance, ws, tmp_path, marker, monkeypatch
):
    config = (instance.path / "config").read_text(encoding="utf-8")
    assert "rotate" not in config  # recorded apart from the user's own transforms
    listed = run("list", cwd=ws, monkeypatch=monkeypatch).stdout
    row = next(line for line in listed.splitlines() if line.startswith(" id:"))
    assert row.split()[-1] == "self,rotate"  # but known by its name

    out = tmp_path / "out"
    refused = run("instantiate", "-t", str(out), cwd=ws, monkeypatch=monkeypatch, code=1)
    line = one_error_line(refused.stderr)
    assert line.startswith("error: transform 'rotate' (exec: ")
    assert "evil.py) arrived with indexed data and is not trusted" in line
    assert line.endswith("run it only if you trust it: ldb transform --trust rotate")
    assert not marker.exists()
    assert not out.exists()  # refused before anything was written
    refused = run("instantiate", cwd=ws, monkeypatch=monkeypatch, code=1)
    assert "ldb transform --trust rotate" in one_error_line(refused.stderr)
    assert sorted(p.name for p in ws.iterdir()) == [".ldb_workspace"]

    trusted = run("transform", "--trust", "rotate", cwd=ws, monkeypatch=monkeypatch).stdout
    assert trusted.startswith("Trusted transform 'rotate' (exec: ")
    again = run("transform", "--trust", "rotate", "--json", cwd=ws, monkeypatch=monkeypatch)
    assert json.loads(again.stdout) == {
        "trusted": ["Transform 'rotate' is already defined in the config"]
    }
    assert "[transform.rotate]" in (instance.path / "config").read_text(encoding="utf-8")
    run("instantiate", "-t", str(out), cwd=ws, monkeypatch=monkeypatch)
    assert marker.exists()


def test_get_refuses_an_untrusted_transform_before_writing(
    instance, ws, tmp_path, marker, monkeypatch
):
    run("commit", "-m", "with the indexed transforms", cwd=ws, monkeypatch=monkeypatch)
    target = tmp_path / "got"
    refused = run(
        "get", "ds:pets", "-t", str(target), cwd=tmp_path, monkeypatch=monkeypatch, code=1
    )
    assert "ldb transform --trust rotate" in one_error_line(refused.stderr)
    assert not marker.exists()
    assert not target.exists()  # get builds its workspace and files beside it, then renames


def test_exporting_records_of_an_untrusted_transform_is_allowed(
    instance, ws, tmp_path, monkeypatch
):
    """Formats that only record transform sets (annotation-only) run nothing."""
    out = tmp_path / "again"
    run("instantiate", "-m", "annot", "-t", str(out), cwd=ws, monkeypatch=monkeypatch)
    (written,) = out.glob("*.json")
    record = json.loads(written.read_text(encoding="utf-8"))
    names = [t["name"] for t in record["ldb-meta"]["transforms"]]
    assert sorted(names) == ["rotate", "self"]


def test_a_name_the_user_defined_differently_keeps_the_users_command(
    instance, records, tmp_path, marker, monkeypatch
):
    with open(instance.path / "config", "a", encoding="utf-8") as f:
        f.write('\n[transform.rotate]\nrun = ["python3", "mine.py"]\n')
    run("stage", "ds:pets", "-t", "ws", cwd=tmp_path, monkeypatch=monkeypatch)
    ws = tmp_path / "ws"
    run("index", "-a", "ws:.", "-m", "annot", str(records), cwd=ws, monkeypatch=monkeypatch)
    refused = run("instantiate", cwd=ws, monkeypatch=monkeypatch, code=1)
    line = one_error_line(refused.stderr)
    assert "evil.py) arrived with indexed data" in line
    # the data's "rotate" cannot take the user's name: it is trusted by its id
    tid = line.rsplit(" ", 1)[-1]
    assert tid != "rotate"
    run("transform", "--trust", tid, cwd=ws, monkeypatch=monkeypatch)
    config = (instance.path / "config").read_text(encoding="utf-8")
    assert 'run = ["python3", "mine.py"]' in config and f"[transform.{tid}]" in config
    run("instantiate", cwd=ws, monkeypatch=monkeypatch)
    assert marker.exists()


def test_trusting_an_unknown_name_is_an_error(instance, tmp_path, monkeypatch):
    result = run("transform", "--trust", "nope", cwd=tmp_path, monkeypatch=monkeypatch, code=1)
    assert one_error_line(result.stderr) == (
        "error: No transform that arrived with data is named nope"
    )


def test_two_transforms_that_arrived_with_one_name_are_trusted_by_id(instance):
    """Trusting the name would be a guess at which command is meant."""
    first = Transform("", EXEC, ["python3", "a.py"], "rotate")
    second = Transform("", EXEC, ["python3", "b.py"], "rotate")
    first, second = (
        Transform(transform_id(instance.hasher, t.spec), EXEC, t.value, t.name)
        for t in (first, second)
    )
    assert record_arrived(instance, [first, second], FROM_INDEXED_DATA) == 2
    with pytest.raises(UntrustedTransformError) as refused:
        check_runnable(instance, [second])
    assert str(refused.value).endswith(f"ldb transform --trust {second.id}")
    with pytest.raises(UntrustedTransformError, match="Several transforms arrived with data"):
        trust(instance, "rotate")
    trust(instance, second.id)
    check_runnable(instance, [second])  # now defined in the config
    with pytest.raises(UntrustedTransformError, match="--trust "):
        check_runnable(instance, [first])
