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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ldb_clone.errors import FormatError, ObjectNotFoundError
from ldb_clone.formats.base import IndexItem, ParseContext, all_entries
from ldb_clone.formats.exporting import (
    ExportContext,
    ExportItem,
    ExportPlan,
    ItemOutput,
    OutFile,
    dump_annotation,
)
from ldb_clone.formats.label_studio.config import FILE_NAME as CONFIG_FILE
from ldb_clone.formats.label_studio.config import LabelConfig
from ldb_clone.formats.label_studio.predictions import LabelsAs, refuse_on_index
from ldb_clone.formats.label_studio.urls import (
    LOCAL_FILES_ROOT,
    URL_PREFIX,
    ObjectUrls,
    is_local_path,
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
    """The tasks of a parsed export: an array of tasks, one task, or a JSON_MIN export
    (read as the tasks it stands for)."""
    from ldb_clone.formats.label_studio.json_min import is_min_record, task_of

    tasks = doc if isinstance(doc, list) else [doc]
    result = []
    for position, task in enumerate(tasks):
        if is_min_record(task):
            task = task_of(task, f"{url} (item {position})")
        elif not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise FormatError(
                f"Not a Label Studio task (no 'data' object): {url} (item {position})"
            )
        result.append(task)
    return result


def refuse_csv(entry: FileEntry) -> None:
    """Label Studio's CSV and TSV exports flatten results into strings: not read."""
    if entry.suffix.lower() in (".csv", ".tsv"):
        raise FormatError(
            f"Label Studio {entry.suffix[1:].upper()} exports are not read: {entry.url}; "
            "export JSON or JSON_MIN from Label Studio instead"
        )


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
        task_id = task.get("id")
        where = f"{entry.url} (task {position}" + (f", id {task_id})" if task_id else ")")
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
    concurrently); Label Studio URLs are mapped to storage first (see ``urls``), and
    a text held in the task is kept as a file (``ParseContext.store_text``)."""
    from ldb_clone.formats.label_studio.urls import storage_candidates

    known = ctx.known_objects({ref.given_id for ref in refs if ref.given_id})
    urls: dict[int, list[str]] = {}
    texts: dict[int, str] = {}
    roots: list[str] | None = None

    def storage_roots() -> list[str]:
        nonlocal roots
        if roots is None:
            roots = ctx.storage_roots()
        return roots

    for ref in refs:
        if ref.given_id in known:
            continue
        url = _search(ref.path_key, ref.task, ref.where)
        if not (isinstance(url, str) and url):
            continue
        if is_inline_text(ref.path_key, url):
            texts[id(ref)] = url
            continue
        urls[id(ref)] = storage_candidates(url, ctx.params, storage_roots, ref.where) or [url]
    ctx.prefetch((url, ref.entry) for ref in refs for url in urls.get(id(ref), ()))
    for ref in refs:
        if ref.given_id in known:
            yield ref, ref.given_id, None
            continue
        if id(ref) in texts:
            yield ref, None, ctx.store_text(texts[id(ref)], ref.where)
            continue
        candidates = urls.get(id(ref))
        if candidates is None:
            raise FormatError(f"No data object URL at {ref.path_key} in {ref.where}")
        named_in = f"{ref.where} at {ref.path_key}"
        data = next(
            (found for url in candidates if (found := ctx.resolve(url, ref.entry, named_in))),
            None,
        )
        if data is None:
            named = _search(ref.path_key, ref.task, ref.where)
            looked = f"; looked for {', '.join(candidates)}" if candidates != [named] else ""
            raise ObjectNotFoundError(
                f"Data object not found: {named} (named in {ref.where}{looked})"
            )
        yield ref, None, data


def is_inline_text(path_key: str, value: str) -> bool:
    """True when the data a task names is a text held in the task itself: the key is
    ``text`` and the value is not a path or URL (one line that is a URL, starts with
    ``/``, ``./`` or ``../``, or ends with ``.txt``)."""
    chain = _key_chain(path_key)
    if not chain or chain[-1] != "text":
        return False
    if "\n" in value:
        return True
    names_a_file = (
        "://" in value.split(" ", 1)[0]
        or value.startswith(("/", "./", "../"))
        or value.lower().endswith(".txt")
    )
    return not names_a_file


def one_task_per_object(
    ctx: ParseContext, located: Iterable[tuple[TaskRef, str | None, FileEntry | None]]
) -> list[tuple[TaskRef, str | None, FileEntry | None]]:
    """The located tasks with one task per data object: where several tasks name the
    same object (by id or by file), the one holding the most recently updated annotation
    that was not cancelled (see ``shapes.latest_annotation``) is kept, with a warning
    that counts the objects."""
    chosen: dict[Any, int] = {}
    kept: list[tuple[TaskRef, str | None, FileEntry | None]] = []
    shared: set[Any] = set()
    for found in located:
        ref, object_id, data = found
        key = object_id if data is None else (data.protocol, data.path)
        if key not in chosen:
            chosen[key] = len(kept)
            kept.append(found)
            continue
        shared.add(key)
        position = chosen[key]
        if _recency(ref.task) >= _recency(kept[position][0].task):
            kept[position] = found
    if shared:
        ctx.warn(
            f"{len(shared)} data object(s) were named by more than one task; the task with "
            "the most recently updated annotation that was not cancelled was kept for each"
        )
    return kept


def _recency(task: dict[str, Any]) -> tuple[bool, float]:
    """How a task ranks among tasks of one object: any live annotation beats none; then
    the newest annotation's time (ties: the later task in the file)."""
    from ldb_clone.formats.shapes import annotation_time, latest_annotation

    annotations = task.get("annotations")
    if not isinstance(annotations, list):
        return False, float("-inf")
    index = latest_annotation(annotations)
    if index is None:
        return False, float("-inf")
    return True, annotation_time(annotations[index])


