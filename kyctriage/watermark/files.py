"""Marking image files: full-resolution embed, JPEG at the input's quality, metadata kept."""

from __future__ import annotations

import io
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from kyctriage.errors import FileProblem
from kyctriage.probes import jpeg
from kyctriage.probes.decode import PILLOW_FORMATS, require_codec, sniff
from kyctriage.watermark.keys import WatermarkKey
from kyctriage.watermark.spread import TARGET_PSNR, mark_signal

MAX_INPUT_BYTES = 256 * 1024 * 1024
MAX_PIXELS = 200_000_000
DEFAULT_QUALITY = 95  # for inputs that are not JPEG (no quality to keep)
_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}

# (to upright, back to stored) per EXIF orientation: the mark lives in the upright frame
# that the scan sees, while the file keeps its stored pixels and its orientation tag.
_T = Image.Transpose
_ORIENT = {
    2: (_T.FLIP_LEFT_RIGHT, _T.FLIP_LEFT_RIGHT), 3: (_T.ROTATE_180, _T.ROTATE_180),
    4: (_T.FLIP_TOP_BOTTOM, _T.FLIP_TOP_BOTTOM), 5: (_T.TRANSPOSE, _T.TRANSPOSE),
    6: (_T.ROTATE_270, _T.ROTATE_90), 7: (_T.TRANSVERSE, _T.TRANSVERSE),
    8: (_T.ROTATE_90, _T.ROTATE_270),
}  # fmt: skip


class NotAnImage(FileProblem):
    """The content is not an image format we mark (key files, documents): skipped."""


@dataclass(frozen=True)
class Embedded:
    source: str
    output: str
    quality: int
    psnr: float  # of the written pixels against the input's decoded pixels
    metadata_segments: int  # APPn/COM segments carried over from a JPEG input


def metadata_segments(data: bytes) -> list[bytes]:
    """The raw APP1-APP15 and COM segments before the first scan, in file order (MPF is
    dropped: its offsets would point into the old file)."""
    segments = []
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA or marker == 0xD9:
            break
        length = struct.unpack_from(">H", data, pos + 2)[0]
        end = pos + 2 + length
        if length < 2 or end > len(data):
            break
        if (0xE1 <= marker <= 0xEF or marker == 0xFE) and not (
            marker == 0xE2 and data[pos + 4 : pos + 8] == b"MPF\x00"
        ):
            segments.append(data[pos:end])
        pos = end
    return segments


def _splice(encoded: bytes, segments: list[bytes]) -> bytes:
    """Insert the kept segments after the new file's SOI and JFIF header."""
    pos = 2
    if encoded[2:4] == b"\xff\xe0":
        pos = 4 + struct.unpack_from(">H", encoded, 4)[0]
    return encoded[:pos] + b"".join(segments) + encoded[pos:]


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # malformed EXIF: treat as upright rather than refuse to mark
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def mark_bytes(
    data: bytes, key: WatermarkKey, psnr: float = TARGET_PSNR
) -> tuple[bytes, int, float, int]:
    """The marked JPEG of an image file's bytes: (jpeg, quality, psnr, kept segments)."""
    fmt = sniff(data)
    if fmt not in PILLOW_FORMATS:
        raise NotAnImage(f"{fmt}, not an image")
    require_codec(fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # metadata warnings do not stop a deliberate embed
        try:
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise FileProblem(f"{image.width} x {image.height} exceeds {MAX_PIXELS:,} pixels")
            image.load()
        except FileProblem:
            raise
        except Exception as exc:
            text = " ".join(str(exc).split())[:200]
            if "cannot identify image file" in text:
                text = "not a readable image"
            raise FileProblem(f"cannot decode {fmt}: {text}") from None
    if image.width < 1 or image.height < 1:
        raise FileProblem("empty image")
    base = image if image.mode in ("L", "RGB") else image.convert("RGBA").convert("RGB")
    upright, back = _ORIENT.get(_orientation(image), (None, None))
    view = base.transpose(upright) if upright is not None else base
    signal_view = Image.fromarray(mark_signal(view, key, psnr), "F")
    signal = np.asarray(signal_view.transpose(back) if back is not None else signal_view)
    pixels = np.asarray(base, dtype=np.float32)
    marked = np.clip(np.rint(pixels + (signal[:, :, None] if pixels.ndim == 3 else signal)), 0, 255)
    out_image = Image.fromarray(marked.astype(np.uint8), base.mode)
    options: dict[str, object] = {"quality": DEFAULT_QUALITY}
    segments: list[bytes] = []
    if fmt == "JPEG":
        info = jpeg.parse(data).info
        options = {"quality": info.quality or DEFAULT_QUALITY, "progressive": info.progressive}
        if info.subsampling in _SUBSAMPLING:
            options["subsampling"] = _SUBSAMPLING[info.subsampling]
        segments = metadata_segments(data)
    else:
        for name in ("exif", "icc_profile"):
            if isinstance(image.info.get(name), bytes):
                options[name] = image.info[name]
    buffer = io.BytesIO()
    out_image.save(buffer, "JPEG", **options)
    written = _splice(buffer.getvalue(), segments) if segments else buffer.getvalue()
    check = np.asarray(Image.open(io.BytesIO(written)).convert(base.mode), dtype=np.float64)
    mse = float(np.mean((check - pixels) ** 2))
    quality = int(options["quality"])  # type: ignore[call-overload]
    return written, quality, 10 * np.log10(255.0**2 / max(mse, 1e-12)), len(segments)


def embed_file(source: str, output: str, key: WatermarkKey, psnr: float = TARGET_PSNR) -> Embedded:
    """Mark one file into a new JPEG; the source is only read, an existing output refused."""
    path = Path(output)
    if path.exists():
        raise FileProblem(f"{output} exists; not overwritten")
    try:
        with open(source, "rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise FileProblem(f"larger than {MAX_INPUT_BYTES} bytes")
    written, quality, achieved, kept = mark_bytes(data, key, psnr)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(written)
        os.link(tmp, output)  # fails rather than replaces if the output appeared meanwhile
    finally:
        Path(tmp).unlink(missing_ok=True)
    return Embedded(source, output, quality, round(float(achieved), 2), kept)
