"""Label Studio URLs of data objects: what ``instantiate -m label-studio`` writes, and
how ``index`` maps them back to paths in storage.

Label Studio cannot open a local path (it answers 404). It serves local files as
``/data/local-files/?d=<path relative to its document root>`` (with local-files serving
enabled and a Local Storage connection covering the folder), cloud objects through a
cloud storage connection by their ``s3://`` URL, and anything else by a URL it can
fetch. ``-p local-files-root=DIR`` (DIR: Label Studio's
``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` as ldb sees it) writes the first form for
local objects; ``-p url-prefix=URL`` writes URL + the object's path below its storage
location for every object; objects in S3 keep their ``s3://`` URL either way.

``index`` reads the same URLs back with the same parameters: ``?d=REL`` is ``DIR/REL``,
``URL + REL`` is ``REL`` below one of the storage locations (the first that holds it);
``s3://`` URLs and plain paths are storage paths already. A URL that maps to nothing is an
error naming the task and the URL, with the parameter that would map it.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from ldb_clone.errors import FormatError, ObjectNotFoundError
from ldb_clone.formats.exporting import ExportItem
from ldb_clone.formats.label_studio import LOCAL_FILES_ROOT, LOCAL_FILES_URL, URL_PREFIX
from ldb_clone.fs import LOCAL, normalize_local, split_url

LOCAL_FILES_PATH = "/data/local-files"
WEB_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class ObjectUrls:
    """How objects are named in the tasks: by ``local_files_root``, by ``url_prefix``, or
    (neither) by their recorded location, as before."""

    local_files_root: str | None = None  # absolute, '/'-separated, no trailing '/'
    url_prefix: str | None = None  # without a trailing '/'

    @classmethod
    def from_params(cls, params: dict[str, str]) -> ObjectUrls:
        root, prefix = params.get(LOCAL_FILES_ROOT), params.get(URL_PREFIX)
        if root is not None and prefix is not None:
            raise FormatError(
                f"Choose one of -p {LOCAL_FILES_ROOT} and -p {URL_PREFIX}: both name "
                "where Label Studio loads the objects from"
            )
        if root is not None:
            if not root.strip():
                raise FormatError(f"Invalid value for parameter {LOCAL_FILES_ROOT}: empty")
            protocol, path = split_url(root.strip())
            if protocol != LOCAL:
                raise FormatError(
                    f"Invalid value for parameter {LOCAL_FILES_ROOT}: {root!r} is not a local "
                    f"folder (for objects Label Studio fetches by URL, use -p {URL_PREFIX})"
                )
            return cls(local_files_root=path.rstrip("/") or "/")
        if prefix is not None:
            if "://" not in prefix and not prefix.startswith("/"):
                raise FormatError(
                    f"Invalid value for parameter {URL_PREFIX}: {prefix!r} (expected a URL "
                    "such as http://host:8081/images, or a path on the Label Studio server "
                    "such as /data/upload)"
                )
            return cls(url_prefix=prefix.rstrip("/"))
        return cls()

    @property
    def given(self) -> bool:
        return self.local_files_root is not None or self.url_prefix is not None

    def url_for(self, item: ExportItem) -> str:
        """The URL Label Studio loads ``item`` from (its recorded location when no
        parameter was given)."""
        if self.url_prefix is not None:
            return f"{self.url_prefix}/{quote(item.relative_path, safe='/')}"
        protocol, path = split_url(item.url)
        if self.local_files_root is None or protocol != LOCAL:
            return item.url
        return LOCAL_FILES_URL + quote(self._below_root(path, item), safe="/")

    def _below_root(self, path: str, item: ExportItem) -> str:
        root = self.local_files_root
        if root is None:
            raise FormatError("local-files-root is not set: no path below it to name")
        relative = posixpath.relpath(normalize_local(path), root)
        if relative == "." or relative.startswith("../") or relative == "..":
            raise FormatError(
                f"Data object id:{item.object_id} ({item.url}) is not below "
                f"-p {LOCAL_FILES_ROOT}={root}: Label Studio serves local files only below "
                "its document root (LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT)"
            )
        return relative


LABEL_STUDIO_PATHS = (LOCAL_FILES_URL, "/data/upload/")  # what Label Studio itself serves


def is_local_path(url: str) -> bool:
    """True for a path on this machine (which Label Studio cannot load), False for a URL
    and for the paths Label Studio serves itself."""
    return "://" not in url and not url.startswith(LABEL_STUDIO_PATHS)


def local_files_relpath(url: str) -> str | None:
    """``pets/cat.png`` of ``[http://host:port]/data/local-files/?d=pets/cat.png``; None
    for any other URL."""
    parts = urlsplit(url)
    if parts.scheme and parts.scheme not in WEB_SCHEMES:
        return None
    if parts.path.rstrip("/") != LOCAL_FILES_PATH:
        return None
    values = parse_qs(parts.query).get("d")
    return values[0] if values else None


def is_web_url(url: str) -> bool:
    return urlsplit(url).scheme in WEB_SCHEMES


def _inside(root: str, relpath: str, url: str, where: str) -> str:
    """``root/relpath``, refusing a relative path that climbs out of ``root`` (a local
    root is taken relative to the working directory)."""
    rel = posixpath.normpath(relpath.lstrip("/"))
    if rel == ".." or rel.startswith("../"):
        raise FormatError(f"Data object URL leaves {root}: {url} ({where})")
    if "://" not in root:
        root = os.path.abspath(os.path.expanduser(root)).replace(os.sep, "/")
    return f"{root.rstrip('/')}/{rel}"


def storage_candidates(
    url: str, params: dict[str, str], storage_roots: Callable[[], list[str]], where: str
) -> list[str] | None:
    """The storage paths or URLs a task's data URL may stand for, in the order to try;
    None when the URL is a storage path already (a path, ``s3://``, ...). A Label Studio
    URL that no parameter maps is an error naming the parameter to set."""
    relpath = local_files_relpath(url)
    if relpath is not None:
        root = params.get(LOCAL_FILES_ROOT)
        if not root:
            raise ObjectNotFoundError(
                f"Data object URL is a Label Studio local-files URL: {url} ({where}); set "
                f"-p {LOCAL_FILES_ROOT}=DIR to Label Studio's local files document root "
                "(LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT)"
            )
        return [_inside(root, relpath, url, where)]
    prefix = params.get(URL_PREFIX)
    if prefix and url.startswith(prefix):
        rest = url[len(prefix) :].lstrip("/")
        names = [unquote(rest), rest] if unquote(rest) != rest else [rest]
        return [
            f"{root.rstrip('/')}/{name}"
            for root in storage_roots()
            for name in names
            if not name.startswith("../") and "/../" not in name
        ]
    if is_web_url(url):
        hint = (
            f"-p {URL_PREFIX}={prefix} does not match it"
            if prefix
            else f"set -p {URL_PREFIX}=URL to the part of the URL that stands for a "
            "storage location"
        )
        raise ObjectNotFoundError(
            f"Data object URL maps to no storage location: {url} ({where}); {hint}"
        )
    return None