def parse(ctx: ParseContext, listings: list[Listing]) -> Iterator[IndexItem]:
    refuse_on_index(ctx.params)
    refs: list[TaskRef] = []
    inferred_keys: set[str] = set()
    entries = all_entries(listings)
    for entry in entries:
        refuse_csv(entry)
        if entry.is_json:
            refs += task_refs(ctx, entry, tasks_in(ctx.read_json(entry), entry.url), inferred_keys)
    if not refs and entries:
        first = next((e for e in entries if e.is_json), entries[0])
        raise FormatError(f"No Label Studio tasks found: {first.url}")
    for ref, object_id, data in one_task_per_object(ctx, locate(ctx, refs)):

        def finalize(object_id: str, id_key: str, task=ref.task, path_key=ref.path_key) -> Any:
            return with_object_info(task, path_key, id_key, object_id)

        yield IndexItem(data=data, object_id=object_id, finalize=finalize)


def looks_like_label_studio(doc: Any) -> bool:
    """True for a task or a non-empty array of tasks (objects with a 'data' object), or
    a JSON_MIN export (see ``json_min``)."""
    from ldb_clone.formats.label_studio.json_min import is_min_record

    tasks = doc if isinstance(doc, list) else [doc]
    return bool(tasks) and all(
        (isinstance(t, dict) and isinstance(t.get("data"), dict) and "annotation" not in t)
        or is_min_record(t)
        for t in tasks[:20]
    )


def is_text_task(value: Any) -> bool:
    """A Label Studio task (or JSON_MIN record) of a text: ``data.text`` is a string and
    it names no image."""
    from ldb_clone.formats.label_studio.json_min import is_min_record

    data = value if is_min_record(value) else value.get("data") if isinstance(value, dict) else None
    return isinstance(data, dict) and isinstance(data.get("text"), str) and "image" not in data


def is_text_export(doc: Any) -> bool:
    """A Label Studio export (see ``looks_like_label_studio``) whose tasks are texts."""
    tasks = doc if isinstance(doc, list) else [doc]
    return looks_like_label_studio(doc) and all(is_text_task(t) for t in tasks[:20])


@functools.cache
def _converter(dotted: str) -> Callable[[ExportContext, ExportItem], dict[str, Any] | None]:
    module_name, _, attr = dotted.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise FormatError(f"Unable to load Label Studio converter {dotted!r}: {exc}") from exc


