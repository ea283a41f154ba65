"""Files on local disk and in fsspec filesystems: URLs, listings with size and mtime, reads.

Local paths never go through fsspec: ``os.scandir`` and plain reads are much faster,
and importing fsspec alone costs more than a tenth of a second.
"""

from __future__ import annotations

import glob as globlib
import os
import re
import stat as statlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ldb_clone.catalog.records import PathRecord
from ldb_clone.errors import StorageError

LOCAL = "file"
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://(.*)$")
GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(slots=True)
class FileEntry(PathRecord):
    """A file as a listing finds it: a ``PathRecord`` (the catalog records it as is) with
    helpers. Listings always know ``size``."""

    @property
    def url(self) -> str:
        return self.path if self.protocol == LOCAL else f"{self.protocol}://{self.path}"

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""

    @property
    def suffix(self) -> str:
        name = self.name
        dot = name.rfind(".")
        return name[dot:] if dot > 0 else ""

    @property
    def is_json(self) -> bool:
        return self.path.endswith(".json")


def split_url(url: str, base: str | None = None) -> tuple[str, str]:
    """``s3://b/k`` -> ("s3", "b/k"); local paths (and ``file://``) -> ("file", absolute path).

    A relative local path is taken relative to ``base`` when given, else the working directory.
    """
    match = _URL.match(url)
    if match:
        protocol, rest = match.group(1).lower(), match.group(2)
        if protocol in ("file", "local"):
            return LOCAL, normalize_local(rest)
        if protocol in ("s3a", "s3n"):
            protocol = "s3"
        return protocol, rest.rstrip("/")
    path = os.path.expanduser(url)
    if base is not None and not os.path.isabs(path):
        path = os.path.join(base, path)
    return LOCAL, normalize_local(path)


def normalize_local(path: str) -> str:
    return os.path.abspath(path).replace(os.sep, "/")


def join_url(protocol: str, path: str) -> str:
    return path if protocol == LOCAL else f"{protocol}://{path}"


def is_below(path: str, roots: Iterable[str]) -> bool:
    """True when ``path`` is one of ``roots`` or inside one (plain path comparison)."""
    for root in roots:
        root = root.rstrip("/")
        if path == root or path.startswith(root + "/") or root == "":
            return True
    return False


def escaped(path: str) -> str:
    """A local path for messages: bytes that are not UTF-8 shown as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_utf8(name: str) -> bool:
    """False for a name read from disk that holds bytes which are not UTF-8 (Python
    keeps those as lone surrogates, which the catalog cannot store)."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_hidden_below(path: str, root: str) -> bool:
    """True when a component of ``path`` below ``root`` starts with a dot."""
    rel = path[len(root) :].lstrip("/") if path.startswith(root) else path.rsplit("/", 1)[-1]
    return any(part.startswith(".") for part in rel.split("/") if part)


def _entry_from_stat(path: str, st: os.stat_result) -> FileEntry:
    return FileEntry(
        LOCAL,
        path,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        atime_ns=st.st_atime_ns,
        ctime_ns=st.st_ctime_ns,
        mode=st.st_mode,
        uid=st.st_uid,
        gid=st.st_gid,
    )


def stat_local(path: str) -> FileEntry | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not statlib.S_ISREG(st.st_mode):
        return None
    return _entry_from_stat(path, st)


@dataclass(slots=True)
class Skipped:
    """What a local listing left out, reported as one warning per kind."""

    links_out: list[str] = field(default_factory=list)  # symlinks leading out of bounds
    loops: list[str] = field(default_factory=list)  # links back to a folder above, or circular
    not_utf8: list[str] = field(default_factory=list)  # names shown escaped

    def warnings(self, shown: int = 5) -> list[str]:
        """One warning per kind of file left out, naming the first few."""

        def named(paths: list[str]) -> str:
            more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
            return ", ".join(paths[:shown]) + more

        result = []
        if self.links_out:
            result.append(
                f"{len(self.links_out)} symbolic link(s) leading outside every storage "
                f"location were not followed: {named(self.links_out)}"
            )
        if self.loops:
            result.append(
                f"{len(self.loops)} symbolic link(s) forming a loop were not followed: "
                f"{named(self.loops)}"
            )
        if self.not_utf8:
            result.append(
                f"{len(self.not_utf8)} file(s) or folder(s) whose name is not valid UTF-8 "
                f"were skipped: {named(self.not_utf8)}"
            )
        return result


