"""Text-annotator documents to Label Studio tasks and back.

One document key (one text) becomes one task: ``data.text`` is the text; each entity
with one position becomes a ``labels`` result (``id`` = the entity id, ``value`` start,
end, text and ``labels`` = [its entity type]); each relation between two such entities a
``relation`` result; each ``classification`` annotation one ``choices`` result per
string field of its ``classification`` (``from_name`` = the field, ``id`` = the
annotation id). Offsets are characters on both sides.

What Label Studio cannot show (other tools, entities with several ranges, XPaths,
``extra``, base fields, other keys) travels in the task's ``meta`` as the original
document. Back from Label Studio, the original is the base: what Label Studio shows and
was not changed is kept exactly as it was, so an unedited round trip gives the same
document; changes, deletions and new regions are applied to it. Without ``meta`` the
document is built from the results alone.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ldb_clone.errors import FormatError
from ldb_clone.formats.text.document import (
    CLASSIFICATION_TOOL,
    entries,
    extra_texts,
    single_span,
    text_keys,
)

FROM_NAME = "label"  # the <Labels> control of the labelling config
TO_NAME = "text"  # the <Text> object
# extra.<key>.labelStudio: {"from_name", "to_name"} of the project a document came from,
# when they are not the two above, so that its tasks go back to that project as they were
NAMES_KEY = "labelStudio"
META_KEY = "text-annotator"  # task meta: {"key": text key, "document": original}
DEFAULT_KEY = "text_1"
ENTITY_TOOL = "named_entity"
RELATION_TOOL = "relation"
BASE_FIELDS = {"isLocked": False, "isVisible": True, "isValid": True}
CONVERTED_TYPES = ("labels", "relation", "choices")


# document -> task -------------------------------------------------------------------------


def primary_key(doc: dict[str, Any], text: str | None = None) -> str:
    """The key a task shows: the only one, or the first whose text is ``text``."""
    keys = text_keys(doc)
    if not keys:
        return DEFAULT_KEY
    for key in keys:
        own = extra_texts(doc, key)
        if text is None or not own or own[0][1] == text:
            return key
    return keys[0]


def entity_labels(annotation: dict[str, Any]) -> list[str]:
    """What an entity is labelled in Label Studio: its entity_type, else its class, else
    its label list, else its tool."""
    classification = annotation.get("classification") or {}
    for name in ("entity_type", "class"):
        if isinstance(classification.get(name), str):
            return [classification[name]]
    return list(annotation.get("label") or []) or [annotation.get("tool") or "entity"]


def relation_labels(relation: dict[str, Any]) -> list[str]:
    classification = relation.get("classification") or {}
    for name in ("relation_type", "class"):
        if isinstance(classification.get(name), str):
            return [classification[name]]
    return list(relation.get("label") or [])


def choice_fields(annotation: dict[str, Any]) -> dict[str, list[str]]:
    """The fields of a classification annotation that Label Studio choices carry: every
    string (or list of strings) field but ``class`` (the annotation's display name),
    or ``class`` when it is the only one."""
    fields = {}
    for name, value in (annotation.get("classification") or {}).items():
        if isinstance(value, str):
            fields[name] = [value]
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            fields[name] = list(value)
    if len(fields) > 1:
        fields.pop("class", None)
    return fields


def is_classification(annotation: dict[str, Any]) -> bool:
    return annotation.get("tool") == CLASSIFICATION_TOOL


def _regions(doc: dict[str, Any], key: str) -> dict[str, tuple[int, int]]:
    """id -> (start, end) of the entities Label Studio shows: one position each."""
    data = {entry["id"]: entry for entry in entries(doc, "annotationsData", key)}
    regions = {}
    for annotation in entries(doc, "annotations", key):
        if is_classification(annotation):
            continue
        span = single_span(data.get(annotation["id"]))
        if span is not None:
            regions[annotation["id"]] = span
    return regions


def _shown_relation(relation: dict[str, Any], regions: dict[str, Any]) -> bool:
    return relation["annotationId"] in regions and relation["targetAnnotationId"] in regions


def control_names(doc: dict[str, Any], key: str) -> tuple[str, str]:
    """(from_name of the entities' <Labels>, to_name of the <Text>) a document's tasks
    use: the ones of the project it came from, else ``label`` and ``text``."""
    extra = (doc.get("extra") or {}).get(key)
    names = extra.get(NAMES_KEY) if isinstance(extra, dict) else None
    names = names if isinstance(names, dict) else {}
    from_name, to_name = names.get("from_name"), names.get("to_name")
    return (
        from_name if isinstance(from_name, str) and from_name else FROM_NAME,
        to_name if isinstance(to_name, str) and to_name else TO_NAME,
    )


def to_task(doc: dict[str, Any], text: str) -> dict[str, Any]:
    """The Label Studio task of a (valid) document whose text is ``text``."""
    key = primary_key(doc, text)
    regions = _regions(doc, key)
    from_name, to_name = control_names(doc, key)
    result: list[dict[str, Any]] = []
    for annotation in entries(doc, "annotations", key):
        aid = annotation["id"]
        if is_classification(annotation):
            for name, choices in choice_fields(annotation).items():
                result.append(_result(aid, name, to_name, "choices", {"choices": choices}))
        elif aid in regions:
            start, end = regions[aid]
            value = {
                "start": start,
                "end": end,
                "text": text[start:end],
                "labels": entity_labels(annotation),
            }
            result.append(_result(aid, from_name, to_name, "labels", value))
    for relation in entries(doc, "relations", key):
        if _shown_relation(relation, regions):
            result.append(
                {
                    "from_id": relation["annotationId"],
                    "to_id": relation["targetAnnotationId"],
                    "type": "relation",
                    "direction": "right",
                    "labels": relation_labels(relation),
                }
            )
    return {
        "data": {"text": text},
        "annotations": [{"result": result}],
        "meta": {META_KEY: {"key": key, "document": doc}},
    }


def _result(
    rid: str, from_name: str, to_name: str, kind: str, value: dict[str, Any]
) -> dict[str, Any]:
    return {"id": rid, "from_name": from_name, "to_name": to_name, "type": kind, "value": value}


# task -> document -------------------------------------------------------------------------


@dataclass
class Entity:
    start: int
    end: int
    labels: list[str]


@dataclass
class Results:
    """The Label Studio results of one annotation, by kind."""

    entities: dict[str, Entity] = field(default_factory=dict)
    relations: list[tuple[str, str, list[str]]] = field(default_factory=list)
    choices: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    dropped: int = 0  # results of other types (textarea, rating, ...)
    from_name: str | None = None  # of the first labels result
    to_name: str | None = None  # of the first result that names one


def from_task(task: dict[str, Any], text: str, where: str) -> tuple[dict[str, Any], int]:
    """The document of a Label Studio task whose text is ``text``, and how many results
    of types other than labels, relation and choices were left out."""
    original, key = _carried(task)
    chosen = _chosen_annotation(task, where)
    if chosen is None:
        return (original if original is not None else empty_document(key)), 0
    index, annotation = chosen
    results = parse_results(annotation["result"], text, f"{where}: annotations[{index}]")
    doc = merge(original if original is not None else empty_document(key), key, results, text)
    _remember_names(doc, key, results)
    return doc, results.dropped


def _remember_names(doc: dict[str, Any], key: str, results: Results) -> None:
    """Record the project's control names in ``doc`` when they are not the ones it
    already gives (an unedited round trip of ldb's own tasks changes nothing)."""
    shown = control_names(doc, key)
    names = (results.from_name or shown[0], results.to_name or shown[1])
    if names != shown:
        extra = doc.setdefault("extra", {}).setdefault(key, {})
        extra[NAMES_KEY] = {"from_name": names[0], "to_name": names[1]}


def _carried(task: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The original document and key that ``meta`` carries, if any."""
    meta = task.get("meta")
    carried = meta.get(META_KEY) if isinstance(meta, dict) else None
    if not isinstance(carried, dict):
        return None, DEFAULT_KEY
    document = carried.get("document")
    document = document if isinstance(document, dict) else None
    key = carried.get("key")
    if not isinstance(key, str):
        key = primary_key(document) if document is not None else DEFAULT_KEY
    return document, key


def _chosen_annotation(task: dict[str, Any], where: str) -> tuple[int, dict[str, Any]] | None:
    """The most recently updated annotation that was not cancelled (see
    ``shapes.latest_annotation``)."""
    from ldb_clone.formats.shapes import latest_annotation

    annotations = task.get("annotations")
    if annotations is None:
        return None
    if not isinstance(annotations, list):
        raise FormatError(f"Invalid Label Studio task: {where}: annotations is not a list")
    index = latest_annotation(annotations)
    if index is None:
        return None
    if not isinstance(annotations[index].get("result"), list):
        raise FormatError(
            f"Invalid Label Studio task: {where}: annotations[{index}].result is not a list"
        )
    return index, annotations[index]


def empty_document(key: str) -> dict[str, Any]:
    return {
        "extra": {key: {}},
        "annotations": {key: []},
        "annotationsData": {key: []},
        "relations": {key: []},
        "annotationGroups": {key: []},
    }


def parse_results(results: list[Any], text: str, where: str) -> Results:
    parsed = Results()
    for j, result in enumerate(results):
        kind = result.get("type") if isinstance(result, dict) else None
        here = f"{where}.result[{j}]"
        if kind in CONVERTED_TYPES and kind != "relation":
            _note_names(parsed, result, kind)
        if kind == "labels":
            rid = result.get("id")
            rid = rid if isinstance(rid, str) and rid else f"ls_{j}"
            parsed.entities[rid] = _entity(result.get("value"), text, here)
        elif kind == "relation":
            ends = result.get("from_id"), result.get("to_id")
            if not all(isinstance(end, str) for end in ends):
                raise FormatError(f"Invalid Label Studio result: {here}: from_id/to_id missing")
            if result.get("direction") == "left":
                ends = ends[::-1]
            parsed.relations.append((*ends, _strings(result.get("labels"))))
        elif kind == "choices":
            value = result.get("value") if isinstance(result.get("value"), dict) else {}
            rid = result.get("id")
            rid = rid if isinstance(rid, str) and rid else f"ls_{j}"
            name = result.get("from_name") or "class"
            parsed.choices.setdefault(rid, {})[name] = _strings(value.get("choices"))
        else:
            parsed.dropped += 1
    return parsed


def _note_names(parsed: Results, result: dict[str, Any], kind: str) -> None:
    to_name, from_name = result.get("to_name"), result.get("from_name")
    if parsed.to_name is None and isinstance(to_name, str) and to_name:
        parsed.to_name = to_name
    if kind == "labels" and parsed.from_name is None and isinstance(from_name, str) and from_name:
        parsed.from_name = from_name


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _entity(value: Any, text: str, where: str) -> Entity:
    value = value if isinstance(value, dict) else {}
    start, end = value.get("start"), value.get("end")
    for name, offset in (("start", start), ("end", end)):
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise FormatError(
                f"Invalid Label Studio result: {where}.value.{name}: expected a character "
                "offset (an integer of 0 or more)"
            )
    if end > len(text) or end < start:
        raise FormatError(
            f"Invalid Label Studio result: {where}.value.end: {end} is outside "
            f"{start}..{len(text)} (the text has {len(text)} characters)"
        )
    return Entity(start, end, _strings(value.get("labels")))


# merging results into the original --------------------------------------------------------


def merge(original: dict[str, Any], key: str, results: Results, text: str) -> dict[str, Any]:
    """``original`` with Label Studio's view of it replaced by ``results``: unchanged
    parts are kept as they are, changed ones updated, missing ones removed, new ones
    appended. What Label Studio never showed is kept."""
    doc = copy.deepcopy(original)
    regions = _regions(original, key)
    annotations, removed = _merge_annotations(doc, key, regions, results, text)
    data = [entry for entry in entries(doc, "annotationsData", key) if entry["id"] not in removed]
    data += _new_data(results, text)
    relations = _merge_relations(doc, key, regions, results, removed)
    for section, value in (
        ("annotations", annotations),
        ("annotationsData", data),
        ("relations", relations),
    ):
        # NOTE: a key the original did not have in a section is added only when needed,
        # so that an unedited round trip gives the original back exactly
        if value or key in (original.get(section) or {}):
            doc.setdefault(section, {})[key] = value
    return doc


def _merge_annotations(
    doc: dict[str, Any],
    key: str,
    regions: dict[str, tuple[int, int]],
    results: Results,
    text: str,
) -> tuple[list[dict[str, Any]], set[str]]:
    """The annotations after Label Studio, and the ids it removed. Entities whose span
    moved get their annotationsData entry updated in ``doc``."""
    data = {entry["id"]: entry for entry in entries(doc, "annotationsData", key)}
    kept: list[dict[str, Any]] = []
    removed: set[str] = set()
    for annotation in entries(doc, "annotations", key):
        aid = annotation["id"]
        if is_classification(annotation):
            fields = results.choices.pop(aid, None)
            if fields is None:
                removed.add(aid)
            else:
                kept.append(_classified(annotation, fields))
        elif aid in regions:
            entity = results.entities.pop(aid, None)
            if entity is None:
                removed.add(aid)
                continue
            kept.append(_labelled(annotation, entity.labels))
            if (entity.start, entity.end) != regions[aid]:
                _move(data[aid], entity, text)
        else:
            kept.append(annotation)  # never shown in Label Studio
    kept += [_new_entity(rid, entity) for rid, entity in results.entities.items()]
    kept += [_new_classification(rid, fields) for rid, fields in results.choices.items()]
    return kept, removed


def _labelled(annotation: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """The entity as Label Studio labels it: unchanged when the labels are the ones it
    was shown with; else its classification becomes {entity_type} (the class and the
    tool-specific keys described the old type)."""
    if not labels or labels == entity_labels(annotation):
        return annotation
    return {**annotation, "classification": {"entity_type": labels[0]}, "label": labels}


def _classified(annotation: dict[str, Any], fields: dict[str, list[str]]) -> dict[str, Any]:
    shown = choice_fields(annotation)
    if fields == shown:
        return annotation
    old = annotation.get("classification") or {}
    classification = {name: value for name, value in old.items() if name not in shown}
    for name, choices in fields.items():
        was_list = isinstance(old.get(name), list)
        classification[name] = choices if was_list or len(choices) != 1 else choices[0]
    return {**annotation, "classification": classification}


def _move(entry: dict[str, Any], entity: Entity, text: str) -> None:
    """Give an annotationsData entry the span Label Studio moved it to, in its own form
    (a range keeps its XPaths: they are not interpreted)."""
    covered = text[entity.start : entity.end]
    if entry.get("ranges"):
        entry["ranges"] = [
            {**entry["ranges"][0], "startOffset": entity.start, "endOffset": entity.end}
        ]
        entry["content"] = covered
    else:
        entry.update(start=entity.start, end=entity.end, text=covered)


def _new_entity(rid: str, entity: Entity) -> dict[str, Any]:
    labels = entity.labels or ["entity"]
    return {
        "id": rid,
        "tool": ENTITY_TOOL,
        **BASE_FIELDS,
        "classification": {"entity_type": labels[0]},
        "label": labels,
    }


def _new_classification(rid: str, fields: dict[str, list[str]]) -> dict[str, Any]:
    classification = {name: c[0] if len(c) == 1 else c for name, c in fields.items()}
    return {
        "id": rid,
        "tool": CLASSIFICATION_TOOL,
        **BASE_FIELDS,
        "classification": classification,
        "label": [],
    }


def _new_data(results: Results, text: str) -> list[dict[str, Any]]:
    """annotationsData entries of the entities and classifications Label Studio added
    (what ``_merge_annotations`` did not consume)."""
    data: list[dict[str, Any]] = [
        {
            "id": rid,
            "tool": ENTITY_TOOL,
            "ranges": [{"startOffset": entity.start, "endOffset": entity.end}],
            "content": text[entity.start : entity.end],
        }
        for rid, entity in results.entities.items()
    ]
    data += [{"id": rid} for rid in results.choices]
    return data


def _merge_relations(
    doc: dict[str, Any],
    key: str,
    regions: dict[str, tuple[int, int]],
    results: Results,
    removed: set[str],
) -> list[dict[str, Any]]:
    """Relations after Label Studio: shown ones kept (or relabelled) when Label Studio
    still has them, never-shown ones kept while both ends exist, new ones appended."""
    pending = list(results.relations)
    kept = []
    for relation in entries(doc, "relations", key):
        ends = relation["annotationId"], relation["targetAnnotationId"]
        if _shown_relation(relation, regions):
            labels = _take(pending, ends, relation_labels(relation))
            if labels is not None:
                kept.append(_relabelled(relation, labels))
        elif not removed & set(ends):
            kept.append(relation)
    taken = {relation["id"] for relation in kept}
    for source, target, labels in pending:
        kept.append(_new_relation(source, target, labels, taken))
    return kept


def _take(
    pending: list[tuple[str, str, list[str]]], ends: tuple[str, str], labels: list[str]
) -> list[str] | None:
    """Remove and return the labels of the pending relation between ``ends`` (the one
    with the same labels first)."""
    candidates = [i for i, (s, t, _) in enumerate(pending) if (s, t) == ends]
    if not candidates:
        return None
    same = [i for i in candidates if pending[i][2] == labels]
    return pending.pop((same or candidates)[0])[2]


def _relabelled(relation: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    if labels == relation_labels(relation):
        return relation
    classification = {"relation_type": labels[0]} if labels else {}
    return {**relation, "classification": classification, "label": labels}


def _new_relation(source: str, target: str, labels: list[str], taken: set[str]) -> dict[str, Any]:
    rid, n = source + target, 2  # the seed's convention: the two ids joined
    while rid in taken:
        rid, n = f"{source}{target}-{n}", n + 1
    taken.add(rid)
    return {
        "id": rid,
        "tool": RELATION_TOOL,
        **BASE_FIELDS,
        "annotationId": source,
        "targetAnnotationId": target,
        "classification": {"relation_type": labels[0]} if labels else {},
        "label": labels,
    }
