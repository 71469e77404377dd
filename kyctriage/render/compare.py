"""A finished comparison as JSON, CSV rows and the terminal summary."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter

from kyctriage import __version__
from kyctriage.match.compare import UNVERIFIED, Comparison
from kyctriage.render.csv import safe_cell
from kyctriage.render.text import checked, visible
from kyctriage.serialise import to_data

# 2: near matches carry their verification, the unverified-candidate status, rejected counts
COMPARE_VERSION = 2
SHOWN_REASONS = 3  # in the terminal summary, the commonest


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
    unverified = t["unverified-candidate"]
    rejected = sum(im.rejected for im in comparison.images)
    unchecked = sum(im.unchecked for im in comparison.images)
    lines = [
        f"leak: {t['leak']} files: {t['exact']} exact, {t['same-pixels']} same pixels, "
        f"{t['near']} near (verified), {unverified} unverified candidates, "
        f"{t['unmatched']} unmatched; not compared: {t['error']} errors, "
        f"{t['skipped']} skipped (not images)",
        f"checks: {rejected} near candidates of the global hashes failed verification "
        "(not reported)"
        + (f"; {unchecked} beyond the closest of their image not checked" if unchecked else ""),
        f"reference: {t['reference']} images, {t['affected']} affected",
        f"as a later wave: {w['repeated']} repeated, {w['changed']} changed, "
        f"{w['unverified']} unverified, {w['new']} new",
    ]
    if unverified:
        reasons = Counter(
            m.verification.reason for im in comparison.images if im.status == UNVERIFIED
            for m in im.matches if m.kind == UNVERIFIED and m.verification is not None
        )  # fmt: skip
        lines.append(
            f"{unverified} leak images have only unverified candidates, not confirmed matches; "
            "why the pictures could not be checked:"
        )
        lines += [
            f"  {n} x {visible(reason, 300)}" for reason, n in reasons.most_common(SHOWN_REASONS)
        ]
        if len(reasons) > SHOWN_REASONS:
            lines.append(f"  ... {len(reasons) - SHOWN_REASONS} other reasons (in the JSON)")
    return "\n".join(lines)


def leak_rows(comparison: Comparison) -> list[list[object]]:
    """One row per leak image with its best match and what verified it, for CSV."""
    rows: list[list[object]] = []
    for im in comparison.images:
        best = im.matches[0] if im.matches else None
        v = best.verification if best else None
        rows.append([
            im.root, im.path, im.sha256, im.status, len(im.matches),
            best.path if best else None, best.view if best else None,
            "; ".join(best.transformations) if best else None, im.error,
            checked(v) or None, v.inliers if v else None, v.overlap if v else None,
            v.blocks if v else None, v.agreeing if v else None, v.differing if v else None,
            im.rejected, im.unchecked,
        ])  # fmt: skip
    return rows


LEAK_COLUMNS = ["root", "path", "sha256", "status", "matches", "best_reference", "view",
                "transformations", "error", "verification", "inliers", "overlap", "blocks",
                "agreeing", "differing", "rejected_candidates",
                "unchecked_candidates"]  # fmt: skip
AFFECTED_COLUMNS = ["root", "path", "sha256", "best_match", "leaked_as"]


def affected_rows(comparison: Comparison) -> list[list[object]]:
    return [[a.root, a.path, a.sha256, a.best, "; ".join(a.leaked_as)]
            for a in comparison.affected]  # fmt: skip
