"""The keyed spread-spectrum mark: embedding at full resolution, the fast test on a preview."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy.fft import dctn  # type: ignore[import-untyped]
from scipy.ndimage import gaussian_filter, uniform_filter  # type: ignore[import-untyped]

from kyctriage.watermark import frame as fr
from kyctriage.watermark.keys import WatermarkKey, fingerprint
from kyctriage.watermark.result import (
    ABSENT,
    FALSE_POSITIVE_TARGET,
    INCONCLUSIVE,
    PRESENT,
    WatermarkResult,
    gaussian_tail_bound,
    gaussian_threshold,
)  # fmt: skip

TARGET_PSNR = 42.0
# Three eighths of the false-positive budget go to the fast test (8 views), an eighth to the
# tilt search (tilt.py), a quarter to the crop search and a quarter to the regions inside.
FAST_HYPOTHESES = len(fr.ORIENTATIONS)
FAST_THRESHOLD = gaussian_threshold(FAST_HYPOTHESES, FALSE_POSITIVE_TARGET * 3 / 8)
MIN_SIDE = 128  # below this the band no longer fits the image: inconclusive
MIN_CONTRAST = 2.0  # frame luminance std (grey levels) below which the image is near-flat
MIN_SHARPNESS = 0.001  # upper/lower band energy; photos ~0.005-0.05, heavy blur ~1e-4
# A marked image's z is KAPPA times the mark-to-host ratio summed over the band; measured on
# undegraded marked photos (bench/watermark.py) and kept conservative.
KAPPA = 0.6
MARGIN = 1.5  # "absent" only where a marked image would clear the threshold by this much


@dataclass(frozen=True)
class FastScore:
    z: float
    view: int  # index into frame.ORIENTATIONS
    expected: float  # the z a marked image of this size and spectrum would show
    sharpness: float
    contrast: float
    # The band's energy weighted by frequency squared (the crop search's whitening): what a
    # marked crop's exact test is divided by (crop.expected).
    weighted: float = 0.0
    # The band's whitened coefficients (BLOCK x BLOCK, zero off the band), for the tilt search.
    white: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(0))


def detector_name(key: WatermarkKey) -> str:
    return f"spread-spectrum:{fingerprint(key)}"


def _mask(frame: np.ndarray) -> np.ndarray:
    """More mark where the picture is busy, less on flat skin and sky (activity masking)."""
    detail = frame - gaussian_filter(frame, 2.0)
    activity = np.sqrt(gaussian_filter(detail * detail, 4.0))
    mask: np.ndarray = np.clip(activity / (float(activity.mean()) + 1e-6), 0.25, 2.5)
    return mask.astype(np.float32)


def mark_signal(image: Image.Image, key: WatermarkKey, psnr: float = TARGET_PSNR) -> np.ndarray:
    """The luminance offset (H x W float32) that carries the mark, scaled to the target PSNR."""
    luma = fr.to_luma(image)
    pattern = fr.spatial_pattern(key) * _mask(fr.to_frame(luma))
    up = Image.fromarray(pattern, "F").resize(image.size, Image.Resampling.BICUBIC)
    signal = np.array(up, dtype=np.float32)
    rms = float(np.sqrt(np.mean(signal * signal, dtype=np.float64)))
    target = 255.0 / 10 ** (psnr / 20.0)
    return signal * np.float32(target / rms if rms > 0 else 0.0)


def embed(image: Image.Image, key: WatermarkKey, psnr: float = TARGET_PSNR) -> Image.Image:
    """The image with the mark added to its luminance; returns RGB (or L for grey input).

    Adding the same offset to R, G and B changes Y by exactly that offset and leaves the
    chroma alone, so the mark survives 4:2:0 subsampling untouched."""
    if image.width < 1 or image.height < 1:
        raise ValueError("cannot mark an empty image")
    base = image if image.mode in ("L", "RGB") else image.convert("RGBA").convert("RGB")
    signal = mark_signal(base, key, psnr)
    pixels = np.asarray(base, dtype=np.float32)
    if pixels.ndim == 3:
        signal = signal[:, :, None]
    marked = np.clip(np.rint(pixels + signal), 0, 255).astype(np.uint8)
    return Image.fromarray(marked, base.mode)


def local_level(coeffs: np.ndarray) -> np.ndarray:
    """Local whitening: each coefficient's scale is the RMS of its neighbours, so the strong low
    frequencies of the picture do not drown the weak ones. A function of the image alone, so
    the null bound still holds."""
    level: np.ndarray = np.sqrt(uniform_filter(coeffs * coeffs, 7)) + 1e-3
    return level


def held(size: tuple[int, int]) -> np.ndarray:
    """The band's coefficients a picture of this size (width, height) can hold: index k is k/2
    cycles across the picture, so k < its side (Nyquist). A picture or region narrower than the
    band (BLOCK px) is upsampled into the frame, and its missing frequencies would add only
    noise to the statistic and inflate the score a marked picture is expected to reach."""
    width, height = size
    rows, columns = np.arange(fr.BLOCK)[:, None] < height, np.arange(fr.BLOCK)[None, :] < width
    inside: np.ndarray = fr.BAND & rows & columns
    return inside


def fast_score(preview: Image.Image, key: WatermarkKey) -> FastScore:
    """z-scores of the eight views of the key against the preview's frame; the best one. Only
    the coefficients the preview holds count (a choice fixed by its size alone, so the bound
    still holds)."""
    frame = fr.to_frame(fr.to_luma(preview))
    coeffs = dctn(frame, norm="ortho", workers=1)[: fr.BLOCK, : fr.BLOCK]
    sigma = local_level(coeffs)
    band = held(preview.size)
    whitened = np.where(band, coeffs / sigma, np.float32(0.0)).astype(np.float32)
    white = whitened[fr.BAND]
    norm = float(np.sqrt(np.dot(white, white)))
    sums = fr.oriented_signs(key) @ white
    view = int(np.argmax(sums))
    z = float(sums[view]) / norm if norm > 0 else 0.0
    # What a nominal mark at this frame size would add per coefficient (orthonormal DCT
    # keeps energy: FRAME^2 * rms^2 spread over the band).
    alpha = 255.0 / 10 ** (TARGET_PSNR / 20.0) * fr.FRAME / math.sqrt(fr.BAND_SIZE)
    # A coefficient's level includes the mark, so the mark cannot exceed it: where the level is
    # below the nominal mark (a reduced, blurred or heavily compressed copy) the ratio is 1.
    ratio = np.minimum(alpha / sigma[band], 1.0)
    expected = KAPPA * float(ratio.sum()) / norm if norm > 0 else 0.0
    energy = coeffs * coeffs
    upper = float(energy[(fr.RADIUS >= fr.BAND_HIGH / 2) & fr.BAND].mean())
    lower = float(energy[(fr.RADIUS >= fr.BAND_LOW) & (fr.RADIUS < 48)].mean())
    weighted = float((energy * fr.RADIUS * fr.RADIUS)[band].sum())
    return FastScore(
        z=z, view=view, expected=expected,
        sharpness=upper / lower if lower > 0 else 0.0, contrast=float(frame.std()),
        white=whitened, weighted=weighted,
    )  # fmt: skip


def unusable_reason(preview: Image.Image, score: FastScore | None) -> str | None:
    """Why this preview cannot show a mark either way, or None when it can."""
    if min(preview.size) < MIN_SIDE:
        return f"too small: shorter side {min(preview.size)} px < {MIN_SIDE} px"
    if score is None:
        return None
    if score.contrast < MIN_CONTRAST:
        return f"near-flat image (luminance std {score.contrast:.1f})"
    if score.sharpness < MIN_SHARPNESS:
        return f"too blurred or compressed (band energy ratio {score.sharpness:.3f})"
    return None


def fast_result(key: WatermarkKey, score: FastScore) -> WatermarkResult | None:
    """The verdict of the fast test when it is present; None sends the image on to the crop
    search (or to the absent/inconclusive decision)."""
    if score.z < FAST_THRESHOLD:
        return None
    view = fr.ORIENTATION_NAMES[score.view]
    return WatermarkResult(
        detector=detector_name(key), verdict=PRESENT, score=round(score.z, 2),
        threshold=round(FAST_THRESHOLD, 2),
        false_positive_bound=gaussian_tail_bound(score.z, FAST_HYPOTHESES),
        expected_marked_score=None,
        note=f"mark found ({view}); z {score.z:.1f} >= {FAST_THRESHOLD:.2f} over "
        f"{FAST_HYPOTHESES} views",
    )  # fmt: skip


def negative_result(key: WatermarkKey, score: FastScore, reason: str | None) -> WatermarkResult:
    """Absent when a marked image would have shown, inconclusive otherwise."""
    if reason is None and score.expected < FAST_THRESHOLD + MARGIN:
        reason = f"a marked image would score only about {score.expected:.1f} here"
    verdict = INCONCLUSIVE if reason else ABSENT
    note = reason or (
        f"no mark: z {score.z:.1f} < {FAST_THRESHOLD:.2f}; a marked image would score "
        f"about {score.expected:.1f}"
    )
    return WatermarkResult(
        detector=detector_name(key), verdict=verdict, score=round(score.z, 2),
        threshold=round(FAST_THRESHOLD, 2), false_positive_bound=FALSE_POSITIVE_TARGET,
        expected_marked_score=round(score.expected, 1), note=note,
    )  # fmt: skip
