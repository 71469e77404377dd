"""Near-duplicate search over compact hash arrays: multi-index hashing, then verification."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

KINDS = ("phash", "dhash", "whash")
# Views of an image whose hashes the scan stores beside the upright ones: a second image that
# is that view of the first matches its upright hashes. 90 is counter-clockwise (PIL ROTATE_90);
# 270 is found from the other side (the first is the 90 view of the second).
VIEWS = ("mirror", "rot90", "crop92", "crop87", "crop82")

# A pair is the same photograph when the three 64-bit hashes differ in at most MAX_SUM bits
# together and none in more than MAX_ONE. Measured on bench/near_duplicates.py: re-encodes,
# resizes, brightness and screenshots reach 11; different captures of one scene start at 22.
MAX_SUM = 18
MAX_ONE = 10
# Twelve 16-bit bands over the 192 bits, probed at Hamming radius 1: a pair within MAX_SUM
# has fewer than 24 differing bits, so at least one band differs in at most one bit
# (pigeonhole), and the index never misses a pair that verification would accept.
BAND_BITS = 16
BANDS_PER_HASH = 64 // BAND_BITS
# A band value shared by more images than this says little (a flat or template-like picture);
# its pairs are skipped and counted, so the cost stays bounded and the skip is reported.
MAX_BUCKET = 2048
# Candidate pairs examined at once: bounds the search's memory (about 100 bytes a pair).
CHUNK = 1 << 18
# Up to this many pairs, every pair is checked directly. The index's 204 band probes cost
# ~6 ms a call whatever the set's size (a scan makes five calls); the direct check of
# 200 x 200 pairs takes ~0.5 ms. Both find the same pairs: the index misses none the rule
# accepts, and with fewer base rows than MAX_BUCKET no bucket can be crowded.
DIRECT_PAIRS = CHUNK

Hashes = NDArray[np.uint64]  # (n, 3): phash, dhash, whash
Index = NDArray[np.intp]


@dataclass(frozen=True)
class Matches:
    """Verified pairs: query row, base row, and each kind's distance."""

    query: Index
    base: Index
    distances: NDArray[np.int64]  # (m, 3)
    crowded: int  # candidate buckets skipped as larger than MAX_BUCKET


def distances(a: Hashes, b: Hashes) -> NDArray[np.int64]:
    """Per-kind Hamming distances of paired rows."""
    return np.bitwise_count(np.bitwise_xor(a, b)).astype(np.int64)


def accepted(dist: NDArray[np.int64]) -> NDArray[np.bool_]:
    ok: NDArray[np.bool_] = (dist.sum(axis=1) <= MAX_SUM) & (dist.max(axis=1) <= MAX_ONE)
    return ok


def _bands(hashes: Hashes) -> Iterator[NDArray[np.uint64]]:
    mask = np.uint64((1 << BAND_BITS) - 1)
    for kind in range(hashes.shape[1]):
        for band in range(BANDS_PER_HASH):
            yield (hashes[:, kind] >> np.uint64(band * BAND_BITS)) & mask


_PROBES = np.array([0] + [1 << bit for bit in range(BAND_BITS)], dtype=np.uint64)


def _candidates(query: Hashes, base: Hashes) -> Iterator[tuple[Index, Index, int]]:
    """Candidate (query, base) rows sharing a band value within Hamming radius 1, in pieces of
    about CHUNK pairs: similar pictures (one booth's selfies) fill buckets of up to MAX_BUCKET,
    and 100,000 queries times such buckets would be gigabytes of row numbers at once."""
    for q_band, b_band in zip(_bands(query), _bands(base), strict=True):
        # 16-bit band values index a table directly: bucket sizes and starts, no search.
        order = np.argsort(b_band, kind="stable")
        sizes = np.bincount(b_band.astype(np.intp), minlength=1 << BAND_BITS)
        starts_of = np.cumsum(sizes) - sizes
        for probe in _PROBES:
            wanted = (q_band ^ probe).astype(np.intp)
            lo = starts_of[wanted]
            counts = sizes[wanted]
            crowded = counts > MAX_BUCKET
            counts[crowded] = 0
            skipped = int(crowded.sum())
            ends = np.cumsum(counts)
            first = 0
            while first < len(query):
                # the queries whose candidates fit in this piece (at least one query)
                limit = (ends[first - 1] if first else 0) + CHUNK
                last = max(first + 1, int(np.searchsorted(ends, limit, side="right")))
                piece = counts[first:last]
                total = int(piece.sum())
                if total:
                    q_rows = np.repeat(np.arange(first, last), piece)
                    starts = np.repeat(lo[first:last] - np.cumsum(piece) + piece, piece)
                    yield q_rows, order[starts + np.arange(total)], skipped
                    skipped = 0
                first = last
            if skipped:  # nothing to yield for this probe, but the skip still counts
                yield np.empty(0, np.intp), np.empty(0, np.intp), skipped


