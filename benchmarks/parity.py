#!/usr/bin/env python3
"""Run one scripted session with upstream ``ldb`` and with ldb_clone and diff the results.

Usage::

    python3 benchmarks/parity.py [--upstream /opt/upstream-ldb/bin/ldb] [--keep]

Both sides get a fresh copy of the bundled examples, their own ``HOME`` and ``LDB_DIR``
and the same commands in the same order. ldb_clone runs as ``python -m ldb_clone`` from
this checkout (``src/`` is put on ``PYTHONPATH``) with ``init --hash md5`` so that its
object ids are upstream's. Only what must differ is normalised: the side's temporary
folder, dates and timestamps. Every command's stdout, stderr and exit code are compared,
and so are the file trees (names and contents) that ``instantiate`` and ``get`` write.

A step that differs on purpose names the line of ``docs/upstream-differences.md`` that
explains it (``known=``); the script checks that the line is there. The exit code is 1
if any difference is not documented (or a documented one has gone away), else 0.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
DIFFERENCES_PAGE = REPO / "docs" / "upstream-differences.md"
EXAMPLE_FOLDERS = ("strict-pairs", "class-folders", "annotation-only", "label-studio")


@dataclass
class Outcome:
    """What one command printed and returned, normalised."""

    stdout: str
    stderr: str
    code: int
    trees: dict[str, dict[str, str]]


Adjust = Callable[[Outcome, Outcome], None]


@dataclass(frozen=True)
class Known:
    """A documented difference: the start of its line in docs/upstream-differences.md
    and how to take it out of both outcomes (in place) so that the rest still compares."""

    doc: str
    adjust: Adjust


def _lines(text: str, keep: Callable[[str], bool]) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if keep(line))


def _cut_list_paths(old: Outcome, new: Outcome) -> None:
    """Cut the path column as upstream does: its last 21 characters after '...'."""

    def cut(match: re.Match) -> str:
        path = match["path"]
        if len(path) > 24:
            path = "..." + path[-21:]
        return f"{match['head']}{path:<24}  {match['tail']}"

    row = re.compile(r"^(?P<head> id:[0-9a-f]{32}\s+\S+\s+)(?P<path>\S+)  (?P<tail>.*)$", re.M)
    new.stdout = row.sub(cut, new.stdout)


def _drop_hint(old: Outcome, new: Outcome) -> None:
    new.stderr = new.stderr.replace("; pass ds:root to use every indexed data object", "")


def _drop_unpaired_warning(old: Outcome, new: Outcome) -> None:
    new.stderr = _lines(new.stderr, lambda line: "without an annotation were not" not in line)


def _drop_eval_warnings(old: Outcome, new: Outcome) -> None:
    old.stderr = _lines(old.stderr, lambda line: not line.startswith("RuntimeWarning: "))
    new.stderr = _lines(new.stderr, lambda line: not line.startswith("warning: "))


def _unescape(text: str) -> str:
    return re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m[1], 16)), text)


def _unescape_json(old: Outcome, new: Outcome) -> None:
    old.stdout = _unescape(old.stdout)
    for files in old.trees.values():
        for name, text in files.items():
            files[name] = _unescape(text)


def _drop_labelling_progress(old: Outcome, new: Outcome) -> None:
    new.stdout = re.sub(r"\nLabelling progress:\n(  .*\n)*", "", new.stdout)


def _swap_status_counts(old: Outcome, new: Outcome) -> None:
    added = re.search(r"Additions \(\+\): +(\d+)", old.stdout)
    deleted = re.search(r"Deletions \(-\): +(\d+)", old.stdout)
    if added and deleted:
        old.stdout = old.stdout.replace(added[0], f"Additions (+): {deleted[1]:>8}", 1).replace(
            deleted[0], f"Deletions (-): {added[1]:>8}", 1
        )


def _drop_commit_message(old: Outcome, new: Outcome) -> None:
    new.stdout = re.sub(r'^(ds:\S+)  ".*"$', r"\1", new.stdout, count=1, flags=re.M)


def _names_only(old: Outcome, new: Outcome) -> None:
    new.stdout = "".join(line.split()[0] + "\n" for line in new.stdout.splitlines() if line)


def _resolve_dot_dot(old: Outcome, new: Outcome) -> None:
    """Upstream keeps ``a/../b`` paths (one more path per object) and writes them back."""
    clean = re.search(r"New data object paths: +\d+", new.stdout)
    if clean:
        old.stdout = re.sub(r"New data object paths: +\d+", clean[0], old.stdout)
    for files in old.trees.values():
        for name, text in files.items():
            files[name] = text.replace("/annotation-only/../", "/")


def _sort_single_file(old: Outcome, new: Outcome) -> None:
    for outcome in (old, new):
        for files in outcome.trees.values():
            if "dataset.json" in files:
                items = json.loads(files["dataset.json"])
                items.sort(key=lambda item: item["data-object-info"]["md5"])
                files["dataset.json"] = json.dumps(items, indent=2, sort_keys=True)


def _label_studio_export(old: Outcome, new: Outcome) -> None:
    new.stderr = _lines(new.stderr, lambda line: not line.startswith("warning: "))
    for files in new.trees.values():
        files.pop("label_config.xml", None)
        if "annotations.json" in files:
            files["annotations.json"] = files["annotations.json"].replace(
                '"<ROOT>/data/label-studio/images/', '"images/'
            )
    for files in old.trees.values():
        if "annotations.json" in files:
            files["annotations.json"] = re.sub(
                r'"predictions": \[\s*1\s*\]', '"predictions": []', files["annotations.json"]
            )


def _path_key_first(old: Outcome, new: Outcome) -> None:
    line = "Inferred data object path key: "
    lines = new.stdout.splitlines(keepends=True)
    for i in range(1, len(lines)):
        if lines[i].startswith(line) and lines[i - 1] == "Indexing data...\n":
            lines[i - 1], lines[i] = lines[i], lines[i - 1]
    new.stdout = "".join(lines)


NO_SOURCE = Known("**No source outside a workspace**", _drop_hint)
UNPAIRED = Known("**Unpaired files**", _drop_unpaired_warning)
LIST_PATHS = Known("**List paths**", _cut_list_paths)
EVAL_WARNINGS = Known("**Query warnings**", _drop_eval_warnings)
NON_ASCII = Known("**Non-ASCII JSON**", _unescape_json)
PROGRESS = Known("**Labelling progress**", _drop_labelling_progress)
STATUS_COUNTS = Known("**Status counts**", _swap_status_counts)
COMMIT_MESSAGE = Known("**Status of a version**", _drop_commit_message)
DS_LOG = Known("**Dataset log**", _names_only)
ANNOT_PATHS = Known("**Annotation-only paths**", _resolve_dot_dot)
SINGLE_FILE = Known("**Single-file order**", _sort_single_file)
LABEL_STUDIO_PATHS = Known("**Label Studio paths**", _path_key_first)
LABEL_STUDIO = Known("**Label Studio export**", _label_studio_export)


@dataclass
class Step:
    """One command of the session.

    ``args`` may hold ``{root}`` (the side's folder) and ``{instance}``; ``cwd`` is
    ``"ws"``, ``"root"`` or a folder relative to root; ``trees`` names folders
    (relative to root) whose written files are compared after the command; ``known``
    lists the documented differences expected in this step's outcome.
    """

    name: str
    args: list[str]
    cwd: str = "root"
    trees: list[str] = field(default_factory=list)
    known: tuple[Known, ...] = ()
    clone_args: list[str] | None = None


SESSION: list[Step] = [
    Step(
        "init",
        ["init", "{instance}"],
        clone_args=["init", "--hash", "md5", "{instance}"],
    ),
    Step("add-storage", ["add-storage", "{root}/data"]),
    Step("add-storage inside", ["add-storage", "{root}/data/strict-pairs/missing"]),
    Step("list outside workspace", ["list"], known=(NO_SOURCE,)),
    Step("index strict", ["index", "-m", "strict", "{root}/data/strict-pairs"], known=(UNPAIRED,)),
    Step("index bare", ["index", "-m", "bare-pairs", "{root}/data/strict-pairs"]),
    Step("index infer", ["index", "-m", "infer", "{root}/data/class-folders"]),
    # Upstream resolves relative paths in annotations against the working directory.
    Step(
        "index label-studio",
        ["index", "-m", "label-studio", "{root}/data/label-studio/annotations.json"],
        cwd="data/label-studio",
        known=(LABEL_STUDIO_PATHS,),
    ),
    Step("index auto one pair", ["index", "{root}/data/strict-pairs/cat-1.json"]),
    Step("index auto folder", ["index", "{root}/data/strict-pairs"], known=(UNPAIRED,)),
    Step("list ds:root", ["list", "ds:root"], known=(LIST_PATHS,)),
    Step("list -s ds:root", ["list", "-s", "ds:root"]),
    Step("list --query", ["list", "ds:root", "--query", "label == 'cat'"], known=(LIST_PATHS,)),
    Step("eval --query", ["eval", "ds:root", "--query", "label"], known=(EVAL_WARNINGS,)),
    Step(
        "eval --query --json",
        ["eval", "ds:root", "--query", "label", "--json"],
        known=(EVAL_WARNINGS,),
    ),
    Step("eval -j", ["eval", "-j", "ds:root", "--query", "boxes[0].label"], known=(EVAL_WARNINGS,)),
    Step(
        "eval filter then show",
        ["eval", "ds:root", "--query", "label == 'dog'", "--file", "fs.size"],
        known=(EVAL_WARNINGS,),
    ),
    Step("eval whole annotation", ["eval", "ds:root", "--limit", "2"], known=(NON_ASCII,)),
    Step("tag", ["tag", "ds:root", "--query", "label == 'dog'", "-a", "dogs"]),
    Step("stage", ["stage", "ds:pets"], cwd="ws"),
    Step("status new", ["status"], cwd="ws", known=(PROGRESS,)),
    Step("add --query", ["add", "ds:root", "--query", "label == 'cat'"], cwd="ws"),
    Step("add --tag", ["add", "--tag", "dogs"], cwd="ws"),
    Step("list workspace", ["list"], cwd="ws", known=(LIST_PATHS,)),
    Step("status unsaved", ["status"], cwd="ws", known=(PROGRESS,)),
    Step("commit", ["commit", "-m", "cats and dogs"], cwd="ws"),
    Step("commit clean", ["commit", "-m", "again"], cwd="ws"),
    Step("del --limit", ["del", "--limit", "1"], cwd="ws"),
    Step("del --query", ["del", "--query", "breed"], cwd="ws"),
    Step("del unknown id", ["del", "id:" + "0" * 32], cwd="ws"),
    Step("diff", ["diff"], cwd="ws"),
    Step("diff -s", ["diff", "-s"], cwd="ws"),
    Step("commit --auto-pull", ["commit", "-m", "fewer", "--auto-pull"], cwd="ws"),
    Step("diff versions", ["diff", "ds:pets.v1", "ds:pets.v2"], cwd="ws"),
    Step(
        "index annot",
        ["index", "-m", "annot", "{root}/data/annotation-only"],
        cwd="data/annotation-only",
        known=(ANNOT_PATHS,),
    ),
    Step("add --limit", ["add", "ds:root", "--limit", "6"], cwd="ws"),
    Step("pull", ["pull"], cwd="ws"),
    Step("status after pull", ["status"], cwd="ws", known=(PROGRESS, STATUS_COUNTS)),
    Step("commit 3", ["commit", "-m", "pulled"], cwd="ws"),
    Step("status ds", ["status", "ds:pets"], cwd="ws", known=(PROGRESS, COMMIT_MESSAGE)),
    Step("ds list", ["ds", "list"]),
    Step("ds list -a", ["ds", "list", "-a"], known=(DS_LOG,)),
    Step(
        "instantiate bare",
        ["instantiate", "-m", "bare", "-t", "{root}/out-bare"],
        cwd="ws",
        trees=["out-bare"],
        known=(NON_ASCII,),
    ),
    Step(
        "instantiate strict",
        ["instantiate", "-m", "strict", "-t", "{root}/out-strict"],
        cwd="ws",
        trees=["out-strict"],
        known=(NON_ASCII,),
    ),
    Step(
        "instantiate annot",
        ["instantiate", "-m", "annot", "-t", "{root}/out-annot"],
        cwd="ws",
        trees=["out-annot"],
        known=(NON_ASCII, ANNOT_PATHS),
    ),
    Step(
        "instantiate annot single-file",
        ["instantiate", "-m", "annot", "-p", "single-file=true", "-t", "{root}/out-annot1"],
        cwd="ws",
        trees=["out-annot1"],
        known=(NON_ASCII, ANNOT_PATHS, SINGLE_FILE),
    ),
    Step(
        "instantiate infer",
        ["instantiate", "ds:root", "--query", "label", "-m", "infer", "-t", "{root}/out-infer"],
        cwd="ws",
        trees=["out-infer"],
    ),
    Step(
        "instantiate label-studio",
        [
            "instantiate",
            "ds:root",
            "--query",
            "data",
            "-m",
            "label-studio",
            "-t",
            "{root}/out-ls",
        ],
        cwd="ws",
        trees=["out-ls"],
        known=(NON_ASCII, LABEL_STUDIO),
    ),
    Step(
        "get",
        ["get", "ds:root", "--query", "label == 'bird'", "-t", "{root}/out-get"],
        trees=["out-get"],
    ),
]


class Side:
    """One fresh instance, home and copy of the examples, driven by one executable."""

    def __init__(self, name: str, command: list[str], base: Path, extra_env: dict[str, str]):
        self.name = name
        self.command = command
        # A long common last component: paths that upstream cuts from the left
        # ("...n-folder/data/x.png") then read the same on both sides.
        self.root = base / name / "ldb-parity-session-folder-with-a-long-name"
        self.instance = self.root / "instance"
        self.ws = self.root / "ws"
        home = self.root / "home"
        for folder in (home, self.ws, self.root / "data"):
            folder.mkdir(parents=True)
        for example in EXAMPLE_FOLDERS:
            shutil.copytree(EXAMPLES / example, self.root / "data" / example)
        self.env = {
            **os.environ,
            "HOME": str(home),
            "LDB_DIR": str(self.instance),
            "COLUMNS": "100",
            **extra_env,
        }

    def run(self, step: Step, args: list[str]) -> Outcome:
        expanded = [a.format(root=self.root, instance=self.instance) for a in args]
        cwd = self.ws if step.cwd == "ws" else self.root / step.cwd.removeprefix("root")
        done = subprocess.run(
            [*self.command, *expanded],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        trees = {tree: self.read_tree(self.root / tree) for tree in step.trees}
        return Outcome(
            self.normalise(done.stdout), self.normalise(done.stderr), done.returncode, trees
        )

    def normalise(self, text: str) -> str:
        """Replace what must differ between the sides: their folder, dates, timestamps."""
        text = text.replace(str(self.root.resolve()), "<ROOT>").replace(str(self.root), "<ROOT>")
        text = re.sub(
            r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?", "<DATE>", text
        )
        return re.sub(r"\d+(\.\d+)? ?(s|ms|sec|seconds)\b", "<TIME>", text)

    def read_tree(self, folder: Path) -> dict[str, str]:
        """Relative path -> content (text normalised, binary as sha256) of every file."""
        if not folder.is_dir():
            return {}
        files = {}
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if relative.startswith(".ldb_workspace") or not path.is_file():
                continue
            data = path.read_bytes()
            try:
                files[relative] = self.normalise(data.decode("utf-8"))
            except UnicodeDecodeError:
                files[relative] = "sha256:" + hashlib.sha256(data).hexdigest()
        return files


def compare(upstream: Outcome, clone: Outcome) -> list[str]:
    """Lines describing every difference between the two outcomes (empty: identical)."""
    lines: list[str] = []
    if upstream.code != clone.code:
        lines.append(f"  exit code: upstream {upstream.code}, ldb_clone {clone.code}")
    for stream in ("stdout", "stderr"):
        old, new = getattr(upstream, stream), getattr(clone, stream)
        if old != new:
            lines.append(f"  {stream}:")
            lines.extend(
                "    " + line
                for line in difflib.unified_diff(
                    old.splitlines(), new.splitlines(), "upstream", "ldb_clone", lineterm="", n=1
                )
            )
    for tree, old_files in upstream.trees.items():
        new_files = clone.trees[tree]
        for name in sorted(old_files.keys() | new_files.keys()):
            if name not in new_files:
                lines.append(f"  {tree}/{name}: only upstream writes it")
            elif name not in old_files:
                lines.append(f"  {tree}/{name}: only ldb_clone writes it")
            elif old_files[name] != new_files[name]:
                lines.append(f"  {tree}/{name}: contents differ")
                lines.extend(
                    "    " + line
                    for line in difflib.unified_diff(
                        old_files[name].splitlines(),
                        new_files[name].splitlines(),
                        "upstream",
                        "ldb_clone",
                        lineterm="",
                        n=1,
                    )
                )
    return lines


def documented(known: str) -> bool:
    """Whether docs/upstream-differences.md has a list line starting with ``known``."""
    if not DIFFERENCES_PAGE.is_file():
        return False
    page = DIFFERENCES_PAGE.read_text(encoding="utf-8")
    return any(line.startswith(f"- {known}") for line in page.splitlines())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", default="/opt/upstream-ldb/bin/ldb")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()
    if not Path(options.upstream).is_file():
        print(f"error: upstream ldb not found at {options.upstream}", file=sys.stderr)
        return 1

    base = Path(tempfile.mkdtemp(prefix="ldb-parity-"))
    try:
        sides = (
            Side("upstream", [options.upstream], base, {}),
            Side(
                "clone",
                [sys.executable, "-m", "ldb_clone"],
                base,
                {"PYTHONPATH": str(REPO / "src")},
            ),
        )
        identical, explained, unexplained = [], [], []
        for number, step in enumerate(SESSION, 1):
            old = sides[0].run(step, step.args)
            new = sides[1].run(step, step.clone_args or step.args)
            differences = compare(old, new)
            title = f"[{number:2}] ldb {' '.join(step.args)}"
            missing = [known.doc for known in step.known if not documented(known.doc)]
            if not differences:
                identical.append(step.name)
                print(f"{title}: identical")
                if step.known:
                    unexplained.append(f"{step.name} (marked known, no longer differs)")
                continue
            for known in step.known:
                known.adjust(old, new)
            remaining = compare(old, new)
            if step.known and not remaining and not missing:
                explained.append(step.name)
                docs = "; ".join(known.doc for known in step.known)
                print(f"{title}: differs as documented ({docs})")
                print("\n".join(differences))
                continue
            unexplained.append(step.name)
            print(f"{title}: DIFFERS")
            print("\n".join(differences))
            if step.known:
                print("  after taking out the documented differences:")
                print("\n".join(remaining))
            for doc in missing:
                print(f"  not in docs/upstream-differences.md: {doc}")
        print(
            f"\n{len(SESSION)} commands compared: {len(identical)} identical, "
            f"{len(explained)} differ as documented in docs/upstream-differences.md, "
            f"{len(unexplained)} undocumented"
        )
        for name in unexplained:
            print(f"  undocumented: {name}")
        return 1 if unexplained else 0
    finally:
        if options.keep:
            print(f"kept {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
