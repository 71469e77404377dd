"""Sources -> probes (a worker pool, one error barrier per file) -> records -> Report."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from kyctriage import __version__
from kyctriage.attribution.attribute import attribute_all
from kyctriage.attribution.checks import key_fingerprints, marker_checks, run_pixel_checks
from kyctriage.errors import FileProblem
from kyctriage.match.clusters import cluster
from kyctriage.model import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_SKIPPED,
    ExifValue,
    FileRecord,
    Hashes,
    ImageInfo,
    MetadataValue,
    Report,
    ScanMeta,
    field_names,
)
from kyctriage.probes import (
    decode,
    hashes,
    heif,
    iptc,
    jpeg,
    makernotes,
    merged,
    shown,
    thumbnail,
    timestamps,
    vendor,
    xmp,
)  # fmt: skip
from kyctriage.probes import exif as exif_probe
from kyctriage.scanning import looks, read
from kyctriage.scanning.ingest import Source, walk
from kyctriage.scanning.journal import Journal, journal_line
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.workers import Failed, run_supervised

Progress = Callable[[int, int], None]  # (done, total)
T = TypeVar("T")

# Content that is plainly not evidence of our kind and not named like an image is skipped
# rather than reported as a broken image (a Telegram export's result.json, its HTML pages).
_DOCUMENT_FORMATS = {"JSON text", "HTML text", "XML text", "text", "PDF", "ZIP", "MP4/QuickTime"}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _mtime_iso(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="microseconds")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class _Extracted:
    """What the metadata probes found before and independent of the pixel decode."""

    exif: exif_probe.ExifResult | None
    xmp: xmp.XmpResult | None
    iptc: tuple[tuple[str, str], ...]
    notes: tuple[tuple[str, ExifValue], ...]
    jpeg: jpeg.JpegSegments | None
    warnings: tuple[str, ...]
    stored_size: tuple[int, int] | None = None  # HEIF: the coded size, before crop and rotation


def _metadata(data: bytes, fmt: str, decoded: decode.Decoded | None) -> _Extracted:
    warnings: list[str] = []
    segments = None
    exif_block = xmp_block = None
    stored_size = None
    if fmt == "JPEG":
        segments = _jpeg_segments(data, warnings)
        if segments is not None:
            exif_block, xmp_block = segments.exif_tiff, segments.xmp
    stored = decode.heif_stored(data) if decoded is not None and fmt in ("HEIF", "AVIF") else None
    info = stored.info if stored else decoded.image.info if decoded else {}
    if decoded is not None and exif_block is None:
        exif_block = info.get("exif") if isinstance(info.get("exif"), bytes) else None
    if decoded is not None and xmp_block is None:
        raw = info.get("xmp") or info.get("XML:com.adobe.xmp")
        xmp_block = raw.encode("utf-8") if isinstance(raw, str) else raw
    if fmt in ("HEIF", "AVIF") and (decoded is None or exif_block is None):
        boxes = heif.read_boxes(data)  # libheif refused the file or its EXIF: the boxes say
        if boxes is not None and decoded is None:
            exif_block, xmp_block, stored_size = boxes.exif, boxes.xmp, boxes.size
            _recovered(warnings, "heif", size=("ispe", boxes.size), exif=("item", boxes.exif),
                       xmp=("item", boxes.xmp))  # fmt: skip
        elif boxes is not None and boxes.exif:  # a cut file the decoder still opened
            exif_block = boxes.exif
            _recovered(warnings, "heif", exif=("item", boxes.exif))
    exif_result = exif_probe.read_exif(exif_block) if exif_block else None
    if exif_result and exif_result.problem:
        warnings.append(f"exif: {exif_result.problem}")
    xmp_result = xmp.read_xmp(xmp_block) if isinstance(xmp_block, bytes) else None
    if xmp_result and xmp_result.problem:
        warnings.append(f"xmp: {xmp_result.problem}")
    iptc_pairs = _iptc(segments.photoshop if segments else info.get("photoshop"))
    notes: tuple[tuple[str, ExifValue], ...] = ()
    if exif_result and exif_block:
        make, model = (dict(exif_result.tags).get(k) for k in ("Make", "Model"))
        notes = makernotes.read_makernotes(
            exif_block,
            make if isinstance(make, str) else "",
            model if isinstance(model, str) else "",
        )
    for kind, payload in segments.vendor if segments else ():
        notes += tuple(vendor.by_kind(kind, payload))
    notes = tuple(sorted(dict(reversed(notes)).items()))  # the first of a name wins
    stored_size = stored.size if stored else stored_size
    return _Extracted(
        exif_result, xmp_result, iptc_pairs, notes, segments, tuple(warnings), stored_size
    )


def _jpeg_segments(data: bytes, warnings: list[str]) -> jpeg.JpegSegments | None:
    """The strict marker walk; when the structure is broken, a salvaging walk that reads past
    the damage (as exiftool does), with each step and what it recovered as a warning."""
    try:
        return jpeg.parse(data)
    except FileProblem as exc:
        try:
            segments = jpeg.parse(data, salvage=True)
        except FileProblem:
            warnings.append(f"jpeg: {exc}")
            return None
    warnings.extend(f"jpeg: {problem}" for problem in segments.problems[:5])
    if len(segments.problems) > 5:
        warnings.append(f"jpeg: {len(segments.problems) - 5} more breaks stepped over")
    frame = segments.frame[:2] if segments.frame else None
    _recovered(warnings, "jpeg", size=("SOF", frame), exif=("APP1", segments.exif_tiff),
               xmp=("APP1", segments.xmp), iptc=("APP13", segments.photoshop))  # fmt: skip
    return segments


def _recovered(warnings: list[str], kind: str, **found: tuple[str, object]) -> None:
    parts = [f"{what} from {where}" for what, (where, value) in found.items() if value]
    if parts:
        warnings.append(f"{kind}: read past the damage: {', '.join(parts)}")


def _iptc(block: object) -> tuple[tuple[str, str], ...]:
    """IPTC from a JPEG's Photoshop resources (nothing to do for most files: they have none)."""
    if not isinstance(block, bytes) or not block:
        return ()
    resource = iptc.photoshop_resources(block).get(0x0404)
    return iptc.read_iptc(resource) if resource else ()


