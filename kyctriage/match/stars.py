"""Verified clusters: each member joins a representative through its own checked match."""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from kyctriage.match.entries import Arrays, Entry
from kyctriage.match.verify import Features, intersection, placed, strength, verify
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
# A representative showing a later one inside a frame of which it covers less than this
# (a screenshot, a page around it) gives way to it, if all its members pass against it:
# the picture itself is the likelier original. A one-side crop of up to 25% covers more; a
# centred crop keeping less than 84% of each side covers less (its original keeps the
# cluster when a one-side crop fails against it).
EMBEDDED = 0.7
# A group's candidates are checked strongest first (verify.strength: the keypoints its fit
# on the representative agrees on, a cheap ~1.5 ms against a check's 40-140 ms), and at most
# this many of them. A template's look-alikes propose each other through their shared
# layout: checked in representative order, a copy tried every look-alike ranked before its
# own original (2,100 of 3,600 checks on the held-out quick bench), and a leak of one
# vendor's scans had every customer's first picture checked against every other's.
# Candidates left unchecked are counted (Clustering.unchecked). On the full held-out bench
# (100 customers a template) a scan's small copy is proposed to most of its template's scans,
# whose fits on it are nearly as strong as its original's: with 16 checks, scans' 800 px
# copies were found with their original 48 of 100 times, with 64 95 (recall 0.897 -> 0.938,
# clustering +14% time).
MAX_CHECKS = 64


