"""Storage locations: where indexed data lives, and the read-add location for copies."""

from __future__ import annotations

import json
import os
import random
import shutil
import string
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ldb_clone.catalog import StorageRow
from ldb_clone.errors import SECRETS, NotInStorageError, StorageError
from ldb_clone.fs import LOCAL, FileEntry, join_url, split_url, stat_local
from ldb_clone.instance import Instance, make_private
from ldb_clone.reporting import Reporter

SECRET_WORDS = ("secret", "token", "password", "passwd", "credential", "key")
MASK = "****"


@dataclass(slots=True)
class StorageLocation(StorageRow):
    """A storage location as the catalog keeps it, with helpers."""

    @property
    def url(self) -> str:
        return join_url(self.protocol, self.path)

    def contains(self, protocol: str, path: str) -> bool:
        if protocol != self.protocol:
            return False
        root = self.path.rstrip("/")
        return path == root or path.startswith(root + "/") or root == ""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "protocol": self.protocol,
            "read_and_add": self.read_add,
            "options": mask_secrets(self.options),
        }


def mask_secrets(value: Any, key: str = "") -> Any:
    """A copy of storage options with credential values replaced by ``****``."""
    if isinstance(value, dict):
        return {k: mask_secrets(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v, key) for v in value]
    if _is_secret_key(key) and value not in (None, "", False):
        return MASK
    return value


