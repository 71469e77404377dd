"""The self-contained HTML page of a comparison: leak and reference thumbnails side by side."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from kyctriage.match.compare import Comparison, LeakImage, Side
from kyctriage.model import FileRecord
from kyctriage.render.page import THUMBNAIL_NOTES, asset, environment, sha256_source, thumbnail
from kyctriage.render.text import checked, visible

MAX_MATCHES_SHOWN = 3  # per leak image; the JSON keeps every match


@dataclass(frozen=True)
class MatchView:
    path: str
    thumbnail: str | None
    kind: str
    view: str
    steps: str
    distances: str
    checked: str = ""  # what verified a near match, or why it could not be checked


@dataclass(frozen=True)
class LeakView:
    path: str
    thumbnail: str | None
    status: str
    note: str
    matches: tuple[MatchView, ...]


@dataclass(frozen=True)
class ComparePage:
    leak: str
    reference: str
    totals: tuple[tuple[str, int], ...]
    waves: tuple[tuple[str, int], ...]
    rule: str
    thumbnails: str
    thumbnail_note: str
    rows: tuple[LeakView, ...]
    affected: tuple[tuple[str, str, str], ...]


def _thumbs(side: Side) -> dict[tuple[str, str], FileRecord]:
    return {(r.root, r.path): r for r in side.records}


def build_compare_page(comparison: Comparison, leak: Side, reference: Side) -> ComparePage:
    leak_records, ref_records = _thumbs(leak), _thumbs(reference)

    def thumb(records: dict[tuple[str, str], FileRecord], root: str, path: str) -> str | None:
        record = records.get((root, path))
        return thumbnail(record) if record is not None else None

    rows = []
    for image in comparison.images:
        matches = tuple(
            MatchView(
                path=visible(m.path, 200), thumbnail=thumb(ref_records, m.root, m.path),
                kind=m.kind, view=visible(m.view), steps=visible(", ".join(m.transformations)),
                distances=", ".join(f"{k} {d}" for k, d in m.distances),
                checked=visible(checked(m.verification), 400),
            )
            for m in image.matches[:MAX_MATCHES_SHOWN]
        )  # fmt: skip
        rows.append(LeakView(
            path=visible(image.path, 200), thumbnail=thumb(leak_records, image.root, image.path),
            status=image.status, matches=matches,
            note=visible(image.error or _checks_note(image), 200),
        ))  # fmt: skip
    t = comparison.thresholds
    return ComparePage(
        leak=visible(leak.source), reference=visible(reference.source),
        totals=tuple(comparison.totals().items()), waves=tuple(comparison.waves().items()),
        rule=f"proposed when {' + '.join(t.hashes)} differ by at most {t.max_sum} bits in all "
        f"and {t.max_one} in any one, upright or in the views {', '.join(t.views)}, in a "
        "picture the leak image shows or cut from one of its edges; near only "
        "when verified on the two pictures (matching keypoints under one geometric fit, then "
        "the detail inside the aligned overlap); unverified-candidate when a picture could "
        "not be had or is too plain to tell from a look-alike",
        thumbnails="pixelated",
        thumbnail_note="Thumbnails are those the scans kept: pixelated, unless a saved scan was "
        "made with --thumbnails full. " + THUMBNAIL_NOTES["pixelated"],
        rows=tuple(rows),
        affected=tuple((visible(a.path, 200), a.best, visible(", ".join(a.leaked_as), 400))
                       for a in comparison.affected),
    )  # fmt: skip


def render_compare_html(comparison: Comparison, leak: Side, reference: Side) -> str:
    """No script at all: the page is static, so its policy allows only its one style."""
    css = asset("report.css")
    csp = "; ".join([
        "default-src 'none'", f"style-src {sha256_source(css)}", "script-src 'none'",
        "img-src data:", "base-uri 'none'", "form-action 'none'",
    ])  # fmt: skip
    template = environment().get_template("compare.html")
    return template.render(page=build_compare_page(comparison, leak, reference),
                           css=Markup(css), csp=csp)  # fmt: skip


def _checks_note(image: LeakImage) -> str:
    failed = f"{image.rejected} look-alike candidates failed verification" if image.rejected else ""
    left = f"{image.unchecked} candidates not checked" if image.unchecked else ""
    return "; ".join(part for part in (failed, left) if part)
