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
    query: Hashes, base: Hashes, orders: NDArray[np.uint32]
) -> tuple[Rows, Rows, NDArray[np.int64]]:
    """Every (query row, base row) pair the rule accepts, each once, with per-kind distances;
    `orders` is band_orders(base). Nothing is skipped: a crowded bucket costs time, in pieces."""
    found_q: list[Rows] = [np.empty(0, np.intp)]
    found_b: list[Rows] = [np.empty(0, np.intp)]
    found_d: list[NDArray[np.int64]] = [np.empty((0, 3), np.int64)]
    if not len(query) or not len(base):
        return found_q[0], found_b[0], found_d[0]
    for (start, width), order in zip(BANDS, orders, strict=True):
        values = band(base, start, width)
        sizes = np.bincount(values, minlength=1 << width)
        starts = np.cumsum(sizes) - sizes
        del values
        flips = np.array([0] + [1 << bit for bit in range(width)], np.intp)
        wanted = (band(query, start, width)[:, None] ^ flips[None, :]).ravel()
        counts = sizes[wanted]
        hit = np.nonzero(counts)[0]
        counts, first, q_of = counts[hit], starts[wanted[hit]], hit // len(flips)
        ends = np.cumsum(counts)
        lo = 0
        while lo < len(hit):
            done = ends[lo - 1] if lo else 0
            hi = max(lo + 1, int(np.searchsorted(ends, done + CHUNK, side="right")))
            piece = counts[lo:hi]
            total = int(piece.sum())
            offsets = np.arange(total) - np.repeat(np.cumsum(piece) - piece, piece)
            q_rows = np.repeat(q_of[lo:hi], piece)
            b_rows = order[np.repeat(first[lo:hi], piece) + offsets].astype(np.intp)
            dist = np.stack(
                [np.bitwise_count(query[q_rows, k] ^ base[b_rows, k]) for k in range(3)], axis=1
            ).astype(np.int64)
            ok = (dist.sum(axis=1) <= search.MAX_SUM) & (dist.max(axis=1) <= search.MAX_ONE)
            found_q.append(q_rows[ok])
            found_b.append(b_rows[ok])
            found_d.append(dist[ok])
            lo = hi
    keys = np.concatenate(found_q).astype(np.int64) * len(base) + np.concatenate(found_b)
    unique, index = np.unique(keys, return_index=True)
    return (
        (unique // len(base)).astype(np.intp),
        (unique % len(base)).astype(np.intp),
        np.concatenate(found_d)[index],
    )
