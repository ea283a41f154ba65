"""``ldb formats``: what every registered format is, from the plug-ins' own declarations."""

from __future__ import annotations

from typing import Any

from ldb_clone.formats import all_formats
from ldb_clone.formats.base import Format


def describe(fmt: Format) -> dict[str, Any]:
    """One format as ``ldb formats --json`` lists it."""
    return {
        "name": fmt.name,
        "aliases": list(fmt.aliases),
        "index": fmt.parse is not None,
        "instantiate": fmt.export is not None,
        "carries": list(fmt.carries),
        "description": fmt.description,
        "params": [
            {"name": key, "default": param.default, "help": param.help}
            for key, param in fmt.params.items()  # type: ignore[union-attr]
        ],
    }


def describe_all() -> list[dict[str, Any]]:
    return [describe(fmt) for fmt in all_formats()]


def format_text(rows: list[dict[str, Any]]) -> str:
    """The listing for people: a block per format, its parameters indented below it."""
    blocks = []
    for row in rows:
        does = [word for word in ("index", "instantiate") if row[word]]
        lines = [row["name"] + (f" ({', '.join(row['aliases'])})" if row["aliases"] else "")]
        lines.append(f"  {row['description']}")
        lines.append(f"  {' and '.join(does) or 'nothing'}; carries {', '.join(row['carries'])}")
        for param in row["params"]:
            default = "" if param["default"] is None else f" (default: {param['default']})"
            lines.append(f"  -p {param['name']}=...{default}: {param['help']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
