"""The stats of the page as inline SVG bar charts (no script, no network)."""

from __future__ import annotations

from html import escape

from ldb_clone.stats import SelectionStats

MAX_BARS = 15
ROW = 18  # px per bar
LABEL_WIDTH = 130
BAR_WIDTH = 170
CHARTS = (
    ("labels", "Labels"),
    ("boxes", "Boxes per class"),
    ("entities", "Entities per type"),
    ("relations", "Relations per type"),
    ("splits", "Splits"),
    ("file_types", "File types"),
    ("tags", "Tags"),
)


def bar_chart(title: str, counts: dict[str, int], colors: dict[str, str]) -> str:
    items = list(counts.items())[:MAX_BARS]
    largest = max((n for _, n in items), default=1) or 1
    height = ROW * len(items) + 4
    width = LABEL_WIDTH + BAR_WIDTH + 60
    rows = []
    for row, (name, count) in enumerate(items):
        y = row * ROW + 2
        length = max(1.0, BAR_WIDTH * count / largest)
        shown = name if len(name) <= 18 else name[:17] + "…"
        rows.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 12}" text-anchor="end">{escape(shown)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 2}" width="{length:.1f}" height="{ROW - 5}" '
            f'fill="{colors.get(name, "#6b8fb5")}"><title>{escape(name)}: {count}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 12}">{count:,}</text>'
        )
    more = len(counts) - len(items)
    caption = f"{escape(title)}" + (f" <small>({more} more)</small>" if more > 0 else "")
    return (
        f'<figure class="chart"><figcaption>{caption}</figcaption>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">{"".join(rows)}</svg></figure>'
    )


def charts(stats: SelectionStats, colors: dict[str, str]) -> str:
    data = stats.to_json()
    return "".join(bar_chart(title, data[key], colors) for key, title in CHARTS if data[key])
