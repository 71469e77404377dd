"""The one answer form of every watermark detector, and the tail bounds behind its verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass

PRESENT = "present"
ABSENT = "absent"
INCONCLUSIVE = "inconclusive"
VERDICTS = (PRESENT, ABSENT, INCONCLUSIVE)

# A mark is claimed only when an unmarked image would score so high with probability below this.
FALSE_POSITIVE_TARGET = 1e-6


@dataclass(frozen=True)
class WatermarkResult:
    """A detector's verdict on one image, with the numbers that justify it."""

    detector: str  # e.g. "spread-spectrum:1a2b3c4d5e6f7a8b", "logo:acme.png", "marker:pipeline-id"
    verdict: str  # one of VERDICTS
    score: float | None  # the detector's statistic (z-score, NCC); None when nothing was measured
    threshold: float | None  # the score at which the detector says present
    false_positive_bound: float | None  # P(an unmarked image scores >= score), or at the threshold
    expected_marked_score: float | None  # what a marked image would score here (absent only)
    note: str  # one line a person reads: why this verdict


def gaussian_tail_bound(z: float, hypotheses: int = 1) -> float:
    """Union bound over hypotheses of P(Z >= z) <= exp(-z^2/2), the Hoeffding tail of a
    normalised Rademacher sum; valid for any image when the key signs are uniform."""
    if z <= 0:
        return 1.0
    return min(1.0, hypotheses * math.exp(-0.5 * z * z))


def gaussian_threshold(hypotheses: int, target: float) -> float:
    """The smallest z whose union tail bound over hypotheses is at most target."""
    return math.sqrt(2.0 * math.log(hypotheses / target))
