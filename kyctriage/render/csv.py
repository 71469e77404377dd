"""Spreadsheet exports: one row per file, and a Timesketch timeline of every time source."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence

from kyctriage.model import FileRecord, Report
from kyctriage.render.text import visible

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
# (CSV injection); a leading apostrophe makes it text. Tab, CR and LF, which start formulas
# too or start a new row for a reader that ends rows at CR, never reach a cell: the one rule
# (visible) shows them as escapes. Full-width forms are read as formulas in some locales.
_FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value: object) -> str:
    """A cell as text an analyst can open: numbers as they are, text through the one rule
    and, when it would start a formula, behind an apostrophe."""
    if isinstance(value, int | float):
        return str(value)
    text = visible(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _write(header: list[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV text a row at a time, so that a 100,000-file report is never one string."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in itertools.chain([header], ([safe_cell(v) for v in row] for row in rows)):
        writer.writerow(row)
        yield out.getvalue()
        out.seek(0)
        out.truncate()


IMAGE_COLUMNS = [
    "root", "path", "status", "error", "format", "width", "height", "size", "sha256", "md5",
    "verdict", "confidence", "reasons", "best_time", "best_time_source", "make", "model",
    "software", "jpeg_quality", "watermark", "messenger", "telegram_posted",
]  # fmt: skip


def _image_row(record: FileRecord) -> list[object]:
    image, best, verdict = record.image, record.best_time, record.verdict
    marks = "; ".join(f"{c.pipeline}/{c.detector}: {c.verdict}" for c in record.watermark)
    return [
        record.root, record.path, record.status, record.error,
        image.format if image else None, image.width if image else None,
        image.height if image else None, record.size, record.sha256, record.md5,
        verdict.label if verdict else None, verdict.confidence if verdict else None,
        " | ".join(r.text for r in verdict.reasons) if verdict else None,
        best.value if best else None, best.source if best else None,
        record.exif_value("Make"), record.exif_value("Model"), record.exif_value("Software"),
        image.jpeg.quality if image and image.jpeg else None, marks or None, record.messenger,
        record.telegram.posted if record.telegram else None,
    ]  # fmt: skip


def render_csv(report: Report) -> Iterator[str]:
    return _write(IMAGE_COLUMNS, (_image_row(r) for r in report.records))


TIMELINE_COLUMNS = [
    "message", "datetime", "timestamp_desc", "path", "sha256", "source", "trust", "utc_offset",
    "note", "verdict",
]  # fmt: skip


def render_timeline(report: Report) -> Iterator[str]:
    """Timesketch's CSV import: message, datetime, timestamp_desc, plus our own columns.
    A naive time (no offset) is written without a zone and says so in its message."""
    rows = []
    for record in report.records:
        verdict = record.verdict.label if record.verdict else None
        for stamp in record.timestamps:
            if not stamp.value:
                continue
            zone = "" if stamp.utc_offset else " (local time, zone unknown)"
            message = f"{record.path}: {stamp.source}{zone}"
            rows.append([
                message, stamp.value, stamp.source, record.path, record.sha256, stamp.source,
                stamp.trust, stamp.utc_offset, stamp.note, verdict,
            ])  # fmt: skip
    rows.sort(key=lambda r: (str(r[1]), str(r[3])))
    return _write(TIMELINE_COLUMNS, rows)
