"""Maker notes: Canon, Nikon and Fujifilm as exifread decodes them, Apple's with a small bounded
IFD reader (the phone's capture ids: ContentIdentifier links a Live Photo, BurstUUID a burst),
under exiftool's group and, where it knows them, its names."""

from __future__ import annotations

import math
import struct
from typing import Any

from kyctriage.model import ExifValue
from kyctriage.probes import exif, vendor

NAME = "makernotes"

MAX_ENTRIES = 200
MAX_TEXT = 500

# exiftool's family-1 group per maker, for the makers exifread decodes well enough to keep.
EXIFREAD_MAKERS = (("CANON", "Canon"), ("NIKON", "Nikon"), ("FUJIFILM", "FujiFilm"))

# exifread's names that exiftool spells otherwise.
RENAMED = {"Canon:ISO": "Canon:CameraISO", "Canon:Macromode": "Canon:MacroMode"}

# Apple's maker-note tags under exiftool's names (the ones that say how and when a phone
# captured the picture and tie it to its siblings).
APPLE_TAGS = {
    0x0001: "MakerNoteVersion",
    0x0004: "AEStable",
    0x0005: "AETarget",
    0x0006: "AEAverage",
    0x0007: "AFStable",
    0x0008: "AccelerationVector",
    0x000A: "HDRImageType",
    0x000B: "BurstUUID",
    0x000C: "FocusDistanceRange",
    0x000F: "OISMode",
    0x0011: "ContentIdentifier",
    0x0014: "ImageCaptureType",
    0x0015: "ImageUniqueID",
    0x0017: "LivePhotoVideoIndex",
    0x0020: "ImageCaptureRequestID",
    0x0021: "HDRHeadroom",
    0x0027: "SignalToNoiseRatio",
    0x002B: "PhotoIdentifier",
    0x002F: "FocusPosition",
    0x0030: "HDRGain",
    0x0038: "AFMeasuredDepth",
    0x003D: "AFConfidence",
    0x0045: "FrontFacingCamera",
}
_APPLE = b"Apple iOS\x00"
_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
}
_INTEGERS = {3: "H", 4: "I", 8: "h", 9: "i", 16: "Q", 17: "q"}


def maker_note(tiff: bytes) -> tuple[int, int] | None:
    """Where the Exif IFD's MakerNote lies in the TIFF block: (offset, length), or None."""
    entry = exif.exif_entry(tiff, 0x927C)
    if entry is None:
        return None
    _, count, where = entry
    if count <= 4 or where >= len(tiff):
        return None
    # a note longer than its APP1 segment (Casio's QV-R51 declares 32 KB): read what is there
    return where, min(count, len(tiff) - where)


def read_makernotes(tiff: bytes, make: str, model: str = "") -> tuple[tuple[str, ExifValue], ...]:
    """The maker note's tags as ("Group:Name", value); () when there is none or it is not one
    of the kinds read here. Called only for a file whose EXIF has a MakerNote entry."""
    if tiff.startswith(b"Exif\x00\x00"):
        tiff = tiff[6:]
    where = maker_note(tiff)
    if where is None:
        return ()
    offset, length = where
    if tiff[offset : offset + len(_APPLE)] == _APPLE:
        return _apple(tiff[offset : offset + length])
    upper = make.upper()
    note = tiff[offset : offset + length]
    order = "<" if tiff[:2] == b"II" else ">"
    if upper.startswith("EASTMAN KODAK"):
        return tuple(vendor.kodak(note, model))
    if upper.startswith("CASIO") or note.startswith(b"QVC\x00"):
        return _casio(tiff, offset, order)
    if note.startswith(b"OLYMPUS\x00"):
        return _olympus(note)
    for prefix, group in EXIFREAD_MAKERS:
        if upper.startswith(prefix):
            return _exifread(tiff, group)
    return ()


