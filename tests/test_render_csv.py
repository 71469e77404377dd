"""CSV exports: formula injection neutralised, one row per file, Timesketch columns."""

from __future__ import annotations

import csv
import io

from kyctriage.model import FileRecord, Report, ScanMeta, Timestamp
from kyctriage.render.csv import IMAGE_COLUMNS, render_csv, render_timeline, safe_cell

META = ScanMeta("0", ("kyctriage",), ("r",), "2026-01-01T00:00:00+00:00", "x", 1)


def test_formula_cells_are_neutralised():
    for text in ('=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)"):
        assert safe_cell(text) == "'" + text
    # Tab and CR, which start formulas too, are shown as escapes (tests/test_escaping.py).
    assert safe_cell("\tx") == "\\u0009x" and safe_cell("\rx") == "\\u000dx"
    assert safe_cell("plain") == "plain" and safe_cell(None) == "" and safe_cell(3) == "3"


def test_one_row_per_file_and_hostile_names_stay_text():
    records = (
        FileRecord(root="r", path="=cmd|'/C calc'!A0.jpg", status="error", error="-oops"),
        FileRecord(root="r", path="b.jpg", status="skipped", error="@x"),
    )
    chunks = list(render_csv(Report(META, records)))
    assert len(chunks) == 3  # a row at a time: a large report is never one string
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert rows[0] == IMAGE_COLUMNS and len(rows) == 3
    assert rows[1][1] == "'=cmd|'/C calc'!A0.jpg" and rows[1][3] == "'-oops"
    assert rows[2][3] == "'@x"


def test_timeline_has_timesketch_columns_and_says_when_the_zone_is_unknown():
    stamps = (
        Timestamp("exif:DateTimeOriginal", "2018-02-11T14:03:27", None, "high", "raw"),
        Timestamp("fs:mtime", "2020-01-01T00:00:00+00:00", "+00:00", "lowest", "1"),
    )
    record = FileRecord(root="r", path="a.jpg", status="ok", timestamps=stamps)
    rows = list(csv.DictReader(io.StringIO("".join(render_timeline(Report(META, (record,)))))))
    assert [r["timestamp_desc"] for r in rows] == ["exif:DateTimeOriginal", "fs:mtime"]
    assert rows[0]["message"].endswith("(local time, zone unknown)")
    assert rows[1]["datetime"] == "2020-01-01T00:00:00+00:00"