def _extension_mismatch(path: str, fmt: str) -> bool:
    ext = os.path.splitext(path)[1].lower()
    return bool(ext) and ext not in decode.IMAGE_EXTENSIONS.get(fmt, set())


def probe_source(
    source: Source,
    options: ScanOptions,
    reference: datetime,
    read_bytes: Callable[[str, int], read.FileBytes] | None = None,
) -> FileRecord:
    """One file -> one record. Never raises: a failure of any kind becomes the record's error.
    `read_bytes(fs_path, max_bytes)` reads the file (an object store's reader for a URL; by
    default read.read_file), and raises FileProblem when it cannot."""
    return probe_looked(source, options, reference, None, read_bytes)[0]


def probe_looked(
    source: Source,
    options: ScanOptions,
    reference: datetime,
    folder: str | None,
    read_bytes: Callable[[str, int], read.FileBytes] | None = None,
) -> tuple[FileRecord, looks.Look | None]:
    """One file -> its record and, with a folder for them, its look for verification
    (looks.py: features from the same decode, None for a picture too plain to verify)."""
    base = FileRecord(
        root=source.root, path=source.path, status=STATUS_SKIPPED,
        path_bytes_hex=source.path_bytes_hex, telegram=source.telegram,
        warnings=(source.note,) if source.note else (),
    )  # fmt: skip
    if source.skip_reason:
        return _replace(base, error=source.skip_reason), None
    if source.error:
        return _replace(base, status=STATUS_ERROR, error=source.error), None
    try:
        content = (read_bytes or read.read_file)(source.fs_path, options.max_file_bytes)
    except FileProblem as exc:
        return _replace(base, status=STATUS_ERROR, error=str(exc)), None
    sha256, md5 = hashes.file_digests(content.data)
    record = _replace(
        base, status=STATUS_ERROR, size=content.size, mtime=_mtime_iso(content.mtime_ns),
        sha256=sha256, md5=md5,
    )  # fmt: skip
    try:
        return _probe_content(record, content, source, options, reference, folder)
    except Exception as exc:  # the one barrier: a bug or a codec surprise stays in its file
        return _replace(record, error=f"internal error while probing: {_one_line(exc)}"), None


