"""ldb_clone.config: reading TOML files, dotted keys, and editing that keeps the user's text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ldb_clone import config
from ldb_clone.errors import ConfigError


def test_global_config_lives_in_the_users_home(isolated_home: Path):
    assert config.global_base() == isolated_home / ".ldb"
    assert config.global_config_path() == isolated_home / ".ldb" / "config"


def test_a_missing_file_is_an_empty_config(tmp_path: Path):
    assert config.load(tmp_path / "nothing") == {}


def test_load_reads_tables_and_values(tmp_path: Path):
    path = tmp_path / "config"
    path.write_text('[core]\nldb_dir = "/data/ldb"\nauto_index = true\n', encoding="utf-8")
    assert config.load(path) == {"core": {"ldb_dir": "/data/ldb", "auto_index": True}}


@pytest.mark.parametrize(
    "content",
    [b"[core\nx = 1\n", b"key = \n", b"[core]\nname = '\xff\xfe'\n"],
    ids=["unclosed table", "missing value", "not utf-8"],
)
def test_invalid_toml_names_the_file(tmp_path: Path, content: bytes):
    path = tmp_path / "config"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=f"Invalid TOML in config file '{path}'"):
        config.load(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_names_the_file(tmp_path: Path):
    path = tmp_path / "config"
    path.write_text("[core]\n", encoding="utf-8")
    path.chmod(0)
    with pytest.raises(ConfigError, match=f"Unable to read config file '{path}'"):
        config.load(path)


def test_a_folder_in_place_of_the_file_is_an_error(tmp_path: Path):
    path = tmp_path / "config"
    path.mkdir()
    with pytest.raises(ConfigError, match=f"Unable to read config file '{path}'"):
        config.load(path)


def test_get_follows_dotted_keys():
    cfg = {"core": {"ldb_dir": "/x", "nested": {"deep": 0}}, "flat": "value"}
    assert config.get(cfg, "core.ldb_dir") == "/x"
    assert config.get(cfg, "core.nested.deep") == 0
    assert config.get(cfg, "flat") == "value"
    assert config.get(cfg, "core") == {"ldb_dir": "/x", "nested": {"deep": 0}}


@pytest.mark.parametrize("key", ["missing", "core.missing", "flat.below", "core.ldb_dir.x"])
def test_get_gives_the_default_for_what_is_not_there(key: str):
    cfg = {"core": {"ldb_dir": "/x"}, "flat": "value"}
    assert config.get(cfg, key) is None
    assert config.get(cfg, key, default=7) == 7


def test_edit_creates_the_file_and_its_folder(tmp_path: Path):
    path = tmp_path / "new" / "config"
    with config.edit(path) as doc:
        config.set_key(doc, "core.auto_index", True)
        config.set_key(doc, "core.hash_algorithm", "md5")
        config.set_key(doc, "top", 3)
    assert config.load(path) == {"top": 3, "core": {"auto_index": True, "hash_algorithm": "md5"}}
    assert [p.name for p in path.parent.iterdir()] == ["config"]  # no temporary file left


def test_edit_keeps_comments_layout_and_other_keys(tmp_path: Path):
    path = tmp_path / "config"
    original = '# my settings\n[core]\nldb_dir = "/data"  # where it lives\n\n[other]\nx = 1\n'
    path.write_text(original, encoding="utf-8")
    with config.edit(path) as doc:
        config.set_key(doc, "core.auto_index", False)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('# my settings\n[core]\nldb_dir = "/data"  # where it lives\n')
    assert "[other]\nx = 1\n" in text
    assert config.load(path)["core"] == {"ldb_dir": "/data", "auto_index": False}


def test_set_key_replaces_a_value_and_creates_nested_tables(tmp_path: Path):
    path = tmp_path / "config"
    path.write_text('[core]\nldb_dir = "/old"\n', encoding="utf-8")
    with config.edit(path) as doc:
        config.set_key(doc, "core.ldb_dir", "/new")
        config.set_key(doc, "a.b.c", "deep")
    assert config.load(path) == {"core": {"ldb_dir": "/new"}, "a": {"b": {"c": "deep"}}}


def test_edit_of_invalid_toml_leaves_the_file_alone(tmp_path: Path):
    path = tmp_path / "config"
    path.write_text("[core\n", encoding="utf-8")
    expected = f"Invalid TOML in config file '{path}'"
    with pytest.raises(ConfigError, match=expected), config.edit(path) as doc:
        config.set_key(doc, "core.x", 1)
    assert path.read_text(encoding="utf-8") == "[core\n"


def test_an_exception_while_editing_writes_nothing(tmp_path: Path):
    path = tmp_path / "config"
    path.write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(RuntimeError), config.edit(path) as doc:
        config.set_key(doc, "x", 2)
        raise RuntimeError("interrupted")
    assert path.read_text(encoding="utf-8") == "x = 1\n"


def test_a_failed_write_is_a_config_error_and_leaves_the_old_file(tmp_path, monkeypatch):
    (tmp_path / "settings").mkdir()
    path = tmp_path / "settings" / "config"
    path.write_text("x = 1\n", encoding="utf-8")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    expected = f"Unable to write config file '{path}': No space"
    with pytest.raises(ConfigError, match=expected), config.edit(path) as doc:
        config.set_key(doc, "x", 2)
    assert path.read_text(encoding="utf-8") == "x = 1\n"
    assert [p.name for p in path.parent.iterdir()] == ["config"]  # the temporary file is gone


def test_edit_of_a_folder_in_place_of_the_file_says_so(tmp_path: Path):
    path = tmp_path / "config"
    path.mkdir()
    expected = f"Unable to read config file '{path}': Is a directory"
    with pytest.raises(ConfigError, match=expected), config.edit(path) as doc:
        config.set_key(doc, "core.x", 1)
    assert path.is_dir()
