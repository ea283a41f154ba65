"""Finding, creating and opening an LDB instance.

An instance is a directory holding ``config`` (TOML), the SQLite catalog and
``custom_code/`` for user functions, filters and transforms.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ldb_clone import config
from ldb_clone.errors import InstanceError
from ldb_clone.hashing import ALGORITHMS, DEFAULT_ALGORITHM, Hasher

if TYPE_CHECKING:
    from ldb_clone.catalog import CatalogBackend

CATALOG_FILENAME = "catalog.db"
CUSTOM_CODE_DIRS = (
    "custom_code/ldb_user_filters",
    "custom_code/ldb_user_functions",
    "custom_code/ldb_user_transforms",
)
# The catalog and the files SQLite keeps beside it; they hold storage options, which may
# be credentials, so an instance is readable by its owner only (issue 10, item 5).
CATALOG_FILES = (CATALOG_FILENAME, f"{CATALOG_FILENAME}-wal", f"{CATALOG_FILENAME}-shm")
OWNER_ONLY_DIR = 0o700
OWNER_ONLY_FILE = 0o600
DEFAULT_INSTANCE_NAME = "private_instance"
DEFAULT_READ_ADD_NAME = "read_add_storage"


def current_user() -> str:
    """Who runs the command, as recorded with indexing and commits ("" when unknown)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return ""


def catalog_url(path: Path) -> str | None:
    """The PostgreSQL catalog of the instance folder at ``path`` (``LDB_CATALOG``, else
    ``core.catalog`` in its config), or None for the SQLite file in the folder."""
    from ldb_clone.catalog_url import configured_url

    return configured_url(config.load(path / config.CONFIG_FILENAME))


def is_instance(path: Path) -> bool:
    if not (path / config.CONFIG_FILENAME).is_file():
        return False
    return (path / CATALOG_FILENAME).is_file() or catalog_url(path) is not None


def lost_its_catalog(path: Path) -> bool:
    """An instance folder (its config and ``custom_code/``) whose catalog file is gone."""
    return (
        (path / config.CONFIG_FILENAME).is_file()
        and (path / "custom_code").is_dir()
        and not (path / CATALOG_FILENAME).exists()
        and catalog_url(path) is None
    )


def make_private(path: Path) -> None:
    """Let only the owner read the instance at ``path``: its folder, the catalog and the
    catalog's side files (SQLite gives new side files the catalog's permissions)."""
    shown = os.fspath(path)
    try:
        os.chmod(path, OWNER_ONLY_DIR)
        for name in CATALOG_FILES:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(path / name, OWNER_ONLY_FILE)
    except OSError as exc:
        raise InstanceError(
            f"Unable to make the LDB instance at '{shown}' readable by its owner only: "
            f"{exc.strerror}"
        ) from exc


def recreate_hint(path: Path) -> str:
    """What to do about a catalog that cannot be used (for error messages)."""
    return (
        "restore it from a backup, or run 'ldb init -f "
        f"{os.fspath(path)}' to start a new, empty instance there"
    )


def default_instance_dir() -> Path:
    return config.global_base() / DEFAULT_INSTANCE_NAME


def locate_instance_dir() -> Path:
    """``LDB_DIR``, else ``core.ldb_dir`` in ``~/.ldb/config``, else the quick-start default."""
    env = os.environ.get("LDB_DIR")
    if env:
        return Path(env).expanduser().absolute()
    configured = config.get(config.load(config.global_config_path()), "core.ldb_dir")
    if configured:
        path = Path(str(configured)).expanduser()
        if not path.is_absolute():
            raise InstanceError(
                f"core.ldb_dir must be an absolute path: {configured!r} "
                f"(in {config.global_config_path()})"
            )
        return path
    return default_instance_dir()


class Instance:
    """An open LDB instance: its directory, settings, hasher and catalog."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @cached_property
    def config(self) -> dict[str, Any]:
        """Instance settings over the user's global ones, key by key."""
        merged = config.load(config.global_config_path())
        for section, values in config.load(self.path / config.CONFIG_FILENAME).items():
            if isinstance(values, dict) and isinstance(merged.get(section), dict):
                merged[section] = {**merged[section], **values}
            else:
                merged[section] = values
        return merged

    def setting(self, dotted_key: str, default: Any = None) -> Any:
        return config.get(self.config, dotted_key, default)

    @cached_property
    def catalog(self) -> CatalogBackend:
        from ldb_clone.catalog import open_catalog

        # a team catalog (LDB_CATALOG, core.catalog), else the SQLite file in the folder.
        # NOTE: read without caching self.config, which would then miss later edits
        return open_catalog(catalog_url(self.path) or self.path / CATALOG_FILENAME)

    @cached_property
    def hash_algorithm(self) -> str:
        """Fixed when the instance is created; the catalog's record is authoritative."""
        algorithm = self.catalog.get_setting("hash_algorithm") or DEFAULT_ALGORITHM
        configured = self.setting("core.hash_algorithm")
        if configured not in (None, algorithm):
            raise InstanceError(
                f"core.hash_algorithm is {configured!r} in the config, but this instance "
                f"identifies objects with {algorithm!r}; the algorithm cannot be changed"
            )
        return algorithm

    @cached_property
    def hasher(self) -> Hasher:
        return Hasher(self.hash_algorithm)

    def close(self) -> None:
        if "catalog" in self.__dict__:
            self.catalog.close()

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_instance(path: Path | None = None) -> Instance:
    path = path if path is not None else locate_instance_dir()
    if lost_its_catalog(path):
        raise InstanceError(
            f"The catalog '{path / CATALOG_FILENAME}' of the LDB instance at '{path}' is "
            f"missing; {recreate_hint(path)}"
        )
    if not is_instance(path):
        raise InstanceError(
            f"No LDB instance at '{path}'. Run 'ldb init <path>' or set LDB_DIR to an instance"
        )
    return Instance(path)


