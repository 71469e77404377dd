"""Candidate pairs from local features: pictures that share many ORB descriptors.

Global hashes propose re-encodes and resizes; they miss a one-side crop, a picture shown
inside a screenshot and a scan's Telegram copy, whose hashes sit nearer other customers'
scans than their own original. Local features survive all three: a crop or a screenshot
keeps the picture's own corners. Each descriptor is bucketed by a few of its bytes in
several tables (locality-sensitive hashing on Hamming space: a descriptor pair that differs
in d of 256 bits shares a 16-bit key with probability (1 - d/256)^16); pairs of descriptors
of different pictures in one bucket and within RADIUS bits are votes for the pair of
pictures, weighted down where a descriptor matches many pictures. Not all-pairs: work grows
with the bucket sizes, and crowded buckets (descriptors of flat texture every picture has)
are skipped. Candidates only propose; stars.py verifies."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from kyctriage.match import verify
from kyctriage.match.verify import PATCH, Features
from kyctriage.probes import shown as shown_hashes

# Descriptors per picture kept for the search (an even spread of ORB's keypoints, every
# scale of its pyramid: a picture inside a screenshot matches the original's coarse levels).
KEYS = 300
# Tables: bytes 2t and 2t+1 of each descriptor as a 16-bit key. ORB's tests are ordered
# (least correlated first), so the first bytes are as good keys as any.
TABLES = 8
# A bucket holding more descriptors than this is texture every picture has: skipped.
MAX_BUCKET = 24
# Bits (of 256) within which two descriptors are one point seen twice (re-encodes, resizes
# and brightening keep true matches under ~40; unrelated ORB descriptors sit at ~128).
RADIUS = 40
# Votes: each descriptor matched counts one over the number of pictures it matches (votes
# for the pair: the smaller of the two sides' sums). A pair is proposed with at least
# MIN_VOTES, and only as one of the PER_PICTURE best-voted partners of either picture (a
# template's look-alikes share its layout: they vote too, and each costs a verification).
# Chosen on the tuning set (bench/kyc_lookalikes.py, seed 1): every variant but screenshots
# and mirrors (which the hashes' mirror view proposes) then has a true partner proposed.
MIN_VOTES = 1.0
PER_PICTURE = 3
# A photograph with no copy in the set still has best-voted partners: chance. Every picture
# shares a few descriptors of generic corners with most others (scan_speed's 200 photos:
# each with ~196), and its three best of those cost three checks that find no fit (~780
# of ~840 checks there). A pair is therefore proposed only where its votes stand out from
# chance for one of its pictures: at least STAND_OUT times the median of that picture's
# votes with every partner, where it has MIN_PARTNERS or more to measure that by (a small
# set, or one picture's copies filling half of it, keeps the best-voted rule alone).
# Measured (bench/README.md): every copy-original pair the best-voted rule proposed on the
# KYC look-alikes (quick seed 2, held-out full seed 2) stands out 6 times or more, most 10;
# chance pairs among the photos at most 7.2, 116 of 788 at 4 or more, 1 at 6. Mirrored
# copies, whose ORB votes are chance (2.7, 4.8), are the hashes' to propose (their mirror
# view).
STAND_OUT = 5.0
MIN_PARTNERS = 24
# Descriptor pairs are compared this many at a time (bounded memory).
CHUNK = 1 << 20
# A picture shown small (inside a screenshot, a quarter of the frame or less) is 4-8 times
# smaller than its original's working copy: beyond ORB's pyramid (8 levels of 1.2 cover
# 3.6x). Each picture therefore also gives COARSE_KEYS descriptors of a copy reduced to
# COARSE px, which the small picture's full-size descriptors meet at a scale ORB spans.
COARSE = 256
COARSE_KEYS = 150


def keys(seen: Features, small: NDArray[np.uint8] | None = None) -> NDArray[np.uint8]:
    """The descriptors of a picture the search keeps: at most KEYS of its working copy's
    (an even spread) and those of a copy reduced to COARSE px (`small`, when given: the
    picture brought down to REGIONS px, which is that copy too)."""
    return _joined([_spread(seen.descriptors), _reduced(seen.gray, small=small)])


# A screenshot's keys are mostly its window's: text, icons and bars that every screenshot of
# one app shares, which out-vote the picture it shows (votes 4-15 against 0-1.5 on the
# bench). The pictures an image shows (regions.pictures: rectangles of photographic content
# on a flat page, looked for on a copy reduced to REGIONS px, the watermark detector's
# preview scale) therefore each get keys of their own, as if each were a picture: its crop's
# (KEYS of KEYPOINTS) and those of the crop brought to COARSE px, the scale of its original's
# coarse keys (shown whole, the picture is its original, however small it is shown). They
# search the pictures' keys apart (cross.shown), so no other picture's candidates change.
# A shown picture proposes exactly where a check can look at it (verify.shown: its crop is
# informative): a check compares it in its own frame with the page around it, not as the
# bare box (a scanned page shown in a chat, its document ~70 px wide: fewer detailed cells
# in the box than a content test needs, 400-900 in the check's overlap).
REGIONS = shown_hashes.REGIONS
CLOSER = shown_hashes.CLOSER  # longest side of the closer decode a shown picture's keys are from


def shown(
    seen: Features,
    small: NDArray[np.uint8] | None = None,
    closer: Callable[[], Image.Image] | None = None,
) -> tuple[NDArray[np.uint8], ...]:
    """The descriptors of each picture an image shows inside it (largest first); none for a
    photograph that fills its frame. `closer` gives the decode the working copy was reduced
    from (decode.Decoded.upright), where each shown picture's keys are then taken: a page
    shown in a 1,920 px screenshot has its document at ~150 px in the 1,024 px working copy,
    too small to propose anything, and at ~290 px in the decode (bench/README.md).
    `small`: the picture brought down to REGIONS px."""
    boxes = pictures(seen.gray, small)
    larger = closer_look(seen, closer) if boxes else None
    source = seen.gray if larger is None else grey(larger)
    return shown_keys(verify.shown(source, boxes, seen.gray.shape))


def grey(picture: Image.Image) -> NDArray[np.uint8]:
    """A decode's grey pixels, as the checks and the candidate keys see them."""
    return np.ascontiguousarray(np.asarray(picture.convert("L"), np.uint8))


