"""The self-contained HTML report: view models built from a Report, rendered from templates."""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from kyctriage.model import (
    STATUS_ERROR,
    STATUS_OK,
    STATUS_SKIPPED,
    FileRecord,
    Report,
)
from kyctriage.render.html_chart import Chart, build_chart, verdict_slots
from kyctriage.render.page import (
    THUMBNAIL_NOTES,
    asset,
    content_security_policy,
    environment,
    thumbnail,
)
from kyctriage.render.text import checked, visible

# Long attacker-chosen texts (EXIF comments, Telegram messages) are cut in the HTML; the JSON
# report keeps them whole.
MAX_TEXT = 400
EXIF_TEXT_TAGS = ("ImageDescription", "Artist", "Copyright", "UserComment", "XPComment",
                  "XPTitle", "XPAuthor", "XPSubject", "XPKeywords")  # fmt: skip


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    mono: bool = False


@dataclass(frozen=True)
class VerdictCount:
    label: str
    slot: str  # the colour class shared with the chart and the table
    count: int
    high: int
    medium: int
    low: int


@dataclass(frozen=True)
class ErrorRow:
    path: str
    status: str
    reason: str
    sha256: str


@dataclass(frozen=True)
class MemberView:
    path: str
    thumbnail: str | None
    relation: str
    view: str
    steps: str
    checked: str = ""  # what verified a near member against the representative


@dataclass(frozen=True)
class ClusterView:
    id: str
    kind: str
    earliest: str
    members: tuple[MemberView, ...]


@dataclass(frozen=True)
class Page:
    """Everything the template shows, already formatted: the template only lays it out."""

    title: str
    facts: tuple[Fact, ...]
    summary: tuple[str, ...]
    thumbnails: str
    thumbnail_note: str
    statuses: tuple[tuple[str, int], ...]
    verdicts: tuple[VerdictCount, ...]
    chart: Chart
    rows: list[dict[str, Any]]  # the table's data island, read by report.js
    watermarks: bool  # any record carries a watermark check: the table shows the column
    roots: tuple[str, ...]
    clusters: tuple[ClusterView, ...]
    errors: tuple[ErrorRow, ...]


def _facts(report: Report) -> tuple[Fact, ...]:
    meta, totals = report.meta, report.totals()
    facts = [
        Fact("Tool", f"kyctriage {visible(meta.tool_version)} (report schema "
                     f"{report.schema_version})"),
        Fact("Command", visible(shlex.join(meta.command)), mono=True),
        Fact("Scan roots", "; ".join(visible(r) for r in meta.roots), mono=True),
        Fact("Started", visible(meta.started)),
        Fact("Finished", visible(meta.finished)),
        Fact("Files", f"{totals['seen']} seen: {totals['ok']} decoded, {totals['error']} "
                      f"error, {totals['skipped']} skipped"),
        Fact("Profile", visible(meta.profile) if meta.profile else "none (no attribution)",
             mono=bool(meta.profile)),
    ]  # fmt: skip
    if meta.profile_sha256:
        facts.append(Fact("Profile SHA-256", visible(meta.profile_sha256), mono=True))
    for pipeline, fingerprint in meta.key_fingerprints:
        facts.append(Fact(f"Key fingerprint ({visible(pipeline)})", visible(fingerprint), True))
    facts.append(Fact("Thumbnails", visible(meta.thumbnails)))
    return tuple(facts)


