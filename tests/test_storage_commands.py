"""Issue 13, item 14: ``ldb storage list`` and ``ldb storage rm``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ldb_clone import cli
from ldb_clone.storage import add_storage, load_locations
from tests.helpers import run_index

SECRET = "wJalrXUtnFEMI-very-secret"


def invoke(*args: str):
    return CliRunner().invoke(cli.app, list(args))


def run(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, (args, result.output)
    return result.output


def one_error(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_storage_list_masks_credentials(instance, tmp_path):
    assert run("storage", "list") == "No storage locations\n"
    data, copies = tmp_path / "data", tmp_path / "copies"
    data.mkdir()
    copies.mkdir()
    add_storage(instance, str(data))
    add_storage(instance, str(copies), read_add=True)
    add_storage(
        instance,
        "s3://bucket/raw",
        options={"endpoint_url": "http://127.0.0.1:9", "secret": SECRET},
    )
    out = run("storage", "list")
    assert SECRET not in out
    assert out.splitlines() == [
        str(data),
        f"{copies}  read-add",
        's3://bucket/raw  options: {"endpoint_url": "http://127.0.0.1:9", "secret": "****"}',
    ]
    listed = json.loads(run("storage", "list", "--json"))
    assert [(x["protocol"], x["path"], x["read_and_add"]) for x in listed] == [
        ("file", str(data), False),
        ("file", str(copies), True),
        ("s3", "bucket/raw", False),
    ]
    assert listed[2]["options"]["secret"] == "****"


def test_storage_rm_refuses_a_location_objects_still_need(instance, data_dir, tmp_path, make_image):
    for n in range(3):
        make_image(data_dir / f"{n}.png")
    run_index(instance, data_dir, fmt="bare")
    refused = invoke("storage", "rm", str(data_dir))
    one_error(refused, "3 indexed data objects are stored only in", str(data_dir), "--force")
    assert [x.path for x in load_locations(instance)] == [str(data_dir)]

    # objects with a copy in another location do not need this one
    other = tmp_path / "other"
    other.mkdir()
    add_storage(instance, str(other))
    (other / "0.png").write_bytes((data_dir / "0.png").read_bytes())
    run_index(instance, other, fmt="bare")
    one_error(invoke("storage", "rm", str(data_dir)), "2 indexed data objects")

    out = run("storage", "rm", "--force", str(data_dir))
    assert out == (
        f"Removed storage location '{data_dir}' "
        "(2 indexed data objects now have no path in storage)\n"
    )
    assert [x.path for x in load_locations(instance)] == [str(other)]
    assert run("list", "-s", "ds:root") == "3\n"  # still indexed
    assert (data_dir / "1.png").is_file()  # files untouched


def test_storage_rm_of_an_unused_location_and_of_an_unknown_one(instance, tmp_path):
    unused = tmp_path / "unused"
    unused.mkdir()
    add_storage(instance, str(unused))
    add_storage(instance, "s3://bucket/raw", options={"key": "AKIA", "secret": SECRET})
    result = invoke("storage", "rm", "s3://bucket/nope")
    line = one_error(result, "'s3://bucket/nope' is not a storage location", "s3://bucket/raw")
    assert SECRET not in line
    assert run("storage", "rm", str(unused)) == f"Removed storage location '{unused}'\n"
    assert run("storage", "rm", "s3://bucket/raw/") == (
        "Removed storage location 's3://bucket/raw'\n"
    )
    assert load_locations(instance) == []
