"""match/cross.py: leak x reference candidates from descriptors, weighed by the reference."""

from __future__ import annotations

import numpy as np

from kyctriage.match import cross


def _descriptors(seed: int, n: int = 60) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32), dtype=np.uint8)


def test_copies_in_the_leak_do_not_dilute_their_original() -> None:
    """A reference picture's points, repeated by ten leak copies, count whole for each copy;
    nothing is proposed between leak pictures or for a picture sharing no descriptor."""
    original, other = _descriptors(1), _descriptors(2)
    leak = [original.copy() for _ in range(10)] + [_descriptors(3), None]
    a, b = cross.between(leak, [other, original])
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(i, 1) for i in range(10)]
    votes = cross.votes(leak, [other, original])[2]
    assert np.allclose(votes, 60.0)


def test_a_leak_repeating_a_picture_more_than_a_bucket_holds_still_proposes_its_original() -> None:
    """Forty copies of one picture put each of its points in a bucket of 41: a bucket is
    crowded by the reference descriptors it holds (one here), not by the leak's copies,
    which are never compared with one another. A template's point that every reference
    picture holds is still crowded out."""
    original = _descriptors(6)
    leak = [original.copy() for _ in range(40)]
    a, b = cross.between(leak, [_descriptors(7), original])
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(i, 1) for i in range(40)]
    layout = _descriptors(8)
    crowded = [layout.copy() for _ in range(cross.MAX_BUCKET + 1)]
    a, b = cross.between([layout.copy()], crowded)
    assert len(a) == 0


def test_no_descriptor_in_common_gives_no_pair() -> None:
    a, b = cross.between([_descriptors(4)], [_descriptors(5)])
    assert len(a) == len(b) == 0
    a, b = cross.between([], [_descriptors(5)])
    assert len(a) == 0
