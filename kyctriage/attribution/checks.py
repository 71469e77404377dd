"""The watermark checks a profile configures, run inside the scan and recorded per pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kyctriage.attribution.profile import Profile
from kyctriage.model import FileRecord, WatermarkCheck

if TYPE_CHECKING:  # the detectors (and scipy) load only when a profile asks for them
    from collections.abc import Callable

    from PIL import Image

    from kyctriage.watermark import WatermarkResult
    from kyctriage.watermark.detector import Detector

KEYED_PREFIX = "spread-spectrum"


@dataclass(frozen=True)
class Check:
    """One pipeline's detector: a keyed mark, a logo or a metadata marker."""

    pipeline: str
    detector: Detector


def pixel_checks(profile: Profile | None) -> tuple[Check, ...]:
    """The checks that need pixels (they run in the worker on the scan's one preview); each
    pipeline's key and logo are loaded once, before the scan starts."""
    if profile is None:
        return ()  # and the detectors (scipy.fft, ~0.2 s of start-up) are never imported
    from kyctriage.watermark import load_key
    from kyctriage.watermark.detector import KeyedMark, Logo
    from kyctriage.watermark.logo import load_logo

    checks: list[Check] = []
    for pipeline in profile.pipelines:
        if pipeline.watermark_key is not None:
            key = load_key(str(pipeline.watermark_key))
            checks.append(Check(pipeline.name, KeyedMark(key, pipeline.watermark_aspects)))
        if pipeline.logo_template is not None:
            logo = load_logo(str(pipeline.logo_template))
            checks.append(Check(pipeline.name, Logo(logo)))
    return tuple(checks)


def metadata_checks(profile: Profile) -> tuple[Check, ...]:
    """The checks that read only metadata (they run in the attribution stage)."""
    from kyctriage.watermark.detector import Marker
    from kyctriage.watermark.marker import MarkerSpec

    return tuple(
        Check(p.name, Marker(MarkerSpec(p.name, p.marker.pattern, (p.marker.field,))))
        for p in profile.pipelines
        if p.marker is not None
    )


def key_fingerprints(checks: tuple[Check, ...]) -> tuple[tuple[str, str], ...]:
    if not checks:
        return ()
    from kyctriage.watermark import fingerprint
    from kyctriage.watermark.detector import KeyedMark

    return tuple((c.pipeline, fingerprint(c.detector.key)) for c in checks
                 if isinstance(c.detector, KeyedMark))  # fmt: skip


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
    checks: tuple[Check, ...],
    crop_search: bool = True,
    larger: Callable[[], Image.Image] | None = None,
) -> tuple[WatermarkCheck, ...]:
    if not checks:
        return ()
    from kyctriage.watermark.detector import Evidence

    evidence = Evidence(preview=preview, upright_size=full_size, crop_search=crop_search,
                        larger=larger)  # fmt: skip
    return tuple(as_check(c.pipeline, c.detector.detect(evidence)) for c in checks)


def marker_checks(record: FileRecord, profile: Profile) -> tuple[WatermarkCheck, ...]:
    """Metadata stamps: no pixels needed, so they run in the attribution stage."""
    checks = metadata_checks(profile)
    if not checks:
        return ()
    from kyctriage.watermark.detector import Evidence

    evidence = Evidence(record=record)
    return tuple(as_check(c.pipeline, c.detector.detect(evidence)) for c in checks)


def is_keyed(check: WatermarkCheck) -> bool:
    return check.detector.startswith(KEYED_PREFIX)