def stars(
    table: Arrays,
    identity: NDArray[np.intp],
    near: Edges,
    rep_key: Callable[[Entry], tuple[int, bool, int, str, str, str]],
    pictures: Pictures,
) -> tuple[list[tuple[list[int], dict[int, Verification]]], int]:
    """Clusters as (rows, verification of each near row against the representative), and
    the candidate pairs left unchecked (MAX_CHECKS).

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
    tried: dict[int, set[int]] = {}  # the representatives each group tried at its turn
    refused = Refused(len(identity))  # the pairs of groups a check found no fit for
    inside: set[int] = set()  # representatives that show a member inside a larger frame
    members: dict[int, list[int]] = {}  # representative -> the groups joined to it so far
    # a representative that became a member (absorb): the group in its place in `reps`, None
    succeeded: dict[int, int | None] = {}

    def absorb(q: int, leader: Features, r: int, frame: Features, new: bool) -> bool:
        """r, a larger frame that shows q's picture (a screenshot ranked first by its
        pixels), joins q's cluster if it passes against q. When `new`, q takes r's place as
        a representative only if every member of r so far passes against q too: a frame
        round a crop of the picture (the original round a centred crop) keeps its cluster
        of one-side crops, which the centred crop may not cover. Else r's members follow
        where they pass; the rest are left on their own. The copies of the picture that
        come later are then checked against q itself, which a small picture in a frame
        may fail."""
        back = verify(leader, frame)
        if not back.verified or _footprint(back, frame, leader) < EMBEDDED:
            # (the second: q's representative is itself a larger frame round r, a
            # screenshot showing the original round a centred crop: r, the likelier
            # original, is not made its member; the second pass has it take that cluster)
            return False
        passed, failed = _checked(look, leader, members.get(r, []))
        if new and failed:
            return False
        inside.discard(r)
        if new:
            placed[q] = q
        succeeded[r] = q if new else None
        placed[r] = q
        joined[r] = (q, back)
        features.pop(r, None)
        followers = members.setdefault(q, [])
        followers.append(r)
        for m in members.pop(r, []):
            if m in passed:
                joined[m] = (q, passed[m])
                placed[m] = q
                followers.append(m)
            else:
                del joined[m]
                placed[m] = m
                reps.append(m)
                # a frame absorbed earlier (succeeded: None) is a representative again: in
                # its own place in `reps`, not lost from it
                succeeded.pop(m, None)
        return True

    unchecked = 0

    def pixels(g: int) -> int:
        e = table.entries[best[g]]
        return e.width * e.height

    def strongest(g: int, mine: Features, proposed: set[int]) -> list[tuple[int, Features]]:
        """The proposed representatives g is checked against, with their pictures:
        strongest first, at most MAX_CHECKS (the rest counted in `unchecked`); those too
        plain to verify against are left out (nothing joins them but their identity). Only
        the MAX_CHECKS strongest pictures are held while ranking (a look-alike may have
        hundreds of candidates), so none is read again from its spill file to be checked."""
        nonlocal unchecked
        # a frame that could show g inside it (a screenshot ranked first by its pixels,
        # with a box of g's shape) keeps its place in representative order: one that shows
        # g must be found before g joins another, so that g can lead the frame's cluster
        # (absorb). Any other larger picture is ranked by strength: a scan's copy has every
        # page of its template proposed, all larger than it (held-out seed 2: 80-95, of
        # which MAX_CHECKS were checked in representative order, its original not always)
        framed = pixels(g) / EMBEDDED
        ranked = 0

        def keyed() -> Iterator[tuple[tuple[int, int], int, int, Features]]:
            nonlocal ranked
            for r in proposed:
                theirs = look(r)
                if theirs is not None:
                    ranked += 1
                    frame = pixels(r) > framed and _could_show(theirs, mine)
                    key = (0, 0) if frame else (1, -strength(theirs, mine))
                    yield key, rank[r], r, theirs

        chosen = heapq.nsmallest(MAX_CHECKS, keyed(), key=lambda item: item[:2])
        unchecked += max(0, ranked - MAX_CHECKS)
        return [(r, theirs) for _, _, r, theirs in chosen]

    for g in order:
        # the hashes propose through any member already placed; the check is against that
        # member's representative itself
        proposed = {placed[h] for h in neighbours.get(g, ()) if h in placed}
        tried[g] = proposed
        # placed[] holds representatives only: no scan of every representative (100,000
        # plain pictures are 100,000 representatives)
        found = None
        # representatives whose larger frames show g (screenshots ranked first by their
        # pixels): g's own cluster is looked for first
        frames: list[tuple[int, Verification, Features]] = []
        mine = look(g) if proposed else None
        for r, theirs in strongest(g, mine, proposed) if mine is not None else ():
            assert mine is not None  # narrowed for the type checker
            check = verify(theirs, mine)
            if not check.verified:
                refused.add(g, r, check)
                continue
            if r not in inside and _shows(check, mine, theirs):
                frames.append((r, check, theirs))
                continue
            found = (r, check)
            break
        if frames and mine is not None:
            if found is None:
                r, check, theirs = frames[0]
                if absorb(g, mine, r, theirs, new=True):
                    # g leads the cluster of the frame that shows it, and the other frames
                    # that show it (a desktop and a phone screenshot of one picture) follow:
                    # else g would be a member of the second, and the next copy of it to
                    # pass against that screenshot (a mirror) would lead g's cluster
                    for r, _, theirs in frames[1:]:
                        absorb(g, mine, r, theirs, new=False)
                    continue
                found = (r, check)
                inside.add(r)
                frames = frames[1:]
            leader = look(found[0])
            for r, _, theirs in frames if leader is not None else ():
                assert leader is not None  # narrowed for the type checker
                absorb(found[0], leader, r, theirs, new=False)
        placed[g] = g if found is None else found[0]
        if found is None:
            reps.append(g)
        else:
            joined[g] = found
            members.setdefault(found[0], []).append(g)
            features.pop(g, None)  # only representatives are looked at again
    reps = [g for g in (_successor(r, succeeded) for r in reps) if g is not None]
    reps = _gather(reps, joined, placed, neighbours, rank, tried, refused, look)
    out: dict[int, tuple[list[int], dict[int, Verification]]] = {
        r: (list(groups[r]), {}) for r in reps
    }
    for g, (r, check) in joined.items():
        rows, checks = out[r]
        rows.extend(groups[g])
        checks.update(dict.fromkeys(groups[g], check))
    return [(rows, checks) for rows, checks in out.values() if len(rows) > 1], unchecked


def _successor(r: int, succeeded: dict[int, int | None]) -> int | None:
    """The representative in r's place in the order: r's successor's, and so on."""
    found: int | None = r
    while found is not None and found in succeeded:
        found = succeeded[found]
    return found


