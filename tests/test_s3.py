"""Everything on s3:// against a real S3 server on loopback (moto), through s3fs."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from tests.s3server import ACCESS_KEY, SECRET_KEY, Fault

pytestmark = pytest.mark.usefixtures("instance")

_colors = iter(range(1, 10**6))


def png_bytes(seed: int | None = None) -> bytes:
    n = next(_colors) if seed is None else seed
    image = Image.new("RGB", (8, 8), (n * 37 % 256, n * 91 % 256, n * 53 % 256))
    image.putpixel((0, 0), (n % 256, (n // 256) % 256, 7))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def put(s3, key: str, data: bytes | dict | list) -> bytes:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    s3.fs.pipe(f"{s3.bucket}/{key}", raw)
    return raw


def pets(s3, prefix: str = "data", n: int = 4) -> dict[str, bytes]:
    """n strict pairs p<i>.png + p<i>.json, and one image without annotation."""
    images = {}
    for i in range(n):
        images[f"p{i}"] = put(s3, f"{prefix}/p{i}.png", png_bytes())
        put(s3, f"{prefix}/p{i}.json", {"label": "cat" if i % 2 else "dog", "i": i})
    images["lonely"] = put(s3, f"{prefix}/lonely.png", png_bytes())
    return images


def add_location(ldb, s3, path: str = "data", *extra: str):
    return ldb("add-storage", f"s3://{s3.bucket}/{path}", *s3.storage_options(), *extra, check=True)


def summary(stdout: str) -> dict[str, int]:
    counts = {}
    for line in stdout.splitlines():
        label, _, value = line.strip().rpartition(":")
        if value.strip().isdigit():
            counts[label.strip()] = int(value)
    return counts


def test_add_storage_keeps_options_and_masks_secrets(ldb, s3):
    out = add_location(ldb, s3).stdout
    assert out == f"Added storage location 's3://{s3.bucket}/data'\n"
    shown = ldb("add-storage", f"s3://{s3.bucket}/data", *s3.storage_options(), "-a", "true")
    assert SECRET_KEY not in shown.stdout + shown.stderr
    assert ACCESS_KEY not in shown.stdout + shown.stderr
    changed = ldb(
        "add-storage", "--json", f"s3://{s3.bucket}/data", "-o", "secret", "other-secret-value"
    )
    listed = json.loads(changed.stdout)
    assert listed["locations"] == [
        {
            "path": f"{s3.bucket}/data",
            "protocol": "s3",
            "read_and_add": False,
            "options": {"secret": "****"},
        }
    ]
    assert "other-secret-value" not in changed.stdout + changed.stderr


def test_error_messages_are_scrubbed_of_credentials(instance, s3):
    from ldb_clone.errors import scrub
    from ldb_clone.storage import add_storage

    add_storage(instance, f"s3://{s3.bucket}/data", options={"secret": "s3cr3t-value"})
    assert scrub("failed with s3cr3t-value inside") == "failed with **** inside"


def test_index_list_and_reindex_without_downloads(ldb, s3):
    images = pets(s3)
    add_location(ldb, s3)
    out = ldb("index", "-m", "strict", f"s3://{s3.bucket}/data", check=True).stdout
    counts = summary(out)
    assert counts["Found data objects"] == 4 and counts["New annotations"] == 4
    listed = ldb("list", "--json", "ds:root", check=True).stdout
    paths = sorted(row["path"] for row in json.loads(listed))
    assert paths == [f"s3://{s3.bucket}/data/p{i}.png" for i in range(4)]
    evaluated = json.loads(
        ldb(
            "eval",
            "--json-records",
            "ds:root",
            "--query",
            "label == `cat`",
            "--show",
            "i",
            check=True,
        ).stdout
    )
    assert sorted(row["values"][0] for row in evaluated) == [1, 3]

    s3.recorder.reset()
    again = summary(ldb("index", "-m", "strict", f"s3://{s3.bucket}/data", check=True).stdout)
    assert again["New data objects"] == 0 and again["New annotations"] == 0
    assert s3.recorder.gets(f"/{s3.bucket}/data/") == 0  # the stat cache vouched for all

    put(s3, "data/p0.json", {"label": "bird"})  # changed: read again
    s3.recorder.reset()
    changed = summary(ldb("index", "-m", "strict", f"s3://{s3.bucket}/data", check=True).stdout)
    assert changed["New annotations"] == 1
    assert s3.recorder.gets(f"/{s3.bucket}/data/") == 1
    assert images["p0"]  # the image itself was not fetched again


@pytest.mark.parametrize("fmt", ["bare", "annot", "infer", "label-studio"])
def test_every_upstream_format_indexes_from_s3(ldb, s3, fmt):
    if fmt == "bare":
        pets(s3)
        path, expected = f"s3://{s3.bucket}/data", 5
    elif fmt == "infer":
        put(s3, "data/cat/a.png", png_bytes())
        put(s3, "data/cat/tabby/b.png", png_bytes())
        put(s3, "data/dog/c.png", png_bytes())
        path, expected = f"s3://{s3.bucket}/data", 3
    elif fmt == "annot":
        records = [
            {
                "annotation": {"label": str(i)},
                "data-object-info": {"path": f"s3://{s3.bucket}/data/img{i}.png"},
            }
            for i in range(3)
        ]
        for i in range(3):
            put(s3, f"data/img{i}.png", png_bytes())
        put(s3, "data/records.json", records)
        path, expected = f"s3://{s3.bucket}/data/records.json", 3
    else:
        tasks = []
        for i in range(3):
            put(s3, f"data/images/t{i}.png", png_bytes())
            tasks.append({"id": i, "data": {"image": f"s3://{s3.bucket}/data/images/t{i}.png"}})
        put(s3, "data/export.json", tasks)
        path, expected = f"s3://{s3.bucket}/data/export.json", 3
    add_location(ldb, s3)
    out = ldb("index", "-m", fmt, path, check=True).stdout
    # annotation-only records here name new objects by path: each is read, a data object
    # found (as upstream counts it; records naming indexed ids find none)
    assert summary(out)["Found data objects"] == expected
    assert ldb("list", "-s", "ds:root", check=True).stdout.strip() == str(expected)


def test_label_studio_tasks_name_s3_objects_by_their_s3_url(ldb, s3, tmp_path):
    """Label Studio loads S3 objects through an S3 storage connection, by their s3:// URL:
    -p local-files-root (for the local objects) leaves them so."""
    pets(s3)
    add_location(ldb, s3)
    ldb("index", "-m", "strict", f"s3://{s3.bucket}/data", check=True)

    ldb(
        "instantiate", "-m", "label-studio", "-t", "ls", "-p",
        f"local-files-root={tmp_path}", "ds:root", check=True,
    )  # fmt: skip

    tasks = json.loads((tmp_path / "ls" / "annotations.json").read_text())
    images = sorted(t["data"]["image"] for t in tasks)
    assert images == [f"s3://{s3.bucket}/data/p{i}.png" for i in range(4)]


def test_add_list_and_get_by_s3_path(ldb, s3, tmp_path):
    pets(s3)
    add_location(ldb, s3)
    ldb("index", "-m", "bare", f"s3://{s3.bucket}/data", check=True)
    assert ldb("list", "-s", f"s3://{s3.bucket}/data/p1.png", check=True).stdout == "1\n"
    s3.recorder.reset()
    got = ldb("get", f"s3://{s3.bucket}/data", "-m", "strict", "-t", "got", check=True)
    assert "Data objects:         4" in got.stdout
    assert len(list((tmp_path / "got").glob("*.png"))) == 4
    # the paths were found through the stat cache; only the 4 copies were downloaded
    assert s3.recorder.gets(f"/{s3.bucket}/data/") == 4


def test_instantiate_from_and_to_s3(ldb, s3, tmp_path):
    images = pets(s3)
    add_location(ldb, s3)
    add_location(ldb, s3, "out")
    ldb("index", "-m", "strict", f"s3://{s3.bucket}/data", check=True)
    ldb("instantiate", "ds:root", "-m", "strict", "-t", "local", check=True)
    written = sorted(p.read_bytes() for p in (tmp_path / "local").glob("*.png"))
    assert written == sorted(v for k, v in images.items() if k != "lonely")

    out = ldb("instantiate", "ds:root", "-m", "bare", "-t", f"s3://{s3.bucket}/out/v1", check=True)
    assert f"Uploading to s3://{s3.bucket}/out/v1" in out.stdout
    s3.fs.invalidate_cache()
    assert len(s3.fs.find(f"{s3.bucket}/out/v1")) == 8
    again = ldb("instantiate", "ds:root", "-t", f"s3://{s3.bucket}/out/v1")
    assert again.returncode == 1
    assert again.stderr == f"error: Not an empty location: s3://{s3.bucket}/out/v1\n"


def outside_env(s3) -> dict[str, str]:
    """Paths outside every storage location have no options: the endpoint and the
    credentials come from the environment, as for any boto client."""
    return {
        "AWS_ENDPOINT_URL_S3": s3.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }


def test_files_outside_storage_need_read_any_cloud_or_ephemeral_remote(ldb, s3, tmp_path):
    pets(s3, "elsewhere")
    add_location(ldb, s3, "data")  # a location, but not the one holding the files
    s3.recorder.reset()
    refused = ldb("index", "-m", "strict", f"s3://{s3.bucket}/elsewhere", env=outside_env(s3))
    assert refused.returncode == 1
    assert refused.stderr == (
        f"error: Found file outside of configured storage locations: s3://{s3.bucket}/elsewhere"
        " (add a storage location for it, set core.read_any_cloud_location = true, or use"
        " --ephemeral-remote)\n"
    )
    assert sum(s3.recorder.requests.values()) == 0  # refused before any request

    no_read_add = ldb(
        "index",
        "--ephemeral-remote",
        "-m",
        "strict",
        f"s3://{s3.bucket}/elsewhere",
        env=outside_env(s3),
    )
    assert no_read_add.returncode == 1 and "no read-add storage" in no_read_add.stderr

    (tmp_path / "ra").mkdir()
    ldb("add-storage", "-a", "true", str(tmp_path / "ra"), check=True)
    out = ldb(
        "index",
        "--ephemeral-remote",
        "-m",
        "strict",
        f"s3://{s3.bucket}/elsewhere",
        env=outside_env(s3),
    )
    assert out.returncode == 0, out.stderr
    assert summary(out.stdout)["New data objects"] == 4
    copies = sorted(p.name for p in (tmp_path / "ra").rglob("*") if p.is_file())
    assert copies == sorted([f"p{i}.png" for i in range(4)] + [f"p{i}.json" for i in range(4)])


def test_read_any_cloud_location(ldb, s3, instance_dir):
    pets(s3, "free")
    add_location(ldb, s3, "data")
    config = instance_dir / "config"
    text = config.read_text()
    config.write_text(
        text.replace("read_any_cloud_location = false", "read_any_cloud_location = true")
    )
    out = ldb("index", "-m", "strict", f"s3://{s3.bucket}/free", env=outside_env(s3))
    assert out.returncode == 0, out.stderr
    assert summary(out.stdout)["New data objects"] == 4
    paths = [row["path"] for row in json.loads(ldb("list", "--json", "ds:root", check=True).stdout)]
    assert all(p.startswith(f"s3://{s3.bucket}/free/") for p in paths)  # indexed in place


# errors ------------------------------------------------------------------------------------


def test_missing_bucket(ldb, s3):
    ldb("add-storage", "s3://no-such-bucket-here/x", *s3.storage_options(), check=True)
    result = ldb("index", "s3://no-such-bucket-here/x")
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "s3://no-such-bucket-here/x" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_refused_credentials_never_print_the_secret(ldb, s3):
    pets(s3)
    add_location(ldb, s3)
    s3.recorder.refused_keys.add(ACCESS_KEY)
    for verbose in ([], ["-v"]):
        result = ldb("index", *verbose, "-m", "strict", f"s3://{s3.bucket}/data")
        assert result.returncode == 1
        assert f"s3://{s3.bucket}/data" in result.stderr
        assert SECRET_KEY not in result.stdout + result.stderr
    assert len(result.stderr.splitlines()) > 1  # -v: a traceback, still without the secret


def test_unreachable_endpoint(ldb, s3):
    options = ["-o", "client_kwargs", '{"endpoint_url": "http://127.0.0.1:9"}']
    options += ["-o", "config_kwargs", '{"retries": {"max_attempts": 1}, "connect_timeout": 1}']
    ldb("add-storage", f"s3://{s3.bucket}/data", *options, check=True)
    result = ldb("index", f"s3://{s3.bucket}/data")
    assert result.returncode == 1
    assert f"s3://{s3.bucket}/data" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "fault",
    [
        Fault("GET", "/data/p2.png", 404, "NoSuchKey", "The specified key does not exist."),
        Fault("GET", "/data/p2.png", 503, "SlowDown", "Please reduce your request rate."),
    ],
    ids=["vanished", "throttled"],
)
def test_failed_reads_commit_nothing_of_the_batch_and_a_rerun_completes(ldb, s3, fault):
    pets(s3)
    # no retries in botocore (they wait up to seconds, each time s3fs tries): s3fs still
    # retries a throttled read five times before it gives up
    add_location(ldb, s3, "data", "-o", "config_kwargs", '{"retries": {"max_attempts": 0}}')
    s3.recorder.faults.append(fault)
    result = ldb("index", "-m", "strict", f"s3://{s3.bucket}/data")
    assert result.returncode == 1
    assert f"s3://{s3.bucket}/data/p2.png" in result.stderr
    assert "Unable to finish indexing" in result.stdout
    assert ldb("list", "-s", "ds:root", check=True).stdout == "0\n"
    s3.recorder.faults.clear()
    done = ldb("index", "-m", "strict", f"s3://{s3.bucket}/data", check=True)
    assert summary(done.stdout)["New data objects"] == 4


def test_quick_start_never_contacts_the_public_location(ldb, s3, tmp_path, monkeypatch):
    monkeypatch.delenv("LDB_DIR")
    s3.recorder.reset()
    ldb("stage", "ds:x", "-t", "ws", check=True, env={"AWS_ENDPOINT_URL_S3": s3.endpoint})
    assert sum(s3.recorder.requests.values()) == 0


def test_read_add_location_on_s3(ldb, s3, tmp_path, make_image, make_json):
    """Local files outside every location are copied to a read-add location in S3."""
    ldb("add-storage", "-a", "true", f"s3://{s3.bucket}/imports", *s3.storage_options(), check=True)
    make_image(tmp_path / "loose" / "a.png")
    make_json(tmp_path / "loose" / "a.json", {"label": "loose"})
    out = ldb("index", "-m", "strict", str(tmp_path / "loose"), check=True)
    assert summary(out.stdout)["New data objects"] == 1
    s3.fs.invalidate_cache()
    copied = s3.fs.find(f"{s3.bucket}/imports/ldb-autoimport")
    assert sorted(p.rsplit("/", 1)[-1] for p in copied) == ["a.json", "a.png"]
    (row,) = json.loads(ldb("list", "--json", "ds:root", check=True).stdout)
    assert row["path"].startswith(f"s3://{s3.bucket}/imports/ldb-autoimport/")
    assert row["path"].endswith("/a.png")
    got = ldb("instantiate", "ds:root", "-m", "strict", "-t", "back", check=True)
    assert "Data objects:         1" in got.stdout


# paths named inside annotations ----------------------------------------------------------


def other_bucket_task(s3, exists: bool) -> str:
    """A Label Studio export in storage naming an object of a bucket outside storage."""
    s3.fs.mkdir("other-bucket")
    if exists:
        s3.fs.pipe("other-bucket/private/x.png", png_bytes())
    put(s3, "data/tasks.json", [{"data": {"image": "s3://other-bucket/private/x.png"}}])
    return f"s3://{s3.bucket}/data/tasks.json"


def add_location_in_process(instance, s3) -> None:
    from ldb_clone.storage import add_storage

    options = {"client_kwargs": {"endpoint_url": s3.endpoint}, "key": ACCESS_KEY}
    add_storage(instance, f"s3://{s3.bucket}/data", options={**options, "secret": SECRET_KEY})


def other_bucket_requests(s3) -> int:
    return sum(n for (_, path, _), n in s3.recorder.requests.items() if "other-bucket" in path)


@pytest.mark.parametrize("ephemeral_remote", [False, True], ids=["", "ephemeral-remote"])
@pytest.mark.parametrize("exists", [True, False], ids=["existing", "missing"])
def test_a_task_naming_another_bucket_is_refused_before_any_request(
    instance, s3, exists, ephemeral_remote
):
    """--ephemeral-remote copies cloud paths given on the command line, not those an
    annotation names."""
    from ldb_clone.errors import NotInStorageError
    from tests.helpers import current, run_index

    url = other_bucket_task(s3, exists)
    add_location_in_process(instance, s3)
    s3.recorder.reset()
    with pytest.raises(NotInStorageError) as raised:
        run_index(instance, url, fmt="label-studio", ephemeral_remote=ephemeral_remote)
    # the same message whether or not the object exists: nothing was asked
    assert str(raised.value) == (
        f'\'s3://other-bucket/private/x.png\' named in {url} (task 0) at "data"."image" is '
        "outside every storage location (add a storage location that contains it, or set "
        "core.read_any_cloud_location)"
    )
    assert other_bucket_requests(s3) == 0
    assert current(instance) == {}


def test_dot_dot_cannot_climb_out_of_a_cloud_location(instance, s3):
    from ldb_clone.errors import NotInStorageError
    from tests.helpers import run_index

    put(s3, "secret/x.png", png_bytes())
    put(s3, "data/tasks.json", [{"data": {"image": "../secret/x.png"}}])
    add_location_in_process(instance, s3)
    s3.recorder.reset()
    with pytest.raises(NotInStorageError, match=f"s3://{s3.bucket}/secret/x.png"):
        run_index(instance, f"s3://{s3.bucket}/data/tasks.json", fmt="label-studio")
    assert not any("/secret/" in path for (_, path, _) in s3.recorder.requests)


def test_read_any_cloud_location_lets_a_task_name_another_bucket(instance_dir, s3, monkeypatch):
    """The user's explicit trust in every cloud location (options from the environment)."""
    from ldb_clone.instance import open_instance
    from tests.helpers import run_index

    for name, value in outside_env(s3).items():
        monkeypatch.setenv(name, value)
    config = instance_dir / "config"
    config.write_text(
        config.read_text().replace(
            "read_any_cloud_location = false", "read_any_cloud_location = true"
        )
    )
    instance = open_instance(instance_dir)
    try:
        url = other_bucket_task(s3, exists=True)
        add_location_in_process(instance, s3)
        result, _ = run_index(instance, url, fmt="label-studio")
        assert result.finished and result.new_objects == 1
    finally:
        instance.close()


