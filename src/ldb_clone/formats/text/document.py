"""The text-annotator document (seed ``text-annotator-schema``) and its checks.

A document holds, per text key (``"text_1"``), annotation metadata in ``annotations``,
positions in ``annotationsData`` (the entry with the same ``id``) and ``relations``
between annotations. It is checked in two steps: the JSON schema
(``schemas/text.document.schema.json``), then against the text it annotates: ids match,
offsets lie inside the text, relation ends exist. Offsets count characters (Python
``str`` indices), not bytes. An entity whose covered text differs from its ``content`` is
a mismatch: reported, not refused (the seed's own sample has three), unless ``strict``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ldb_clone.errors import FormatError
from ldb_clone.formats.validation import json_path

SCHEMA_NAME = "text.document"  # schemas/text.document.schema.json
SECTIONS = ("annotations", "annotationsData", "relations", "annotationGroups", "extra")
TEXT_FIELDS = ("originalText", "textContent")  # where extra.<key> may carry the text
CLASSIFICATION_TOOL = "classification"


class DocumentError(FormatError):
    """A document that breaks the schema or does not fit its text."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """An entity whose covered text is not its ``content`` (or ``text``)."""

    path: str  # JSON path of the annotationsData entry
    field: str  # the key holding the stated text: "content" or "text"
    id: str
    start: int
    end: int
    covered: str
    content: str

    @property
    def problem(self) -> str:
        return (
            f"the text at {self.start}..{self.end} is {self.covered!r}, "
            f"{self.field} is {self.content!r}"
        )

    def describe(self) -> str:
        return f"{self.path} (id {self.id}): {self.problem}"


# paths and messages -----------------------------------------------------------------------


def fail(where: str, path: str, problem: str) -> DocumentError:
    return DocumentError(f"Invalid text annotation document {where} at {path}: {problem}")


# the schema -------------------------------------------------------------------------------


def validator() -> Any:
    """The schema's validator (formats.validation: a compiled check, and jsonschema)."""
    from ldb_clone.formats.validation import schema_validator

    return schema_validator(SCHEMA_NAME, "text annotation document")


def check_schema(doc: Any, where: str) -> None:
    """A DocumentError naming ``where`` and the JSON path of the first schema problem."""
    from ldb_clone.formats.validation import schema_message

    error = validator().first_error(doc)
    if error is not None:
        raise fail(where, json_path(error.absolute_path), schema_message(error))


def looks_like_document(value: Any) -> bool:
    """True for what is meant to be a document (it may still be invalid)."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("annotations"), dict)
        and isinstance(value.get("annotationsData"), dict)
    )


# reading a (schema-valid) document --------------------------------------------------------


def text_keys(doc: dict[str, Any]) -> list[str]:
    """Every text key of the document, in order of first appearance."""
    keys: dict[str, None] = {}
    for section in SECTIONS:
        value = doc.get(section)
        if isinstance(value, dict):
            keys.update(dict.fromkeys(value))
    return list(keys)


def extra_texts(doc: dict[str, Any], key: str) -> list[tuple[str, str]]:
    """(field, text) for each text ``extra.<key>`` carries (originalText, textContent)."""
    extra = doc.get("extra", {}).get(key)
    if not isinstance(extra, dict):
        return []
    return [(name, extra[name]) for name in TEXT_FIELDS if isinstance(extra.get(name), str)]


def key_texts(doc: dict[str, Any], file_text: str) -> tuple[dict[str, str], list[str]]:
    """The text each key's offsets refer to, and the ``extra`` fields that disagree with
    the file's text (as ``extra.<key>.<field>`` paths).

    The file is the text of a document with one key. With several keys (several texts),
    a key whose ``extra`` text differs from the file's is checked against that text; the
    file's text must then be the text of at least one key.
    """
    keys = text_keys(doc)
    if len(keys) <= 1:
        differing = [
            f"extra.{json_path([key])}.{name}"
            for key in keys
            for name, value in extra_texts(doc, key)
            if value != file_text
        ]
        return dict.fromkeys(keys, file_text), differing
    texts = {}
    for key in keys:
        own = extra_texts(doc, key)
        texts[key] = own[0][1] if own else file_text
    if file_text in texts.values():
        return texts, []
    return texts, ["extra (every key's originalText or textContent)"]


def spans(entry: dict[str, Any]) -> list[tuple[int, int, tuple[str | int, ...]]]:
    """(start, end, path below the entry) of every position an annotationsData entry
    gives: each of its ``ranges``, or its plain ``start``/``end``."""
    found: list[tuple[int, int, tuple[str | int, ...]]] = [
        (int(r["startOffset"]), int(r["endOffset"]), ("ranges", i))
        for i, r in enumerate(entry.get("ranges") or ())
    ]
    if "start" in entry:
        # NOTE: int(): JSON Schema lets 5.0 be an integer
        found.append((int(entry["start"]), int(entry["end"]), ()))
    return found


def single_span(entry: dict[str, Any] | None) -> tuple[int, int] | None:
    """The entry's (start, end) when it has exactly one position, else None."""
    if entry is None:
        return None
    found = spans(entry)
    if len(found) != 1:
        return None
    return found[0][0], found[0][1]


