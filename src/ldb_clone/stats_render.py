"""``ldb stats`` for people: compact rich tables, each distribution with horizontal bars."""

from __future__ import annotations

from typing import Any

from ldb_clone.stats import SelectionStats

BAR_WIDTH = 30
MAX_ROWS = 20  # rows shown per distribution; the rest are summed up in one line
DISTRIBUTIONS = (
    ("labels", "Labels"),
    ("boxes", "Boxes per class"),
    ("entities", "Entities per type"),
    ("relations", "Relations per type"),
    ("splits", "Splits"),
    ("annotation_versions", "Annotation versions"),
    ("tags", "Tags"),
    ("file_types", "File types"),
)


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def bar(count: int, largest: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar, in eighths of a character."""
    if largest <= 0:
        return ""
    eighths = round(width * 8 * count / largest)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if rest == 0 else " ▏▎▍▌▋▊▉"[rest])


def overview_rows(stats: SelectionStats) -> list[tuple[str, str]]:
    spread = stats.box_spread()
    rows = [
        ("objects", f"{stats.objects:,}"),
        ("labelled", f"{stats.labelled:,}"),
        ("unlabelled", f"{stats.unlabelled:,}"),
        ("bytes", human_bytes(stats.bytes)),
    ]
    if spread["max"] is not None:
        low, middle, high = spread["min"], spread["median"], spread["max"]
        rows.append(("boxes per image", f"min {low}  median {middle:g}  max {high}"))
    return rows


def render(stats: SelectionStats, console: Any = None) -> None:
    """Print the tables (to stdout, or ``console``)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(highlight=False)
    overview = Table(show_header=False, box=None, pad_edge=False)
    overview.add_column(style="bold")
    overview.add_column(justify="right")
    for name, value in overview_rows(stats):
        overview.add_row(name, value)
    console.print(overview)
    data = stats.to_json()
    for key, title in DISTRIBUTIONS:
        counts: dict[str, int] = data[key]
        if not counts:
            continue
        console.print()
        console.print(distribution_table(title, counts))


def distribution_table(title: str, counts: dict[str, int]) -> Any:
    from rich.table import Table
    from rich.text import Text

    from ldb_clone.terminal_text import printable

    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    table.add_column("value", no_wrap=True, max_width=40, overflow="ellipsis")
    table.add_column("count", justify="right")
    table.add_column("", no_wrap=True, style="cyan")
    largest = max(counts.values())
    items = list(counts.items())
    for name, count in items[:MAX_ROWS]:
        table.add_row(Text(printable(str(name))), f"{count:,}", bar(count, largest))
    if len(items) > MAX_ROWS:
        rest = items[MAX_ROWS:]
        table.add_row(Text(f"({len(rest)} more)"), f"{sum(n for _, n in rest):,}", "")
    return table