def test_path_filter_matches_the_url_as_listed(ldb, s3):
    """issue 13 item 11: ``--path`` sees ``s3://bucket/key`` as ``list -v`` shows it."""
    pets(s3)
    add_location(ldb, s3)
    ldb("index", "-m", "bare", f"s3://{s3.bucket}/data", check=True)
    assert f"s3://{s3.bucket}/data/p1.png" in ldb("list", "-v", "ds:root", check=True).stdout
    assert ldb("list", "-s", "ds:root", "--path", "^s3://", check=True).stdout == "5\n"
    shown = ldb("list", "-s", "ds:root", "--path", rf"^s3://{s3.bucket}/data/p1\.png$", check=True)
    assert shown.stdout == "1\n"


def test_a_target_in_a_storage_bucket_takes_that_locations_options(ldb, s3):
    """issue 13 item 10: no credentials in the environment; the location's are used."""
    pets(s3)
    add_location(ldb, s3)
    ldb("index", "-m", "strict", f"s3://{s3.bucket}/data", check=True)
    target = f"s3://{s3.bucket}/exports/x"
    out = ldb("instantiate", "ds:root", "-m", "bare", "-t", target)
    assert out.returncode == 0, out.stderr
    s3.fs.invalidate_cache()
    assert len(s3.fs.find(f"{s3.bucket}/exports/x")) == 8


