"""Verified clusters: each member joins a representative through its own checked match."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from kyctriage.match.entries import Arrays, Entry
from kyctriage.match.verify import Features, verify
from kyctriage.model import Verification

# Where a scan's pictures are read again to be checked: None when the picture cannot be had
# (gone, changed since the scan, a member of an unpacked archive): its candidates stay unjoined.
Pictures = Callable[[Entry], Features | None]
Edges = tuple[NDArray[np.intp], NDArray[np.intp]]
# Representatives' features kept in memory at once (each up to ~1 MB with its working copy;
# the rest are read again from the scan's spill files when asked for).
KEPT = 64
# The keypoints a check finds when first needed (the mirrored picture's, a reduced copy's:
# ~25 KB a picture) are kept for this many more pictures: a picture read again from its
# spill file would find them again (a 6-25 ms ORB each time).
KEPT_KEYPOINTS = 2048


def stars(
    table: Arrays,
    identity: NDArray[np.intp],
    near: Edges,
    rep_key: Callable[[Entry], tuple[int, bool, int, str, str, str]],
    pictures: Pictures,
) -> list[tuple[list[int], dict[int, Verification]]]:
    """Clusters as (rows, verification of each near row against the representative).

    `identity` labels rows that are one file or one set of pixels (SHA-256, image data hash);
    `near` are candidate edges (global hashes, local features). Groups are taken in
    representative order (most pixels first); a group joins the first earlier
    representative it has a candidate edge to and that its check against passes, else it is
    a representative itself. A member is therefore always checked against the
    representative directly: A~B~C cannot chain."""
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(identity.tolist()):
        groups.setdefault(label, []).append(row)
    best = {g: min(rows, key=lambda i: rep_key(table.entries[i])) for g, rows in groups.items()}
    neighbours: dict[int, set[int]] = {}
    for a, b in zip(identity[near[0]].tolist(), identity[near[1]].tolist(), strict=True):
        if a != b:
            neighbours.setdefault(a, set()).add(b)
            neighbours.setdefault(b, set()).add(a)
    order = sorted(groups, key=lambda g: rep_key(table.entries[best[g]]))
    rank = {g: i for i, g in enumerate(order)}
    features: OrderedDict[int, Features] = OrderedDict()
    found_later: OrderedDict[int, tuple[dict[str, NDArray[np.generic]], ...]] = OrderedDict()
    plain: set[int] = set()

    def look(g: int) -> Features | None:
        if g in plain:
            return None
        if g in features:
            features.move_to_end(g)
            return features[g]
        seen = pictures(table.entries[best[g]])
        if seen is None or not seen.informative:
            # too plain to verify (flat colours, blank pages: only their identity links
            # them) or not at hand: remembered as a number, it joins nothing
            plain.add(g)
            return None
        if g in found_later:
            found_later.move_to_end(g)
            mirrored, coarse = found_later[g]
            seen = replace(seen, mirrored=mirrored, coarse=coarse)
        else:
            found_later[g] = (seen.mirrored, seen.coarse)
            if len(found_later) > KEPT_KEYPOINTS:
                found_later.popitem(last=False)
        features[g] = seen
        if len(features) > KEPT:
            features.popitem(last=False)
        return seen

    reps: list[int] = []  # in representative order
    joined: dict[int, tuple[int, Verification]] = {}
    placed: dict[int, int] = {}  # group -> its representative's group
    for g in order:
        # the hashes propose through any member already placed; the check is against that
        # member's representative itself
        proposed = {placed[h] for h in neighbours.get(g, ()) if h in placed}
        # placed[] holds representatives only: no scan of every representative (100,000
        # plain pictures are 100,000 representatives)
        found = None
        mine = None
        for r in sorted(proposed, key=rank.__getitem__):
            theirs = look(r)
            if theirs is None:
                continue  # too plain to verify against: nothing joins it but its identity
            mine = look(g) if mine is None else mine
            if mine is None:
                break
            check = verify(theirs, mine)
            if check.verified:
                found = (r, check)
                break
        placed[g] = g if found is None else found[0]
        if found is None:
            reps.append(g)
        else:
            joined[g] = found
            features.pop(g, None)  # only representatives are looked at again
    out: dict[int, tuple[list[int], dict[int, Verification]]] = {
        r: (list(groups[r]), {}) for r in reps
    }
    for g, (r, check) in joined.items():
        rows, checks = out[r]
        rows.extend(groups[g])
        checks.update(dict.fromkeys(groups[g], check))
    return [(rows, checks) for rows, checks in out.values() if len(rows) > 1]