def closer_look(seen: Features, closer: Callable[[], Image.Image] | None) -> Image.Image | None:
    """The decode the working copy was reduced from, at most CLOSER px a side; None when
    there is none larger than the working copy."""
    if closer is None:
        return None
    larger = closer()
    if larger.width <= seen.gray.shape[1]:
        return None
    return shown_hashes.at_most_closer(larger)  # a large PNG: as near as a screen needs


def shown_keys(seen: Sequence[verify.Shown]) -> tuple[NDArray[np.uint8], ...]:
    """shown()'s descriptors of pictures shown inside a frame (verify.shown): each one's
    (KEYS of its crop's) and those of its crop brought to COARSE px."""
    return tuple(_joined([_spread(p.descriptors), _reduced(p.crop, always=True)]) for p in seen)


def small(gray: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The picture brought down to REGIONS px (as it is when smaller): where regions are
    looked for, and, REGIONS being COARSE, the copy whose keys meet small pictures' (a
    worker makes it once for keys() and shown(): ~1.1 ms of a 1000 px working copy)."""
    f = REGIONS / max(gray.shape)
    if f >= 1:
        return gray
    size = (max(1, round(gray.shape[1] * f)), max(1, round(gray.shape[0] * f)))
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.uint8)


def pictures(
    gray: NDArray[np.uint8], reduced: NDArray[np.uint8] | None = None
) -> list[tuple[int, int, int, int]]:
    """regions.pictures of the working copy, in its pixels (`reduced`: small(gray))."""
    # regions needs scipy.ndimage (~0.26 s to import): imported by the worker that first
    # looks, not on the scan's start-up path before the workers fork
    from kyctriage import regions

    f = min(1.0, REGIONS / max(gray.shape))
    reduced = small(gray) if reduced is None else reduced
    height, width = gray.shape
    return [
        (max(0, round(left / f)), max(0, round(top / f)),
         min(width, round(right / f)), min(height, round(bottom / f)))
        for left, top, right, bottom in regions.pictures(reduced.astype(np.float32))
    ]  # fmt: skip


def _spread(desc: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """At most KEYS descriptors, an even spread (ORB lists them level by level)."""
    if len(desc) > KEYS:
        desc = desc[np.linspace(0, len(desc) - 1, KEYS).astype(np.intp)]
    return desc


def _reduced(
    gray: NDArray[np.uint8], always: bool = False, small: NDArray[np.uint8] | None = None
) -> NDArray[np.uint8]:
    """COARSE_KEYS descriptors of the picture brought to COARSE px (`small`, when it is that
    copy already): only of a picture well larger (a small one's own keys are at that scale
    already) unless `always`."""
    if not always and max(gray.shape) <= COARSE * 1.5:
        return np.empty((0, 32), np.uint8)
    f = COARSE / max(gray.shape)
    size = (max(1, round(gray.shape[1] * f)), max(1, round(gray.shape[0] * f)))
    if small is None or f >= 1 or small.shape != (size[1], size[0]):
        resample = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
        small = np.asarray(cv2.resize(gray, size, interpolation=resample), np.uint8)
    orb = cv2.ORB.create(COARSE_KEYS, edgeThreshold=PATCH, patchSize=PATCH, fastThreshold=10)
    return _descriptors(orb.detectAndCompute(small, None)[1])


def _descriptors(found: object) -> NDArray[np.uint8]:
    return np.asarray(found if isinstance(found, np.ndarray) else np.empty((0, 32)), np.uint8)


def _joined(parts: Sequence[NDArray[np.uint8]]) -> NDArray[np.uint8]:
    return np.ascontiguousarray(np.concatenate(parts), np.uint8)


Pairs = tuple[NDArray[np.intp], NDArray[np.intp]]


def pairs(per_picture: Sequence[NDArray[np.uint8] | None]) -> Pairs:
    """Candidate pairs (a, b) of picture indexes, a < b; None (no features) joins nothing."""
    a, b, count = votes(per_picture)
    keep = (count >= MIN_VOTES) & _stands_out(a, b, count, len(per_picture))
    a, b, count = a[keep], b[keep], count[keep]
    chosen = _top(a, count) | _top(b, count)
    return a[chosen], b[chosen]


def _stands_out(
    a: NDArray[np.intp], b: NDArray[np.intp], count: NDArray[np.float64], n: int
) -> NDArray[np.bool_]:
    """Whether each pair's votes stand out from chance for a or for b (STAND_OUT)."""
    side = np.concatenate([a, b])
    value = np.concatenate([count, count])
    order = np.lexsort((value, side))
    side, value = side[order], value[order]
    partners = np.bincount(side, minlength=n)
    start = np.concatenate([[0], np.cumsum(partners)[:-1]])
    chance = np.zeros(n)
    has = partners > 0
    low = start[has] + (partners[has] - 1) // 2
    high = start[has] + partners[has] // 2
    chance[has] = (value[low] + value[high]) / 2  # each picture's median
    measured = partners >= MIN_PARTNERS

    def out(x: NDArray[np.intp]) -> NDArray[np.bool_]:
        return np.asarray(~measured[x] | (count >= STAND_OUT * chance[x]), np.bool_)

    return out(a) | out(b)


