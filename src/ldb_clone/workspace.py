"""Workspaces: a directory with ``.ldb_workspace/`` holding a working dataset.

The working dataset is a collection (object id -> annotation id or None), a transform
mapping (object id -> transform ids, for objects whose set is not the default) plus its
name, the version it was staged from and its auto-pull flag, kept in one JSON file
written atomically.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ldb_clone.errors import LdbError

WORKSPACE_DIR = ".ldb_workspace"
STATE_FILE = "workspace.json"


class WorkspaceError(LdbError):
    pass


@dataclass
class Workspace:
    path: Path
    dataset_name: str
    parent: int | None = None  # the dataset version this was staged from or last committed
    auto_pull: bool = False
    staged_time: str = ""
    members: dict[str, str | None] = field(default_factory=dict)
    transforms: dict[str, list[str]] = field(default_factory=dict)

    @property
    def state_path(self) -> Path:
        return self.path / WORKSPACE_DIR / STATE_FILE

    def to_json(self) -> dict[str, Any]:
        return {
            "auto_pull": self.auto_pull,
            "dataset_name": self.dataset_name,
            "members": self.members,
            "parent": self.parent,
            "staged_time": self.staged_time,
            "transforms": self.transforms,
        }

    def save(self) -> None:
        state = self.state_path
        state.parent.mkdir(parents=True, exist_ok=True)
        tmp = state.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_json(), sort_keys=True), encoding="utf-8")
        os.replace(tmp, state)


def is_workspace(path: Path) -> bool:
    return (path / WORKSPACE_DIR / STATE_FILE).is_file()


def load_workspace(path: Path | str = ".") -> Workspace:
    path = Path(path)
    state = path / WORKSPACE_DIR / STATE_FILE
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkspaceError(
            f"Not a workspace: '{path}'. Stage a dataset there first: ldb stage ds:NAME"
        ) from None
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"Unreadable workspace state '{state}': {exc}") from exc
    return Workspace(
        path=path,
        dataset_name=data["dataset_name"],
        parent=data.get("parent"),
        auto_pull=bool(data.get("auto_pull")),
        staged_time=data.get("staged_time", ""),
        members=dict(data.get("members", {})),
        transforms=dict(data.get("transforms", {})),
    )


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def prepare_directory(target: Path, force: bool) -> None:
    """A workspace goes into a missing or empty directory, or replaces one (``-f``)."""
    if not target.exists():
        if not target.parent.is_dir():
            raise WorkspaceError(f"Parent directory does not exist: '{target.parent}'")
        target.mkdir()
        return
    if not target.is_dir():
        raise WorkspaceError(f"Not a directory: '{target}'")
    others = [p for p in target.iterdir() if p.name != WORKSPACE_DIR]
    if not is_workspace(target):
        if others or (target / WORKSPACE_DIR).exists():
            raise WorkspaceError(f"Not a workspace or an empty directory: '{target}'")
        return
    if others:
        if not force:
            raise WorkspaceError(
                f"Workspace is not empty: '{target}'. "
                "Use the --force option to delete workspace contents"
            )
        for item in others:
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item)
            else:
                item.unlink()
