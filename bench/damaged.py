"""Damaged variants of a real file, the same bytes every time: what truncated uploads and
fuzzed test suites look like. Used by record_exiftool.py and exif_agreement.py."""

from __future__ import annotations

from collections.abc import Iterator


def variants(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(name, bytes): cut at two thirds and at a third; for a JPEG, garbage before the first
    DQT and an impossible length in the first APP segment; for a HEIF, the codec
    configuration box renamed (libheif refuses it, the boxes stay readable)."""
    yield "cut66", data[: len(data) * 2 // 3]
    yield "cut33", data[: len(data) // 3]
    if data.startswith(b"\xff\xd8"):
        dqt = data.find(b"\xff\xdb")
        if dqt > 0:
            yield "garbage", data[:dqt] + b"garbage!" + data[dqt:]
        if data[2:3] == b"\xff" and 0xE0 <= data[3] <= 0xEF:
            yield "badlength", data[:4] + b"\x00\x01" + data[6:]
    elif data[4:8] == b"ftyp":
        yield "nocodec", data.replace(b"hvcC", b"xxxx").replace(b"av1C", b"xxxx")
