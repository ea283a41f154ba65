"""What every format plug-in works with when it writes a dataset out (``instantiate``).

A format's ``export`` turns ``ExportItem``s into an ``ExportPlan``: for each item, the
files its ``self`` transform writes (copies of the object, annotation files) and the
folder other transforms write into; plus files for the whole dataset. The instantiate
engine does the writing. Every path in a plan is relative to the target directory and
checked by ``safe_relpath``, so no annotation can make instantiate write elsewhere.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson

from ldb_clone.errors import FormatError
from ldb_clone.strict_json import dumps

MAX_NAME_BYTES = 255
_ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def dump_annotation(value: Any) -> bytes:
    """An annotation file's content: indented by 2, keys sorted, UTF-8 (as upstream's
    layout; characters are written as they are rather than \\u-escaped).

    NOTE: orjson writes the same text as ``json.dumps(indent=2, sort_keys=True)`` 20x
    faster (the standard library has no C encoder for indented output), except that a
    small float is written ``1e-7`` rather than ``1e-07``. Values it cannot write
    (integers beyond 64 bits) go through the standard library. NaN and infinities
    (refused on input; an instance from before that may hold them) become null, as
    orjson writes them: the file stays valid JSON.
    """
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        pass
    return dumps(value, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8")


@dataclass(slots=True)
class ExportItem:
    """One data object to write out, with its annotation and where it lives."""

    object_id: str
    annotation: Any  # None when the object has no annotation (see has_annotation)
    has_annotation: bool
    url: str  # the object's location as recorded (a local path or a URL)
    relative_path: str  # the object's path below its storage location
    # the transform set (transforms.Transform) when it is not the default {self}
    transforms: tuple[Any, ...] | None = None
    size: int = 0  # bytes, as last indexed (for progress only)

    @property
    def file_name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(slots=True)
class OutFile:
    """A file to write: ``data`` bytes, or (``data`` None) a copy of ``item``'s object."""

    path: str
    data: bytes | None = None
    item: ExportItem | None = None


@dataclass(slots=True)
class ItemOutput:
    item: ExportItem
    files: list[OutFile]  # what the builtin transform `self` writes for this item
    folder: str = ""  # where other transforms of this item write ("" = the target itself)


@dataclass
class ExportPlan:
    items: list[ItemOutput] = field(default_factory=list)
    extra: list[OutFile] = field(default_factory=list)  # files for the dataset as a whole
    data_objects: int = 0
    annotations: int = 0
    runs_transforms: bool = True  # False: transform sets are recorded, not executed


def safe_component(name: str, what: str) -> str:
    """A single file or folder name that cannot leave its folder, or a FormatError."""
    if not name or name in (".", "..") or "/" in name or "\0" in name or "\\" in name:
        raise FormatError(f"Unsafe {what}: {name!r} cannot be used as a file or folder name")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise FormatError(f"Unsafe {what}: {name[:40]!r}... is longer than {MAX_NAME_BYTES} bytes")
    return name


def safe_relpath(path: str, what: str = "path") -> str:
    """A relative '/'-separated path whose every component is a plain name."""
    if path.startswith("/"):
        raise FormatError(f"Unsafe {what}: {path!r} is absolute")
    for part in path.split("/"):
        # NOTE: safe_component's checks inline (it runs for every file of a plan); it
        # is called only to raise its error
        if (
            not part
            or part == "."
            or part == ".."
            or "\0" in part
            or "\\" in part
            or len(part.encode("utf-8")) > MAX_NAME_BYTES
        ):
            safe_component(part, what)
    return path


