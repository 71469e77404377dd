"""The front door, used as the README's "Library use" example uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kyctriage
from kyctriage.errors import UsageError
from kyctriage.match import index
from kyctriage.match.entries import entries
from kyctriage.model import STATUS_OK
from kyctriage.render.json import render_json
from kyctriage.watermark import PRESENT

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_scan_with_a_profile_runs_its_watermark_checks_in_one_call() -> None:
    # Before the front door, a caller also had to pass pixel_checks(profile) or get no check.
    report = kyctriage.scan([SAMPLES / "inhouse"], profile=SAMPLES / "profile.toml", workers=1)
    assert len(report.records) == 2
    for record in report.records:
        assert record.status == STATUS_OK
        assert [(c.pipeline, c.verdict) for c in record.watermark] == [("in-house", PRESENT)]
        assert record.verdict is not None and record.verdict.label == "in-house"
    assert report.meta.key_fingerprints  # the key is named by its fingerprint


def test_a_saved_report_loads_back_equal(tmp_path: Path) -> None:
    report = kyctriage.scan(SAMPLES / "vendor", workers=1)
    saved = tmp_path / "report.json"
    saved.write_text(render_json(report), encoding="utf-8")
    assert kyctriage.load_report(saved) == report


def test_compare_names_the_reference_record_of_each_leaked_copy() -> None:
    comparison = kyctriage.compare(SAMPLES / "telegram", SAMPLES / "phone", workers=1)
    found = {image.path: image.matches[0].path for image in comparison.images if image.matches}
    assert found["photo_3@20-01-2018_19-44-08.jpg"] == "IMG_0131.JPG"
    assert found["photo_31@14-08-2018_21-07-02.jpg"] == "IMG_20180722_091204.jpg"
    assert comparison.leak is not None and comparison.leak.source == str(SAMPLES / "telegram")
    assert comparison.reference is not None and len(comparison.reference.records) == 6


def test_detect_watermark_reads_a_file_as_the_scan_does() -> None:
    key = SAMPLES / "inhouse-DEMO-KEY-NOT-SECRET.key"
    marked = kyctriage.detect_watermark(SAMPLES / "inhouse" / "KYC_000123.jpg", key)
    plain = kyctriage.detect_watermark(SAMPLES / "vendor" / "VC1_20180129_112031.jpg", key)
    assert marked.verdict == PRESENT and marked.false_positive_bound is not None
    assert plain.verdict != PRESENT


def test_learn_fingerprint_matches_the_committed_one() -> None:
    learned = kyctriage.learn_fingerprint(SAMPLES / "vendor", "vendor", workers=1)
    committed = json.loads((SAMPLES / "vendor.fingerprint.json").read_text(encoding="utf-8"))
    assert learned.samples == committed["samples"] == 2


def test_wrong_arguments_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no_such_option"):
        kyctriage.scan(SAMPLES / "vendor", no_such_option=1)
    records = kyctriage.scan(SAMPLES / "vendor", workers=1).records
    index.add(str(tmp_path / "ref.db"), entries(records), create=True)
    with pytest.raises(UsageError, match="not an index"):
        kyctriage.compare(tmp_path / "ref.db", SAMPLES / "vendor")
