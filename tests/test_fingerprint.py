"""Encoder fingerprints: learned from a pipeline's files, scored feature by feature."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kyctriage.attribution import fingerprint
from kyctriage.cli.main import main
from kyctriage.errors import UsageError
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan


def _photo(seed: int, size=(400, 300)) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (size[1] // 10, size[0] // 10, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def _vendor_file(seed: int) -> bytes:
    exif = Image.Exif()
    exif[0x0131] = "VendorCam 2.1"
    exif[0x010F] = "Vendor"
    out = io.BytesIO()
    _photo(seed).save(out, "JPEG", quality=72, subsampling=1, exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture
def vendor_dir(tmp_path):
    folder = tmp_path / "vendor"
    folder.mkdir()
    for seed in range(4):
        (folder / f"v{seed}.jpg").write_bytes(_vendor_file(seed))
    return folder


def _records(folder):
    return {r.path: r for r in scan(ScanOptions(roots=(str(folder),), workers=1)).records}


def test_learn_and_score(vendor_dir, tmp_path):
    learned = fingerprint.learn("vendor", _records(vendor_dir).values())
    assert learned.samples == 4 and learned.software == {"VendorCam 2.1": 4}
    assert fingerprint.load_text(fingerprint.dumps(learned)) == learned
    other = tmp_path / "other"
    other.mkdir()
    (other / "same.jpg").write_bytes(_vendor_file(9))
    out = io.BytesIO()
    _photo(10).save(out, "JPEG", quality=95, subsampling=0, progressive=True)
    (other / "different.jpg").write_bytes(out.getvalue())
    records = _records(other)
    same = fingerprint.score(records["same.jpg"], learned, None)
    different = fingerprint.score(records["different.jpg"], learned, None)
    assert same.score >= fingerprint.MATCH_AT
    assert different.score < fingerprint.MISMATCH_BELOW
    assert {f.feature for f in same.features} == set(fingerprint.WEIGHTS)
    stripped = fingerprint.score(records["same.jpg"], learned, "telegram re-encode")
    assert stripped.score is None and "messenger" in stripped.note


def test_nothing_to_learn_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="no JPEG files"):
        fingerprint.learn("x", [])


def test_profile_scan_end_to_end(vendor_dir, tmp_path, validate_report):
    runner = CliRunner()
    fp = tmp_path / "vendor.fingerprint.json"
    learned = runner.invoke(
        main, ["profile", "learn", str(vendor_dir), "--name", "vendor", "-o", str(fp)]
    )
    assert learned.exit_code == 0, learned.output
    profile = tmp_path / "profile.toml"
    profile.write_text(
        '[[pipeline]]\nname = "vendor"\nactive_from = 2018-01-15\nactive_to = 2018-02-28\n'
        'fingerprint = "vendor.fingerprint.json"\n'
    )
    shown = runner.invoke(main, ["profile", "show", str(profile)])
    assert shown.exit_code == 0 and "vendor" in shown.output and "fingerprint" in shown.output
    out, csv_out = tmp_path / "r.json", tmp_path / "r.csv"
    result = runner.invoke(
        main, ["scan", str(vendor_dir), "--profile", str(profile), "--json", str(out),
               "--csv", str(csv_out), "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = validate_report(json.loads(out.read_text()))
    assert data["meta"]["profile_sha256"]
    verdicts = {r["verdict"]["label"] for r in data["records"]}
    assert verdicts == {"vendor"}  # no dates, but the encoder matches
    rerun = runner.invoke(main, ["report", str(out), "--timeline", str(tmp_path / "t.csv")])
    assert rerun.exit_code == 0 and "Attribution" in rerun.output
