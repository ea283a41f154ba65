"""``ldb status``: counts, labelling progress and unsaved changes of a dataset version,
``ds:root`` or the working dataset."""

from __future__ import annotations

from ldb_clone.datasets import (
    Snapshot,
    changes,
    count_changes,
    members_of,
    parent_snapshot,
    parse_ref,
    version_info,
)
from ldb_clone.instance import Instance
from ldb_clone.selection import ROOT, select_members
from ldb_clone.views import Status, status_of
from ldb_clone.workspace import default_workspace_source, load_workspace


def status(instance: Instance, dataset: str | None = None) -> Status:
    """The status of ``ds:NAME[.vN]`` or ``ds:root``; without one, of the workspace in
    the current directory (an error outside one)."""
    if dataset is None:
        default_workspace_source()
        return workspace_status(instance, ".")
    result = status_of(dataset, select_members(instance, [dataset]), instance)
    if dataset != ROOT:
        info = version_info(instance, parse_ref(dataset))
        result.name = f"ds:{info['name']}.v{info['version']}"
        result.auto_pull = bool(info["auto_pull"])
        result.message = info["message"] or None
    return result


def workspace_status(instance: Instance, path: str = ".") -> Status:
    """The working dataset at ``path``, with its changes since the version it was staged
    from (or last committed)."""
    ws = load_workspace(path)
    result = status_of(f"ds:{ws.dataset_name}", members_of(instance, ws.members), instance)
    result.workspace = path
    result.auto_pull = ws.auto_pull
    current = Snapshot(ws.members, ws.transforms)
    kinds = (kind for kind, _ in changes(parent_snapshot(instance, ws), current))
    result.changes = count_changes(kinds)
    return result
