"""Property tests: any record survives the JSON report and loads back equal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kyctriage.model import (
    TRUST_LEVELS,
    FeatureScore,
    FileRecord,
    FingerprintMatch,
    Gps,
    Hashes,
    ImageInfo,
    JpegInfo,
    Reason,
    Report,
    ScanMeta,
    TelegramMessage,
    Timestamp,
    Verdict,
    WatermarkCheck,
)
from kyctriage.probes import timestamps as times
from kyctriage.render.json import render_json
from kyctriage.scanning.pipeline import _Compactor
from kyctriage.serialise import from_data, load_report, to_data

# Evidence strings are attacker-made: every code point JSON and UTF-8 can carry, controls included.
text = st.text(max_size=20)
opt_text = st.none() | text
number = st.floats(allow_nan=False, allow_infinity=False)
opt_number = st.none() | number
ints = st.integers(min_value=-(2**63), max_value=2**64)
# What the report's schema allows (serialise._RULES): digests, ISO times, enums, counts.
hex_text = st.text("0123456789abcdef", min_size=1, max_size=16)
sha256 = st.text("0123456789abcdef", min_size=64, max_size=64)
iso_time = st.datetimes().map(lambda t: t.isoformat(timespec="seconds"))
count = st.integers(0, 2**40)
exif_value = st.one_of(text, ints, number, st.lists(st.one_of(ints, number), max_size=6).map(tuple))


def pairs(values: st.SearchStrategy[object]) -> st.SearchStrategy[tuple[tuple[str, object], ...]]:
    # Records hold these sorted and with unique names (JSON holds them as an object).
    return st.dictionaries(text, values, max_size=6).map(lambda d: tuple(sorted(d.items())))


def tuples(item: st.SearchStrategy[object], size: int = 4) -> st.SearchStrategy[tuple]:
    return st.lists(item, max_size=size).map(tuple)


timestamps = st.builds(
    Timestamp, source=text, value=iso_time, utc_offset=opt_text,
    trust=st.sampled_from(TRUST_LEVELS),
    raw=text, note=opt_text,
)  # fmt: skip
jpeg_info = st.builds(
    JpegInfo,
    quant_tables=tuples(tuples(st.integers(0, 65535), 64), 3),
    quality=st.none() | st.integers(1, 100),
    comments=tuples(text),
    markers=tuples(text),
    trailing_bytes=count,
)
image_info = st.builds(
    ImageInfo, width=count, height=count, frames=count, orientation=st.none() | st.integers(1, 8),
    jpeg=st.none() | jpeg_info,
)  # fmt: skip
watermark = st.builds(
    WatermarkCheck, verdict=st.sampled_from(("present", "absent", "inconclusive")),
    score=opt_number, threshold=opt_number, false_positive_bound=opt_number,
    expected_marked_score=opt_number, note=opt_text,
)  # fmt: skip
features = st.builds(FeatureScore, feature=text, weight=number, match=number, detail=text)
fingerprint = st.builds(
    FingerprintMatch, score=opt_number, features=tuples(features), note=opt_text
)
verdict = st.builds(
    Verdict, confidence=st.sampled_from(("high", "medium", "low")),
    reasons=tuples(st.builds(Reason, supports=opt_text)),
)  # fmt: skip
records = st.builds(
    FileRecord,
    status=st.sampled_from(("ok", "error", "skipped")),
    size=st.none() | st.integers(0, 2**40),
    mtime=st.none() | iso_time,
    sha256=st.none() | sha256,
    md5=st.none() | st.text("0123456789abcdef", min_size=32, max_size=32),
    error=opt_text,
    path_bytes_hex=opt_text,
    image=st.none() | image_info,
    exif=pairs(exif_value),
    gps=st.none() | st.builds(Gps, latitude=opt_number, longitude=opt_number, altitude=opt_number),
    xmp=pairs(text),
    timestamps=tuples(timestamps),
    best_time=st.none() | timestamps,
    hashes=st.none()
    | st.builds(
        Hashes,
        phash=hex_text,
        dhash=hex_text,
        whash=hex_text,
        colorhash=hex_text,
        image_data_sha256=st.none() | sha256,
    ),
    warnings=tuples(text),
    telegram=st.none()
    | st.builds(TelegramMessage, posted=iso_time, message_id=st.none() | ints, text=opt_text),
    messenger=opt_text,
    watermark=tuples(watermark, 2),
    fingerprints=tuples(fingerprint, 2),
    verdict=st.none() | verdict,
    thumbnail=opt_text,
)


def through_json(data: object) -> object:
    """As render_json writes a report and load_report reads it: UTF-8 text, no NaN."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return json.loads(text.encode("utf-8").decode("utf-8"))


@given(records)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_record_round_trip(record: FileRecord) -> None:
    assert from_data(FileRecord, through_json(to_data(record))) == record


@given(st.lists(records, max_size=3))
@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow])
def test_report_round_trip(tmp_path_factory: object, found: list[FileRecord]) -> None:
    meta = ScanMeta(
        tool_version="0", command=("kyctriage", "scan"), roots=("r",),
        started="2026-01-01T00:00:00", finished="2026-01-01T00:00:01", workers=1,
        key_fingerprints=(("p", "k"),),
    )  # fmt: skip
    report = Report(meta=meta, records=tuple(found))
    path = Path(tmp_path_factory.mktemp("report")) / "scan.json"  # type: ignore[attr-defined]
    path.write_text(render_json(report), encoding="utf-8")
    assert load_report(path) == report


