"""Keeping the paths that data files name inside the registered storage locations.

Annotation files are data, not instructions (SPEC section 6). A path or URL that arrives
inside one is checked here before anything reads it, or even asks whether it exists:

- a local path must resolve, after ``..`` and symlinks, inside a local storage location
  (whose own path is resolved too);
- a cloud URL must lie inside a cloud storage location, unless the user set
  ``core.read_any_cloud_location`` (their explicit trust in every cloud location).

Only paths given on the command line may lie outside storage (and be copied to the
read-add location); a path an annotation names never is.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable

from ldb_clone.errors import NotInStorageError
from ldb_clone.fs import LOCAL, is_below, join_url
from ldb_clone.storage import StorageLocation, find_location


def real_local_roots(locations: Iterable[StorageLocation]) -> list[str]:
    """The resolved paths (symlinks followed) of the local storage locations."""
    return [os.path.realpath(loc.path) for loc in locations if loc.protocol == LOCAL]


def normalize_remote(path: str) -> str:
    """A cloud path with ``.`` and ``..`` segments resolved, so that checking it against
    the storage locations checks what a server that normalizes it would serve."""
    parts = path.split("/")
    if "." in parts or ".." in parts:
        return posixpath.normpath(path).lstrip("/")
    return path


class StorageBounds:
    """Decides whether a path named inside an annotation may be read."""

    def __init__(self, locations: list[StorageLocation], read_any_cloud: bool = False) -> None:
        self.locations = locations
        self.read_any_cloud = read_any_cloud
        self.local_roots = real_local_roots(locations)
        self._real_folders: dict[str, str] = {}

    def real_local(self, path: str) -> str:
        """``os.path.realpath(path)``, with the resolved folders cached: an annotation file
        naming many files of one folder costs one ``lstat`` per file."""
        folder, _, name = path.rpartition("/")
        real_folder = self._real_folders.get(folder)
        if real_folder is None:
            real_folder = self._real_folders[folder] = os.path.realpath(folder or "/")
        candidate = f"{real_folder.rstrip('/')}/{name}"
        return os.path.realpath(candidate) if os.path.islink(candidate) else candidate

    def allows(self, protocol: str, path: str) -> bool:
        if protocol == LOCAL:
            return is_below(self.real_local(path), self.local_roots)
        return self.read_any_cloud or find_location(self.locations, protocol, path) is not None

    def check_named(self, protocol: str, path: str, named_in: str) -> None:
        """Raise NotInStorageError unless the path ``named_in`` an annotation may be read."""
        if self.allows(protocol, path):
            return
        url = join_url(protocol, path)
        if protocol == LOCAL:
            real = self.real_local(path)
            resolved = f", which resolves to '{real}'," if real != path else ""
            hint = "add a storage location that contains it"
        else:
            resolved = ""
            hint = "add a storage location that contains it, or set core.read_any_cloud_location"
        raise NotInStorageError(
            f"'{url}' named in {named_in}{resolved} is outside every storage location ({hint})"
        )