def converted_task(ctx: ExportContext, item: ExportItem) -> dict[str, Any] | None:
    """The task the first converter that knows the annotation makes of it (see
    ``formats.label_studio.CONVERTERS``), or None."""
    from ldb_clone.formats.label_studio import CONVERTERS

    for dotted in CONVERTERS:
        task = _converter(dotted)(ctx, item)
        if task is not None:
            return task
    return None


def _export_task(
    ctx: ExportContext, item: ExportItem, urls: ObjectUrls
) -> tuple[dict[str, Any], int, tuple[str, ...] | None]:
    """The task to write for an object, how many predictions entries were dropped, and
    the key chain of its object URL (None when it is not plain field names).

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
    plain = _plain(chain)
    if plain and urls.given:
        data[chain[1]] = urls.url_for(item)
    elif plain and "://" not in url and url[:1] != "/":
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
    return task, dropped, chain


def _plain(chain: tuple[str, ...] | None) -> bool:
    """True for a path key ``data.<key>``, the object URL a task shows. Not
    ``data.text``: a text task shows the text itself there, never rewritten as a URL."""
    return chain is not None and len(chain) == 2 and chain[0] == "data" and chain[1] != "text"


def shown_object(chain: tuple[str, ...] | None) -> tuple[str, str, str]:
    """(name, tag, data key) of the object a task shows when its results do not say, for
    ``label_config.xml``: a text task (``data.text``, or one written from a text document,
    which names its object in ``data-object-info.path``) a ``<Text>``, an object at
    ``data.<key>`` an ``<Image>`` of that key, anything else ``$image``."""
    if chain in (("data", "text"), ("data", INFO_KEY, "path")):
        return "text", "Text", "text"
    if chain is not None and len(chain) == 2 and chain[0] == "data":
        return chain[1], "Image", chain[1]
    return "image", "Image", "image"


def export(ctx: ExportContext, items: list[ExportItem]) -> ExportPlan:
    """``annotations.json``: the array of every object's task, ready to import into
    Label Studio (prediction ids from a Label Studio export, which it cannot import back,
    are dropped and counted), and ``label_config.xml``, the labelling config those tasks
    need. Annotations of other formats go through the converters of
    ``formats.label_studio.CONVERTERS``. Objects are named as ``urls``
    says; ``-p as=predictions`` writes labels as predictions."""
    urls = ObjectUrls.from_params(ctx.params)
    labels_as = LabelsAs.from_params(ctx.params)
    plan = ExportPlan(runs_transforms=False)
    config = LabelConfig()
    tasks = []
    dropped = local_paths = 0
    for item in items:
        if not item.has_annotation:
            raise FormatError(
                f"Missing annotation for data object: id:{item.object_id}. For label-studio "
                "instantiation format, every data object needs a Label Studio task as its "
                "annotation"
            )
        task, count, chain = _export_task(ctx, item, urls)
        task = labels_as.apply(task)
        if _plain(chain) and is_local_path(str(task["data"].get(chain[1]))):
            local_paths += 1
        config.add_task(task, shown_object(chain))
        tasks.append(task)
        dropped += count
        plan.items.append(ItemOutput(item, []))
    if dropped:
        ctx.warn(
            f"Dropped {dropped} predictions entries that are not objects (prediction ids from "
            "a Label Studio export), so that Label Studio can import annotations.json"
        )
    if local_paths:
        ctx.warn(
            f"{local_paths} tasks name their object by a local path, which Label Studio "
            f"cannot load: set -p {LOCAL_FILES_ROOT}=DIR (its local-files document root) or "
            f"-p {URL_PREFIX}=URL"
        )
    if config.unknown:
        kinds = ", ".join(sorted(config.unknown))
        ctx.warn(
            f"{CONFIG_FILE} has no control for results of type {kinds} "
            f"({sum(config.unknown.values())} results): add them to it by hand"
        )
    plan.annotations = len(tasks)
    plan.extra.append(OutFile("annotations.json", dump_annotation(tasks)))
    plan.extra.append(OutFile(CONFIG_FILE, config.xml().encode("utf-8")))
    return plan