def _summary(report: Report, verdicts: tuple[VerdictCount, ...]) -> tuple[str, ...]:
    totals = report.totals()
    lines = [
        f"{totals['seen']} files were examined: {totals['ok']} images decoded, "
        f"{totals['error']} files could not be read or decoded, {totals['skipped']} were "
        "skipped (links, special files, documents). Every file is listed, and each was "
        "opened read-only."
    ]
    if verdicts:
        counts = ", ".join(f"{v.label} {v.count}" for v in verdicts)
        lines.append(f"Attribution against profile {visible(report.meta.profile)}: {counts}.")
    else:
        lines.append("No attribution profile was given, so no image carries a verdict.")
    checks = Counter(f"{c.pipeline} {c.detector} {c.verdict}" for r in report.records
                     for c in r.watermark)  # fmt: skip
    if checks:
        found = ", ".join(f"{visible(k)} {n}" for k, n in sorted(checks.items()))
        lines.append(f"Watermark checks: {found}.")
    else:
        lines.append("No watermark check was configured (the profile names no watermark key).")
    posted = sum(1 for r in report.records if r.telegram)
    relayed = sum(1 for r in report.records if r.messenger)
    carried = [f"{posted} file(s) are joined to a Telegram export message"] if posted else []
    if relayed:
        carried.append(f"{relayed} image(s) are messenger re-encodes, whose metadata was "
                       "stripped in transit")  # fmt: skip
    if carried:
        lines.append("; ".join(carried) + ".")
    return tuple(lines)


def _verdicts(report: Report, slots: dict[str, str]) -> tuple[VerdictCount, ...]:
    levels: Counter[tuple[str, str]] = Counter()
    counts: Counter[str] = Counter()
    for record in report.records:
        if record.verdict:
            counts[record.verdict.label] += 1
            levels[(record.verdict.label, record.verdict.confidence)] += 1
    return tuple(
        VerdictCount(visible(label), slots[label], n, levels[(label, "high")],
                     levels[(label, "medium")], levels[(label, "low")])
        for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )  # fmt: skip


def _watermark(record: FileRecord) -> list[str]:
    shown = []
    for check in record.watermark:
        text = f"{check.pipeline} {check.detector}: {check.verdict}"
        if check.verdict == "absent" and check.false_positive_bound is not None:
            text += f" (false-positive bound {check.false_positive_bound:.1e})"
        elif check.score is not None:
            text += f" (score {check.score:.3g})"
        if check.note:
            text += f"; {check.note}"
        shown.append(visible(text))
    return shown


def _details(record: FileRecord) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if record.timestamps:
        details["times"] = [
            [visible(s.source), visible(s.value), visible(s.utc_offset or "no zone"),
             visible(s.trust), visible(s.note or "")]
            for s in record.timestamps
        ]  # fmt: skip
    texts = [[tag, visible(record.exif_value(tag), MAX_TEXT)] for tag in EXIF_TEXT_TAGS
             if record.exif_value(tag) is not None]  # fmt: skip
    if texts:
        details["exif"] = texts
    if record.xmp_history:
        details["history"] = [
            [visible(e.when or ""), visible(e.action or ""),
             visible(e.software_agent or "", MAX_TEXT)]
            for e in record.xmp_history
        ]  # fmt: skip
    if record.iptc:
        details["iptc"] = [[visible(k), visible(v, MAX_TEXT)] for k, v in record.iptc]
    if record.xmp:
        details["xmp"] = [[visible(k, MAX_TEXT), visible(v, MAX_TEXT)] for k, v in record.xmp]
    if record.metadata:
        details["metadata"] = [
            [visible(m.group), visible(m.name), visible(m.value, MAX_TEXT)] for m in record.metadata
        ]
    if record.telegram:
        tg = record.telegram
        details["telegram"] = [
            ["posted (UTC)", visible(tg.posted)], ["chat", visible(tg.chat or "")],
            ["sender", visible(tg.sender or "")],
            ["forwarded from", visible(tg.forwarded_from or "")],
            ["kind", visible(tg.kind)], ["text", visible(tg.text or "", MAX_TEXT)],
        ]  # fmt: skip
    if record.messenger:
        details["messenger"] = visible(record.messenger)
    if record.warnings:
        details["warnings"] = [visible(w, MAX_TEXT) for w in record.warnings]
    return details


