"""A hostile corpus, made at test time: the files an attacker would leave in a leak."""

from __future__ import annotations

import io
import os
import socket
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image

MARKUP = "[bold red]x[/bold red][/bold][link=https://evil.invalid]y[/link]:warning:"
ESCAPES = "\x1b[31mred\x1b[0m\x1b]8;;https://evil.invalid\x07here\x1b]8;;\x07\x9b2J"
SCRIPT = "<script>alert(1)</script><img src=x onerror=alert(2)></textarea>javascript:alert(3)"
BIDI = "evil\u202egpj.exe"
# A tag letter, soft hyphen, Arabic letter mark, nominal digit shape, annotation anchor.
INVISIBLE = "\U000e0041\u00ad\u061c\u206f\ufff9"


def photo(size: tuple[int, int] = (64, 48)) -> Image.Image:
    image = Image.new("RGB", size)
    image.putdata(
        [
            ((x * 7) % 256, (y * 5) % 256, (x * y) % 256)
            for y in range(size[1])
            for x in range(size[0])
        ]
    )
    return image


def jpeg_bytes(exif: bytes | None = None, **kw: object) -> bytes:
    out = io.BytesIO()
    photo().save(out, "JPEG", quality=85, **({"exif": exif} if exif else {}), **kw)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    photo().save(out, "PNG")
    return out.getvalue()


def tiff_block(entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0,
               extra: bytes = b"") -> bytes:  # fmt: skip
    """A little-endian TIFF header with one IFD at offset 8; values that do not fit in four
    bytes must be placed in `extra` by the caller, at offsets it computes."""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")[:4]
    ifd += struct.pack("<I", next_ifd)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + extra


def _ascii_at(offset: int) -> bytes:
    return struct.pack("<I", offset)


def exif_variants() -> dict[str, bytes]:
    """TIFF blocks for APP1, each broken in its own way."""
    header_end = 8 + 2 + 12 * 3 + 4
    long_text = (("A" * 60_000) + "\x00").encode()
    hostile_text = (MARKUP + ESCAPES + SCRIPT + BIDI + "\x00tail").encode() + b"\x00"
    return {
        # IFD0's next-IFD pointer points back at itself; its Exif pointer too
        "ifd_loop": tiff_block(
            [(0x010F, 2, 4, b"ABC\x00"), (0x8769, 4, 1, struct.pack("<I", 8))], next_ifd=8
        ),
        "offset_past_end": tiff_block(
            [(0x010F, 2, 5000, _ascii_at(10**6)), (0x0112, 3, 1, b"\x06\x00")]
        ),
        "absurd_count": tiff_block(
            [(0x010F, 2, 0xFFFFFFFF, _ascii_at(8)), (0x829A, 5, 0x7FFFFFFF, _ascii_at(8))]
        ),
        "long_description": tiff_block(
            [
                (0x010E, 2, len(long_text), _ascii_at(header_end)),
                (0x010F, 2, 4, b"ABC\x00"),
                (0x0110, 2, 4, b"XYZ\x00"),
            ],
            extra=long_text,
        ),
        "hostile_strings": tiff_block(
            [
                (0x010E, 2, len(hostile_text), _ascii_at(header_end)),
                (0x010F, 2, 4, b"ABC\x00"),
                (0x0131, 2, 4, b"<b>\x00"),
            ],
            extra=hostile_text,
        ),
        "gps_zero_denominators": _gps_zero_denominators(),
        "bad_makernote": _bad_makernote(),
        "truncated_ifd": tiff_block([(0x010F, 2, 4, b"ABC\x00")] * 3)[:20],
        "unknown_types": tiff_block([(0x010F, 99, 4, b"ABC\x00"), (0x0112, 0, 1, b"\x01\x00")]),
    }


def _gps_zero_denominators() -> bytes:
    # IFD0 (1 entry: GPS pointer) at 8, GPS IFD right after, rationals after that.
    gps_ifd_at = 8 + 2 + 12 + 4
    values_at = gps_ifd_at + 2 + 12 * 3 + 4
    gps = struct.pack("<H", 3)
    gps += struct.pack("<HHI", 1, 2, 2) + b"S\x00\x00\x00"
    gps += struct.pack("<HHII", 2, 5, 3, values_at)
    gps += struct.pack("<HHII", 6, 5, 1, values_at + 24)
    gps += struct.pack("<I", 0)
    rationals = struct.pack("<6I", 10, 0, 0, 0, 5, 0) + struct.pack("<2I", 0, 0)
    ifd0 = (
        struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_ifd_at) + struct.pack("<I", 0)
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + gps + rationals


def _bad_makernote() -> bytes:
    exif_ifd_at = 8 + 2 + 12 * 2 + 4
    note_at = exif_ifd_at + 2 + 12 + 4
    note = b"Nikon\x00\x02\x10\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + b"\xee" * 40
    ifd0 = struct.pack("<H", 2)
    ifd0 += struct.pack("<HHI", 0x010F, 2, 6) + struct.pack("<I", note_at + len(note))
    ifd0 += struct.pack("<HHII", 0x8769, 4, 1, exif_ifd_at) + struct.pack("<I", 0)
    exif_ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x927C, 7, len(note), note_at)
    exif_ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + exif_ifd + note + b"NIKON\x00"


