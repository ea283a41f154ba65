"""``ldb add-storage``: registering, updating, nesting rules, options and secrets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ldb_clone.errors import StorageError
from ldb_clone.instance import (
    CATALOG_FILENAME,
    CATALOG_FILES,
    Instance,
    init_instance,
    is_instance,
    open_instance,
)
from ldb_clone.reporting import Reporter
from ldb_clone.storage import (
    CREDENTIALS_NOTE,
    StorageLocation,
    add_storage,
    find_location,
    load_locations,
    mask_secrets,
    parse_option_value,
)
from tests.helpers import assert_one_error_line


def locations(instance_dir: Path) -> list[StorageLocation]:
    inst = open_instance(instance_dir)
    try:
        return load_locations(inst)
    finally:
        inst.close()


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "data": tmp_path / "data",
        "child": tmp_path / "data" / "child",
        "child2": tmp_path / "data" / "child2",
        "data2": tmp_path / "data2",
        "other": tmp_path / "other",
    }
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    return paths


# adding -----------------------------------------------------------------------------------


def test_add_storage_cli(instance_dir: Path, dirs, ldb):
    result = ldb("add-storage", str(dirs["data"]), check=True)
    assert result.stdout == f"Added storage location '{dirs['data']}'\n"
    assert result.stderr == ""
    assert locations(instance_dir) == [StorageLocation("file", str(dirs["data"]), False, {})]


def test_add_storage_library(instance: Instance, dirs):
    message = add_storage(instance, str(dirs["data"]))
    assert message == f"Added storage location '{dirs['data']}'"
    assert load_locations(instance) == [StorageLocation("file", str(dirs["data"]))]


def test_relative_path_is_stored_absolute_and_normalised(
    tmp_path: Path, instance_dir: Path, dirs, ldb
):
    result = ldb("add-storage", "./data/child/../", check=True)
    expected = str(tmp_path / "data")
    assert result.stdout == f"Added storage location '{expected}'\n"
    assert [loc.path for loc in locations(instance_dir)] == [expected]


def test_trailing_slash_and_dot_segments_are_the_same_location(instance: Instance, dirs):
    add_storage(instance, str(dirs["data"]) + "/")
    with pytest.raises(StorageError, match="already exists with the given options"):
        add_storage(instance, str(dirs["child"]) + "/..")
    assert [loc.path for loc in load_locations(instance)] == [str(dirs["data"])]


def test_same_path_same_options_is_an_error(instance: Instance, dirs, ldb):
    add_storage(instance, str(dirs["data"]), options={"anon": True})
    result = ldb("add-storage", "-o", "anon", "true", str(dirs["data"]))
    assert_one_error_line(result, "already exists with the given options", str(dirs["data"]))
    assert load_locations(instance) == [
        StorageLocation("file", str(dirs["data"]), False, {"anon": True})
    ]


def test_same_path_with_read_add_is_an_update(instance_dir: Path, dirs, ldb):
    data = str(dirs["data"])
    ldb("add-storage", data, check=True)
    result = ldb("add-storage", "-a", "true", data, check=True)
    lines = result.stdout.splitlines()
    assert lines[0] == f"Updated storage location '{data}':"
    assert "  read_and_add: False -> True" in lines[1:]
    assert locations(instance_dir) == [StorageLocation("file", data, True, {})]
    # Re-adding without -a clears read-add, as upstream.
    result = ldb("add-storage", data, check=True)
    assert result.stdout.splitlines()[0] == f"Updated storage location '{data}':"
    assert "  read_and_add: True -> False" in result.stdout.splitlines()
    assert locations(instance_dir) == [StorageLocation("file", data, False, {})]


def test_update_keeps_other_locations(instance: Instance, dirs):
    add_storage(instance, str(dirs["data"]))
    add_storage(instance, str(dirs["other"]))
    add_storage(instance, str(dirs["data"]), read_add=True)
    assert {(loc.path, loc.read_add) for loc in load_locations(instance)} == {
        (str(dirs["data"]), True),
        (str(dirs["other"]), False),
    }


def test_child_of_existing_location_is_an_error(instance: Instance, dirs, ldb):
    add_storage(instance, str(dirs["data"]))
    result = ldb("add-storage", str(dirs["child"]))
    assert_one_error_line(
        result, "is inside existing storage location", str(dirs["child"]), str(dirs["data"])
    )
    assert [loc.path for loc in load_locations(instance)] == [str(dirs["data"])]


def test_child_is_an_error_even_with_force(instance: Instance, dirs):
    add_storage(instance, str(dirs["data"]))
    with pytest.raises(StorageError, match="is inside existing storage location"):
        add_storage(instance, str(dirs["child"]), force=True)


def test_sibling_with_common_prefix_is_not_nested(instance: Instance, dirs):
    add_storage(instance, str(dirs["data"]))
    assert add_storage(instance, str(dirs["data2"])) == f"Added storage location '{dirs['data2']}'"
    assert [loc.path for loc in load_locations(instance)] == [
        str(dirs["data"]),
        str(dirs["data2"]),
    ]


def test_parent_of_existing_location_needs_force(instance: Instance, dirs, ldb):
    add_storage(instance, str(dirs["child"]))
    result = ldb("add-storage", str(dirs["data"]))
    assert_one_error_line(result, "--force", str(dirs["child"]))
    assert [loc.path for loc in load_locations(instance)] == [str(dirs["child"])]


def test_parent_with_force_replaces_children(instance: Instance, dirs, ldb):
    for name in ("child", "child2", "other"):
        add_storage(instance, str(dirs[name]))
    result = ldb("add-storage", "-f", str(dirs["data"]), check=True)
    lines = result.stdout.splitlines()
    assert lines[0] == f"Added storage location '{dirs['data']}'"
    assert "Removed its children:" in lines
    assert f"  '{dirs['child']}'" in lines
    assert f"  '{dirs['child2']}'" in lines
    assert sorted(loc.path for loc in load_locations(instance)) == sorted(
        [str(dirs["data"]), str(dirs["other"])]
    )


def test_second_read_add_location_is_an_error(instance: Instance, dirs, ldb):
    add_storage(instance, str(dirs["data"]), read_add=True)
    result = ldb("add-storage", "--read-add", "true", str(dirs["other"]))
    assert_one_error_line(result, "Only one storage location may be set as read-add")
    assert load_locations(instance) == [StorageLocation("file", str(dirs["data"]), True, {})]


def test_second_read_add_via_update_is_an_error(instance: Instance, dirs):
    add_storage(instance, str(dirs["data"]), read_add=True)
    add_storage(instance, str(dirs["other"]))
    with pytest.raises(StorageError, match="Only one storage location may be set as read-add"):
        add_storage(instance, str(dirs["other"]), read_add=True)
    assert [loc.read_add for loc in load_locations(instance)] == [True, False]


def test_read_add_false_is_accepted(instance_dir: Path, dirs, ldb):
    ldb("add-storage", "-a", "false", str(dirs["data"]), check=True)
    assert locations(instance_dir)[0].read_add is False


def test_read_add_value_must_be_a_json_bool(instance_dir: Path, dirs, ldb):
    result = ldb("add-storage", "-a", "maybe", str(dirs["data"]))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert locations(instance_dir) == []


def test_options_are_parsed_as_json_or_kept_as_strings(instance_dir: Path, dirs, ldb):
    result = ldb(
        "add-storage",
        "-o", "anon", "true",
        "-o", "n", "3",
        "--option", "profile", '"p"',
        "-o", "name", "plain",
        str(dirs["data"]),
        check=True,
    )  # fmt: skip
    assert result.stdout == f"Added storage location '{dirs['data']}'\n"
    (loc,) = locations(instance_dir)
    assert loc.options == {"anon": True, "n": 3, "profile": "p", "name": "plain"}


def test_option_with_one_word_is_a_usage_error(instance_dir: Path, dirs, ldb):
    result = ldb("add-storage", str(dirs["data"]), "-o", "anon")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert locations(instance_dir) == []


def test_secret_options_never_printed(instance_dir: Path, dirs, ldb):
    data = str(dirs["data"])
    first = ldb(
        "add-storage", "-o", "secret", "abc123", "-o", "key", "AKIAEXAMPLE", data, check=True
    )
    second = ldb(
        "add-storage", "-o", "secret", "xyz789", "-o", "key", "AKIAEXAMPLE", data, check=True
    )
    # An error (the same options again) with -v, which prints a traceback.
    again = ldb("-v", "add-storage", "-o", "secret", "xyz789", "-o", "key", "AKIAEXAMPLE", data)
    for result in (first, second, again):
        output = result.stdout + result.stderr
        for secret in ("abc123", "xyz789", "AKIAEXAMPLE"):
            assert secret not in output
    assert first.stdout == f"Added storage location '{data}'\n"
    assert second.stdout.splitlines()[0] == f"Updated storage location '{data}':"
    assert "  options: credentials changed" in second.stdout
    assert again.returncode == 1
    assert "already exists with the given options" in again.stderr
    # The real values are stored for the filesystem.
    assert locations(instance_dir)[0].options == {"secret": "xyz789", "key": "AKIAEXAMPLE"}


def test_mask_secrets():
    options = {
        "anon": False,
        "key": "AKIA",
        "secret": "s",
        "token": "",
        "profile": "p",
        "client_kwargs": {"aws_secret_access_key": "s", "region_name": "eu"},
        "password": None,
    }
    assert mask_secrets(options) == {
        "anon": False,
        "key": "****",
        "secret": "****",
        "token": "",
        "profile": "p",
        "client_kwargs": {"aws_secret_access_key": "****", "region_name": "eu"},
        "password": None,
    }
    assert options["key"] == "AKIA"  # a copy


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("false", False),
        ("3", 3),
        ("1.5", 1.5),
        ('"p"', "p"),
        ("plain", "plain"),
        ("null", None),
        ('{"a": [1]}', {"a": [1]}),
        ("", ""),
    ],
)
def test_parse_option_value(text, value):
    assert parse_option_value(text) == value


def test_a_file_is_not_a_storage_location(tmp_path: Path, instance_dir: Path, ldb):
    path = tmp_path / "file.txt"
    path.write_text("x")
    result = ldb("add-storage", str(path))
    assert_one_error_line(result, str(path))


def test_add_storage_without_instance_creates_the_default_one(isolated_home: Path, dirs, ldb):
    default = isolated_home / ".ldb" / "private_instance"
    result = ldb("add-storage", str(dirs["data"]), check=True)
    assert result.stdout.splitlines() == [
        f"Initialized LDB instance at '{default}'",
        f"Added storage location '{dirs['data']}'",
    ]
    assert is_instance(default)
    assert locations(default) == [StorageLocation("file", str(dirs["data"]), False, {})]


def test_add_storage_with_ldb_dir_to_missing_dir_creates_it(tmp_path: Path, dirs, ldb):
    target = tmp_path / "new-instance"
    ldb("add-storage", str(dirs["data"]), env={"LDB_DIR": str(target)}, check=True)
    assert is_instance(target)
    assert [loc.path for loc in locations(target)] == [str(dirs["data"])]


def test_add_storage_into_a_non_instance_directory_fails(tmp_path: Path, dirs, ldb):
    target = tmp_path / "not-an-instance"
    target.mkdir()
    (target / "x.txt").write_text("x")
    result = ldb("add-storage", str(dirs["data"]), env={"LDB_DIR": str(target)})
    assert_one_error_line(result, "No LDB instance")
    assert sorted(p.name for p in target.iterdir()) == ["x.txt"]


# cloud URLs (no network: nothing is contacted when registering) ------------------------------


def test_cloud_location_with_options(instance: Instance):
    message = add_storage(instance, "s3://bucket/prefix/", options={"anon": True})
    assert "bucket/prefix" in message
    assert load_locations(instance) == [
        StorageLocation("s3", "bucket/prefix", False, {"anon": True})
    ]


def test_cloud_nesting_rules(instance: Instance):
    add_storage(instance, "s3://bucket/prefix")
    with pytest.raises(StorageError, match="is inside existing storage location"):
        add_storage(instance, "s3://bucket/prefix/sub")
    with pytest.raises(StorageError, match="--force"):
        add_storage(instance, "s3://bucket")
    add_storage(instance, "s3://bucket", force=True)
    add_storage(instance, "s3://bucket-2")
    assert [(loc.protocol, loc.path) for loc in load_locations(instance)] == [
        ("s3", "bucket"),
        ("s3", "bucket-2"),
    ]


def test_same_path_on_other_protocol_is_not_nested(instance: Instance, tmp_path: Path):
    local = tmp_path / "bucket"
    local.mkdir()
    add_storage(instance, "s3://bucket")
    add_storage(instance, "gs://bucket")
    add_storage(instance, str(local))
    assert len(load_locations(instance)) == 3


def test_find_location(instance: Instance, dirs):
    add_storage(instance, str(dirs["data"]))
    add_storage(instance, "s3://bucket/prefix")
    locs = load_locations(instance)
    assert find_location(locs, "file", str(dirs["child"] / "a.png")).path == str(dirs["data"])
    assert find_location(locs, "file", str(dirs["data2"] / "a.png")) is None
    assert find_location(locs, "s3", "bucket/prefix/a.png").protocol == "s3"
    assert find_location(locs, "s3", "bucket/prefix2/a.png") is None
    assert find_location(locs, "gs", "bucket/prefix/a.png") is None


def test_update_message_lists_changed_options(instance: Instance, dirs):
    data = str(dirs["data"])
    add_storage(instance, data)
    message = add_storage(instance, data, options={"anon": True})
    assert message.splitlines() == [
        f"Updated storage location '{data}':",
        "  options: {} -> {'anon': True}",
    ]
    message = add_storage(instance, data, read_add=True, options={"anon": True})
    assert message.splitlines() == [
        f"Updated storage location '{data}':",
        "  read_and_add: False -> True",
    ]


def test_tilde_is_expanded(instance: Instance, isolated_home: Path):
    (isolated_home / "pictures").mkdir()
    assert add_storage(instance, "~/pictures") == (
        f"Added storage location '{isolated_home / 'pictures'}'"
    )
    assert load_locations(instance)[0].path == str(isolated_home / "pictures")


def test_file_url_is_a_local_path(instance: Instance, dirs):
    add_storage(instance, f"file://{dirs['data']}")
    assert load_locations(instance) == [StorageLocation("file", str(dirs["data"]))]


# secrets at rest --------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def catalog_files(instance_dir: Path) -> list[Path]:
    found = [instance_dir / name for name in CATALOG_FILES if (instance_dir / name).exists()]
    assert found[0].name == CATALOG_FILENAME
    return found


def test_a_new_instance_is_readable_by_its_owner_only(tmp_path: Path):
    old = os.umask(0o022)
    try:
        init_instance(tmp_path / "inst")
    finally:
        os.umask(old)
    assert mode(tmp_path / "inst") == 0o700
    assert mode(tmp_path / "inst" / CATALOG_FILENAME) == 0o600


@pytest.mark.sqlite_only("the permissions of the SQLite catalog file and its WAL side files")
def test_adding_credentials_makes_an_open_instance_private(instance: Instance, dirs):
    """An instance made readable by others (an older ldb, a chmod) is tightened, the
    catalog's WAL and SHM side files included, before credentials are written."""
    add_storage(instance, str(dirs["other"]))  # the catalog is open: side files exist
    files = catalog_files(instance.path)
    assert {p.name for p in files} == set(CATALOG_FILES)
    os.chmod(instance.path, 0o755)
    for path in files:
        os.chmod(path, 0o644)
    add_storage(instance, str(dirs["data2"]), options={"anon": True})  # no secret
    assert mode(instance.path) == 0o755

    reporter = Reporter()
    add_storage(instance, str(dirs["data"]), options={"secret": "abc123"}, reporter=reporter)
    assert mode(instance.path) == 0o700
    assert {p.name: mode(p) for p in catalog_files(instance.path)} == {
        name: 0o600 for name in CATALOG_FILES
    }
    assert reporter.warnings == [CREDENTIALS_NOTE.format(path=instance.path)]


def test_add_storage_with_credentials_prefers_the_environment(instance_dir: Path, dirs, ldb):
    result = ldb("add-storage", "-o", "secret", "abc123", str(dirs["data"]), check=True)
    assert result.stderr.startswith("warning: the credentials are stored in the catalog")
    assert "credentials from the environment or a profile are preferred" in result.stderr
    assert "abc123" not in result.stderr
    quiet = ldb("add-storage", "-o", "anon", "true", str(dirs["other"]), check=True)
    assert quiet.stderr == ""
