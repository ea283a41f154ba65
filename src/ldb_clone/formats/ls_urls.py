"""Label Studio URLs of data objects, mapped back to paths in storage.

Label Studio loads data through URLs, not paths: ``/data/local-files/?d=<path relative to
its document root>`` (absolute, ``http://host:port/data/local-files/?d=...``, or
relative), ``s3://bucket/key`` through a cloud storage connection, or any URL a web
server answers. ``instantiate -m label-studio`` writes such URLs with the parameters
named here; ``index`` reads them back with the same parameters:

- ``-p local-files-root=DIR``: ``?d=REL`` is ``DIR/REL``;
- ``-p url-prefix=URL``: ``URL + REL`` is ``REL`` below one of the storage locations
  (the first that holds it).

``s3://`` URLs and plain paths are storage paths already. What maps to nothing is an
error naming the task and the URL, with the parameter that would map it.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from ldb_clone.errors import FormatError, ObjectNotFoundError

LOCAL_FILES_ROOT = "local-files-root"
URL_PREFIX = "url-prefix"
LOCAL_FILES_PATH = "/data/local-files"
WEB_SCHEMES = ("http", "https")
URL_PARAMS = {
    LOCAL_FILES_ROOT: "index: the folder Label Studio serves local files from "
    "(LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT): /data/local-files/?d=PATH is DIR/PATH",
    URL_PREFIX: "index: the URL that stands for a storage location: URL + PATH is PATH below it",
}


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
