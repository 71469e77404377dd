"""Watermark detect and embed over many files, in the scan's supervised workers: each file is
read once and decoded once as a scan does, under the same per-file time and memory limits, and a
file that crashes, hangs or exhausts its worker is one error line, not the end of the run."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kyctriage.aspect import DEFAULT_ASPECT_RATIOS, AspectRatios
from kyctriage.errors import FileProblem, KyctriageError, one_line
from kyctriage.probes import decode
from kyctriage.scanning.ingest import Source
from kyctriage.scanning.options import (
    DEFAULT_FILE_TIME_LIMIT,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_PREVIEW_SIZE,
    DEFAULT_WORKER_MEMORY,
)
from kyctriage.scanning.read import read_file
from kyctriage.scanning.workers import Failed, run_supervised

if TYPE_CHECKING:
    from kyctriage.watermark import WatermarkKey, WatermarkResult


@dataclass(frozen=True)
class Limits:
    """The per-file limits of a scan's workers, for the watermark commands."""

    workers: int = 0  # 0: one per core
    file_time_limit: float = DEFAULT_FILE_TIME_LIMIT
    worker_memory_limit: int | None = DEFAULT_WORKER_MEMORY
    in_process: bool = False  # for tests: no pool, no protection


@dataclass(frozen=True)
class DetectOptions:
    preview_size: int = DEFAULT_PREVIEW_SIZE
    crop_search: bool = True
    aspects: AspectRatios | None = DEFAULT_ASPECT_RATIOS


@dataclass(frozen=True)
class Outcome:
    """One file's answer: a result (detect: the verdict's fields; embed: what was written),
    or why it was skipped (not an image) or failed (unreadable, undecodable, killed)."""

    source: Source
    result: dict[str, Any] | None = None
    skipped: str | None = None
    error: str | None = None


def detect_file(fs_path: str, key: WatermarkKey, options: DetectOptions) -> WatermarkResult:
    """Read one file, sniff it, decode it at the scan's reduced scale and look for the mark.
    Raises NotAnImage for content that is no image, FileProblem for a file that cannot be read
    or decoded."""
    from kyctriage.watermark import detect
    from kyctriage.watermark.files import NotAnImage

    data = read_file(fs_path, DEFAULT_MAX_FILE_BYTES).data
    fmt = decode.sniff(data)
    if fmt not in decode.PILLOW_FORMATS:
        raise NotAnImage(f"{fmt}, not an image")
    decoded = decode.decode(data, fmt, DEFAULT_MAX_PIXELS, options.preview_size)
    return detect(decoded.preview, key, decoded.upright_size, options.crop_search,
                  options.aspects, decoded.upright)  # fmt: skip


def detect_one(source: Source, key: WatermarkKey, options: DetectOptions) -> Outcome:
    """detect_file for one walked source; never raises for a file's own problems."""
    from kyctriage.watermark.files import NotAnImage

    if not source.openable:
        return Outcome(source, skipped=source.skip_reason or source.error)
    try:
        found = detect_file(source.fs_path, key, options)
    except NotAnImage as exc:
        return Outcome(source, skipped=str(exc))
    except (FileProblem, KyctriageError, OSError, ValueError, MemoryError) as exc:
        return Outcome(source, error=one_line(exc))
    return Outcome(source, result=asdict(found))


def embed_one(job: tuple[Source, str], key: WatermarkKey) -> Outcome:
    """Mark one file into its target (never overwritten); the source is only read."""
    from kyctriage.watermark.files import NotAnImage, embed_file

    source, target = job
    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        done = embed_file(source.fs_path, target, key)
    except NotAnImage as exc:
        return Outcome(source, skipped=str(exc))
    except (FileProblem, KyctriageError, OSError, ValueError, MemoryError) as exc:
        return Outcome(source, error=one_line(exc))
    return Outcome(source, result={"target": target, "quality": done.quality, "psnr": done.psnr})


def _in_order(
    func: Callable[[Any], Outcome],
    items: list[Any],
    limits: Limits,
    source: Callable[[Any], Source],
) -> Iterator[Outcome]:
    """Every item's outcome, in the order given (results that finish early wait for their
    turn), a worker's death or time-out as that file's error."""
    if limits.in_process:
        yield from map(func, items)
        return
    count = limits.workers or os.cpu_count() or 1
    waiting: dict[int, Outcome] = {}
    following = 0
    results = run_supervised(func, items, count, limits.file_time_limit,
                             limits.worker_memory_limit)  # fmt: skip
    for index, got in results:
        if isinstance(got, Failed):
            got = Outcome(source(items[index]), error=got.reason)
        waiting[index] = got
        while following in waiting:
            yield waiting.pop(following)
            following += 1


def detect_files(
    sources: list[Source], key: WatermarkKey, options: DetectOptions, limits: Limits
) -> Iterator[Outcome]:
    return _in_order(partial(detect_one, key=key, options=options), sources, limits,
                     lambda item: item)  # fmt: skip


def embed_files(
    jobs: list[tuple[Source, str]], key: WatermarkKey, limits: Limits
) -> Iterator[Outcome]:
    return _in_order(partial(embed_one, key=key), jobs, limits, lambda job: job[0])
