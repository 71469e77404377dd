"""The committed demo set with its demo profile shows every verdict, for the reasons stated."""

from __future__ import annotations

import pytest

from kyctriage.attribution.checks import pixel_checks
from kyctriage.attribution.profile import load_profile
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan


@pytest.fixture(scope="module")
def verdicts(samples_dir):
    profile = load_profile(samples_dir / "profile.toml")
    options = ScanOptions(roots=(str(samples_dir),), profile=profile,
                          pixel_checks=pixel_checks(profile))  # fmt: skip
    return {r.path: r for r in scan(options).records if r.verdict is not None}


def test_all_four_verdicts(verdicts):
    labels = {r.verdict.label for r in verdicts.values()}
    assert labels == {"in-house", "vendor", "unattributed", "inconclusive"}


def test_watermarked_pictures_and_their_telegram_copy_are_in_house(verdicts):
    for path in ("inhouse/KYC_000123.jpg", "inhouse/KYC_000518.jpg",
                 "telegram/photo_60@02-04-2019_08-46-30.jpg"):  # fmt: skip
        record = verdicts[path]
        assert record.verdict.label == "in-house" and record.verdict.confidence == "high"
        assert record.watermark[0].verdict == "present"


def test_vendor_encoder_and_window(verdicts):
    record = verdicts["vendor/VC1_20180129_112031.jpg"]
    assert record.verdict.label == "vendor" and record.verdict.confidence == "high"
    texts = " ".join(r.text for r in record.verdict.reasons)
    assert "inside vendor window" in texts and "encoder matches vendor fingerprint" in texts


def test_stripped_copies_are_never_vendor_era(verdicts):
    for path, record in verdicts.items():
        if path.startswith("telegram/"):
            assert record.messenger and record.telegram is not None
            assert record.verdict.label != "vendor"


def test_phone_pictures_in_the_window_with_another_encoder_are_inconclusive(verdicts):
    record = verdicts["phone/IMG_0131.JPG"]
    assert record.verdict.label == "inconclusive"
    assert "contradictory evidence for vendor" in record.verdict.reasons[-1].text
