"""The crop search's first pass: the key's pattern stretched over one transform of the picture."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy.fft import ifft, irfft, rfft2  # type: ignore[import-untyped]
from scipy.ndimage import uniform_filter  # type: ignore[import-untyped]

from . import frame as fr
from .keys import WatermarkKey

# The picture is resampled once, to the smallest kept width of a GRID canvas, and transformed
# once; each scale pair then stretches the pattern instead (a product and an inverse transform
# per pair, the stretched spectra precomputed per key). A stretched band tops at 96 / 0.84 < 116
# cycles, so a 256 grid holds it; the coarser grid and the approximate stretch cost some z
# (median ~10%), which only decides which scale pairs the exact test in crop.py tries.
GRID = 256
TOP = 116  # cycles per GRID kept in each direction
_ROWS = np.r_[0:TOP, GRID - TOP + 1 : GRID]  # frequencies 0..115, -115..-1
WHITEN = 5  # neighbourhood (bins) of the local spectral whitening


def shrunk_width(widths: tuple[int, ...]) -> int:
    """Width (GRID pixels) of the picture: the smallest frame width of the scale grid."""
    return math.floor(GRID * min(widths) / fr.FRAME)


def _basis(width: int, shrunk: int) -> np.ndarray:
    """(GRID, BLOCK): the frame's DCT basis stretched so that `shrunk` pixels span `width`."""
    y = np.arange(GRID, dtype=np.float64)[:, None]
    k = np.arange(fr.BLOCK, dtype=np.float64)[None, :]
    scale = width / (2.0 * fr.FRAME * shrunk)
    psi = math.sqrt(2.0 / fr.FRAME) * np.cos(np.pi * k * (2 * y + 1) * scale)
    psi[int(math.ceil(shrunk * fr.FRAME / width)) :] = 0.0  # past the end of the frame
    return psi.astype(np.float32)


def _band_mask() -> np.ndarray:
    fy = np.fft.fftfreq(GRID)[_ROWS, None] * GRID
    fx = np.fft.rfftfreq(GRID)[None, :TOP] * GRID
    radius = np.hypot(fy, fx)
    mask: np.ndarray = (radius >= fr.BAND_LOW / 2) & (radius < TOP)
    return mask


_MASK = _band_mask()


@lru_cache(maxsize=4)  # ~42 MB and ~1 s per key: a profile rarely holds more than a few keys
def _spectra(key: WatermarkKey, widths: tuple[int, ...]) -> np.ndarray:
    """The stretched pattern's spectrum for every (width y, width x): (n, n, rows, TOP)."""
    shrunk = shrunk_width(widths)
    signs = np.where(fr.BAND, fr.key_signs(key), np.float32(0.0))
    bases = [_basis(w, shrunk) for w in widths]
    out = np.empty((len(widths), len(widths), len(_ROWS), TOP), dtype=np.complex64)
    for ix, bx in enumerate(bases):
        half = signs @ bx.T  # (BLOCK, GRID): stretched along x only
        for iy, by in enumerate(bases):
            out[iy, ix] = rfft2(by @ half, workers=1)[_ROWS, :TOP]
    return out


def scores(luma: Image.Image, key: WatermarkKey, widths: tuple[int, ...]) -> np.ndarray:
    """Approximate z of each (width y, width x) pair, the best over its offsets: shape (n, n)."""
    shrunk = shrunk_width(widths)
    spectra = _spectra(key, widths)
    small = np.asarray(luma.resize((shrunk, shrunk), Image.Resampling.BILINEAR), np.float32)
    spectrum = rfft2(small - small.mean(), s=(GRID, GRID), workers=1)
    # Local whitening: each bin over the RMS of its neighbours (frequencies wrap along y).
    power = uniform_filter(spectrum.real**2 + spectrum.imag**2, WHITEN, mode=("wrap", "reflect"))
    level = np.sqrt(power[_ROWS, :TOP]) + 1e-3
    white = np.conj(np.where(_MASK, spectrum[_ROWS, :TOP] / level, 0)).astype(np.complex64)
    wpower = white.real**2 + white.imag**2
    energy = float(2.0 * wpower.sum() - wpower[:, 0].sum()) / (GRID * GRID)
    if energy <= 0:
        return np.zeros((len(widths), len(widths)))
    limits = [int((fr.FRAME - w) * shrunk / w) + 1 for w in widths]
    shifts = max(limits)
    outside = np.arange(shifts)[None, None, :] >= np.array(limits)[:, None, None]
    product = np.zeros((len(widths), GRID, TOP), dtype=np.complex64)  # zero rows: unused bins
    best = np.empty((len(widths), len(widths)))
    for iy, ly in enumerate(limits):
        np.multiply(white[:TOP], spectra[iy, :, :TOP], out=product[:, :TOP])
        np.multiply(white[TOP:], spectra[iy, :, TOP:], out=product[:, GRID - TOP + 1 :])
        rows = ifft(product, axis=-2, overwrite_x=False, workers=1)[:, :ly]
        corr = irfft(rows, n=GRID, axis=-1, workers=1)[:, :, :shifts]
        best[iy] = np.where(outside, -np.inf, corr).max(axis=(1, 2))
    # A stretched basis vector has squared norm shrunk / width per axis.
    norm = np.sqrt(energy) * shrunk / np.sqrt(np.outer(widths, widths))
    result: np.ndarray = best / norm
    return result
