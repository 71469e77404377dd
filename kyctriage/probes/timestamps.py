"""Every time source of a file, each with its trust and zone status, and the best one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from kyctriage.model import ExifValue, Timestamp, XmpEvent

NAME = "timestamps"

# The order in which best_time is chosen: the first plausible source wins. Capture times
# written by the camera come first, then GPS (UTC from satellites), then XMP copies of the
# capture time, then times that editing rewrites, then names, then the file system.
PRIORITY = (
    "exif:DateTimeOriginal",
    "exif:CreateDate",
    "gps:GPSDateTime",
    "xmp:DateTimeOriginal",
    "xmp:CreateDate",
    "xmp:DateCreated",
    "iptc:DateCreated",
    "iptc:DigitalCreationDate",
    "exif:ModifyDate",
    "xmp:ModifyDate",
    "xmp:History",
    "telegram:posted",
    "filename:telegram",
    "filename:camera",
    "zip:ModifyDate",
    "fs:mtime",
)

EARLIEST_PLAUSIBLE = datetime(1990, 1, 1)

_EXIF_DATE = re.compile(
    r"^\s*(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d{1,9}))?"
    r"\s*(Z|[+\-]\d{2}:?\d{2})?\s*$",
    re.ASCII,  # \d must not match other scripts' digits ("２０２０" is no EXIF year)
)
_OFFSET = re.compile(r"^\s*([+\-])(\d{2}):?(\d{2})\s*$", re.ASCII)
_TELEGRAM_NAME = re.compile(
    r"(?:photo|video|file)_\d+@(\d{2})-(\d{2})-(\d{4})_(\d{2})-(\d{2})-(\d{2})", re.ASCII
)
_CAMERA_NAMES = (
    # IMG_20180211_101112, PXL_20180211_101112345, 20180211_101112, VID_..., Screenshot_...
    re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})[_\-](\d{2})(\d{2})(\d{2})(?!\d{1,2}\b)", re.A),
    re.compile(r"(?<!\d)(20\d{2})-(\d{2})-(\d{2})[ _\-](\d{2})[\-.:](\d{2})[\-.:](\d{2})", re.A),
)

_EXIF_SOURCES = (
    (
        "exif:DateTimeOriginal",
        "DateTimeOriginal",
        "OffsetTimeOriginal",
        "SubSecTimeOriginal",
        "high",
    ),
    ("exif:CreateDate", "CreateDate", "OffsetTimeDigitized", "SubSecTimeDigitized", "high"),
    ("exif:ModifyDate", "ModifyDate", "OffsetTime", "SubSecTime", "medium"),
)
_XMP_SOURCES = (
    ("xmp:DateTimeOriginal", "exif:DateTimeOriginal", "medium"),
    ("xmp:CreateDate", "xmp:CreateDate", "medium"),
    ("xmp:DateCreated", "photoshop:DateCreated", "medium"),
    ("xmp:ModifyDate", "xmp:ModifyDate", "low"),
)


def parse_offset(text: str) -> str | None:
    """'+0200', '+02:00' -> '+02:00'; anything else (blank, garbage) -> None."""
    match = _OFFSET.match(text)
    if not match:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 14 or int(minutes) > 59:
        return None
    return f"{sign}{hours}:{minutes}"


def parse_datetime(text: str) -> tuple[datetime, str | None] | None:
    """An EXIF or ISO 8601 date-time -> (naive datetime, offset or None); None if unreadable."""
    match = _EXIF_DATE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
            int((fraction or "0").ljust(6, "0")[:6]),
        )  # fmt: skip
    except ValueError:
        return None
    offset = None
    if zone == "Z":
        offset = "+00:00"
    elif zone:
        offset = parse_offset(zone)
    return value, offset


def _iso(value: datetime, offset: str | None) -> str:
    text = value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    return text + (offset or "")


def _with_subsec(value: datetime, subsec: ExifValue | None) -> datetime:
    digits = str(subsec).strip() if subsec is not None else ""
    if value.microsecond or not (digits.isascii() and digits.isdigit()):  # "²".isdigit()
        return value
    return value.replace(microsecond=int(digits.ljust(6, "0")[:6]))


def _stamp(
    source: str,
    raw: str,
    parsed: tuple[datetime, str | None] | None,
    trust: str,
    offset: str | None = None,
    reference: datetime | None = None,
) -> Timestamp | None:
    if parsed is None:
        if raw.strip(" \x00:0"):  # not the all-zero or blank placeholder cameras write
            return Timestamp(source, "", None, trust, raw, note="unreadable date")
        return None
    value, own_offset = parsed
    offset = own_offset or offset
    note = _implausible(value, offset, reference)
    return Timestamp(source, _iso(value, offset), offset, trust, raw, note=note)


def _implausible(value: datetime, offset: str | None, reference: datetime | None) -> str | None:
    if value < EARLIEST_PLAUSIBLE:
        return "implausible: before 1990"
    if reference is not None:
        utc = to_utc(value, offset) or value  # a naive time may be up to 14 h ahead of UTC
        if utc - timedelta(hours=14) > reference:
            return "implausible: after the scan started"
    return None


def to_utc(value: datetime, offset: str | None) -> datetime | None:
    """Naive UTC of a time with a known offset; None when the zone is unknown."""
    if offset is None:
        return None
    sign = 1 if offset[0] == "+" else -1
    delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    return value - sign * delta


def _exif_sources(exif: dict[str, ExifValue], reference: datetime) -> list[Timestamp]:
    found = []
    for source, tag, offset_tag, subsec_tag, trust in _EXIF_SOURCES:
        raw = exif.get(tag)
        if not isinstance(raw, str):
            continue
        parsed = parse_datetime(raw)
        offset_raw = exif.get(offset_tag)
        offset = parse_offset(offset_raw) if isinstance(offset_raw, str) else None
        if parsed is not None:
            parsed = (_with_subsec(parsed[0], exif.get(subsec_tag)), parsed[1])
        stamp = _stamp(source, raw, parsed, trust, offset, reference)
        if stamp:
            found.append(stamp)
    gps = _gps_source(exif, reference)
    if gps:
        found.append(gps)
    return found


def _gps_source(exif: dict[str, ExifValue], reference: datetime) -> Timestamp | None:
    date, time = exif.get("GPSDateStamp"), exif.get("GPSTimeStamp")
    if not isinstance(date, str) or not isinstance(time, str):
        return None
    raw = f"{date} {time}"
    return _stamp("gps:GPSDateTime", raw, parse_datetime(raw + "Z"), "high", None, reference)


def _xmp_sources(xmp: dict[str, str], reference: datetime) -> list[Timestamp]:
    found = []
    for source, prop, trust in _XMP_SOURCES:
        raw = xmp.get(prop)
        if raw:
            stamp = _stamp(source, raw, parse_datetime(raw), trust, None, reference)
            if stamp:
                found.append(stamp)
    return found


_IPTC_SOURCES = (
    ("iptc:DateCreated", "DateCreated", "TimeCreated"),
    ("iptc:DigitalCreationDate", "DigitalCreationDate", "DigitalCreationTime"),
)
HISTORY_TRUST = "low"


def _iptc_sources(iptc: dict[str, str], reference: datetime) -> list[Timestamp]:
    """IPTC's date and time datasets (YYYY:MM:DD and HH:MM:SS+HH:MM); a date without its time
    is listed as midnight with the note "date only", and never taken as the best time."""
    found = []
    for source, date_name, time_name in _IPTC_SOURCES:
        date, time = iptc.get(date_name), iptc.get(time_name)
        if not date:
            continue
        raw = f"{date} {time}" if time else date
        parsed = parse_datetime(f"{date} {time}" if time else f"{date} 00:00:00")
        stamp = _stamp(source, raw, parsed, "medium", None, reference)
        if stamp and not time and stamp.note is None:
            stamp = Timestamp(stamp.source, stamp.value, None, stamp.trust, raw, "date only")
        if stamp:
            found.append(stamp)
    return found


def _history_sources(history: tuple[XmpEvent, ...], reference: datetime) -> list[Timestamp]:
    """Each dated xmpMM:History event: when software touched the file after capture. Never the
    best time (an edit is not the capture), which its note keeps it from becoming."""
    found = []
    for event in history:
        if not event.when:
            continue
        stamp = _stamp("xmp:History", event.when, parse_datetime(event.when), HISTORY_TRUST,
                       None, reference)  # fmt: skip
        if stamp is None:
            continue
        agent = f" by {event.software_agent}" if event.software_agent else ""
        what = f"{event.action or 'event'}{agent}"
        found.append(Timestamp(stamp.source, stamp.value, stamp.utc_offset, stamp.trust,
                               stamp.raw, stamp.note or f"edit history: {what}"))  # fmt: skip
    return found


def _name_sources(name: str, reference: datetime) -> list[Timestamp]:
    found = []
    telegram = _TELEGRAM_NAME.search(name)
    if telegram:
        day, month, year, hour, minute, second = telegram.groups()
        raw = telegram.group(0)
        text = f"{year}-{month}-{day} {hour}:{minute}:{second}"
        stamp = _stamp("filename:telegram", raw, parse_datetime(text), "low", None, reference)
        if stamp:
            found.append(stamp)
        return found
    for pattern in _CAMERA_NAMES:
        match = pattern.search(name)
        if match:
            year, month, day, hour, minute, second = match.groups()
            text = f"{year}-{month}-{day} {hour}:{minute}:{second}"
            parsed = parse_datetime(text)
            if parsed:
                stamp = _stamp("filename:camera", match.group(0), parsed, "low", None, reference)
                if stamp:
                    found.append(stamp)
                break
    return found


def mtime_stamp(mtime_ns: int, reference: datetime | None = None) -> Timestamp:
    value = datetime.fromtimestamp(mtime_ns / 1e9, UTC).replace(tzinfo=None)
    value = value.replace(microsecond=0)
    note = _implausible(value, "+00:00", reference)
    return Timestamp("fs:mtime", _iso(value, "+00:00"), "+00:00", "lowest", str(mtime_ns), note)


POSTED_NOTE = "upper bound: the picture existed no later than this"


def posted_stamp(posted: str, reference: datetime | None = None) -> Timestamp:
    """A Telegram message's date_unixtime, already ISO 8601 UTC; judged as every source is
    (an export is made by whoever leaked it: 0 or year 9999 must not become best_time)."""
    value = posted.removesuffix("+00:00")
    try:
        note = _implausible(datetime.fromisoformat(value), "+00:00", reference) or POSTED_NOTE
    except ValueError:
        note = "unreadable date"
    return Timestamp("telegram:posted", value + "+00:00", "+00:00", "high", posted, note)


def collect(
    exif: dict[str, ExifValue],
    xmp: dict[str, str],
    name: str,
    mtime_ns: int | None,
    reference: datetime,
    posted: str | None = None,
    archived: str | None = None,
    iptc: dict[str, str] | None = None,
    history: tuple[XmpEvent, ...] = (),
) -> tuple[tuple[Timestamp, ...], Timestamp | None]:
    """All time sources in PRIORITY order, and the best: the first plausible one. archived is
    a zip member's stored time ("...Z" when the zip kept it in UTC, else the zipping machine's
    local time); a member's mtime_ns is the archive's and not passed."""
    stamps = _exif_sources(exif, reference) + _xmp_sources(xmp, reference)
    stamps += _iptc_sources(iptc or {}, reference) + _history_sources(history, reference)
    if posted:
        stamps.append(posted_stamp(posted, reference))
    stamps += _name_sources(name.rsplit("/", 1)[-1], reference)
    if archived:
        stamp = _stamp("zip:ModifyDate", archived, parse_datetime(archived), "low", None, reference)
        if stamp:
            stamps.append(stamp)
    if mtime_ns is not None:
        stamps.append(mtime_stamp(mtime_ns, reference))
    stamps.sort(key=lambda s: PRIORITY.index(s.source))
    best = next((s for s in stamps if s.value and _usable(s)), None)
    return tuple(stamps), best


def _usable(stamp: Timestamp) -> bool:
    return stamp.note is None or stamp.note == POSTED_NOTE
