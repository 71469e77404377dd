"""The report's EXIF, GPS and size agree with recorded `exiftool -n -json` values on real files."""

from __future__ import annotations

import json
import math
import tempfile
from datetime import datetime
from pathlib import Path

import pytest

from kyctriage.model import FileRecord
from kyctriage.scanning.ingest import Source
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import probe_source

from .conftest import CORPUS, DATA

EXPECTED = DATA / "exiftool_expected.json"
BASES = {"corpus": CORPUS, "data": DATA / "exif"}
TARGET = 0.99
# exiftool -n prints 10 significant digits (15 for GPS degrees); allow for that rounding.
REL_TOLERANCE = 1e-8


def expected_files() -> dict[str, dict[str, object]]:
    return json.loads(EXPECTED.read_text(encoding="utf-8"))["files"]


def locate(key: str) -> Path:
    base, _, relative = key.partition(":")
    return BASES[base] / relative


def probe(path: Path) -> FileRecord:
    source = Source(root=str(path.parent), path=path.name, fs_path=str(path))
    options = ScanOptions(roots=(str(path.parent),), workers=1, in_process=True)
    return probe_source(source, options, datetime(2030, 1, 1))


def observed(record: FileRecord) -> dict[str, object]:
    """The report's values under the names of the recorded exiftool fields."""
    values: dict[str, object] = dict(record.exif)
    for name in ("GPSLatitude", "GPSLongitude", "GPSAltitude"):
        values.pop(name, None)  # compared against exiftool's Composite (signed) values
    if record.gps is not None:
        gps = {
            "GPSLatitude": record.gps.latitude,
            "GPSLongitude": record.gps.longitude,
            "GPSAltitude": record.gps.altitude,
        }
        values.update({k: v for k, v in gps.items() if v is not None})
    if record.image is not None:
        values["ImageWidth"] = record.image.width
        values["ImageHeight"] = record.image.height
    return values


def merged_view(record: FileRecord) -> dict[str, tuple[object, str]]:
    """The record's merged metadata: name -> (value, group)."""
    return {m.name: (m.value, m.group) for m in record.metadata}


def probe_bytes(data: bytes, suffix: str) -> FileRecord:
    """A record of bytes that exist only in memory (damaged variants), through a scratch file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"file{suffix}"
        path.write_bytes(data)
        return probe(path)


def agrees(want: object, got: object) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return want == got
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return math.isclose(want, got, rel_tol=REL_TOLERANCE, abs_tol=1e-9)
    if isinstance(want, str) and isinstance(got, (int, float)):
        return want == str(got)
    return want == got


def compare(
    expected: dict[str, dict[str, object]], found: dict[str, dict[str, object]]
) -> tuple[int, list[str]]:
    """How many recorded values the report matched, and a line for each it did not."""
    matched, misses = 0, []
    for key, fields in sorted(expected.items()):
        for name, want in sorted(fields.items()):
            got = found.get(key, {}).get(name)
            if agrees(want, got):
                matched += 1
            else:
                misses.append(f"{key} {name}: exiftool {want!r}, kyctriage {got!r}")
    return matched, misses


@pytest.fixture(scope="module")
def records(corpus: Path) -> dict[str, FileRecord]:
    return {key: probe(locate(key)) for key in expected_files()}


def test_agreement_with_exiftool(records: dict[str, FileRecord]) -> None:
    expected = expected_files()
    found = {key: observed(record) for key, record in records.items()}
    matched, misses = compare(expected, found)
    total = sum(len(fields) for fields in expected.values())
    assert total > 600, "the recorded set lost files"
    assert matched / total >= TARGET, (
        f"{matched}/{total} = {matched / total:.2%} < {TARGET:.0%}:\n" + "\n".join(misses)
    )


def test_no_file_loses_the_exif_exiftool_read(records: dict[str, FileRecord]) -> None:
    exif_fields = {"DateTimeOriginal", "Make", "Model", "Software", "ModifyDate", "Orientation"}
    with_exif = [key for key, fields in expected_files().items() if exif_fields & set(fields)]
    assert len(with_exif) > 50
    lost = [key for key in with_exif if not records[key].exif]
    assert not lost, lost


MERGED_TARGET = 0.995


def test_merged_view_agrees_with_exiftool_precedence(records: dict[str, FileRecord]) -> None:
    """The record's `metadata` against the values plain `exiftool -n -json` prints, whichever
    block exiftool took them from (XMP, IPTC, maker notes, Composite too); bench/
    exif_agreement.py prints the table."""
    wanted = json.loads(EXPECTED.read_text(encoding="utf-8"))["merged"]
    matched = total = 0
    misses = []
    for key, fields in sorted(wanted.items()):
        view = merged_view(records[key])
        for name, (want, group) in fields.items():
            total += 1
            got = view.get(name)
            if got is not None and agrees(want, got[0]):
                matched += 1
            else:
                misses.append(f"{key} {name}: exiftool {want!r} ({group}), kyctriage {got!r}")
    assert total > 650
    assert matched / total >= MERGED_TARGET, "\n".join(misses)
