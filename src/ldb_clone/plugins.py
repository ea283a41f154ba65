"""Running user executables with JSON on stdin: --pipe filters, transforms and --apply.

A bare executable name is looked up in the instance's own folder for that kind of plugin
(``custom_code/ldb_user_filters/`` or ``ldb_user_transforms/``) first, then on PATH. The
plugin runs in the caller's working directory, so relative script paths work (upstream
ran it in the executable's folder, which broke ``python3 ../script.py``).
"""

from __future__ import annotations

import os
import shutil
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
    command: Sequence[str], stdin_text: str, own_dir: Path, what: str
) -> subprocess.CompletedProcess:
    """Run ``command`` with ``stdin_text``; a failure to start or a non-zero exit is a
    PluginError naming ``what`` and the last line the plugin wrote to stderr."""
    executable = find_executable(command[0], own_dir, what)
    try:
        proc = subprocess.run(
            [executable, *command[1:]],
            input=stdin_text,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise PluginError(f"Unable to run {what} {command[0]}: {exc.strerror or exc}") from exc
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        raise PluginError(
            f"{what} {' '.join(command)} exited with code {proc.returncode}"
            + (f": {detail}" if detail else "")
        )
    return proc
