"""``ldb view``: a static, offline HTML page of a selection, written into a folder.

The folder holds ``index.html`` (the page: inline CSS, script and SVG charts),
``data.js`` (every object as a compact record), ``thumbs/`` (JPEG thumbnails),
``annotations/`` (each annotation's JSON, by annotation id) and, with ``copy``,
``images/`` (the full files). It is built in a staging folder and swapped in whole.
"""

from __future__ import annotations

import colorsys
import json
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ldb_clone.errors import LdbError
from ldb_clone.instance import Instance
from ldb_clone.reporting import Reporter
from ldb_clone.selection import Member
from ldb_clone.view.collect import Card, cards_of, read_texts

__all__ = ["ViewError", "ViewResult", "diff_members", "write_view"]

MARKERS = ("index.html", "data.js")  # what tells a folder holds an earlier view


class ViewError(LdbError):
    pass


@dataclass(slots=True)
class ViewResult:
    path: Path
    objects: int
    thumbnails: int
    texts: int
    without_preview: int
    changes: dict[str, int] | None = None


def diff_members(
    old: Sequence[Member], new: Sequence[Member]
) -> list[tuple[Member, str, str | None]]:
    """(member shown, change, annotation before) of the union of two selections, by id:
    ``+`` only in ``new``, ``-`` only in ``old``, ``m`` another annotation, ``""`` same."""
    before = {m.object_id: m for m in old}
    after = {m.object_id: m for m in new}
    rows = []
    for oid in sorted(before.keys() | after.keys()):
        if oid not in before:
            rows.append((after[oid], "+", None))
        elif oid not in after:
            rows.append((before[oid], "-", None))
        elif before[oid].annotation_id != after[oid].annotation_id:
            rows.append((after[oid], "m", before[oid].annotation_id))
        else:
            rows.append((after[oid], "", None))
    return rows


def write_view(
    instance: Instance,
    members: Sequence[Member],
    out: Path,
    title: str = "ldb view",
    copy: bool = False,
    old_members: Sequence[Member] | None = None,
    reporter: Reporter | None = None,
) -> ViewResult:
    """Write the view of ``members`` (or, with ``old_members``, of the changes from
    those to ``members``) into the folder ``out``."""
    from ldb_clone.stats import selection_stats
    from ldb_clone.view.charts import charts
    from ldb_clone.view.page import PAGE_SIZE, index_html

    reporter = reporter or Reporter()
    staging, finish = _staging(out)
    try:
        changes = None
        if old_members is not None:
            rows = diff_members(old_members, members)
            shown = [m for m, _, _ in rows]
            changes = dict(Counter(change or "=" for _, change, _ in rows))
        else:
            shown = list(members)
        values = _annotation_values(instance, shown, rows if old_members is not None else ())
        cards = cards_of(instance, shown, values)
        if old_members is not None:
            for card, (_, change, before) in zip(cards, rows):
                card.change, card.old_annotation_id = change, before
        _write_annotations(staging, values)
        thumbs = _write_thumbnails(instance, staging, cards, reporter)
        read_texts(instance, cards)
        _set_hrefs(instance, staging, cards, copy)
        stats = selection_stats(instance, shown)
        colors = _palette(cards)
        data = {
            "pageSize": PAGE_SIZE,
            "colors": colors,
            "labels": list(colors),
            "objects": [card.to_json() for card in cards],
        }
        _write_text(staging / "data.js", "window.LDB_VIEW = " + _compact(data) + ";\n")
        from ldb_clone.stats_render import overview_rows

        counts = overview_rows(stats)
        if changes is not None:
            names = {"+": "added", "-": "removed", "m": "changed", "=": "unchanged"}
            counts += [(names[k], str(v)) for k, v in sorted(changes.items())]
        page = index_html(title, counts, charts(stats, colors), old_members is not None)
        _write_text(staging / "index.html", page)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finish()
    texts = sum(1 for c in cards if c.segments is not None)
    return ViewResult(out, len(cards), thumbs, texts, len(cards) - thumbs - texts, changes)


