"""``ldb instantiate`` and ``ldb get``: write selected objects out in a format.

The format plans the files (``formats.exporting``); this module writes them. Everything
goes into a staging folder first and is moved into place with renames at the end
(``swap``), so a failed or killed run leaves the target as it was or complete, and never
a half-written file under a final name. Local files are copied in one thread (faster than
a pool on one folder here); remote objects are fetched by a bounded pool.
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ldb_clone.errors import FormatError, LdbError, StorageError
from ldb_clone.faults import crash_point
from ldb_clone.formats import AUTO, INSTANTIATE_DEFAULT, canonical_name, get_format
from ldb_clone.formats.exporting import (
    ExportContext,
    ExportItem,
    ExportPlan,
    OutFile,
    object_opener,
)
from ldb_clone.fs import LOCAL, join_url, split_url
from ldb_clone.gc_pause import cycle_collector_paused
from ldb_clone.instance import Instance
from ldb_clone.locking import folder_lock
from ldb_clone.plugins import USER_TRANSFORMS_DIR, run_plugin
from ldb_clone.reporting import Reporter
from ldb_clone.selection import Member
from ldb_clone.storage import find_location, load_locations, options_for
from ldb_clone.strict_json import parse_stored
from ldb_clone.swap import (
    MERGE,
    REPLACE,
    STAGING_PREFIX,
    new_sibling_staging,
    new_staging,
    recover,
    remove_sibling_leftovers,
    replace_contents,
)
from ldb_clone.transforms import EXEC, Transform, default_set, describe
from ldb_clone.trust import check_runnable, trusted_ids
from ldb_clone.workspace import WORKSPACE_DIR, Workspace, WorkspaceError, is_workspace

DEFAULT_FORMAT = INSTANTIATE_DEFAULT
REMOTE_WORKERS = 16  # objects fetched at once from remote storage


class InstantiateError(LdbError):
    pass


@dataclass
class InstantiateResult:
    format: str
    target: str
    data_objects: int = 0
    annotations: int = 0
    files: int = 0
    dry_run: bool = False
    bytes: int = 0  # counted by dry runs only

    def summary(self, heading: str = "Copied dataset to workspace.") -> str:
        if self.dry_run:
            return (
                f"Dry run, nothing was written. Instantiating would write to {self.target}:\n"
                f"  Data objects: {self.data_objects:9d}\n"
                f"  Annotations:  {self.annotations:9d}\n"
                f"  Files:        {self.files:9d}\n"
                f"  Bytes:        {self.bytes:9d}"
            )
        return (
            f"{heading}\n"
            f"  Data objects: {self.data_objects:9d}\n"
            f"  Annotations:  {self.annotations:9d}"
        )

    def to_json(self) -> dict[str, Any]:
        data = {
            "format": self.format,
            "target": self.target,
            "data_objects": self.data_objects,
            "annotations": self.annotations,
            "files": self.files,
        }
        if self.dry_run:
            data.update(dry_run=True, bytes=self.bytes)
        return data


def instantiate(
    instance: Instance,
    members: Sequence[Member],
    target: str,
    fmt: str = DEFAULT_FORMAT,
    params: dict[str, str] | None = None,
    *,
    force: bool = False,
    clean: bool = True,
    apply: Sequence[str] = (),
    preserve_paths: bool = False,
    annotations_only: bool = False,
    link: bool = False,
    reporter: Reporter | None = None,
    dataset: tuple[str, int] | None = None,
    workspace: Workspace | None = None,
    dry_run: bool = False,
    target_options: dict[str, Any] | None = None,
) -> InstantiateResult:
    """Write ``members`` into ``target`` (a local folder or a URL) in format ``fmt``.

    ``clean``: the target must be empty or a workspace holding nothing else (``force``
    clears such a workspace); without it (``ldb get``) files are added to what is there.
    ``apply``: a command that receives ``[staging dir, target dir]`` as JSON on stdin and
    writes the final files itself. ``link``: reflink or hard-link local objects instead
    of copying them, where the filesystem allows. ``dry_run``: check the target and
    plan the files, write nothing, and report what would be written.
    ``target_options``: fsspec options for a cloud target (``-o``), over those of the
    storage location in its bucket (see ``remote_target``). ``dataset``: (name, version) of the
    dataset being written, for formats that record it (platform). ``workspace``: a
    workspace state to write together with the files (``ldb get``), all or nothing.

    The target is locked for the run (a second run fails with ``BusyError``). A new
    target is built beside it and renamed into place; an existing one gets its new
    contents swapped in (see ``swap``), so a killed run leaves it as it was or complete.
    """
    reporter = reporter or Reporter()
    name = canonical_name(fmt)
    if name == AUTO:
        raise FormatError("Choose a format to instantiate in: auto-detect is for indexing")
    fmt_obj = get_format(name)
    if fmt_obj.export is None:
        raise FormatError(f"The {name} format cannot be instantiated")
    params = fmt_obj.check_params(dict(params or {}))
    protocol, path = split_url(target)
    if dry_run:
        layout = (preserve_paths, annotations_only)
        return _dry_run(
            instance, fmt_obj, members, target, name, params, clean, force, dataset, layout
        )
    if protocol == LOCAL and target_options:
        raise InstantiateError(f"Options (-o) apply to a cloud target, not to '{target}'")
    if protocol != LOCAL:
        return _instantiate_remote(
            instance,
            members,
            protocol,
            path,
            name,
            params,
            apply=apply,
            preserve_paths=preserve_paths,
            annotations_only=annotations_only,
            reporter=reporter,
            dataset=dataset,
            given_options=dict(target_options or {}),
        )
    name_version = dataset or (None, None)
    ctx = ExportContext(
        params,
        instance.hasher.id_key,
        preserve_paths,
        annotations_only,
        reporter.warn,
        dataset_name=name_version[0],
        dataset_version=name_version[1],
        open_object=_object_opener(instance),
    )
    target_dir = Path(path)
    with folder_lock(target_dir, wait=False), cycle_collector_paused():
        return _instantiate_local(
            instance,
            fmt_obj,
            ctx,
            members,
            target_dir,
            name,
            clean,
            force,
            apply,
            link,
            reporter,
            workspace,
        )


def _instantiate_local(
    instance: Instance,
    fmt_obj: Any,
    ctx: ExportContext,
    members: Sequence[Member],
    target_dir: Path,
    name: str,
    clean: bool,
    force: bool,
    apply: Sequence[str],
    link: bool,
    reporter: Reporter,
    workspace: Workspace | None,
) -> InstantiateResult:
    """Instantiate into a local folder, holding its lock."""
    if target_dir.is_dir():
        recover(target_dir)
    elif target_dir.parent.is_dir():
        remove_sibling_leftovers(target_dir)
    exists = _check_target(target_dir, clean, force)
    plan = fmt_obj.export(ctx, export_items(instance, members))
    _check_transforms_trusted(instance, plan)
    ctx.report_losses()
    if ctx.renamed:
        reporter.warn(
            f"{ctx.renamed} objects had the same path as another one and were written "
            "under their <name>-<id> name instead"
        )
    result = InstantiateResult(name, str(target_dir), plan.data_objects, plan.annotations)
    if apply:
        _instantiate_with_apply(instance, plan, target_dir, exists, apply, link, reporter, result)
        if workspace is not None:
            workspace.save()
        return result
    if not exists:
        # a new target is built beside it and renamed into place in one step
        staging = new_sibling_staging(target_dir)
        try:
            result.files = _Writer(instance, staging, link, reporter).write_plan(plan)
            if workspace is not None:
                workspace.save(root=staging)
            os.chmod(staging, 0o777 & ~_umask())  # staging folders are private
            crash_point("instantiate-rename")
            _rename_into_place(staging, target_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return result
    staging = new_staging(target_dir)
    try:
        result.files = _Writer(instance, staging, link, reporter).write_plan(plan)
        if workspace is not None:
            workspace.save(root=staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_contents(target_dir, staging, REPLACE if clean else MERGE, keep=(WORKSPACE_DIR,))
    return result


def _dry_run(
    instance: Instance,
    fmt_obj: Any,
    members: Sequence[Member],
    target: str,
    name: str,
    params: dict[str, str],
    clean: bool,
    force: bool,
    dataset: tuple[str, int] | None,
    layout: tuple[bool, bool],
) -> InstantiateResult:
    """What ``instantiate`` would write (``layout``: preserve_paths, annotations_only).
    The target is checked as a real run checks it (a local one only); nothing is
    created, locked or written."""
    protocol, path = split_url(target)
    if protocol == LOCAL:
        _check_target(Path(path), clean, force)
    name_version = dataset or (None, None)
    ctx = ExportContext(
        params,
        instance.hasher.id_key,
        *layout,
        lambda message: None,
        dataset_name=name_version[0],
        dataset_version=name_version[1],
        open_object=_object_opener(instance),
    )
    plan = fmt_obj.export(ctx, export_items(instance, members))
    _check_transforms_trusted(instance, plan)
    files, _ = _files_to_write(plan)
    result = InstantiateResult(name, target, plan.data_objects, plan.annotations, len(files))
    result.dry_run = True
    result.bytes = sum(_out_size(f) for f in files)
    return result


def _rename_into_place(staging: Path, target: Path) -> None:
    try:
        os.rename(staging, target)
    except OSError as exc:  # only when another program made the target meanwhile
        raise WorkspaceError(
            f"'{target}' was created by another program while instantiate ran; "
            f"nothing was written to it ({exc.strerror})"
        ) from None


def _instantiate_with_apply(
    instance: Instance,
    plan: ExportPlan,
    target_dir: Path,
    exists: bool,
    apply: Sequence[str],
    link: bool,
    reporter: Reporter,
    result: InstantiateResult,
) -> None:
    """``--apply``: the command writes the final files into the target itself, so only
    the raw files are staged."""
    if not exists:
        target_dir.mkdir()
    try:
        staging = new_staging(target_dir)
        try:
            result.files = _Writer(instance, staging, link, reporter).write_plan(plan)
            _run_apply(instance, apply, staging, target_dir)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        if not exists:
            shutil.rmtree(target_dir, ignore_errors=True)
        raise


def _object_opener(instance: Instance) -> Any:
    """Objects opened with their storage location's options."""
    locations = load_locations(instance)
    return object_opener(lambda protocol, path: options_for(locations, protocol, path))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# the target folder ------------------------------------------------------------------------


