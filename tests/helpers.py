"""Helpers the test modules share: indexing through the library and reading results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ldb_clone.indexing import index
from ldb_clone.instance import Instance
from ldb_clone.reporting import Reporter
from ldb_clone.selection import select_members
from ldb_clone.views import annotation_values

SUMMARY_LABELS = (
    "Found data objects:",
    "Found annotations:",
    "New data objects:",
    "New annotations:",
    "New data object paths:",
    "Transform sets:",
)


def run_index(instance: Instance, *paths: Path | str, **kwargs: Any):
    """Index through the library API; return (IndexResult, Reporter)."""
    reporter = Reporter()
    result = index(instance, [str(p) for p in paths], reporter=reporter, **kwargs)
    return result, reporter


def current(instance: Instance) -> dict[str, tuple[Any, int | None]]:
    """object id -> (current annotation, its version)."""
    members = select_members(instance, ["ds:root"])
    values = dict(annotation_values(instance, members))
    return {m.object_id: (values[m.object_id], m.version) for m in members}


def by_path(instance: Instance) -> dict[str, Any]:
    """Every indexed path -> the current annotation of its object."""
    members = select_members(instance, ["ds:root"])
    values = dict(annotation_values(instance, members))
    paths = instance.catalog.object_paths(values)
    return {path: values[oid] for oid, rows in paths.items() for _, path in rows}


def oid_of(instance: Instance, path: Path) -> str:
    return instance.hasher.bytes_digest(path.read_bytes())


def summary_block(heading: str, *counts: int) -> str:
    """Upstream's summary block, values right-aligned at column 34."""
    lines = (f"  {label:<23}{count:>9}" for label, count in zip(SUMMARY_LABELS, counts))
    return heading + ":\n" + "\n".join(lines)


def rewrite_json(path: Path, value: Any) -> None:
    """New content and a clearly later mtime, so the stat cache sees the change."""
    before = path.stat().st_mtime_ns
    path.write_text(json.dumps(value), encoding="utf-8")
    os.utime(path, ns=(before + 5 * 10**9, before + 5 * 10**9))


def ldb_in(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real ``ldb`` command line in ``cwd`` (a workspace, say)."""
    result = subprocess.run(
        [sys.executable, "-m", "ldb_clone", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )
    if check and result.returncode != 0:
        raise AssertionError(f"ldb {args} -> {result.returncode}\n{result.stdout}{result.stderr}")
    return result


def current_in_fresh_instance(instance_dir: Path, folder: Path, fmt: str) -> dict:
    """Index ``folder`` in format ``fmt`` into a new instance at ``instance_dir`` (with
    ``folder`` as its storage location); return its ``current()``."""
    from ldb_clone.instance import init_instance, open_instance
    from ldb_clone.storage import add_storage

    init_instance(instance_dir)
    second = open_instance(instance_dir)
    try:
        add_storage(second, str(folder))
        run_index(second, folder, fmt=fmt)
        return current(second)
    finally:
        second.close()
