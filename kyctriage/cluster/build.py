"""Clusters from records: exact and same-pixel groups, verified near pairs, labelled members."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]

from ..model import STATUS_OK, FileRecord, Timestamp
from . import search
from .records import (
    KIND_EXACT,
    KIND_NEAR,
    KIND_SAME_PIXELS,
    Cluster,
    Clustering,
    Member,
    Thresholds,
    ViewHashes,
)

# colorhash bits (of 42) from which a member is said to have had its brightness or colours
# changed; re-encodes and resizes stay at or below 2 on the bench.
COLOUR_CHANGE = 3
# Relative size difference below which two images count as the same size (rounding, crops).
SAME_SIZE = 0.03

THRESHOLDS = Thresholds(
    hashes=search.KINDS,
    max_sum=search.MAX_SUM,
    max_one=search.MAX_ONE,
    views=search.VIEWS,
    colour_change=COLOUR_CHANGE,
    max_bucket=search.MAX_BUCKET,
)

ViewMap = Mapping[tuple[str, str], Sequence[ViewHashes]]


def _triple(phash: str, dhash: str, whash: str) -> tuple[int, int, int]:
    return int(phash, 16), int(dhash, 16), int(whash, 16)


class _Table:
    """The considered records in canonical order, and their hashes as arrays."""

    def __init__(self, records: Iterable[FileRecord], views: ViewMap | None) -> None:
        usable = [r for r in records if r.status == STATUS_OK and r.hashes is not None and r.sha256]
        usable.sort(key=lambda r: (r.sha256 or "", r.root, r.path))
        self.records = usable
        n = len(usable)
        self.full = np.zeros((n, 3), np.uint64)
        self.colour = np.zeros(n, np.uint64)
        self.views = np.zeros((n, len(search.VIEWS), 3), np.uint64)
        self.has_view = np.zeros((n, len(search.VIEWS)), bool)
        for i, record in enumerate(usable):
            h = record.hashes
            assert h is not None
            self.full[i] = _triple(h.phash, h.dhash, h.whash)
            self.colour[i] = int(h.colorhash, 16)
            given = views.get((record.root, record.path), ()) if views is not None else ()
            for vh in given or getattr(h, "views", ()):
                if vh.view in search.VIEWS:
                    k = search.VIEWS.index(vh.view)
                    self.views[i, k] = _triple(vh.phash, vh.dhash, vh.whash)
                    self.has_view[i, k] = True


def _group_edges(keys: Sequence[object]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Edges joining each row to the first row with the same key (None joins nothing)."""
    first: dict[object, int] = {}
    a, b = [], []
    for i, key in enumerate(keys):
        if key is None:
            continue
        j = first.setdefault(key, i)
        if j != i:
            a.append(i)
            b.append(j)
    return np.array(a, np.intp), np.array(b, np.intp)


def _components(table: _Table) -> tuple[NDArray[np.intp], int]:
    n = len(table.records)
    edges = [
        _group_edges([r.sha256 for r in table.records]),
        _group_edges([r.hashes.image_data_sha256 if r.hashes else None for r in table.records]),
    ]
    # Identical hash triples are one node of the search (copies would crowd the index).
    uniq, first, inverse = np.unique(table.full, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    edges.append((np.arange(n), first[inverse]))
    found = search.search(uniq, uniq, same_set=True)
    edges.append((first[found.query], first[found.base]))
    crowded = found.crowded
    nodes = np.unique(first)
    for k in range(len(search.VIEWS)):
        rows = nodes[table.has_view[nodes, k]]
        if len(rows):
            found = search.search(table.views[rows, k], uniq, same_set=False)
            edges.append((rows[found.query], first[found.base]))
            crowded += found.crowded
    a = np.concatenate([e[0] for e in edges])
    b = np.concatenate([e[1] for e in edges])
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.intp), crowded


def _upright_size(record: FileRecord) -> tuple[int, int]:
    image = record.image
    if image is None:
        return 0, 0
    if image.orientation in (5, 6, 7, 8):
        return image.height, image.width
    return image.width, image.height


def _rep_key(record: FileRecord) -> tuple[int, bool, int, str, str, str]:
    """The likeliest original: the most pixels, camera metadata kept, the least compressed."""
    w, h = _upright_size(record)
    return (
        -w * h,
        not record.exif,
        -(record.size or 0),
        record.sha256 or "",
        record.root,
        record.path,
    )


# (view label, which side's view, view name, crop fraction of the member against the rep)
_RELATIONS = (
    ("as is", None, None, 1.0),
    ("mirrored", "rep", "mirror", 1.0),
    ("rotated 90 counter-clockwise", "rep", "rot90", 1.0),
    ("rotated 90 clockwise", "member", "rot90", 1.0),
    ("cropped", "rep", "crop92", 0.92),
    ("cropped", "rep", "crop87", 0.87),
    ("wider than the representative", "member", "crop92", 1 / 0.92),
    ("wider than the representative", "member", "crop87", 1 / 0.87),
)