def _check_target(target: Path, clean: bool, force: bool) -> bool:
    """Check that instantiate may write into the target folder; return whether it exists."""
    if not target.exists():
        if not target.parent.is_dir():
            raise WorkspaceError(f"Parent directory does not exist: '{target.parent}'")
        return False
    if not target.is_dir():
        raise WorkspaceError(f"Not a directory: '{target}'")
    if not clean:
        return True
    others = [p for p in target.iterdir() if p.name != WORKSPACE_DIR]
    if not others:
        if (target / WORKSPACE_DIR).exists() and not is_workspace(target):
            raise WorkspaceError(f"Not a workspace or an empty directory: '{target}'")
        return True
    if not is_workspace(target):
        if force:
            raise WorkspaceError(
                f"Not a workspace or an empty directory: '{target}'; -f only clears a "
                "workspace: choose an empty or new folder with -t, or empty this one yourself"
            )
        raise WorkspaceError(f"Not a workspace or an empty directory: '{target}'")
    if not force:
        raise WorkspaceError(
            f"Workspace is not empty: '{target}'. "
            "Use the --force option to delete workspace contents"
        )
    return True


# the items ------------------------------------------------------------------------------


def export_items(instance: Instance, members: Sequence[Member]) -> list[ExportItem]:
    """What formats need of each member: annotation value, location, transforms."""
    catalog = instance.catalog
    ids = [m.object_id for m in members]
    infos = catalog.object_infos(ids)
    texts = catalog.annotation_texts({m.annotation_id for m in members if m.annotation_id})
    locations = load_locations(instance)
    default = default_set(instance.hasher)
    sets = {m.transforms for m in members if m.transforms and m.transforms != default}
    known = describe(instance, {tid for ids in sets for tid in ids})
    roots = {loc.path.rstrip("/") for loc in locations}
    # NOTE: one location lookup per folder, not per object; a location whose root is a
    # file's own path (not a folder) is looked up for that file
    folder_roots: dict[tuple[str, str], str] = {}
    items = []
    for m in members:
        info = infos.get(m.object_id)
        if info is None or not info.path:
            raise InstantiateError(f"Data object id:{m.object_id} is not indexed")
        protocol, path = info.protocol or LOCAL, info.path
        key = (protocol, path.rpartition("/")[0])
        root = folder_roots.get(key) if path not in roots else None
        if root is None:
            location = find_location(locations, protocol, path)
            root = location.path.rstrip("/") if location is not None else ""
            if path not in roots:
                folder_roots[key] = root
        relative = path[len(root) :].lstrip("/") if root else path.lstrip("/")
        transforms: tuple[Transform, ...] | None = None
        if m.transforms is not None and m.transforms != default:
            missing = [tid for tid in m.transforms if tid not in known]
            if missing:
                raise InstantiateError(f"Unknown transform {missing[0]} for id:{m.object_id}")
            transforms = tuple(known[tid] for tid in m.transforms)
        items.append(
            ExportItem(
                object_id=m.object_id,
                annotation=parse_stored(texts[m.annotation_id]) if m.annotation_id else None,
                has_annotation=m.annotation_id is not None,
                url=join_url(protocol, path),
                relative_path=relative or posixpath.basename(path),
                transforms=transforms,
                size=info.size or 0,
            )
        )
    return items


