"""Verdicts: each rule of the attribution, with the reasons that must be stated."""

from __future__ import annotations

from datetime import date

from kyctriage.attribution.attribute import attribute, time_evidence
from kyctriage.attribution.profile import Pipeline
from kyctriage.model import (
    FeatureScore,
    FileRecord,
    FingerprintMatch,
    Timestamp,
    WatermarkCheck,
)
from kyctriage.probes.timestamps import posted_stamp

INHOUSE = Pipeline("in-house", "In-house", date(2018, 3, 1), None)
VENDOR = Pipeline("vendor", "Vendor", date(2018, 1, 15), date(2018, 2, 28))
PIPELINES = (INHOUSE, VENDOR)


def _taken(value: str, offset: str | None = None) -> Timestamp:
    return Timestamp("exif:DateTimeOriginal", value + (offset or ""), offset, "high", value)


def _mark(verdict: str, score: float = 2.0) -> WatermarkCheck:
    return WatermarkCheck("in-house", "spread-spectrum:0123abcd", verdict, score, 5.3, 1e-6, 9.1)


def _record(*stamps: Timestamp, marks=(), prints=(), messenger=None) -> FileRecord:
    return FileRecord(
        root="r", path="x.jpg", status="ok", timestamps=stamps, watermark=tuple(marks),
        fingerprints=tuple(prints), messenger=messenger,
    )  # fmt: skip


def _texts(verdict) -> str:
    return " | ".join(r.text for r in verdict.reasons)


def _fp(score: float | None) -> FingerprintMatch:
    features = (FeatureScore("quant_tables", 0.35, score or 0.0, "distance 0.020"),)
    return FingerprintMatch("vendor", score, features if score is not None else (), "n/a")


def test_present_watermark_wins_and_a_contradicting_date_is_stated():
    verdict = attribute(
        _record(_taken("2018-06-01T10:00:00"), marks=[_mark("present", 14.2)]), PIPELINES
    )
    assert verdict.label == "in-house" and verdict.confidence == "high"
    assert "false-positive bound 1e-06" in _texts(verdict)
    early = attribute(
        _record(_taken("2018-02-11T10:00:00"), marks=[_mark("present", 14.2)]), PIPELINES
    )
    assert early.label == "in-house" and early.confidence == "medium"
    assert "contradicts the watermark" in _texts(early)


def test_vendor_window_and_absent_mark():
    verdict = attribute(_record(_taken("2018-02-11T10:00:00"), marks=[_mark("absent")]), PIPELINES)
    assert verdict.label == "vendor" and verdict.confidence == "medium"
    text = _texts(verdict)
    assert "keyed watermark of in-house absent" in text
    assert "expected score of a marked image at this size 9.1" in text
    assert "DateTimeOriginal 2018-02-11T10:00:00 (no time zone: ±14 h) inside vendor window" in text


def test_date_and_encoder_together_give_high_confidence():
    record = _record(_taken("2018-02-11T10:00:00"), marks=[_mark("absent")], prints=[_fp(0.95)])
    verdict = attribute(record, PIPELINES)
    assert verdict.label == "vendor" and verdict.confidence == "high"
    assert "quantisation tables distance 0.020" in _texts(verdict)


def test_naive_time_at_the_window_edge_is_not_decided():
    record = _record(_taken("2018-02-28T20:00:00"), marks=[_mark("absent")])
    status, reason = time_evidence(record, VENDOR)
    assert status == "edge" and "at the edge" in reason.text
    assert attribute(record, PIPELINES).label == "inconclusive"
    zoned = _record(_taken("2018-02-28T20:00:00", "+00:00"), marks=[_mark("absent")])
    assert time_evidence(zoned, VENDOR)[0] == "inside"


def test_posted_before_the_window_excludes_it():
    record = _record(posted_stamp("2017-12-01T00:00:00+00:00"), marks=[_mark("absent")])
    status, reason = time_evidence(record, VENDOR)
    assert status == "outside" and "before the vendor window" in reason.text


def test_stripped_images_without_evidence_are_never_vendor_era():
    messenger = "telegram re-encode"
    unscored = FingerprintMatch("vendor", None, (), "not compared")
    posted = posted_stamp("2018-05-01T00:00:00+00:00")
    record = _record(posted, marks=[_mark("absent")], prints=[unscored], messenger=messenger)
    verdict = attribute(record, PIPELINES)
    assert verdict.label == "unattributed"
    assert "metadata stripped in transit" in _texts(verdict)


def test_inconclusive_mark_and_contradictions():
    degraded = attribute(_record(marks=[_mark("inconclusive")]), PIPELINES)
    assert degraded.label == "inconclusive"
    mixed = _record(_taken("2018-02-11T10:00:00"), marks=[_mark("absent")], prints=[_fp(0.2)])
    verdict = attribute(mixed, PIPELINES)
    assert verdict.label == "inconclusive"
    assert "contradictory evidence for vendor" in _texts(verdict)


def test_after_every_window_without_mark_is_unattributed():
    verdict = attribute(_record(_taken("2019-05-01T10:00:00"), marks=[_mark("absent")]), PIPELINES)
    assert verdict.label == "unattributed"
    assert "outside vendor window" in _texts(verdict)


def test_non_images_get_no_verdict():
    assert attribute(FileRecord(root="r", path="x", status="error", error="e"), PIPELINES) is None