def walk_local(
    root: str, bounds: Sequence[str] | None = None, skipped: Skipped | None = None
) -> Iterator[FileEntry]:
    """Every regular file below ``root``, skipping hidden files and folders.

    A symlink is followed only when its target (resolved) lies inside one of ``bounds``
    (real paths; default: the real path of ``root``); a folder symlink that leads back
    to a folder being walked is not followed either. Names that are not UTF-8 are left
    out. What is left out is noted in ``skipped``.
    """
    skipped = skipped if skipped is not None else Skipped()
    real_root = os.path.realpath(root)
    bounds = [real_root] if bounds is None else bounds
    # (folder, real paths of the folder and of every folder above it in this walk)
    stack: list[tuple[str, tuple[str, ...]]] = [(root, (real_root,))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except PermissionError as exc:
            raise StorageError(f"Permission denied: '{escaped(folder)}'") from exc
        subdirs = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if not is_utf8(entry.name):
                skipped.not_utf8.append(escaped(entry.path))
                continue
            if entry.is_file(follow_symlinks=False):  # the common case, from d_type alone
                yield _entry_from_stat(entry.path.replace(os.sep, "/"), entry.stat())
                continue
            real = None
            if entry.is_symlink():
                real = os.path.realpath(entry.path)
                if not is_below(real, bounds):
                    skipped.links_out.append(entry.path)
                    continue
            try:
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()
            except OSError:  # links that lead to each other (ELOOP)
                skipped.loops.append(entry.path)
                continue
            if is_dir:
                if real is None:
                    real = f"{ancestors[-1].rstrip('/')}/{entry.name}"
                elif any(is_below(above, [real]) for above in ancestors):
                    skipped.loops.append(entry.path)
                    continue
                subdirs.append((entry.path, (*ancestors, real)))
            elif is_file:
                yield _entry_from_stat(entry.path.replace(os.sep, "/"), entry.stat())
        stack.extend(reversed(subdirs))


def get_fsspec(protocol: str, options: dict[str, Any] | None = None) -> Any:
    try:
        import fsspec

        return fsspec.filesystem(protocol, **(options or {}))
    except ImportError as exc:
        raise StorageError(f"Unable to access {protocol}:// paths: {exc}") from exc
    except ValueError as exc:
        raise StorageError(f"Unsupported protocol {protocol!r}: {exc}") from exc


def _remote_entry(protocol: str, info: dict[str, Any]) -> FileEntry:
    mtime = info.get("LastModified") or info.get("mtime") or info.get("created")
    mtime_ns = None
    if hasattr(mtime, "timestamp"):
        mtime_ns = int(mtime.timestamp() * 1e9)
    elif isinstance(mtime, (int, float)):
        mtime_ns = int(mtime * 1e9)
    return FileEntry(
        protocol, info["name"].rstrip("/"), size=int(info.get("size") or 0), mtime_ns=mtime_ns
    )


@dataclass(slots=True)
class Listing:
    """Files found for one command-line path argument."""

    arg: str
    root: str  # the folder the argument names, or the parent of a file argument
    entries: list[FileEntry]
    is_dir: bool
    bounds: tuple[str, ...] = ()  # where symlinks found below the argument may lead


def list_path(
    arg: str,
    options_for: Any = None,
    storage_roots: Sequence[str] = (),
    skipped: Skipped | None = None,
) -> list[Listing]:
    """Expand one path argument (file, folder, glob or URL) into listings.

    ``options_for(protocol, path)`` gives the fsspec options of the storage location
    holding a remote path. Symlinks found below a local argument (in a folder, or matched
    by a glob) are followed only into ``storage_roots`` (real paths of the local storage
    locations) or the argument's own folder; a file the argument names is always taken.
    Local files left out (those symlinks, names that are not UTF-8) are noted in
    ``skipped``.
    """
    skipped = skipped if skipped is not None else Skipped()
    protocol, path = split_url(arg)
    if protocol == LOCAL:
        if GLOB_CHARS.search(path):
            matches = sorted(globlib.glob(path, recursive=True))
            if not matches:
                raise StorageError(f"No files match: '{arg}'")
            prefix = GLOB_CHARS.split(path, 1)[0].rsplit("/", 1)[0] or "/"
            bounds = (*storage_roots, os.path.realpath(prefix))
            listings = []
            for match in matches:
                listing = _list_glob_match(match.replace(os.sep, "/"), bounds, skipped)
                if listing is not None:
                    listings.append(listing)
            return listings
        if not os.path.exists(path):
            raise StorageError(f"Path not found: '{escaped(arg)}'")
        if not is_utf8(path):
            skipped.not_utf8.append(escaped(path))
            return []
        own = path if os.path.isdir(path) else os.path.dirname(path)
        return [_list_local(path, arg, (*storage_roots, os.path.realpath(own)), skipped)]
    fs = get_fsspec(protocol, options_for(protocol, path) if options_for else None)
    try:
        if GLOB_CHARS.search(path):
            paths = sorted(fs.glob(path))
            if not paths:
                raise StorageError(f"No files match: '{arg}'")
        else:
            paths = [path]
        result = []
        for p in paths:
            if fs.isdir(p):
                found = fs.find(p, detail=True)
                entries = [
                    _remote_entry(protocol, info)
                    for name, info in sorted(found.items())
                    if info.get("type") != "directory"
                    and not is_hidden_below(name.strip("/"), p.strip("/"))
                ]
                result.append(Listing(arg, p.rstrip("/"), entries, True))
            else:
                info = fs.info(p)
                entry = _remote_entry(protocol, info)
                result.append(Listing(arg, entry.parent, [entry], False))
        return result
    except StorageError:
        raise
    except FileNotFoundError as exc:
        reason = remote_reason(exc)
        detail = "" if reason.strip("'") in (path, arg) or path in reason else f": {reason}"
        raise StorageError(f"Path not found: '{arg}'{detail}") from exc
    except Exception as exc:
        # NOTE: botocore raises its own exception types (no credentials, endpoint
        # unreachable), not only OSError
        raise StorageError(f"Unable to list '{arg}': {remote_reason(exc)}") from exc


def remote_reason(exc: BaseException) -> str:
    """The first line of a remote filesystem error, with its type when it says little."""
    text = re.sub(r"^\[Errno \d+\] ", "", str(exc).strip())
    first = text.splitlines()[0] if text else ""
    name = type(exc).__name__
    if not first or first in ("None", "''"):
        return name
    return first if len(first) > 12 else f"{name}: {first}"


def _list_glob_match(match: str, bounds: tuple[str, ...], skipped: Skipped) -> Listing | None:
    """The listing of one glob match, or None for a match the walk would skip too (one
    leading out of ``bounds`` through a symlink, itself or a folder above it, or a name
    that is not UTF-8), noted in ``skipped``."""
    if not is_utf8(match):
        skipped.not_utf8.append(escaped(match))
    elif not is_below(os.path.realpath(match), bounds):
        skipped.links_out.append(match)
    else:
        return _list_local(match, match, bounds, skipped)
    return None


def _list_local(path: str, arg: str, bounds: tuple[str, ...], skipped: Skipped) -> Listing:
    if os.path.isdir(path):
        path = normalize_local(path)
        entries = list(walk_local(path, bounds, skipped))
        return Listing(arg, path, entries, True, bounds)
    path = normalize_local(path)
    entry = stat_local(path)
    if entry is None:
        raise StorageError(f"Not a regular file: '{arg}'")
    return Listing(arg, entry.parent, [entry], False, bounds)


def folder_names(folder: str) -> list[str]:
    """The names in a local folder (no stat: cheap for a folder of many files); empty when
    it cannot be listed."""
    try:
        return os.listdir(folder or "/")
    except OSError:
        return []


def sibling_entry(entry: FileEntry, name: str, bounds: Sequence[str] = ()) -> FileEntry | None:
    """The file ``name`` beside a local ``entry`` (for pulling in a pair's partner): not
    itself, not hidden, a UTF-8 name, a symlink only when it leads inside ``bounds`` (real
    paths, as in ``walk_local``); else None."""
    if entry.protocol != LOCAL or name == entry.name or name.startswith(".") or not is_utf8(name):
        return None
    path = f"{entry.parent}/{name}"
    try:
        if os.path.islink(path) and not is_below(os.path.realpath(path), bounds):
            return None
    except OSError:  # a link loop
        return None
    return stat_local(path)


def read_bytes(entry: FileEntry, options: dict[str, Any] | None = None) -> bytes:
    try:
        if entry.protocol == LOCAL:
            with open(entry.path, "rb") as f:
                return f.read()
        return get_fsspec(entry.protocol, options).cat_file(entry.path)
    except FileNotFoundError as exc:
        raise StorageError(f"File vanished or unreadable: '{entry.url}'") from exc
    except OSError as exc:
        raise StorageError(f"Unable to read '{entry.url}': {exc.strerror or exc}") from exc


def stat_url(protocol: str, path: str, options: dict[str, Any] | None = None) -> FileEntry | None:
    if protocol == LOCAL:
        return stat_local(path)
    fs = get_fsspec(protocol, options)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return None
    if info.get("type") == "directory":
        return None
    return _remote_entry(protocol, info)
