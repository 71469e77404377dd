"""Exact Hamming range search over a shard's hash arrays: multi-index hashing on wide bands.

The three 64-bit hashes are read as one 192-bit string cut into ten bands of 19-20 bits. A pair
the rule accepts differs in at most MAX_SUM (18) bits, so at least one band differs in at most
one bit (ten bands with two or more would make 20): probing every band at radius 1 finds every
such pair (pigeonhole), and each candidate is then checked with the rule itself. Wide bands keep
the candidates few on a shard of a million rows (about two rows a probe), where the 16-bit bands
of search.py would give fifteen. A shard stores each band's row order; the bucket table is
counted at search time (a bincount of the band, milliseconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

from kyctriage.match import search

WIDTHS = (20, 20, 19, 19, 19, 19, 19, 19, 19, 19)
BANDS = tuple((sum(WIDTHS[:i]), w) for i, w in enumerate(WIDTHS))  # (first bit, width)
# Candidates expanded at once: bounds memory when a bucket is crowded (flat pictures).
CHUNK = 1 << 20

Hashes = NDArray[np.uint64]
Rows = NDArray[np.intp]


def band(hashes: Hashes, start: int, width: int) -> Rows:
    """Bits [start, start + width) of each row's 192-bit string (phash low bits first)."""
    word, offset = divmod(start, 64)
    value = hashes[:, word] >> np.uint64(offset)
    if offset + width > 64:
        value = value | (hashes[:, word + 1] << np.uint64(64 - offset))
    return (value & np.uint64((1 << width) - 1)).astype(np.intp)


def band_orders(hashes: Hashes) -> NDArray[np.uint32]:
    """Each band's row order (stable): stored with the shard, so a search sorts nothing."""
    out = np.empty((len(BANDS), len(hashes)), np.uint32)
    for i, (start, width) in enumerate(BANDS):
        out[i] = np.argsort(band(hashes, start, width), kind="stable")
    return out


def near(
    query: Hashes,
    base: Hashes,
    orders: NDArray[np.uint32],
    threads: int = 1,
    loose: bool = False,
) -> tuple[Rows, Rows, NDArray[np.int64]]:
    """Every (query row, base row) pair the rule accepts (`loose`: or search.LOOSE's), each
    once, with per-kind distances; `orders` is band_orders(base). Nothing is skipped: a
    crowded bucket costs time, in pieces. The bands are searched by `threads` threads
    (numpy's loops release the GIL). A loose pair differs in at most search.LOOSE of
    phash's bits, which the first three bands hold, or in at most LOOSE_PHASH + CLOSE_DHASH
    (10) of phash's and dhash's, which the first six hold: either way one of them differs in
    at most one bit."""
    keys: list[NDArray[np.int64]] = [np.empty(0, np.int64)]
    if len(query) and len(base):
        query, base = np.asarray(query).view(np.ndarray), np.asarray(base).view(np.ndarray)

        def one(i: int) -> NDArray[np.int64]:
            return _band_pairs(query, base, i, orders[i].view(np.ndarray), loose)

        if threads > 1:
            with ThreadPoolExecutor(min(threads, len(BANDS))) as pool:
                keys.extend(pool.map(one, range(len(BANDS))))
        else:
            keys.extend(map(one, range(len(BANDS))))
    pairs = np.unique(np.concatenate(keys))
    q, b = (pairs // max(len(base), 1)).astype(np.intp), (pairs % max(len(base), 1)).astype(np.intp)
    return q, b, np.bitwise_count(query[q] ^ base[b]).astype(np.int64)


def _band_pairs(
    query: Hashes, base: Hashes, i: int, order: NDArray[np.uint32], loose: bool = False
) -> NDArray[np.int64]:
    """The pairs the rule (`loose`: or LOOSE's) accepts among band i's candidates, as query
    row * len(base) + row."""
    start, width = BANDS[i]
    other = (start // 64 + 1) % 3  # a hash this band does not touch
    found = [np.empty(0, np.int64)]
    for q_rows, b_rows in _candidates(query, base, start, width, order):
        # A candidate shares the band within one bit; the other hash tells almost every random
        # one apart (64 random bits within MAX_ONE: 1e-8), so the full rule runs on the few left.
        # (A band of phash checks dhash, within MAX_ONE for a loose pair too; a band of dhash
        # checks whash, which a loose pair may not share: phash then.)
        keep = _within(query[q_rows, other] ^ base[b_rows, other], search.MAX_ONE)
        if loose and other == 2:
            keep |= _within(query[q_rows, 0] ^ base[b_rows, 0], search.LOOSE_PHASH)
        q_rows, b_rows = q_rows[keep], b_rows[keep]
        dist = np.bitwise_count(query[q_rows] ^ base[b_rows])
        ok = (dist.sum(axis=1) <= search.MAX_SUM) & (dist.max(axis=1) <= search.MAX_ONE)
        if loose:
            ok |= search.loose_pair(dist[:, 0], dist[:, 1])
        found.append(q_rows[ok].astype(np.int64) * len(base) + b_rows[ok])
    return np.concatenate(found)


def _within(xor: Hashes, bits: int) -> NDArray[np.bool_]:
    return np.bitwise_count(xor) <= bits


def _candidates(
    query: Hashes, base: Hashes, start: int, width: int, order: NDArray[np.uint32]
) -> Iterator[tuple[Rows, Rows]]:
    """(query row, base row) pairs whose band `start` differs in at most one bit, at most
    CHUNK at a time."""
    values = band(base, start, width)
    sizes = np.bincount(values, minlength=1 << width)
    starts = np.cumsum(sizes) - sizes
    del values
    flips = np.array([0] + [1 << bit for bit in range(width)], np.intp)
    wanted = (band(query, start, width)[:, None] ^ flips[None, :]).ravel()
    counts = sizes[wanted]
    hit = np.nonzero(counts)[0]
    counts, first, q_of = counts[hit], starts[wanted[hit]], hit // len(flips)
    del wanted, sizes, starts, hit
    ends = np.cumsum(counts)
    lo = 0
    while lo < len(counts):
        done = ends[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, done + CHUNK, side="right")))
        piece = counts[lo:hi]
        total = int(ends[hi - 1] - done)
        offsets = np.arange(total) - np.repeat(ends[lo:hi] - piece - done, piece)
        q_rows = np.repeat(q_of[lo:hi], piece)
        b_rows = order[np.repeat(first[lo:hi], piece) + offsets].astype(np.intp)
        yield q_rows, b_rows
        lo = hi
