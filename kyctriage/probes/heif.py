"""The HEIF/AVIF box structure (ISOBMFF meta: pitm, iinf, iloc, iprp/ipco/ipma), read without
libheif: the primary item's coded size (ispe) and the EXIF and XMP items, for files the
decoder refuses. Every length is checked against its parent box; counts are bounded."""

from __future__ import annotations

import struct
from dataclasses import dataclass

NAME = "heif"

MAX_BOXES = 4096
MAX_ITEMS = 4096
MAX_EXTENTS = 64
MAX_ITEM_BYTES = 4 << 20


@dataclass(frozen=True)
class HeifBoxes:
    size: tuple[int, int] | None  # the primary item's ispe (exiftool's ImageWidth/Height)
    exif: bytes | None  # the TIFF block of the first Exif item
    xmp: bytes | None  # the first application/rdf+xml item


@dataclass
class _Item:
    kind: str = ""
    content_type: str = ""
    extents: tuple[tuple[int, int], ...] = ()
    method: int = 0  # 0: file offsets, 1: offsets in idat


class _Reader:
    """Big-endian fields from a bounded window of the data; struct.error past its end."""

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self.data, self.pos, self.end = data, start, end

    def uint(self, size: int) -> int:
        if size == 0:
            return 0
        if size > 8 or self.pos + size > self.end:
            raise struct.error("field past the end of its box")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "big")
        self.pos += size
        return value

    def text(self) -> str:
        stop = self.data.find(b"\x00", self.pos, self.end)
        stop = self.end if stop < 0 else stop
        value = self.data[self.pos : stop].decode("utf-8", "replace")
        self.pos = stop + 1
        return value


def _boxes(data: bytes, start: int, end: int, budget: list[int]) -> list[tuple[str, int, int]]:
    """(type, payload start, payload end) of the boxes between start and end."""
    found = []
    pos = start
    while pos + 8 <= end and budget[0] > 0:
        budget[0] -= 1
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                break
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            found.append((kind.decode("latin-1"), pos + header, end))  # cut: keep what is there
            break
        found.append((kind.decode("latin-1"), pos + header, pos + size))
        pos += size
    return found


def read_boxes(data: bytes) -> HeifBoxes | None:
    """The facts of a HEIF file's meta box, or None when there is no readable meta box."""
    budget = [MAX_BOXES]
    top = {k: (a, b) for k, a, b in reversed(_boxes(data, 0, len(data), budget))}
    if "meta" not in top:
        return None
    start, end = top["meta"]
    children: dict[str, tuple[int, int]] = {}
    for kind, a, b in _boxes(data, start + 4, end, budget):  # meta is a full box
        children.setdefault(kind, (a, b))
    try:
        primary = _primary(data, children.get("pitm"))
        items = _item_info(data, children.get("iinf"), budget)
        _locations(data, children.get("iloc"), items)
        size = _primary_size(data, children.get("iprp"), primary, budget)
    except struct.error:
        return HeifBoxes(None, None, None)
    idat = children.get("idat")
    exif = next((_payload(data, i, idat) for i in items.values() if i.kind == "Exif"), None)
    xmp = next(
        (_payload(data, i, idat) for i in items.values()
         if i.kind == "mime" and "rdf+xml" in i.content_type),
        None,
    )  # fmt: skip
    return HeifBoxes(size, _tiff(exif), xmp or None)


def _primary(data: bytes, box: tuple[int, int] | None) -> int | None:
    if box is None:
        return None
    read = _Reader(data, *box)
    version = read.uint(1)
    read.uint(3)
    return read.uint(2 if version == 0 else 4)


