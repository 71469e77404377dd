"""IPTC-IIM (Photoshop 8BIM resource 0x0404 in a JPEG's APP13): dates, by-line, caption, place."""

from __future__ import annotations

import struct

NAME = "iptc"

MAX_VALUE_CHARS = 2000
MAX_DATASETS = 500

# Application record (2) datasets, under exiftool's names.
DATASETS = {
    5: "ObjectName",
    7: "EditStatus",
    10: "Urgency",
    15: "Category",
    20: "SupplementalCategories",
    25: "Keywords",
    40: "SpecialInstructions",
    55: "DateCreated",
    60: "TimeCreated",
    62: "DigitalCreationDate",
    63: "DigitalCreationTime",
    65: "OriginatingProgram",
    70: "ProgramVersion",
    80: "By-line",
    85: "By-lineTitle",
    90: "City",
    92: "Sub-location",
    95: "Province-State",
    100: "Country-PrimaryLocationCode",
    101: "Country-PrimaryLocationName",
    103: "OriginalTransmissionReference",
    105: "Headline",
    110: "Credit",
    115: "Source",
    116: "CopyrightNotice",
    118: "Contact",
    120: "Caption-Abstract",
    122: "Writer-Editor",
}
_DATES = {"DateCreated", "DigitalCreationDate"}
_TIMES = {"TimeCreated", "DigitalCreationTime"}
_UTF8 = b"\x1b%G"


def photoshop_resources(data: bytes) -> dict[int, bytes]:
    """The 8BIM resources of a Photoshop IRB block ("Photoshop 3.0\\0" already cut), first
    copy of each id; a broken resource ends the walk with what came before it."""
    found: dict[int, bytes] = {}
    pos = 0
    while pos + 12 <= len(data) and len(found) < 1000:
        if data[pos : pos + 4] not in (b"8BIM", b"PHUT", b"AgHg", b"DCSR"):
            break
        resource = struct.unpack_from(">H", data, pos + 4)[0]
        name_length = data[pos + 6]
        pos += 7 + name_length + (1 - name_length % 2)  # the Pascal name, padded to even
        if pos + 4 > len(data):
            break
        size = struct.unpack_from(">I", data, pos)[0]
        pos += 4
        if pos + size > len(data):
            found.setdefault(resource, data[pos:])  # truncated: keep what is there
            break
        found.setdefault(resource, data[pos : pos + size])
        pos += size + size % 2
    return found


def read_iptc(block: bytes) -> tuple[tuple[str, str], ...]:
    """The named application-record datasets of an IPTC-IIM block; repeated ones (Keywords)
    joined with ', ' as exiftool prints lists. Dates as YYYY:MM:DD, times as HH:MM:SS+HH:MM."""
    values: dict[str, list[str]] = {}
    utf8 = False
    pos = count = 0
    while pos + 5 <= len(block) and count < MAX_DATASETS:
        if block[pos] != 0x1C:
            break
        record, dataset = block[pos + 1], block[pos + 2]
        length = struct.unpack_from(">H", block, pos + 3)[0]
        pos += 5
        if length & 0x8000:  # an extended dataset: the length's own length follows
            width = length & 0x7FFF
            if width > 4 or pos + width > len(block):
                break
            length = int.from_bytes(block[pos : pos + width], "big")
            pos += width
        raw = block[pos : pos + length]
        pos += length
        count += 1
        if record == 1 and dataset == 90:
            utf8 = raw.startswith(_UTF8)
        name = DATASETS.get(dataset) if record == 2 else None
        if name:
            values.setdefault(name, []).append(_format(name, _text(raw, utf8)))
    return tuple(
        (name, ", ".join(v for v in texts if v)[:MAX_VALUE_CHARS])
        for name, texts in sorted(values.items())
        if any(texts)
    )


def _text(raw: bytes, utf8: bool) -> str:
    """UTF-8 when the block says so or the bytes are valid UTF-8; Latin-1 otherwise (what
    old cameras and editors wrote without saying)."""
    raw = raw.rstrip(b"\x00")
    try:
        text = raw.decode("utf-8", "replace" if utf8 else "strict")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.strip()[:MAX_VALUE_CHARS]


def _format(name: str, text: str) -> str:
    if name in _DATES and len(text) == 8 and text.isascii() and text.isdigit():
        return f"{text[:4]}:{text[4:6]}:{text[6:]}"
    if name in _TIMES and len(text) >= 6 and text[:6].isascii() and text[:6].isdigit():
        zone = text[6:]
        if len(zone) == 5 and zone[0] in "+-" and zone[1:].isdigit():
            zone = f"{zone[:3]}:{zone[3:]}"
        return f"{text[:2]}:{text[2:4]}:{text[4:6]}{zone}"
    return text