def _probe_content(
    record: FileRecord,
    content: read.FileBytes,
    source: Source,
    options: ScanOptions,
    reference: datetime,
    folder: str | None,
) -> tuple[FileRecord, looks.Look | None]:
    data = content.data
    fmt = decode.sniff(data)
    if fmt not in decode.PILLOW_FORMATS:
        ext = os.path.splitext(source.path)[1].lower()
        if fmt in _DOCUMENT_FORMATS and ext not in decode.ALL_IMAGE_EXTENSIONS:
            return _replace(record, status=STATUS_SKIPPED, error=f"not an image ({fmt})"), None
        claimed = f" (named {ext})" if ext else ""
        return _replace(record, error=f"not an image: content is {fmt}{claimed}"), None
    decoded = None
    decode_error = None
    try:
        working = folder is not None  # the working copy for verification's features
        decoded = decode.decode(data, fmt, options.max_pixels, options.preview_size, working)
    except FileProblem as exc:
        decode_error = str(exc)
    meta = _metadata(data, fmt, decoded)
    exif_tags = dict(meta.exif.tags) if meta.exif else {}
    posted = source.telegram.posted if source.telegram else None
    mtime_ns = None if source.archived else content.mtime_ns  # a member's is the archive's
    xmp_pairs = meta.xmp.properties if meta.xmp else ()
    history = meta.xmp.history if meta.xmp else ()
    stamps, best = timestamps.collect(
        exif_tags, dict(xmp_pairs), source.path, mtime_ns, reference, posted, source.archived,
        iptc=dict(meta.iptc), history=history,
    )  # fmt: skip
    record = _replace(
        record,
        exif=meta.exif.tags if meta.exif else (),
        exif_partial=bool(meta.exif and meta.exif.partial),
        gps=meta.exif.gps if meta.exif else None,
        xmp=xmp_pairs,
        xmp_history=history,
        iptc=meta.iptc,
        timestamps=stamps,
        best_time=best,
        warnings=record.warnings + meta.warnings + (decoded.warnings if decoded else ()),
    )
    if decoded is None:
        # The pixels are lost, the file's own facts are not: a truncated or corrupted JPEG
        # still declares its size, tables and markers (the encoder's fingerprint).
        image = _undecoded(source, fmt, meta)
        return _replace(
            record, error=decode_error, image=image, makernotes=meta.notes,
            metadata=_merged(record, meta, (image.width, image.height) if image else None),
        ), None  # fmt: skip
    data_hash = None
    if meta.jpeg is not None and not meta.jpeg.problems:
        data_hash = hashes.jpeg_data_sha256(data, meta.jpeg.image_data_spans)
    elif fmt == "PNG":
        data_hash = hashes.png_data_sha256(data)
    width, height = meta.stored_size or decoded.full_size
    image = _image_info(source, fmt, meta, width, height, decoded.image.mode, decoded.frames)
    record = _replace(
        record,
        status=STATUS_OK,
        error=None,
        image=image,
        makernotes=meta.notes,
        metadata=_merged(record, meta, (width, height)),
        hashes=_hashes(decoded, data_hash),
        thumbnail=thumbnail.make_thumbnail(decoded.preview, options.thumbnails),
        watermark=run_pixel_checks(
            decoded.preview,
            decoded.upright_size,
            options.pixel_checks,
            options.crop_search,
            decoded.upright,
        ),
    )
    look = None
    if folder is not None and decoded.working is not None:
        try:
            look = looks.see(decoded, folder, data, further=options.further_cuts)
        except Exception as exc:  # the record stands; the picture is then never verified
            warning = f"verification features: {_one_line(exc)}"
            record = _replace(record, warnings=record.warnings + (warning,))
    if options.profile is None:
        return record, look
    # The profile's marker patterns are the user's regular expressions over the file's own
    # text: run here, under the per-file time limit, a catastrophic pattern costs one file.
    marked = _replace(record, watermark=record.watermark + marker_checks(record, options.profile))
    return marked, look