def _staging(out: Path) -> tuple[Path, Any]:
    """A folder to build the view in, and the function that swaps it into ``out``."""
    from ldb_clone import swap

    if out.exists() and not out.is_dir():
        raise ViewError(f"Output folder '{out}' is a file")
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        swap.remove_sibling_leftovers(out)
        staging = swap.new_sibling_staging(out)
        return staging, lambda: os.rename(staging, out)
    swap.recover(out)
    entries = [e for e in os.listdir(out) if not e.startswith(".")]
    if entries and not all((out / name).is_file() for name in MARKERS):
        raise ViewError(
            f"Output folder '{out}' is not empty and holds no earlier view; "
            "give a new or empty folder"
        )
    staging = swap.new_staging(out)
    # NOTE: hidden entries stay (a .git of a folder published as a site, for example)
    hidden = [name for name in os.listdir(out) if name.startswith(".") and name != staging.name]
    return staging, lambda: swap.replace_contents(out, staging, swap.REPLACE, keep=hidden)


def _annotation_values(
    instance: Instance, members: Sequence[Member], rows: Sequence[Any]
) -> dict[str, Any]:
    ids = {m.annotation_id for m in members if m.annotation_id}
    ids |= {before for _, _, before in rows if before}
    texts = instance.catalog.annotation_texts(ids)
    return {aid: json.loads(text) for aid, text in texts.items()}


def _write_annotations(staging: Path, values: dict[str, Any]) -> None:
    folder = staging / "annotations"
    folder.mkdir()
    for aid, value in values.items():
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        (folder / f"{aid}.json").write_text(text, encoding="utf-8")


def _write_thumbnails(
    instance: Instance, staging: Path, cards: Sequence[Card], reporter: Reporter
) -> int:
    from ldb_clone.storage import load_locations, options_for
    from ldb_clone.view.thumbs import ThumbJob, make_thumbnails

    folder = staging / "thumbs"
    folder.mkdir()
    wanted = [c for c in cards if c.path is not None and not c.is_text]
    jobs = [ThumbJob(c.protocol, c.path, str(folder / f"{c.object_id}.jpg")) for c in wanted]
    locations = load_locations(instance)
    progress = reporter.progress("Thumbnails", len(jobs), 0)
    try:
        sizes = make_thumbnails(
            jobs,
            lambda protocol, path: options_for(locations, protocol, path),
            advance=lambda n: progress.advance(n),
        )
    finally:
        progress.close()
    made = 0
    for card, size in zip(wanted, sizes):
        if size is not None:
            card.size, card.thumb = size, f"thumbs/{card.object_id}.jpg"
            made += 1
    return made


def _set_hrefs(instance: Instance, staging: Path, cards: Sequence[Card], copy: bool) -> None:
    """Where a click on a card goes: a copy beside the page, or the file where it is."""
    from ldb_clone.fs import LOCAL, get_fsspec
    from ldb_clone.storage import load_locations, options_for

    if copy:
        (staging / "images").mkdir()
        locations = load_locations(instance)
    for card in cards:
        if card.path is None:
            continue
        if not copy:
            card.href = Path(card.path).as_uri() if card.protocol == LOCAL else card.url
            continue
        suffix = f".{card.file_type}" if card.file_type else ""
        dest = staging / "images" / f"{card.object_id}{suffix}"
        try:
            if card.protocol == LOCAL:
                shutil.copyfile(card.path, dest)
            else:
                options = options_for(locations, card.protocol, card.path)
                get_fsspec(card.protocol, options).get_file(card.path, str(dest))
        except OSError as exc:
            raise ViewError(f"Unable to copy '{card.url}': {exc.strerror or exc}") from exc
        card.href = f"images/{dest.name}"


def _palette(cards: Sequence[Card]) -> dict[str, str]:
    """A colour per label, box class and entity type, the most frequent first."""
    counts: Counter = Counter()
    for card in cards:
        counts.update(card.filter_labels())
    names = sorted(counts, key=lambda name: (-counts[name], name))
    colors = {}
    for n, name in enumerate(names):
        hue = (n * 0.618033988749895) % 1.0  # golden-angle steps keep neighbours apart
        r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.75)
        colors[name] = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
    return colors


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
