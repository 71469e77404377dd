"""The scan pipeline: a crashing or hanging decoder costs one file, and every file is counted."""

from __future__ import annotations

import io
import os
import time

from PIL import Image

from kyctriage.probes import decode
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan


def _jpeg(marker: bytes = b"") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, "JPEG", comment=marker or None)
    return out.getvalue()


def test_a_crashing_or_hanging_probe_is_one_error_record(tmp_path, monkeypatch):
    for i in range(6):
        (tmp_path / f"ok_{i}.jpg").write_bytes(_jpeg())
    (tmp_path / "crash.jpg").write_bytes(_jpeg(b"CRASHME"))
    (tmp_path / "hang.jpg").write_bytes(_jpeg(b"HANGME"))
    real_decode = decode.decode

    def booby_trapped(data, *args):
        if b"CRASHME" in data:
            os.abort()
        if b"HANGME" in data:
            time.sleep(60)
        return real_decode(data, *args)

    monkeypatch.setattr(decode, "decode", booby_trapped)  # inherited by the forked workers
    report = scan(
        ScanOptions(roots=(str(tmp_path),), workers=2, file_time_limit=8)
    )  # 2 s timed out ok files at load 20
    records = {r.path: r for r in report.records}
    assert len(records) == 8
    assert "crashed (SIGABRT)" in records["crash.jpg"].error
    assert "timed out after 8 s" in records["hang.jpg"].error
    assert all(records[f"ok_{i}.jpg"].status == "ok" for i in range(6))


def test_a_jpeg_that_cannot_be_decoded_keeps_its_declared_size_and_encoder_facts(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 30)).save(out, "JPEG", quality=75, subsampling=2)
    (tmp_path / "cut.jpg").write_bytes(out.getvalue()[: len(out.getvalue()) // 2])
    (record,) = scan(ScanOptions(roots=(str(tmp_path),), in_process=True)).records
    assert record.status == "error" and "truncated" in (record.error or "")
    assert record.image is not None and record.image.jpeg is not None
    assert (record.image.width, record.image.height, record.image.mode) == (640, 480, "RGB")
    assert record.image.jpeg.quality == 75 and record.image.jpeg.subsampling == "4:2:0"
    assert record.hashes is None  # no pixels, no perceptual hashes
