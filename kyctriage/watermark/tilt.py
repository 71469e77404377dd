"""The tilt search: a picture turned a degree or two (a re-photographed screen, a tilted scan)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy.fft import idctn  # type: ignore[import-untyped]

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
HYPOTHESES = len(ANGLES) * len(fr.ORIENTATIONS)
# An eighth of the false-positive budget (the fast test keeps three eighths).
THRESHOLD = gaussian_threshold(HYPOTHESES, FALSE_POSITIVE_TARGET / 8)
# Share of the fast test's expected z a turned marked picture keeps here (the bench's least,
# at the worst angles: 0.56): "absent" only where it would still clear THRESHOLD by MARGIN.
RETAINED = 0.6


@dataclass(frozen=True)
class TiltScore:
    z: float
    angle: float  # degrees, counter-clockwise as Pillow's Image.rotate turns


@lru_cache(maxsize=4)
def _views(key: WatermarkKey) -> np.ndarray:
    """The key's spatial pattern in each of the eight views, flattened: (8, FRAME * FRAME).
    A flip of the frame flips its DCT's signs at odd indices, as frame.oriented_signs does."""
    pattern = fr.spatial_pattern(key)
    views = []
    for transpose, flip_rows, flip_cols in fr.ORIENTATIONS:
        view = pattern.T if transpose else pattern
        view = view[::-1] if flip_rows else view
        view = view[:, ::-1] if flip_cols else view
        views.append(np.ascontiguousarray(view, dtype=np.float32).ravel())
    return np.stack(views)


def _in_space(white: np.ndarray) -> np.ndarray:
    """The fast test's whitened band (BLOCK x BLOCK) back in the frame's space."""
    band = np.zeros((fr.FRAME, fr.FRAME), dtype=np.float32)
    band[: fr.BLOCK, : fr.BLOCK] = white
    spatial: np.ndarray = idctn(band, norm="ortho", workers=1).astype(np.float32)
    return spatial


def _turn_back(white: np.ndarray, size: tuple[int, int], angle: float) -> np.ndarray:
    """The whitened frame of the picture turned back by angle: a turn of the W x H picture about
    its centre is, in the square frame, that turn conjugated by the frame's two scales."""
    width, height = size
    scale = np.diag([fr.FRAME / width, fr.FRAME / height])
    theta = math.radians(angle)
    turn = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    linear = scale @ turn @ np.linalg.inv(scale)
    centre = np.full(2, (fr.FRAME - 1) / 2)
    matrix = np.hstack([linear, (centre - linear @ centre)[:, None]]).astype(np.float32)
    turned: np.ndarray = cv2.warpAffine(
        white, matrix, (fr.FRAME, fr.FRAME), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
    )  # fmt: skip
    return turned


def search(score: spread.FastScore, size: tuple[int, int], key: WatermarkKey) -> TiltScore:
    """The best z over the ANGLES and the eight views of the picture (size: its width and
    height) whose fast test gave score. Each z is the turned whitened frame's
    correlation with a view of the pattern over the turned frame's whole energy: the pattern's
    DCT is the key's signs on the band and zero elsewhere, so by Parseval and Cauchy-Schwarz
    exp(-z^2/2) still bounds each hypothesis."""
    white = _in_space(score.white)
    views = _views(key)
    best = TiltScore(0.0, 0.0)
    for angle in ANGLES:
        turned = _turn_back(white, size, angle)
        norm = float(np.sqrt(np.dot(turned.ravel(), turned.ravel())))
        if norm <= 0:
            continue
        z = float((views @ turned.ravel()).max()) / norm
        if z > best.z:
            best = TiltScore(z, angle)
    return best
