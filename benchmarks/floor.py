#!/usr/bin/env python3
"""Lower bound for indexing a folder: walk it, read every file, hash it or parse it.

Usage: ``python3 benchmarks/floor.py DIR``

Every data file is hashed with ``xxhash.xxh3_128`` and every ``.json`` file is parsed with
``json.loads``: roughly the minimum work any indexer has to do in a single Python process.
"""

from __future__ import annotations

import json
import os
import sys

import xxhash


def walk_files(root: str) -> list[str]:
    """All regular files below ``root`` (hidden entries skipped), in sorted order."""
    found: list[str] = []
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file():
                    found.append(entry.path)
    found.sort()
    return found


def main(argv: list[str]) -> int:
    """Entry point."""
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: floor.py DIR", file=sys.stderr)
        return 2
    data_files = json_files = total = 0
    for path in walk_files(argv[0]):
        with open(path, "rb") as f:
            raw = f.read()
        total += len(raw)
        if path.endswith(".json"):
            json.loads(raw)
            json_files += 1
        else:
            xxhash.xxh3_128(raw).hexdigest()
            data_files += 1
    print(f"{data_files} data files hashed, {json_files} json parsed, {total / 1e6:.1f} MB read")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
