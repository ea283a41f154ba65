"""text: .txt texts with a text-annotator document beside them (seed text-annotator-schema),
built on the seed's own sample (with its three off-by-one entities) and an English one."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from ldb_clone import formats
from ldb_clone.errors import FormatError, LdbError
from ldb_clone.formats import label_studio as label_studio_declaration
from ldb_clone.formats.exporting import ExportContext, ExportItem
from ldb_clone.formats.label_studio import codec as label_studio
from ldb_clone.formats.text.document import key_texts, validate, validator
from ldb_clone.formats.text.label_studio import from_task, to_task
from ldb_clone.instance import Instance, init_instance, open_instance
from ldb_clone.instantiation import instantiate
from ldb_clone.selection import select_members
from ldb_clone.storage import add_storage
from tests.helpers import current, oid_of, rewrite_json
from tests.helpers import run_index as index_with

run_index = functools.partial(index_with, fmt="text")

# The sample at the end of the seed text-annotator-schema.md, verbatim.
SEED_SAMPLE = r"""
{
  "extra": {
    "text_1": {
      "originalText": "삼성전자 이재용 회장이 서울 강남구 본사에서 2024년 1분기 실적을 발표했다.",
      "language": "ko",
      "documentType": "news"
    }
  },
  "relations": {
    "text_1": [
      {
        "id": "ner_001ner_002",
        "tool": "relation",
        "isLocked": false,
        "isVisible": true,
        "isValid": true,
        "annotationId": "ner_001",
        "targetAnnotationId": "ner_002",
        "classification": {
          "class": "소속",
          "relation_type": "affiliation"
        },
        "label": ["소속"]
      },
      {
        "id": "ner_002ner_003",
        "tool": "relation",
        "isLocked": false,
        "isVisible": true,
        "isValid": true,
        "annotationId": "ner_002",
        "targetAnnotationId": "ner_003",
        "classification": {
          "class": "위치",
          "relation_type": "located_at"
        },
        "label": ["위치"]
      }
    ]
  },
  "annotations": {
    "text_1": [
      {
        "id": "ner_001",
        "tool": "named_entity",
        "isLocked": false,
        "isVisible": true,
        "isValid": true,
        "classification": {
          "class": "기관",
          "entity_type": "ORG",
          "sub_type": "company"
        },
        "label": ["기관", "ORG"]
      },
      {
        "id": "ner_002",
        "tool": "named_entity",
        "isLocked": false,
        "isVisible": true,
        "isValid": true,
        "classification": {
          "class": "인물",
          "entity_type": "PER",
          "role": "executive"
        },
        "label": ["인물", "PER"]
      },
      {
        "id": "ner_003",
        "tool": "named_entity",
        "isLocked": false,
        "isVisible": true,
        "isValid": true,
        "classification": {
          "class": "장소",
          "entity_type": "LOC",
          "loc_type": "address"
        },
        "label": ["장소", "LOC"]
      },
      {
        "id": "ner_004",
        "tool": "named_entity",
        "isLocked": false,
        "isVisible": true,
        "isValid": true,
        "classification": {
          "class": "날짜",
          "entity_type": "DATE",
          "date_type": "quarter"
        },
        "label": ["날짜", "DATE"]
      },
      {
        "id": "cls_001",
        "tool": "classification",
        "isLocked": false,
        "isVisible": true,
        "isValid": true,
        "classification": {
          "class": "문서_분류",
          "category": "economy",
          "sentiment": "neutral"
        },
        "label": ["문서_분류"]
      }
    ]
  },
  "annotationsData": {
    "text_1": [
      {
        "id": "ner_001",
        "tool": "named_entity",
        "ranges": [
          {
            "start": "/p[1]",
            "end": "/p[1]",
            "startOffset": 0,
            "endOffset": 4
          }
        ],
        "content": "삼성전자"
      },
      {
        "id": "ner_002",
        "tool": "named_entity",
        "ranges": [
          {
            "start": "/p[1]",
            "end": "/p[1]",
            "startOffset": 5,
            "endOffset": 10
          }
        ],
        "content": "이재용 회장"
      },
      {
        "id": "ner_003",
        "tool": "named_entity",
        "ranges": [
          {
            "start": "/p[1]",
            "end": "/p[1]",
            "startOffset": 12,
            "endOffset": 22
          }
        ],
        "content": "서울 강남구 본사"
      },
      {
        "id": "ner_004",
        "tool": "named_entity",
        "ranges": [
          {
            "start": "/p[1]",
            "end": "/p[1]",
            "startOffset": 24,
            "endOffset": 33
          }
        ],
        "content": "2024년 1분기"
      },
      {
        "id": "cls_001"
      }
    ]
  },
  "annotationGroups": {
    "text_1": []
  },
  "assignmentId": 5001
}
"""
SEED = json.loads(SEED_SAMPLE)
SEED_TEXT = SEED["extra"]["text_1"]["originalText"]
SEED_MISMATCHES = [
    "annotationsData.text_1[1] (id ner_002): the text at 5..10 is '이재용 회', "
    "content is '이재용 회장'",
    "annotationsData.text_1[2] (id ner_003): the text at 12..22 is ' 서울 강남구 본사', "
    "content is '서울 강남구 본사'",
    "annotationsData.text_1[3] (id ner_004): the text at 24..33 is ' 2024년 1분', "
    "content is '2024년 1분기'",
]
COUNT_WARNING = (
    "3 entities whose text differs from their content were indexed as they are "
    "(-p strict-offsets=true makes this an error)"
)

# An English text with an emoji before an entity (offsets count characters, not bytes
# or UTF-16 units), both position forms, and a whole-document classification.
EN_TEXT = "Ada Lovelace worked with Charles Babbage in London. 🚀 She wrote the first program."


def at(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def entity(aid: str, entity_type: str, **classification: Any) -> dict[str, Any]:
    return {
        "id": aid,
        "tool": "named_entity",
        "isLocked": False,
        "isVisible": True,
        "isValid": True,
        "classification": {
            "class": entity_type.lower(),
            "entity_type": entity_type,
            **classification,
        },
        "label": [entity_type],
    }


def ranged(aid: str, text: str, part: str) -> dict[str, Any]:
    start, end = at(text, part)
    return {
        "id": aid,
        "tool": "named_entity",
        "ranges": [{"start": "/p[1]", "end": "/p[1]", "startOffset": start, "endOffset": end}],
        "content": part,
    }


def relation(source: str, target: str, relation_type: str) -> dict[str, Any]:
    return {
        "id": source + target,
        "tool": "relation",
        "annotationId": source,
        "targetAnnotationId": target,
        "classification": {"class": relation_type, "relation_type": relation_type},
        "label": [relation_type],
    }


def english() -> dict[str, Any]:
    babbage = at(EN_TEXT, "Charles Babbage")
    return {
        "extra": {"text_1": {"textContent": EN_TEXT, "language": "en", "charCount": len(EN_TEXT)}},
        "annotations": {
            "text_1": [
                entity("en_1", "PER", role="mathematician"),
                entity("en_2", "PER"),
                entity("en_3", "LOC"),
                entity("en_4", "WORK"),
                {
                    "id": "doc_1",
                    "tool": "classification",
                    "classification": {"class": "topic", "category": "history"},
                    "label": ["topic"],
                },
            ]
        },
        "annotationsData": {
            "text_1": [
                ranged("en_1", EN_TEXT, "Ada Lovelace"),
                {
                    "id": "en_2",
                    "tool": "named_entity",
                    "start": babbage[0],
                    "end": babbage[1],
                    "text": "Charles Babbage",
                },
                ranged("en_3", EN_TEXT, "London"),
                ranged("en_4", EN_TEXT, "first program"),
                {"id": "doc_1"},
            ]
        },
        "relations": {
            "text_1": [
                relation("en_1", "en_2", "colleague"),
                relation("en_1", "en_3", "located_at"),
            ]
        },
        "annotationGroups": {"text_1": []},
        "assignmentId": "a-17",
        "toolVersion": "2.3",  # tools extend the schema
    }


def write_pair(folder: Path, name: str, text: str | bytes, doc: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    (folder / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def seed(data_dir: Path) -> Path:
    return write_pair(data_dir, "news", SEED_TEXT, SEED)


@pytest.fixture
def english_pair(data_dir: Path) -> Path:
    return write_pair(data_dir, "ada", EN_TEXT, english())


def warnings_of(reporter: Any, folder: Path) -> list[str]:
    return [w.replace(f"{folder}/", "") for w in reporter.warnings]


# indexing ---------------------------------------------------------------------------------


def test_seed_sample_indexes_with_three_warnings(instance, data_dir, seed):
    result, reporter = run_index(instance, seed)

    assert (result.found_objects, result.new_objects, result.new_annotations) == (1, 1, 1)
    assert current(instance) == {oid_of(instance, seed): (SEED, 1)}
    assert warnings_of(reporter, data_dir) == [
        *(f"news.json: {m}" for m in SEED_MISMATCHES),
        COUNT_WARNING,
    ]


def test_english_sample_indexes_cleanly(instance, data_dir, english_pair, seed):
    result, reporter = run_index(instance, data_dir)

    assert (result.found_objects, result.found_annotations) == (2, 2)
    values = current(instance)
    assert values[oid_of(instance, english_pair)] == (english(), 1)
    assert len(reporter.warnings) == 4  # the seed's three, and their count
    assert not any("ada" in warning for warning in reporter.warnings)


def test_alias_and_registry():
    assert formats.canonical_name("text-annotation") == "text"
    fmt = formats.get_format("text")
    assert fmt.parse is not None and fmt.export is not None
    assert "strict-offsets" in fmt.params


def test_strict_offsets_makes_a_mismatch_an_error(instance, seed):
    with pytest.raises(FormatError) as excinfo:
        run_index(instance, seed, params={"strict-offsets": "true"})

    assert str(excinfo.value) == (
        f"Invalid text annotation document {seed.with_suffix('.json')} at "
        "annotationsData.text_1[1].content: the text at 5..10 is '이재용 회', content is "
        "'이재용 회장' (strict-offsets)"
    )
    assert select_members(instance, ["ds:root"]) == []


def test_strict_offsets_accepts_a_clean_document(instance, english_pair):
    result, reporter = run_index(instance, english_pair, params={"strict-offsets": "true"})

    assert result.new_annotations == 1
    assert reporter.warnings == []


def test_offsets_count_characters_not_bytes(instance, data_dir):
    """After the emoji, a byte offset (or a UTF-16 one) is off: "She" is not there."""
    doc = english()
    start = EN_TEXT.encode("utf-8").index(b"She")
    doc["annotationsData"]["text_1"][3]["ranges"][0].update(startOffset=start, endOffset=start + 3)
    doc["annotationsData"]["text_1"][3]["content"] = "She"
    path = write_pair(data_dir, "ada", EN_TEXT, doc)

    with pytest.raises(FormatError, match=r"text_1\[3\].content: the text at 57..60 is ' wr'"):
        run_index(instance, path, params={"strict-offsets": "true"})


def test_extra_text_that_is_not_the_file_is_a_warning(instance, data_dir):
    path = write_pair(data_dir, "ada", EN_TEXT + "\n", english())

    result, reporter = run_index(instance, path)

    assert result.new_annotations == 1
    assert warnings_of(reporter, data_dir) == [
        "ada.json: extra.text_1.textContent is not the text of ada.txt"
    ]


def test_byte_order_mark_is_not_part_of_the_text(instance, data_dir):
    path = write_pair(data_dir, "ada", "\ufeff".encode() + EN_TEXT.encode(), english())

    result, reporter = run_index(instance, path)

    assert result.new_annotations == 1
    assert reporter.warnings == []


def test_other_files_lone_documents_and_lone_texts(instance, data_dir, english_pair):
    (data_dir / "README.md").write_text("notes", encoding="utf-8")
    (data_dir / "orphan.json").write_text(json.dumps(english()), encoding="utf-8")
    (data_dir / "unlabelled.txt").write_text("nothing yet", encoding="utf-8")

    result, reporter = run_index(instance, data_dir)

    assert result.found_objects == 1
    assert warnings_of(reporter, data_dir) == [
        "1 file(s) that are not .txt were not indexed",
        "1 .json file(s) with no .txt beside them and no Label Studio tasks in them were "
        "not indexed (first: orphan.json)",
        "1 data file(s) without an annotation were not indexed by text; use --format bare "
        "to index them too",
    ]


def test_several_keys_use_their_own_extra_text():
    doc = english()
    doc["extra"]["text_2"] = {"originalText": "Second text."}
    doc["annotations"]["text_2"] = [entity("t2_1", "MISC")]
    doc["annotationsData"]["text_2"] = [ranged("t2_1", "Second text.", "Second")]

    texts, differing = key_texts(doc, EN_TEXT)

    assert texts == {"text_1": EN_TEXT, "text_2": "Second text."}
    assert differing == []
    assert validate(doc, EN_TEXT, "doc.json") == ([], [])
    assert key_texts(doc, "another text")[1] == ["extra (every key's originalText or textContent)"]


# bad input --------------------------------------------------------------------------------


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        doc = doc[part]
    if value is KeyError:
        del doc[path[-1]]
    else:
        doc[path[-1]] = value


DATA = ("annotationsData", "text_1")


INVALID = [
    (
        (*DATA, 2, "ranges", 0, "endOffset"),
        -1,
        "annotationsData.text_1[2].ranges[0].endOffset: -1 is less than the minimum of 0",
    ),
    (
        (*DATA, 2, "ranges", 0, "endOffset"),
        45,
        "annotationsData.text_1[2].ranges[0].endOffset: 45 is beyond the end of the text "
        "(44 characters)",
    ),
    (
        (*DATA, 2, "ranges", 0, "endOffset"),
        3,
        "annotationsData.text_1[2].ranges[0].endOffset: 3 is before startOffset 12",
    ),
    (
        (*DATA, 0, "id"),
        "ner_999",
        "annotationsData.text_1[0].id: no annotation with id 'ner_999' in annotations.text_1",
    ),
    (
        ("relations", "text_1", 1, "targetAnnotationId"),
        "ner_404",
        "relations.text_1[1].targetAnnotationId: no annotation with id 'ner_404' in "
        "annotations.text_1",
    ),
    (
        ("annotations", "text_1", 1, "id"),
        "ner_001",
        "annotations.text_1[1].id: duplicate id 'ner_001' (also at [0])",
    ),
    (
        ("annotations", "text_1", 0, "label"),
        "기관",
        "annotations.text_1[0].label: expected array, got a string",
    ),
    (("annotations",), KeyError, "(document): 'annotations' is a required property"),
    (
        (*DATA, 1, "ranges", 0, "startOffset"),
        KeyError,
        "annotationsData.text_1[1].ranges[0]: 'startOffset' is a required property",
    ),
    (
        (*DATA, 4, "start"),
        3,
        "annotationsData.text_1[4]: 'end' is a dependency of 'start'",
    ),
]


@pytest.mark.parametrize(("path", "value", "message"), INVALID)
def test_invalid_documents(instance, data_dir, path, value, message):
    doc = copy.deepcopy(SEED)
    _set(doc, path, value)
    pair = write_pair(data_dir, "news", SEED_TEXT, doc)

    with pytest.raises(FormatError) as excinfo:
        run_index(instance, pair)

    assert str(excinfo.value) == (
        f"Invalid text annotation document {pair.with_suffix('.json')} at {message}"
    )


def _mutations() -> list[Any]:
    """Valid and invalid documents, for comparing the compiled check with jsonschema."""
    docs: list[Any] = [
        SEED,
        english(),
        [SEED],
        None,
        {},
        {"annotations": {}, "annotationsData": {}},
    ]
    for path, value, _ in INVALID:
        doc = copy.deepcopy(SEED)
        _set(doc, path, value)
        docs.append(doc)
    for path, value in [
        ((*DATA, 0, "ranges", 0, "endOffset"), 4.0),  # JSON Schema: an integer
        ((*DATA, 0, "ranges", 0, "endOffset"), 4.5),
        ((*DATA, 0, "ranges", 0, "endOffset"), True),
        ((*DATA, 0, "ranges"), []),
        ((*DATA, 0, "id"), ""),
        ((*DATA, 0, "id"), 7),
        (("annotations", "text_1", 0, "isLocked"), "no"),
        (("annotations", "text_1", 0, "classification"), []),
        (("annotations", "text_1", 0, "tool"), KeyError),
        (("extra", "text_1", "charCount"), -1),
        (("extra", "text_1"), "not an object"),
        (("assignmentId",), None),
        (("assignmentId",), 1.5),
        (("annotationGroups", "text_1"), {}),
        (("relations", "text_1", 0, "annotationId"), KeyError),
        (("relations", "text_1", 0, "anything"), {"tools": "extend"}),
    ]:
        doc = copy.deepcopy(SEED)
        _set(doc, path, value)
        docs.append(doc)
    return docs


def test_compiled_check_agrees_with_jsonschema():
    checker = validator()
    assert checker.fast is not None  # the schema compiles
    verdicts = [(checker.fast(doc), checker.full.is_valid(doc)) for doc in _mutations()]
    assert [fast for fast, _ in verdicts] == [full for _, full in verdicts]
    assert (True, True) in verdicts and (False, False) in verdicts


def test_not_an_object(instance, data_dir):
    pair = write_pair(data_dir, "news", SEED_TEXT, [SEED])

    with pytest.raises(
        FormatError, match=r"news.json at \(document\): expected object, got an array"
    ):
        run_index(instance, pair)


def test_malformed_json(instance, data_dir, seed):
    seed.with_suffix(".json").write_text('{"annotations": ', encoding="utf-8")

    with pytest.raises(FormatError, match=r"^Unable to read annotation file: .*news.json: "):
        run_index(instance, seed)


def test_text_that_is_not_utf8(instance, data_dir):
    pair = write_pair(data_dir, "news", SEED_TEXT.encode("utf-8")[:12] + b"\xff", SEED)

    with pytest.raises(FormatError) as excinfo:
        run_index(instance, pair)

    assert str(excinfo.value) == (
        f"Not a UTF-8 text: {pair}: byte 0xff at offset 12 (invalid start byte)"
    )


def test_an_error_keeps_what_was_indexed(instance, data_dir, seed, english_pair):
    run_index(instance, data_dir)
    before = current(instance)
    doc = english()
    doc["relations"]["text_1"][0]["annotationId"] = "nobody"
    write_pair(data_dir / "more", "bad", EN_TEXT, doc)
    write_pair(data_dir / "more", "good", "Good text.", {"annotations": {}, "annotationsData": {}})

    with pytest.raises(FormatError, match=r"relations.text_1\[0\].annotationId"):
        run_index(instance, data_dir)

    assert current(instance) == before


# queries ----------------------------------------------------------------------------------

QUERIES = [
    # documents with an ORG entity
    (
        "--query",
        "contains(annotations.text_1[?tool=='named_entity'].classification.entity_type, 'ORG')",
        {"news"},
    ),
    ("--jquery", "contains(annotations.*[].classification.entity_type, 'ORG')", {"news"}),
    ("--jquery", "contains(annotations.*[].classification.entity_type, 'PER')", {"news", "ada"}),
    # documents whose classification is economy
    (
        "--query",
        "contains(annotations.text_1[?tool=='classification'].classification.category, 'economy')",
        {"news"},
    ),
    # documents with a relation of type affiliation
    (
        "--query",
        "contains(relations.text_1[].classification.relation_type, 'affiliation')",
        {"news"},
    ),
    # documents where some entity's content is a given string
    ("--jquery", "contains(annotationsData.*[].content, '삼성전자')", {"news"}),
]


def test_queries_cli(ldb, instance, data_dir, seed, english_pair):
    ldb("index", "-m", "text", str(data_dir), check=True)
    names = {oid_of(instance, seed): "news", oid_of(instance, english_pair): "ada"}
    for option, query, expected in QUERIES:
        proc = ldb("list", "--json", "ds:root", option, query, check=True)
        found = {names[row["id"]] for row in json.loads(proc.stdout)}
        assert found == expected, query

    affiliation = "[?classification.relation_type=='affiliation']"
    proc = ldb(
        "eval",
        "ds:root",
        "--query",
        "contains(relations.text_1[].classification.relation_type, 'affiliation')",
        "--show",
        f"relations.text_1{affiliation}.[annotationId, targetAnnotationId]",
        check=True,
    )
    assert json.loads(proc.stdout.split("\n", 1)[1]) == [["ner_001", "ner_002"]]


# instantiate ------------------------------------------------------------------------------


def root(instance: Instance):
    return select_members(instance, ["ds:root"])


def test_instantiate_round_trip(instance, data_dir, tmp_path, seed, english_pair):
    run_index(instance, data_dir)
    target = tmp_path / "out"

    result = instantiate(instance, root(instance), str(target), "text-annotation")

    assert (result.data_objects, result.annotations) == (2, 2)
    for source in (seed, english_pair):
        stem = f"{source.stem}-{oid_of(instance, source)}"
        assert (target / f"{stem}.txt").read_bytes() == source.read_bytes()
        written = json.loads((target / f"{stem}.json").read_text(encoding="utf-8"))
        assert written == json.loads(source.with_suffix(".json").read_text(encoding="utf-8"))
    assert sorted(p.name for p in target.iterdir()) == sorted(
        f"{s.stem}-{oid_of(instance, s)}{ext}"
        for s in (seed, english_pair)
        for ext in (".json", ".txt")
    )


def test_instantiate_refuses_other_annotations(instance, data_dir, tmp_path, make_json):
    (data_dir / "a.txt").write_text("hello", encoding="utf-8")
    make_json(data_dir / "a.json", {"label": "greeting"})
    index_with(instance, data_dir, fmt="strict")

    with pytest.raises(FormatError, match=r"For text instantiation format, annotations must be"):
        instantiate(instance, root(instance), str(tmp_path / "out"), "text")


# label-studio -----------------------------------------------------------------------------


def ls_tasks(instance: Instance, tmp_path: Path) -> list[dict[str, Any]]:
    target = tmp_path / "ls"
    instantiate(instance, root(instance), str(target), "label-studio")
    return json.loads((target / "annotations.json").read_text(encoding="utf-8"))


def test_label_studio_task(instance, data_dir, tmp_path, english_pair):
    run_index(instance, english_pair)
    oid = oid_of(instance, english_pair)

    (task,) = ls_tasks(instance, tmp_path)

    assert task["data"] == {
        "text": EN_TEXT,
        "data-object-info": {
            "xxh3_128": oid,
            "path": str(english_pair),
            "path_key": '"data"."data-object-info"."path"',
        },
    }
    (annotation,) = task["annotations"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for result in annotation["result"]:
        by_type.setdefault(result["type"], []).append(result)
    start, end = at(EN_TEXT, "first program")
    assert by_type["labels"][3] == {
        "id": "en_4",
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": end, "text": "first program", "labels": ["WORK"]},
    }
    assert [r["value"]["labels"] for r in by_type["labels"]] == [
        ["PER"],
        ["PER"],
        ["LOC"],
        ["WORK"],
    ]
    assert by_type["relation"] == [
        {
            "from_id": "en_1",
            "to_id": "en_2",
            "type": "relation",
            "direction": "right",
            "labels": ["colleague"],
        },
        {
            "from_id": "en_1",
            "to_id": "en_3",
            "type": "relation",
            "direction": "right",
            "labels": ["located_at"],
        },
    ]
    assert by_type["choices"] == [
        {
            "id": "doc_1",
            "from_name": "category",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["history"]},
        },
    ]
    assert task["meta"] == {"text-annotator": {"key": "text_1", "document": english()}}


def fresh_instance(tmp_path: Path, data_dir: Path) -> Instance:
    init_instance(tmp_path / "second")
    second = open_instance(tmp_path / "second")
    add_storage(second, str(data_dir))
    return second


def test_label_studio_round_trip_gives_the_documents_back(
    instance, data_dir, tmp_path, seed, english_pair
):
    run_index(instance, data_dir)
    export = tmp_path / "ls" / "annotations.json"
    ls_tasks(instance, tmp_path)
    second = fresh_instance(tmp_path, data_dir)
    try:
        result, reporter = run_index(second, export)

        assert (result.found_objects, result.new_objects) == (2, 2)
        assert current(second) == current(instance)
        assert reporter.warnings[-1] == COUNT_WARNING
    finally:
        second.close()
    # indexed back into the same instance: known ids, the same annotations, nothing new
    result, _ = run_index(instance, export)
    assert (result.new_objects, result.new_annotations, result.new_paths) == (0, 0, 0)


def entities_of(doc: dict[str, Any]) -> dict[str, Any]:
    """What survives Label Studio without meta: spans, types, relations, categories."""
    data = {d["id"]: d for d in doc["annotationsData"]["text_1"]}
    spans = {}
    for annotation in doc["annotations"]["text_1"]:
        entry = data.get(annotation["id"], {})
        if "ranges" in entry:
            span = (entry["ranges"][0]["startOffset"], entry["ranges"][0]["endOffset"])
        else:
            span = (entry.get("start"), entry.get("end"))
        classification = {
            name: value
            for name, value in annotation["classification"].items()
            if name in ("entity_type", "category", "sentiment")
        }
        spans[annotation["id"]] = (span, classification)
    relations = {
        (r["annotationId"], r["targetAnnotationId"], r["classification"]["relation_type"])
        for r in doc["relations"]["text_1"]
    }
    return {"entities": spans, "relations": relations}


@pytest.mark.parametrize(
    ("make_doc", "text"), [(lambda: SEED, SEED_TEXT), (english, EN_TEXT)], ids=["seed", "english"]
)
def test_label_studio_without_meta_keeps_entities_relations_classification(make_doc, text):
    doc = make_doc()
    task = to_task(doc, text)
    del task["meta"]

    back, dropped = from_task(task, text, "export.json (task 0)")

    assert dropped == 0
    assert entities_of(back) == entities_of(doc)
    assert validate(back, text, "converted")[1] == []


def test_label_studio_edits_are_applied_to_the_original():
    doc = english()
    task = to_task(doc, EN_TEXT)
    result = task["annotations"][0]["result"]
    labels = [r for r in result if r["type"] == "labels"]
    labels[1]["value"]["labels"] = ["SCIENTIST"]  # en_2 relabelled
    start, end = at(EN_TEXT, "London.")
    labels[2]["value"].update(start=start, end=end - 1)  # en_3 unchanged span
    labels[0]["value"].update(start=0, end=3)  # en_1 moved to "Ada"
    result.remove(labels[3])  # en_4 deleted
    result.append(
        {
            "id": "new_1",
            "type": "labels",
            "from_name": "label",
            "to_name": "text",
            "value": {
                "start": at(EN_TEXT, "She")[0],
                "end": at(EN_TEXT, "She")[1],
                "labels": ["PER"],
            },
        }
    )
    result.append(
        {
            "from_id": "new_1",
            "to_id": "en_1",
            "type": "relation",
            "direction": "right",
            "labels": ["coreference"],
        }
    )
    result.append({"id": "r1", "type": "rating", "value": {"rating": 4}})
    choice = next(r for r in result if r["type"] == "choices")
    choice["value"]["choices"] = ["science"]

    back, dropped = from_task(task, EN_TEXT, "export.json (task 0)")

    assert dropped == 1
    annotations = {a["id"]: a for a in back["annotations"]["text_1"]}
    data = {d["id"]: d for d in back["annotationsData"]["text_1"]}
    assert list(annotations) == ["en_1", "en_2", "en_3", "doc_1", "new_1"]
    assert annotations["en_1"] == doc["annotations"]["text_1"][0]  # labels unchanged
    assert data["en_1"]["ranges"] == [
        {"start": "/p[1]", "end": "/p[1]", "startOffset": 0, "endOffset": 3}
    ]
    assert data["en_1"]["content"] == "Ada"
    assert annotations["en_2"]["classification"] == {"entity_type": "SCIENTIST"}
    assert annotations["en_2"]["label"] == ["SCIENTIST"]
    assert annotations["en_3"] == doc["annotations"]["text_1"][2]
    assert data["en_3"] == doc["annotationsData"]["text_1"][2]
    assert annotations["doc_1"]["classification"] == {"class": "topic", "category": "science"}
    assert annotations["new_1"]["classification"] == {"entity_type": "PER"}
    assert data["new_1"] == {
        "id": "new_1",
        "tool": "named_entity",
        "ranges": [{"startOffset": 54, "endOffset": 57}],
        "content": "She",
    }
    assert [(r["annotationId"], r["targetAnnotationId"]) for r in back["relations"]["text_1"]] == [
        ("en_1", "en_2"),
        ("en_1", "en_3"),
        ("new_1", "en_1"),
    ]
    assert back["extra"] == doc["extra"] and back["toolVersion"] == "2.3"
    assert validate(back, EN_TEXT, "converted") == ([], [])


def test_what_label_studio_cannot_show_travels_in_meta():
    doc = english()
    # en_4 gets two ranges: Label Studio shows one span per region, so it is not shown
    doc["annotationsData"]["text_1"][3]["ranges"].append({"startOffset": 0, "endOffset": 3})
    doc["annotations"]["text_1"].append({"id": "e1", "tool": "edit", "label": []})
    doc["relations"]["text_1"].append(relation("en_4", "en_1", "about"))
    task = to_task(doc, EN_TEXT)
    shown = {r.get("id") for r in task["annotations"][0]["result"]}
    assert "en_4" not in shown and "e1" not in shown
    assert len([r for r in task["annotations"][0]["result"] if r["type"] == "relation"]) == 2

    back, _ = from_task(task, EN_TEXT, "t")

    assert back == doc


def test_label_studio_result_outside_the_text_is_an_error():
    task = to_task(english(), EN_TEXT)
    task["annotations"][0]["result"][0]["value"]["end"] = 500

    with pytest.raises(
        LdbError, match=r"t: annotations\[0\].result\[0\].value.end: 500 is outside"
    ):
        from_task(task, EN_TEXT, "t")


def test_label_studio_export_without_meta_indexes(instance, data_dir, tmp_path, english_pair):
    """A task as a labelling tool may send it back: no meta, an extra result type."""
    run_index(instance, english_pair)
    (task,) = ls_tasks(instance, tmp_path)
    del task["meta"]
    task["annotations"][0]["result"].append({"id": "x", "type": "textarea", "value": {}})
    task["annotations"].append({"result": [], "was_cancelled": True})
    export = tmp_path / "edited.json"
    export.write_text(json.dumps([task]), encoding="utf-8")

    result, reporter = run_index(instance, export)

    assert (result.new_objects, result.new_annotations) == (0, 1)
    ((doc, version),) = current(instance).values()
    assert version == 2
    assert entities_of(doc) == entities_of(english())
    assert reporter.warnings == [
        "1 Label Studio result(s) of types other than labels, relation and choices were "
        "not converted"
    ]


def test_label_studio_task_of_a_remote_object():
    """The converter reads the object's text by its URL (any fsspec protocol)."""
    import fsspec

    from ldb_clone.formats.text.codec import to_label_studio_task

    fs = fsspec.filesystem("memory")
    fs.pipe("/texts/ada.txt", EN_TEXT.encode())
    item = ExportItem("ab" * 16, english(), True, "memory://texts/ada.txt", "texts/ada.txt")
    try:
        task = to_label_studio_task(ExportContext({}, "xxh3_128"), item)
    finally:
        fs.rm("/texts", recursive=True)

    assert task["data"]["text"] == EN_TEXT
    assert task["data"]["data-object-info"]["path"] == "memory://texts/ada.txt"
    assert (
        to_label_studio_task(
            ExportContext({}, "xxh3_128"), ExportItem("ab" * 16, {"data": {}}, True, "/a", "a")
        )
        is None
    )


