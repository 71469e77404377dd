"""Clusters from records: exact and same-pixel groups, verified near pairs, labelled members."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from kyctriage.match import candidates, cross, search
from kyctriage.match.entries import Arrays, Entry, ViewMap, entries
from kyctriage.match.stars import MAX_CHECKS, Edges, Pictures, stars
from kyctriage.model import (
    KIND_EXACT,
    KIND_NEAR,
    KIND_SAME_PIXELS,
    Cluster,
    Clustering,
    FileRecord,
    Member,
    Thresholds,
    Timestamp,
    Verification,
)
from kyctriage.probes.hashes import EDGES, TURN_VIEW

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
    max_checks=MAX_CHECKS,
)

Keys = Callable[[Entry], NDArray[np.uint8] | None]
Shown = Callable[[Entry], tuple[NDArray[np.uint8], ...]]


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


def _identity(table: Arrays) -> Edges:
    """Edges joining one file (SHA-256) and one set of pixels (image data hash)."""
    return _joined(
        [
            _group_edges([e.sha256 for e in table.entries]),
            _group_edges([e.data_sha256 for e in table.entries]),
        ]
    )


def _edges(
    table: Arrays, searched: NDArray[np.bool_] | None = None, loose: bool = False
) -> tuple[Edges, int]:
    """Near candidate edges (global hashes) among the `searched` rows (default: all);
    `loose` where a check decides every edge (search.LOOSE)."""
    rows = np.arange(len(table)) if searched is None else np.flatnonzero(searched)
    # Identical hash triples are one node of the search (copies would crowd the index).
    uniq, first, inverse = np.unique(
        table.full[rows], axis=0, return_index=True, return_inverse=True
    )
    first, inverse = rows[first], inverse.reshape(-1)
    edges = [(rows, first[inverse])]
    found = search.search(uniq, uniq, same_set=True, loose=loose)
    edges.append((first[found.query], first[found.base]))
    crowded = found.crowded
    nodes = np.sort(first)  # distinct already: one first row per unique triple
    for k in range(len(search.VIEWS)):
        viewed = nodes[table.has_view[nodes, k]]
        if len(viewed):
            found = search.search(table.views[viewed, k], uniq, same_set=False, loose=loose)
            edges.append((viewed[found.query], first[found.base]))
            crowded += found.crowded
    # the pictures an image shows (a screenshot's photograph, a page's document: view
    # `shown`) against the others and the pictures they show, as compare searches them: a
    # page shown small proposes its original where ORB's few keys on it vote for look-alikes
    owners = table.shown_of
    inner = np.flatnonzero(np.isin(owners, rows))
    if len(inner):
        found = search.search(table.shown[inner], uniq, same_set=False, loose=loose)
        edges.append((owners[inner[found.query]], first[found.base]))
        crowded += found.crowded
        found = search.search(table.shown[inner], table.shown[inner], same_set=True, loose=loose)
        edges.append((owners[inner[found.query]], owners[inner[found.base]]))
        crowded += found.crowded
    # a one-side crop of a quarter (hashes.CUT): its upright hashes against the others' cut
    # from that edge (a scan's page cut from the left keeps half its card: ORB's votes for
    # it went to the other customers' crops of one template, never to its original)
    for k in range(table.has_cut.shape[1]):
        cut = nodes[table.has_cut[nodes, k]]
        if len(cut):
            found = search.search(uniq, table.cut[cut, k], same_set=False, loose=loose)
            edges.append((first[found.query], cut[found.base]))
            crowded += found.crowded
    return _joined(edges), crowded


def _seeable(table: Arrays, same: NDArray[np.intp], keys: Keys) -> NDArray[np.bool_]:
    """Rows whose identity group's best picture has features (a look): stars.py verifies a
    group through that picture, and one too plain to verify joins only by its identity, so
    the near search leaves the others out (100,000 plain pictures of one style are crowded
    buckets of near-equal hashes, minutes of search for edges no check could pass)."""
    best: dict[int, int] = {}
    for i, label in enumerate(same.tolist()):
        if label not in best or _rep_key(table.entries[i]) < _rep_key(table.entries[best[label]]):
            best[label] = i
    seen = {label: keys(table.entries[i]) is not None for label, i in best.items()}
    return np.array([seen[label] for label in same.tolist()], bool)


def _joined(edges: list[Edges]) -> Edges:
    return np.concatenate([e[0] for e in edges]), np.concatenate([e[1] for e in edges])


def _components(table: Arrays) -> tuple[NDArray[np.intp], int]:
    near, crowded = _edges(table)
    a, b = _joined([_identity(table), near])
    return components(len(table), a, b), crowded


def components(n: int, a: NDArray[np.intp], b: NDArray[np.intp]) -> NDArray[np.intp]:
    """Connected components of the graph on n nodes with edges (a[i], b[i]): a label per
    node, numbered by each component's smallest node (as scipy's connected_components, whose
    import would cost every scan ~0.2 s of start-up). Each round hooks every root that has an
    edge to a smaller root under the smallest such root, then flattens the trees."""
    parent = np.arange(n)
    while True:
        pa, pb = parent[a], parent[b]
        apart = pa != pb
        if not apart.any():
            break
        pa, pb = pa[apart], pb[apart]
        np.minimum.at(parent, np.maximum(pa, pb), np.minimum(pa, pb))
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    labels: NDArray[np.intp] = np.unique(parent, return_inverse=True)[1].reshape(-1)
    return labels.astype(np.intp)


def _rep_key(e: Entry) -> tuple[int, bool, int, str, str, str]:
    """The likeliest original: the most pixels, camera metadata kept, the least compressed."""
    return -e.width * e.height, not e.has_exif, -e.size, e.sha256, e.root, e.path


# (view label, whose view, view name, the member's share of the representative's frame)
_RELATIONS = (
    ("as is", None, None, 1.0),
    ("mirrored", "rep", "mirror", 1.0),
    ("rotated 90 counter-clockwise", "rep", "rot90", 1.0),
    ("rotated 90 clockwise", "member", "rot90", 1.0),
    ("cropped", "rep", "crop92", 0.92),
    ("cropped", "rep", "crop87", 0.87),
    ("cropped", "rep", "crop82", 0.82),
    ("wider than the representative", "member", "crop92", 1 / 0.92),
    ("wider than the representative", "member", "crop87", 1 / 0.87),
    ("wider than the representative", "member", "crop82", 1 / 0.82),
)


# How a member lines up with its representative: the view's label, the member's share of
# the representative's frame, the hashes' distances
Relation = tuple[str, float, NDArray[np.int64]]


def relate(rep: tuple[Arrays, int], member: tuple[Arrays, int]) -> Relation:
    """How the member lines up with the representative best: view, frame share, distances."""
    best: Relation | None = None
    for label, side, view, fraction in _RELATIONS:
        if view is None:
            a, b = member[0].full[member[1]], rep[0].full[rep[1]]
        else:
            k = search.VIEWS.index(view)
            (owner, i), (other, j) = (rep, member) if side == "rep" else (member, rep)
            if not owner.has_view[i, k]:
                continue
            a, b = owner.views[i, k], other.full[j]
        dist = search.distances(a[None, :], b[None, :])[0]
        if best is None or dist.sum() < best[2].sum():
            best = (label, fraction, dist)
    assert best is not None
    if search.accepted(best[2][None, :])[0]:
        return best
    # a picture shown inside one of them, or cut from one side: the share of the frame is
    # not known from the hashes (0)
    rep_whole, member_whole = rep[0].full[rep[1]][None, :], member[0].full[member[1]][None, :]
    rep_views = rep[0].views[rep[1]][rep[0].has_view[rep[1]]]
    for label, a, b in (
        ("shown inside a larger picture", _shown(*member), rep_whole),
        ("cut from inside the representative", _shown(*rep), member_whole),
        ("shown inside, as the representative shows it", _shown(*member), _shown(*rep)),
        # (a box drawn a little inside the shown picture: a view of the representative)
        ("shown inside a larger picture", _shown(*member), rep_views),
    ):
        best = _closer(best, label, a, b)
    # a one-side crop: the member, or it cut further, against the representative cut there
    owner, i = member
    first, end = np.searchsorted(owner.more_of, (i, i + 1))
    for k, edge in enumerate(EDGES):
        if rep[0].has_cut[rep[1], k]:
            further = owner.more[first:end][owner.more_edge[first:end] == k]
            a = np.concatenate([member_whole, further])
            best = _closer(best, f"cut from the {edge}", a, rep[0].cut[rep[1], k][None, :])
    # a copy turned a few degrees: the member turned back, against the representative cut
    # as hashes.TURN_VIEW is
    k = search.VIEWS.index(TURN_VIEW)
    if rep[0].has_view[rep[1], k]:
        first, end = np.searchsorted(owner.turned_of, (i, i + 1))
        turned = owner.turned[first:end]
        best = _closer(best, "turned a few degrees", turned, rep[0].views[rep[1], k][None, :])
    return best


def _closer(best: Relation, label: str, a: NDArray[np.uint64], b: NDArray[np.uint64]) -> Relation:
    """`best`, or (label, 0, the distances) where a pair of a's and b's rows is closer."""
    if not len(a) or not len(b):
        return best
    dist = search.distances(np.repeat(a, len(b), axis=0), np.tile(b, (len(a), 1)))
    k = int(dist.sum(axis=1).argmin())
    return (label, 0.0, dist[k]) if dist[k].sum() < best[2].sum() else best


def _shown(table: Arrays, row: int) -> NDArray[np.uint64]:
    """The hashes of the pictures an image shows inside it (shown_of is in row order)."""
    first, end = np.searchsorted(table.shown_of, (row, row + 1))
    return table.shown[first:end]


def transformations(
    rep: Entry, member: Entry, view: str, fraction: float, colour: int
) -> tuple[str, ...]:
    """The likeliest steps from the representative to the member, from what records know."""
    if member.sha256 == rep.sha256:
        return ("identical",)
    if rep.data_sha256 is not None and member.data_sha256 == rep.data_sha256:
        return ("metadata changed",)
    steps = [] if view == "as is" else [view]
    w, h = (
        (member.height, member.width)
        if view.startswith("rotated")
        else (member.width, member.height)
    )
    rw, rh = rep.width, rep.height
    if fraction and rw and rh and w and h:  # (0: a picture shown inside, its share unknown)
        if abs(w / (rw * fraction) - 1) > SAME_SIZE:
            steps.append("resized")
        if fraction == 1.0 and abs((w / h) / (rw / rh) - 1) > SAME_SIZE:
            steps.append("cropped")
    if colour >= COLOUR_CHANGE:
        steps.append("brightness/colour")
    if rep.format and member.format and rep.format != member.format:
        steps.append(f"converted {rep.format} to {member.format}")
    rq, mq = rep.quality, member.quality
    steps.append(f"re-encoded (quality {rq} to {mq})" if rq and mq and rq != mq else "re-encoded")
    return tuple(steps)


def colour_distance(a: tuple[Arrays, int], b: tuple[Arrays, int]) -> int:
    return int(np.bitwise_count(a[0].colour[a[1]] ^ b[0].colour[b[1]]))


def _instant(stamp: Timestamp) -> datetime:
    """For ordering only: an offset time in UTC; a naive one as it reads (its zone unknown)."""
    value = datetime.fromisoformat(stamp.value)
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _earliest(
    items: Sequence[Entry], times: dict[tuple[str, str], Timestamp]
) -> tuple[Timestamp | None, str | None]:
    timed = [(times[(e.root, e.path)], e) for e in items if (e.root, e.path) in times]
    if not timed:
        return None, None
    stamp, first = min(timed, key=lambda t: (_instant(t[0]), t[1].root, t[1].path))
    return stamp, first.path


_RELATION = {"identical": "identical", "metadata changed": "same-pixels"}


def _cluster(
    table: Arrays,
    rows: list[int],
    times: dict[tuple[str, str], Timestamp],
    checks: dict[int, Verification] | None = None,
) -> Cluster:
    """One cluster; with checks, each near member's verification against the representative
    (every member then relates to the representative directly)."""
    items = table.entries
    # with checks, the representative is the one they were made against (its identity group
    # has none): not always the most pixels, a screenshot gives way to the picture it shows
    unchecked = [i for i in rows if checks is None or i not in checks]
    rep = min(unchecked, key=lambda i: _rep_key(items[i]))
    members = []
    for i in sorted(rows, key=lambda i: (i != rep, items[i].root, items[i].path)):
        e = items[i]
        view, fraction, dist = relate((table, rep), (table, i))
        colour = colour_distance((table, rep), (table, i))
        steps = () if i == rep else transformations(items[rep], e, view, fraction, colour)
        members.append(
            Member(
                root=e.root,
                path=e.path,
                sha256=e.sha256,
                relation="representative" if i == rep else _RELATION.get(steps[0], "near"),
                view=view,
                distances=tuple(zip(search.KINDS, map(int, dist), strict=True))
                + (("colorhash", colour),),
                transformations=steps,
                linked=i == rep or checks is not None or bool(search.accepted(dist[None, :])[0]),
                verification=checks.get(i) if checks is not None else None,
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
    earliest, earliest_path = _earliest([items[i] for i in rows], times)
    return Cluster(
        id="c" + items[rep].sha256[:16],
        kind=kind,
        representative=members[0],
        members=tuple(members),
        earliest=earliest,
        earliest_path=earliest_path,
    )


_KIND_ORDER = {KIND_EXACT: 0, KIND_SAME_PIXELS: 1, KIND_NEAR: 2}


def _local(table: Arrays, same: NDArray[np.intp], keys: Keys, shown: Shown | None) -> Edges:
    """Candidate edges from local features (candidates.py), one picture per identity group
    (a photograph's many exact copies would crowd every bucket its descriptors fall in), and
    those of the pictures they show inside them (cross.shown: a screenshot's photograph)."""
    _, first = np.unique(same, return_index=True)
    chosen = np.zeros(len(table), bool)
    chosen[first] = True
    per_picture = [keys(e) if chosen[i] else None for i, e in enumerate(table.entries)]
    found = [candidates.pairs(per_picture)]
    if shown is not None:
        inner = [(i, desc) for i in first.tolist() for desc in shown(table.entries[i])]
        found.append(cross.shown(inner, per_picture))
    return _joined(found)


def cluster(
    records: Iterable[FileRecord],
    views: ViewMap | None = None,
    pictures: Pictures | None = None,
    keys: Keys | None = None,
    shown: Shown | None = None,
) -> Clustering:
    """Group the records that show the same photograph; singletons are not clusters.

    Records without perceptual hashes (errors, skipped files) are left out. `views` gives each
    record's view hashes by (root, path) where the records do not carry them themselves. With
    `pictures` (a scan's way to see a record's picture again), global hashes only propose:
    a near member joins only through its verified match with the representative (stars.py);
    without it, candidates are joined as components of the hash rule (records alone).
    `keys` (a picture's descriptors for the candidate search) adds local-feature candidates
    to the hashes' (crops, screenshots, re-posts whose hashes moved); `shown` those of the
    pictures a picture shows inside it (candidates.shown)."""
    records = list(records)
    table = Arrays(entries(records, views))
    if not len(table):
        return Clustering(THRESHOLDS, (), 0, 0)
    times = {(r.root, r.path): r.best_time for r in records if r.best_time is not None}
    if pictures is not None:
        same = components(len(table), *_identity(table))
        if keys is not None:
            near, crowded = _edges(table, _seeable(table, same, keys), loose=True)
            near = _joined([near, _local(table, same, keys, shown)])
        else:
            near, crowded = _edges(table, loose=True)
        found, unchecked = stars(table, same, near, _rep_key, pictures)
        clusters = [_cluster(table, rows, times, checks) for rows, checks in found]
    else:
        unchecked = 0
        labels, crowded = _components(table)
        groups: dict[int, list[int]] = {}
        for i, label in enumerate(labels.tolist()):
            groups.setdefault(label, []).append(i)
        clusters = [_cluster(table, rows, times) for rows in groups.values() if len(rows) > 1]
    clusters.sort(key=lambda c: (_KIND_ORDER[c.kind], -len(c.members), c.id))
    return Clustering(THRESHOLDS, tuple(clusters), len(table), crowded, unchecked)
