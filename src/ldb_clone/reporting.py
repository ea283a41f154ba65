"""How library code reports to its caller: lines for stdout, warnings, progress.

Library functions never print; they take a ``Reporter``. The CLI passes one that
writes to the terminal; tests and scripts get ``Reporter()``, which keeps the lines.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def advance(self, files: int = 1, nbytes: int = 0) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    def advance(self, files: int = 1, nbytes: int = 0) -> None:
        pass

    def close(self) -> None:
        pass


class Reporter:
    """Collects what a library call reports; subclassed by the CLI to print it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warnings: list[str] = []

    def echo(self, line: str = "") -> None:
        self.lines.append(line)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def progress(self, description: str, total_files: int, total_bytes: int) -> Progress:
        return NullProgress()
