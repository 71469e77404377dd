"""The in-house watermark and the other mark detectors, all answering as WatermarkResult."""

from kyctriage.watermark.detect import detect
from kyctriage.watermark.keys import WatermarkKey, WatermarkKeyError, fingerprint, keygen, load_key
from kyctriage.watermark.result import ABSENT, INCONCLUSIVE, PRESENT, WatermarkResult
from kyctriage.watermark.spread import TARGET_PSNR, embed

__all__ = [
    "ABSENT", "INCONCLUSIVE", "PRESENT", "TARGET_PSNR", "WatermarkKey", "WatermarkKeyError",
    "WatermarkResult", "detect", "embed", "fingerprint", "keygen", "load_key",
]  # fmt: skip
