"""Where Label Studio loads an object from: the URL ``instantiate -m label-studio`` writes.

Label Studio cannot open a local path (it answers 404). It serves local files as
``/data/local-files/?d=<path relative to its document root>`` (with local-files serving
enabled and a Local Storage connection covering the folder), cloud objects through a
cloud storage connection by their ``s3://`` URL, and anything else by a URL it can
fetch. ``-p local-files-root=DIR`` (DIR: Label Studio's
``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT`` as ldb sees it) writes the first form for
local objects; ``-p url-prefix=URL`` writes URL + the object's path below its storage
location for every object; objects in S3 keep their ``s3://`` URL either way.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import quote

from ldb_clone.errors import FormatError
from ldb_clone.formats.exporting import ExportItem
from ldb_clone.fs import LOCAL, normalize_local, split_url

LOCAL_FILES_ROOT = "local-files-root"
URL_PREFIX = "url-prefix"
LOCAL_FILES_URL = "/data/local-files/?d="

PARAMS = {
    LOCAL_FILES_ROOT: "Label Studio's local-files document root (LABEL_STUDIO_LOCAL_FILES_"
    "DOCUMENT_ROOT) as a local folder: local objects below it are written as "
    f"{LOCAL_FILES_URL}<path relative to it>",
    URL_PREFIX: "a URL Label Studio can fetch objects from: each object is written as the "
    "URL + its path below its storage location",
}


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
        assert root is not None
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
