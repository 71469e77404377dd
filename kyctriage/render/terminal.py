"""The rich terminal summary; every evidence string is shown as inert text."""

from __future__ import annotations

from collections import Counter

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from kyctriage.model import STATUS_ERROR, STATUS_OK, STATUS_SKIPPED, FileRecord, Report
from kyctriage.render.text import visible

MAX_ERRORS_SHOWN = 20
ARCHIVE_PROBLEM = "zip archive: "  # the note of a zip root that was not unpacked whole
MAX_VALUES_SHOWN = 8


def inert(text: object) -> Text:
    """Evidence text for the terminal: no markup, no emoji codes, no escape sequences."""
    return Text(visible(text))


def _row(table: Table, *cells: object) -> None:
    """Every cell through the one rule: a saved report's every string may be hostile. Text
    cells are ours (styled numbers)."""
    table.add_row(*(cell if isinstance(cell, Text) else inert(cell) for cell in cells))


def _table(title: str, *columns: str | tuple[str, str]) -> Table:
    """A table whose title and column names pass the one rule; ("name", "right") aligns."""
    table = Table(title=inert(title), title_justify="left")
    for column in columns:
        name, justify = column if isinstance(column, tuple) else (column, "left")
        table.add_column(inert(name), justify=justify)  # type: ignore[arg-type]
    return table


def _status_table(report: Report) -> Table:
    statuses = (STATUS_OK, STATUS_ERROR, STATUS_SKIPPED)
    table = _table("Files by format and status", "format", *((s, "right") for s in statuses))
    counts: Counter[tuple[str, str]] = Counter()
    for record in report.records:
        fmt = record.image.format if record.image else "-"
        counts[(fmt, record.status)] += 1
    for fmt in sorted({f for f, _ in counts}):
        _row(table, fmt, *(str(counts[(fmt, s)] or "") for s in statuses))
    totals = report.totals()
    _row(
        table,
        Text("all", style="bold"),
        *(Text(str(totals[s]), style="bold") for s in (STATUS_OK, STATUS_ERROR, STATUS_SKIPPED)),
    )
    return table


def _verdict_of(record: FileRecord) -> str:
    return record.verdict.label if record.verdict else "-"


def _timeline(report: Report) -> Table | Text:
    """Best times per month; one column per verdict when the scan attributed images."""
    months: Counter[tuple[str, str]] = Counter()
    sources: Counter[str] = Counter()
    values = []
    for record in report.records:
        if record.best_time and record.best_time.value:
            values.append(record.best_time.value)
            months[(record.best_time.value[:7], _verdict_of(record))] += 1
            sources[record.best_time.source] += 1
    if not values:
        return Text("No image carries a usable time.")
    verdicts = sorted({v for _, v in months})
    title = f"Best times: {min(values)[:19]} .. {max(values)[:19]}"
    table = _table(title, "month", *((v if v != "-" else "images", "right") for v in verdicts), "")
    per_month: Counter[str] = Counter()
    for (month, _), n in months.items():
        per_month[month] += n
    peak = max(per_month.values())
    for month in sorted(per_month):
        counts = [str(months[(month, v)] or "") for v in verdicts]
        _row(table, month, *counts, "█" * max(1, round(30 * per_month[month] / peak)))
    table.caption = inert("chosen from: " + ", ".join(f"{s} {n}" for s, n in sources.most_common()))
    return table


def _clusters(report: Report) -> Table | None:
    clustering = report.clusters
    if clustering is None or not clustering.clusters:
        return None
    t = clustering.thresholds
    table = _table(
        f"Same photograph ({len(clustering.clusters)} clusters)",
        "cluster", "kind", ("members", "right"), "representative", "earliest",
    )  # fmt: skip
    unchecked = (
        f"; {clustering.unchecked} weaker candidate pairs left unchecked (at most "
        f"{t.max_checks} checks a picture)"
        if clustering.unchecked
        else ""
    )
    table.caption = inert(
        f"near candidates proposed when {' + '.join(t.hashes)} differ by <= {t.max_sum} bits "
        f"in all, <= {t.max_one} in any one (views: {', '.join(t.views)}); a member joins only "
        f"through a verified match{unchecked}"
    )
    ranked = sorted(clustering.clusters, key=lambda c: (-len(c.members), c.id))
    for item in ranked[:MAX_ERRORS_SHOWN]:
        earliest = item.earliest.value[:19] if item.earliest else "-"
        _row(table, item.id, item.kind, str(len(item.members)), item.representative.path,
             earliest)  # fmt: skip
    return table


