"""Per-image verdicts from a profile: which pipeline, if any, the evidence points to, and why."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from kyctriage.attribution import fingerprint, messenger
from kyctriage.attribution.checks import is_keyed
from kyctriage.attribution.profile import Pipeline, Profile
from kyctriage.model import FileRecord, FingerprintMatch, Reason, Timestamp, Verdict, WatermarkCheck
from kyctriage.probes.timestamps import parse_datetime, to_utc

UNATTRIBUTED, INCONCLUSIVE = "unattributed", "inconclusive"
# A local time without an offset can be anywhere from UTC-12 to UTC+14.
NAIVE_UNCERTAINTY = timedelta(hours=14)
# Sources that say when the picture was taken (not when a file was copied or posted).
CAPTURE_SOURCES = {
    "exif:DateTimeOriginal", "exif:CreateDate", "gps:GPSDateTime", "xmp:DateTimeOriginal",
    "xmp:CreateDate", "xmp:DateCreated", "exif:ModifyDate", "filename:camera",
}  # fmt: skip


@dataclass(frozen=True)
class _Window:
    start: datetime | None  # UTC, inclusive
    end: datetime | None  # UTC, exclusive

    @staticmethod
    def of(pipeline: Pipeline) -> _Window:
        def at(day: date | None, days: int = 0) -> datetime | None:
            return datetime(day.year, day.month, day.day) + timedelta(days=days) if day else None

        return _Window(at(pipeline.active_from), at(pipeline.active_to, 1))

    def describe(self, pipeline: Pipeline) -> str:
        start = pipeline.active_from.isoformat() if pipeline.active_from else "the beginning"
        end = pipeline.active_to.isoformat() if pipeline.active_to else "now"
        return f"{pipeline.name} window {start} .. {end}"


def _capture_time(record: FileRecord) -> Timestamp | None:
    for stamp in record.timestamps:
        if stamp.source in CAPTURE_SOURCES and stamp.value and stamp.note is None:
            return stamp
    return None


def _as_utc_range(stamp: Timestamp) -> tuple[datetime, datetime] | None:
    parsed = parse_datetime(stamp.value)
    if parsed is None:
        return None
    value, offset = parsed
    utc = to_utc(value, offset or stamp.utc_offset)
    if utc is not None:
        return utc, utc
    return value - NAIVE_UNCERTAINTY, value + NAIVE_UNCERTAINTY


def time_evidence(record: FileRecord, pipeline: Pipeline) -> tuple[str, Reason | None]:
    """'inside', 'edge', 'outside' or 'unknown', with the reason that says so."""
    window = _Window.of(pipeline)
    name = window.describe(pipeline)
    posted = next((s for s in record.timestamps if s.source == "telegram:posted"), None)
    if posted is not None and window.start is not None:
        bound = _as_utc_range(posted)
        if bound and bound[1] < window.start:
            text = f"posted on Telegram {posted.value}, before the {name} opened"
            return "outside", Reason("time", text, None)
    stamp = _capture_time(record)
    if stamp is None:
        return "unknown", None
    span = _as_utc_range(stamp)
    if span is None:
        return "unknown", None
    low, high = span
    naive = " (no time zone: ±14 h)" if stamp.utc_offset is None else ""
    label = f"{stamp.source.split(':', 1)[1]} {stamp.value[:19]}{naive}"
    after_start = window.start is None or low >= window.start
    before_end = window.end is None or high < window.end
    if after_start and before_end:
        return "inside", Reason("time", f"{label} inside {name}", pipeline.name)
    if (window.end is not None and low >= window.end) or (
        window.start is not None and high < window.start
    ):
        return "outside", Reason("time", f"{label} outside {name}", None)
    return "edge", Reason("time", f"{label} at the edge of {name}: cannot decide", pipeline.name)


def _describe_check(check: WatermarkCheck) -> str:
    kind = "keyed" if is_keyed(check) else check.detector.split(":", 1)[0]
    parts = [f"{kind} watermark of {check.pipeline} {check.verdict}"]
    if check.score is not None:
        parts.append(f"score {check.score:.2f}")
    if check.threshold is not None:
        parts.append(f"threshold {check.threshold:.2f}")
    if check.false_positive_bound is not None:
        parts.append(f"false-positive bound {check.false_positive_bound:.0e}")
    if check.verdict == "absent" and check.expected_marked_score is not None:
        parts.append(
            f"expected score of a marked image at this size {check.expected_marked_score:.1f}"
        )
    if check.note:
        parts.append(check.note)
    return "; ".join(parts)


def attribute(record: FileRecord, pipelines: tuple[Pipeline, ...]) -> Verdict | None:
    """The verdict for one ok image record; None for records that are not images."""
    if record.status != "ok":
        return None
    reasons: list[Reason] = []
    if record.messenger:
        text = f"{record.messenger}: metadata stripped in transit, not necessarily at capture"
        reasons.append(Reason("messenger", text, None))
    present = [c for c in record.watermark if c.verdict == "present"]
    if present:
        return _marked(record, pipelines, present, reasons)
    support: dict[str, float] = {}
    mixed: list[str] = []
    undecided = False
    for pipeline in pipelines:
        checks = [c for c in record.watermark if c.pipeline == pipeline.name]
        reasons.extend(Reason("watermark", _describe_check(c), None) for c in checks)
        if any(c.verdict == "absent" for c in checks) and not any(
            c.verdict == "inconclusive" for c in checks
        ):
            continue  # its mark would be there
        if checks:
            undecided = True  # a mark might be there but cannot be seen
        status, reason = time_evidence(record, pipeline)
        if reason:
            reasons.append(reason)
        if status == "outside":
            continue
        points = {"inside": 1.0, "edge": 0.5}.get(status, 0.0)
        match = next((m for m in record.fingerprints if m.pipeline == pipeline.name), None)
        encoder = _fingerprint_points(match, reasons) if match is not None else 0.0
        if encoder < 0 and points > 0:
            mixed.append(pipeline.name)
        elif points + encoder > 0:
            support[pipeline.name] = points + encoder
    return _decide(support, mixed, undecided, reasons)


def _fingerprint_points(match: FingerprintMatch, reasons: list[Reason]) -> float:
    if match.score is None:
        reasons.append(Reason("fingerprint", f"{match.pipeline} fingerprint {match.note}", None))
        return 0.0
    weakest = min(match.features, key=lambda f: f.match)
    detail = f"{match.pipeline} fingerprint score {match.score:.2f}"
    quant = next((f for f in match.features if f.feature == "quant_tables"), None)
    if quant is not None:
        detail += f"; quantisation tables {quant.detail}"
    if match.score >= 0.8:
        reasons.append(Reason("fingerprint", f"encoder matches {detail}", match.pipeline))
        return 1.0
    if match.score < 0.45:
        text = f"encoder does not match {detail}; weakest: {weakest.feature} ({weakest.detail})"
        reasons.append(Reason("fingerprint", text, None))
        return -1.0
    reasons.append(Reason("fingerprint", f"encoder partly matches {detail}", match.pipeline))
    return 0.25


def _decide(
    support: dict[str, float], mixed: list[str], undecided: bool, reasons: list[Reason]
) -> Verdict:
    ranked = sorted(support.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ranked[0][1] if ranked else 0.0
    if top >= 1.0 and (len(ranked) == 1 or ranked[1][1] < top):
        name = ranked[0][0]
        confidence = "high" if top >= 2 else "medium"
        if len(ranked) > 1 or mixed or undecided:
            confidence = "low" if confidence == "medium" else "medium"
            text = "other evidence points elsewhere or is undecided; confidence lowered"
            reasons.append(Reason("summary", text, None))
        return Verdict(name, confidence, tuple(reasons))
    if top >= 1.0:
        summary = "evidence supports several pipelines equally"
    elif mixed:
        summary = f"contradictory evidence for {', '.join(mixed)}: dates agree, encoder does not"
    elif undecided:
        summary = "a watermark check could not decide"
    elif ranked:
        summary = "evidence too weak to decide (a date at a window's edge or a partial match)"
    else:
        text = "no evidence links this image to any configured pipeline"
        reasons.append(Reason("summary", text, None))
        return Verdict(UNATTRIBUTED, "medium" if len(reasons) > 1 else "low", tuple(reasons))
    reasons.append(Reason("summary", summary, None))
    return Verdict(INCONCLUSIVE, "low", tuple(reasons))


def _marked(record: FileRecord, pipelines: tuple[Pipeline, ...], present: list[WatermarkCheck],
            reasons: list[Reason]) -> Verdict:  # fmt: skip
    """A present watermark overrides dates; a date that disagrees is stated, not hidden."""
    strongest = max(present, key=lambda c: (is_keyed(c), c.score or 0.0))
    reasons.extend(Reason("watermark", _describe_check(c), c.pipeline) for c in present)
    confidence = "high" if is_keyed(strongest) else "medium"
    pipeline = next((p for p in pipelines if p.name == strongest.pipeline), None)
    if pipeline is not None:
        status, reason = time_evidence(record, pipeline)
        if reason is not None:
            reasons.append(reason)
        if status == "outside":
            confidence = "medium" if confidence == "high" else "low"
            reasons.append(Reason("summary", "the date contradicts the watermark; the watermark "
                                             "prevails, confidence lowered", None))  # fmt: skip
    if len({c.pipeline for c in present}) > 1:
        confidence = "low"
        reasons.append(Reason("summary", "marks of several pipelines are present", None))
    return Verdict(strongest.pipeline, confidence, tuple(reasons))


def attribute_all(
    records: tuple[FileRecord, ...], profile: Profile | None
) -> tuple[FileRecord, ...]:
    """The attribution stage: messenger, fingerprint scores and a verdict on every image."""
    fingerprints = {
        p.name: fingerprint.load(p.fingerprint) for p in (profile.pipelines if profile else ())
        if p.fingerprint is not None
    }  # fmt: skip
    result = []
    for record in records:
        if record.status != "ok":
            result.append(record)
            continue
        via = messenger.detect(record)
        record = replace(
            record,
            messenger=via,
            fingerprints=tuple(fingerprint.score(record, fp, via) for fp in fingerprints.values()),
        )
        if profile is not None:  # its marker checks ran with the probes (scanning/pipeline.py)
            record = replace(record, verdict=attribute(record, profile.pipelines))
        result.append(record)
    return tuple(result)
