"""``ldb query``'s library functions: loading JSON inputs and running filters and shows."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ldb_clone.errors import LdbError
from ldb_clone.jsonquery import load_json_inputs, run_json_query
from ldb_clone.query import QueryError, QuerySyntaxError, clear_caches
from ldb_clone.query.user_functions import USER_FUNCTIONS_DIR

CAT = {
    "type": "image",
    "subject": "cat",
    "format": "png",
    "details": {"width": 1024, "height": 768},
    "list_values": [1, 2, 3],
}
DOG = {
    "type": "image",
    "subject": "dog",
    "format": "jpg",
    "details": {"width": 512, "height": 384},
    "list_values": [4, 5, 6],
}
NOTE = {"type": "note", "text": "no subject here"}


def query(documents, filters=(), shows=(), slurp=False, unslurp=False, **kwargs):
    return list(run_json_query(documents, filters, shows, slurp, unslurp, **kwargs))


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


# loading inputs --------------------------------------------------------------------------------


def test_load_files_in_order(tmp_path):
    paths = []
    for name, doc in (("b.json", DOG), ("a.json", CAT), ("c.json", [CAT, DOG])):
        path = tmp_path / name
        path.write_text(json.dumps(doc), encoding="utf-8")
        paths.append(path)
    assert load_json_inputs(paths) == [DOG, CAT, [CAT, DOG]]
    assert load_json_inputs([str(p) for p in paths[:1]]) == [DOG]


def test_load_one_document_from_stdin():
    assert load_json_inputs([], io.StringIO(json.dumps([CAT, DOG]))) == [[CAT, DOG]]
    assert load_json_inputs([], io.StringIO(' \n"text"\n')) == ["text"]


def test_stdin_is_the_default_stream(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO('{"a": 1}'))
    assert load_json_inputs([]) == [{"a": 1}]


def test_tty_stdin_without_paths_is_an_error():
    with pytest.raises(LdbError) as caught:
        load_json_inputs([], TtyStream("{}"))
    assert str(caught.value) == (
        "Please specify JSON files for this query, or pipe in JSON input to stdin"
    )


def test_paths_win_over_stdin(tmp_path):
    path = tmp_path / "doc.json"
    path.write_text('{"from": "file"}', encoding="utf-8")
    assert load_json_inputs([path], TtyStream("")) == [{"from": "file"}]


def test_malformed_file_names_the_file(tmp_path):
    good = tmp_path / "good.json"
    good.write_text("{}", encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1,\n "b": }', encoding="utf-8")
    with pytest.raises(LdbError) as caught:
        load_json_inputs([good, bad])
    assert str(caught.value) == f"Invalid JSON in {bad}: Expecting value at line 2 column 7"


def test_malformed_stdin():
    with pytest.raises(
        LdbError, match=r"^Invalid JSON in stdin: Expecting value at line 1 column 1$"
    ):
        load_json_inputs([], io.StringIO(""))
    with pytest.raises(LdbError, match=r"^Invalid JSON in stdin: Extra data"):
        load_json_inputs([], io.StringIO("{} {}"))


def test_unreadable_file(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(LdbError, match=r"^Cannot read .*missing\.json: No such file or directory$"):
        load_json_inputs([missing])
    with pytest.raises(LdbError, match=r"^Cannot read .*: Is a directory$"):
        load_json_inputs([tmp_path])


# filters and shows -----------------------------------------------------------------------------


def test_without_filters_or_shows_every_document_is_yielded():
    assert query([CAT, DOG, NOTE]) == [CAT, DOG, NOTE]
    assert query([]) == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([("query", "subject == 'cat'")], [CAT]),
        ([("query", "format == 'jpg'")], [DOG]),
        ([("query", "type == 'image'")], [CAT, DOG]),
        ([("query", "type == 'image'"), ("query", "format == 'png'")], [CAT]),
        ([("query", "subject == 'dog'"), ("query", "format == 'png'")], []),
        ([("jquery", "list_values[1] == `2`")], [CAT]),
        ([("query", "details.width > `600`")], [CAT]),
        ([("query", "regex(subject, '^[cd]')")], [CAT, DOG]),
    ],
)
def test_filters(filters, expected):
    assert query([CAT, DOG], filters) == expected


def test_strict_filters_drop_documents_missing_a_key():
    docs = [CAT, DOG, NOTE]
    assert query(docs, [("query", "subject != 'cat'")]) == [DOG]
    assert query(docs, [("jquery", "subject != 'cat'")]) == [DOG, NOTE]


def test_shows_yield_one_value_per_show_per_item_in_order():
    shows = [("show", "subject"), ("show", "format")]
    assert query([CAT, DOG], [("query", "type == 'image'")], shows) == ["cat", "png", "dog", "jpg"]
    shows = [("jshow", "details.width"), ("jshow", "details.height")]
    assert query([CAT, DOG], [("jquery", "list_values[1] == `2`")], shows) == [1024, 768]


def test_show_without_filters():
    assert query([CAT, DOG], shows=[("show", "details")]) == [CAT["details"], DOG["details"]]


def test_failed_show_yields_null_and_warns_once_per_type():
    warnings: list[str] = []
    result = query(
        [CAT, NOTE, NOTE, DOG],
        shows=[("show", "subject"), ("jshow", "subject")],
        warn=warnings.append,
    )
    assert result == ["cat", "cat", None, None, None, None, "dog", "dog"]
    assert warnings == [
        "MissingIdentifierException: missing key 'subject' (query 'subject', 2 values)"
    ]


def test_filter_errors_are_warned_after_the_results():
    events: list[str] = []
    results = run_json_query(
        [CAT, NOTE],
        [("query", "subject == 'cat'")],
        [],
        warn=lambda message: events.append("warning"),
    )
    for _ in results:
        events.append("item")
    assert events == ["item", "warning"]


def test_without_warn_errors_are_silent():
    assert query([NOTE], [("query", "subject")]) == []


# slurp / unslurp ---------------------------------------------------------------------------------


def test_unslurp_splits_top_level_arrays():
    docs = [[CAT, DOG], NOTE, []]
    assert query(docs, unslurp=True) == [CAT, DOG, NOTE]
    assert query(docs, [("query", "subject == 'cat'")], unslurp=True) == [CAT]
    shows = [("show", "details.width"), ("show", "details.height")]
    assert query(docs, [("query", "list_values[1] == `2`")], shows, unslurp=True) == [1024, 768]


def test_without_unslurp_an_array_is_one_item():
    assert query([[CAT, DOG]], shows=[("show", "[1].subject")]) == ["dog"]
    assert query([[CAT, DOG]], [("query", "subject")]) == []  # an array has no keys


def test_slurp_wraps_all_documents_in_one_array():
    assert query([CAT, DOG], slurp=True) == [[CAT, DOG]]
    assert query([CAT, DOG], shows=[("show", "[0].subject")], slurp=True) == ["cat"]
    assert query([CAT, DOG], shows=[("show", "[1].subject")], slurp=True) == ["dog"]
    assert query([CAT, DOG], shows=[("show", "length(@)")], slurp=True) == [2]


def test_slurp_filters_run_once_on_the_array():
    assert query([CAT, DOG], [("query", "length(@) == `2`")], slurp=True) == [[CAT, DOG]]
    assert query([CAT, DOG], [("query", "length(@) == `3`")], slurp=True) == []
    assert query([], slurp=True) == [[]]


def test_slurp_after_unslurp():
    docs = [[CAT, DOG], [NOTE]]
    assert query(docs, slurp=True) == [docs]
    assert query(docs, slurp=True, unslurp=True) == [[CAT, DOG, NOTE]]
    assert query(docs, shows=[("show", "[*].type")], slurp=True, unslurp=True) == [
        ["image", "image", "note"]
    ]


def test_documents_may_be_any_iterable():
    assert query(iter([CAT, DOG]), [("query", "subject == 'dog'")]) == [DOG]


# bad expressions --------------------------------------------------------------------------------


def test_syntax_errors_are_raised_before_anything_is_yielded():
    with pytest.raises(QuerySyntaxError, match="unexpected end of expression at column 10"):
        run_json_query([CAT], [("query", "subject ==")], [])
    with pytest.raises(QuerySyntaxError):
        run_json_query([CAT], [], [("show", "subject"), ("jshow", "[")])
    with pytest.raises(QueryError, match=r"unknown function nope\(\)"):
        run_json_query([CAT], [], [("show", "nope(@)")])


def test_unknown_kind():
    with pytest.raises(LdbError, match="Unknown query kind 'show': use one of query, jquery"):
        run_json_query([CAT], [("show", "subject")], [])
    with pytest.raises(LdbError, match="Unknown query kind 'file'"):
        run_json_query([CAT], [], [("file", "subject")])


# with an instance: user functions ---------------------------------------------------------------


def test_user_functions_from_an_instance(tmp_path: Path):
    clear_caches()
    path = tmp_path / "inst" / USER_FUNCTIONS_DIR / "area.py"
    path.parent.mkdir(parents=True)
    path.write_text(
        'CUSTOM_FUNCTIONS = {"area": (lambda d: d["width"] * d["height"], ["object"])}\n',
        encoding="utf-8",
    )
    result = query(
        [CAT, DOG],
        [("query", "area(details) > `500000`")],
        [("show", "area(details)")],
        instance_dir=tmp_path / "inst",
    )
    assert result == [1024 * 768]
    clear_caches()


def test_end_to_end_from_files(tmp_path: Path):
    first = tmp_path / "first.json"
    second = tmp_path / "second.json"
    first.write_text(json.dumps(CAT), encoding="utf-8")
    second.write_text(json.dumps([DOG, NOTE]), encoding="utf-8")
    docs = load_json_inputs([first, second])
    assert query(docs, [("jquery", "type == 'note' || subject == 'cat'")]) == [CAT]
    assert query(docs, [("jquery", "type == 'note' || subject == 'cat'")], unslurp=True) == [
        CAT,
        NOTE,
    ]
