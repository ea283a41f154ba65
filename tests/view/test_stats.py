"""ldb stats: the counts of a selection, through the library and the command line."""

from __future__ import annotations

import json
from collections import Counter

from typer.testing import CliRunner

from ldb_clone.cli import app
from ldb_clone.filters import select_filtered
from ldb_clone.stats import selection_stats, weighted_median
from ldb_clone.stats_render import bar
from tests.helpers import catalog_sql
from tests.view.conftest import IMAGES

BOX_LABELS = Counter(box[0] for _, boxes in IMAGES for box in boxes)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_stats_of_root_counts_every_kind_of_object(instance, sample):
    stats = selection_stats(instance, select_filtered(instance, ["ds:root"], []))
    data = stats.to_json()
    assert data["objects"] == len(IMAGES) + 2
    assert data["annotated"] == len(IMAGES) + 1  # the bare image has none
    assert (data["labelled"], data["unlabelled"]) == (len(IMAGES) + 1, 1)
    assert data["labels"] == {"cat": 2, "dog": 2, "bird": 1}
    assert data["boxes"] == dict(BOX_LABELS)
    assert data["entities"] == {"LOC": 1, "ORG": 1, "PER": 1}
    assert data["relations"] == {"affiliation": 1}
    assert data["splits"] == {"train": 3, "val": 2}
    assert data["boxes_per_image"] == {"min": 0, "median": 1.0, "max": 3}
    assert data["annotation_versions"] == {"1": len(IMAGES) + 1}
    assert data["file_types"] == {"png": len(IMAGES) + 1, "txt": 1}
    files = [*sample.images.glob("*.png"), *sample.texts.glob("*.txt"), *sample.extra.iterdir()]
    assert data["bytes"] == sum(path.stat().st_size for path in files)


def test_summaries_are_kept_and_reused(instance, sample):
    members = select_filtered(instance, ["ds:root"], [])
    first = selection_stats(instance, members).to_json()
    stored = catalog_sql(instance.catalog, "SELECT count(*) FROM annotation_summaries")
    assert stored[0][0] == len(IMAGES) + 1
    catalog_sql(
        instance.catalog,
        "UPDATE annotation_summaries SET summary = json_set(summary, '$[0]', 'kept')",
        postgres="UPDATE annotation_summaries "
        "SET summary = jsonb_set(summary::jsonb, '{0}', '\"kept\"')::text",
    )
    again = selection_stats(instance, members).to_json()
    assert again["labels"] == {"kept": len(IMAGES) + 1}  # read back, not recomputed
    assert again["objects"] == first["objects"]


def test_filters_and_tags_narrow_the_counts(instance, sample):
    assert run("tag", f"id:{sample.image_ids[0]}", f"id:{sample.image_ids[1]}", "--add", "hard")
    result = run("stats", "ds:root", "--query", "label == `cat`", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["objects"] == 2
    assert data["labels"] == {"cat": 2}
    assert data["boxes"] == {"cat": 2, "dog": 1}
    assert data["tags"] == {"hard": 2}
    assert data["file_types"] == {"png": 2}


def test_stats_table_for_people(instance, sample):
    result = run("stats", "ds:root")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["objects", str(len(IMAGES) + 2)] for line in lines)
    assert any(line.startswith("Boxes per class") for line in lines)
    cat_row = next(line for line in lines if line.split()[:2] == ["cat", "2"])
    assert "█" * 30 in cat_row  # the largest label has the full bar


def test_stats_of_a_missing_dataset_is_one_error_line(instance, sample):
    result = run("stats", "ds:nothing")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_weighted_median_and_bars():
    assert weighted_median(Counter({0: 1, 1: 1, 3: 1})) == 1
    assert weighted_median(Counter({1: 2, 5: 2})) == 3
    assert bar(5, 10, width=4) == "██"
    assert bar(1, 16, width=2) == "▏"


def test_a_pool_of_processes_summarises_many_batches_alike(instance, sample, monkeypatch):
    import ldb_clone.stats as stats_module

    members = select_filtered(instance, ["ds:root"], [])
    serial = selection_stats(instance, members).to_json()
    catalog_sql(instance.catalog, "DELETE FROM annotation_summaries")
    monkeypatch.setattr(stats_module, "BATCH", 2)
    monkeypatch.setattr(stats_module, "POOL_MIN_BATCHES", 1)
    assert selection_stats(instance, members).to_json() == serial


def test_root_stats_in_sql_equal_the_member_count(instance, sample):
    from ldb_clone.stats import root_stats

    assert run("tag", f"id:{sample.image_ids[0]}", "--add", "hard").exit_code == 0
    by_members = selection_stats(instance, select_filtered(instance, ["ds:root"], [])).to_json()
    catalog_sql(instance.catalog, "DELETE FROM annotation_summaries")
    assert root_stats(instance).to_json() == by_members
    assert root_stats(instance).to_json() == by_members  # with the summaries kept
    result = run("stats", "ds:root", "--json")
    assert json.loads(result.stdout) == json.loads(json.dumps(by_members))


def test_many_missing_summaries_are_read_by_one_scan(instance, sample, monkeypatch):
    import ldb_clone.catalog.sqlite_stats as catalog_module
    import ldb_clone.stats as stats_module

    members = select_filtered(instance, ["ds:root"], [])
    expected = selection_stats(instance, members).to_json()
    catalog_sql(instance.catalog, "DELETE FROM annotation_summaries")
    monkeypatch.setattr(catalog_module, "SCAN_THRESHOLD", 1)
    monkeypatch.setattr(stats_module, "BATCH", 2)  # stores between reads of the scan
    assert selection_stats(instance, members).to_json() == expected


def test_indexing_keeps_the_summaries_stats_reads(instance, sample):
    """ldb index stores each new annotation's summary with it, so a first ldb stats of a
    large catalog parses nothing; the stored ones equal what stats computes itself."""
    stored = dict(
        catalog_sql(
            instance.catalog,
            "SELECT a.id, s.summary FROM annotation_summaries s "
            "JOIN annotations a ON a.pk = s.annotation",
        )
    )
    annotation_ids = {m.annotation_id for m in select_filtered(instance, ["ds:root"], [])}
    assert stored.keys() == annotation_ids - {None}
    catalog_sql(instance.catalog, "DELETE FROM annotation_summaries")
    from ldb_clone.stats import summary_texts

    assert summary_texts(instance, stored.keys()) == stored