def votes(
    per_picture: Sequence[NDArray[np.uint8] | None],
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Every pair of pictures (a, b), a < b, with a descriptor of each within RADIUS bits of
    the other's in one bucket, and its votes: the distinct descriptors matched on the side
    with fewer (one descriptor of a repeated pattern matching many counts once)."""
    sizes = np.array([0 if k is None else len(k) for k in per_picture], np.intp)
    empty = np.empty(0, np.intp)
    if int((sizes > 0).sum()) < 2:
        return empty, empty, np.empty(0)
    desc = np.concatenate([k for k in per_picture if k is not None and len(k)])
    owner = np.repeat(np.arange(len(sizes)), sizes)
    found_a, found_b = [], []
    for t in range(TABLES):
        a, b = _bucket_pairs(desc[:, 2 * t].astype(np.intp) << 8 | desc[:, 2 * t + 1], owner)
        for start in range(0, len(a), CHUNK):
            ca, cb = a[start : start + CHUNK], b[start : start + CHUNK]
            close = np.bitwise_count(desc[ca] ^ desc[cb]).sum(axis=1, dtype=np.intp) <= RADIUS
            found_a.append(ca[close])
            found_b.append(cb[close])
    if not sum(map(len, found_a)):  # no descriptor near another picture's: no pair
        return empty, empty, np.empty(0)
    da, db = np.concatenate(found_a), np.concatenate(found_b)
    return _count(da, db, owner, len(sizes))


def _bucket_pairs(key: NDArray[np.intp], owner: NDArray[np.intp]) -> Pairs:
    """Descriptor pairs of different pictures sharing a key, from buckets of 2..MAX_BUCKET."""
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    counts = np.diff(np.r_[starts, len(key)])
    out_a, out_b = [], []
    for size in np.unique(counts[(counts >= 2) & (counts <= MAX_BUCKET)]).tolist():
        first = starts[counts == size]
        i, j = np.triu_indices(size, 1)
        a = order[(first[:, None] + i).reshape(-1)]
        b = order[(first[:, None] + j).reshape(-1)]
        apart = owner[a] != owner[b]
        out_a.append(a[apart])
        out_b.append(b[apart])
    if not out_a:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    return np.concatenate(out_a), np.concatenate(out_b)


def _count(
    da: NDArray[np.intp], db: NDArray[np.intp], owner: NDArray[np.intp], n: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    da, db = once(da, db, owner)
    pa, pb = owner[da], owner[db]
    # a descriptor's weight: one over the number of other pictures it matches. A point of
    # this photograph matches its few copies; a template's layout, a screenshot's window
    # frame or a flat texture matches every picture that has it and decides little.
    ends = np.concatenate([da, db])
    others = np.concatenate([pb, pa])
    seen = _distinct(ends * n + others)[0] // n
    spread = np.bincount(seen, minlength=len(owner)).astype(np.float64)
    ids, score = pair_votes(da, db, pa * n + pb, spread)
    return (ids // n).astype(np.intp), (ids % n).astype(np.intp), score


def once(da: NDArray[np.intp], db: NDArray[np.intp], owner: NDArray[np.intp]) -> Pairs:
    """Each descriptor pair once (several tables find the same), the lower picture's first."""
    many = len(owner)
    swap = owner[da] > owner[db]
    da, db = np.where(swap, db, da), np.where(swap, da, db)
    found = _distinct(da * many + db)[0]
    return found // many, found % many


def pair_votes(
    da: NDArray[np.intp], db: NDArray[np.intp], pair: NDArray[np.intp], spread: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Per picture pair (`pair` of each descriptor pair), the smaller of its two sides' sums
    of one over each distinct descriptor's spread."""
    many = len(spread)
    score_a = _sums(pair * many + da, many, 1 / np.maximum(spread[da], 1))
    score_b = _sums(pair * many + db, many, 1 / np.maximum(spread[db], 1))
    # both sums are over the same picture pairs (each descriptor pair adds to both)
    return score_a[0], np.minimum(score_a[1], score_b[1])


def _sums(
    key: NDArray[np.intp], many: int, weight: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Per picture pair (key // many), the weights of its distinct descriptors (key % many)
    added up: a descriptor matching several of the other picture's counts once."""
    distinct, first = _distinct(key)
    pairs_of = distinct // many  # sorted, as `distinct` is
    starts = np.flatnonzero(np.r_[True, pairs_of[1:] != pairs_of[:-1]])
    return pairs_of[starts], np.add.reduceat(weight[first], starts)


def _distinct(x: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Sorted distinct values and where each first is (np.unique's hash path is far slower
    on tens of millions of values)."""
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    return ordered[first], order[first]


def _top(side: NDArray[np.intp], votes: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Whether each pair is among the PER_PICTURE best-voted pairs of its picture `side`."""
    order = np.lexsort((-votes, side))
    ranked = side[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    chosen = np.zeros(len(side), bool)
    chosen[order[rank < PER_PICTURE]] = True
    return chosen