def _hashes(decoded: decode.Decoded, data_hash: str | None) -> Hashes:
    """The preview's perceptual hashes and its views', and those of the pictures it shows."""
    found = hashes.perceptual(decoded.preview, data_hash, views=True)
    return replace(found, views=found.views + shown.views(decoded))


def _merged(
    record: FileRecord, meta: _Extracted, size: tuple[int, int] | None
) -> tuple[MetadataValue, ...]:
    groups = meta.exif.groups if meta.exif else ()
    late = meta.jpeg.late if meta.jpeg else ()
    return merged.merge(
        record.exif, groups, record.gps, size, record.xmp, record.iptc, meta.notes, late
    )


# Pillow's mode for a JPEG of that many components.
_JPEG_MODES = {1: "L", 3: "RGB", 4: "CMYK"}


def _undecoded(source: Source, fmt: str, meta: _Extracted) -> ImageInfo | None:
    """The size a file declares when its pixels cannot be decoded: a JPEG's SOF, a HEIF's ispe."""
    if fmt in ("HEIF", "AVIF") and meta.stored_size and min(meta.stored_size) > 0:
        width, height = meta.stored_size
        return _image_info(source, fmt, meta, width, height, "unknown", frames=1)
    frame = meta.jpeg.frame if meta.jpeg is not None else None
    if frame is None or frame[0] == 0 or frame[1] == 0:
        return None
    width, height, components = frame
    mode = _JPEG_MODES.get(components, f"{components} components")
    return _image_info(source, "JPEG", meta, width, height, mode, frames=1)


def _image_info(
    source: Source, fmt: str, meta: _Extracted, width: int, height: int, mode: str, frames: int
) -> ImageInfo:
    return ImageInfo(
        format=fmt,
        extension_mismatch=_extension_mismatch(source.path, fmt),
        width=width,
        height=height,
        mode=mode,
        orientation=meta.exif.orientation if meta.exif else None,
        frames=frames,
        has_thumbnail=bool(meta.exif and meta.exif.has_thumbnail),
        jpeg=meta.jpeg.info if meta.jpeg else None,
    )


def _replace(record: FileRecord, **changes: object) -> FileRecord:
    return replace(record, **changes)  # type: ignore[arg-type]


# a record, its journal line when the scan journals, and its look for verification
Probed = tuple[FileRecord, bytes | None, looks.Look | None]


def _probe(
    source: Source, options: ScanOptions, reference: datetime, journaled: bool, folder: str
) -> Probed:
    record, look = probe_looked(source, options, reference, folder)
    return record, journal_line(record) if journaled else None, look


def _probe_all(
    sources: list[Source],
    options: ScanOptions,
    reference: datetime,
    progress: Progress | None,
    journaled: bool,
    folder: str,
) -> Iterator[Probed]:
    """Probe every source in supervised worker processes (in this process when asked, for
    tests and profiling); records come back in completion order, with their journal lines
    when journaled (None for a file whose worker died: its record is made here)."""
    total = len(sources)
    probe = partial(
        _probe, options=options, reference=reference, journaled=journaled, folder=folder
    )
    results: Iterator[tuple[int, Probed | Failed]]
    if options.in_process:
        results = ((i, probe(s)) for i, s in enumerate(sources))
    else:
        results = run_supervised(
            probe, sources, options.worker_count, options.file_time_limit,
            options.worker_memory_limit,
        )  # fmt: skip
    for done, (index, outcome) in enumerate(results, 1):
        if progress:
            progress(done, total)
        if isinstance(outcome, Failed):
            source = sources[index]
            failed = FileRecord(
                root=source.root, path=source.path, status=STATUS_ERROR, error=outcome.reason,
                path_bytes_hex=source.path_bytes_hex, telegram=source.telegram,
            )  # fmt: skip
            outcome = failed, None, None
        yield outcome


def record_order(record: FileRecord, roots: tuple[str, ...]) -> tuple[int, bytes]:
    raw = bytes.fromhex(record.path_bytes_hex) if record.path_bytes_hex else record.path.encode()
    return roots.index(record.root) if record.root in roots else len(roots), raw


