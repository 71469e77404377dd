"""The hostile corpus: the scan finishes, accounts for every entry, and changes nothing."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from kyctriage.cli.main import main

from .hostile import ESCAPES, INVISIBLE, MARKUP, make_hostile_tree, snapshot


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "leak"
    root.mkdir()
    made = make_hostile_tree(root)
    before = snapshot(root)
    out = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(
        main, ["scan", str(root), "--json", str(out / "r.json"), "--workers", "2"]
    )
    data = json.loads((out / "r.json").read_text(encoding="utf-8"))
    return root, made, before, result, data


def _entries(root):
    count = 0
    for _folder, dirs, files in os.walk(os.fsencode(root)):
        count += len(files) + sum(1 for d in dirs if os.path.islink(os.path.join(_folder, d)))
    return count


def test_scan_finishes_and_exits_zero(hostile):
    _, _, _, result, _ = hostile
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output


def test_every_entry_is_accounted_for(hostile, validate_report):
    root, made, _, _, data = hostile
    validate_report(data)
    records = {r["path"]: r for r in data["records"]}
    assert len(data["records"]) == _entries(root)
    assert set(made) <= set(records)
    totals = data["totals"]
    assert totals["seen"] == totals["ok"] + totals["error"] + totals["skipped"]
    for record in data["records"]:
        if record["status"] != "ok":
            assert record["error"] and "\n" not in record["error"]
            assert "Traceback" not in record["error"]


def test_evidence_is_untouched(hostile):
    root, _, before, _, _ = hostile
    assert snapshot(root) == before


def test_expected_verdicts(hostile):
    _, _, _, _, data = hostile
    records = {r["path"]: r for r in data["records"]}
    assert (
        "65,000 x 65,000" in records["bombs/bomb.png"]["error"]
        or "65000" in records["bombs/bomb.png"]["error"]
    )
    assert "4,225,000,000 pixels" in records["bombs/bomb.jpg"]["error"]
    assert records["empty.jpg"]["error"].startswith("not an image: content is empty")
    assert "HTML" in records["page.jpg"]["error"]
    assert "ZIP" in records["archive.jpg"]["error"]
    assert "PDF" in records["doc.jpg"]["error"]
    assert records["polyglot.jpg"]["status"] == "ok"
    assert records["polyglot.jpg"]["image"]["jpeg"]["trailing_bytes"] > 0
    assert records["links/outside.jpg"]["status"] == "skipped"
    assert "not followed" in records["links/outside.jpg"]["error"]
    assert "FIFO" in records["links/fifo.jpg"]["error"]
    assert records["names/latin1-\\xe9\\xff.jpg"]["path_bytes_hex"]
    for name in ("ifd_loop", "offset_past_end", "absurd_count", "gps_zero_denominators"):
        record = records[f"exif/{name}.jpg"]
        assert record["status"] == "ok", (name, record["error"])
    long = records["exif/long_description.jpg"]["exif"]["ImageDescription"]
    assert len(long) == 60_000
    gps = records["exif/gps_zero_denominators.jpg"]["gps"]
    assert gps is None or gps["latitude"] is None


def test_hostile_strings_reach_json_verbatim(hostile):
    _, _, _, _, data = hostile
    records = {r["path"]: r for r in data["records"]}
    description = records["exif/hostile_strings.jpg"]["exif"]["ImageDescription"]
    assert description.startswith(MARKUP + ESCAPES)  # evidence kept as found, JSON-escaped


def test_terminal_output_is_inert(hostile):
    _, _, _, result, _ = hostile
    assert "\x07" not in result.output and "\x1b]8" not in result.output
    assert "\u202e" not in result.output
    assert not any(char in result.output for char in INVISIBLE + "\r")
    assert "a\\u000d=2+5*cmd|A0.jpg" in result.output  # an error record, named visibly


def test_error_texts_are_stable_across_runs(hostile):
    _, _, _, _, data = hostile
    for record in data["records"]:
        assert " object at 0x" not in (record["error"] or ""), record["error"]


def test_malformed_metadata_is_a_warning_not_a_lost_image(hostile):
    _, _, _, _, data = hostile
    records = {r["path"]: r for r in data["records"]}
    record = records["exif/offset_past_end.jpg"]
    assert record["status"] == "ok"
    assert any("Tag data larger than file" in w for w in record["warnings"])


def test_totals_by_reason_add_up(hostile):
    _, _, _, result, data = hostile
    totals = data["totals"]
    assert sum(totals["by_reason"].values()) == totals["error"] + totals["skipped"]
    assert totals["by_reason"]["error: decompression-bomb protection"] == 2
    assert totals["by_reason"]["skipped: symbolic link, not followed"] == 2
    assert "other" not in " ".join(totals["by_reason"])
    assert "error: decompression-bomb protection 2" in result.output