# --- the timestamp parser -------------------------------------------------------------------

offsets = st.builds(
    lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
    st.sampled_from("+-"), st.integers(0, 14), st.integers(0, 59),
)  # fmt: skip
moments = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
# Every script's digits and digit-like signs: "²".isdigit() is True, int("²") raises.
digits = st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=4)
exif_texts = st.one_of(
    text,
    st.builds(lambda d: d.strftime("%Y:%m:%d %H:%M:%S"), moments),
    st.from_regex(r"\A\d{4}:\d{2}:\d{2} \d{2}:\d{2}:\d{2}\Z"),  # any script's digits
)


@given(moments.map(lambda d: d.replace(microsecond=0)), st.none() | offsets)
def test_exif_dates_parse_back(moment: datetime, offset: str | None) -> None:
    written = f"{moment.year:04d}:{moment:%m:%d %H:%M:%S}" + (offset or "")
    assert times.parse_datetime(written) == (moment, offset)


@given(moments, offsets)
def test_iso_dates_with_zone_parse_back(moment: datetime, offset: str) -> None:
    assert times.parse_datetime(moment.isoformat() + offset) == (moment, offset)
    utc = times.to_utc(moment, offset)
    local = datetime.fromisoformat(moment.isoformat() + offset)
    if utc is not None and datetime(2, 1, 1) < moment < datetime(9998, 1, 1):
        assert utc == local.astimezone(UTC).replace(tzinfo=None)


@given(text)
def test_parsers_never_raise(value: str) -> None:
    parsed = times.parse_datetime(value)
    assert parsed is None or isinstance(parsed[0], datetime)
    offset = times.parse_offset(value)
    assert offset is None or times.parse_offset(offset) == offset


@settings(max_examples=500)
@given(
    st.dictionaries(
        st.sampled_from(["DateTimeOriginal", "CreateDate", "ModifyDate", "OffsetTimeOriginal",
                         "OffsetTimeDigitized", "OffsetTime", "SubSecTimeOriginal",
                         "SubSecTimeDigitized", "SubSecTime", "GPSDateStamp", "GPSTimeStamp"]),
        st.one_of(exif_texts, ints, number, st.lists(number, max_size=3).map(tuple), digits),
    ),
    st.dictionaries(
        st.sampled_from(["exif:DateTimeOriginal", "xmp:CreateDate", "photoshop:DateCreated",
                         "xmp:ModifyDate"]),
        exif_texts,
    ),
    st.one_of(text, st.builds("photo_{}@{}.jpg".format, st.integers(0, 99), text)),
    st.none() | st.integers(0, 2**62),
)  # fmt: skip
def test_collect_orders_sources_and_picks_the_first_usable(
    exif: dict[str, object], xmp: dict[str, str], name: str, mtime_ns: int | None
) -> None:
    stamps, best = times.collect(exif, xmp, name, mtime_ns, datetime(2026, 1, 1))  # type: ignore[arg-type]
    ranks = [times.PRIORITY.index(s.source) for s in stamps]
    assert ranks == sorted(ranks)
    usable = [s for s in stamps if s.value and (s.note is None or s.note == times.POSTED_NOTE)]
    assert best == (usable[0] if usable else None)
    for stamp in stamps:
        if stamp.value:  # every value shown is ISO 8601 that Python reads back
            datetime.fromisoformat(stamp.value)


@given(moments.map(lambda d: d.replace(microsecond=0)), st.one_of(digits, text))
def test_subseconds_are_ascii_digits_or_ignored(moment: datetime, subsec: str) -> None:
    exif = {"DateTimeOriginal": moment.strftime("%Y:%m:%d %H:%M:%S").zfill(19),
            "SubSecTimeOriginal": subsec}  # fmt: skip
    _, best = times.collect(exif, {}, "x.jpg", None, datetime(9999, 1, 1))  # type: ignore[arg-type]
    if moment.year < 1990:
        return
    assert best is not None
    digits_only = subsec.strip()
    if digits_only.isascii() and digits_only.isdigit():
        assert datetime.fromisoformat(best.value).microsecond == int(digits_only.ljust(6, "0")[:6])
    else:
        assert datetime.fromisoformat(best.value) == moment


# --- the parent's record compaction ---------------------------------------------------------


def _text(record: FileRecord) -> str:
    return json.dumps(to_data(record), sort_keys=True, allow_nan=True)


@given(st.lists(records, min_size=1, max_size=4))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_compaction_changes_no_record(found: list[FileRecord]) -> None:
    compact = _Compactor()
    for record in found:
        # == alone would let 1.0 become 1 (equal in Python, not in the report): compare text.
        assert _text(compact(record)) == _text(record)


def test_compaction_keeps_numbers_of_each_type() -> None:
    compact = _Compactor()
    first = compact(FileRecord(root="r", path="a", status="ok", exif=(("X", (1, 2.0)),)))
    second = compact(FileRecord(root="r", path="b", status="ok", exif=(("X", (1.0, 2)),)))
    assert _text(first).count("2.0") == 1 and _text(second).count("1.0") == 1
