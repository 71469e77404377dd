"""The scan pipeline: a crashing or hanging decoder costs one file, and every file is counted."""

from __future__ import annotations

import io
import os
import time

from PIL import Image

from kyctriage import load
from kyctriage.options import ScanOptions
from kyctriage.pipeline import scan


def _jpeg(marker: bytes = b"") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, "JPEG", comment=marker or None)
    return out.getvalue()


def test_a_crashing_or_hanging_probe_is_one_error_record(tmp_path, monkeypatch):
    for i in range(6):
        (tmp_path / f"ok_{i}.jpg").write_bytes(_jpeg())
    (tmp_path / "crash.jpg").write_bytes(_jpeg(b"CRASHME"))
    (tmp_path / "hang.jpg").write_bytes(_jpeg(b"HANGME"))
    real_decode = load.decode

    def booby_trapped(data, *args):
        if b"CRASHME" in data:
            os.abort()
        if b"HANGME" in data:
            time.sleep(60)
        return real_decode(data, *args)

    monkeypatch.setattr(load, "decode", booby_trapped)  # inherited by the forked workers
    report = scan(ScanOptions(roots=(str(tmp_path),), workers=2, file_time_limit=2))
    records = {r.path: r for r in report.records}
    assert len(records) == 8
    assert "crashed (SIGABRT)" in records["crash.jpg"].error
    assert "timed out after 2 s" in records["hang.jpg"].error
    assert all(records[f"ok_{i}.jpg"].status == "ok" for i in range(6))
