"""Replace or extend a folder's contents with a fully built staging folder, all or nothing.

A staging folder (``.ldb-instantiate-*``) is built inside the target; then its entries
are moved in by renames. The folder itself is never renamed, so a shell sitting in it
keeps working. A journal (``.ldb-instantiate.journal``), written before the first
rename and removed after the last, lets the next run on the folder (``recover``) put an
interrupted swap right:

* ``replace`` (``instantiate``): the old entries go to a trash folder, then the new ones
  come in. An interrupted replace is rolled back: new entries out, old entries back.
* ``merge`` (``get``): the new entries are moved in over the old ones (folders merged).
  An interrupted merge is finished from the complete staging folder.

Leftover staging and trash folders (a killed run) are removed by ``recover``. The
guarantee is against a killed process; after a power loss the kernel may not have
written every file yet.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import string
from collections.abc import Collection
from pathlib import Path

from ldb_clone.errors import LdbError
from ldb_clone.faults import crash_point

STAGING_PREFIX = ".ldb-instantiate-"
JOURNAL = ".ldb-instantiate.journal"
REPLACE, MERGE = "replace", "merge"
_RANDOM_CHARACTERS = frozenset(string.ascii_lowercase + string.digits + "_")


class SwapError(LdbError):
    pass


def new_staging(target: Path) -> Path:
    """A new, empty staging folder inside ``target``."""
    return _make_dir(target / (STAGING_PREFIX + secrets.token_hex(4)))


def new_sibling_staging(target: Path) -> Path:
    """A staging folder beside a missing ``target``, named after it so that the next run
    on the same target can tell its leftovers from other targets' (see
    ``remove_sibling_leftovers``)."""
    return _make_dir(target.parent / f"{STAGING_PREFIX}{secrets.token_hex(4)}-{target.name}")


def remove_sibling_leftovers(target: Path) -> None:
    """Remove staging folders a killed run left beside ``target``; call only while
    holding the target's lock."""
    for entry in os.scandir(target.parent):
        rest = entry.name[len(STAGING_PREFIX) :]
        if (
            entry.name.startswith(STAGING_PREFIX)
            and rest[9:] == target.name
            and rest[8:9] == "-"
            and _is_hex(rest[:8])
        ):
            shutil.rmtree(entry.path, ignore_errors=True)


def replace_contents(target: Path, staging: Path, mode: str, keep: Collection[str] = ()) -> None:
    """Swap ``staging`` (a folder inside ``target``) into ``target``: in ``replace`` mode
    every entry of ``target`` but ``keep`` is replaced, in ``merge`` mode same names are
    replaced and folders merged. Removes ``staging`` afterwards."""
    trash = new_staging(target) if mode == REPLACE else None
    journal = {
        "mode": mode,
        "staging": staging.name,
        "trash": trash.name if trash else None,
        "keep": sorted(keep),
        "phase": "out" if mode == REPLACE else "in",
    }
    _write_journal(target, journal)
    if trash is not None:
        for n, name in enumerate(_own_entries(target, journal)):
            os.rename(target / name, trash / name)
            if n == 0:
                crash_point("swap-out")
        _write_journal(target, {**journal, "phase": "in"})
    _move_into(staging, target, crash_step="swap-in")
    _finish(target)


def recover(target: Path) -> None:
    """Put right a swap interrupted in ``target`` and remove leftover staging folders;
    call only while holding the target's lock."""
    if not target.is_dir():
        return
    journal_path = target / JOURNAL
    if journal_path.exists():
        try:
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
            mode, phase = journal["mode"], journal["phase"]
            staging = target / journal["staging"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SwapError(
                f"Unreadable journal of an interrupted run '{journal_path}': {exc}; "
                "check the folder and delete the journal"
            ) from None
        if mode == MERGE:
            if staging.is_dir():
                _move_into(staging, target)
        else:
            trash = target / journal["trash"]
            if phase == "in":  # take the new entries out, then bring the old ones back
                for name in _own_entries(target, journal):
                    _remove(target / name)
                _write_journal(target, {**journal, "phase": "restore"})
            if trash.is_dir():
                for entry in os.scandir(trash):
                    os.rename(entry.path, target / entry.name)
    _finish(target)


def _finish(target: Path) -> None:
    """The swap is done: drop the journal, then every staging and trash folder."""
    try:
        os.unlink(target / JOURNAL)
        _fsync_dir(target)
    except FileNotFoundError:
        pass
    for entry in os.scandir(target):
        if _is_inner_leftover(entry.name):
            _remove(Path(entry.path))


def _is_inner_leftover(name: str) -> bool:
    """A staging or trash folder of a run into this folder, or a journal being written.
    Staging folders of new targets beside this one (``<prefix><hex>-<name>``) are not:
    their own target's next run removes them."""
    if not name.startswith(STAGING_PREFIX):
        return False
    rest = name[len(STAGING_PREFIX) :]
    if rest.startswith("journal-"):
        return True
    # 8 random characters: ours are hex, older versions' (mkdtemp) also [a-z0-9_]
    return len(rest) == 8 and all(c in _RANDOM_CHARACTERS for c in rest)


def _own_entries(target: Path, journal: dict) -> list[str]:
    """The entries of ``target`` that a replace swaps: all but kept names, the journal
    and staging folders."""
    keep = set(journal["keep"]) | {JOURNAL}
    return [
        e.name
        for e in os.scandir(target)
        if e.name not in keep and not e.name.startswith(STAGING_PREFIX)
    ]


def _move_into(staging: Path, target: Path, crash_step: str | None = None) -> None:
    """Move everything from ``staging`` into ``target`` by renames; folders that exist in
    both are merged, entries replace entries of the same name."""
    for n, entry in enumerate(os.scandir(staging)):
        dest = target / entry.name
        if entry.is_dir(follow_symlinks=False) and dest.is_dir() and not dest.is_symlink():
            _move_into(Path(entry.path), dest)
        else:
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(entry.path, dest)
        if n == 0 and crash_step:
            crash_point(crash_step)


def _write_journal(target: Path, journal: dict) -> None:
    path = target / JOURNAL
    tmp = target / f"{STAGING_PREFIX}journal-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, json.dumps(journal).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(target)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _make_dir(path: Path) -> Path:
    path.mkdir(mode=0o700)
    return path


def _is_hex(text: str) -> bool:
    return len(text) == 8 and all(c in "0123456789abcdef" for c in text)
