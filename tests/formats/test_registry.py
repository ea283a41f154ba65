"""The format registry: names, aliases, parameters and the errors around them."""

from __future__ import annotations

import pytest

from ldb_clone import formats
from ldb_clone.errors import LdbError
from ldb_clone.indexing import index
from ldb_clone.reporting import Reporter

FULL_NAMES = (
    "strict-pairs",
    "bare-pairs",
    "tensorflow-inferred",
    "annotation-only",
    "label-studio",
    "platform",
    "text",
    "coco",
    "yolo",
)


@pytest.mark.parametrize(
    ("alias", "full"),
    [
        ("auto", "auto-detect"),
        ("strict", "strict-pairs"),
        ("bare", "bare-pairs"),
        ("infer", "tensorflow-inferred"),
        ("annot", "annotation-only"),
        *[(name, name) for name in ("auto-detect", *FULL_NAMES)],
    ],
)
def test_aliases_map_to_full_names(alias, full):
    assert formats.canonical_name(alias) == full


@pytest.mark.parametrize("name", FULL_NAMES)
def test_every_format_loads(name):
    fmt = formats.get_format(name)
    assert fmt.name == name
    assert fmt.parse is not None


def test_unknown_format_is_an_error_listing_choices():
    with pytest.raises(LdbError) as excinfo:
        formats.canonical_name("coco-ish")
    message = str(excinfo.value)
    assert "coco-ish" in message
    for name in FULL_NAMES:
        assert name in message


def test_index_choices_hold_every_name_and_alias():
    choices = formats.index_choices()
    for name in ("auto", "auto-detect", "strict", "bare", "infer", "annot", *FULL_NAMES):
        assert name in choices


@pytest.mark.parametrize(("alias", "full"), [("strict", "strict-pairs"), ("bare", "bare-pairs")])
def test_index_reports_the_full_name(instance, data_dir, make_image, make_json, alias, full):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": 1})
    reporter = Reporter()

    result = index(instance, [str(data_dir)], fmt=alias, reporter=reporter)

    assert result.format == full
    assert reporter.lines[0] == f"Data format: {full}"
    assert not any(line.startswith("Auto-detected") for line in reporter.lines)


def test_unknown_format_cli_is_a_usage_error(ldb, instance, data_dir):
    proc = ldb("index", "-m", "coco-ish", str(data_dir))

    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    for name in ("strict-pairs", "bare-pairs", "tensorflow-inferred", "label-studio"):
        assert name in proc.stderr


def test_malformed_param_cli(ldb, instance, data_dir, make_image):
    make_image(data_dir / "cat" / "1.png")

    proc = ldb("index", "-m", "infer", "-p", "foo", str(data_dir))

    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ")
    assert "foo" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_param_for_a_format_without_params(instance, data_dir, make_image, make_json):
    make_image(data_dir / "a.png")
    make_json(data_dir / "a.json", {"label": 1})

    with pytest.raises(LdbError, match="No parameters are supported for strict-pairs"):
        index(instance, [str(data_dir)], fmt="strict", params={"x": "1"}, reporter=Reporter())


def test_invalid_param_name(instance, data_dir, make_image):
    make_image(data_dir / "cat" / "1.png")

    with pytest.raises(LdbError):
        index(instance, [str(data_dir)], fmt="infer", params={"1bad": "x"}, reporter=Reporter())


def test_invalid_bool_param_value(instance, data_dir, make_json):
    make_json(data_dir / "a.json", [])

    with pytest.raises(LdbError, match="single-file"):
        index(
            instance,
            [str(data_dir)],
            fmt="annot",
            params={"single-file": "maybe"},
            reporter=Reporter(),
        )
