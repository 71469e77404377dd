"""Time sources: parsing, zones never guessed, trust, and the best-time rule."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from kyctriage.probes.timestamps import collect, parse_datetime, parse_offset, to_utc

REFERENCE = datetime(2026, 1, 1)


def _sources(stamps):
    return {s.source: s for s in stamps}


def test_exif_original_with_offset_and_subseconds_is_best():
    exif = {
        "DateTimeOriginal": "2018:02:11 14:03:27",
        "OffsetTimeOriginal": "+03:00",
        "SubSecTimeOriginal": "42",
        "CreateDate": "2018:02:11 14:03:27",
        "ModifyDate": "2019:05:01 10:00:00",
    }
    stamps, best = collect(exif, {}, "IMG_1.jpg", 1_600_000_000 * 10**9, REFERENCE)
    assert best.source == "exif:DateTimeOriginal"
    assert best.value == "2018-02-11T14:03:27.420000+03:00"
    assert best.utc_offset == "+03:00" and best.trust == "high"
    found = _sources(stamps)
    assert found["exif:CreateDate"].utc_offset is None  # no OffsetTimeDigitized: stays naive
    assert found["exif:ModifyDate"].trust == "medium"
    assert found["fs:mtime"].trust == "lowest" and found["fs:mtime"].utc_offset == "+00:00"
    assert [s.source for s in stamps][-1] == "fs:mtime"


def test_gps_time_is_utc():
    exif = {"GPSDateStamp": "2008:10:23", "GPSTimeStamp": "14:27:07.24"}
    _, best = collect(exif, {}, "x.jpg", None, REFERENCE)
    assert best.source == "gps:GPSDateTime"
    assert best.value == "2008-10-23T14:27:07.240000+00:00"


def test_telegram_export_name_is_naive_local_time():
    stamps, best = collect({}, {}, "chat/photos/photo_12@11-02-2018_14-03-27.jpg", None, REFERENCE)
    assert best.source == "filename:telegram"
    assert best.value == "2018-02-11T14:03:27" and best.utc_offset is None
    assert best.trust == "low"


def test_camera_file_names():
    for name, expected in [
        ("IMG_20180211_140327.jpg", "2018-02-11T14:03:27"),
        ("PXL_20180211_140327123.jpg", "2018-02-11T14:03:27"),
        ("Screenshot_2018-02-11-14-03-27.png", "2018-02-11T14:03:27"),
    ]:
        _, best = collect({}, {}, name, None, REFERENCE)
        assert best is not None and best.value == expected, name


def test_xmp_dates_are_used_with_their_offsets():
    xmp = {"xmp:CreateDate": "2018-02-11T14:03:27+01:00"}
    _, best = collect({}, xmp, "x.jpg", None, REFERENCE)
    assert best.source == "xmp:CreateDate" and best.utc_offset == "+01:00"


def test_placeholders_are_ignored_and_garbage_is_kept_as_unreadable():
    exif = {"DateTimeOriginal": "0000:00:00 00:00:00", "CreateDate": "yesterday-ish"}
    stamps, best = collect(exif, {}, "x.jpg", None, REFERENCE)
    found = _sources(stamps)
    assert "exif:DateTimeOriginal" not in found
    assert found["exif:CreateDate"].note == "unreadable date"
    assert best is None


def test_implausible_dates_are_kept_but_not_chosen():
    exif = {"DateTimeOriginal": "1970:01:01 00:00:00", "CreateDate": "2031:01:01 00:00:00"}
    stamps, best = collect(exif, {}, "x.jpg", 1_500_000_000 * 10**9, REFERENCE)
    found = _sources(stamps)
    assert found["exif:DateTimeOriginal"].note == "implausible: before 1990"
    assert found["exif:CreateDate"].note == "implausible: after the scan started"
    assert best.source == "fs:mtime"


def test_offsets():
    assert parse_offset("+0200") == "+02:00"
    assert parse_offset("-05:30") == "-05:30"
    assert parse_offset("   :  ") is None
    assert parse_offset("+25:00") is None
    assert to_utc(datetime(2018, 1, 1, 2), "+03:00") == datetime(2017, 12, 31, 23)
    assert to_utc(datetime(2018, 1, 1, 2), None) is None


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)))
def test_exif_format_round_trips(value):
    text = value.strftime("%Y:%m:%d %H:%M:%S")
    parsed, offset = parse_datetime(text)
    assert parsed == value.replace(microsecond=0) and offset is None


@given(st.text(max_size=40))
def test_parser_never_raises(text):
    result = parse_datetime(text)
    assert result is None or isinstance(result[0], datetime)