def test_label_studio_export_to_index_needs_the_text(instance, data_dir, tmp_path, english_pair):
    run_index(instance, english_pair)
    (task,) = ls_tasks(instance, tmp_path)
    del task["data"]["text"]
    export = tmp_path / "edited.json"
    export.write_text(json.dumps([task]), encoding="utf-8")

    with pytest.raises(FormatError, match=r"edited.json \(task 0\): data.text is not a string"):
        run_index(instance, export)


CONVERTER_CALLS: list[str] = []


def _decline(ctx, item):
    CONVERTER_CALLS.append("decline")
    return None


def _accept(ctx, item):
    CONVERTER_CALLS.append("accept")
    return {"data": {"text": "x", "data-object-info": {"path_key": '"data"."text"'}}}


def test_label_studio_converters_are_asked_in_order(monkeypatch):
    mine = [f"{__name__}:_decline", f"{__name__}:_accept"]
    monkeypatch.setattr(
        label_studio_declaration, "CONVERTERS", mine + label_studio_declaration.CONVERTERS
    )
    CONVERTER_CALLS.clear()
    item = ExportItem("ab" * 16, {"label": 1}, True, "/x.txt", "x.txt")

    task = label_studio.converted_task(ExportContext({}, "xxh3_128"), item)

    assert CONVERTER_CALLS == ["decline", "accept"]
    assert task["data"]["text"] == "x"


