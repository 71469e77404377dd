"""A finished comparison as JSON, CSV rows and the terminal summary."""

from __future__ import annotations

import csv
import io
import json
import sys

from kyctriage import __version__
from kyctriage.match.compare import Comparison
from kyctriage.render.csv import safe_cell
from kyctriage.serialise import to_data

COMPARE_VERSION = 1


def render_comparison(comparison: Comparison, leak: str, reference: str) -> str:
    """Every match, sorted keys: the same input gives the same text."""
    data = {
        "meta": {
            "tool": "kyctriage",
            "kind": "compare",
            "version": COMPARE_VERSION,
            "tool_version": __version__,
            "command": list(sys.argv),
            "leak": leak,
            "reference": reference,
        },
        "thresholds": to_data(comparison.thresholds),
        "totals": comparison.totals(),
        "waves": comparison.waves(),
        "crowded_buckets": comparison.crowded_buckets,
        "images": to_data(comparison.images),
        "affected": to_data(comparison.affected),
    }
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def render_rows(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return out.getvalue()


def summary(comparison: Comparison) -> str:
    t, w = comparison.totals(), comparison.waves()
    return (
        f"leak: {t['leak']} files: {t['exact']} exact, {t['same-pixels']} same pixels, "
        f"{t['near']} near, {t['unmatched']} unmatched; not compared: {t['error']} errors, "
        f"{t['skipped']} skipped (not images)\n"
        f"reference: {t['reference']} images, {t['affected']} affected\n"
        f"as a later wave: {w['repeated']} repeated, {w['changed']} changed, {w['new']} new"
    )


def leak_rows(comparison: Comparison) -> list[list[object]]:
    """One row per leak image with its best match, for CSV."""
    rows: list[list[object]] = []
    for im in comparison.images:
        best = im.matches[0] if im.matches else None
        rows.append([
            im.root, im.path, im.sha256, im.status, len(im.matches),
            best.path if best else None, best.view if best else None,
            "; ".join(best.transformations) if best else None, im.error,
        ])  # fmt: skip
    return rows


LEAK_COLUMNS = ["root", "path", "sha256", "status", "matches", "best_reference", "view",
                "transformations", "error"]  # fmt: skip
AFFECTED_COLUMNS = ["root", "path", "sha256", "best_match", "leaked_as"]


def affected_rows(comparison: Comparison) -> list[list[object]]:
    return [[a.root, a.path, a.sha256, a.best, "; ".join(a.leaked_as)]
            for a in comparison.affected]  # fmt: skip
