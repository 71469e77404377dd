"""The HTML report's timeline: best times per month (or year) by verdict, as SVG geometry."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from kyctriage.model import Report
from kyctriage.render.text import visible

WIDTH, HEIGHT = 960, 250
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 44
# Past eight years of months the bars get too thin to read; the chart counts years instead.
MAX_MONTHS = 96
LABEL_PX = 56
PALETTE_SLOTS = 6
# A file's mtime in a leak says when it was copied, not when the photo was made.
UNCHARTED_SOURCES = ("fs:mtime",)


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    slot: str
    title: str


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    plot_right: int
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    legend: tuple[tuple[str, str], ...]  # (label, slot)
    unit: str  # "month" or "year"
    charted: int
    notes: tuple[str, ...]


def verdict_slots(report: Report) -> dict[str, str]:
    """A colour class per verdict label: pipelines by frequency, then the two fixed ones."""
    counts = Counter(r.verdict.label for r in report.records if r.verdict)
    fixed = {"unattributed": "vu", "inconclusive": "vi", "": "vn"}
    pipelines = sorted((k for k in counts if k not in fixed), key=lambda k: (-counts[k], k))
    slots = {label: f"v{i % PALETTE_SLOTS}" for i, label in enumerate(pipelines)}
    return {**slots, **fixed}


def _months(first: str, last: str) -> list[str]:
    """Every month from first to last ("YYYY-MM", checked by _MONTH)."""
    start = int(first[:4]) * 12 + int(first[5:7]) - 1
    end = int(last[:4]) * 12 + int(last[5:7]) - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(start, end + 1)]


# A best time's month: ASCII digits only ("²²²²".isdigit() is True) and a real month.
_MONTH = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")


def _step(value: int) -> int:
    """A round tick step (1, 2, 5 x 10^k) giving at most five intervals up to value."""
    magnitude = 1
    while True:
        for m in (1, 2, 5):
            if value <= 5 * m * magnitude:
                return m * magnitude
        magnitude *= 10


def build_chart(report: Report, slots: dict[str, str]) -> Chart:
    counts: Counter[tuple[str, str]] = Counter()
    uncharted = undated = 0
    for record in report.records:
        best = record.best_time
        if record.image is None:
            continue
        if best is None or not _MONTH.match(best.value):
            undated += 1
        elif best.source in UNCHARTED_SOURCES:
            uncharted += 1
        else:
            label = record.verdict.label if record.verdict else ""
            counts[(best.value[:7], label)] += 1
    notes = []
    if uncharted:
        notes.append(
            f"{uncharted} image(s) dated only by file modification time (fs:mtime: "
            "when the file was copied, not when the photo was made) are not charted."
        )
    if undated:
        notes.append(f"{undated} image(s) carry no usable time.")
    if not counts:
        return Chart(WIDTH, HEIGHT, LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, (), (), (), (),
                     "month", 0, tuple(notes))  # fmt: skip
    first, last = min(m for m, _ in counts), max(m for m, _ in counts)
    unit = "month"
    if (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7]) >= MAX_MONTHS:
        unit = "year"
        regrouped: Counter[tuple[str, str]] = Counter()
        for (m, v), n in counts.items():
            regrouped[(m[:4], v)] += n
        counts = regrouped
        months = [str(y) for y in range(int(first[:4]), int(last[:4]) + 1)]
    else:
        months = _months(first, last)
    order = sorted({v for _, v in counts}, key=lambda v: (slots.get(v, "vn"), v))
    per_bin = Counter({b: sum(counts[(b, v)] for v in order) for b in months})
    step = _step(max(per_bin.values()))
    top = step * math.ceil(max(per_bin.values()) / step)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    pitch = plot_w / len(months)
    gap = min(4.0, pitch * 0.2)
    bars = []
    for i, b in enumerate(months):
        y = float(HEIGHT - BOTTOM)
        segments = []
        for v in order:
            n = counts[(b, v)]
            if n:
                h = plot_h * n / top
                y -= h
                segments.append(Segment(round(y, 2), round(h, 2), slots.get(v, "vn"),
                                        f"{b}: {visible(v or 'images')} {n}"))  # fmt: skip
        bars.append(Bar(round(LEFT + i * pitch + gap / 2, 2), round(pitch - gap, 2),
                        tuple(segments)))  # fmt: skip
    every = max(1, math.ceil(LABEL_PX / pitch))
    x_ticks = tuple(Tick(round(LEFT + (i + 0.5) * pitch, 2), b)
                    for i, b in enumerate(months) if i % every == 0)  # fmt: skip
    y_ticks = tuple(Tick(round(HEIGHT - BOTTOM - plot_h * n / top, 2), str(n))
                    for n in range(0, top + 1, step))  # fmt: skip
    legend = tuple((visible(v or "images"), slots.get(v, "vn")) for v in order)
    return Chart(WIDTH, HEIGHT, LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, tuple(bars), y_ticks,
                 x_ticks, legend, unit, sum(per_bin.values()), tuple(notes))  # fmt: skip
