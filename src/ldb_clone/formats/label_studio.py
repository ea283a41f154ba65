"""label-studio: a Label Studio JSON export; every task is one object's annotation.

The object's URL is at ``data.data-object-info.path_key`` (a JMESPath such as
``"data"."image"``), or inferred when ``data`` has exactly one other key. The stored
task gets ``data.data-object-info`` filled in with that key and the object's id.
Relative paths are taken relative to the export file's folder.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ldb_clone.errors import FormatError, ObjectNotFoundError
from ldb_clone.formats.base import Format, IndexItem, ParseContext, all_entries
from ldb_clone.formats.exporting import (
    ExportContext,
    ExportItem,
    ExportPlan,
    ItemOutput,
    OutFile,
    dump_annotation,
)
from ldb_clone.fs import FileEntry, Listing
from ldb_clone.hashing import ID_KEYS, is_hex_id

INFO_KEY = "data-object-info"


def quote_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def path_key_of(task: dict[str, Any], where: str) -> tuple[str, bool]:
    """The task's path key and whether it was inferred."""
    data = task["data"]
    info = data.get(INFO_KEY) if isinstance(data.get(INFO_KEY), dict) else {}
    given = info.get("path_key") or data.get("path_key")
    if isinstance(given, str) and given:
        return given, False
    candidates = [k for k in data if k != INFO_KEY]
    if len(candidates) != 1:
        raise FormatError(
            f"Cannot infer data object path key in {where}: found "
            f"{'no' if not candidates else 'multiple'} possible keys under data"
            + (f" ({', '.join(map(repr, candidates))})" if candidates else "")
            + f"; set data.{INFO_KEY}.path_key"
        )
    return f"{quote_key('data')}.{quote_key(candidates[0])}", True


_PLAIN_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)')


@functools.lru_cache(maxsize=64)
def _key_chain(path_key: str) -> tuple[str, ...] | None:
    """``"data"."image"`` -> ("data", "image"): a path key that is only field names needs
    no JMESPath interpreter. Anything else -> None."""
    keys = []
    position = 0
    while True:
        match = _PLAIN_KEY.match(path_key, position)
        if match is None:
            return None
        quoted, bare = match.groups()
        keys.append(json.loads(f'"{quoted}"') if quoted is not None else bare)
        position = match.end()
        if position == len(path_key):
            return tuple(keys)
        if path_key[position] != ".":
            return None
        position += 1


def _search(path_key: str, task: dict[str, Any], where: str) -> Any:
    chain = _key_chain(path_key)
    if chain is not None:
        value: Any = task
        for key in chain:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value
    import jmespath

    try:
        return jmespath.search(path_key, task)
    except jmespath.exceptions.JMESPathError as exc:
        raise FormatError(f"Invalid path_key {path_key!r} in {where}: {exc}") from exc


def tasks_in(doc: Any, url: str) -> list[dict[str, Any]]:
    """The tasks of a parsed export (an array of tasks or one task)."""
    tasks = doc if isinstance(doc, list) else [doc]
    for position, task in enumerate(tasks):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise FormatError(
                f"Not a Label Studio task (no 'data' object): {url} (item {position})"
            )
    return tasks


def with_object_info(task: dict[str, Any], path_key: str, id_key: str, object_id: str) -> Any:
    """A copy of the task whose ``data.data-object-info`` names the path key and the id.

    Only ``data`` and the info block are copied; the rest is shared with the parsed file,
    which is not used again."""
    data = task["data"]
    info = data.get(INFO_KEY)
    info = dict(info) if isinstance(info, dict) else {}
    for key in ID_KEYS.values():
        info.pop(key, None)
    info["path_key"] = path_key
    info[id_key] = object_id
    return {**task, "data": {**data, INFO_KEY: info}}


@dataclass(slots=True)
class TaskRef:
    """One task of an export file, with where its data object is named."""

    entry: FileEntry  # the export file
    task: dict[str, Any]
    where: str  # "<export url> (task N)", for messages
    path_key: str
    given_id: str | None  # a well-formed id of this instance's algorithm, if the task has one


def task_refs(
    ctx: ParseContext,
    entry: FileEntry,
    tasks: list[dict[str, Any]],
    inferred_keys: set[str],
    path_key_for: Callable[[dict[str, Any], str], tuple[str, bool]] = path_key_of,
) -> list[TaskRef]:
    """A TaskRef for each task; an inferred path key is reported once per key."""
    refs = []
    for position, task in enumerate(tasks):
        where = f"{entry.url} (task {position})"
        path_key, inferred = path_key_for(task, where)
        if inferred and path_key not in inferred_keys:
            inferred_keys.add(path_key)
            ctx.info(f"Inferred data object path key: {path_key}")
        info = task["data"].get(INFO_KEY)
        given_id = info.get(ctx.id_key) if isinstance(info, dict) else None
        if not (isinstance(given_id, str) and is_hex_id(given_id)):
            given_id = None
        refs.append(TaskRef(entry, task, where, path_key, given_id))
    return refs