def _row(
    index: int, record: FileRecord, roots: dict[str, int], slots: dict[str, str]
) -> dict[str, Any]:
    image, best, verdict = record.image, record.best_time, record.verdict
    label = verdict.label if verdict else ""
    return {
        "i": index,
        "r": roots[record.root],
        "p": visible(record.path),
        "s": visible(record.status),
        "e": visible(record.error or "", MAX_TEXT),
        "f": f"{visible(image.format)} {image.width}\u00d7{image.height}" if image else "",
        "v": visible(label),
        "vs": slots.get(label, "vn"),
        "c": visible(verdict.confidence) if verdict else "",
        "why": [[visible(r.evidence), visible(r.text, MAX_TEXT)] for r in verdict.reasons]
        if verdict
        else [],
        # a space instead of "T": the cell wraps between date and time; sorting is unchanged
        "t": visible(best.value).replace("T", " ", 1) if best else "",
        "ts": visible(best.source) if best else "",
        "tz": visible(best.utc_offset or "no zone") if best else "",
        "wm": _watermark(record),
        "mk": visible(record.exif_value("Make") or "", MAX_TEXT),
        "md": visible(record.exif_value("Model") or "", MAX_TEXT),
        "sw": visible(record.exif_value("Software") or "", MAX_TEXT),
        "q": image.jpeg.quality if image and image.jpeg else None,
        "h": visible(record.sha256 or ""),
        "th": thumbnail(record),
        "d": _details(record),
    }


def _errors(report: Report) -> tuple[ErrorRow, ...]:
    return tuple(
        ErrorRow(
            visible(r.path),
            visible(r.status),
            visible(r.error or "", MAX_TEXT),
            visible(r.sha256 or ""),
        )  # fmt: skip
        for r in report.records
        if r.status != STATUS_OK
    )


def _clusters(report: Report) -> tuple[ClusterView, ...]:
    """Cluster galleries, once the Report carries a clustering (issue 5)."""
    clustering = getattr(report, "clusters", None)
    if clustering is None:
        return ()
    thumbs = {(r.root, r.path): thumbnail(r) for r in report.records}
    return tuple(
        ClusterView(
            id=visible(c.id),
            kind=visible(c.kind),
            earliest=f"{visible(c.earliest.value)} ({visible(c.earliest.source)})"
            if c.earliest
            else "unknown",
            members=tuple(
                MemberView(
                    visible(m.path),
                    thumbs.get((m.root, m.path)),
                    visible(m.relation),
                    visible(m.view),
                    visible(", ".join(m.transformations) or "none"),
                    visible(checked(m.verification)),
                )
                for m in c.members
            ),
        )  # fmt: skip
        for c in clustering.clusters
    )


def build_page(report: Report) -> Page:
    slots = verdict_slots(report)
    verdicts = _verdicts(report, slots)
    root_index = {root: i for i, root in enumerate(dict.fromkeys(r.root for r in report.records))}
    statuses = Counter(r.status for r in report.records)
    return Page(
        title="Forensic triage report",
        facts=_facts(report),
        summary=_summary(report, verdicts),
        thumbnails=visible(report.meta.thumbnails),
        thumbnail_note=THUMBNAIL_NOTES.get(report.meta.thumbnails, ""),
        statuses=tuple((s, statuses[s]) for s in (STATUS_OK, STATUS_ERROR, STATUS_SKIPPED)),
        verdicts=verdicts,
        chart=build_chart(report, slots),
        rows=[_row(i, r, root_index, slots) for i, r in enumerate(report.records)],
        watermarks=any(r.watermark for r in report.records),
        roots=tuple(visible(r) for r in root_index),
        clusters=_clusters(report),
        errors=_errors(report),
    )


def render_html(report: Report) -> str:
    """One self-contained HTML document; the same report gives the same text."""
    css, js = asset("report.css"), asset("report.js")
    template = environment().get_template("report.html")
    return template.render(
        page=build_page(report), css=Markup(css), js=Markup(js),
        csp=content_security_policy(css, js),
    )  # fmt: skip
