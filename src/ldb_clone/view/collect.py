"""What the page shows of each object: its file, label, boxes, text with entities."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ldb_clone.fs import LOCAL, join_url
from ldb_clone.instance import Instance
from ldb_clone.selection import Member

MAX_TEXT = 5000  # characters of a text document shown on its card
TEXT_TYPES = ("txt", "md", "text")  # file suffixes, not format names


@dataclass(slots=True)
class Card:
    """One object on the page (``to_json`` is its record in data.js)."""

    object_id: str
    annotation_id: str | None
    protocol: str | None
    path: str | None
    file_type: str
    change: str = ""  # "+" added, "-" removed, "m" changed, "" neither (with --diff)
    old_annotation_id: str | None = None  # a changed object's annotation before
    label: str | None = None
    boxes: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    size: tuple[int, int] | None = None  # the image's own size, once its thumbnail is made
    thumb: str | None = None  # relative href
    href: str | None = None  # the full file: relative (--copy) or a URL
    segments: list[tuple[str, str | None]] | None = None  # (text, entity type or None)
    relations: list[tuple[str, str, str]] = field(default_factory=list)
    entity_types: list[str] = field(default_factory=list)
    spans: list[Any] = field(default_factory=list)  # formats.summary.EntitySpan

    @property
    def url(self) -> str | None:
        if self.protocol is None or self.path is None:
            return None
        return join_url(self.protocol, self.path)

    @property
    def is_text(self) -> bool:
        return self.segments is not None or self.file_type in TEXT_TYPES

    def filter_labels(self) -> list[str]:
        """Everything the page's label filter matches this card by."""
        found = dict.fromkeys(([self.label] if self.label else []) + [b[0] for b in self.boxes])
        found.update(dict.fromkeys(self.entity_types))
        return list(found)

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"i": self.object_id, "t": self.file_type}
        optional = {
            "c": self.change,
            "l": self.label,
            # NOTE: ids, not paths: the page builds annotations/<id>.json and
            # thumbs/<object id>.jpg, which keeps data.js small for 50,000 objects
            "a": self.annotation_id,
            "o": self.old_annotation_id,
            "h": self.href,
            "m": 1 if self.thumb else None,
            "s": list(self.size) if self.size and self.thumb else None,
            "b": [list(box) for box in self.boxes] if self.size and self.thumb else None,
            "x": [list(s) for s in self.segments] if self.segments is not None else None,
            "r": [list(r) for r in self.relations] or None,
            "f": self.filter_labels() or None,
        }
        record.update((key, value) for key, value in optional.items() if value)
        return record


def cards_of(instance: Instance, members: Sequence[Member], values: dict[str, Any]) -> list[Card]:
    """A card per member; ``values`` maps annotation ids to their parsed JSON."""
    from ldb_clone.formats.shapes import read_shapes
    from ldb_clone.formats.summary import entity_spans, summarize

    infos = instance.catalog.object_infos(m.object_id for m in members)
    cards = []
    for m in members:
        info = infos.get(m.object_id)
        card = Card(
            m.object_id,
            m.annotation_id,
            info.protocol if info else None,
            info.path if info else None,
            (info.type if info else "") or "",
        )
        value = values.get(m.annotation_id) if m.annotation_id else None
        if value is not None:
            summary = summarize(value)
            card.label = summary.label
            card.entity_types = list(dict.fromkeys(summary.entities))
            shapes = read_shapes(value, classes=False)
            if shapes is not None:
                card.boxes = [(b.label, b.x, b.y, b.w, b.h) for b in shapes.boxes]
            key, spans = entity_spans(value)
            if key is not None:
                card.segments = []  # filled with the text (view.texts)
                card.relations = _relations(value, key)
                card.spans = spans
        cards.append(card)
    return cards


def _relations(doc: dict[str, Any], key: str) -> list[tuple[str, str, str]]:
    """(type, source entity's text, target entity's text) of each relation."""
    from ldb_clone.formats.text.document import entries, stated_content
    from ldb_clone.formats.text.label_studio import relation_labels

    texts = {}
    for entry in entries(doc, "annotationsData", key):
        if isinstance(entry, dict) and "id" in entry:
            stated = stated_content(entry)
            texts[entry["id"]] = stated[1] if stated else str(entry["id"])
    found = []
    for relation in entries(doc, "relations", key):
        if not isinstance(relation, dict):
            continue
        labels = relation_labels(relation)
        source = texts.get(relation.get("annotationId"), str(relation.get("annotationId")))
        target = texts.get(relation.get("targetAnnotationId"), "?")
        found.append((str(labels[0]) if labels else "relation", source, target))
    return found


def segments(text: str, spans: Sequence[Any]) -> list[tuple[str, str | None]]:
    """The text cut into (piece, entity type or None) at every entity boundary, up to
    MAX_TEXT characters. Offsets are Python str indices (code points), so the cut is done
    here rather than by the page's JavaScript (which counts UTF-16 units).

    Where entities overlap, a piece is marked with the type of the first that starts."""
    text = text[:MAX_TEXT]
    bounds = sorted(
        {
            0,
            len(text),
            *(min(s.start, len(text)) for s in spans),
            *(min(s.end, len(text)) for s in spans),
        }
    )
    pieces: list[tuple[str, str | None]] = []
    for start, end in itertools.pairwise(bounds):
        if start == end:
            continue
        covering = next((s.type for s in spans if s.start <= start and end <= s.end), None)
        if pieces and pieces[-1][1] == covering and covering is None:
            pieces[-1] = (pieces[-1][0] + text[start:end], None)
        else:
            pieces.append((text[start:end], covering))
    return pieces


def read_texts(instance: Instance, cards: Sequence[Card]) -> None:
    """Fill in the text (cut at entities) of each text card, read from its file."""
    from concurrent.futures import ThreadPoolExecutor

    from ldb_clone.fs import get_fsspec
    from ldb_clone.storage import load_locations, options_for

    locations = load_locations(instance)

    def read(card: Card) -> bytes | None:
        try:
            if card.protocol == LOCAL:
                with open(card.path, "rb") as f:  # type: ignore[arg-type]
                    return f.read(MAX_TEXT * 4)
            options = options_for(locations, card.protocol, card.path)  # type: ignore[arg-type]
            return get_fsspec(card.protocol, options).cat_file(card.path, end=MAX_TEXT * 4)
        except (OSError, ValueError):
            return None

    wanted = [c for c in cards if c.is_text and c.path is not None]
    with ThreadPoolExecutor(max_workers=16) as pool:
        for card, data in zip(wanted, pool.map(read, wanted)):
            text = data.decode("utf-8", errors="replace") if data is not None else ""
            card.segments = segments(text, card.spans)
