"""The front door for Python callers: scan, compare, load a report, check a watermark, learn a
fingerprint. Each builds what it needs from its arguments; the CLI is a thin layer over these."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import replace
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kyctriage.attribution.checks import pixel_checks
from kyctriage.attribution.profile import Profile, load_profile
from kyctriage.errors import UsageError
from kyctriage.match.compare import MAX_CHECKS, Comparison, Looks, Side, old_index
from kyctriage.match.compare import compare as compare_sides
from kyctriage.model import Report
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan as scan_options
from kyctriage.serialise import load_report

if TYPE_CHECKING:
    from PIL import Image

    from kyctriage.attribution.fingerprint import Fingerprint
    from kyctriage.match.entries import Arrays
    from kyctriage.match.shards import Found
    from kyctriage.scanning.looks import Kept
    from kyctriage.watermark import WatermarkKey, WatermarkResult

PathArg = str | PathLike[str]

__all__ = ["compare", "detect_watermark", "learn_fingerprint", "load_report", "open_side", "scan"]


def scan(
    paths: PathArg | Iterable[PathArg],
    profile: PathArg | Profile | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    journal: PathArg | None = None,
    resume: bool = False,
    command: tuple[str, ...] = (),
    kept: Kept | None = None,
    **options: Any,
) -> Report:
    """Scan folders, zip archives or files into a Report.

    `profile` (a TOML path or a loaded Profile) brings its pipelines and their watermark
    checks; further keyword arguments are ScanOptions fields (workers, max_pixels,
    thumbnails, crop_search, ...). `kept` keeps the pictures' verification features past
    the scan (scanning/looks.Kept: compare's sides)."""
    roots = (str(paths),) if isinstance(paths, str | PathLike) else tuple(map(str, paths))
    if not roots:
        raise UsageError("nothing to scan: give at least one path")
    loaded = load_profile(str(profile)) if isinstance(profile, str | PathLike) else profile
    try:
        scan_with = ScanOptions(
            roots=roots, profile=loaded, pixel_checks=pixel_checks(loaded), **options
        )
    except TypeError as exc:  # an option ScanOptions does not have
        raise UsageError(f"scan: {exc}") from None
    return scan_options(
        scan_with, command=command, progress=progress,
        journal_path=str(journal) if journal is not None else None, resume=resume, kept=kept,
    )  # fmt: skip


def open_side(
    path: PathArg,
    workers: int = 0,
    looks_folder: str | None = None,
    leak: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Side:
    """One side of a comparison: a folder or zip archive is scanned; a saved scan (.json) or
    a reference index is read. `leak`: the comparison's leak side, whose looks also keep each
    picture's hashes cut further from each edge and turned back a few degrees
    (hashes.cut_more and hashes.turned: a one-side crop's or a turned copy's original in an
    index). `progress(done, total)`: the files scanned (a folder or a zip)."""
    from kyctriage.match import index, shards  # loaded by compare, not by every scan
    from kyctriage.probes.hashes import CUT_VIEWS
    from kyctriage.scanning import archive
    from kyctriage.scanning.looks import Kept

    name = str(path)
    # a scanned side keeps its pictures' features for compare's checks and candidates
    kept = Kept(looks_folder) if looks_folder is not None else None
    try:
        mode = os.stat(name).st_mode
    except OSError as exc:
        raise UsageError(f"cannot open {name}: {exc.strerror}") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):  # a FIFO would block whoever reads it
        raise UsageError(f"{name} is not a folder, a zip, a saved scan or an index")
    if Path(name).is_file() and index.is_index(name):
        rows = tuple(index.load(name))
        cut = set(CUT_VIEWS)
        uncut = sum(not any(v.view in cut for v in e.views) for e in rows)
        return Side(name, entries=rows, notes=old_index(uncut, len(rows)))
    if Path(name).is_dir() and shards.is_index(name):
        # a bad manifest fails here, before the leak is scanned
        parts = shards.read_manifest(name)[1]
        uncut, count = sum(s.uncut for s in parts), sum(s.rows for s in parts)
        return Side(name, index=name, notes=old_index(uncut, count))
    if Path(name).is_file() and name.lower().endswith(".json"):
        saved = load_report(name).records
        if looks_folder is None:
            return Side(name, records=saved)
        from kyctriage.match.entries import entries
        from kyctriage.scanning import recheck

        # a scan saved before: its pictures read again where reachable, as a scan keeps them
        options = ScanOptions(roots=(), workers=workers, further_cuts=leak)
        return Side(name, records=saved, looks=recheck.kept(entries(saved), options, looks_folder))
    if archive.is_zip_root(name):  # not a JPEG with a zip appended: that is a photo
        with tempfile.TemporaryDirectory(prefix="kyctriage-zip-") as folder:
            files, unsafe = Path(folder, "files"), Path(folder, "unsafe")
            files.mkdir()
            unsafe.mkdir()
            found = archive.unpack(name, files, quarantine=unsafe)
            records = scan(
                [str(files), str(unsafe)], workers=workers, kept=kept, further_cuts=leak,
                progress=progress, clusters=False,
            ).records  # fmt: skip
        # The records name the archive, not the private folder it was unpacked into, and a
        # member with an unsafe name by the name it was stored under.
        stored = {private.name: member for member, private, _ in found.unsafe}

        def named(root: str, path: str) -> tuple[str, str]:
            return name, stored[path] if root == str(unsafe) else path

        records = tuple(replace(r, root=name, path=named(r.root, r.path)[1]) for r in records)
        left_out = tuple(f"{member!r}: {why}" for member, why in found.left_out)
        if kept is not None:
            kept.looks = {named(*where): look for where, look in kept.looks.items()}
        return Side(name, records=records, left_out=left_out, looks=_looks(kept))
    # a side's own clusters are not compare's question (the leak's verified clustering of a
    # full held-out set took longer than the comparison's checks)
    scanned = scan(name, workers=workers, kept=kept, further_cuts=leak, progress=progress,
                   clusters=False)  # fmt: skip
    return Side(name, records=scanned.records, looks=_looks(kept))


def _looks(kept: Kept | None) -> Looks | None:
    from kyctriage.scanning import looks

    return looks.Looks(kept.looks) if kept is not None else None


def compare(
    leak: PathArg | Side,
    reference: PathArg | Side,
    *,
    workers: int = 0,
    scheduler: str | None = None,
    max_checks: int = MAX_CHECKS,
    progress: Callable[[str, int, int], None] | None = None,
) -> Comparison:
    """Match every leak image against the reference (our records or an earlier wave).

    Near candidates of the global hashes are verified on the two pictures (match/verify.py);
    one whose picture cannot be had (an index whose source is gone) is `unverified-candidate`.
    Each side is a folder, a zip, a saved scan, an index (reference only) or an opened Side;
    the result keeps both sides (`comparison.leak`, `comparison.reference`). With scheduler
    (a Dask scheduler's address), a sharded reference index is searched on that cluster.
    max_checks: candidates checked per leak image, closest first (match.compare.MAX_CHECKS).
    workers: processes scanning a folder side and threads checking the candidates (0: one
    per core). progress(stage, done, total): each side's files scanned ("scanning the
    leak", "scanning the reference") and the leak images whose candidates are checked
    ("checking candidates")."""
    if scheduler is None:
        return _compare(leak, reference, workers, None, max_checks, progress)
    from kyctriage.distributed.cluster import connected
    from kyctriage.match import shards

    named = reference.index if isinstance(reference, Side) else str(reference)
    if named is None or not shards.is_index(named):
        raise UsageError(_ONLY_SHARDS)
    from kyctriage.distributed.search import finder

    with connected(scheduler) as client:  # an unreachable scheduler fails before any scan
        return _compare(leak, reference, workers, finder(client), max_checks, progress)


# compare's stages, as its progress callback names them
SCANNING_LEAK, SCANNING_REFERENCE, CHECKING = (
    "scanning the leak", "scanning the reference", "checking candidates",
)  # fmt: skip

_ONLY_SHARDS = ("--scheduler searches a sharded index: the reference must be one "
                "(`kyctriage index build --sharded`)")  # fmt: skip


def _compare(
    leak: PathArg | Side,
    reference: PathArg | Side,
    workers: int,
    find: Callable[[str, Arrays, int | None], Found] | None,
    max_checks: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> Comparison:
    def stage(name: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        report = progress  # (bound here: mypy keeps the narrowing in the closure)
        return lambda done, total: report(name, done, total)

    # A scanned side keeps its pictures' verification features (spilled by its workers) for
    # the length of the comparison: checks and local-feature candidates without reading again.
    with tempfile.TemporaryDirectory(prefix="kyctriage-compare-") as looks_folder:
        leak_side = (leak if isinstance(leak, Side)
                     else open_side(leak, workers, looks_folder, leak=True,
                                    progress=stage(SCANNING_LEAK)))  # fmt: skip
        if leak_side.entries or leak_side.index is not None:
            raise UsageError("the leak side must be a folder, a zip or a saved scan, not an index")
        reference_side = (reference if isinstance(reference, Side)
                          else open_side(reference, workers, looks_folder,
                                         progress=stage(SCANNING_REFERENCE)))  # fmt: skip
        if find is not None and reference_side.index is None:
            raise UsageError(_ONLY_SHARDS)
        from kyctriage.scanning import recheck

        # The rest of the candidates' pictures are read again (SHA-256 checked) in the
        # supervised workers from where each side names them: only the candidates'.
        options = ScanOptions(roots=(), workers=workers)
        seen = recheck.pictures(options)
        from kyctriage.match import shards

        # the checks run on as many threads as the scan had workers
        result = compare_sides(leak_side, reference_side, pictures=(seen, seen),
                               find=find or shards.find, max_checks=max_checks,
                               progress=stage(CHECKING), threads=options.worker_count)  # fmt: skip
    # the sides as opened, without the looks whose folder is gone
    return replace(result, leak=replace(leak_side, looks=None),
                   reference=replace(reference_side, looks=None))  # fmt: skip


def detect_watermark(
    image: PathArg | Image.Image, key: PathArg | WatermarkKey, **search: Any
) -> WatermarkResult:
    """Check one picture (a file, or a PIL image already upright) for the keyed mark.

    A file is read and decoded as a scan does (its reduced preview, EXIF orientation applied);
    `search` takes detect's options (crop_search, aspects)."""
    from PIL import Image as PILImage

    from kyctriage.scanning.marks import DetectOptions, detect_file
    from kyctriage.watermark import detect, load_key

    loaded = load_key(str(key)) if isinstance(key, str | PathLike) else key
    if isinstance(image, PILImage.Image):
        return detect(image.convert("RGB"), loaded, image.size, **search)
    return detect_file(str(image), loaded, DetectOptions(**search))


def learn_fingerprint(paths: PathArg | Iterable[PathArg], name: str, **options: Any) -> Fingerprint:
    """Learn a pipeline's encoder fingerprint from files it made (scanned, then summarised)."""
    from kyctriage.attribution import fingerprint

    return fingerprint.learn(name, scan(paths, **options).records)
