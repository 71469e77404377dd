"""The crop search's first pass: the key's pattern stretched over one transform of the picture."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy.fft import rfft2  # type: ignore[import-untyped]
from scipy.ndimage import uniform_filter  # type: ignore[import-untyped]

from kyctriage.watermark import frame as fr
from kyctriage.watermark.keys import WatermarkKey

# The picture is resampled once, to the smallest kept width of a GRID canvas, and transformed
# once; each scale pair then stretches the pattern instead (a product and an inverse transform
# per pair, the stretched spectra made once per key and pair). A stretched band tops at
# 96 / 0.78 < 124 cycles, so a 256 grid holds it; the coarser grid and the approximate stretch
# cost some z (median ~10%), which only decides which scale pairs the exact test in crop.py tries.
GRID = 256
TOP = 124  # cycles per GRID kept in each direction
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


class _Stretched:
    """The key's pattern stretched to each (width y, width x), as a spectrum (rows, TOP),
    made on first use: with the originals' aspect ratios known a scan needs only the pairs its
    pictures allow (all 196 take ~0.3 s and 42 MB per key)."""

    def __init__(self, key: WatermarkKey, widths: tuple[int, ...]):
        n = len(widths)
        self.signs = np.where(fr.BAND, fr.key_signs(key), np.float32(0.0))
        self.bases = [_basis(w, shrunk_width(widths)) for w in widths]
        self.halves: dict[int, np.ndarray] = {}  # stretched along x only: (BLOCK, GRID)
        self.spectra = np.empty((n, n, len(_ROWS), TOP), dtype=np.complex64)
        self.made = np.zeros((n, n), dtype=bool)

    def row(self, iy: int, run: slice) -> np.ndarray:
        """The spectra of width y iy with the widths x of run: (k, rows, TOP)."""
        for ix in range(run.start, run.stop):
            if not self.made[iy, ix]:
                if ix not in self.halves:
                    self.halves[ix] = self.signs @ self.bases[ix].T
                stretched = self.bases[iy] @ self.halves[ix]
                self.spectra[iy, ix] = rfft2(stretched, workers=1)[_ROWS, :TOP]
                self.made[iy, ix] = True
        return self.spectra[iy, run]


@lru_cache(maxsize=4)  # a profile rarely holds more than a few keys
def _stretched(key: WatermarkKey, widths: tuple[int, ...]) -> _Stretched:
    return _Stretched(key, widths)


def _runs(wanted: np.ndarray) -> list[slice]:
    """The runs of True in a row of the pair mask, as slices."""
    columns = np.flatnonzero(wanted)
    if not len(columns):
        return []
    breaks = np.flatnonzero(np.diff(columns) > 1)
    starts = [columns[0], *columns[breaks + 1]]
    stops = [*(columns[breaks] + 1), columns[-1] + 1]
    return [slice(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


@dataclass(frozen=True)
class _Step:
    """One product of the first pass: width y iy with the widths x of run, ly x shifts offsets
    (outside: the offsets past each pair's own limit)."""

    iy: int
    run: slice
    ly: int
    shifts: int
    along_y_first: bool
    outside: np.ndarray | None  # None when every pair of the run has shifts offsets


# Runs of pairs are taken CHUNK at a time: each chunk's offsets along x are its own pairs' most,
# not the whole run's, and its spectrum products (0.23 MB a pair, in one reused buffer) are
# smaller. ~10% less time for the first pass than whole runs (alternated, 180 calls), scores
# within 4e-6.
CHUNK = 4


@lru_cache(maxsize=64)
def _plan(widths: tuple[int, ...], shrunk: int, wanted: bytes) -> tuple[_Step, ...]:
    """The first pass's products for one pair mask (as bytes): the same for every picture of a
    shape (the whole grid for any aspect ratio), so made once."""
    n = len(widths)
    mask = np.frombuffer(wanted, dtype=bool).reshape(n, n)
    limits = np.array([int((fr.FRAME - w) * shrunk / w) + 1 for w in widths])
    steps = []
    for iy, ly in enumerate(limits):
        # Along y first where there are at least as many offsets along x, else along x first.
        for y_first, along in ((True, limits >= ly), (False, limits < ly)):
            for whole in _runs(mask[iy] & along):
                for start in range(whole.start, whole.stop, CHUNK):
                    run = slice(start, min(start + CHUNK, whole.stop))
                    shifts = int(limits[run].max())
                    outside = np.arange(shifts)[None, None, :] >= limits[run][:, None, None]
                    steps.append(_Step(iy, run, int(ly), shifts, y_first,
                                       outside if outside.any() else None))  # fmt: skip
    return tuple(steps)


# Only the first few dozen offsets of each inverse transform are wanted, so both run as
# matrix products (BLAS) instead of whole FFTs: ~3x less time for the first pass. The axis with
# fewer offsets goes second (a cut from one side leaves few offsets along the other axis): the
# first product's cost is the offsets of its axis times the whole spectrum.
@lru_cache(maxsize=2)
def _inverse_y(offsets: int) -> np.ndarray:
    """(offsets, rows): scipy's inverse DFT along y over the kept rows, at offsets 0.."""
    frequency = np.fft.fftfreq(GRID)[_ROWS] * GRID
    angle = 2j * np.pi * np.arange(offsets)[:, None] * frequency[None, :] / GRID
    out: np.ndarray = (np.exp(angle) / GRID).astype(np.complex64)
    return out


@lru_cache(maxsize=2)
def _real_inverse_y(offsets: int) -> np.ndarray:
    """(offsets, 2 rows): the real part of _inverse_y's product, as one real product with the
    stacked real and imaginary parts of what it multiplies."""
    inverse = _inverse_y(offsets)
    return np.ascontiguousarray(np.hstack([inverse.real, -inverse.imag]), dtype=np.float32)


@lru_cache(maxsize=64)
def _inverse_x(offsets: int) -> np.ndarray:
    """(2 TOP, offsets): irfft along x (n = GRID, no bin at or past TOP) at offsets 0..,
    as one real product with a half spectrum's interleaved real and imaginary parts."""
    fx = np.arange(TOP)[:, None]
    angle = 2 * np.pi * fx * np.arange(offsets)[None, :] / GRID
    weight = np.where(fx == 0, 1.0, 2.0) / GRID  # the conjugate half counted twice
    out = np.empty((2 * TOP, offsets), dtype=np.float32)
    out[0::2] = weight * np.cos(angle)
    out[1::2] = -weight * np.sin(angle)
    return out


@lru_cache(maxsize=64)
def _complex_inverse_x(offsets: int) -> np.ndarray:
    """(TOP, offsets): _inverse_x as a complex matrix, for the transform along x done first."""
    fx = np.arange(TOP)[:, None]
    angle = 2j * np.pi * fx * np.arange(offsets)[None, :] / GRID
    weight = np.where(fx == 0, 1.0, 2.0) / GRID
    out: np.ndarray = (weight * np.exp(angle)).astype(np.complex64)
    return out


def _y_first(product: np.ndarray, ly: int, lx: int, most: int) -> np.ndarray:
    """(k, rows, TOP) spectrum products -> (k, ly, lx) correlations, along y first (most: the
    largest ly of the call, which sizes the cached matrix)."""
    rows = _inverse_y(most)[:ly] @ product  # (k, ly, TOP)
    corr: np.ndarray = rows.view(np.float32).reshape(-1, 2 * TOP) @ _inverse_x(lx)
    return corr.reshape(len(product), ly, lx)


def _x_first(product: np.ndarray, ly: int, lx: int, most: int) -> np.ndarray:
    """The same correlations, along x first: cheaper where lx < ly."""
    columns = product @ _complex_inverse_x(lx)  # (k, rows, lx)
    stacked = np.concatenate([columns.real, columns.imag], axis=1)  # (k, 2 rows, lx)
    corr: np.ndarray = _real_inverse_y(most)[:ly] @ stacked
    return corr


def scores(
    luma: Image.Image, key: WatermarkKey, widths: tuple[int, ...], pairs: np.ndarray | None = None
) -> np.ndarray:
    """Approximate z of each (width y, width x) pair, the best over its offsets: shape (n, n).
    pairs (bool, (n, n)) limits the work to those pairs; the others score -inf."""
    n = len(widths)
    wanted = np.ones((n, n), dtype=bool) if pairs is None else pairs
    best = np.full((n, n), -np.inf)
    if not wanted.any():
        return best
    shrunk = shrunk_width(widths)
    stretched = _stretched(key, widths)
    small = np.asarray(luma.resize((shrunk, shrunk), Image.Resampling.BILINEAR), np.float32)
    spectrum = rfft2(small - small.mean(), s=(GRID, GRID), workers=1)
    # Local whitening: each bin over the RMS of its neighbours (frequencies wrap along y).
    power = uniform_filter(spectrum.real**2 + spectrum.imag**2, WHITEN, mode=("wrap", "reflect"))
    level = np.sqrt(power[_ROWS, :TOP]) + 1e-3
    white = np.conj(np.where(_MASK, spectrum[_ROWS, :TOP] / level, 0)).astype(np.complex64)
    wpower = white.real**2 + white.imag**2
    energy = float(2.0 * wpower.sum() - wpower[:, 0].sum()) / (GRID * GRID)
    if energy <= 0:
        return np.where(wanted, 0.0, -np.inf)
    most = int((fr.FRAME - min(widths)) * shrunk / min(widths)) + 1
    plan = _plan(tuple(widths), shrunk, np.ascontiguousarray(wanted, dtype=bool).tobytes())
    buffer = np.empty((CHUNK, *white.shape), dtype=np.complex64)  # one for every product
    for step in plan:
        spectra = stretched.row(step.iy, step.run)
        product = np.multiply(spectra, white, out=buffer[: len(spectra)])
        order = _y_first if step.along_y_first else _x_first
        corr = order(product, step.ly, step.shifts, most)
        if step.outside is not None:
            np.copyto(corr, -np.inf, where=step.outside)
        best[step.iy, step.run] = corr.max(axis=(1, 2))
    # A stretched basis vector has squared norm shrunk / width per axis.
    norm = np.sqrt(energy) * shrunk / np.sqrt(np.outer(widths, widths))
    result: np.ndarray = best / norm
    return result
