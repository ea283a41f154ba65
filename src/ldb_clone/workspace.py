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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ldb_clone.errors import LdbError
from ldb_clone.locking import folder_lock
from ldb_clone.swap import recover

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
    # the version a commit is writing, until the workspace records it (see datasets.commit)
    pending_commit: dict[str, Any] | None = None

    @property
    def state_path(self) -> Path:
        return self.path / WORKSPACE_DIR / STATE_FILE

    def to_json(self) -> dict[str, Any]:
        data = {
            "auto_pull": self.auto_pull,
            "dataset_name": self.dataset_name,
            "members": self.members,
            "parent": self.parent,
            "staged_time": self.staged_time,
            "transforms": self.transforms,
        }
        if self.pending_commit is not None:
            data["pending_commit"] = self.pending_commit
        return data

    def save(self, root: Path | None = None) -> None:
        """Write the state atomically (a temporary file, flushed to disk, renamed over
        the old one); into ``root`` instead of the workspace folder when given (a staging
        folder that becomes the workspace)."""
        state = (root or self.path) / WORKSPACE_DIR / STATE_FILE
        state.parent.mkdir(parents=True, exist_ok=True)
        tmp = state.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(self.to_json(), sort_keys=True))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, state)


def is_workspace(path: Path) -> bool:
    return (path / WORKSPACE_DIR / STATE_FILE).is_file()


def default_workspace_source() -> str:
    """The source of a command given none (list, eval, status): the workspace in the
    current directory, as upstream; outside one, an error that says how to name every
    object rather than silently using ds:root."""
    if not is_workspace(Path(".")):
        raise WorkspaceError(
            "No workspace dataset staged at '.'; pass ds:root to use every indexed data object"
        )
    return "ws:."


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
        pending_commit=data.get("pending_commit"),
    )


@contextmanager
def workspace_lock(path: Path | str = ".") -> Iterator[None]:
    """Hold a workspace folder (it may not exist yet) for a command that changes it:
    another process changing it waits until this one is done. A swap a killed
    ``instantiate`` or ``get`` left unfinished is put right first."""
    path = Path(path)
    with folder_lock(path, wait=True):
        recover(path)
        yield


@contextmanager
def locked_workspace(path: Path | str = ".") -> Iterator[Workspace]:
    """The workspace at ``path``, held (``workspace_lock``) while the caller reads,
    changes and saves it, so that no other process's change is lost."""
    with workspace_lock(path):
        yield load_workspace(path)


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