def _gather(
    reps: list[int],
    joined: dict[int, tuple[int, Verification]],
    placed: dict[int, int],
    neighbours: dict[int, set[int]],
    rank: dict[int, int],
    tried: dict[int, set[int]],
    refused: Refused,
    look: Callable[[int], Features | None],
) -> list[int]:
    """A second look, once every group is placed: a representative tries the
    representatives its candidates went to that it could not try when its turn came (an
    original whose candidates are copies ranked after it, placed since in a screenshot's
    cluster; a screenshot whose shown picture proposed copies of its original). It takes
    over one that shows it inside a larger frame or ranks after it if every member passes
    against it, or moves there with those of its members that pass against that
    representative, if they are most of them. A pair a check found no fit for (the later
    one checked against the earlier at its turn) is not checked again the other way. No
    chaining: a member is always checked directly against its representative. Returns the
    representatives."""
    members: dict[int, list[int]] = {}
    for m, (r, _) in joined.items():
        members.setdefault(r, []).append(m)

    def move(groups: dict[int, Verification], left: list[int], to: int, gone: int) -> None:
        """`groups` join `to`; `gone` is a representative no longer, and those of its
        members that did not pass against `to` (`left`) are left on their own."""
        for m, check in groups.items():
            joined[m] = (to, check)
            placed[m] = to
        for m in left:
            joined.pop(m, None)
            placed[m] = m
            alone.append(m)
        joined.pop(to, None)
        placed[to] = to
        members.setdefault(to, []).extend(groups)
        members.pop(gone, None)
        moved.add(gone)

    def takeover(g: int, r: int) -> bool:
        """g, shown inside r's larger frame, becomes the representative of r's cluster
        if every member of it passes against g."""
        theirs, mine = look(r), look(g)
        if theirs is None or mine is None:
            return False
        back = verify(mine, theirs)
        if not back.verified:
            return False
        passed, failed = _checked(look, mine, [m for m in members.get(r, []) if m != g])
        if failed:
            return False
        move({r: back, **passed}, failed, g, r)
        return True

    moved: set[int] = set()
    alone: list[int] = []
    for g in reps:
        if g in moved:
            continue
        # only representatives it could not try at its turn: its candidates ranked after it
        # then (a screenshot whose shown picture proposed copies of its original, the
        # window's keys other screenshots)
        fresh = {placed[h] for h in neighbours.get(g, ())} - tried.get(g, set())
        proposed = [r for r in fresh if r != g and placed[r] == r and r not in moved]
        for r in sorted(proposed, key=rank.__getitem__):
            if (g, r) in refused:
                continue
            theirs, mine = look(r), look(g)
            if theirs is None or mine is None:
                continue
            first = verify(theirs, mine)
            if not first.verified:
                refused.add(g, r, first)
                continue
            # g is the likelier original: r shows it inside a larger frame, or r took over
            # a cluster (absorb) and ranks after g. It leads r's cluster only if all of it
            # passes against g (a brightened copy whose clipped whites fail against the
            # original, which joined a crop of it: the cluster is not broken up); else g
            # joins r, against which it passed
            larger = _shows(first, mine, theirs) or rank[g] < rank[r]
            if larger and takeover(g, r):
                break
            passed, failed = _checked(look, theirs, members.get(g, []))
            if len(passed) >= len(failed):  # g and most of its members go to r
                move({g: first, **passed}, failed, r, g)
                break
    return [g for g in reps if g not in moved] + alone


