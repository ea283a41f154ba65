"""--pipe plugins that misbehave: hanging, interrupted, printing an id more than once.

The plugin in these tests starts a child (``sleep``) and writes its pid to a file, so
the test can check that no process of the plugin outlives the command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.filters import Filter, FilterError, Pipeline
from ldb_clone.selection import select_members
from tests.helpers import assert_one_error_line, run_index
from tests.test_filters import _plugin

HANGING = (
    "import subprocess\n"
    "child = subprocess.Popen(['sleep', '300'])\n"
    "open(sys.argv[1], 'w').write(str(child.pid))\n"
    "json.load(sys.stdin)\n"
    "child.wait()\n"
)


@pytest.fixture
def three(instance, data_dir, make_image, make_json):
    for n in range(3):
        make_image(data_dir / f"p{n}.png")
        make_json(data_dir / f"p{n}.json", {"n": n})
    run_index(instance, data_dir, fmt="strict")
    return data_dir


@pytest.fixture
def pid_file(tmp_path: Path):
    """Where the plugin writes its child's pid; the child is killed at teardown if a
    failing test left it running."""
    path = tmp_path / "child.pid"
    yield path
    if path.is_file() and path.read_text() and _alive(int(path.read_text())):
        os.kill(int(path.read_text()), signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that does not reap it counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait_for(path: Path, seconds: float = 30) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"the plugin did not start its child ({path})")


def _gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_an_id_printed_five_times_is_one_object(instance, three, tmp_path):
    plugin = _plugin(
        tmp_path,
        "echo-first",
        "rows = json.load(sys.stdin)\n"
        "for _ in range(5):\n    print(rows[0][0])\n"
        "print(rows[1][0])\nprint('id:' + rows[0][0])",
    )
    members = select_members(instance, ["ds:root"])

    kept = Pipeline(instance, [Filter("pipe", [str(plugin)])]).run(members)

    assert [m.object_id for m in kept] == [members[0].object_id, members[1].object_id]


def test_pipe_timeout_stops_a_hanging_plugin_and_its_child(instance, three, tmp_path, pid_file):
    plugin = _plugin(tmp_path, "hang", HANGING)

    result = CliRunner().invoke(
        app, ["list", "ds:root", "--pipe", str(plugin), str(pid_file), "--pipe-timeout", "0.5"]
    )

    assert result.exit_code == 1
    assert_one_error_line(result, "--pipe", "did not finish within 0.5 seconds")
    assert _gone(_wait_for(pid_file))


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_pipe_timeout_must_be_positive_seconds(instance, value):
    with pytest.raises(FilterError, match="Invalid --pipe-timeout"):
        Pipeline(instance, [Filter("pipe_timeout", value)])


@pytest.mark.process
def test_ctrl_c_ends_the_plugin_and_its_child(instance, three, tmp_path, pid_file):
    plugin = _plugin(tmp_path, "hang", HANGING)
    ldb = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ldb_clone",
            "list",
            "ds:root",
            "--pipe",
            str(plugin),
            str(pid_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        child = _wait_for(pid_file)
        ldb.send_signal(signal.SIGINT)  # what Ctrl-C sends to ldb
        _, stderr = ldb.communicate(timeout=30)
    finally:
        if ldb.poll() is None:
            ldb.kill()
    assert ldb.returncode == 130, stderr
    assert "error: interrupted" in stderr
    assert _gone(child)