def test_unknown_converter_is_an_error(monkeypatch):
    monkeypatch.setattr(label_studio_declaration, "CONVERTERS", ["no_such_module:convert"])
    item = ExportItem("ab" * 16, {"label": 1}, True, "/x.txt", "x.txt")

    with pytest.raises(FormatError, match=r"Unable to load Label Studio converter"):
        label_studio.converted_task(ExportContext({}, "xxh3_128"), item)


# the command line -------------------------------------------------------------------------


def test_cli_end_to_end(ldb, instance, data_dir, tmp_path, seed, english_pair):
    proc = ldb("index", "-m", "text", str(data_dir), check=True)
    assert "Finished indexing:" in proc.stdout
    assert proc.stderr.splitlines() == [
        *(f"warning: {seed.with_suffix('.json')}: {m}" for m in SEED_MISMATCHES),
        f"warning: {COUNT_WARNING}",
    ]
    ldb("instantiate", "ds:root", "-m", "label-studio", "-t", str(tmp_path / "ls"), check=True)
    ldb("instantiate", "ds:root", "-m", "text", "-t", str(tmp_path / "out"), check=True)
    assert len(list((tmp_path / "out").iterdir())) == 4

    proc = ldb("index", "-m", "text", str(tmp_path / "ls" / "annotations.json"), check=True)
    assert "New annotations:               0" in proc.stdout

    seed.with_suffix(".json").write_text(
        json.dumps({**SEED, "relations": {"text_1": [{"id": "r"}]}}), encoding="utf-8"
    )
    proc = ldb("index", "-m", "text", str(data_dir))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"error: Invalid text annotation document {seed.with_suffix('.json')} at "
        "relations.text_1[0]: 'annotationId' is a required property"
    ]


def test_reindexing_unchanged_pairs_reads_and_checks_nothing(instance, english_pair, monkeypatch):
    first, _ = run_index(instance, english_pair.parent, fmt="text")
    assert first.new_annotations == 1

    def no_check(*args, **kwargs):
        raise AssertionError("an unchanged pair was checked again")

    monkeypatch.setattr("ldb_clone.formats.text.codec.validate", no_check)
    again, _ = run_index(instance, english_pair.parent, fmt="text")
    assert (again.found_objects, again.new_annotations) == (1, 0)

    doc = json.loads(english_pair.with_suffix(".json").read_text(encoding="utf-8"))
    doc["extra"]["text_1"]["language"] = "en-GB"
    rewrite_json(english_pair.with_suffix(".json"), doc)
    with pytest.raises(AssertionError, match="checked again"):
        run_index(instance, english_pair.parent, fmt="text")