def locate(
    ctx: ParseContext, refs: list[TaskRef]
) -> Iterator[tuple[TaskRef, str | None, FileEntry | None]]:
    """(task, object id, None) for a task naming a known object id, else (task, None,
    its data file). The URLs of unknown objects are looked up together (remote ones
    concurrently)."""
    known = ctx.known_objects({ref.given_id for ref in refs if ref.given_id})
    urls = {}
    for ref in refs:
        if ref.given_id not in known:
            url = _search(ref.path_key, ref.task, ref.where)
            if isinstance(url, str) and url:
                urls[id(ref)] = url
    ctx.prefetch((urls[id(ref)], ref.entry) for ref in refs if id(ref) in urls)
    for ref in refs:
        if ref.given_id in known:
            yield ref, ref.given_id, None
            continue
        url = urls.get(id(ref))
        if url is None:
            raise FormatError(f"No data object URL at {ref.path_key} in {ref.where}")
        data = ctx.resolve(url, base=ref.entry)
        if data is None:
            raise ObjectNotFoundError(f"Data object not found: {url} (named in {ref.where})")
        yield ref, None, data


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    refs: list[TaskRef] = []
    inferred_keys: set[str] = set()
    for entry in all_entries(listings):
        if entry.is_json:
            refs += task_refs(ctx, entry, tasks_in(ctx.read_json(entry), entry.url), inferred_keys)
    for ref, object_id, data in locate(ctx, refs):

        def finalize(object_id: str, id_key: str, task=ref.task, path_key=ref.path_key) -> Any:
            return with_object_info(task, path_key, id_key, object_id)

        yield IndexItem(data=data, object_id=object_id, finalize=finalize)


def looks_like_label_studio(doc: Any) -> bool:
    """True for a task or a non-empty array of tasks (objects with a 'data' object)."""
    tasks = doc if isinstance(doc, list) else [doc]
    return bool(tasks) and all(
        isinstance(t, dict) and isinstance(t.get("data"), dict) and "annotation" not in t
        for t in tasks[:20]
    )


@functools.cache
def _converter(dotted: str) -> Callable[[ExportContext, ExportItem], dict[str, Any] | None]:
    module_name, _, attr = dotted.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise FormatError(f"Unable to load Label Studio converter {dotted!r}: {exc}") from exc


def converted_task(ctx: ExportContext, item: ExportItem) -> dict[str, Any] | None:
    """The task the first converter that knows the annotation makes of it (see
    ``formats.LABEL_STUDIO_CONVERTERS``), or None."""
    from ldb_clone.formats import LABEL_STUDIO_CONVERTERS

    for dotted in LABEL_STUDIO_CONVERTERS:
        task = _converter(dotted)(ctx, item)
        if task is not None:
            return task
    return None


def _export_task(ctx: ExportContext, item: ExportItem) -> tuple[dict[str, Any], int]:
    """The task to write for an object, and how many predictions entries were dropped.

    An annotation of another format is converted first when a converter knows it."""
    task = converted_task(ctx, item)
    if task is None:
        task = item.annotation
    data = task.get("data") if isinstance(task, dict) else None
    info = data.get(INFO_KEY) if isinstance(data, dict) else None
    path_key = info.get("path_key") if isinstance(info, dict) else None
    if not (isinstance(path_key, str) and path_key):
        raise FormatError(
            f"Malformatted annotation for data object: id:{item.object_id}. For label-studio "
            f"instantiation format, annotations must be Label Studio tasks with the keys "
            f"data.{INFO_KEY}.{ctx.id_key} and data.{INFO_KEY}.path_key (index them with "
            "-m label-studio)"
        )
    data = {**task["data"], INFO_KEY: {**info, ctx.id_key: item.object_id}}
    task = {**task, "data": data}
    chain = _key_chain(path_key)
    where = f"the annotation of id:{item.object_id}"
    url = _search(path_key, task, where)
    if not isinstance(url, str):
        raise FormatError(
            f"Malformatted annotation for data object: {where} has no URL at {path_key}"
        )
    if chain and chain[0] == "data" and len(chain) == 2 and "://" not in url and url[:1] != "/":
        # NOTE: a relative path was relative to the export it was indexed from; the object's
        # recorded location keeps the written file usable from anywhere.
        data[chain[1]] = item.url
    dropped = 0
    predictions = task.get("predictions")
    if isinstance(predictions, list):
        kept = [p for p in predictions if isinstance(p, dict)]
        dropped = len(predictions) - len(kept)
        if dropped:
            task["predictions"] = kept
    return task, dropped


def export(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    """One ``annotations.json``: the array of every object's task, ready to import into
    Label Studio (prediction ids from a Label Studio export, which it cannot import back,
    are dropped and counted). Annotations of other formats go through the converters of
    ``formats.LABEL_STUDIO_CONVERTERS``."""
    plan = ExportPlan(runs_transforms=False)
    tasks = []
    dropped = 0
    for item in items:
        if not item.has_annotation:
            raise FormatError(
                f"Missing annotation for data object: id:{item.object_id}. For label-studio "
                "instantiation format, every data object needs a Label Studio task as its "
                "annotation"
            )
        task, count = _export_task(ctx, item)
        tasks.append(task)
        dropped += count
        plan.items.append(ItemOutput(item, []))
    if dropped:
        ctx.warn(
            f"Dropped {dropped} predictions entries that are not objects (prediction ids from "
            "a Label Studio export), so that Label Studio can import annotations.json"
        )
    plan.annotations = len(tasks)
    plan.extra.append(OutFile("annotations.json", dump_annotation(tasks)))
    return plan


LABEL_STUDIO = Format(
    name="label-studio",
    parse=parse,
    description="A Label Studio JSON export: an array of tasks, each one object's annotation.",
    export=export,
    carries=("labels", "boxes", "spans"),
)
