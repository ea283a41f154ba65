"""``ldb query``: JMESPath filters and shows over plain JSON documents (no instance needed)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from ldb_clone.errors import LdbError
from ldb_clone.query import Query, compile_query
from ldb_clone.strict_json import JsonProblem, parse_json

FILTER_KINDS = {"query": True, "jquery": False}
SHOW_KINDS = {"show": True, "jshow": False, "query": True, "jquery": False}


def load_json_inputs(
    paths: Sequence[str | os.PathLike[str]], stdin: TextIO | None = None
) -> list[Any]:
    """Each file's JSON document, in order; without paths, one document from ``stdin``."""
    if not paths:
        stream = sys.stdin if stdin is None else stdin
        if stream is None or stream.isatty():
            raise LdbError(
                "Please specify JSON files for this query, or pipe in JSON input to stdin"
            )
        try:
            text = stream.read()
        except UnicodeDecodeError as exc:
            raise LdbError(f"Cannot read stdin: not UTF-8 text (byte {exc.start})") from None
        return [_parse(text, "stdin")]
    documents = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise LdbError(f"Cannot read {os.fspath(path)}: {reason}") from None
        documents.append(_parse(text, os.fspath(path)))
    return documents


def run_json_query(
    documents: Iterable[Any],
    filters: Sequence[tuple[str, str]] = (),
    shows: Sequence[tuple[str, str]] = (),
    slurp: bool = False,
    unslurp: bool = False,
    *,
    instance_dir: Path | None = None,
    warn: Callable[[str], None] | None = None,
) -> Iterator[Any]:
    """The values ``ldb query`` prints, one JSON value per yield.

    ``filters`` are ``("query" | "jquery", expression)`` and keep an item only if all
    match, in order. ``shows`` are ``("show" | "jshow", expression)``: with shows, each
    kept item yields one value per show (None where evaluating fails); without, the
    item itself. ``unslurp`` splits each top-level array into its items; ``slurp`` then
    wraps all items in one array. Runtime errors are passed to ``warn`` once per query
    and error type when the iteration ends. All expressions are compiled first, so a
    syntax error is raised before anything is yielded.
    """
    filter_queries = [_compile(kind, expr, FILTER_KINDS, instance_dir) for kind, expr in filters]
    show_queries = [_compile(kind, expr, SHOW_KINDS, instance_dir) for kind, expr in shows]
    return _run(documents, filter_queries, show_queries, slurp, unslurp, warn)


def _run(
    documents: Iterable[Any],
    filters: list[Query],
    shows: list[Query],
    slurp: bool,
    unslurp: bool,
    warn: Callable[[str], None] | None,
) -> Iterator[Any]:
    items = _items(documents, unslurp)
    if slurp:
        items = iter([list(items)])
    for item in items:
        if all(query.matches(item) for query in filters):
            if shows:
                for query in shows:
                    yield query.search(item)
            else:
                yield item
    if warn is not None:
        for query in (*filters, *shows):
            for message in query.take_warnings():
                warn(message)


def _items(documents: Iterable[Any], unslurp: bool) -> Iterator[Any]:
    for document in documents:
        if unslurp and isinstance(document, list):
            yield from document
        else:
            yield document


def _compile(
    kind: str, expression: str, kinds: dict[str, bool], instance_dir: Path | None
) -> Query:
    if kind not in kinds:
        raise LdbError(f"Unknown query kind {kind!r}: use one of {', '.join(kinds)}")
    return compile_query(expression, strict=kinds[kind], instance_dir=instance_dir)


def _parse(text: str, name: str) -> Any:
    try:
        return parse_json(text)
    except JsonProblem as exc:
        syntax = exc.syntax
        if syntax is not None:
            raise LdbError(
                f"Invalid JSON in {name}: {syntax.msg} at line {syntax.lineno} "
                f"column {syntax.colno}"
            ) from None
        raise LdbError(f"Invalid JSON in {name}: {exc}") from None
