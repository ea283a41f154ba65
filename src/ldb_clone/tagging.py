"""``ldb tag``: edit the global tags of data objects.

Tags belong to a data object, not to a dataset: tagging an object selected through any
source changes what ``--tag``/``--no-tag`` and ``--file 'tags'`` see everywhere. Tags are
kept sorted and unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ldb_clone.errors import LdbError
from ldb_clone.instance import Instance

TAG_PATTERN = re.compile(r"^[^\s,]+$")


def split_tags(text: str) -> list[str]:
    """One comma-separated tag list, in order; a tag is non-empty, without spaces."""
    tags = [tag.strip() for tag in text.split(",")]
    for tag in tags:
        if not TAG_PATTERN.match(tag):
            raise LdbError(f"Invalid tag: {tag!r} (tags are non-empty, without spaces or commas)")
    return tags


def parse_tags(values: Iterable[str]) -> list[str]:
    """Comma-separated tag lists (``--add-tags a,b --add-tags c``) -> sorted unique tags."""
    return sorted({tag for value in values for tag in split_tags(value)})


@dataclass(frozen=True, slots=True)
class TagUpdate:
    """What to do to each object's tags: add then remove, or replace them all."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    set_tags: tuple[str, ...] | None = None  # None: add and remove

    @classmethod
    def parse(
        cls,
        add: Iterable[str] | None = None,
        remove: Iterable[str] | None = None,
        set_tags: Iterable[str] | None = None,
    ) -> TagUpdate:
        """Comma-separated tag lists (each option repeatable) -> a checked update."""
        add, remove = list(add or ()), list(remove or ())
        set_list = list(set_tags or ())
        if set_list and (add or remove):
            raise LdbError("Cannot use --add or --remove along with --set")
        if not (add or remove or set_list):
            raise LdbError("Must provide at least one tag update option: --add, --remove, or --set")
        return cls(
            tuple(parse_tags(add)),
            tuple(parse_tags(remove)),
            tuple(parse_tags(set_list)) if set_list else None,
        )

    def apply(self, tags: Iterable[str]) -> list[str]:
        """The tags an object with ``tags`` ends up with (sorted, unique)."""
        result = set(self.set_tags) if self.set_tags is not None else set(tags)
        result.update(self.add)
        result.difference_update(self.remove)
        return sorted(result)


@dataclass(slots=True)
class TagResult:
    data_objects: int = 0
    num_updated: int = 0

    def format(self) -> str:
        return (
            "Tagging data objects\n"
            f"  Data objects: {self.data_objects:8d}\n"
            f"  Num updated:  {self.num_updated:8d}"
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def require_selection(sources: Sequence[str], filters: Sequence[Any]) -> None:
    """Tagging everything must be asked for: a source (``ds:root``) or a filter."""
    if not sources and not filters:
        raise LdbError("Must provide either a query or at least one path")


def tag_objects(instance: Instance, object_ids: Iterable[str], update: TagUpdate) -> TagResult:
    """Apply ``update`` to every object in one catalog transaction."""
    ids = set(object_ids)
    if update.set_tags is not None:
        changed = instance.catalog.edit_object_tags(ids, update.set_tags, replace=True)
    else:
        # removing wins over adding the same tag, as upstream (add first, then remove)
        add = set(update.add) - set(update.remove)
        changed = instance.catalog.edit_object_tags(ids, add, update.remove)
    return TagResult(len(ids), changed)
