"""Frozen options for a scan, built once by the CLI (or a Python caller)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kyctriage.attribution.checks import Check
    from kyctriage.attribution.profile import Profile

# Pillow warns above 89 MP and refuses above 179 MP; we decide ourselves, before decoding.
DEFAULT_MAX_PIXELS = 200_000_000  # a 200 MP phone sensor still passes
DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024  # larger files are hashed but not parsed
# The reduced decode: JPEG draft mode picks the largest 1/2, 1/4 or 1/8 scale whose result
# still covers this size, so a 12 MP photo decodes at 1/8 (500 x 375).
DEFAULT_PREVIEW_SIZE = 256
DEFAULT_FILE_TIME_LIMIT = 120.0  # seconds; a 200 MP PNG decodes in well under this
# Address space per worker; a hostile file that makes a decoder allocate past it fails alone.
DEFAULT_WORKER_MEMORY = 4 * 1024**3


@dataclass(frozen=True)
class ScanOptions:
    roots: tuple[str, ...]
    workers: int = 0  # 0: one per core
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    preview_size: int = DEFAULT_PREVIEW_SIZE
    profile: Profile | None = None  # pipelines to attribute to; None: no attribution
    pixel_checks: tuple[Check, ...] = ()  # the profile's keyed-mark and logo checks
    crop_search: bool = True  # the keyed mark's crop search, when its fast test is negative
    thumbnails: str = "pixelated"  # "pixelated", "full" or "none" (see probes/thumbnail.py)
    file_time_limit: float = DEFAULT_FILE_TIME_LIMIT
    worker_memory_limit: int | None = DEFAULT_WORKER_MEMORY
    in_process: bool = False  # probe in this process, unprotected: for tests and profiling
    # compare's leak side: each look also keeps the picture's hashes cut further from each
    # edge and turned back a few degrees (hashes.cut_more and hashes.turned, ~4 and ~5 ms a
    # picture), which only a comparison searches
    further_cuts: bool = False
    # a scan's own near-duplicate clusters; compare's sides keep only the records and looks
    clusters: bool = True

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)