class _Compactor:
    """Records come out of the workers as fresh objects: every record its own copy of the root,
    the status, the format, each time source's name and trust, and the same quantisation
    tables and marker lists as its neighbours. Keeping one copy of each (strings interned,
    tables shared, best_time the very stamp it was chosen from) is what lets a 100,000-file
    scan fit in memory."""

    SHORT = 64  # longer strings (descriptions, comments) are seldom repeated

    def __init__(self) -> None:
        self.shared: dict[object, object] = {}

    def _one(self, value: T) -> T:
        return self.shared.setdefault(value, value)  # type: ignore[return-value]

    def _value(self, value: Any) -> Any:
        kind: type = type(value)
        if kind is str:
            return sys.intern(value) if len(value) <= self.SHORT else value
        if kind is tuple:
            if not value or type(value[0]) in _NUMBERS:
                return value  # numbers (hash rows, table entries): nothing to share inside
            return tuple(self._value(item) for item in value)
        names = field_names(kind)
        if names is None:
            return value
        return kind(**{name: self._value(getattr(value, name)) for name in names})

    def _pair(self, pair: tuple[str, Any]) -> tuple[str, Any]:
        """One copy of each (tag, value) pair: a camera model's records repeat most of
        theirs. Keyed with the value's types too, since (1, 2.0) == (1.0, 2) in Python but
        not in the report."""
        name, value = pair
        key = (name, value, _types(value))
        return self.shared.setdefault(key, (sys.intern(name), value))  # type: ignore[return-value]

    def __call__(self, record: FileRecord) -> FileRecord:
        try:
            exif = tuple(self._pair(p) for p in record.exif)
        except TypeError:  # an unhashable value: those pairs are compacted like any value
            exif = self._value(record.exif)
        # The pairs are shared whole, so the generic walk need not go through them first.
        compact: FileRecord = self._value(replace(record, exif=()))
        image = compact.image
        if image is not None and image.jpeg is not None:
            jpeg = replace(
                image.jpeg,
                quant_tables=self._one(image.jpeg.quant_tables),
                markers=self._one(image.jpeg.markers),
            )
            image = replace(image, jpeg=jpeg)
        best = next((s for s in compact.timestamps if s == compact.best_time), compact.best_time)
        return replace(compact, exif=exif, image=image, best_time=best)


_NUMBERS = frozenset({int, float, bool})


def _types(value: object) -> object:
    if isinstance(value, tuple):
        return tuple(_types(item) for item in value)
    return type(value)


def _journal_scan(options: ScanOptions) -> dict[str, object]:
    """What must match for a journal to be resumed: the roots and every option that changes
    a record (not the worker count)."""
    profile = options.profile
    return {
        "roots": list(options.roots),
        "max_pixels": options.max_pixels,
        "max_file_bytes": options.max_file_bytes,
        "preview_size": options.preview_size,
        "thumbnails": options.thumbnails,
        "profile_sha256": profile.sha256 if profile else None,
        "keys": [list(pair) for pair in key_fingerprints(options.pixel_checks)],
        "crop_search": options.crop_search,
    }


def _unchanged(source: Source, record: FileRecord) -> bool:
    """A finished file need not be read again if its size and mtime are what was recorded."""
    if record.size is None or record.mtime is None or not source.openable:
        return False
    try:
        st = os.lstat(source.fs_path)
    except OSError:
        return False
    return st.st_size == record.size and _mtime_iso(st.st_mtime_ns) == record.mtime


def _scan_sources(
    sources: list[Source],
    options: ScanOptions,
    started: datetime,
    progress: Progress | None,
    journal_path: str | None,
    resume: bool,
    folder: str,
) -> tuple[list[FileRecord], dict[tuple[str, str], looks.Look]]:
    """Probe every source (or take its record from the journal), in completion order; the
    looks of the informative pictures by (root, path), their features spilled into `folder`."""
    reference = started.replace(tzinfo=None)
    journal = None
    records: list[FileRecord] = []
    seen: dict[tuple[str, str], looks.Look] = {}
    resumed: list[tuple[Source, FileRecord]] = []
    compact = _Compactor()
    if journal_path:
        journal = Journal(
            journal_path, _journal_scan(options), reference.isoformat(), resume, keep=compact
        )
        reference = datetime.fromisoformat(str(journal.header["reference"]))
        pending = []
        for source in sources:
            done = journal.done.pop((source.root, source.path), None)
            if done is not None and _unchanged(source, done):
                records.append(done)
                resumed.append((source, done))
            else:
                pending.append(source)
        journal.done.clear()  # records of files no longer there: not in this report
        sources = pending
    try:
        journaled = journal is not None
        for record, line, look in _probe_all(
            sources, options, reference, progress, journaled, folder
        ):
            if journal is not None:
                journal.append_line(line if line is not None else journal_line(record))
            records.append(compact(record))
            if look is not None:
                seen[(record.root, record.path)] = look
    finally:
        if journal is not None:
            journal.close()
    seen.update(_look_again(resumed, options, folder))
    return records, seen