class Refused:
    """Pairs of groups (of n rows) a check found no fit for, either way round: verify()
    looks for each picture in the other (crops, pictures shown inside a frame, mirrors), so
    the other order is the same question. The gather pass re-asked it for every two
    representatives that proposed each other: 451 of 1,290 checks of a scan of 200 photos,
    each refused again (and 347 of quick seed 2's 2,384). A content refusal is asked again:
    it is judged on one picture brought onto the other, and near its thresholds the order
    can decide (quick seed 1: a centred crop refused against a brightened copy at 0.638,
    passing the other way round at 0.665)."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._pairs: set[int] = set()

    def _key(self, a: int, b: int) -> int:
        return min(a, b) * self._n + max(a, b)

    def add(self, a: int, b: int, check: Verification) -> None:
        if check.reason == "no geometric fit":
            self._pairs.add(self._key(a, b))

    def __contains__(self, pair: tuple[int, int]) -> bool:
        return self._key(*pair) in self._pairs


def _checked(
    look: Callable[[int], Features | None], rep: Features, groups: list[int]
) -> tuple[dict[int, Verification], list[int]]:
    """The groups that pass against `rep` (with their checks), and those that do not."""
    passed, failed = {}, []
    for m in groups:
        mine = look(m)
        check = verify(rep, mine) if mine is not None else None
        if check is not None and check.verified:
            passed[m] = check
        else:
            failed.append(m)
    return passed, failed


# A picture lies in one of a frame's boxes (Features.boxes) when their intersection is at
# least this share of their union: a box is found on a 256 px copy, a few pixels off.
SAME_BOX = 0.5


def _shows(check: Verification, inner: Features, outer: Features) -> bool:
    """Whether `outer` shows `inner` as a picture inside a larger frame (a screenshot, a page
    around it), by `check` (inner against outer, verified): inner covers less than EMBEDDED
    of outer's frame, and outer shows a picture there: it was verified on a closer look at
    one (check.closer), outer has a box of inner's shape (a booth capture's box in a
    screenshot may be found a little off its fit), or inner's fit falls on one of its boxes.
    A centred crop of a photograph covers less of it too, but nothing is shown there (a
    photograph fills its frame; a scanned page shows its document, a card, not a page): the
    original keeps its cluster."""
    covered = _footprint(check, inner, outer)
    if covered >= EMBEDDED:
        return False
    if check.closer or _could_show(outer, inner, covered * outer.gray.size):
        return True
    box = placed(outer, inner, check.mirrored)
    return box is not None and any(_overlap(box, shown) >= SAME_BOX for shown in outer.boxes)


# A frame's box could show a picture when their shapes (width over height) differ by at
# most SAME_SHAPE: a box is found on a 256 px copy, a few pixels off. Not either way round:
# a scanned page's document (a card, 1.58) is then the page's shape turned (1 / 0.71).
SAME_SHAPE = 0.15
SAME_SIZE = 0.5


def _could_show(frame: Features, picture: Features, area: float | None = None) -> bool:
    """Whether one of the frame's boxes has the picture's shape, and, given the `area` (frame
    pixels) the picture covers there, SAME_SIZE of it (a booth capture's card is a box of
    a photograph's shape, a fifth of the frame a centred crop of it covers)."""
    h, w = picture.gray.shape
    shape = w / h
    for left, top, right, bottom in frame.boxes:
        if right <= left or bottom <= top:
            continue
        if abs((right - left) / (bottom - top) / shape - 1) > SAME_SHAPE:
            continue
        if area is None or SAME_SIZE <= (right - left) * (bottom - top) / area <= 1 / SAME_SIZE:
            return True
    return False


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two boxes (left, top, right, bottom)."""
    both = intersection(a, b)
    if not both:
        return 0.0
    return both / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - both)


def _footprint(check: Verification, inner: Features, outer: Features) -> float:
    """The share of `outer`'s frame that `inner` covers, by the check's fit (inner's points
    onto outer's, working copy pixels)."""
    h, w = inner.gray.shape
    return min(1.0, float(h * w) * check.scale**2 / float(outer.gray.size))
