"""Interrupt and resume: a journal of records, and a resumed scan equal to an uninterrupted one."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import pytest
from PIL import Image

from kyctriage.errors import UsageError
from kyctriage.render.json import render_json
from kyctriage.scanning import read
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan


def _tree(root, count=30):
    root.mkdir()
    for i in range(count):
        out = io.BytesIO()
        Image.new("RGB", (80 + i, 60), (i * 8 % 256, 100, 200)).save(out, "JPEG", quality=80)
        (root / f"img_{i:03d}.jpg").write_bytes(out.getvalue())
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xdb")
    return root


def _comparable(report) -> dict:
    data = json.loads(render_json(report))
    for key in ("started", "finished", "workers", "command"):
        data["meta"].pop(key)
    return data


def test_resume_reads_only_unfinished_files(tmp_path, monkeypatch):
    root = _tree(tmp_path / "leak")
    options = ScanOptions(roots=(str(root),), workers=1, in_process=True)
    journal = tmp_path / "scan.journal"
    full = scan(options, journal_path=str(journal))
    lines = journal.read_bytes().split(b"\n")
    # An interruption: the header, ten records and half of the eleventh.
    journal.write_bytes(b"\n".join(lines[:11]) + b"\n" + lines[11][: len(lines[11]) // 2])
    reads = []
    original = read.read_file
    monkeypatch.setattr(read, "read_file", lambda p, m: reads.append(p) or original(p, m))
    resumed = scan(options, journal_path=str(journal), resume=True)
    assert len(reads) == len(full.records) - 10
    assert _comparable(resumed) == _comparable(full)


def test_changed_files_are_read_again(tmp_path):
    root = _tree(tmp_path / "leak", count=3)
    options = ScanOptions(roots=(str(root),), workers=1, in_process=True)
    journal = tmp_path / "scan.journal"
    scan(options, journal_path=str(journal))
    target = root / "img_000.jpg"
    os.utime(target, ns=(0, 10**18))
    resumed = scan(options, journal_path=str(journal), resume=True)
    record = next(r for r in resumed.records if r.path == "img_000.jpg")
    assert record.mtime.startswith("2001-09-09")


def test_a_journal_of_another_scan_is_refused(tmp_path):
    root = _tree(tmp_path / "leak", count=2)
    journal = tmp_path / "scan.journal"
    scan(ScanOptions(roots=(str(root),), workers=1), journal_path=str(journal))
    with pytest.raises(UsageError, match="belongs to another scan"):
        scan(ScanOptions(roots=(str(root),), max_pixels=10), journal_path=str(journal), resume=True)


def test_sigint_then_resume_gives_the_uninterrupted_report(tmp_path):
    root = _tree(tmp_path / "leak", count=400)
    out = tmp_path / "r.json"
    journal = tmp_path / "r.journal"
    command = [sys.executable, "-m", "kyctriage", "scan", str(root), "--json", str(out),
               "--journal", str(journal), "--workers", "1", "-q"]  # fmt: skip
    # the scan must see Ctrl-C as a terminal's user sends it: a process that inherits an
    # ignored SIGINT keeps ignoring it (as a shell's background job should), and the test
    # process had it ignored by the time it ran in some full runs (not found by what)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(command)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.time() + 30
    while time.time() < deadline and (not journal.exists() or journal.stat().st_size < 2000):
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130
    assert not out.exists()
    written = len(journal.read_bytes().split(b"\n"))
    assert 1 < written < 400
    subprocess.run([*command, "--resume"], check=True, timeout=120)
    resumed = json.loads(out.read_text())
    fresh = tmp_path / "fresh.json"
    subprocess.run([*command[:5], "--json", str(fresh), "--workers", "2", "-q"], check=True)
    expected = json.loads(fresh.read_text())
    for data in (resumed, expected):
        for key in ("started", "finished", "workers", "command"):
            data["meta"].pop(key)
    assert resumed == expected


def test_records_loaded_back_pass_through_keep_and_a_torn_line_is_skipped(tmp_path):
    from dataclasses import replace

    from kyctriage.model import FileRecord
    from kyctriage.scanning.journal import Journal

    path = tmp_path / "j"
    with Journal(path, {"roots": ["r"]}, "2026-01-01T00:00:00", resume=False) as journal:
        for name in ("a.jpg", "b.jpg"):
            journal.append(FileRecord(root="r", path=name, status="ok", size=1))
    with path.open("ab") as torn:
        torn.write(b'{"root":"r","path":"c.jp')
    seen = []

    def keep(record):
        seen.append(record.path)
        return replace(record, size=2)

    resumed = Journal(path, {"roots": ["r"]}, "later", resume=True, keep=keep)
    resumed.close()
    assert seen == ["a.jpg", "b.jpg"]
    assert {r.size for r in resumed.done.values()} == {2}
    assert path.read_bytes().endswith(b"c.jp\n")  # the torn line is ended before appending


def test_pool_journal_lines_come_from_the_workers_and_a_crash_is_journaled_here(
    tmp_path, monkeypatch
):
    from kyctriage.scanning import pipeline
    from kyctriage.scanning.journal import journal_line

    root = _tree(tmp_path / "leak", count=6)
    probed = tmp_path / "probed"  # what the forked workers were given, one name a line
    original = pipeline.probe_looked  # what the workers run: the record and its look

    def probe(source, options, reference, folder, *rest):
        with probed.open("a") as log:
            log.write(source.path + "\n")
        if source.path == "img_002.jpg":
            os.abort()  # the worker dies: its record is made in the parent
        return original(source, options, reference, folder, *rest)

    monkeypatch.setattr(pipeline, "probe_looked", probe)  # inherited by the forked workers
    options = ScanOptions(roots=(str(root),), workers=2)
    journal = tmp_path / "scan.journal"
    report = scan(options, journal_path=str(journal))
    header, *lines = journal.read_bytes().splitlines(keepends=True)
    by_path = {json.loads(line)["path"]: line for line in lines}
    assert len(lines) == len(by_path) == len(report.records) == 7
    assert b"the worker process crashed" in by_path["img_002.jpg"]
    source = next(s for s in pipeline.walk((str(root),), str(tmp_path)) if s.path == "img_004.jpg")
    reference = datetime.fromisoformat(json.loads(header)["reference"])
    assert by_path["img_004.jpg"] == journal_line(pipeline.probe_source(source, options, reference))
    # A resume probes again only the file whose worker died, and reports the same.
    probed.unlink()
    resumed = scan(options, journal_path=str(journal), resume=True)
    assert probed.read_text().split() == ["img_002.jpg"]
    assert _comparable(resumed) == _comparable(report)