def parse_option_value(text: str) -> Any:
    """``-o KEY VALUE``: the value as JSON when it parses, else the raw string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def load_locations(instance: Instance) -> list[StorageLocation]:
    locations = [
        StorageLocation(r.protocol, r.path, r.read_add, r.options)
        for r in instance.catalog.storage_locations()
    ]
    for loc in locations:
        register_secrets(loc.options)
    return locations


def register_secrets(value: Any, key: str = "") -> None:
    """Remember credential values (as ``mask_secrets`` finds them) for ``errors.scrub``."""
    if isinstance(value, dict):
        for k, v in value.items():
            register_secrets(v, k)
    elif isinstance(value, list):
        for v in value:
            register_secrets(v, key)
    elif isinstance(value, str) and len(value) >= 4 and _is_secret_key(key):
        SECRETS.add(value)


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SECRET_WORDS)


def find_location(
    locations: list[StorageLocation], protocol: str, path: str
) -> StorageLocation | None:
    best = None
    for loc in locations:
        if loc.contains(protocol, path) and (best is None or len(loc.path) > len(best.path)):
            best = loc
    return best


def options_for(locations: list[StorageLocation], protocol: str, path: str) -> dict[str, Any]:
    loc = find_location(locations, protocol, path)
    return dict(loc.options) if loc else {}


def add_storage(
    instance: Instance,
    url: str,
    read_add: bool = False,
    options: dict[str, Any] | None = None,
    force: bool = False,
    reporter: Reporter | None = None,
) -> str:
    """Register a storage location; return the message to print. Options holding
    credentials make the instance readable by its owner only first. A local folder that
    does not exist yet is registered (as upstream), with a warning."""
    protocol, path = split_url(url)
    new = StorageLocation(protocol, path, read_add, dict(options or {}))
    register_secrets(new.options)
    has_secrets = mask_secrets(new.options) != new.options
    shown = new.url  # NOTE: URLs keep their protocol in messages (upstream dropped it)
    kept: list[StorageLocation] = []
    children: list[StorageLocation] = []
    replaced: StorageLocation | None = None
    for loc in load_locations(instance):
        if loc.protocol == protocol:
            if loc.path == path:
                if (loc.read_add, loc.options) == (new.read_add, new.options):
                    raise StorageError(
                        f"The storage location {shown!r} already exists with the given options"
                    )
                replaced = loc
                continue
            if loc.contains(protocol, path):
                raise StorageError(f"{shown!r} is inside existing storage location {loc.url!r}")
            if new.contains(loc.protocol, loc.path):
                children.append(loc)
                continue
        kept.append(loc)
    if protocol == LOCAL and os.path.lexists(path) and not os.path.isdir(path):
        raise StorageError(f"Not a directory: {path!r}")
    if children and not force:
        listed = ", ".join(repr(c.url) for c in children)
        raise StorageError(
            f"{shown!r} is a parent of existing storage locations: {listed}. "
            "Use the --force option to replace them"
        )
    locations = [*kept, new]
    if sum(loc.read_add for loc in locations) > 1:
        raise StorageError("Only one storage location may be set as read-add")
    if has_secrets:
        instance.catalog.require_writable()
        make_private(instance.path)  # before the credentials are written
    instance.catalog.replace_storage_locations(locations)
    if has_secrets and reporter is not None:
        reporter.warn(CREDENTIALS_NOTE.format(path=instance.path))
    if protocol == LOCAL and not os.path.isdir(path) and reporter is not None:
        reporter.warn(f"{shown!r} does not exist yet")
    return _added_message(shown, replaced, new, children)


CREDENTIALS_NOTE = (
    "the credentials are stored in the catalog, which only you can read ('{path}'); "
    "credentials from the environment or a profile are preferred "
    "(for S3: AWS_PROFILE, ~/.aws, or -o profile NAME)"
)


def _added_message(
    shown: str,
    replaced: StorageLocation | None,
    new: StorageLocation,
    children: list[StorageLocation],
) -> str:
    if replaced is not None:
        changes = []
        if replaced.read_add != new.read_add:
            changes.append(f"  read_and_add: {replaced.read_add!r} -> {new.read_add!r}")
        if replaced.options != new.options:
            old_opts, new_opts = mask_secrets(replaced.options), mask_secrets(new.options)
            if old_opts == new_opts:
                changes.append("  options: credentials changed")
            else:
                changes.append(f"  options: {old_opts!r} -> {new_opts!r}")
        return f"Updated storage location {shown!r}:\n" + "\n".join(changes)
    if children:
        removed = "\n".join(f"  {c.url!r}" for c in children)
        return f"Added storage location {shown!r}\nRemoved its children:\n{removed}"
    return f"Added storage location {shown!r}"


def remove_storage(instance: Instance, url: str, force: bool = False) -> str:
    """Unregister a storage location; return the message to print.

    Refused, unless ``force``, while indexed objects have all their paths in it: without
    it their files are outside storage and can no longer be read. Nothing is deleted from
    the location itself, and the objects stay indexed."""
    protocol, path = split_url(url)
    # one transaction: no index adds objects to the location between count and removal
    with instance.catalog.transaction():
        locations = load_locations(instance)
        found = next((x for x in locations if (x.protocol, x.path) == (protocol, path)), None)
        if found is None:
            known = ", ".join(repr(x.url) for x in locations) or "none"
            raise StorageError(
                f"{join_url(protocol, path)!r} is not a storage location (registered: {known})"
            )
        needed = instance.catalog.objects_only_under(protocol, path)
        if needed and not force:
            raise StorageError(
                f"{needed} indexed data objects are stored only in {found.url!r} and could no "
                "longer be read without it; use --force to remove it anyway"
            )
        instance.catalog.replace_storage_locations([x for x in locations if x is not found])
    message = f"Removed storage location {found.url!r}"
    if needed:
        message += f" ({needed} indexed data objects now have no path in storage)"
    return message


def format_locations(locations: list[StorageLocation]) -> list[str]:
    """One line per location for ``ldb storage list``: its URL, ``read-add`` when it
    takes copies of files from outside storage, and its options, credentials masked."""
    lines = []
    for loc in locations:
        parts = [loc.url]
        if loc.read_add:
            parts.append("read-add")
        if loc.options:
            shown = json.dumps(mask_secrets(loc.options), sort_keys=True, ensure_ascii=False)
            parts.append(f"options: {shown}")
        lines.append("  ".join(parts))
    return lines


def read_add_location(locations: list[StorageLocation]) -> StorageLocation | None:
    return next((loc for loc in locations if loc.read_add), None)


class ReadAddCopier:
    """Copies files from outside every storage location into the read-add location.

    Layout (as upstream): ``<read-add>/ldb-autoimport/<date>/<8 random>/<protocol>/<path>``.
    """

    def __init__(self, location: StorageLocation) -> None:
        self.location = location
        token = "".join(random.choices(string.ascii_lowercase + string.digits, k=8))
        date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        self.base = f"{location.path.rstrip('/')}/ldb-autoimport/{date}/{token}"

    def copy(self, entry: FileEntry, options: dict[str, Any] | None = None) -> FileEntry:
        target = f"{self.base}/{entry.protocol}/{entry.path.lstrip('/')}"
        if self.location.protocol != LOCAL:
            return self._upload(entry, target, options)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.{os.getpid()}.part"
        try:
            if entry.protocol == LOCAL:
                shutil.copyfile(entry.path, tmp)
            else:
                from ldb_clone.fs import get_fsspec

                get_fsspec(entry.protocol, options).get_file(entry.path, tmp)
            os.replace(tmp, target)
        except OSError as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise StorageError(
                f"Unable to copy '{entry.url}' to read-add storage: {exc.strerror or exc}"
            ) from exc
        copied = stat_local(target)
        if copied is None:
            raise StorageError(f"'{target}' vanished right after it was copied to read-add storage")
        return copied

    def _upload(self, entry: FileEntry, target: str, options: dict[str, Any] | None) -> FileEntry:
        """Copy into a remote read-add location (an object store write is atomic)."""
        from ldb_clone.fs import get_fsspec, read_bytes, remote_reason, stat_url

        protocol = self.location.protocol
        fs = get_fsspec(protocol, self.location.options)
        try:
            if entry.protocol == LOCAL:
                fs.put_file(entry.path, target)
            else:
                fs.pipe_file(target, read_bytes(entry, options))
            copied = stat_url(protocol, target, self.location.options)
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(
                f"Unable to copy '{entry.url}' to read-add storage "
                f"{self.location.url}: {remote_reason(exc)}"
            ) from exc
        if copied is None:
            raise StorageError(f"Copy to read-add storage vanished: {protocol}://{target}")
        return copied


def store_in_read_add(location: StorageLocation, relpath: str, data: bytes) -> FileEntry:
    """Write ``data`` as ``<read-add>/<relpath>`` (content-addressed names: a file already
    there with the same size is left as it is, so its stat cache entry stays valid)."""
    target = f"{location.path.rstrip('/')}/{relpath}"
    if location.protocol != LOCAL:
        from ldb_clone.fs import get_fsspec, remote_reason, stat_url

        try:
            existing = stat_url(location.protocol, target, location.options)
            if existing is None or existing.size != len(data):
                get_fsspec(location.protocol, location.options).pipe_file(target, data)
                existing = stat_url(location.protocol, target, location.options)
        except StorageError:
            raise
        except Exception as exc:
            raise StorageError(
                f"Unable to write {location.protocol}://{target}: {remote_reason(exc)}"
            ) from exc
        if existing is None:
            raise StorageError(
                f"Write to read-add storage vanished: {location.protocol}://{target}"
            )
        return existing
    existing = stat_local(target)
    if existing is not None and existing.size == len(data):
        return existing
    tmp = f"{target}.{os.getpid()}.part"
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise StorageError(f"Unable to write '{target}': {exc.strerror or exc}") from exc
    written = stat_local(target)
    if written is None:
        raise StorageError(f"'{target}' vanished right after it was written")
    return written


def outside_storage_error(url: str) -> NotInStorageError:
    return NotInStorageError(
        f"Found file outside of configured storage locations: {url} (add a storage location "
        "for it, set core.read_any_cloud_location = true, or use --ephemeral-remote)"
    )
