"""Compare a leak with a reference: exact, same-pixel and near matches, unmatched images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kyctriage.match import search, shards
from kyctriage.match.clusters import THRESHOLDS, colour_distance, relate, transformations
from kyctriage.match.entries import Arrays, Entry, ViewMap, entries, entry
from kyctriage.model import FileRecord, Thresholds

EXACT, SAME_PIXELS, NEAR, UNMATCHED = "exact", "same-pixels", "near", "unmatched"
ERROR, SKIPPED = "error", "skipped"  # not compared: the record's own status, kept (count in = out)
_ORDER = {EXACT: 0, SAME_PIXELS: 1, NEAR: 2}
# Leak wave 2 against wave 1: what each status means for an image of the later wave.
WAVE_TERMS = {EXACT: "repeated", SAME_PIXELS: "repeated", NEAR: "changed", UNMATCHED: "new"}


@dataclass(frozen=True)
class Match:
    """One reference record a leak image matches."""

    root: str
    path: str
    sha256: str
    kind: str  # EXACT, SAME_PIXELS or NEAR
    view: str  # how the leak image lines up with the reference one
    distances: tuple[tuple[str, int], ...]
    transformations: tuple[str, ...]  # likeliest steps from the reference image to the leaked one


@dataclass(frozen=True)
class LeakImage:
    root: str
    path: str
    sha256: str | None
    status: str  # the best match's kind, UNMATCHED, or ERROR / SKIPPED (not compared)
    matches: tuple[Match, ...]  # best first
    error: str | None = None


@dataclass(frozen=True)
class Affected:
    """A reference record that appears in the leak (for breach notification)."""

    root: str
    path: str
    sha256: str
    best: str  # the strongest kind of match
    leaked_as: tuple[str, ...]  # the leak images that match it


@dataclass(frozen=True)
class Comparison:
    thresholds: Thresholds
    images: tuple[LeakImage, ...]
    affected: tuple[Affected, ...]
    reference_count: int
    crowded_buckets: int
    leak: Side | None = None  # the sides as opened (the front door's compare fills them)
    reference: Side | None = None

    def totals(self) -> dict[str, int]:
        counts = dict.fromkeys((EXACT, SAME_PIXELS, NEAR, UNMATCHED, ERROR, SKIPPED), 0)
        for image in self.images:
            counts[image.status] += 1
        return {
            "leak": len(self.images), **counts, "reference": self.reference_count,
            "affected": len(self.affected),
        }  # fmt: skip

    def waves(self) -> dict[str, int]:
        """The later wave against the earlier one: repeated, changed and new images."""
        counts = {"repeated": 0, "changed": 0, "new": 0}
        for image in self.images:
            if image.status in WAVE_TERMS:
                counts[WAVE_TERMS[image.status]] += 1
        return counts


@dataclass(frozen=True)
class Side:
    """One side of a comparison, as given: a scan's records or an index's entries."""

    source: str
    records: tuple[FileRecord, ...] = ()
    entries: tuple[Entry, ...] = ()
    left_out: tuple[str, ...] = ()  # archive members not unpacked (links, duplicates), and why
    index: str | None = None  # a sharded index (directory): searched for the leak, not loaded


def _near_pairs(leak: Arrays, ref: Arrays) -> tuple[set[tuple[int, int]], int]:
    """(leak row, reference row) pairs that pass the rule, upright or in a view."""
    pairs: set[tuple[int, int]] = set()
    found = search.search(leak.full, ref.full, same_set=False)
    crowded = found.crowded
    pairs.update(zip(found.query.tolist(), found.base.tolist(), strict=True))
    for k in range(len(search.VIEWS)):
        rows = np.nonzero(leak.has_view[:, k])[0]
        if len(rows):
            found = search.search(leak.views[rows, k], ref.full, same_set=False)
            pairs.update(zip(rows[found.query].tolist(), found.base.tolist(), strict=True))
            crowded += found.crowded
        rows = np.nonzero(ref.has_view[:, k])[0]
        if len(rows):
            found = search.search(ref.views[rows, k], leak.full, same_set=False)
            pairs.update(zip(found.base.tolist(), rows[found.query].tolist(), strict=True))
            crowded += found.crowded
    return pairs, crowded


def compare(leak: Side, reference: Side, views: ViewMap | None = None) -> Comparison:
    """Match every leak image against the reference; `views` adds view hashes by (root, path)
    for records that do not carry them (either side)."""
    leak_items: list[Entry] = []
    unreadable: list[FileRecord] = []
    for record in leak.records:
        given = views.get((record.root, record.path), ()) if views is not None else ()
        made = entry(record, given)
        if made is None:
            unreadable.append(record)
        else:
            leak_items.append(made)
    leak_items.extend(leak.entries)
    ref_items = entries(reference.records, views) + list(reference.entries)
    unseen = 0  # rows of a sharded index that match no leak image (never loaded)
    if reference.index is not None:
        searched = shards.find(reference.index, Arrays(leak_items))
        ref_items.extend(searched.entries)
        unseen = searched.rows - len(searched.entries)
    lk, rf = Arrays(leak_items), Arrays(ref_items)
    by_sha: dict[str, list[int]] = {}
    by_data: dict[str, list[int]] = {}
    for j, e in enumerate(rf.entries):
        by_sha.setdefault(e.sha256, []).append(j)
        if e.data_sha256:
            by_data.setdefault(e.data_sha256, []).append(j)
    near, crowded = _near_pairs(lk, rf) if len(lk) and len(rf) else (set(), 0)
    near_of: dict[int, list[int]] = {}
    for i, j in sorted(near):
        near_of.setdefault(i, []).append(j)
    images = []
    hits: dict[int, list[tuple[str, str]]] = {}
    for i, e in enumerate(lk.entries):
        found: dict[int, str] = dict.fromkeys(by_sha.get(e.sha256, ()), EXACT)
        for j in by_data.get(e.data_sha256, ()) if e.data_sha256 else ():
            found.setdefault(j, SAME_PIXELS)
        for j in near_of.get(i, ()):
            found.setdefault(j, NEAR)
        matches = []
        for j, kind in found.items():
            r = rf.entries[j]
            view, fraction, dist = relate((rf, j), (lk, i))
            colour = colour_distance((rf, j), (lk, i))
            matches.append(
                Match(
                    root=r.root, path=r.path, sha256=r.sha256, kind=kind, view=view,
                    distances=tuple(zip(search.KINDS, map(int, dist), strict=True))
                    + (("colorhash", colour),),
                    transformations=transformations(r, e, view, fraction, colour),
                )
            )  # fmt: skip
            hits.setdefault(j, []).append((kind, e.path))
        matches.sort(key=lambda m: (_ORDER[m.kind], sum(d for _, d in m.distances[:3]), m.root,
                                    m.path))  # fmt: skip
        status = matches[0].kind if matches else UNMATCHED
        images.append(LeakImage(e.root, e.path, e.sha256, status, tuple(matches)))
    images.extend(
        LeakImage(
            r.root,
            r.path,
            r.sha256,
            SKIPPED if r.status == SKIPPED else ERROR,
            (),
            r.error or "no perceptual hashes",
        )
        for r in unreadable
    )
    images.sort(key=lambda im: (im.root, im.path))
    affected = [
        Affected(
            root=rf.entries[j].root, path=rf.entries[j].path, sha256=rf.entries[j].sha256,
            best=min((k for k, _ in got), key=_ORDER.__getitem__),
            leaked_as=tuple(sorted({p for _, p in got})),
        )
        for j, got in hits.items()
    ]  # fmt: skip
    affected.sort(key=lambda a: (a.root, a.path))
    return Comparison(THRESHOLDS, tuple(images), tuple(affected), len(rf) + unseen, crowded)
