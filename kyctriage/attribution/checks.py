"""The watermark checks a profile configures, run inside the scan and recorded per pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kyctriage.aspect import DEFAULT_ASPECT_RATIOS, AspectRatios
from kyctriage.attribution.profile import Profile
from kyctriage.model import FileRecord, WatermarkCheck

if TYPE_CHECKING:  # the detectors (and scipy) load only when a profile asks for them
    from PIL import Image

    from kyctriage.watermark import WatermarkKey, WatermarkResult
    from kyctriage.watermark.logo import LogoTemplate

KEYED_PREFIX = "spread-spectrum"


@dataclass(frozen=True)
class PixelCheck:
    """A check that needs the pixels; it runs in the worker on the scan's one preview."""

    pipeline: str
    key: WatermarkKey | None = None
    logo: LogoTemplate | None = None
    aspects: AspectRatios | None = DEFAULT_ASPECT_RATIOS  # the crop search's


def pixel_checks(profile: Profile | None) -> tuple[PixelCheck, ...]:
    """Load each pipeline's key and logo once, before the scan starts."""
    if profile is None:
        return ()  # and the detectors (scipy.fft, ~0.2 s of start-up) are never imported
    from kyctriage.watermark import load_key
    from kyctriage.watermark.logo import load_logo

    checks: list[PixelCheck] = []
    for pipeline in profile.pipelines:
        if pipeline.watermark_key is not None:
            key = load_key(str(pipeline.watermark_key))
            checks.append(PixelCheck(pipeline.name, key=key, aspects=pipeline.watermark_aspects))
        if pipeline.logo_template is not None:
            logo = load_logo(str(pipeline.logo_template))
            checks.append(PixelCheck(pipeline.name, logo=logo))
    return tuple(checks)


def key_fingerprints(checks: tuple[PixelCheck, ...]) -> tuple[tuple[str, str], ...]:
    if not checks:
        return ()
    from kyctriage.watermark import fingerprint

    return tuple((c.pipeline, fingerprint(c.key)) for c in checks if c.key is not None)


def as_check(pipeline: str, result: WatermarkResult) -> WatermarkCheck:
    return WatermarkCheck(
        pipeline=pipeline, detector=result.detector, verdict=result.verdict,
        score=result.score, threshold=result.threshold,
        false_positive_bound=result.false_positive_bound,
        expected_marked_score=result.expected_marked_score, note=result.note or None,
    )  # fmt: skip


def run_pixel_checks(
    preview: Image.Image,
    full_size: tuple[int, int],
    checks: tuple[PixelCheck, ...],
    crop_search: bool = True,
) -> tuple[WatermarkCheck, ...]:
    if not checks:
        return ()
    from kyctriage.watermark import detect
    from kyctriage.watermark.logo import detect_logo

    results = []
    for check in checks:
        if check.key is not None:
            found = detect(preview, check.key, full_size, crop_search, check.aspects)
            results.append(as_check(check.pipeline, found))
        if check.logo is not None:
            results.append(as_check(check.pipeline, detect_logo(preview, check.logo)))
    return tuple(results)


def marker_checks(record: FileRecord, profile: Profile) -> tuple[WatermarkCheck, ...]:
    """Metadata stamps: no pixels needed, so they run in the attribution stage."""
    from kyctriage.watermark.marker import MarkerSpec, detect_marker

    found = []
    for pipeline in profile.pipelines:
        if pipeline.marker is not None:
            spec = MarkerSpec(pipeline.name, pipeline.marker.pattern, (pipeline.marker.field,))
            found.append(as_check(pipeline.name, detect_marker(record, spec)))
    return tuple(found)


def is_keyed(check: WatermarkCheck) -> bool:
    return check.detector.startswith(KEYED_PREFIX)
