"""Per-folder locks between ldb processes (``flock``), so that one writer at a time
changes a workspace or an instantiate target.

An existing folder is locked by locking the folder itself: nothing is written, and the
lock stays with the folder when the user's shell sits inside it. A folder that does not
exist yet is locked through a lock file beside it, removed again on release. Locks are
released by the kernel when a process dies, so a killed run never leaves one behind.
A process may take the lock of a folder it already holds (``ldb get`` holds the
workspace while it instantiates into it).
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ldb_clone.errors import LdbError

LOCK_FILE_PREFIX = ".ldb-lock-"

_held: dict[str, int] = {}  # absolute folder path -> how many times this process holds it


class BusyError(LdbError):
    """Another ldb process is writing to the folder."""


@contextmanager
def folder_lock(folder: Path | str, *, wait: bool) -> Iterator[None]:
    """Hold the lock of ``folder`` (existing or not). ``wait``: wait for another process
    to finish (telling the user on stderr) instead of failing with ``BusyError``."""
    key = os.path.abspath(folder)
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    fd, lock_file = _acquire(Path(key), wait)
    _held[key] = 1
    try:
        yield
    finally:
        del _held[key]
        if lock_file is not None:
            _unlink(lock_file)
        if fd >= 0:
            os.close(fd)


def _acquire(folder: Path, wait: bool) -> tuple[int, Path | None]:
    told = False
    while True:
        if folder.is_dir():
            target, lock_file = folder, None
        elif folder.parent.is_dir():
            lock_file = folder.parent / (LOCK_FILE_PREFIX + folder.name)
            target = lock_file
        else:
            return -1, None  # nothing can be written there: the caller says why
        try:
            if lock_file is None:
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            else:
                fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise LdbError(f"Unable to lock '{folder}': {exc.strerror}") from None
        try:
            told = _flock(fd, folder, wait, told) or told
        except BaseException:
            os.close(fd)
            raise
        if _still_current(fd, target) and (lock_file is None) == folder.is_dir():
            return fd, lock_file
        os.close(fd)  # the folder or the lock file changed while waiting: take it again


def _flock(fd: int, folder: Path, wait: bool, told: bool) -> bool:
    """Lock ``fd``; return whether it had to wait (and told the user so)."""
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            if not wait:
                raise BusyError(
                    f"Another ldb command is writing to '{folder}'; try again when it has finished"
                ) from None
            if not told:
                print(f"Waiting for another ldb command writing to '{folder}'...", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
            return True
    except OSError as exc:  # a filesystem without locks
        raise LdbError(f"Unable to lock '{folder}': {exc.strerror}") from None


def _still_current(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file ``fd`` has open (a released lock file is
    unlinked, and a waiting process may hold the old one)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


def _unlink(path: Path) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)
