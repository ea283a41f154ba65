"""Every catalog backend implements the whole ``CatalogBackend`` protocol, with the
protocol's signatures. A new backend adds itself to ``BACKENDS``."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ldb_clone.catalog import CatalogBackend, SQLiteCatalog, open_catalog
from ldb_clone.catalog.postgres import PostgresCatalog
from ldb_clone.catalog.protocol import CatalogBackend as ProtocolClass

# backend class, and a way to open a fresh catalog of it (None: no live test)
BACKENDS = {
    "sqlite": (SQLiteCatalog, lambda tmp: open_catalog(tmp / "catalog.db", create=True)),
    # live: tests/postgres/test_catalog_on_postgres.py (needs a server)
    "postgres": (PostgresCatalog, None),
}


def protocol_methods() -> list[str]:
    return sorted(
        name
        for name, value in vars(ProtocolClass).items()
        if callable(value) and not name.startswith("_")
    )


def test_protocol_lists_methods():
    # guards the helper below against silently listing nothing
    assert {"record_objects", "root_members", "transaction"} <= set(protocol_methods())


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("method", protocol_methods())
def test_backend_has_protocol_method(backend: str, method: str):
    cls, _ = BACKENDS[backend]
    implementation = getattr(cls, method, None)
    assert callable(implementation), f"{cls.__name__} lacks {method}"
    wanted = inspect.signature(getattr(ProtocolClass, method))
    got = inspect.signature(implementation)
    assert list(got.parameters) == list(wanted.parameters), method
    for name, parameter in wanted.parameters.items():
        assert got.parameters[name].default == parameter.default, f"{method}({name})"
        assert got.parameters[name].kind == parameter.kind, f"{method}({name})"


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_open_backend_is_a_catalog_backend(backend: str, tmp_path: Path):
    _, opener = BACKENDS[backend]
    if opener is None:
        pytest.skip(f"{backend}: tested live in its own module")
    catalog = opener(tmp_path)
    try:
        assert isinstance(catalog, CatalogBackend)
        assert catalog.read_only is False
    finally:
        catalog.close()
