"""Local-feature candidates between a leak and a reference: which reference pictures each leak
picture may show.

candidates.py's search within one scan weighs a descriptor by every picture it matches; in a
leak, one customer's picture comes in many copies, so the original's own points would count
for little against its copies. Here a descriptor is weighed by the REFERENCE pictures it
matches: a template's layout, a booth's wall or a screenshot's chrome, which many reference
pictures share, decides little; a point of one reference picture counts whole, however often
the leak repeats it. Descriptor pairs within the leak are never compared. Candidates only
propose; compare verifies each one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from kyctriage.match.candidates import (
    CHUNK,
    MAX_BUCKET,
    MIN_VOTES,
    RADIUS,
    TABLES,
    Pairs,
    _bucket_pairs,
    _distinct,
    _top,
    once,
    pair_votes,
)

Keys = Sequence[NDArray[np.uint8] | None]


def between(leak: Keys, reference: Keys) -> Pairs:
    """Candidate pairs (i in leak, j in reference): each leak picture's PER_PICTURE
    best-voted reference pictures with at least MIN_VOTES."""
    a, b, count = votes(leak, reference)
    keep = count >= MIN_VOTES
    a, b, count = a[keep], b[keep], count[keep]
    chosen = _top(a, count)
    return a[chosen], b[chosen]


def votes(
    leak: Keys, reference: Keys
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Every (leak picture, reference picture) pair with a descriptor of each within RADIUS
    bits of the other's in one bucket, and its votes: on each side, the distinct descriptors
    matched, each counting one over the number of reference pictures it matches (its own
    included for a reference descriptor); the smaller of the two sides' sums."""
    n = len(leak)
    per_picture = [*leak, *reference]
    sizes = np.array([0 if k is None else len(k) for k in per_picture], np.intp)
    empty = np.empty(0, np.intp)
    if not sizes[:n].any() or not sizes[n:].any():
        return empty, empty, np.empty(0)
    desc = np.concatenate([k for k in per_picture if k is not None and len(k)])
    owner = np.repeat(np.arange(len(sizes)), sizes)
    found_a, found_b = [], []
    in_reference = np.flatnonzero(owner >= n)
    for t in range(TABLES):
        key = desc[:, 2 * t].astype(np.intp) << 8 | desc[:, 2 * t + 1]
        a, b = _across(key, owner >= n)
        # and the reference's pairs among themselves: a descriptor's spread over it (_count)
        ra, rb = _bucket_pairs(key[in_reference], owner[in_reference])
        a = np.concatenate([a, in_reference[ra]])
        b = np.concatenate([b, in_reference[rb]])
        for start in range(0, len(a), CHUNK):
            ca, cb = a[start : start + CHUNK], b[start : start + CHUNK]
            close = np.bitwise_count(desc[ca] ^ desc[cb]).sum(axis=1, dtype=np.intp) <= RADIUS
            found_a.append(ca[close])
            found_b.append(cb[close])
    if not sum(map(len, found_a)):  # no descriptor near another picture's: no pair
        return empty, empty, np.empty(0)
    da, db = np.concatenate(found_a), np.concatenate(found_b)
    return _count(da, db, owner, n, len(sizes))


# A bucket is crowded by the reference pictures' descriptors it holds (a template's layout,
# a booth's wall), as within a scan by all of its own: at most MAX_BUCKET of them, whose
# pairs among themselves (_bucket_pairs) give each its spread over the reference. Its leak
# descriptors are not compared with one another, and a leak may repeat one picture many
# times (a dump with every re-post of it: 23 copies of each original in
# bench/stress_variants.py's set put each of its points in a bucket of 24 or more, and two
# brightened copies lost the only candidate that found them); up to LEAK_BUCKET of them are
# paired, each with every reference descriptor there.
LEAK_BUCKET = 8 * MAX_BUCKET


def _across(key: NDArray[np.intp], in_reference: NDArray[np.bool_]) -> Pairs:
    """(leak descriptor, reference descriptor) pairs sharing a key, from the buckets holding
    1..MAX_BUCKET reference descriptors and 1..LEAK_BUCKET leak ones."""
    order = np.lexsort((in_reference, key))  # by key; in a bucket its leak descriptors first
    sorted_keys = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    references = np.add.reduceat(in_reference[order].astype(np.intp), starts)
    leaks = np.diff(np.r_[starts, len(key)]) - references
    kept = (references >= 1) & (references <= MAX_BUCKET) & (leaks >= 1) & (leaks <= LEAK_BUCKET)
    if not kept.any():
        return np.empty(0, np.intp), np.empty(0, np.intp)
    first, nl_all, nr_all = starts[kept], leaks[kept], references[kept]
    shape = nl_all * (MAX_BUCKET + 1) + nr_all  # buckets of one shape are paired at once
    by_shape = np.argsort(shape, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(shape[by_shape]) != 0, True])
    out_a, out_b = [], []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        group = by_shape[lo:hi]
        nl, nr = int(nl_all[group[0]]), int(nr_all[group[0]])
        pair = np.arange(nl * nr)
        i, j = pair // nr, nl + pair % nr  # every leak descriptor with every reference one
        out_a.append(order[(first[group][:, None] + i).reshape(-1)])
        out_b.append(order[(first[group][:, None] + j).reshape(-1)])
    return np.concatenate(out_a), np.concatenate(out_b)


def _count(
    da: NDArray[np.intp], db: NDArray[np.intp], owner: NDArray[np.intp], n: int, pictures: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    da, db = once(da, db, owner)  # leak descriptor first (reference-reference: lower first)
    pa, pb = owner[da], owner[db]
    # a descriptor's spread: the distinct reference pictures it matches, and its own
    ends = np.concatenate([da, db])
    others = np.concatenate([pb, pa])
    in_reference = others >= n
    seen = _distinct(ends[in_reference] * pictures + others[in_reference])[0] // pictures
    spread = np.bincount(seen, minlength=len(owner)).astype(np.float64)
    spread[owner >= n] += 1
    across = pa < n
    ids, score = pair_votes(da[across], db[across], pa[across] * pictures + pb[across], spread)
    return (ids // pictures).astype(np.intp), (ids % pictures - n).astype(np.intp), score


def shown(inner: Sequence[tuple[int, NDArray[np.uint8]]], keys: Keys) -> Pairs:
    """Candidate pairs (a, b) of picture indexes, a < b, for the pictures shown inside others
    (candidates.shown: (index of the picture showing it, its descriptors)): each one's
    PER_PICTURE best-voted pictures, the one showing it aside, with at least MIN_VOTES. A
    descriptor is weighed by the pictures of `keys` it matches, as in `between`."""
    if not inner:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    owners = np.array([owner for owner, _ in inner], np.intp)
    a, b, count = votes([desc for _, desc in inner], keys)
    keep = (b != owners[a]) & (count >= MIN_VOTES)
    a, b, count = a[keep], b[keep], count[keep]
    chosen = _top(a, count)
    a, b = owners[a[chosen]], b[chosen]
    return np.minimum(a, b), np.maximum(a, b)
