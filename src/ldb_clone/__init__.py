"""ldb_clone: a Label Database for data objects and their annotations.

The command line (``ldb``) is a thin layer over this package. The names below are the
public Python API (see docs/api.md); they are imported on first use, so that ``ldb``
itself starts without loading what a command does not need::

    import ldb_clone as ldb

    with ldb.open_instance("~/.ldb/personal_instance") as instance:
        cats = ldb.select(instance, "ds:root", query="label == `cat`")
        ldb.instantiate(instance, cats, "cats/", format="yolo")
"""

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "create_instance": "ldb_clone.api",
    "open_instance": "ldb_clone.api",
    "add_storage": "ldb_clone.api",
    "index": "ldb_clone.api",
    "select": "ldb_clone.api",
    "annotations": "ldb_clone.api",
    "instantiate": "ldb_clone.api",
    "Filter": "ldb_clone.filters",
    "Instance": "ldb_clone.instance",
    "Member": "ldb_clone.selection",
    "IndexResult": "ldb_clone.indexing",
    "InstantiateResult": "ldb_clone.instantiation",
    "LdbError": "ldb_clone.errors",
    "InstanceError": "ldb_clone.errors",
    "ConfigError": "ldb_clone.errors",
    "StorageError": "ldb_clone.errors",
    "FormatError": "ldb_clone.errors",
    "IndexingError": "ldb_clone.errors",
    "SelectionError": "ldb_clone.errors",
    "ObjectNotFoundError": "ldb_clone.errors",
    "FilterError": "ldb_clone.filters",
}

__all__ = [  # noqa: RUF022 (grouped as docs/api.md lists them)
    "__version__",
    "create_instance",
    "open_instance",
    "add_storage",
    "index",
    "select",
    "annotations",
    "instantiate",
    "Filter",
    "Instance",
    "Member",
    "IndexResult",
    "InstantiateResult",
    "LdbError",
    "InstanceError",
    "ConfigError",
    "StorageError",
    "FormatError",
    "IndexingError",
    "SelectionError",
    "ObjectNotFoundError",
    "FilterError",
]

if TYPE_CHECKING:
    from ldb_clone.api import (
        add_storage,
        annotations,
        create_instance,
        index,
        instantiate,
        open_instance,
        select,
    )
    from ldb_clone.errors import (
        ConfigError,
        FormatError,
        IndexingError,
        InstanceError,
        LdbError,
        ObjectNotFoundError,
        SelectionError,
        StorageError,
    )
    from ldb_clone.filters import Filter, FilterError
    from ldb_clone.indexing import IndexResult
    from ldb_clone.instance import Instance
    from ldb_clone.instantiation import InstantiateResult
    from ldb_clone.selection import Member


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ldb_clone' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
