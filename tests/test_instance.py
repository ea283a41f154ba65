"""``ldb init`` and finding the instance: LDB_DIR, core.ldb_dir, the quick-start default."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from pathlib import Path

import pytest
import xxhash

from ldb_clone.catalog import Catalog
from ldb_clone.errors import InstanceError
from ldb_clone.indexing import index
from ldb_clone.instance import (
    CATALOG_FILENAME,
    Instance,
    default_instance_dir,
    init_instance,
    is_instance,
    locate_instance_dir,
    open_instance,
)
from ldb_clone.storage import add_storage
from tests.helpers import assert_one_error_line

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CUSTOM_CODE = ("ldb_user_filters", "ldb_user_functions", "ldb_user_transforms")


def read_toml(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def global_config(home: Path) -> dict:
    return read_toml(home / ".ldb" / "config")


def write_global_config(home: Path, text: str) -> None:
    (home / ".ldb").mkdir(exist_ok=True)
    (home / ".ldb" / "config").write_text(text, encoding="utf-8")


def object_ids(instance: Instance) -> list[str]:
    return [oid for oid, _, _ in instance.catalog.root_members()]


# ldb init ---------------------------------------------------------------------------------


def test_init_new_directory(tmp_path: Path, isolated_home: Path, ldb):
    path = tmp_path / "inst"
    result = ldb("init", str(path), check=True)
    assert result.stdout.splitlines() == [
        f"Initialized LDB instance at '{path}'",
        f"Set core.ldb_dir to '{path}'",
    ]
    assert result.stderr == ""
    assert is_instance(path)
    assert global_config(isolated_home) == {"core": {"ldb_dir": str(path)}}


def test_init_relative_path_records_absolute_ldb_dir(tmp_path: Path, isolated_home: Path, ldb):
    result = ldb("init", "inst", check=True)
    absolute = tmp_path / "inst"
    assert result.stdout.splitlines()[-1] == f"Set core.ldb_dir to '{absolute}'"
    assert result.stdout.splitlines()[0].startswith("Initialized LDB instance at '")
    assert result.stdout.splitlines()[0].endswith("inst'")
    assert global_config(isolated_home)["core"]["ldb_dir"] == str(absolute)
    assert is_instance(absolute)


def test_init_creates_missing_parent_directories(tmp_path: Path):
    path = tmp_path / "a" / "b" / "inst"
    assert init_instance(path) == [f"Initialized LDB instance at '{path}'"]
    assert is_instance(path)


def test_init_into_an_empty_existing_directory(tmp_path: Path):
    path = tmp_path / "empty"
    path.mkdir()
    init_instance(path)
    assert is_instance(path)


def test_instance_config_and_layout(tmp_path: Path):
    path = tmp_path / "inst"
    init_instance(path)
    cfg = read_toml(path / "config")
    assert cfg["core"]["read_any_cloud_location"] is False
    assert cfg["core"]["auto_index"] is False
    for name in CUSTOM_CODE:
        assert (path / "custom_code" / name).is_dir()
    assert (path / CATALOG_FILENAME).is_file()
    assert open_instance(path).setting("core.auto_index") is False


def test_second_init_without_force_fails_and_keeps_instance(tmp_path: Path, ldb):
    path = tmp_path / "inst"
    ldb("init", str(path), check=True)
    marker = path / "custom_code" / "ldb_user_functions" / "mine.py"
    marker.write_text("x = 1\n")
    result = ldb("init", str(path))
    line = assert_one_error_line(result, "already exists", str(path), "--force")
    assert line.startswith("error: ")
    assert result.stdout == ""
    assert marker.exists()
    assert is_instance(path)


def test_init_non_empty_directory_fails(tmp_path: Path, ldb):
    path = tmp_path / "stuff"
    path.mkdir()
    (path / "file.txt").write_text("keep me")
    result = ldb("init", str(path))
    assert_one_error_line(result, "Directory not empty", str(path))
    assert (path / "file.txt").read_text() == "keep me"
    assert not (path / "config").exists()
    assert not (path / CATALOG_FILENAME).exists()


def test_init_on_a_file_fails(tmp_path: Path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(InstanceError):
        init_instance(path)
    assert path.read_text() == "x"


def test_init_force_wipes_the_old_instance(tmp_path: Path, isolated_home: Path, ldb, make_image):
    path = tmp_path / "inst"
    init_instance(path)
    inst = open_instance(path)
    data = tmp_path / "data"
    make_image(data / "a.png")
    add_storage(inst, str(data))
    index(inst, [str(data)], "bare")
    assert inst.catalog.count_objects() == 1
    inst.close()
    extra = path / "custom_code" / "ldb_user_filters" / "old.py"
    extra.write_text("x = 1\n")
    (path / "junk.txt").write_text("junk")

    result = ldb("init", "-f", str(path), check=True)
    assert result.stdout.splitlines() == [
        f"Removing existing LDB instance at '{path}'",
        f"Initialized LDB instance at '{path}'",
        f"Set core.ldb_dir to '{path}'",
    ]
    assert not extra.exists()
    assert not (path / "junk.txt").exists()
    fresh = open_instance(path)
    try:
        assert fresh.catalog.count_objects() == 0
        assert fresh.catalog.storage_locations() == []
    finally:
        fresh.close()
    for name in CUSTOM_CODE:
        assert (path / "custom_code" / name).is_dir()


def test_force_does_not_wipe_a_directory_that_is_not_an_instance(tmp_path: Path, ldb):
    path = tmp_path / "stuff"
    path.mkdir()
    (path / "precious.txt").write_text("keep me")
    result = ldb("init", "-f", str(path))
    assert_one_error_line(result, "Directory not empty")
    assert (path / "precious.txt").exists()


def test_init_does_not_overwrite_core_ldb_dir(tmp_path: Path, isolated_home: Path, ldb):
    first = tmp_path / "first"
    second = tmp_path / "second"
    ldb("init", str(first), check=True)
    result = ldb("init", str(second), check=True)
    assert result.stdout.splitlines() == [
        f"Initialized LDB instance at '{second}'",
        f"Not setting core.ldb_dir as it is already set to '{first}'",
    ]
    assert global_config(isolated_home)["core"]["ldb_dir"] == str(first)
    assert is_instance(second)


def test_init_keeps_other_global_settings(tmp_path: Path, isolated_home: Path, ldb):
    write_global_config(isolated_home, "# my settings\n[core]\nauto_index = true\n")
    path = tmp_path / "inst"
    ldb("init", str(path), check=True)
    text = (isolated_home / ".ldb" / "config").read_text()
    assert "# my settings" in text
    assert read_toml(isolated_home / ".ldb" / "config")["core"] == {
        "auto_index": True,
        "ldb_dir": str(path),
    }


@pytest.mark.parametrize(
    "options, algorithm, digest",
    [
        (["--hash", "md5"], "md5", lambda raw: hashlib.md5(raw).hexdigest()),
        ([], "xxh3", lambda raw: xxhash.xxh3_128(raw).hexdigest()),
    ],
    ids=["md5", "default-xxh3"],
)
def test_init_hash_gives_object_ids(tmp_path: Path, ldb, make_image, options, algorithm, digest):
    path = tmp_path / "inst"
    ldb("init", *options, str(path), check=True)
    inst = open_instance(path)
    try:
        assert inst.hash_algorithm == algorithm
        data = tmp_path / "data"
        image = make_image(data / "a.png")
        add_storage(inst, str(data))
        index(inst, [str(data)], "bare")
        assert object_ids(inst) == [digest(image.read_bytes())]
    finally:
        inst.close()


def test_hash_algorithm_survives_reopening(tmp_path: Path):
    path = tmp_path / "inst"
    init_instance(path, hash_algorithm="md5")
    assert Instance(path).hasher.algorithm == "md5"
    with Instance(path) as reopened:
        assert reopened.catalog.get_setting("hash_algorithm") == "md5"


def test_init_unknown_hash_is_a_usage_error(tmp_path: Path, ldb):
    path = tmp_path / "inst"
    result = ldb("init", "--hash", "sha1", str(path))
    assert result.returncode == 2
    assert "sha1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not path.exists()


def test_init_instance_rejects_unknown_hash(tmp_path: Path):
    with pytest.raises(InstanceError, match="sha1"):
        init_instance(tmp_path / "inst", hash_algorithm="sha1")


# locating the instance --------------------------------------------------------------------


def test_default_location_is_private_instance(isolated_home: Path):
    assert locate_instance_dir() == isolated_home / ".ldb" / "private_instance"
    assert default_instance_dir() == isolated_home / ".ldb" / "private_instance"


def test_core_ldb_dir_wins_over_default(tmp_path: Path, isolated_home: Path):
    write_global_config(isolated_home, f"[core]\nldb_dir = '{tmp_path / 'configured'}'\n")
    assert locate_instance_dir() == tmp_path / "configured"


def test_core_ldb_dir_expands_tilde(isolated_home: Path):
    write_global_config(isolated_home, "[core]\nldb_dir = '~/my-instance'\n")
    assert locate_instance_dir() == isolated_home / "my-instance"


def test_ldb_dir_env_wins_over_core_ldb_dir(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
):
    write_global_config(isolated_home, f"[core]\nldb_dir = '{tmp_path / 'configured'}'\n")
    monkeypatch.setenv("LDB_DIR", str(tmp_path / "from-env"))
    assert locate_instance_dir() == tmp_path / "from-env"


def test_relative_ldb_dir_env_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LDB_DIR", "rel")
    assert locate_instance_dir() == tmp_path / "rel"


def test_relative_core_ldb_dir_is_an_error(isolated_home: Path):
    write_global_config(isolated_home, "[core]\nldb_dir = 'relative/inst'\n")
    with pytest.raises(InstanceError, match="absolute"):
        locate_instance_dir()


def test_relative_core_ldb_dir_cli_error(isolated_home: Path, ldb):
    write_global_config(isolated_home, "[core]\nldb_dir = 'relative/inst'\n")
    result = ldb("list")
    assert_one_error_line(result, "core.ldb_dir", "absolute", "relative/inst")


def test_invalid_global_config_is_a_clear_error(isolated_home: Path, ldb):
    write_global_config(isolated_home, "[core\nldb_dir = \n")
    result = ldb("status")
    assert_one_error_line(result, "config")


def test_cli_uses_ldb_dir_then_core_ldb_dir_then_private_instance(
    tmp_path: Path, isolated_home: Path, ldb, make_image
):
    private = isolated_home / ".ldb" / "private_instance"
    configured = tmp_path / "configured"
    from_env = tmp_path / "from-env"
    # Give each instance a different number of objects to tell them apart.
    for count, path in enumerate((private, configured, from_env), start=1):
        init_instance(path)
        inst = open_instance(path)
        data = tmp_path / f"data-{count}"
        for i in range(count):
            make_image(data / f"{i}.png")
        add_storage(inst, str(data))
        index(inst, [str(data)], "bare")
        inst.close()

    assert ldb("list", "-s", "ds:root", check=True).stdout == "1\n"
    write_global_config(isolated_home, f"[core]\nldb_dir = '{configured}'\n")
    assert ldb("list", "-s", "ds:root", check=True).stdout == "2\n"
    assert ldb("list", "-s", "ds:root", check=True, env={"LDB_DIR": str(from_env)}).stdout == "3\n"


@pytest.mark.parametrize(
    "args",
    [("list",), ("eval", "ds:root"), ("status",), ("index", ".")],
    ids=["list", "eval", "status", "index"],
)
def test_commands_without_an_instance_fail(ldb, args):
    result = ldb(*args)
    assert_one_error_line(result, "No LDB instance")
    assert result.stderr.startswith("error: No LDB instance")


def test_open_instance_on_a_plain_directory_fails(tmp_path: Path):
    with pytest.raises(InstanceError, match="No LDB instance"):
        open_instance(tmp_path)


def test_ldb_dir_pointing_to_non_instance_fails(tmp_path: Path, ldb):
    result = ldb("list", env={"LDB_DIR": str(tmp_path)})
    assert_one_error_line(result, "No LDB instance", str(tmp_path))


# a damaged catalog is never replaced by an empty one -------------------------------------


@pytest.fixture
def filled(tmp_path: Path, make_image) -> Path:
    """An instance with one storage location and one indexed object."""
    path = tmp_path / "filled"
    init_instance(path)
    inst = open_instance(path)
    data = tmp_path / "data"
    make_image(data / "a.png")
    add_storage(inst, str(data))
    index(inst, [str(data)], "bare")
    inst.close()
    return path


@pytest.mark.sqlite_only("an empty SQLite catalog file")
def test_an_empty_catalog_is_an_error_and_stays_as_it_is(filled: Path, ldb):
    catalog = filled / CATALOG_FILENAME
    catalog.write_bytes(b"")
    for wal in filled.glob(CATALOG_FILENAME + "-*"):
        wal.unlink()
    for args in (["list", "ds:root"], ["add-storage", str(filled.parent / "data")], ["ds", "list"]):
        result = ldb(*args, env={"LDB_DIR": str(filled)})
        assert_one_error_line(result, f"The catalog '{catalog}' is empty (0 bytes)")
        assert result.stderr.rstrip().endswith(
            f"run 'ldb init -f {filled}' to start a new, empty instance there"
        )
        assert catalog.stat().st_size == 0


def test_a_missing_catalog_is_an_error_that_init_force_repairs(filled: Path, ldb):
    (filled / CATALOG_FILENAME).unlink()
    result = ldb("list", "ds:root", env={"LDB_DIR": str(filled)})
    assert_one_error_line(result, "is missing", f"ldb init -f {filled}")
    assert not (filled / CATALOG_FILENAME).exists()
    result = ldb("init", str(filled))
    assert_one_error_line(result, "already exists", "--force")
    ldb("init", "-f", str(filled), check=True)
    assert ldb("list", "ds:root", env={"LDB_DIR": str(filled)}, check=True).returncode == 0


@pytest.mark.sqlite_only("a damaged SQLite catalog file")
def test_a_catalog_that_is_not_a_database_is_kept(filled: Path, ldb):
    catalog = filled / CATALOG_FILENAME
    catalog.write_bytes(b"this is not SQLite" * 100)
    for wal in filled.glob(CATALOG_FILENAME + "-*"):
        wal.unlink()
    result = ldb("list", "ds:root", env={"LDB_DIR": str(filled)})
    assert_one_error_line(result, f"Unable to open the catalog '{catalog}'", "ldb init -f")
    assert catalog.read_bytes() == b"this is not SQLite" * 100


def test_a_catalog_without_a_schema_is_not_filled_in(filled: Path):
    catalog = filled / CATALOG_FILENAME
    catalog.unlink()
    con = sqlite3.connect(catalog)
    con.execute("CREATE TABLE t (x)")
    con.execute("DROP TABLE t")  # a valid database file with no tables
    con.close()
    assert catalog.stat().st_size > 0
    with pytest.raises(InstanceError, match="holds no data"):
        Catalog(catalog)
    con = sqlite3.connect(catalog)
    assert con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    con.close()
