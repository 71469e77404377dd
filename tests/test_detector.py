"""One protocol for the three mark detectors: each reads its evidence and answers one type."""

from __future__ import annotations

from pathlib import Path

from kyctriage.attribution.checks import Check, key_fingerprints, run_pixel_checks
from kyctriage.model import FileRecord, WatermarkCheck
from kyctriage.watermark import PRESENT, WatermarkResult, embed, fingerprint
from kyctriage.watermark.detector import Detector, Evidence, KeyedMark, Logo, Marker
from kyctriage.watermark.logo import load_logo
from kyctriage.watermark.marker import MarkerSpec

from .test_watermark import KEY, textured
from .test_watermark_cli import _logo


def _answer(detector: Detector, evidence: Evidence) -> WatermarkResult:
    return detector.detect(evidence)  # the one call every detector takes


def test_each_detector_answers_from_its_own_evidence(tmp_path: Path) -> None:
    photo = textured(640, 480, seed=5)
    marked = embed(photo, KEY)
    logo = _logo(tmp_path / "logo.png")
    stamped = photo.copy()
    stamped.paste(logo.resize((150, 50)), (460, 400))
    record = FileRecord(root="r", path="a.jpg", status="ok", exif=(("Software", "KYC-1.2"),))

    keyed, stamp = KeyedMark(KEY, aspects=None), Logo(load_logo(str(tmp_path / "logo.png")))
    marker = Marker(MarkerSpec("in-house", r"KYC-\d"))
    assert keyed.needs_pixels and stamp.needs_pixels and not marker.needs_pixels
    found = [
        _answer(keyed, Evidence(preview=marked, upright_size=marked.size)),
        _answer(stamp, Evidence(preview=stamped.resize((512, 384)), upright_size=(640, 480))),
        _answer(marker, Evidence(record=record)),
    ]
    assert all(isinstance(r, WatermarkResult) and r.verdict == PRESENT for r in found)
    assert [r.detector.split(":")[0] for r in found] == ["spread-spectrum", "logo", "marker"]


def test_checks_run_any_detector_and_name_only_keys_by_fingerprint(tmp_path: Path) -> None:
    marked = embed(textured(640, 480, seed=6), KEY)
    _logo(tmp_path / "logo.png")
    checks = (Check("in-house", KeyedMark(KEY)),
              Check("vendor", Logo(load_logo(str(tmp_path / "logo.png")))))  # fmt: skip
    results = run_pixel_checks(marked, marked.size, checks)
    assert all(isinstance(r, WatermarkCheck) for r in results)
    assert [(r.pipeline, r.verdict) for r in results][0] == ("in-house", PRESENT)
    assert key_fingerprints(checks) == (("in-house", fingerprint(KEY)),)
