"""The JSON report: schema-valid, deterministic, and loadable back into the same records."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from kyctriage.errors import KyctriageError
from kyctriage.render.json import iter_json, render_json
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan
from kyctriage.serialise import load_report, report_data


@pytest.fixture(scope="module")
def corpus_report(corpus, tmp_path_factory):
    """The shared corpus and a re-encoded copy of one of its photographs (a cluster to write:
    the corpus's own look-alikes, its orientation samples, are one photograph with a different
    large digit drawn on each, and are rightly not verified as the same picture)."""
    copies = tmp_path_factory.mktemp("copies")
    with Image.open(corpus / "exif-org" / "nikon-e950.jpg") as photo:
        photo.convert("RGB").save(copies / "nikon-e950-q80.jpg", quality=80)
    return scan(ScanOptions(roots=(str(corpus), str(copies)), workers=2))


def test_report_is_schema_valid(corpus_report, validate_report):
    data = validate_report(report_data(corpus_report))
    assert data["totals"]["seen"] == len(data["records"])
    assert data["totals"]["ok"] >= 40


def test_saved_report_loads_back_to_equal_records(corpus_report, tmp_path):
    path = tmp_path / "r.json"
    path.write_text(render_json(corpus_report), encoding="utf-8")
    loaded = load_report(path)
    assert loaded == corpus_report


def test_same_input_same_report_apart_from_timing(corpus):
    first, second = (
        json.loads(render_json(scan(ScanOptions(roots=(str(corpus),), workers=w)))) for w in (1, 2)
    )
    for data in (first, second):
        for key in ("started", "finished", "workers"):
            data["meta"].pop(key)
    assert first == second


def test_unknown_versions_and_foreign_files_are_refused(corpus_report, tmp_path):
    data = report_data(corpus_report)
    data["schema_version"] = 999
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(data))
    with pytest.raises(KyctriageError, match="schema version 999"):
        load_report(newer)
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"hello": 1}')
    with pytest.raises(KyctriageError, match="not a kyctriage report"):
        load_report(foreign)
    with pytest.raises(KyctriageError, match="cannot read"):
        load_report(tmp_path / "missing.json")


def test_the_report_is_written_one_record_at_a_time(corpus_report):
    pieces = list(iter_json(corpus_report))
    whole = json.dumps(
        report_data(corpus_report), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    assert "".join(pieces) == whole + "\n"
    # No piece holds more than one record's text: memory stays flat however many files.
    records = report_data(corpus_report)["records"]
    biggest = max(len(json.dumps(r, ensure_ascii=False)) for r in records)
    assert max(len(p) for p in pieces) < biggest + 20_000
    assert corpus_report.clusters is not None and corpus_report.clusters.clusters
    assert len(pieces) > len(corpus_report.records) + len(corpus_report.clusters.clusters)
