"""``ldb copy-catalog``: SQLite -> PostgreSQL -> SQLite keeps every object, annotation
version, tag, storage location and dataset version; running it twice adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ldb_clone.catalog import open_catalog
from tests.postgres.fixtures import pg_url  # noqa: F401

pytestmark = pytest.mark.postgres


def snapshot(location) -> dict:
    """Everything a catalog answers about its content, by ids and names."""
    catalog = open_catalog(location)
    try:
        members = catalog.root_members()
        ids = [oid for oid, _, _ in members]
        infos = catalog.object_infos(ids)
        datasets = {
            name: [
                (v.version, v.collection_id, v.message, v.committed, v.transform_mapping_id)
                for v in catalog.dataset_versions(name)
            ]
            for name, _ in catalog.dataset_names()
        }
        return {
            "members": members,
            "versions": catalog.version_numbers([(oid, "") for oid in ids]),
            "paths": catalog.object_paths(ids),
            "tags": catalog.object_tags(ids),
            "infos": {oid: (i.first_indexed, i.last_indexed, i.size) for oid, i in infos.items()},
            "storage": [(s.protocol, s.path, s.read_add) for s in catalog.storage_locations()],
            "datasets": datasets,
            "hash": catalog.get_setting("hash_algorithm"),
        }
    finally:
        catalog.close()


@pytest.fixture
def filled(tmp_path, ldb, make_image, make_json, monkeypatch) -> Path:
    """An SQLite instance with two annotation versions, tags and two dataset versions."""
    inst = tmp_path / "inst"
    env = {"LDB_DIR": str(inst)}
    data = tmp_path / "data"
    for n in range(4):
        make_image(data / f"{n}.png")
        make_json(data / f"{n}.json", {"label": ["cat", "dog"][n % 2]})
    for args in (("init", str(inst)), ("add-storage", str(data)), ("index", str(data))):
        ldb(*args, env=env, check=True)
    make_json(data / "0.json", {"label": "bird"})
    ldb("index", str(data), env=env, check=True)
    ldb("tag", "ds:root", "--add", "seen", env=env, check=True)
    ldb("stage", "ds:pets", "-t", str(tmp_path / "ws"), env=env, check=True)
    monkeypatch.chdir(tmp_path / "ws")
    for query in ("label == `dog`", "label == `bird`"):
        ldb("add", "ds:root", "--query", query, env=env, check=True)
        ldb("commit", "-m", query, env=env, check=True)
    monkeypatch.chdir(tmp_path)
    return inst


def test_copy_there_and_back_keeps_everything_and_twice_adds_nothing(
    filled,
    tmp_path,
    ldb,
    pg_url,  # noqa: F811
):
    original = snapshot(filled / "catalog.db")
    assert original["datasets"]["pets"] and len(original["members"]) == 4

    first = ldb("copy-catalog", "--json", str(filled), pg_url, check=True)
    added = json.loads(first.stdout)
    assert added["objects"] == 4 and added["dataset_versions"] == 2
    assert snapshot(pg_url) == original
    again = json.loads(ldb("copy-catalog", "--json", str(filled), pg_url, check=True).stdout)
    assert set(again.values()) == {0}

    back = tmp_path / "back"
    ldb("init", str(back), check=True)
    ldb("copy-catalog", pg_url, str(back), check=True)
    assert snapshot(back / "catalog.db") == original
    # the copy works as an instance: the same listing as the original
    listing = ldb("list", "ds:pets", env={"LDB_DIR": str(back)}, check=True)
    assert listing.stdout == ldb("list", "ds:pets", env={"LDB_DIR": str(filled)}).stdout


def test_copy_refuses_catalogs_of_two_hash_algorithms(tmp_path, ldb, pg_url):  # noqa: F811
    ldb("init", "--hash", "md5", str(tmp_path / "md5"), check=True)
    ldb("init", "--catalog", pg_url, str(tmp_path / "team"), check=True)  # xxh3
    result = ldb("copy-catalog", str(tmp_path / "md5"), pg_url)
    assert result.returncode == 1
    assert "identifies objects with 'md5'" in result.stderr
    assert result.stderr.count("\n") == 1


def test_copy_between_two_sqlite_catalogs_is_refused(tmp_path, ldb):
    result = ldb("copy-catalog", str(tmp_path / "a"), str(tmp_path / "b"))
    assert result.returncode == 1
    assert "between a SQLite catalog" in result.stderr