# Candidates only (a check decides): a pair whose phashes differ in at most LOOSE bits and
# dhashes in at most MAX_ONE, whatever its whash. A flat picture (a white scanned page) has
# its wavelet bits at the median, and a re-encode flips many (a mirrored scan against the
# original's mirror view: phash 0, dhash 0, whash 19 bits); its gradient bits flip too where
# the page is flat (a scan turned 3 degrees and turned back: phash 0, dhash 7, whash 26; a
# brightened scan: 4, 3, 24). ORB's keys cannot propose a mirrored copy, and an index has no
# keys. The bands find such a pair: one of phash's 4 bands differs in at most one bit.
LOOSE = 4
# Or a pair whose dhashes differ in at most CLOSE_DHASH bits and phashes in at most
# LOOSE_PHASH: a scanned page cut 8-10% a side or brightened until its white clips keeps its
# gradients' signs where the DCT's low frequencies move (a centred crop against its
# original's 82% view: phash 6, dhash 0, whash 16; a brightened scan: 6, 4, 32). On
# bench/kyc_lookalikes.py's quick seed 2 this proposes 10 more copies' originals with no
# candidate before, and 265 more look-alikes (2,830 before), all left to the check.
LOOSE_PHASH = 6
CLOSE_DHASH = 4


def loose_pair(phash: NDArray[np.int64], dhash: NDArray[np.int64]) -> NDArray[np.bool_]:
    """The loose rule on the phash and dhash distances (whatever the whash's)."""
    ok = ((phash <= LOOSE) & (dhash <= MAX_ONE)) | ((phash <= LOOSE_PHASH) & (dhash <= CLOSE_DHASH))
    return np.asarray(ok, np.bool_)


def _verify(
    query: Hashes, base: Hashes, q_rows: Index, b_rows: Index, loose: bool = False
) -> tuple[NDArray[np.bool_], list[NDArray[np.int64]]]:
    """Column by column: one gather per kind, no row-wise reductions."""
    per_kind = [
        np.bitwise_count(query[:, k][q_rows] ^ base[:, k][b_rows]).astype(np.int64)
        for k in range(query.shape[1])
    ]
    ok = strict(per_kind)
    if loose:
        ok |= loose_pair(per_kind[0], per_kind[1])
    return ok, per_kind


def strict(per_kind: Sequence[NDArray[np.int64]]) -> NDArray[np.bool_]:
    """The near rule on each kind's distances (phash, dhash, whash), without the loose one."""
    ok = per_kind[0] + per_kind[1] + per_kind[2] <= MAX_SUM
    for dist in per_kind:
        ok &= dist <= MAX_ONE
    return np.asarray(ok, np.bool_)


def _merge(
    keys: list[NDArray[np.int64]], dists: list[NDArray[np.int64]]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Pairs as (query * len(base) + base) keys, each kept once (a pair is found through
    several bands and probes: 4.5 million finds for 0.6 million pairs in bench/scale.py)."""
    unique, first = np.unique(np.concatenate(keys), return_index=True)
    return unique, np.concatenate(dists)[first]


def search(query: Hashes, base: Hashes, same_set: bool, loose: bool = False) -> Matches:
    """Every (query, base) pair that passes the rule (`loose`: or loose_pair()'s, for candidates a
    check will decide); with same_set, each pair once, no self. Repeated finds are merged as
    they pile up, so memory follows the distinct pairs."""
    query, base = np.asfortranarray(query), np.asfortranarray(base)
    if len(base) <= MAX_BUCKET and len(query) * len(base) <= DIRECT_PAIRS:
        return _every_pair(query, base, same_set, loose)
    width = len(base)
    keys: list[NDArray[np.int64]] = [np.empty(0, np.int64)]
    dists: list[NDArray[np.int64]] = [np.empty((0, len(KINDS)), np.int64)]
    pending = crowded = 0
    for q_rows, b_rows, skipped in _candidates(query, base):
        crowded += skipped
        if same_set:
            keep = q_rows < b_rows
            q_rows, b_rows = q_rows[keep], b_rows[keep]
        ok, per_kind = _verify(query, base, q_rows, b_rows, loose)
        if ok.any():
            keys.append(q_rows[ok].astype(np.int64) * width + b_rows[ok])
            dists.append(np.stack([d[ok] for d in per_kind], axis=1))
            pending += len(keys[-1])
            if pending > CHUNK:
                merged = _merge(keys, dists)
                keys, dists, pending = [merged[0]], [merged[1]], 0
    unique, distances = _merge(keys, dists)
    return Matches(
        (unique // max(width, 1)).astype(np.intp),
        (unique % max(width, 1)).astype(np.intp),
        distances,
        crowded,
    )


def _every_pair(query: Hashes, base: Hashes, same_set: bool, loose: bool = False) -> Matches:
    """The search without the index, for small sets: in the index's order (query, then base)."""
    if same_set:
        q_rows, b_rows = np.triu_indices(len(query), 1, len(base))
    else:
        q_rows = np.repeat(np.arange(len(query)), len(base))
        b_rows = np.tile(np.arange(len(base)), len(query))
    ok, per_kind = _verify(query, base, q_rows, b_rows, loose)
    return Matches(
        q_rows[ok].astype(np.intp),
        b_rows[ok].astype(np.intp),
        np.stack([d[ok] for d in per_kind], axis=1),
        0,
    )