class ExportContext:
    """What instantiate offers a format while it plans: parameters, naming, messages."""

    def __init__(
        self,
        params: dict[str, str],
        id_key: str,
        preserve_paths: bool = False,
        annotations_only: bool = False,
        warn: Callable[[str], None] | None = None,
        dataset_name: str | None = None,
        dataset_version: int | None = None,
        open_object: Callable[[ExportItem], BinaryIO] | None = None,
    ) -> None:
        self.params = params
        self.id_key = id_key
        self.preserve_paths = preserve_paths
        self.annotations_only = annotations_only
        self.warn = warn or (lambda message: None)
        # the dataset being written, for formats that record it (platform): None when
        # the selection is not one dataset (ds:root, ids, several sources)
        self.dataset_name = dataset_name
        self.dataset_version = dataset_version
        # opens an object's bytes for reading (remote ones with their storage options),
        # for formats that look inside objects (platform reads image sizes)
        self.open_object = open_object or object_opener()
        self._taken: set[str] = set()
        self.renamed = 0
        self.losses: dict[str, int] = {}  # see note_loss
        self.changes: dict[str, int] = {}  # see note_change

    def note_loss(self, what: str, count: int = 1) -> None:
        """Count something a conversion cannot carry into this format (``what``: a plural
        noun phrase, ``"rotated Label Studio rectangles"``); instantiate reports each kind
        once, with its count, after planning (``report_losses``)."""
        if count:
            self.losses[what] = self.losses.get(what, 0) + count

    def note_change(self, what: str, count: int = 1) -> None:
        """Count something a conversion had to change to fit this format (``what``: a
        plural noun phrase and what happened, ``"boxes reaching outside their image were
        clipped to it"``); reported with the losses."""
        if count:
            self.changes[what] = self.changes.get(what, 0) + count

    def report_losses(self) -> None:
        for what, count in sorted(self.losses.items()):
            self.warn(f"{count} {what} could not be converted and were left out")
        for what, count in sorted(self.changes.items()):
            self.warn(f"{count} {what}")
        self.losses.clear()
        self.changes.clear()

    def base_name(
        self, item: ExportItem, folder: str = "", keep_dirs: bool = True
    ) -> tuple[str, str]:
        """(path without extension, extension) for an item's files below ``folder``.

        Flat (upstream's layout): ``<stem>-<id><ext>``, dots in the stem become ``-``, the
        extension lower-cased; the id makes names unique. With ``--preserve-paths`` the
        object's path below its storage location is kept (only its file name without
        ``keep_dirs``); when two objects would get the same path, the later one falls
        back to the flat name in that folder.
        """
        if self.preserve_paths:
            rel = item.relative_path if keep_dirs else posixpath.basename(item.relative_path)
            rel = safe_relpath(fit_path(rel, item.object_id), f"path of id:{item.object_id}")
            stem, ext = posixpath.splitext(rel)
            if folder:
                stem = f"{folder}/{stem}"
            if stem not in self._taken:
                self._taken.add(stem)
                return stem, ext
            self.renamed += 1
            folder = posixpath.dirname(stem)
        stem, ext = flat_name(item)
        base = f"{folder}/{stem}" if folder else stem
        self._taken.add(base)
        return base, ext


def object_opener(
    options_for: Callable[[str, str], dict[str, Any]] | None = None,
) -> Callable[[ExportItem], BinaryIO]:
    """``ExportContext.open_object``: local files directly, remote ones through fsspec with
    ``options_for(protocol, path)`` (their storage location's options; none by default)."""

    def open_object(item: ExportItem) -> BinaryIO:
        from ldb_clone.fs import LOCAL, get_fsspec, split_url

        protocol, path = split_url(item.url)
        if protocol == LOCAL:
            return open(path, "rb")
        options = options_for(protocol, path) if options_for else None
        return get_fsspec(protocol, options).open(path, "rb")

    return open_object


def flat_name(item: ExportItem) -> tuple[str, str]:
    """Upstream's instantiated name: (``<stem>-<id>``, lower-cased extension).

    A stem too long for the file system's 255-byte names is shortened (by whole UTF-8
    characters) so that the name fits with either its extension or ``.json``; the id
    and the extension are kept, so the name stays unique and recognisable.
    """
    stem, ext = posixpath.splitext(item.file_name)
    stem = stem.replace(".", "-")
    ext = shorten(ext.lower(), _MAX_EXT_BYTES)
    oid = item.object_id
    head, tail = (stem[: -len(oid)], oid) if stem.endswith(oid) else (stem, f"-{oid}")
    name = shorten(head, MAX_NAME_BYTES - _size(tail) - _suffix_bytes(ext)) + tail
    safe_component(name + ext, f"file name of id:{oid}")
    return name, ext


# Formats write an item's annotation next to its object as <base>.json: a shortened base
# leaves room for that, or for the object's own extension if longer.
_JSON_SUFFIX = ".json"
_MAX_EXT_BYTES = 32  # a longer "extension" (a.<200 bytes>) is shortened like a stem
_DIGEST_CHARS = 8  # the digest that keeps shortened folder names apart


def _size(text: str) -> int:
    """Bytes of ``text`` as a file name (a name that is not UTF-8 holds surrogates)."""
    try:
        return len(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return len(text.encode("utf-8", "surrogatepass"))


def _suffix_bytes(ext: str) -> int:
    return max(_size(ext), len(_JSON_SUFFIX))


def shorten(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` bytes, cut between characters."""
    if _size(text) <= limit:
        return text
    total = 0
    for i, char in enumerate(text):
        total += _size(char)
        if total > limit:
            return text[:i]
    return text


def fit_path(rel: str, object_id: str) -> str:
    """``rel`` (``--preserve-paths``) with every component that is too long shortened: a
    folder name keeps a digest of its full name (two long names stay apart), a file name
    gets ``-<id>`` like a flat name, and keeps its extension and room for ``.json``."""
    *folders, last = rel.split("/")
    fitted = [_fit_folder(name) for name in folders]
    stem, ext = posixpath.splitext(last)
    if _size(stem) + _suffix_bytes(ext) > MAX_NAME_BYTES:
        ext = shorten(ext, _MAX_EXT_BYTES)
        tail = f"-{object_id}"
        last = shorten(stem, MAX_NAME_BYTES - _size(tail) - _suffix_bytes(ext)) + tail + ext
    return "/".join([*fitted, last])


def _fit_folder(name: str) -> str:
    if _size(name) <= MAX_NAME_BYTES:
        return name
    import hashlib

    raw = name.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(raw).hexdigest()[:_DIGEST_CHARS]
    return shorten(name, MAX_NAME_BYTES - 1 - _DIGEST_CHARS) + "-" + digest