def _check_transforms_trusted(instance: Instance, plan: ExportPlan) -> None:
    """Before anything is written: every exec transform the plan runs was defined or
    trusted by the user, not brought by data."""
    if plan.runs_transforms:
        check_runnable(instance, (t for out in plan.items for t in out.item.transforms or ()))


# writing --------------------------------------------------------------------------------


class _Writer:
    """Writes a plan's files below ``root``, copies in parallel, runs exec transforms."""

    def __init__(self, instance: Instance, root: Path, link: bool, reporter: Reporter) -> None:
        self.instance = instance
        self.root = root
        self.link = link
        self.reporter = reporter
        self.locations = load_locations(instance)
        self._made: set[str] = set()

    def write_plan(self, plan: ExportPlan) -> int:
        files, transformed = _files_to_write(plan)
        self._write_files(files)
        for out in transformed:
            self._run_transforms(out)
        return len(files)

    def _write_files(self, files: list[OutFile]) -> None:
        for folder in sorted({posixpath.dirname(f.path) for f in files}):
            if folder:
                os.makedirs(self.root / folder, exist_ok=True)
        total_bytes = sum(_out_size(f) for f in files)
        progress = self.reporter.progress("Instantiating", len(files), total_bytes)
        failed: list[tuple[OutFile, BaseException]] = []

        def write(out: OutFile) -> None:
            try:
                self._write_one(out)
            except (OSError, LdbError) as exc:
                failed.append((out, exc))
            progress.advance(1, _out_size(out))

        # NOTE: creating files in one folder from several threads was slower here (the
        # folder's lock and the GIL: 1.9 s for 3,000 pairs against 2.8 s with 16 threads),
        # so local files are written by at most two threads with folders of their own
        # (see _two_shares). Remote objects wait on the network: a pool fetches them.
        remote = [f for f in files if f.item is not None and not _is_local(f.item.url)]
        local = [f for f in files if f.item is None or _is_local(f.item.url)]
        try:
            _write_in_two_shares(local, write)
            if remote:
                from concurrent.futures import ThreadPoolExecutor  # remote only

                with ThreadPoolExecutor(max_workers=REMOTE_WORKERS) as pool:
                    for _ in pool.map(write, remote):
                        pass
        finally:
            progress.close()
        for out, exc in failed:
            # NOTE: a moved or deleted file may still exist at another indexed path
            if out.item is None or not self._copy_from_other_paths(out):
                raise _write_error(out, exc)

    def _write_one(self, out: OutFile) -> None:
        dest = f"{self.root}/{out.path}"
        if out.data is not None:
            _write_bytes(dest, out.data)
            return
        item = out.item
        if item is None:
            raise InstantiateError(
                f"The format planned '{out.path}' with neither data nor an object"
            )
        self._copy_object(item.url, dest)

    def _copy_object(self, url: str, dest: str) -> None:
        protocol, path = split_url(url)
        if protocol == LOCAL:
            if self.link and _link_or_clone(path, dest):
                return
            _copy_local(path, dest)
            return
        from ldb_clone.fs import get_fsspec

        fs = get_fsspec(protocol, options_for(self.locations, protocol, path))
        fs.get_file(path, dest)

    def _copy_from_other_paths(self, out: OutFile) -> bool:
        if out.item is None:
            return False
        paths = self.instance.catalog.object_paths([out.item.object_id]).get(out.item.object_id, [])
        for protocol, path in reversed(paths):
            url = join_url(protocol, path)
            if url == out.item.url:
                continue
            try:
                self._copy_object(url, str(self.root / out.path))
            except OSError:
                continue
            if self.instance.hasher.file_digest(str(self.root / out.path)) == out.item.object_id:
                return True
        return False

    def _run_transforms(self, out: Any) -> None:
        """Exec transforms get the raw pair (bare-pairs names, in a scratch folder) and
        ``output_dir``, the folder of this item's files in the target, as JSON on stdin."""
        item: ExportItem = out.item
        output_dir = self.root / out.folder
        os.makedirs(output_dir, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=STAGING_PREFIX, dir=self.root) as raw:
            from ldb_clone.formats.exporting import dump_annotation, flat_name

            stem, ext = flat_name(item)
            data_path = os.path.join(raw, stem + ext)
            self._copy_object(item.url, data_path)
            request: dict[str, Any] = {"output_dir": str(output_dir), "data_object": data_path}
            if item.has_annotation:
                annotation_path = os.path.join(raw, stem + ".json")
                with open(annotation_path, "wb") as f:
                    f.write(dump_annotation(item.annotation))
                request["annotation"] = annotation_path
            own_dir = self.instance.path / USER_TRANSFORMS_DIR
            for transform in item.transforms:
                if transform.transform_type != EXEC:
                    continue
                if transform.id not in trusted_ids(self.instance):  # checked before too
                    check_runnable(self.instance, [transform])
                run_plugin(
                    transform.value,
                    json.dumps({"transform_name": transform.name, **request}),
                    own_dir,
                    f"transform {transform.name} (for id:{item.object_id})",
                )