def _look_again(
    done: list[tuple[Source, FileRecord]], options: ScanOptions, folder: str
) -> Iterator[tuple[tuple[str, str], looks.Look]]:
    """Looks at the pictures of a resumed scan's journaled records (the journal keeps no
    pixels): each read and decoded once more, in the supervised workers."""
    todo = [(s, r) for s, r in done if r.hashes is not None and r.sha256 and s.openable]
    look = partial(_look_file, options=options, folder=folder)
    results: Iterator[tuple[int, looks.Look | None | Failed]]
    if options.in_process:
        results = ((i, look(item)) for i, item in enumerate(todo))
    else:
        results = run_supervised(
            look, todo, options.worker_count, options.file_time_limit,
            options.worker_memory_limit,
        )  # fmt: skip
    for index, outcome in results:
        if isinstance(outcome, looks.Look):
            source, record = todo[index]
            yield (record.root, record.path), outcome


def _look_file(
    item: tuple[Source, FileRecord], options: ScanOptions, folder: str
) -> looks.Look | None:
    source, record = item
    assert record.sha256 is not None
    try:
        return looks.look_file(source.fs_path, record.sha256, options, folder)
    except Exception:  # a codec surprise: the picture is then never verified, as when gone
        return None


def scan(
    options: ScanOptions,
    command: tuple[str, ...] = (),
    progress: Progress | None = None,
    journal_path: str | None = None,
    resume: bool = False,
    kept: looks.Kept | None = None,
) -> Report:
    """Walk, probe every file (in parallel), attribute, and return the finished Report.

    With a journal, every record is appended to it as it is made; with resume, files whose
    records are in the journal and whose size and mtime are unchanged are not read again.
    With `kept` (compare's sides), the looks' features are spilled into its folder (the
    caller's to remove) and the looks put into it, to be used after the scan."""
    started = datetime.now(UTC)
    # Zip roots are unpacked here for the scan's length (never beside the evidence).
    limits = None if options.in_process else (options.file_time_limit,
                                              options.worker_memory_limit)  # fmt: skip
    # The verification features of informative pictures are spilled here (looks.py), never
    # beside the evidence or the output; gone when the clusters are made.
    with tempfile.TemporaryDirectory(prefix="kyctriage-looks-") as looked:
        with tempfile.TemporaryDirectory(prefix="kyctriage-unpacked-") as scratch:
            sources = list(walk(options.roots, scratch, limits))
            records, seen = _scan_sources(
                sources, options, started, progress, journal_path, resume,
                kept.folder if kept is not None else looked,
            )  # fmt: skip
        if kept is not None:
            kept.looks.update(seen)
        records.sort(key=lambda r: record_order(r, options.roots))
        analysed = attribute_all(tuple(records), options.profile)
        found = looks.Looks(seen)
        clusters = (
            cluster(analysed, pictures=found.features, keys=found.keys, shown=found.shown)
            if options.clusters
            else None
        )
    profile = options.profile
    meta = ScanMeta(
        tool_version=__version__,
        command=command,
        roots=options.roots,
        started=started.isoformat(timespec="seconds"),
        finished=now_iso(),  # probing and clustering done
        workers=options.worker_count,
        profile=profile.path if profile else None,
        profile_sha256=profile.sha256 if profile else None,
        thumbnails=options.thumbnails,
        key_fingerprints=key_fingerprints(options.pixel_checks),
    )
    return Report(meta=meta, records=analysed, clusters=clusters)
