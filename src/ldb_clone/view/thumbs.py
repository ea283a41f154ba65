"""Thumbnails for ``ldb view``: Pillow, at most 256 px on the long side, in parallel.

Local files are read by a pool of processes (decoding and resizing are CPU work); files
in remote storage (S3, ...) are fetched through fsspec by a pool of threads, many
requests in flight at once, and resized as they arrive.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

THUMB_SIZE = 256
JPEG_QUALITY = 80
REMOTE_WORKERS = 16
POOL_MIN = 64  # fewer local images than this are made in this process
CHUNK = 32  # images per task sent to a worker process


@dataclass(frozen=True, slots=True)
class ThumbJob:
    protocol: str
    path: str  # local path, or the fsspec path ("bucket/key")
    dest: str  # the thumbnail file to write


def make_thumbnail(source: Any, dest: str) -> tuple[int, int] | None:
    """Write a JPEG thumbnail of an image (a path or a file object); return the image's
    own (width, height), or None when Pillow cannot read it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            size = image.size
            # NOTE: draft() lets the JPEG decoder scale down while decoding (a large photo
            # decodes several times faster); other formats ignore it
            image.draft("RGB", (THUMB_SIZE, THUMB_SIZE))
            image.thumbnail((THUMB_SIZE, THUMB_SIZE))
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGBA")
                flat = Image.new("RGB", image.size, (255, 255, 255))
                flat.paste(image, mask=image.getchannel("A"))
                image = flat
            image.save(dest, "JPEG", quality=JPEG_QUALITY)
            return size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def _local_chunk(jobs: Sequence[tuple[str, str]]) -> list[tuple[int, int] | None]:
    return [make_thumbnail(path, dest) for path, dest in jobs]


def make_thumbnails(
    jobs: Sequence[ThumbJob],
    options: Callable[[str, str], dict[str, Any]],
    workers: int | None = None,
    advance: Callable[[int], None] = lambda n: None,
) -> list[tuple[int, int] | None]:
    """Each job's image size (None: not an image, or unreadable), in job order."""
    results: list[tuple[int, int] | None] = [None] * len(jobs)
    local = [i for i, job in enumerate(jobs) if job.protocol == "file"]
    remote = [i for i, job in enumerate(jobs) if job.protocol != "file"]
    pairs = [(jobs[i].path, jobs[i].dest) for i in local]
    chunks = [pairs[start : start + CHUNK] for start in range(0, len(pairs), CHUNK)]
    workers = workers or os.cpu_count() or 1
    if len(pairs) < POOL_MIN or workers == 1:
        sizes = []
        for chunk in chunks:
            sizes += _local_chunk(chunk)
            advance(len(chunk))
    else:
        sizes = []
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for chunk, done in zip(chunks, pool.map(_local_chunk, chunks)):
                sizes += done
                advance(len(chunk))
    for i, size in zip(local, sizes):
        results[i] = size
    if remote:
        with ThreadPoolExecutor(max_workers=REMOTE_WORKERS) as pool:
            fetched = pool.map(lambda i: _remote_thumbnail(jobs[i], options), remote)
            for i, size in zip(remote, fetched):
                results[i] = size
                advance(1)
    return results


def _remote_thumbnail(job: ThumbJob, options: Callable[[str, str], dict[str, Any]]):
    from ldb_clone.fs import get_fsspec

    try:
        data = get_fsspec(job.protocol, options(job.protocol, job.path)).cat_file(job.path)
    except (OSError, ValueError):
        return None
    return make_thumbnail(io.BytesIO(data), job.dest)