def _apple(note: bytes) -> tuple[tuple[str, ExifValue], ...]:
    """Apple's note: its header, "MM", then one big-endian IFD whose offsets count from the
    start of the note."""
    if note[12:14] != b"MM" or len(note) < 16:
        return ()
    (count,) = struct.unpack_from(">H", note, 14)
    found: dict[str, ExifValue] = {}
    for index in range(min(count, MAX_ENTRIES, (len(note) - 16) // 12)):
        tag, kind, number, value_at = struct.unpack_from(">HHII", note, 16 + 12 * index)
        size = _SIZES.get(kind, 0) * number
        start = 16 + 12 * index + 8 if size <= 4 else value_at
        raw = note[start : start + size]
        if not size or len(raw) < size:
            continue
        value = _apple_value(kind, number, raw)
        if value is not None:
            found[f"Apple:{APPLE_TAGS.get(tag, f'Apple_0x{tag:04x}')}"] = value
    return tuple(sorted(found.items()))


def _apple_value(kind: int, number: int, raw: bytes) -> ExifValue | None:
    if kind == 2:
        return raw.split(b"\x00", 1)[0].decode("utf-8", "replace")[:MAX_TEXT]
    if kind in (5, 10):
        pairs = struct.unpack(f">{2 * number}{'i' if kind == 10 else 'I'}", raw)
        values: list[Any] = [
            a / b if b else math.inf for a, b in zip(pairs[::2], pairs[1::2], strict=True)
        ]
    elif kind in _INTEGERS:
        values = list(struct.unpack(f">{number}{_INTEGERS[kind]}", raw))
    else:
        return None  # binary property lists and undefined bytes: not shown
    numbers = [exif.number_value(v) for v in values[:64]]
    if len(numbers) == 1:
        return numbers[0]
    return " ".join(str(n) for n in numbers)


Entry = tuple[int, int, int, bytes]  # tag, type, count, the value's bytes


def ifd_entries(data: bytes, start: int, order: str, base: int) -> list[Entry]:
    """The entries of the IFD at `start`, each with its value's bytes (inline when they fit in
    four, else at `base` + the stored offset). Bounded: MAX_ENTRIES, values inside `data`."""
    if start < 0 or start + 2 > len(data):
        return []
    (count,) = struct.unpack_from(order + "H", data, start)
    entries: list[Entry] = []
    for index in range(min(count, MAX_ENTRIES, (len(data) - start - 2) // 12)):
        at = start + 2 + 12 * index
        tag, kind, number, value_at = struct.unpack_from(order + "HHII", data, at)
        size = _SIZES.get(kind, 0) * number
        where = at + 8 if size <= 4 else base + value_at
        raw = data[where : where + size]
        if size and len(raw) == size:
            entries.append((tag, kind, number, raw))
    return entries


def _int16(entries: list[Entry], tag: int, order: str) -> int | None:
    for found, kind, number, raw in entries:
        if found == tag and kind == 3 and number >= 1:
            return int(struct.unpack_from(order + "H", raw)[0])
    return None


def _casio(tiff: bytes, offset: int, order: str) -> tuple[tuple[str, ExifValue], ...]:
    """Casio's notes (Casio.pm): type 1, a plain IFD, ISO in tag 0x0014; type 2 ("QVC\0"),
    an IFD from byte 6, ISO in tag 0x3014. Offsets count from the TIFF header. exiftool gives
    both ISOs priority 0: the EXIF ISO, where there is one, is kept."""
    start, tag = (
        (offset + 6, 0x3014) if tiff[offset : offset + 4] == b"QVC\x00" else (offset, 0x0014)
    )
    order = _order_of_ifd(tiff, start, order)
    iso = _int16(ifd_entries(tiff, start, order, 0), tag, order)
    return (("Casio:ISO", iso),) if iso is not None else ()


def _order_of_ifd(data: bytes, start: int, usual: str) -> str:
    """The byte order an IFD of unknown order reads sanely in (a plausible entry count and a
    known type for the first entry), as exiftool guesses it; the TIFF's own order first."""
    for order in (usual, "<" if usual == ">" else ">"):
        if start + 6 <= len(data):
            count, _, kind = struct.unpack_from(order + "HHH", data, start)
            if 0 < count <= MAX_ENTRIES and kind in _SIZES:
                return order
    return usual


def _olympus(note: bytes) -> tuple[tuple[str, ExifValue], ...]:
    """Olympus's type 2 note ("OLYMPUS\0" + byte order; offsets from the note's start): the
    lens from the Equipment sub-IFD (0x2010: LensModel 0x0203, LensSerialNumber 0x0202)."""
    if len(note) < 12 or note[8:10] not in (b"II", b"MM"):
        return ()
    order = "<" if note[8:10] == b"II" else ">"
    found: list[tuple[str, ExifValue]] = []
    for tag, kind, _, raw in ifd_entries(note, 12, order, 0):
        if tag != 0x2010 or kind not in (4, 7, 13) or len(raw) < 4:
            continue
        (sub,) = struct.unpack_from(order + "I", raw)
        for inner, inner_kind, _, value in ifd_entries(note, sub, order, 0):
            name = {0x0202: "LensSerialNumber", 0x0203: "LensModel"}.get(inner)
            text = value.split(b"\x00", 1)[0].decode("latin-1").strip()[:MAX_TEXT]
            if name and inner_kind == 2 and text:
                found.append((f"Olympus:{name}", text))
        break
    return tuple(sorted(found))


def _exifread(tiff: bytes, group: str) -> tuple[tuple[str, ExifValue], ...]:
    """exifread's decoding of the note, its names kept, its unknown tags left out."""
    header = exif.BoundedHeader(tiff)
    header.detailed = True  # the MakerNote entry is skipped otherwise
    try:
        header.dump_ifd(header.list_ifd()[0], "Image")
        exif_offset = header.tags.get("Image ExifOffset")
        if not exif_offset or not exif_offset.values:
            return ()
        header.dump_ifd(exif_offset.values[0], "EXIF")
        header.decode_maker_note()
    except Exception:  # exifread raises many kinds on malformed notes; keep what was read
        pass
    found: dict[str, ExifValue] = {}
    for key, tag in header.tags.items():
        prefix, _, name = key.partition(" ")
        if prefix != "MakerNote" or name.startswith("Tag 0x") or len(found) >= MAX_ENTRIES:
            continue
        value = _exifread_value(tag)
        if value is not None:
            key = f"{group}:{name}"
            found[RENAMED.get(key, key)] = value
    return tuple(sorted(found.items()))


def _exifread_value(tag: Any) -> ExifValue | None:
    values = tag.values
    if isinstance(values, int):
        values = [values]
    if isinstance(values, str):
        text = values.split("\x00", 1)[0].strip()
        return text[:MAX_TEXT] if text else None
    printable = str(getattr(tag, "printable", ""))
    if isinstance(values, list) and len(values) == 1 and isinstance(values[0], int):
        # exifread maps coded values to words ("Macro", "Single"): the word is what it knows
        return values[0] if printable == str(values[0]) else printable[:MAX_TEXT]
    if isinstance(values, list) and 1 < len(values) <= 16:
        if all(isinstance(v, int) for v in values):
            return " ".join(str(v) for v in values)
    return printable[:MAX_TEXT] if printable and len(printable) <= MAX_TEXT else None


# Canon's BaseISO/AutoISO are 32nds of a stop: 1024 is 2^32 times ISO 100, far past any sensor.
MAX_APEX_ISO = 1024


def composite_iso(notes: dict[str, ExifValue]) -> float | int | None:
    """exiftool's Composite:ISO for Canon: CameraISO when it is a number, else BaseISO x
    AutoISO / 100, both from their APEX-like raw values (Canon.pm CalcISO)."""
    camera = notes.get("Canon:CameraISO")
    if isinstance(camera, int) or (isinstance(camera, str) and camera.isascii()
                                   and camera.isdigit()):  # fmt: skip  # not "²": int() refuses
        return int(camera)
    base, auto = notes.get("Canon:BaseISO"), notes.get("Canon:AutoISO")
    if not isinstance(base, int) or not isinstance(auto, int) or not base:
        return None
    if max(abs(base), abs(auto)) > MAX_APEX_ISO:
        return None  # a value no camera writes (2^(v/32) would overflow): not evidence of ISO
    base_iso = math.exp(base / 32 * math.log(2)) * 100 / 32
    auto_iso = math.exp(auto / 32 * math.log(2)) * 100
    return base_iso * auto_iso / 100
