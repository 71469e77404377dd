"""The fuzz target of the metadata parsers alone (XMP, IPTC, Photoshop resources, maker notes,
HEIF boxes, the JPEG resync), each called on the raw bytes: far more executions per second
than the whole-file target, and no decoder in the way of the parsers' own branches."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from kyctriage.errors import FileProblem
from kyctriage.probes import heif, iptc, jpeg, makernotes, merged, vendor, xmp

# CPU seconds of this process per parser call: wall time on a shared, loaded machine (load 13
# on 2 cores) flagged 12 ms calls as 2 s ones.
TIME_BOUND = 2.0
# What one call may return at most, in characters of its repr: bounded whatever the input.
MAX_OUTPUT_CHARS = 2_000_000


def _xmp(data: bytes) -> object:
    result = xmp.read_xmp(data)
    assert len(result.properties) <= xmp.MAX_PROPERTIES
    assert len(result.history) <= xmp.MAX_EVENTS
    return result


def _iptc(data: bytes) -> object:
    resources = iptc.photoshop_resources(data)
    return resources, iptc.read_iptc(data), [iptc.read_iptc(r) for r in resources.values()]


def _jpeg(data: bytes) -> object:
    """The salvaging walk (the strict one is the whole-file target's)."""
    try:
        segments = jpeg.parse(data, salvage=True)
    except FileProblem:
        return None
    assert len(segments.problems) <= jpeg.MAX_RESYNCS
    return segments


def _heif(data: bytes) -> object:
    boxes = heif.read_boxes(data)
    if boxes is not None:
        for block in (boxes.exif, boxes.xmp):
            assert block is None or len(block) <= heif.MAX_ITEM_BYTES
    return boxes


def _makernotes(data: bytes) -> object:
    """Each maker's reader on the bytes as an EXIF block, and the XMP value converter."""
    makes = ("Canon", "NIKON", "FUJIFILM", "CASIO", "OLYMPUS", "EASTMAN KODAK", "")
    notes = [makernotes.read_makernotes(data, make) for make in makes]
    for found in notes:
        assert len(found) <= makernotes.MAX_ENTRIES
    text = data[:200].decode("latin-1")
    blocks = [vendor.by_kind(kind, data) for kind in ("APP12", "CIFF", "QVCI")]
    blocks += [vendor.kodak(data, "DC240"), vendor.kodak(b"KDK INFO" + data, "")]
    return notes, blocks, makernotes.composite_iso(dict(notes[0])), merged.xmp_value(text)


PARSERS: list[Callable[[bytes], object]] = [_xmp, _iptc, _jpeg, _heif, _makernotes]


def check_metadata(data: bytes) -> None:
    """Every metadata parser on the bytes: no exception (but the documented FileProblem), in
    bounded time, with bounded output."""
    for parser in PARSERS:
        _check(parser, data)


def check_one(data: bytes) -> None:
    """The fuzzer's entry: the first byte picks the parser, the rest is its input (five times
    the executions per second of running all five on every input; each parser's inputs evolve
    apart)."""
    if data:
        _check(PARSERS[data[0] % len(PARSERS)], data[1:])


def one_seeds(blocks: list[bytes]) -> list[bytes]:
    """Each seed block once for each parser, with the byte that picks it."""
    return [bytes([index]) + block for block in blocks for index in range(len(PARSERS))]


def _check(parser: Callable[[bytes], object], data: bytes) -> None:
    started = time.process_time()
    out = parser(data)
    elapsed = time.process_time() - started
    if elapsed > TIME_BOUND:
        raise AssertionError(f"{parser.__name__}: {elapsed:.1f} s for {len(data)} bytes")
    if len(repr(out)) > MAX_OUTPUT_CHARS:
        raise AssertionError(f"{parser.__name__}: output of {len(repr(out))} chars")


def metadata_seeds(files: list[Path]) -> list[bytes]:
    """The metadata blocks of real files (XMP packets, APP13 payloads, EXIF blocks), small
    enough for the fuzzer's length limit, and the files' first 64 KB."""
    seeds = []
    for path in files:
        data = path.read_bytes()
        seeds.append(data[:65536])
        if data[4:8] == b"ftyp":  # HEIF: the boxes up to the image data
            seeds.append(data[: data.find(b"mdat") + 64])
        try:
            segments = jpeg.parse(data)
        except FileProblem:
            continue
        seeds.extend(b for b in (segments.xmp, segments.photoshop, segments.exif_tiff) if b)
    return seeds
