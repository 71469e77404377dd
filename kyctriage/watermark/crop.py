"""The crop search: a cropped picture's frame is a stretched window of the original frame."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image
from scipy.fft import irfft2, rfft2  # type: ignore[import-untyped]
from scipy.ndimage import uniform_filter  # type: ignore[import-untyped]

from kyctriage.aspect import DEFAULT_ASPECT_RATIOS, AspectRatios
from kyctriage.watermark import frame as fr
from kyctriage.watermark import stretch
from kyctriage.watermark.keys import WatermarkKey
from kyctriage.watermark.result import FALSE_POSITIVE_TARGET, gaussian_threshold


def _widths(scale: float, grid: int) -> int:
    return max(1, round(scale * grid))


# Kept fraction per axis: 0.84..1.0 covers crops of up to 8% per side; down to 0.78 along one
# axis while the other keeps ONE_SIDE or more covers 22% cut from one edge (a cropper's usual
# cut). FINE_STEP keeps the phase error at the top of the band under a fifth of a cycle
# across the frame.
MIN_KEPT, FINE_STEP, COARSE_EVERY = 0.78, 0.004, 3
BOTH_SIDES, ONE_SIDE = 0.84, 0.96
FINE_SCALES = tuple(round(MIN_KEPT + FINE_STEP * j, 4) for j in range(56))
COARSE_INDEX = tuple(range(1, len(FINE_SCALES), COARSE_EVERY))
COARSE_WIDTHS = tuple(_widths(FINE_SCALES[i], fr.FRAME) for i in COARSE_INDEX)
ASPECT_TOLERANCE = 0.01  # the reduced decode's rounding, and originals a pixel or two off
# A cell is tried only where that widened line comes within a quarter step of its centre (in
# either axis): a line that merely clips a cell's corner is served as well by the cell it
# passes through. 27 pairs instead of 39 (median over the bench's crops), none lost there.
INNER = FINE_STEP * COARSE_EVERY / 4
CANDIDATES = 2  # coarse scale pairs whose neighbours are tried
GATE = 5.0  # first-pass z below which no scale pair is tried
# A marked crop's exact test scores about KAPPA / sqrt(the picture's frequency-weighted band
# energy) (spread.FastScore.weighted): the exact test divides the correlation by the whitened
# picture's energy, and the mark's part of the correlation is about the same in every picture.
# Median over the bench's marked crops (5 crop rows x 140 pictures): 9.78e6 (seed 7), held out
# 9.75e6 (seed 8); 5% of them scored below 0.70 of it. Like the fast test's expected score, it
# is what a marked crop typically scores here, not a bound. Measured when the exact test was
# weighted by frequency alone: whitened locally (WHITEN) marked crops score more (1.1-1.6x on
# four of the corpus's photos cut 10-20%), so this now under-promises, and `absent` is said
# no more often than before.
KAPPA = 9.7e6


def expected(weighted: float) -> float:
    """The z a marked crop of this picture would typically reach in the exact test."""
    return KAPPA / math.sqrt(weighted) if weighted > 0 else 0.0


def allowed(ky: np.ndarray, kx: np.ndarray, slack: float = 0.0) -> np.ndarray:
    """The (kept y, kept x) pairs searched: both >= BOTH_SIDES, or one >= ONE_SIDE."""
    low, high = np.minimum(ky, kx), np.maximum(ky, kx)
    inside: np.ndarray = (low >= BOTH_SIDES - slack - 1e-9) | (high >= ONE_SIDE - slack - 1e-9)
    return inside


def _hypotheses() -> int:
    """Every allowed (scale x, scale y) pair of the fine grid times its offsets: the union
    bound's count."""
    scales = np.array(FINE_SCALES)
    offsets = np.array([fr.FRAME - _widths(s, fr.FRAME) + 1 for s in FINE_SCALES])
    pairs = allowed(scales[:, None], scales[None, :])
    return int((np.outer(offsets, offsets) * pairs).sum())


HYPOTHESES = _hypotheses()
# The fast test has half the false-positive budget, this search a quarter, and the picture
# regions inside a larger image (detect.py) the last quarter.
THRESHOLD = gaussian_threshold(HYPOTHESES, FALSE_POSITIVE_TARGET / 4)


@dataclass(frozen=True)
class CropScore:
    z: float
    kept: tuple[float, float]  # fraction of the original frame kept, x and y
    offset: tuple[float, float]  # where the crop starts, as a fraction of the original
    first: float  # the first pass's best approximate z (no exact test when below GATE)


def _radial_filter(grid: int, low: float, high: float) -> np.ndarray:
    """Band-pass in cycles per frame, weighted by frequency to whiten a photo's 1/f spectrum."""
    fy = np.fft.fftfreq(grid)[:, None] * grid
    fx = np.fft.rfftfreq(grid)[None, :] * grid
    radius = np.hypot(fy, fx)
    return np.where((radius >= low) & (radius < high), radius, 0.0).astype(np.float32)


# DCT index k is k/2 cycles per frame.
_FILTER = _radial_filter(fr.FRAME, fr.BAND_LOW / 2, fr.BAND_HIGH / 2)
_BAND = _FILTER > 0
# The exact test whitens each coefficient of the canvas's spectrum by the RMS of its WHITEN x
# WHITEN neighbours (a function of the picture alone, so the bound below still holds), not
# by its frequency alone: a photograph's spectrum is not one 1/f slope, and where its own
# texture is strong the mark is drowned less by a local level than by a radial one. On the
# bench's crop rows (98 pictures) the marked crops missed fell from 10 to 1 (bench/README.md;
# bench/watermark_isotropic.py measured it first, on another pattern).
WHITEN = 7