def _relate(table: _Table, rep: int, m: int) -> tuple[str, float, NDArray[np.int64]]:
    best: tuple[str, float, NDArray[np.int64]] | None = None
    for label, side, view, fraction in _RELATIONS:
        if view is None:
            a, b = table.full[m], table.full[rep]
        else:
            k = search.VIEWS.index(view)
            owner, other = (rep, m) if side == "rep" else (m, rep)
            if not table.has_view[owner, k]:
                continue
            a, b = table.views[owner, k], table.full[other]
        dist = search.distances(a[None, :], b[None, :])[0]
        if best is None or dist.sum() < best[2].sum():
            best = (label, fraction, dist)
    assert best is not None
    return best


def _transformations(
    rep: FileRecord, member: FileRecord, view: str, fraction: float, colour: int
) -> tuple[str, ...]:
    if member.sha256 == rep.sha256:
        return ("identical",)
    rep_data = rep.hashes.image_data_sha256 if rep.hashes else None
    if rep_data is not None and member.hashes and member.hashes.image_data_sha256 == rep_data:
        return ("metadata changed",)
    steps = [] if view == "as is" else [view]
    (w, h), (rw, rh) = _upright_size(member), _upright_size(rep)
    if view.startswith("rotated"):
        w, h = h, w
    if rw and rh and w and h:
        if abs(w / (rw * fraction) - 1) > SAME_SIZE:
            steps.append("resized")
        if fraction == 1.0 and abs((w / h) / (rw / rh) - 1) > SAME_SIZE:
            steps.append("cropped")
    if colour >= COLOUR_CHANGE:
        steps.append("brightness/colour")
    rep_format = rep.image.format if rep.image else None
    member_format = member.image.format if member.image else None
    if rep_format and member_format and rep_format != member_format:
        steps.append(f"converted {rep_format} to {member_format}")
    rq = rep.image.jpeg.quality if rep.image and rep.image.jpeg else None
    mq = member.image.jpeg.quality if member.image and member.image.jpeg else None
    steps.append(f"re-encoded (quality {rq} to {mq})" if rq and mq and rq != mq else "re-encoded")
    return tuple(steps)


def _instant(stamp: Timestamp) -> datetime:
    """For ordering only: an offset time in UTC; a naive one as it reads (its zone unknown)."""
    value = datetime.fromisoformat(stamp.value)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _earliest(records: Sequence[FileRecord]) -> tuple[Timestamp | None, str | None]:
    timed = [r for r in records if r.best_time is not None]
    if not timed:
        return None, None
    first = min(timed, key=lambda r: (_instant(r.best_time), r.root, r.path))  # type: ignore[arg-type]
    return first.best_time, first.path


_RELATION = {"identical": "identical", "metadata changed": "same-pixels"}


def _cluster(table: _Table, rows: list[int]) -> Cluster:
    records = table.records
    rep = min(rows, key=lambda i: _rep_key(records[i]))
    rep_record = records[rep]
    members = []
    for i in sorted(rows, key=lambda i: (i != rep, records[i].root, records[i].path)):
        record = records[i]
        view, fraction, dist = _relate(table, rep, i)
        colour = int(np.bitwise_count(table.colour[i] ^ table.colour[rep]))
        steps = () if i == rep else _transformations(rep_record, record, view, fraction, colour)
        relation = "representative" if i == rep else _RELATION.get(steps[0], "near")
        members.append(
            Member(
                root=record.root,
                path=record.path,
                sha256=record.sha256 or "",
                relation=relation,
                view=view,
                distances=tuple(zip(search.KINDS, map(int, dist), strict=True))
                + (("colorhash", colour),),
                transformations=steps,
                linked=i == rep or bool(search.accepted(dist[None, :])[0]),
            )
        )
    relations = {m.relation for m in members[1:]}
    kind = (
        KIND_EXACT
        if relations == {"identical"}
        else KIND_SAME_PIXELS
        if relations <= {"identical", "same-pixels"}
        else KIND_NEAR
    )
    earliest, earliest_path = _earliest([records[i] for i in rows])
    return Cluster(
        id="c" + (rep_record.sha256 or "")[:16],
        kind=kind,
        representative=members[0],
        members=tuple(members),
        earliest=earliest,
        earliest_path=earliest_path,
    )


_KIND_ORDER = {KIND_EXACT: 0, KIND_SAME_PIXELS: 1, KIND_NEAR: 2}


def cluster(records: Iterable[FileRecord], views: ViewMap | None = None) -> Clustering:
    """Group the records that show the same photograph; singletons are not clusters.

    Records without perceptual hashes (errors, skipped files) are left out. `views` gives each
    record's view hashes by (root, path) where the records do not carry them themselves."""
    table = _Table(records, views)
    if not table.records:
        return Clustering(THRESHOLDS, (), 0, 0)
    labels, crowded = _components(table)
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels.tolist()):
        groups.setdefault(label, []).append(i)
    clusters = [_cluster(table, rows) for rows in groups.values() if len(rows) > 1]
    clusters.sort(key=lambda c: (_KIND_ORDER[c.kind], -len(c.members), c.id))
    return Clustering(THRESHOLDS, tuple(clusters), len(table.records), crowded)
