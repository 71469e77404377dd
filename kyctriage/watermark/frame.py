"""The canonical frame: luminance resized to a fixed square, the key's signs over a DCT band."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image
from scipy.fft import idctn  # type: ignore[import-untyped]

from kyctriage.watermark.keys import WatermarkKey

# The whole luminance, whatever its aspect ratio, resized to FRAME x FRAME. 384 keeps the
# band (DCT indices 12..191, i.e. up to a quarter of the frame's sampling rate) representable
# in a preview whose shorter side is 256, and costs ~3 ms to transform.
FRAME = 384
BAND_LOW, BAND_HIGH = 12.0, 192.0
BLOCK = int(BAND_HIGH)  # every band index lies in the top-left BLOCK x BLOCK corner

_U = np.arange(BLOCK, dtype=np.float64)
RADIUS = np.hypot(_U[:, None], _U[None, :])
BAND = (RADIUS >= BAND_LOW) & (RADIUS < BAND_HIGH)  # symmetric: transposes map it onto itself
BAND_SIZE = int(BAND.sum())

# The eight upright/rotated/mirrored views of a frame (dihedral group): (transpose, flip
# rows, flip columns). In the DCT-II a flip multiplies index k by (-1)^k and a transpose
# swaps the indices, so every view is a sign/index change of one transform.
ORIENTATIONS = tuple((t, a, b) for t in (False, True) for a in (0, 1) for b in (0, 1))
ORIENTATION_NAMES = (
    "upright", "mirrored", "upside-down mirrored", "rotated 180",
    "transposed", "rotated 90", "rotated 270", "transverse",
)  # fmt: skip


def to_luma(image: Image.Image) -> Image.Image:
    """Float luminance (ITU-R 601, as JPEG's Y) of any Pillow image mode; a float image is
    taken to be luminance already (detect converts once for every test and key)."""
    if image.mode == "F":
        return image
    if image.mode not in ("L", "RGB"):
        image = (
            image.convert("RGBA").convert("RGB")
            if "A" in image.getbands() or (image.mode == "P")
            else image.convert("RGB")
        )
    return image.convert("L").convert("F")


def to_frame(luma: Image.Image) -> np.ndarray:
    """The canonical frame of a float luminance image."""
    framed = luma.resize((FRAME, FRAME), Image.Resampling.BILINEAR)
    return np.asarray(framed, dtype=np.float32)


@lru_cache(maxsize=8)
def key_signs(key: WatermarkKey) -> np.ndarray:
    """+1/-1 per DCT index of the BLOCK x BLOCK corner, uniform and independent from the key."""
    bits = np.unpackbits(np.frombuffer(key.stream("signs", BLOCK * BLOCK // 8), dtype=np.uint8))
    return (bits.astype(np.float32) * 2.0 - 1.0).reshape(BLOCK, BLOCK)


@lru_cache(maxsize=8)
def oriented_signs(key: WatermarkKey) -> np.ndarray:
    """The band signs as seen in each of the eight views: shape (8, BAND_SIZE)."""
    signs = key_signs(key)
    parity = (np.arange(BLOCK) % 2).astype(np.float32)
    rows = []
    for transpose, flip_rows, flip_cols in ORIENTATIONS:
        view = signs.T if transpose else signs
        factor = np.outer(1 - 2 * parity * flip_rows, 1 - 2 * parity * flip_cols)
        rows.append((view * factor)[BAND])
    return np.ascontiguousarray(np.stack(rows), dtype=np.float32)


@lru_cache(maxsize=8)
def spatial_pattern(key: WatermarkKey) -> np.ndarray:
    """The unmasked mark in the upright frame: the inverse DCT of the band signs."""
    coeffs = np.zeros((FRAME, FRAME), dtype=np.float64)
    coeffs[:BLOCK, :BLOCK] = np.where(BAND, key_signs(key), 0.0)
    pattern: np.ndarray = idctn(coeffs, norm="ortho").astype(np.float32)
    return pattern
