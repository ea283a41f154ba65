"""The terminal side of a Reporter: plain stdout for data, stderr for the rest."""

from __future__ import annotations

import shutil
import sys
import threading

from ldb_clone.reporting import NullProgress, Progress, Reporter


def terminal_columns() -> int | None:
    """The width of the terminal stdout goes to; None when it is not a terminal."""
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


class CliReporter(Reporter):
    def __init__(self, quiet: bool = False) -> None:
        super().__init__()
        self.quiet = quiet
        self.to_stderr = False  # with --json, stdout holds only the JSON document

    def echo(self, line: str = "") -> None:
        stream = sys.stderr if self.to_stderr else sys.stdout
        stream.write(line + "\n")

    def warn(self, message: str) -> None:
        sys.stdout.flush()
        sys.stderr.write(f"warning: {message}\n")

    def progress(self, description: str, total_files: int, total_bytes: int) -> Progress:
        if self.quiet or not sys.stderr.isatty() or total_files < 2:
            return NullProgress()
        return RichProgress(description, total_files, total_bytes)


class RichProgress:
    """Files and bytes done, on stderr, removed when finished."""

    def __init__(self, description: str, total_files: int, total_bytes: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        sys.stdout.flush()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[files]}/{task.fields[total_files]} files"),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._files = 0
        self._lock = threading.Lock()  # advanced by the threads that write or fetch
        self._task = self._progress.add_task(
            description, total=max(total_bytes, 1), files=0, total_files=total_files
        )
        self._progress.start()

    def advance(self, files: int = 1, nbytes: int = 0) -> None:
        with self._lock:
            self._files += files
            self._progress.update(self._task, advance=nbytes, files=self._files)

    def close(self) -> None:
        self._progress.stop()
