"""A zip named as a scan root: its members scanned, the archive recorded and untouched."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import tempfile
import zipfile
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from kyctriage.cli.main import main
from kyctriage.scanning.ingest import walk


def _jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((64, 48), 40 + seed).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def _leak(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    members = {"photos/a.jpg": _jpeg(1), "photos/b.jpg": _jpeg(2), "notes.txt": b"pay up"}
    path = tmp_path / "leak.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        archive.writestr("../../escape.jpg", members["photos/a.jpg"])  # path traversal
        link = zipfile.ZipInfo("link.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return path, members


def _scan(tmp_path: Path, *paths: Path) -> dict:
    out = tmp_path / "r.json"
    result = CliRunner().invoke(main, ["scan", *map(str, paths), "--json", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_a_zip_root_is_scanned_member_by_member(tmp_path, validate_report):
    leak, members = _leak(tmp_path)
    before = (hashlib.sha256(leak.read_bytes()).hexdigest(), os.stat(leak).st_mtime_ns)
    report = validate_report(_scan(tmp_path, leak))
    records = {r["path"]: r for r in report["records"]}
    assert all(r["root"] == str(leak) for r in records.values())
    own = records["leak.zip"]  # the archive as received: the custody of the whole dump
    assert own["sha256"] == before[0]
    assert "4 members unpacked and listed, 1 left out" in own["warnings"][0]
    for name in ("photos/a.jpg", "photos/b.jpg"):
        assert records[name]["status"] == "ok"
        assert records[name]["sha256"] == hashlib.sha256(members[name]).hexdigest()
        assert records[name]["image"]["format"] == "JPEG"
        assert "unpacked from leak.zip" in records[name]["warnings"][-1]
    assert records["notes.txt"]["status"] == "skipped"
    # By its stored name, unpacked under a private one (tests/test_zip_members.py).
    assert records["../../escape.jpg"]["sha256"] == records["photos/a.jpg"]["sha256"]
    assert records["link.jpg"]["status"] == "skipped"
    assert "not a regular file" in records["link.jpg"]["error"]
    assert len(records) == 1 + 5  # the archive and every member: count in = count out
    assert (hashlib.sha256(leak.read_bytes()).hexdigest(), os.stat(leak).st_mtime_ns) == before
    assert not (tmp_path / "escape.jpg").exists() and not (tmp_path.parent / "escape.jpg").exists()


def test_members_take_the_archives_mtime_and_the_unpacked_copies_are_removed(tmp_path, monkeypatch):
    # the scan unpacks under a temporary folder of its own here: the machine's shared /tmp
    # holds other scans' folders while they run
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    leak, _ = _leak(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    sources = list(walk((str(leak),), str(scratch)))
    inside = [s for s in sources if s.openable and s.fs_path != str(leak)]
    assert {os.stat(s.fs_path).st_mtime_ns for s in inside} == {os.stat(leak).st_mtime_ns}
    assert all(Path(s.fs_path).is_relative_to(scratch) for s in inside)
    report = _scan(tmp_path, leak)
    assert len({r["mtime"] for r in report["records"] if r["status"] != "skipped"}) == 1
    assert tempfile.gettempdir() == str(private)
    assert not list(private.glob("kyctriage-unpacked-*"))


def test_a_broken_or_bombed_zip_is_recorded_and_the_scan_goes_on(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ok.jpg", _jpeg(3))
        archive.writestr("zeros.bin", b"\0" * (64 << 20))  # deflates ~1000:1
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(bomb.read_bytes()[:4000])
    report = _scan(tmp_path, bomb, truncated)
    records = {(Path(r["root"]).name, r["path"]): r for r in report["records"]}
    assert "zip bomb?" in records[("bomb.zip", "bomb.zip")]["warnings"][0]
    assert records[("bomb.zip", "ok.jpg")]["status"] == "ok"  # unpacked before the bomb
    bombed = records[("bomb.zip", "zeros.bin")]  # listed, its first bytes not kept
    assert bombed["status"] == "skipped" and "stopped at 'zeros.bin'" in bombed["error"]
    assert records[("truncated.zip", "truncated.zip")]["sha256"]  # recorded as received


def test_a_jpeg_with_a_zip_appended_is_evidence_not_an_archive(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("hidden.txt", "x")
    polyglot = tmp_path / "photo.jpg"
    polyglot.write_bytes(_jpeg(4) + inner.getvalue())
    assert zipfile.is_zipfile(polyglot)
    (record,) = _scan(tmp_path, polyglot)["records"]
    assert record["path"] == "photo.jpg" and record["image"]["format"] == "JPEG"


def test_a_members_stored_time_is_a_time_source_and_the_archives_mtime_is_not(tmp_path):
    """Info-ZIP's UT field keeps the modification time in UTC; without it the DOS time is the
    zipping machine's local time, labelled naive. The unpacked copy's mtime is the archive's,
    which says nothing about the member: no fs:mtime source for members."""
    path = tmp_path / "leak.zip"
    with zipfile.ZipFile(path, "w") as archive:
        utc = zipfile.ZipInfo("utc.jpg", date_time=(2018, 2, 3, 19, 44, 10))
        utc.extra = struct.pack("<HHBi", 0x5455, 5, 1, 1517672650)  # 2018-02-03 15:44:10 UTC
        archive.writestr(utc, _jpeg(5))
        archive.writestr(zipfile.ZipInfo("local.jpg", date_time=(2018, 2, 11, 9, 58, 40)), _jpeg(6))
    records = {r["path"]: r for r in _scan(tmp_path, path)["records"]}
    for name, value, offset in (
        ("utc.jpg", "2018-02-03T15:44:10+00:00", "+00:00"),
        ("local.jpg", "2018-02-11T09:58:40", None),
    ):
        stamps = {s["source"]: s for s in records[name]["timestamps"]}
        assert "fs:mtime" not in stamps
        assert stamps["zip:ModifyDate"]["value"] == value
        assert stamps["zip:ModifyDate"]["utc_offset"] == offset
        assert records[name]["best_time"]["source"] == "zip:ModifyDate"  # nothing better here


def test_a_member_that_cannot_be_unpacked_is_left_out_and_the_rest_go_on(tmp_path):
    path = tmp_path / "leak.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("corrupt.jpg", _jpeg(7) * 4)
        archive.writestr("x" * 300 + ".jpg", _jpeg(8))  # longer than a file name may be
        archive.writestr("clash", b"a file")
        archive.writestr("clash/inner.jpg", _jpeg(9))  # needs "clash" to be a folder
        archive.writestr("good.jpg", _jpeg(10))
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("corrupt.jpg")
    data = bytearray(path.read_bytes())
    start = member.header_offset + 30 + len(member.filename) + len(member.extra)
    data[start + 40 : start + 200] = bytes(160)  # the deflate stream, broken
    path.write_bytes(bytes(data))
    records = {r["path"]: r for r in _scan(tmp_path, path)["records"]}
    assert records["good.jpg"]["status"] == "ok"
    for name in ("corrupt.jpg", "x" * 300 + ".jpg", "clash/inner.jpg"):
        assert records[name]["status"] == "skipped"
        assert records[name]["error"].startswith("zip member cannot unpack:")
        assert "kyctriage-unpacked" not in records[name]["error"]  # no private folder shown
    assert records["clash"]["status"] == "skipped"  # a file, unpacked; not an image
    assert "4 members unpacked and listed" not in records["leak.zip"]["warnings"][0]
    assert "2 members unpacked and listed, 3 left out" in records["leak.zip"]["warnings"][0]


def test_the_analyst_is_told_a_zip_is_being_unpacked(tmp_path):
    leak, _ = _leak(tmp_path)
    leak = leak.rename(tmp_path / "leak[bold].zip")  # shown as named, not as rich markup
    result = CliRunner().invoke(main, ["scan", str(leak), "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert f"unpacking {leak} into a private temporary folder" in result.output
