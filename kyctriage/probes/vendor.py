"""Camera blocks outside the EXIF IFDs that exiftool reads for the capture facts: Canon's CIFF
heap (APP0 of early PowerShots), Olympus's [picture info] text (APP12), Casio's QVCI block
(APP1) and Kodak's fixed
"Kodak3" maker note (DC240, DC280, DC3400, DC5000), as ("Group:Name", value) under exiftool's
names, in exiftool -n form. Bounded: offsets checked, depth and entry counts capped."""

from __future__ import annotations

import re
import struct
from datetime import UTC, datetime

from kyctriage.model import ExifValue

NAME = "vendor"

MAX_DEPTH = 8
MAX_ENTRIES = 512
_KODAK3 = re.compile(r"^(KODAK )?DC(240|280|3400|5000)\b")

Pairs = list[tuple[str, ExifValue]]


def _unix(seconds: int) -> str | None:
    """exiftool's ConvertUnixTime, in UTC (the recorded figures were made with TZ=UTC)."""
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y:%m:%d %H:%M:%S")
    except (ValueError, OverflowError, OSError):
        return None


def picture_info(payload: bytes) -> Pairs:
    """Olympus APP12: "[picture info]" lines of Key=Value."""
    if b"[picture info]" not in payload[:200]:
        return []
    found: Pairs = []
    for line in payload[:4096].split(b"\r\n"):
        key, sep, value = line.partition(b"=")
        text = value.decode("latin-1").strip()
        if not sep or not text:
            continue
        if key == b"TimeDate" and text.isascii() and text.isdigit():  # not "¹": int() refuses
            when = _unix(int(text))
            if when:
                found.append(("PictureInfo:DateTimeOriginal", when))
        elif key == b"Shutter" and text.isascii() and text.isdigit():
            found.append(("PictureInfo:ExposureTime", int(text) / 1e6))
        elif key == b"FNumber" and re.fullmatch(r"F\d+(\.\d+)?", text):
            number = float(text[1:])
            found.append(("PictureInfo:FNumber", int(number) if number.is_integer() else number))
    return found


def qvci(payload: bytes) -> Pairs:
    """Casio's APP1 "QVCI" block (Casio.pm QVCI, the QV cameras of the late 1990s): the
    capture time at byte 0x4d as "YYYY.MM.DD.HH.MM.SS"."""
    raw = payload[0x4D : 0x4D + 20].split(b"\x00", 1)[0].decode("latin-1")
    match = re.fullmatch(r"(\d{4})\.(\d{2})\.(\d{2})[. ](\d{2})\.(\d{2})\.(\d{2})", raw.strip())
    if not payload.startswith(b"QVCI\x00") or not match:
        return []
    year, month, day, hour, minute, second = match.groups()
    return [("Casio:DateTimeOriginal", f"{year}:{month}:{day} {hour}:{minute}:{second}")]


def by_kind(kind: str, payload: bytes) -> Pairs:
    """The reader of a vendor block the JPEG walk kept (JpegSegments.vendor)."""
    readers = {"APP12": picture_info, "CIFF": ciff, "QVCI": qvci}
    return readers[kind](payload) if kind in readers else []


def ciff(payload: bytes) -> Pairs:
    """Canon's CIFF heap in an APP0 segment: byte order, header length, "HEAPJPGM", then a
    heap whose last four bytes point to its directory."""
    if payload[:2] not in (b"II", b"MM") or payload[6:14] != b"HEAPJPGM":
        return []
    order = "<" if payload[:2] == b"II" else ">"
    (header,) = struct.unpack_from(order + "I", payload, 2)
    found: Pairs = []
    if 14 <= header < len(payload):
        _heap(payload, header, len(payload), order, found, 0)
    return found[:MAX_ENTRIES]


def _heap(data: bytes, start: int, end: int, order: str, found: Pairs, depth: int) -> None:
    if depth > MAX_DEPTH or end - start < 6 or len(found) >= MAX_ENTRIES:
        return
    (directory,) = struct.unpack_from(order + "I", data, end - 4)
    at = start + directory
    if at + 2 > end:
        return
    (count,) = struct.unpack_from(order + "H", data, at)
    for index in range(min(count, (end - at - 2) // 10)):
        tag, size, offset = struct.unpack_from(order + "HII", data, at + 2 + 10 * index)
        kind, in_entry = tag & 0x3800, tag & 0xC000 == 0x4000
        if in_entry:
            value_at, size = at + 2 + 10 * index + 2, 8
        else:
            value_at = start + offset
            if value_at + size > end or size < 0:
                continue
        if kind in (0x2800, 0x3000) and not in_entry:
            _heap(data, value_at, value_at + size, order, found, depth + 1)
            continue
        _value(tag & 0x3FFF, data[value_at : value_at + size], order, found)


def _value(tag: int, raw: bytes, order: str, found: Pairs) -> None:
    if tag == 0x080A:  # CanonRawMakeModel: "Make\0Model\0"
        parts = raw.split(b"\x00")
        if len(parts) >= 2 and parts[0]:
            found.append(("CIFF:Make", parts[0].decode("latin-1")))
            found.append(("CIFF:Model", parts[1].decode("latin-1")))
    elif tag == 0x180E and len(raw) >= 4:  # TimeStamp: Unix time first
        when = _unix(struct.unpack_from(order + "I", raw)[0])
        if when:
            found.append(("CIFF:DateTimeOriginal", when))
    elif tag == 0x1810 and len(raw) >= 8:  # ImageInfo: width, height, ... (int32u)
        width, height = struct.unpack_from(order + "II", raw)
        found.append(("CIFF:ImageWidth", width))
        found.append(("CIFF:ImageHeight", height))
    elif tag == 0x1029 and len(raw) >= 4:  # FocalLength: FocalType, then millimetres
        found.append(("CIFF:FocalLength", struct.unpack_from(order + "H", raw, 2)[0]))
    elif tag == 0x0810 and raw:
        found.append(("CIFF:OwnerName", raw.split(b"\x00", 1)[0].decode("latin-1")))


def kodak(note: bytes, model: str) -> Pairs:
    """Kodak's fixed-layout notes: "KDK" (Kodak.pm Main, the DX and LS cameras: big-endian after
    "KDK INFO", little-endian otherwise, fields from byte 8) and "Kodak3" (DC240, DC280, DC3400,
    DC5000). exiftool lets their exposure, aperture and ISO take precedence over the EXIF ones."""
    if note.startswith(b"KDK") and len(note) >= 8 + 0x62:
        order = ">" if note.startswith(b"KDK INFO") else "<"
        (fnumber,) = struct.unpack_from(order + "H", note, 8 + 0x1E)
        (exposure,) = struct.unpack_from(order + "I", note, 8 + 0x20)
        (iso,) = struct.unpack_from(order + "H", note, 8 + 0x60)
        name = note[8:16].split(b"\x00", 1)[0].decode("latin-1").strip()
        return [
            ("Kodak:KodakModel", name),
            ("Kodak:ExposureTime", exposure / 1e5),
            ("Kodak:FNumber", fnumber / 100),
            ("Kodak:ISO", iso),
        ]
    if not _KODAK3.match(model.strip()) or len(note) < 0x50:
        return []
    exposure, fnumber = struct.unpack_from(">IH", note, 0x38)
    (iso,) = struct.unpack_from(">H", note, 0x4E)
    return [
        ("Kodak:ExposureTime", exposure / 1e5),
        ("Kodak:FNumber", fnumber / 100),
        ("Kodak:ISO", iso),
    ]
