"""The spread-spectrum verdict for one preview: fast test, then the crop search if needed."""

from __future__ import annotations

from dataclasses import replace

from PIL import Image

from kyctriage.aspect import DEFAULT_ASPECT_RATIOS, AspectRatios, describe
from kyctriage.errors import one_line
from kyctriage.watermark import crop, spread
from kyctriage.watermark import frame as fr
from kyctriage.watermark.keys import WatermarkKey
from kyctriage.watermark.result import INCONCLUSIVE, PRESENT, WatermarkResult, gaussian_tail_bound


def detect(
    preview: Image.Image,
    key: WatermarkKey,
    full_size: tuple[int, int] | None = None,
    crop_search: bool = True,
    aspects: AspectRatios | None = DEFAULT_ASPECT_RATIOS,
) -> WatermarkResult:
    """Present, absent or inconclusive for the scan's upright RGB preview. full_size is the
    image's own size turned as the preview is (Decoded.upright_size; the preview may be a
    reduced decode): it gates tiny images and gives the crop search the exact aspect ratio.
    aspects: the marked originals' ratios (None for any).

    Never raises on pixel content: anything unexpected becomes an inconclusive result."""
    try:
        return _detect(preview, key, full_size, crop_search, aspects)
    except (ValueError, OSError, MemoryError) as exc:
        return _inconclusive(key, f"cannot analyse the pixels: {one_line(exc, 200)}")


def _inconclusive(key: WatermarkKey, note: str) -> WatermarkResult:
    return WatermarkResult(
        detector=spread.detector_name(key), verdict=INCONCLUSIVE, score=None,
        threshold=round(spread.FAST_THRESHOLD, 2), false_positive_bound=None,
        expected_marked_score=None, note=note,
    )  # fmt: skip


def _detect(
    preview: Image.Image,
    key: WatermarkKey,
    full_size: tuple[int, int] | None,
    crop_search: bool,
    aspects: AspectRatios | None,
) -> WatermarkResult:
    sides = [*preview.size, *(full_size or ())]
    if min(sides) < spread.MIN_SIDE:
        return _inconclusive(key, f"too small: shorter side {min(sides)} px < {spread.MIN_SIDE} px")
    preview = fr.to_luma(preview)  # once, for the fast test and the crop search
    score = spread.fast_score(preview, key)
    found = spread.fast_result(key, score)
    if found is not None:
        return found
    reason = spread.unusable_reason(preview, score)
    if reason is None and crop_search:
        cropped = crop.search(preview, key, full_size, aspects)
        if cropped.z >= crop.THRESHOLD:
            kept = f"{cropped.kept[0]:.0%} x {cropped.kept[1]:.0%}"
            return WatermarkResult(
                detector=spread.detector_name(key), verdict=PRESENT, score=round(cropped.z, 2),
                threshold=round(crop.THRESHOLD, 2),
                false_positive_bound=gaussian_tail_bound(cropped.z, crop.HYPOTHESES),
                expected_marked_score=None,
                note=f"mark found in a cropped picture (kept {kept} of the marked frame); "
                f"z {cropped.z:.1f} >= {crop.THRESHOLD:.2f} over {crop.HYPOTHESES:,} "
                "crop hypotheses",
            )  # fmt: skip
    negative = spread.negative_result(key, score, reason)
    if reason is not None:
        return negative
    if not crop_search:
        return replace(negative, note=f"{negative.note}; crops not searched (--no-crop-search)")
    searched = "any aspect ratio" if aspects is None else f"originals of {describe(aspects)}"
    return replace(negative, note=f"{negative.note}; no crop of {searched} either")
