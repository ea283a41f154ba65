"""ldb migrate: an instance written by upstream ldb-alpha 0.7.0 read into this one.

tests/data/upstream-instance was made by ldb-alpha 0.7.0 itself (init, add-storage, a
bare index of tests/data/upstream-data, a changed annotation indexed and then the old
one again, tags, config transform `rotate-90`, ds:pets v1 and v2 (dogs rotated) and
ds:birds v1); its data folder's path is replaced by @DATA@.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from ldb_clone.instance import init_instance, open_instance
from ldb_clone.migrate import MigrationError, migrate
from tests.helpers import current

FIXTURES = Path(__file__).parent / "data"
CAT_1 = "fc3f2f0f5412b8fbb184960e619f17cf"  # annotation v1 and v2; v1 is current
DOG_1 = "1cec5b9d6f51a7300ea5e11899fdde90"  # rotate-90 in ds:pets.v2


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    data = tmp_path / "upstream-data"
    shutil.copytree(FIXTURES / "upstream-data", data)
    root = tmp_path / "upstream-instance"
    shutil.copytree(FIXTURES / "upstream-instance", root)
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if "@DATA@" in text:
                path.write_text(text.replace("@DATA@", str(data)), encoding="utf-8")
    return root


@pytest.fixture
def md5_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "md5-instance"
    init_instance(path, hash_algorithm="md5")
    monkeypatch.setenv("LDB_DIR", str(path))
    inst = open_instance(path)
    yield inst
    inst.close()


def test_everything_is_carried_over_into_an_md5_instance(md5_instance, upstream, ldb):
    result = migrate(md5_instance, upstream)
    assert (result.data_objects, result.new_data_objects) == (5, 5)
    assert result.annotations == 5 and result.new_annotation_versions == 5
    assert (result.datasets, result.new_dataset_versions) == (2, 3)
    assert result.storage_locations == 1 and result.transforms == 1

    annotations = current(md5_instance)
    assert len(annotations) == 5
    assert annotations[CAT_1][1] == 1  # upstream's current was the older version
    versions = md5_instance.catalog.annotation_version_numbers(CAT_1)
    assert sorted(versions.values()) == [1, 2]
    assert annotations[DOG_1][0]["label"] == "dog"

    tags = md5_instance.catalog.object_tags([CAT_1])
    assert tags[CAT_1] == ["cats", "review"]
    log = ldb("ds", "list", "-a", check=True).stdout.splitlines()
    assert [line.split()[0] for line in log] == [
        "ds:birds.v1",
        "ds:pets.v1",
        "ds:pets.v2",
    ]
    status = json.loads(ldb("status", "ds:pets.v1", "--json", check=True).stdout)
    assert status["num_data_objects"] == 2
    listed = ldb("list", "ds:pets.v2", check=True).stdout
    dog_row = next(line for line in listed.splitlines() if DOG_1 in line)
    assert dog_row.split()[-1] == "self,rotate-90"  # the name came with the config
    assert "cats" in ldb("status", "ds:pets.v1", check=True).stdout


def test_a_migrated_transform_is_not_run_until_trusted(md5_instance, upstream, ldb, tmp_path):
    """The upstream config's rotate-90 is someone else's command: recorded, not trusted."""
    migrate(md5_instance, upstream)
    assert "rotate-90" not in (md5_instance.path / "config").read_text(encoding="utf-8")
    out = tmp_path / "out"
    refused = ldb("instantiate", "ds:pets.v2", "-t", str(out))
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: transform 'rotate-90' (exec: ")
    assert "arrived with a migrated instance and is not trusted" in refused.stderr
    assert refused.stderr.endswith("ldb transform --trust rotate-90\n")
    assert not out.exists()


def test_migrating_twice_adds_nothing(md5_instance, upstream):
    migrate(md5_instance, upstream)
    again = migrate(md5_instance, upstream)
    assert again.new_data_objects == 0
    assert again.new_annotation_versions == 0
    assert again.new_dataset_versions == 0
    assert again.storage_locations == 0 and again.transforms == 0


def test_an_xxh3_instance_rehashes_the_files(instance, upstream, tmp_path):
    result = migrate(instance, upstream)
    assert result.new_data_objects == 5
    data = tmp_path / "upstream-data"
    expected = {instance.hasher.file_digest(str(p)) for p in data.glob("*.png")}
    assert set(current(instance)) == expected
    md5_of_cat = hashlib.md5((data / "cat-1.png").read_bytes()).hexdigest()
    assert md5_of_cat == CAT_1
    assert len(instance.catalog.dataset_versions("pets")) == 2


def test_an_xxh3_instance_needs_the_files(instance, upstream, tmp_path):
    shutil.rmtree(tmp_path / "upstream-data")
    with pytest.raises(MigrationError, match="ldb init --hash md5"):
        migrate(instance, upstream)


def test_a_conflicting_dataset_is_an_error(md5_instance, upstream, ldb, tmp_path):
    migrate(md5_instance, upstream)
    ldb("stage", "ds:birds", "-t", "ws", check=True)
    ldb("ds", "del", "ds:birds", check=True)
    ldb("stage", "-f", "ds:birds", "-t", "ws2", check=True)
    import os

    os.chdir(tmp_path / "ws2")
    ldb("add", "ds:root", check=True)
    ldb("commit", check=True)
    with pytest.raises(MigrationError, match=r"ds:birds\.v1 already exists here"):
        migrate(md5_instance, upstream)


def test_cli(md5_instance, upstream, ldb, tmp_path):
    out = ldb("migrate", str(upstream), check=True).stdout
    assert out.startswith(f"Migrated LDB instance '{upstream}':")
    assert "  Data objects:                 5 (5 new)" in out
    not_one = ldb("migrate", str(tmp_path))
    assert not_one.returncode == 1
    assert not_one.stderr.startswith("error: Not an upstream LDB instance:")
    as_json = json.loads(ldb("migrate", "--json", str(upstream), check=True).stdout)
    assert as_json["new_data_objects"] == 0