def jpeg_with_raw_exif(tiff: bytes) -> bytes:
    """A valid JPEG whose APP1 carries exactly these EXIF bytes (Pillow would re-serialise)."""
    base = jpeg_bytes()
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return base[:2] + app1 + base[2:]


def bomb_png(width: int = 65000, height: int = 65000) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat_data = zlib.compress(b"\x00" * 1000)
    idat_chunk = b"IDAT" + idat_data
    idat = (
        struct.pack(">I", len(idat_data)) + idat_chunk + struct.pack(">I", zlib.crc32(idat_chunk))
    )
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat


def bomb_jpeg(width: int = 65000, height: int = 65000) -> bytes:
    data = bytearray(jpeg_bytes())
    at = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("inner.txt", "hello")
    return out.getvalue()


def make_hostile_tree(root: Path) -> dict[str, str]:
    """Write the corpus under root. Returns {relative path: what it is} for regular files;
    links, pipes and sockets are made too but are not regular files."""
    made: dict[str, str] = {}

    def put(rel: str, data: bytes, what: str) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        made[rel] = what

    jpeg, png = jpeg_bytes(), png_bytes()
    put("empty.jpg", b"", "zero bytes")
    put("text.jpg", b"just some text\n", "text named .jpg")
    put("page.jpg", f"<!doctype html><html>{SCRIPT}</html>".encode(), "HTML named .jpg")
    put("archive.jpg", zip_bytes(), "ZIP named .jpg")
    put("doc.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF", "PDF named .jpg")
    for cut in (2, 20, 200, len(jpeg) // 2, len(jpeg) - 2):
        put(f"truncated/jpeg_{cut}.jpg", jpeg[:cut], "truncated JPEG")
    for cut in (8, 30, len(png) // 2, len(png) - 12):
        put(f"truncated/png_{cut}.png", png[:cut], "truncated PNG")
    heic = _heic_bytes()
    if heic:
        for cut in (12, 100, len(heic) // 2):
            put(f"truncated/heic_{cut}.heic", heic[:cut], "truncated HEIC")
    put("bombs/bomb.png", bomb_png(), "PNG claiming 65000 x 65000")
    put("bombs/bomb.jpg", bomb_jpeg(), "JPEG claiming 65000 x 65000")
    for name, tiff in exif_variants().items():
        put(f"exif/{name}.jpg", jpeg_with_raw_exif(tiff), f"EXIF: {name}")
    put("polyglot.jpg", jpeg + zip_bytes(), "JPEG that is also a ZIP")
    put(f"names/{MARKUP.replace('/', '_')}.jpg", jpeg, "rich markup in the name")
    put(f"names/{SCRIPT.replace('/', '_')}.jpg", jpeg, "HTML in the name")
    put(f"names/{BIDI}.jpg", jpeg, "bidi override in the name")
    put("names/esc\x1b[31m\x07.jpg", jpeg, "escape sequences in the name")
    for char in INVISIBLE:  # five files that would all display as invoice.jpg
        put(f"names/invoice{char}.jpg", jpeg, f"invisible U+{ord(char):04X} in the name")
    put("names/a\r=2+5*cmd|A0.jpg", b"not a photo", "a CR then a formula in the name")
    put("names/" + "n" * 246 + ".jpg", jpeg, "250-byte name")
    raw_name = os.path.join(os.fsencode(root), b"names", b"latin1-\xe9\xff.jpg")
    with open(raw_name, "wb") as handle:
        handle.write(jpeg)
    made["names/latin1-\\xe9\\xff.jpg"] = "non-UTF-8 name"
    deep = "/".join(f"d{i}" for i in range(40))
    put(f"{deep}/deep.jpg", jpeg, "deeply nested")
    outside = root.parent / f"{root.name}-outside.jpg"
    outside.write_bytes(jpeg)
    (root / "links").mkdir()
    (root / "links" / "outside.jpg").symlink_to(outside)
    (root / "links" / "loop").symlink_to(root / "links" / "loop")
    os.mkfifo(root / "links" / "fifo.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "links" / "sock"))
    sock.close()
    return made


def _heic_bytes() -> bytes | None:
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        out = io.BytesIO()
        photo().save(out, "HEIF", quality=60)
        return out.getvalue()
    except Exception:
        return None


def snapshot(root: Path) -> dict[bytes, tuple]:
    """Content hash and metadata of every entry below root, links not followed."""
    import hashlib

    state: dict[bytes, tuple] = {}
    for folder, dirs, files in os.walk(os.fsencode(root)):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    digest = hashlib.sha256(handle.read()).hexdigest()
            state[path] = (st.st_mode, st.st_size, st.st_mtime_ns, digest)
    return state