def _item_info(data: bytes, box: tuple[int, int] | None, budget: list[int]) -> dict[int, _Item]:
    items: dict[int, _Item] = {}
    if box is None:
        return items
    read = _Reader(data, *box)
    version = read.uint(1)
    read.uint(3)
    read.uint(2 if version == 0 else 4)  # the entry count; the boxes themselves say
    for kind, a, b in _boxes(data, read.pos, box[1], budget)[:MAX_ITEMS]:
        if kind != "infe":
            continue
        entry = _Reader(data, a, b)
        infe_version = entry.uint(1)
        entry.uint(3)
        if infe_version < 2:
            continue  # versions 0 and 1 carry no item type
        item_id = entry.uint(2 if infe_version == 2 else 4)
        entry.uint(2)  # protection index
        item = items.setdefault(item_id, _Item())
        item.kind = data[entry.pos : entry.pos + 4].decode("latin-1")
        entry.pos += 4
        entry.text()  # the item name
        if item.kind == "mime" and entry.pos < b:
            item.content_type = entry.text()
    return items


def _locations(data: bytes, box: tuple[int, int] | None, items: dict[int, _Item]) -> None:
    if box is None:
        return
    read = _Reader(data, *box)
    version = read.uint(1)
    read.uint(3)
    sizes = read.uint(1)
    offset_size, length_size = sizes >> 4, sizes & 15
    sizes = read.uint(1)
    base_size, index_size = sizes >> 4, (sizes & 15) if version in (1, 2) else 0
    count = read.uint(2 if version < 2 else 4)
    for _ in range(min(count, MAX_ITEMS)):
        item_id = read.uint(2 if version < 2 else 4)
        method = read.uint(2) & 15 if version in (1, 2) else 0
        read.uint(2)  # data reference index
        base = read.uint(base_size)
        extents: list[tuple[int, int]] = []
        extent_count = read.uint(2)
        if extent_count > MAX_EXTENTS:  # with zero-width fields, a loop that reads nothing
            raise struct.error(f"{extent_count} extents for one item")
        for _ in range(extent_count):
            read.uint(index_size)
            offset, length = read.uint(offset_size), read.uint(length_size)
            extents.append((base + offset, length))
        if item_id in items:
            items[item_id].extents, items[item_id].method = tuple(extents), method


def _primary_size(
    data: bytes, box: tuple[int, int] | None, primary: int | None, budget: list[int]
) -> tuple[int, int] | None:
    if box is None or primary is None:
        return None
    inner = {k: (a, b) for k, a, b in reversed(_boxes(data, *box, budget))}
    if "ipco" not in inner or "ipma" not in inner:
        return None
    properties = _boxes(data, *inner["ipco"], budget)
    read = _Reader(data, *inner["ipma"])
    version = read.uint(1)
    flags = read.uint(3)
    for _ in range(min(read.uint(4), MAX_ITEMS)):
        item_id = read.uint(2 if version < 1 else 4)
        indexes = [
            read.uint(2) & 0x7FFF if flags & 1 else read.uint(1) & 0x7F for _ in range(read.uint(1))
        ]
        if item_id != primary:
            continue
        for index in indexes:
            if 1 <= index <= len(properties) and properties[index - 1][0] == "ispe":
                _, a, b = properties[index - 1]
                ispe = _Reader(data, a, b)
                ispe.uint(4)
                return ispe.uint(4), ispe.uint(4)
    return None


def _payload(data: bytes, item: _Item, idat: tuple[int, int] | None) -> bytes | None:
    if item.method not in (0, 1) or (item.method == 1 and idat is None):
        return None
    base, limit = (idat[0], idat[1]) if item.method == 1 and idat else (0, len(data))
    parts, total = [], 0
    for offset, length in item.extents:
        start = base + offset
        length = length or limit - start  # a zero length runs to the end
        if start >= limit or length < 0 or total + length > MAX_ITEM_BYTES:
            return None
        parts.append(data[start : min(start + length, limit)])
        total += length
    return b"".join(parts) or None


def _tiff(item: bytes | None) -> bytes | None:
    """An Exif item starts with the offset of its TIFF header (after "Exif\\0\\0", usually)."""
    if item is None or len(item) < 4:
        return None
    start = 4 + int.from_bytes(item[:4], "big")
    tiff = item[start:] if start < len(item) else b""
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        found = max(item.find(b"II*\x00"), item.find(b"MM\x00*"))
        tiff = item[found:] if found >= 0 else b""
    return tiff or None