def _watermark_line(report: Report) -> str:
    checks: Counter[str] = Counter()
    for record in report.records:
        for check in record.watermark:
            checks[f"{check.pipeline} {check.detector.split(':', 1)[0]} {check.verdict}"] += 1
    if not checks:
        return "watermark: no check configured (give a --profile with a watermark key)"
    keys = ", ".join(f"{p} key {f}" for p, f in report.meta.key_fingerprints)
    found = ", ".join(f"{name} {n}" for name, n in sorted(checks.items()))
    return f"watermark checks: {found}" + (f" ({keys})" if keys else "")


def _verdicts(report: Report) -> Table | None:
    counts = Counter(r.verdict.label for r in report.records if r.verdict)
    if not counts:
        return None
    table = _table("Attribution", "verdict", ("images", "right"), "confidence high / medium / low")
    for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        levels = Counter(
            r.verdict.confidence for r in report.records if r.verdict and r.verdict.label == label
        )
        _row(table, label, str(n), " / ".join(str(levels[c]) for c in ("high", "medium", "low")))
    return table


def _devices(report: Report) -> Table:
    table = _table("Cameras and software", "tag", "values (count)")
    for tag in ("Make", "Model", "Software"):
        seen: Counter[str] = Counter()
        for record in report.records:
            value = record.exif_value(tag)
            if value is not None:
                seen[str(value).strip()] += 1
        line = Text()
        for i, (value, n) in enumerate(seen.most_common(MAX_VALUES_SHOWN)):
            if i:
                line.append(", ")
            line.append_text(inert(value))
            line.append(f" ({n})")
        if len(seen) > MAX_VALUES_SHOWN:
            line.append(f", and {len(seen) - MAX_VALUES_SHOWN} more")
        _row(table, tag, line if seen else Text("-"))
    return table


def _errors(report: Report) -> Table | None:
    problems = [r for r in report.records if r.status == STATUS_ERROR]
    if not problems:
        return None
    table = _table(f"Errors ({len(problems)})", "file", "reason")
    for record in problems[:MAX_ERRORS_SHOWN]:
        _row(table, record.path, record.error or "")
    if len(problems) > MAX_ERRORS_SHOWN:
        table.caption = f"and {len(problems) - MAX_ERRORS_SHOWN} more in the JSON report"
    return table


def summary(report: Report) -> Group:
    totals = report.totals()
    head = Text()
    head.append(f"kyctriage {visible(report.meta.tool_version)}  ", style="bold")
    head.append(f"{totals['seen']} files: {totals['ok']} ok, {totals['error']} error, "
                f"{totals['skipped']} skipped")  # fmt: skip
    reasons = report.reasons()
    if reasons:
        head.append("\n" + visible(", ".join(f"{kind} {n}" for kind, n in reasons.items())))
    # A zip that could not be unpacked whole (cut short, too many members, a bomb): what the
    # counts above leave out must be said here, not only in the JSON.
    archives = [(r.path, w) for r in report.records for w in r.warnings[:1]
                if w.startswith(ARCHIVE_PROBLEM)]  # fmt: skip
    for path, problem in archives[:MAX_ERRORS_SHOWN]:
        head.append("\n")
        head.append_text(inert(f"{path}: {problem}"))
    head.append("\nroots: ")
    head.append_text(inert(", ".join(report.meta.roots)))
    if report.meta.profile:
        head.append("\nprofile: ")
        head.append_text(inert(report.meta.profile))
    head.append("\n" + visible(_watermark_line(report)))
    parts: list[RenderableType] = [Panel(head), _status_table(report)]
    verdicts = _verdicts(report)
    if verdicts is not None:
        parts.append(verdicts)
    parts += [_timeline(report), _devices(report)]
    clusters = _clusters(report)
    if clusters is not None:
        parts.append(clusters)
    errors = _errors(report)
    if errors is not None:
        parts.append(errors)
    return Group(*parts)


def print_summary(report: Report, console: Console) -> None:
    console.print(summary(report))
