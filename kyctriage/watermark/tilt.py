"""The tilt search: a picture turned a degree or two (a re-photographed screen, a tilted scan)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.fft import dctn  # type: ignore[import-untyped]

from kyctriage.watermark import frame as fr
from kyctriage.watermark import spread
from kyctriage.watermark.keys import WatermarkKey
from kyctriage.watermark.result import FALSE_POSITIVE_TARGET, gaussian_threshold

# The fast test keeps ~80% of z at a quarter of a degree off, ~50% at half a degree and ~10% at
# one (the band's top is a 4 px period across a 384 px frame). Turns of up to LIMIT either way
# are tried in STEPs: at worst 0.375 degrees off, where the bench's turned pictures kept 56% or
# more of the z the fast test expects of them (median 91%); steps of 0.5 kept 63% at 1.3x the
# cost.
STEP, LIMIT = 0.75, 2.25
ANGLES = tuple(STEP * i for i in range(-round(LIMIT / STEP), round(LIMIT / STEP) + 1) if i)
# Each angle is tried for the frame's two shapes (a view may transpose the picture) against the
# picture's eight views.
HYPOTHESES = len(ANGLES) * 2 * len(fr.ORIENTATIONS)
# An eighth of the false-positive budget (the fast test keeps three eighths).
THRESHOLD = gaussian_threshold(HYPOTHESES, FALSE_POSITIVE_TARGET / 8)
# Share of the fast test's expected z a turned marked picture keeps here (the bench's least,
# at the worst angles: 0.56): "absent" only where it would still clear THRESHOLD by MARGIN.
RETAINED = 0.6
# The turned patterns are made once per key and picture shape, the width/height ratio rounded
# to SHAPE_STEP on a log scale (2% off at most, which moves the frame's corners by ~0.15 px at
# the largest angle); each shape's take 0.7 MB and ~0.1 s to make. The cache holds SHAPES: every
# shape from 1:5 to 5:1 either way up (a leak's crops come in any shape; with 32 a scan of them
# made the patterns again for most pictures, ~0.15 s each), 67 MB at most.
SHAPE_STEP, SHAPES = 1.04, 96


@dataclass(frozen=True)
class TiltScore:
    z: float
    angle: float  # degrees, either way (its sign depends on the view)


def _bilinear(linear: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame resampled through linear (2 x 2, about the centre) as a sparse matrix: for each
    output pixel, its four source pixels (indices) and their weights (zero outside)."""
    n = fr.FRAME
    centre = (n - 1) / 2
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float64) - centre
    source = np.linalg.inv(linear) @ np.stack([xs.ravel(), ys.ravel()])
    sx, sy = source[0] + centre, source[1] + centre
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = sx - x0, sy - y0
    indices, weights = [], []
    for dy, dx, weight in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                           (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):  # fmt: skip
        x, y = x0 + dx, y0 + dy
        inside = (x >= 0) & (x < n) & (y >= 0) & (y < n)
        indices.append(np.where(inside, y * n + x, 0))
        weights.append(np.where(inside, weight, 0.0))
    return np.stack(indices, 1), np.stack(weights, 1)


@lru_cache(maxsize=SHAPES)
def _turned(key: WatermarkKey, shape: int) -> tuple[np.ndarray, float]:
    """The key's pattern turned by each angle in the frame of a picture of width/height ratio
    SHAPE_STEP ** shape, as band coefficients: (len(ANGLES), BAND_SIZE); and a bound on the
    turns' operator norm (Schur: rows sum to <= 1, so the root of the largest column sum)."""
    pattern = fr.spatial_pattern(key).ravel()
    scale = np.diag([1.0, SHAPE_STEP**shape])  # the frame's y unit in its x units
    rows, norm = [], 1.0
    for angle in ANGLES:
        theta = math.radians(angle)
        turn = np.array([[math.cos(theta), math.sin(theta)],
                         [-math.sin(theta), math.cos(theta)]])  # fmt: skip
        indices, weights = _bilinear(np.linalg.inv(scale) @ turn @ scale)
        turned = (pattern[indices] * weights).sum(1).reshape(fr.FRAME, fr.FRAME)
        coeffs = dctn(turned, norm="ortho", workers=1)[: fr.BLOCK, : fr.BLOCK]
        rows.append(coeffs[fr.BAND].astype(np.float32))
        columns = np.bincount(indices.ravel(), weights.ravel(), minlength=fr.FRAME**2)
        norm = max(norm, math.sqrt(float(columns.max())))
    return np.stack(rows), norm


def _view_maps() -> tuple[np.ndarray, np.ndarray]:
    """For each of the eight views (dihedral group), where each band coefficient of the view
    comes from in the upright BLOCK x BLOCK corner (flat index) and its sign (a flip multiplies
    index k by (-1)^k): (8, BAND_SIZE) each."""
    parity = 1 - 2 * (np.arange(fr.BLOCK) % 2)
    index = np.arange(fr.BLOCK * fr.BLOCK).reshape(fr.BLOCK, fr.BLOCK)
    ones = np.ones_like(parity)
    sources, signs = [], []
    for transpose, flip_rows, flip_cols in fr.ORIENTATIONS:
        sources.append((index.T if transpose else index)[fr.BAND])
        factor = np.outer(parity if flip_rows else ones, parity if flip_cols else ones)
        signs.append(factor[fr.BAND])
    return np.stack(sources), np.stack(signs).astype(np.float32)


_SOURCES, _SIGNS = _view_maps()


def _views(white: np.ndarray) -> np.ndarray:
    """The whitened band seen in the eight views: (8, BAND_SIZE)."""
    seen: np.ndarray = white.ravel()[_SOURCES] * _SIGNS
    return seen


def search(score: spread.FastScore, size: tuple[int, int], key: WatermarkKey) -> TiltScore:
    """The best z over the ANGLES, the frame's two shapes and the eight views of the picture
    (size: its width and height) whose fast test gave score. Each statistic is the whitened
    band against a fixed linear map T of the key's signs (turn, transform, band); under the
    null it is a Rademacher sum whose variance is at most |T|^2 |white|^2, so dividing by the
    bound on |T| keeps exp(-z^2/2) a bound for each hypothesis."""
    white = _views(score.white)
    energy = float(np.sqrt(np.dot(white[0], white[0])))
    if energy <= 0:
        return TiltScore(0.0, 0.0)
    # A view that transposes the picture meets the pattern turned in the transposed shape.
    shape = round(math.log(size[0] / size[1]) / math.log(SHAPE_STEP))
    (upright, norm), (transposed, norm_t) = _turned(key, shape), _turned(key, -shape)
    sums = np.vstack([upright / norm, transposed / norm_t]) @ white.T  # (2 angles, 8 views)
    best = int(np.argmax(sums.max(axis=1)))
    return TiltScore(float(sums.max()) / energy, abs(ANGLES[best % len(ANGLES)]))