def _files_to_write(plan: ExportPlan) -> tuple[list[OutFile], list[Any]]:
    """The files a plan writes as they are, and its items that exec transforms write."""
    files: list[OutFile] = list(plan.extra)
    transformed = []
    for out in plan.items:
        transforms = out.item.transforms if plan.runs_transforms else None
        if transforms is None or any(t.is_self for t in transforms):
            files.extend(out.files)
        if transforms and any(t.transform_type == EXEC for t in transforms):
            transformed.append(out)
    return files, transformed


def _out_size(out: OutFile) -> int:
    """Bytes a file of the plan writes: its content, or the object it copies."""
    if out.data is not None:
        return len(out.data)
    return out.item.size if out.item is not None else 0


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def _write_bytes(dest: str, data: bytes) -> None:
    # NOTE: os-level calls: no buffered file object per file (thousands of small files)
    fd = os.open(dest, _CREATE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _copy_local(source: str, dest: str) -> None:
    """Copy a file's bytes in the kernel (sendfile) where it can, else by reading."""
    src = os.open(source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        size = os.fstat(src).st_size
        dst = os.open(dest, _CREATE, 0o666)
        try:
            offset = 0
            try:
                while offset < size:
                    sent = os.sendfile(dst, src, offset, size - offset)
                    if sent == 0:
                        break
                    offset += sent
            except (OSError, AttributeError):
                if offset:
                    raise
                os.lseek(src, 0, os.SEEK_SET)
                while chunk := os.read(src, 1 << 20):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(dst, view) :]
        finally:
            os.close(dst)
    finally:
        os.close(src)


SHARED_WRITE_MIN = 200  # local files before a second thread pays for itself


def _write_in_two_shares(files: list[OutFile], write: Callable[[OutFile], None]) -> None:
    """Write ``files`` in this thread and, when they fill more than one folder, a second
    one: a share of whole folders each.

    NOTE: the kernel's work of creating files, most of instantiating on a local disk, runs
    on both cores when the two threads create files in different folders (COCO -> YOLO,
    5,000 images: ``images/`` and ``labels/`` folders)."""
    shares = _two_shares(files) if len(files) >= SHARED_WRITE_MIN else None
    if shares is None:
        for out in files:
            write(out)
        return
    import threading

    stop = threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            for out in shares[1]:
                if stop.is_set():
                    return
                write(out)
        except BaseException as exc:  # raised below, in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=second, name="ldb-instantiate-writer")
    thread.start()
    try:
        for out in shares[0]:
            write(out)
    except BaseException:
        stop.set()  # an interrupt: the other thread stops at its next file
        raise
    finally:
        thread.join()
    if errors:
        raise errors[0]


def _two_shares(files: list[OutFile]) -> tuple[list[OutFile], list[OutFile]] | None:
    """The files split into two lists of whole folders of about the same cost (a file's
    creation, plus its bytes), or None when they are all in one folder."""
    folders: dict[str, list[OutFile]] = {}
    for out in files:
        folders.setdefault(posixpath.dirname(out.path), []).append(out)
    if len(folders) < 2:
        return None
    # NOTE: creating a file costs about as much as copying 64 KB of it here
    weighed = [(sum(65_536 + _out_size(out) for out in group), group) for group in folders.values()]
    weighed.sort(key=lambda pair: pair[0], reverse=True)
    shares: tuple[list[OutFile], list[OutFile]] = ([], [])
    costs = [0, 0]
    for cost, group in weighed:
        lighter = 0 if costs[0] <= costs[1] else 1
        shares[lighter].extend(group)
        costs[lighter] += cost
    return shares


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def _write_error(out: OutFile, exc: BaseException) -> LdbError:
    if isinstance(exc, LdbError):
        return exc
    if out.item is not None:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return StorageError(
            f"Unable to copy data object id:{out.item.object_id} from '{out.item.url}': {reason}"
        )
    return StorageError(f"Unable to write '{out.path}': {exc}")


_FICLONE = 0x40049409  # Linux ioctl: share the source's blocks (copy-on-write)


def _link_or_clone(source: str, dest: str) -> bool:
    """A copy-on-write clone where the filesystem supports it, else a hard link; False
    when neither works (different filesystems, no support), so the caller copies."""
    try:
        import fcntl

        with open(source, "rb") as src, open(dest, "wb") as dst:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
        return True
    except (OSError, ImportError):
        if os.path.exists(dest):
            os.unlink(dest)
    try:
        os.link(source, dest)
        return True
    except OSError:
        return False


def _run_apply(instance: Instance, command: Sequence[str], staging: Path, target: Path) -> None:
    """``--apply``: the command gets ``[raw instantiation dir, final dir]`` on stdin and
    writes the final files; it runs in the caller's working directory."""
    run_plugin(
        command,
        json.dumps([str(staging.absolute()), str(target.absolute())]),
        instance.path / USER_TRANSFORMS_DIR,
        "--apply",
    )


# remote targets ---------------------------------------------------------------------------


def _instantiate_remote(
    instance: Instance,
    members: Sequence[Member],
    protocol: str,
    path: str,
    fmt: str,
    params: dict[str, str],
    reporter: Reporter,
    given_options: dict[str, Any],
    **options: Any,
) -> InstantiateResult:
    """Build the dataset in a local temporary folder, then upload it; the target must be
    empty (nothing under that prefix)."""
    from ldb_clone.fs import get_fsspec
    from ldb_clone.remote_target import target_error, target_options

    fs_options = target_options(load_locations(instance), protocol, path, given_options)
    url = join_url(protocol, path)
    try:
        fs = get_fsspec(protocol, fs_options)
        existing = fs.find(path, maxdepth=None) if fs.exists(path) else []
    except LdbError:
        raise
    except Exception as exc:  # botocore's errors are not OSErrors
        raise target_error(url, fs_options, exc) from exc
    if existing:
        raise WorkspaceError(f"Not an empty location: {url}")
    with tempfile.TemporaryDirectory(prefix="ldb-instantiate-") as local:
        result = instantiate(instance, members, local, fmt, params, reporter=reporter, **options)
        reporter.echo(f"Uploading to {url}")
        for folder, _, names in os.walk(local):
            for file_name in names:
                source = os.path.join(folder, file_name)
                rel = os.path.relpath(source, local).replace(os.sep, "/")
                try:
                    fs.put_file(source, f"{path.rstrip('/')}/{rel}")
                except Exception as exc:
                    raise target_error(f"{url}/{rel}", fs_options, exc) from exc
    result.target = url
    return result


def summary_text(
    result: InstantiateResult, fmt: str, heading: str = "Copied dataset to workspace."
) -> str:
    """The summary as upstream prints it: after the blank line its progress bar leaves on
    stdout (for the formats that declare ``export_progress_bar``)."""
    from ldb_clone.formats import get_format

    if result.dry_run or not get_format(fmt).export_progress_bar:
        return result.summary(heading)
    return "\n" + result.summary(heading)
