"""The spread-spectrum verdict for one preview: fast test, then the crop search if needed."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from kyctriage import regions
from kyctriage.aspect import DEFAULT_ASPECT_RATIOS, AspectRatios, describe
from kyctriage.errors import one_line
from kyctriage.watermark import crop, spread, tilt
from kyctriage.watermark import frame as fr
from kyctriage.watermark.keys import WatermarkKey
from kyctriage.watermark.result import (
    FALSE_POSITIVE_TARGET,
    INCONCLUSIVE,
    PRESENT,
    WatermarkResult,
    gaussian_tail_bound,
    gaussian_threshold,
)

# Every region tried (up to regions.MAX_REGIONS) has the fast test's views and the crop
# search's hypotheses at each inset; together they share the last quarter of the
# false-positive budget.
REGION_HYPOTHESES = regions.MAX_REGIONS * (
    spread.FAST_HYPOTHESES + len(regions.INSETS) * crop.HYPOTHESES
)
REGION_THRESHOLD = gaussian_threshold(REGION_HYPOTHESES, FALSE_POSITIVE_TARGET / 4)


def detect(
    preview: Image.Image,
    key: WatermarkKey,
    full_size: tuple[int, int] | None = None,
    crop_search: bool = True,
    aspects: AspectRatios | None = DEFAULT_ASPECT_RATIOS,
    larger: Callable[[], Image.Image] | None = None,
) -> WatermarkResult:
    """Present, absent or inconclusive for the scan's upright RGB preview. full_size is the
    image's own size turned as the preview is (Decoded.upright_size; the preview may be a
    reduced decode): it gates tiny images and gives the crop search the exact aspect ratio.
    aspects: the marked originals' ratios (None for any). larger: the same image upright at a
    larger scale (Decoded.upright), made only when pictures are found inside the image: each
    is then looked at there, where the preview shows it too small.

    Never raises on pixel content: anything unexpected becomes an inconclusive result."""
    try:
        return _detect(preview, key, full_size, crop_search, aspects, larger)
    except (ValueError, OSError, MemoryError) as exc:
        return _inconclusive(key, f"cannot analyse the pixels: {one_line(exc, 200)}")


def _inconclusive(key: WatermarkKey, note: str) -> WatermarkResult:
    return WatermarkResult(
        detector=spread.detector_name(key), verdict=INCONCLUSIVE, score=None,
        threshold=round(spread.FAST_THRESHOLD, 2), false_positive_bound=None,
        expected_marked_score=None, note=note,
    )  # fmt: skip


def _present(
    key: WatermarkKey, z: float, threshold: float, hypotheses: int, note: str
) -> WatermarkResult:
    return WatermarkResult(
        detector=spread.detector_name(key), verdict=PRESENT, score=round(z, 2),
        threshold=round(threshold, 2), false_positive_bound=gaussian_tail_bound(z, hypotheses),
        expected_marked_score=None,
        note=f"{note}; z {z:.1f} >= {threshold:.2f} over {hypotheses:,} hypotheses",
    )  # fmt: skip


def _cropped(found: crop.CropScore, where: str = "") -> str:
    kept = f"{found.kept[0]:.0%} x {found.kept[1]:.0%}"
    return f"mark found in a cropped picture{where} (kept {kept} of the marked frame)"


def _detect(
    preview: Image.Image,
    key: WatermarkKey,
    full_size: tuple[int, int] | None,
    crop_search: bool,
    aspects: AspectRatios | None,
    larger: Callable[[], Image.Image] | None,
) -> WatermarkResult:
    sides = [*preview.size, *(full_size or ())]
    if min(sides) < spread.MIN_SIDE:
        return _inconclusive(key, f"too small: shorter side {min(sides)} px < {spread.MIN_SIDE} px")
    colour = preview if preview.mode == "RGB" else None  # for the regions' edges
    preview = fr.to_luma(preview)  # once, for the fast test and the crop search
    score = spread.fast_score(preview, key)
    found = spread.fast_result(key, score)
    if found is not None:
        return found
    reason = spread.unusable_reason(preview, score)
    if reason is None and crop_search:
        cropped = crop.search(preview, key, full_size, aspects)
        if cropped.z >= crop.THRESHOLD:
            return _present(key, cropped.z, crop.THRESHOLD, crop.HYPOTHESES, _cropped(cropped))
    if reason is None:
        turned = tilt.search(score, preview.size, key)
        if turned.z >= tilt.THRESHOLD:
            note = f"mark found in a picture turned about {turned.angle:.2f} degrees"
            return _present(key, turned.z, tilt.THRESHOLD, tilt.HYPOTHESES, note)
        if score.expected * tilt.RETAINED < tilt.THRESHOLD + spread.MARGIN:
            reason = (f"a marked picture turned by a degree or two would score only about "
                      f"{score.expected * tilt.RETAINED:.1f} here")  # fmt: skip
        elif crop_search and crop.expected(score.weighted) < crop.THRESHOLD + spread.MARGIN:
            reason = (f"a crop of a marked picture would score only about "
                      f"{crop.expected(score.weighted):.1f} here (crop search threshold "
                      f"{crop.THRESHOLD:.2f})")  # fmt: skip
    inside = _inside(preview, key, crop_search, larger, colour)
    if isinstance(inside, WatermarkResult):
        return inside
    if reason is not None and inside.tested:
        # The image as a whole cannot show a mark (a flat screen around a picture), but the
        # pictures inside it could and did not.
        reason = None if not inside.untested else reason
    negative = spread.negative_result(key, score, reason)
    if reason is not None:
        return negative
    if inside.untested:
        return replace(negative, verdict=INCONCLUSIVE, false_positive_bound=FALSE_POSITIVE_TARGET,
                       note=f"{negative.note}; but {inside.untested}")  # fmt: skip
    if not crop_search:
        return replace(negative, note=f"{negative.note}; crops not searched (--no-crop-search)")
    searched = (
        "any aspect ratio" if aspects is None
        else f"originals of {describe(aspects)} or of the picture's own shape"
    )  # fmt: skip
    note = f"{negative.note}; no crop of {searched} either"
    if inside.tested:
        note += f"; nor in the pictures inside it ({inside.tested})"
    return replace(negative, note=f"{note}; nor turned by up to {tilt.LIMIT} degrees")


@dataclass(frozen=True)
class _Inside:
    tested: str  # the regions searched, described; "" when none
    untested: str  # why some region could not be searched; "" when none


# A region is looked at in the larger decode reduced to at most this many pixels a side: the
# band's top (96 cycles across the picture) at 4 px a cycle or more.
REGION_SIDE = 2 * fr.FRAME


def _source(preview: Image.Image, larger: Callable[[], Image.Image] | None) -> Image.Image:
    """Where the regions are looked at: the larger decode (luminance) when there is one that is
    larger than the preview, else the preview."""
    if larger is None:
        return preview
    source = larger()
    if source.width <= preview.width or source.height <= preview.height:
        return preview
    return fr.to_luma(source)


def _part(source: Image.Image, preview: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    """The preview's box cut from the source (mapped to its scale, rounded inwards), reduced to
    at most REGION_SIDE a side."""
    if source is preview:
        return preview.crop(box)
    fx, fy = source.width / preview.width, source.height / preview.height
    left, top, right, bottom = box
    mapped = (math.ceil(left * fx), math.ceil(top * fy), int(right * fx), int(bottom * fy))
    part = source.crop(mapped)
    scale = REGION_SIDE / max(part.size)
    if scale < 1:
        size = (max(1, round(part.width * scale)), max(1, round(part.height * scale)))
        part = part.resize(size, Image.Resampling.BOX)
    return part


def _inside(
    preview: Image.Image,
    key: WatermarkKey,
    crop_search: bool,
    larger: Callable[[], Image.Image] | None = None,
    colour: Image.Image | None = None,
) -> _Inside | WatermarkResult:
    """The rectangles of photographic content inside a larger image (a screenshot, a padded or
    bordered picture), each searched as a picture of its own: found in the preview (colour: the
    preview in RGB, when it is), looked at in the larger decode when there is one."""
    luma = np.asarray(preview, dtype=np.float32)
    if regions.fills_frame(luma):
        return _Inside("", "")
    big, small = regions.find(luma, None if colour is None else np.asarray(colour))
    source = _source(preview, larger) if big else preview
    too_small = "a picture region of {} px is too small to test"
    tested, untested = [], [too_small.format(r.describe()) for r in small[:1]]
    for region in big:
        part = _part(source, preview, region.box())
        if min(part.size) < spread.MIN_SIDE:
            if region.rectangular:
                untested.append(too_small.format(region.describe()))
            continue
        score = spread.fast_score(part, key)
        where = f" inside the image ({region.describe()} px)"
        if score.z >= REGION_THRESHOLD:
            return _present(key, score.z, REGION_THRESHOLD, REGION_HYPOTHESES, f"mark found{where}")
        reason = spread.unusable_reason(part, score)
        if reason is None and score.expected < REGION_THRESHOLD + spread.MARGIN:
            reason = f"a marked picture there would score only about {score.expected:.1f}"
        if reason is not None:
            if region.rectangular:  # a pasted picture, not a patch of a photograph
                untested.append(f"the picture region {region.describe()} px: {reason}")
            continue
        for inset in regions.INSETS if crop_search else ():
            cropped = crop.search(_part(source, preview, region.box(inset)), key, None, None,
                                  REGION_THRESHOLD, regions.LEAST_KEPT)  # fmt: skip
            if cropped.z >= REGION_THRESHOLD:
                return _present(key, cropped.z, REGION_THRESHOLD, REGION_HYPOTHESES,
                                _cropped(cropped, where))  # fmt: skip
        typical = crop.expected(score.weighted)
        if crop_search and typical < REGION_THRESHOLD + spread.MARGIN:
            if region.rectangular:
                untested.append(f"the picture region {region.describe()} px: a crop of a marked "
                                f"picture there would score only about {typical:.1f}")  # fmt: skip
            continue
        tested.append(region.describe())
    return _Inside(", ".join(tested), "; ".join(untested))
