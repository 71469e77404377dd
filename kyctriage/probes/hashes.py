"""Hashes of one file: SHA-256/MD5 of the bytes, the metadata-free data hash, perceptual hashes."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pywt  # type: ignore[import-untyped]
import scipy.fftpack  # type: ignore[import-untyped]
from PIL import Image

from ..model import Hashes, ViewHashes

NAME = "hashes"

# One small square copy serves every perceptual hash: imagehash's own resizing of a large
# image (LANCZOS from full resolution) is what makes the usual Python chain slow.
HASH_COPY_SIZE = 64


def file_digests(data: bytes) -> tuple[str, str]:
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()


def jpeg_data_sha256(data: bytes, spans: tuple[tuple[int, int], ...]) -> str | None:
    """The scans from the first SOS to EOI with any APP/COM segments among them left out:
    identical for copies that differ only in their metadata."""
    if not spans:
        return None
    digest = hashlib.sha256()
    for start, end in spans:
        digest.update(memoryview(data)[start:end])
    return digest.hexdigest()


def png_data_sha256(data: bytes) -> str | None:
    """The concatenated IDAT chunk payloads, as ExifTool's ImageDataHash takes them."""
    digest = hashlib.sha256()
    pos, found = 8, False
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if pos + 12 + length > len(data):
            break
        if kind == b"IDAT":
            digest.update(memoryview(data)[pos + 8 : pos + 8 + length])
            found = True
        elif kind == b"IEND":
            break
        pos += 12 + length
    return digest.hexdigest() if found else None


def perceptual(preview: Image.Image, image_data_sha256: str | None) -> Hashes:
    """imagehash's phash, dhash, whash and colorhash of one 64 px copy of the preview, bit for
    bit, with one grayscale and one HSV conversion shared between them (imagehash converts
    again in every function and formats hex strings bit by bit)."""
    small = preview.resize((HASH_COPY_SIZE, HASH_COPY_SIZE), Image.Resampling.BOX)
    gray = small.convert("L")
    return Hashes(
        phash=_hex(_phash_bits(gray)),
        dhash=_hex(_dhash_bits(gray)),
        whash=_hex(_whash_bits(gray)),
        colorhash=_hex(_colorhash_bits(small.convert("HSV"), np.asarray(gray))),
        image_data_sha256=image_data_sha256,
    )


# Views matched besides the upright picture: a mirrored copy, a copy turned by 90 degrees, and
# two centre crops (a 270-degree turn is found from the other side of the pair).
CROP_VIEWS = (("crop92", 0.92), ("crop87", 0.87))


def view_hashes(preview: Image.Image) -> tuple[ViewHashes, ...]:
    """phash, dhash and whash of each view. Flips and quarter turns commute with the square
    box reduction, so those two views are taken from the 64 px copy; crops need the preview."""
    small = preview.resize((HASH_COPY_SIZE, HASH_COPY_SIZE), Image.Resampling.BOX)
    views = [
        ("mirror", small.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        ("rot90", small.transpose(Image.Transpose.ROTATE_90)),
    ]
    w, h = preview.size
    for name, keep in CROP_VIEWS:
        dx, dy = w * (1 - keep) / 2, h * (1 - keep) / 2
        box = (round(dx), round(dy), round(w - dx), round(h - dy))
        crop = preview.crop(box).resize((HASH_COPY_SIZE, HASH_COPY_SIZE), Image.Resampling.BOX)
        views.append((name, crop))
    found = []
    for name, image in views:
        gray = image.convert("L")
        found.append(
            ViewHashes(
                name, _hex(_phash_bits(gray)), _hex(_dhash_bits(gray)), _hex(_whash_bits(gray))
            )
        )
    return tuple(found)


def _hex(bits: np.ndarray) -> str:
    """imagehash's hex form: the bits, row by row, as one zero-padded number."""
    flat = bits.ravel()
    value = int.from_bytes(np.packbits(flat).tobytes(), "big") >> (-flat.size % 8)
    return f"{value:0{-(-flat.size // 4)}x}"


def _phash_bits(gray: Image.Image) -> np.ndarray:
    pixels = np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS))
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)[:8, :8]
    bits: np.ndarray = dct > np.median(dct)
    return bits


def _dhash_bits(gray: Image.Image) -> np.ndarray:
    pixels = np.asarray(gray.resize((9, 8), Image.Resampling.LANCZOS))
    bits: np.ndarray = pixels[:, 1:] > pixels[:, :-1]
    return bits


def _whash_bits(gray: Image.Image) -> np.ndarray:
    # imagehash's defaults on a 64 px image: Haar, the level-6 LL removed, then LL of level 3.
    # The same pywt calls in the same order, so the floats (and the ties) are the same.
    pixels = np.asarray(gray) / 255.0
    coeffs = list(pywt.wavedec2(pixels, _HAAR, level=6))
    coeffs[0] *= 0
    pixels = pywt.waverec2(coeffs, _HAAR)
    low = pywt.wavedec2(pixels, _HAAR, level=3)[0]
    bits: np.ndarray = low > np.median(low)
    return bits


def _colorhash_bits(hsv: Image.Image, intensity: np.ndarray) -> np.ndarray:
    # imagehash.colorhash with binbits=3: black and gray fractions, then 6 hue bins each for
    # faint and bright colours; np.histogram over integer hues replaced by a lookup table.
    hue, saturation = (np.asarray(band).ravel() for band in hsv.split()[:2])
    black = intensity.ravel() < 256 // 8
    gray = saturation < 256 // 3
    colours = ~black & ~gray
    faint = colours & (saturation < 256 * 2 // 3)
    bright = colours & (saturation > 256 * 2 // 3)
    total = max(1, int(colours.sum()))
    fractions = [black.mean(), (~black & gray).mean()]
    values = [min(7, int(f * 8)) for f in fractions]
    for mask in (faint, bright):
        counts = np.bincount(_HUE_BIN[hue[mask]], minlength=6)
        values.extend(min(7, int(count * 8 * 1.0 / total)) for count in counts)
    # imagehash's three bits of a value v are v // 4 > 0, v // 2 % 4 > 0 and v % 2 > 0: the
    # middle one is set for 4 and 5 too. Kept as it is, so that the hex strings agree.
    return np.array([[v >> 2, v >> 1 & 3, v & 1] for v in values]) > 0


_HAAR = pywt.Wavelet("haar")
# np.histogram(hue, bins=np.linspace(0, 255, 7)) for integer hues: half-open bins, the last
# one closed at 255.
_HUE_EDGES = np.linspace(0, 255, 7)
_HUE_BIN = np.minimum(np.searchsorted(_HUE_EDGES, np.arange(256), side="right") - 1, 5)