def test_a_target_elsewhere_takes_dash_o_and_the_error_names_what_is_missing(ldb, s3):
    pets(s3)
    add_location(ldb, s3)
    ldb("index", "-m", "strict", f"s3://{s3.bucket}/data", check=True)
    s3.fs.mkdir("other-bucket")
    target = "s3://other-bucket/x"
    endpoint = ["-o", "client_kwargs", f'{{"endpoint_url": "{s3.endpoint}"}}']
    missing = ldb("instantiate", "ds:root", "-t", target, *endpoint)
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"error: Unable to write to {target}: no credentials")
    assert "-o key" in missing.stderr and "-o secret" in missing.stderr
    assert len(missing.stderr.splitlines()) == 1

    given = ldb("instantiate", "ds:root", "-t", target, *s3.storage_options())
    assert given.returncode == 0, given.stderr
    assert SECRET_KEY not in given.stdout + given.stderr
    s3.fs.invalidate_cache()
    assert len(s3.fs.find("other-bucket/x")) == 8


def test_dash_o_is_refused_for_a_local_target(ldb, s3, tmp_path):
    refused = ldb("instantiate", "ds:root", "-t", str(tmp_path / "out"), "-o", "key", "k")
    assert refused.returncode == 2
    assert "-o" in refused.stderr and "cloud" in refused.stderr