@lru_cache(maxsize=4)
def _template(key: WatermarkKey) -> np.ndarray:
    spectrum: np.ndarray = rfft2(fr.spatial_pattern(key))
    return spectrum


def _parseval(spectrum: np.ndarray, grid: int) -> float:
    """Energy of the real image whose rfft2 this is."""
    power = np.abs(spectrum) ** 2
    total = 2.0 * power.sum() - power[:, 0].sum()
    if grid % 2 == 0:
        total -= power[:, -1].sum()
    return float(total) / (grid * grid)


def _best(luma: Image.Image, sx: float, sy: float, template: np.ndarray) -> tuple[float, int, int]:
    """Max z over the offsets of one scale pair: conservative, as the whitened canvas's whole
    energy bounds its band projection (Cauchy-Schwarz), so exp(-z^2/2) still bounds each."""
    grid = fr.FRAME
    wx, wy = _widths(sx, grid), _widths(sy, grid)
    canvas = np.zeros((grid, grid), dtype=np.float32)
    window = np.asarray(luma.resize((wx, wy), Image.Resampling.BILINEAR), dtype=np.float32)
    canvas[:wy, :wx] = window - window.mean()
    spectrum = rfft2(canvas)
    level = np.sqrt(uniform_filter(np.abs(spectrum) ** 2, WHITEN, mode="wrap")) + 1e-3
    spectrum = np.where(_BAND, spectrum / level, 0)
    energy = _parseval(spectrum, grid)
    if energy <= 0:
        return 0.0, 0, 0
    corr = irfft2(np.conj(spectrum) * template, s=(grid, grid))
    valid = corr[: grid - wy + 1, : grid - wx + 1]
    oy, ox = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return float(valid[oy, ox]) / np.sqrt(energy), int(ox), int(oy)


def scale_pairs(size: tuple[int, int], aspects: AspectRatios | None) -> np.ndarray:
    """Which coarse (kept y, kept x) pairs a crop of an original of one of these aspect ratios
    can have: the crop keeps kx / ky = (its own aspect) / (the original's). Each coarse pair
    stands for the cell of fine pairs around it, tried when that line (widened by
    ASPECT_TOLERANCE) passes near its centre (INNER), and the cells of crops keeping the picture's
    own shape (any original's). None (any aspect): every allowed cell."""
    kept = np.array([FINE_SCALES[i] for i in COARSE_INDEX])
    ky, kx = kept[:, None], kept[None, :]
    # A cell counts when one of its fine pairs is allowed.
    cells = allowed(ky, kx, FINE_STEP * (COARSE_EVERY // 2))
    if aspects is None:
        return cells
    own = size[0] / size[1]
    wanted = np.zeros((len(kept), len(kept)), dtype=bool)
    # The picture's own shape too (kx = ky, exactly: no decode rounds it): a crop keeping the
    # original's shape, as centred and zoom crops do, of an original of any aspect ratio.
    lines = {(own / original, ASPECT_TOLERANCE) for w, h in aspects for original in (w / h, h / w)}
    for ratio, tolerance in lines | {(1.0, 0.0)}:
        wanted |= (ratio * (1 - tolerance) * (ky - INNER) < kx + INNER) & (
            ratio * (1 + tolerance) * (ky + INNER) > kx - INNER
        )
    both: np.ndarray = wanted & cells
    return both


def search(
    preview: Image.Image,
    key: WatermarkKey,
    full_size: tuple[int, int] | None = None,
    aspects: AspectRatios | None = DEFAULT_ASPECT_RATIOS,
    threshold: float = THRESHOLD,
    least: float = MIN_KEPT,
) -> CropScore:
    """The first pass (stretch.py) ranks every third scale pair of the grid (the mark tolerates a
    scale error of about 0.006); the exact test then tries the fine neighbours of the best few,
    each scale pair scanning all offsets by one FFT, and alone decides. Below GATE no pair is
    tried: in the bench, marked crops scored >= 5.87 there, 984 unmarked checks <= 4.79.

    aspects (the marked originals' aspect ratios; None for any) limit the pairs the first pass
    scores, a third or less of the grid; THRESHOLD still counts every pair of the grid, as
    the caller's threshold must. least: the smallest kept fraction tried on either side."""
    luma = fr.to_luma(preview)
    pairs = scale_pairs(full_size or preview.size, aspects)
    if least > MIN_KEPT:  # only crops keeping at least this much of both sides
        kept = np.array([FINE_SCALES[i] for i in COARSE_INDEX])
        pairs = pairs & (kept[:, None] >= least) & (kept[None, :] >= least)
    first = stretch.scores(luma, key, COARSE_WIDTHS, pairs)
    if not np.isfinite(first).any():
        return CropScore(0.0, (1.0, 1.0), (0.0, 0.0), 0.0)
    best = CropScore(0.0, (1.0, 1.0), (0.0, 0.0), float(first.max()))
    template = _template(key)
    seen: set[tuple[int, int]] = set()
    last = len(FINE_SCALES) - 1
    for flat in np.argsort(first, axis=None)[::-1][:CANDIDATES]:
        cy, cx = (COARSE_INDEX[int(i)] for i in np.unravel_index(int(flat), first.shape))
        if first.flat[flat] < GATE or best.z >= threshold:
            break
        for iy in range(max(cy - 1, 0), min(cy + 1, last) + 1):
            for ix in range(max(cx - 1, 0), min(cx + 1, last) + 1):
                if (ix, iy) in seen:
                    continue
                seen.add((ix, iy))
                sx, sy = FINE_SCALES[ix], FINE_SCALES[iy]
                if not allowed(np.array(sy), np.array(sx)):
                    continue
                z, ox, oy = _best(luma, sx, sy, template)
                if z > best.z:
                    best = CropScore(z, (sx, sy), (ox / fr.FRAME, oy / fr.FRAME), best.first)
    return best
