"""The in-house watermark and the other mark detectors, all answering as WatermarkResult."""

from .detect import detect
from .keys import WatermarkKey, WatermarkKeyError, fingerprint, keygen, load_key
from .result import ABSENT, INCONCLUSIVE, PRESENT, WatermarkResult
from .spread import TARGET_PSNR, embed

__all__ = [
    "ABSENT", "INCONCLUSIVE", "PRESENT", "TARGET_PSNR", "WatermarkKey", "WatermarkKeyError",
    "WatermarkResult", "detect", "embed", "fingerprint", "keygen", "load_key",
]  # fmt: skip
