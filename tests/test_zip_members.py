"""Zip members by their stored names, counts that add up, damaged archives said so (issue 25,
items 13 and 14)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from kyctriage.cli.main import main
from tests.hostile import jpeg_bytes, png_bytes


def _scan(tmp_path: Path, *roots: Path, quiet: bool = True) -> tuple[dict, str]:
    out = tmp_path / "r.json"
    args = ["scan", *map(str, roots), "--json", str(out), *(["-q"] if quiet else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8")), result.output


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_an_unsafe_name_is_reported_as_stored_and_never_unpacked_onto_another(
    tmp_path: Path,
) -> None:
    photo_a, photo_b = jpeg_bytes(), png_bytes()
    for order in ((("../x.jpg", photo_a), ("x.jpg", photo_b)),
                  (("x.jpg", photo_b), ("../x.jpg", photo_a))):  # fmt: skip
        leak = tmp_path / "leak.zip"
        with zipfile.ZipFile(leak, "w") as archive:
            for name, data in order:
                archive.writestr(name, data)
            archive.writestr("/abs/y.jpg", photo_a)
        report, _ = _scan(tmp_path, leak)
        records = {r["path"]: r for r in report["records"]}
        assert records["x.jpg"]["sha256"] == _sha(photo_b)
        assert records["../x.jpg"]["sha256"] == _sha(photo_a)
        assert records["/abs/y.jpg"]["sha256"] == _sha(photo_a)
        assert all(r["status"] == "ok" for p, r in records.items() if p != "leak.zip")
        assert any("unsafe" in w for w in records["../x.jpg"]["warnings"])
        assert report["totals"]["seen"] == 4
        assert not (tmp_path / "x.jpg").exists()


def test_too_many_members_is_said_on_the_terminal_and_counted(tmp_path: Path) -> None:
    leak = tmp_path / "many.zip"
    with zipfile.ZipFile(leak, "w") as archive:
        archive.writestr("photo.jpg", jpeg_bytes())
        for i in range(100_001):
            archive.writestr(f"e/{i}", b"")
    report, output = _scan(tmp_path, leak, quiet=False)
    (own,) = [r for r in report["records"] if r["path"] == "many.zip"]
    note = own["warnings"][0]
    assert "100002 members" in note and "none unpacked or listed" in note
    assert "many.zip" in output and "100002 members" in output  # on the summary too


def test_a_zip_cut_short_is_a_zip_with_a_note(tmp_path: Path) -> None:
    leak = tmp_path / "cut.zip"
    with zipfile.ZipFile(leak, "w") as archive:
        archive.writestr("a.jpg", jpeg_bytes())
    leak.write_bytes(leak.read_bytes()[:-30])
    report, output = _scan(tmp_path, leak, quiet=False)
    (own,) = report["records"]
    assert own["sha256"] == _sha(leak.read_bytes())
    assert any("truncated or damaged" in w for w in own["warnings"]), own
    assert "truncated or damaged" in output


def test_the_manifest_of_a_zip_scan_verifies_as_documented(tmp_path: Path, monkeypatch) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum is not installed")
    monkeypatch.chdir(tmp_path)
    members = {"a.jpg": jpeg_bytes(), "sub/b c.png": png_bytes(), "back\\slash.txt": b"x"}
    with zipfile.ZipFile("leak.zip", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = CliRunner().invoke(main, ["scan", "leak.zip", "--json", "r.json",
                                       "--manifest", "m.sha256", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    # As the README says: from the folder the scan ran in, every line is OK.
    done = subprocess.run(["sha256sum", "--strict", "-c", "m.sha256"], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["leak.zip: OK", "r.json: OK"]
    # The members' section, checked inside a copy unpacked by hand (README: Custody manifest).
    Path("unpacked").mkdir()
    with zipfile.ZipFile("leak.zip") as archive:
        archive.extractall("unpacked")
    section = subprocess.run(["sed", "-n", "s/^#member //p", "m.sha256"], capture_output=True,
                             check=True).stdout  # fmt: skip
    done = subprocess.run(["sha256sum", "--strict", "-c", "-"], input=section, cwd="unpacked",
                          capture_output=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.decode().count(": OK") == 3
