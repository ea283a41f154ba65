"""Running user executables with JSON on stdin: --pipe filters, transforms and --apply.

A bare executable name is looked up in the instance's own folder for that kind of plugin
(``custom_code/ldb_user_filters/`` or ``ldb_user_transforms/``) first, then on PATH. The
plugin runs in the caller's working directory, so relative script paths work (upstream
ran it in the executable's folder, which broke ``python3 ../script.py``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ldb_clone.errors import LdbError

USER_FILTERS_DIR = "custom_code/ldb_user_filters"
USER_TRANSFORMS_DIR = "custom_code/ldb_user_transforms"


class PluginError(LdbError):
    pass


def find_executable(name: str, own_dir: Path, what: str) -> str:
    """``name`` itself when it has a folder part; else ``own_dir/name``, else PATH."""
    if os.sep in name or (os.altsep and os.altsep in name):
        return name
    own = own_dir / name
    if own.is_file():
        return str(own)
    found = shutil.which(name)
    if found is None:
        raise PluginError(f"{what} executable not found: {name}")
    return found


def run_plugin(
    command: Sequence[str],
    stdin_text: str,
    own_dir: Path,
    what: str,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    """Run ``command`` with ``stdin_text``; a failure to start, a non-zero exit or running
    longer than ``timeout`` seconds is a PluginError naming ``what`` (with the last line
    the plugin wrote to stderr).

    The plugin runs in a process group of its own, which is ended (with every child the
    plugin started) when it times out, when ``ldb`` is interrupted (Ctrl-C), and when
    the plugin exits leaving children behind.
    """
    executable = find_executable(command[0], own_dir, what)
    shown = " ".join(command)
    try:
        proc = subprocess.Popen(
            [executable, *command[1:]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=_GROUPS,
        )
    except OSError as exc:
        raise PluginError(f"Unable to run {what} {command[0]}: {exc.strerror or exc}") from exc
    try:
        stdout, stderr = proc.communicate(stdin_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        _end(proc)
        raise PluginError(
            f"{what} {shown} did not finish within {timeout:g} seconds and was stopped"
        ) from None
    except BaseException:  # Ctrl-C, or anything else that stops ldb while it waits
        _end(proc)
        raise
    _end_group(proc.pid, signal.SIGKILL)  # children the plugin left running
    if proc.returncode != 0:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        raise PluginError(
            f"{what} {shown} exited with code {proc.returncode}" + (f": {detail}" if detail else "")
        )
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


_GROUPS = hasattr(os, "killpg")  # POSIX: the plugin gets its own process group
_GRACE = 2.0  # seconds between SIGTERM and SIGKILL


def _end(proc: subprocess.Popen) -> None:
    """Stop the plugin and its process group: SIGTERM, then SIGKILL after a grace period."""
    if not _GROUPS:
        proc.kill()
        proc.wait()
        return
    _end_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=_GRACE)
    _end_group(proc.pid, signal.SIGKILL)
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _end_group(group: int, sig: int) -> None:
    if not _GROUPS:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(group, sig)