def init_instance(
    path: Path,
    force: bool = False,
    hash_algorithm: str = DEFAULT_ALGORITHM,
    read_any_cloud_location: bool = False,
    auto_index: bool = False,
    catalog: str | None = None,
) -> list[str]:
    """Create an instance at ``path``; return the lines to report.

    ``catalog``: a PostgreSQL URL (else ``LDB_CATALOG``) puts the catalog in that
    database, shared with every instance folder pointed at it; an existing catalog there
    is joined, never emptied (``force`` replaces only the folder).
    """
    from ldb_clone.catalog_url import check_url, configured_url

    url = check_url(catalog) if catalog else configured_url({})

    if hash_algorithm not in ALGORITHMS:
        raise InstanceError(
            f"Unknown hash algorithm {hash_algorithm!r}; choose from {', '.join(ALGORITHMS)}"
        )
    path = Path(os.path.normpath(path))
    shown = repr(os.fspath(path))
    messages = []
    replace = path.is_dir() and next(path.iterdir(), None) is not None
    if replace:
        if not (is_instance(path) or lost_its_catalog(path)):
            raise InstanceError(
                f"Directory not empty: {shown}. "
                "To create an LDB instance here, remove directory contents"
            )
        if not force:
            raise InstanceError(
                f"Initialization failed: an LDB instance already exists at {shown}. "
                "Use the --force option to remove it"
            )
    elif path.exists() and not path.is_dir():
        raise InstanceError(f"Not a directory: {shown}")
    # a server catalog is made (or checked) before the folder changes
    created = _create_catalog(path, url, hash_algorithm) if url else []
    if not catalog:  # chosen by LDB_CATALOG: init prints what it prints for SQLite
        created = [line for line in created if not line.startswith("Created the catalog")]
    if replace:
        messages.append(f"Removing existing LDB instance at {shown}")
        shutil.rmtree(path)
    messages += created
    try:
        path.mkdir(parents=True, exist_ok=True, mode=OWNER_ONLY_DIR)
        os.chmod(path, OWNER_ONLY_DIR)
        if url is None:
            # NOTE: created before SQLite opens it, which would use the umask's permissions
            os.close(os.open(path / CATALOG_FILENAME, os.O_WRONLY | os.O_CREAT, OWNER_ONLY_FILE))
        for sub in CUSTOM_CODE_DIRS:
            (path / sub).mkdir(parents=True, exist_ok=True)
        with config.edit(path / config.CONFIG_FILENAME) as doc:
            config.set_key(doc, "core.read_any_cloud_location", read_any_cloud_location)
            config.set_key(doc, "core.auto_index", auto_index)
            # informational: the catalog holds the algorithm, which never changes
            config.set_key(doc, "core.hash_algorithm", hash_algorithm)
            if catalog:
                config.set_key(doc, "core.catalog", catalog)
        if url is None:
            _create_catalog(path, None, hash_algorithm)
    except OSError as exc:
        raise InstanceError(f"Unable to create an LDB instance at {shown}: {exc.strerror}") from exc
    messages.append(f"Initialized LDB instance at {shown}")
    return messages


def _create_catalog(path: Path, url: str | None, hash_algorithm: str) -> list[str]:
    """Create the instance's catalog (or join the PostgreSQL one already there)."""
    from ldb_clone.catalog import open_catalog
    from ldb_clone.catalog_url import mask_url

    catalog = open_catalog(url or path / CATALOG_FILENAME, create=True)
    try:
        existing = catalog.get_setting("hash_algorithm") if url else None
        if existing is None:
            catalog.set_setting("hash_algorithm", hash_algorithm)
            return [f"Created the catalog in {mask_url(url)}"] if url else []
        if existing != hash_algorithm:
            raise InstanceError(
                f"The catalog {mask_url(url)!r} identifies objects with {existing!r}; "
                f"create the instance with --hash {existing}"
            )
        return [f"Using the existing catalog in {mask_url(url)}"]
    finally:
        catalog.close()


def remember_instance(path: Path) -> str:
    """Record ``core.ldb_dir`` in the user's config unless it is already set."""
    global_path = config.global_config_path()
    current = config.get(config.load(global_path), "core.ldb_dir")
    if current:
        return f"Not setting core.ldb_dir as it is already set to {str(current)!r}"
    absolute = os.fspath(path.absolute())
    with config.edit(global_path) as doc:
        config.set_key(doc, "core.ldb_dir", absolute)
    return f"Set core.ldb_dir to {absolute!r}"


PUBLIC_LOCATION = "s3://ldb-public/remote"


def quick_start(path: Path | None = None) -> tuple[Instance, list[str]]:
    """Create the instance for first use (``ldb stage`` with no instance yet) where the
    instance is looked for (unlike upstream, which ignored a missing ``LDB_DIR``):
    auto-indexing on, any cloud location readable, a read-add folder in ``~/.ldb`` and
    the public ``s3://ldb-public/remote`` location (anonymous; never contacted unless used).
    """
    from ldb_clone.storage import add_storage

    path = path or locate_instance_dir()
    messages = init_instance(path, read_any_cloud_location=True, auto_index=True)
    instance = Instance(path)
    read_add = config.global_base() / DEFAULT_READ_ADD_NAME
    read_add.mkdir(parents=True, exist_ok=True)
    messages.append(add_storage(instance, str(read_add), read_add=True))
    added = add_storage(instance, PUBLIC_LOCATION, options={"anon": True})
    # as upstream, which named the location by its path without the protocol
    messages.append(added.replace(repr(PUBLIC_LOCATION), repr(PUBLIC_LOCATION[len("s3://") :])))
    return instance, messages