def stated_content(entry: dict[str, Any]) -> tuple[str, str] | None:
    """(key, text) an entry says it covers: ``content`` (ranges form) or ``text`` (plain)."""
    for name in ("content", "text"):
        if isinstance(entry.get(name), str):
            return name, entry[name]
    return None


def entries(doc: dict[str, Any], section: str, key: str) -> list[dict[str, Any]]:
    value = doc.get(section, {}).get(key)
    return value if isinstance(value, list) else []


# checks against the text ------------------------------------------------------------------


def check_document(
    doc: dict[str, Any], texts: dict[str, str], where: str, strict: bool = False
) -> list[Mismatch]:
    """Check a schema-valid document against its texts (``key_texts``): ids, offsets,
    relation ends. Errors raise a DocumentError; content mismatches are returned (or,
    with ``strict``, raised)."""
    mismatches: list[Mismatch] = []
    for key, text in texts.items():
        ids = _annotation_ids(doc, key, where)
        _check_data(doc, key, ids, where)
        for mismatch in _check_positions(doc, key, text, where):
            if strict:
                path = f"{mismatch.path}.{mismatch.field}"
                raise fail(where, path, f"{mismatch.problem} (strict-offsets)")
            mismatches.append(mismatch)
        _check_relations(doc, key, ids, where)
    return mismatches


def _annotation_ids(doc: dict[str, Any], key: str, where: str) -> set[str]:
    ids: dict[str, int] = {}
    for i, annotation in enumerate(entries(doc, "annotations", key)):
        aid = annotation["id"]
        if aid in ids:
            path = json_path(["annotations", key, i, "id"])
            raise fail(where, path, f"duplicate id {aid!r} (also at [{ids[aid]}])")
        ids[aid] = i
    return set(ids)


def _check_data(doc: dict[str, Any], key: str, ids: set[str], where: str) -> None:
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries(doc, "annotationsData", key)):
        did = entry["id"]
        if did not in ids or did in seen:
            path = json_path(["annotationsData", key, i, "id"])
            if did in seen:
                raise fail(where, path, f"duplicate id {did!r} (also at [{seen[did]}])")
            where_ids = json_path(["annotations", key])
            raise fail(where, path, f"no annotation with id {did!r} in {where_ids}")
        seen[did] = i


def _check_positions(doc: dict[str, Any], key: str, text: str, where: str) -> Iterator[Mismatch]:
    for i, entry in enumerate(entries(doc, "annotationsData", key)):
        found = spans(entry)
        for start, end, below in found:
            base = ["annotationsData", key, i, *below]
            start_name, end_name = ("startOffset", "endOffset") if below else ("start", "end")
            if end > len(text):
                raise fail(
                    where,
                    json_path([*base, end_name]),
                    f"{end} is beyond the end of the text ({len(text)} characters)",
                )
            if end < start:
                raise fail(
                    where, json_path([*base, end_name]), f"{end} is before {start_name} {start}"
                )
        stated = stated_content(entry)
        if stated is None or not found:
            continue
        field, content = stated
        pieces = [text[start:end] for start, end, _ in found]
        whole = text[min(s for s, _, _ in found) : max(e for _, e, _ in found)]
        if content not in ("".join(pieces), whole):
            first, last = found[0][0], found[-1][1]
            covered = pieces[0] if len(pieces) == 1 else "".join(pieces)
            path = json_path(["annotationsData", key, i])
            yield Mismatch(path, field, entry["id"], first, last, covered, content)


def _check_relations(doc: dict[str, Any], key: str, ids: set[str], where: str) -> None:
    for i, relation in enumerate(entries(doc, "relations", key)):
        for end in ("annotationId", "targetAnnotationId"):
            if relation[end] not in ids:
                path = json_path(["relations", key, i, end])
                where_ids = json_path(["annotations", key])
                raise fail(where, path, f"no annotation with id {relation[end]!r} in {where_ids}")


def validate(
    doc: Any, file_text: str, where: str, strict: bool = False
) -> tuple[list[Mismatch], list[str]]:
    """Schema and text checks of one document: (content mismatches, ``extra`` text
    fields that disagree with the file's text)."""
    check_schema(doc, where)
    texts, differing = key_texts(doc, file_text)
    return check_document(doc, texts, where, strict), differing
