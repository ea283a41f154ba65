"""What ``ldb stats`` and ``ldb view`` count in one annotation, whatever format indexed it.

``summarize`` reads the classification label, the box labels and the split through
``shapes.read_shapes`` (plain, tensorflow-inferred, coco, yolo, voc, platform, Label
Studio), and the entity and relation types of a text-annotator document. ``entity_spans``
gives where each entity of a document sits in its text, for highlighting.

``ldb stats`` stores a summary per annotation id (annotations are content-addressed, so a
summary never goes stale) as the compact JSON of ``to_list`` (see ``stats``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ldb_clone.formats.shapes import read_shapes


@dataclass(slots=True)
class Summary:
    label: str | None = None
    # the label of each box; None when the annotation holds no box list (an image known
    # to have no boxes has an empty one)
    boxes: list[str] | None = None
    entities: list[str] = field(default_factory=list)  # the type of each entity
    relations: list[str] = field(default_factory=list)  # the type of each relation
    split: str | None = None

    def to_list(self) -> list[Any]:
        return [self.label, self.boxes, self.entities, self.relations, self.split]

    @classmethod
    def from_list(cls, value: list[Any]) -> Summary:
        return cls(*value)


def summarize(annotation: Any) -> Summary:
    """The label, boxes, entities, relations and split of an annotation value."""
    from ldb_clone.formats.text.document import looks_like_document

    if looks_like_document(annotation):
        return _document(annotation)
    shapes = read_shapes(annotation, classes=False)
    if shapes is None:
        return Summary()
    boxes = [box.label for box in shapes.boxes]
    has_boxes = boxes or isinstance(annotation.get("boxes"), list)
    if not has_boxes and annotation.get("task_type") == "object_detection":  # platform
        has_boxes = True
    return Summary(shapes.label, boxes if has_boxes else None, split=shapes.split)


def _document(doc: dict[str, Any]) -> Summary:
    from ldb_clone.formats.text.document import entries, text_keys
    from ldb_clone.formats.text.label_studio import (
        choice_fields,
        entity_labels,
        is_classification,
        relation_labels,
    )

    summary = Summary()
    for key in text_keys(doc):
        for annotation in entries(doc, "annotations", key):
            if not isinstance(annotation, dict):
                continue
            if is_classification(annotation):
                values = [v for vs in choice_fields(annotation).values() for v in vs]
                if values and summary.label is None:
                    summary.label = "/".join(values)
            else:
                summary.entities.append(str(entity_labels(annotation)[0]))
        for relation in entries(doc, "relations", key):
            if isinstance(relation, dict):
                labels = relation_labels(relation)
                summary.relations.append(str(labels[0]) if labels else "relation")
    split = doc.get("split")
    summary.split = split if isinstance(split, str) else None
    return summary


@dataclass(frozen=True, slots=True)
class EntitySpan:
    start: int  # character offsets (Python str indices) into the text
    end: int
    type: str


def entity_spans(annotation: Any) -> tuple[str | None, list[EntitySpan]]:
    """(the text key shown, the entity positions in it) of a text-annotator document:
    its first key; nothing for any other annotation."""
    from ldb_clone.formats.text.document import entries, looks_like_document, spans, text_keys
    from ldb_clone.formats.text.label_studio import entity_labels, is_classification

    if not looks_like_document(annotation):
        return None, []
    keys = text_keys(annotation)
    if not keys:
        return None, []
    key = keys[0]
    types = {
        a["id"]: str(entity_labels(a)[0])
        for a in entries(annotation, "annotations", key)
        if isinstance(a, dict) and "id" in a and not is_classification(a)
    }
    found = []
    for entry in entries(annotation, "annotationsData", key):
        if not isinstance(entry, dict) or entry.get("id") not in types:
            continue
        try:
            positions = spans(entry)
        except (KeyError, TypeError, ValueError):
            continue
        found += [EntitySpan(s, e, types[entry["id"]]) for s, e, _ in positions if 0 <= s < e]
    return key, sorted(found, key=lambda span: (span.start, -span.end))


def document_text(annotation: Any, key: str | None) -> str | None:
    """The text a document's ``extra.<key>`` carries, if any (the data file wins)."""
    from ldb_clone.formats.text.document import extra_texts

    if key is None or not isinstance(annotation, dict):
        return None
    if not isinstance(annotation.get("extra"), dict):
        return None
    found = extra_texts(annotation, key)
    return found[0][1] if found else None
