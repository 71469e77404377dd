"""Compare a leak with a reference: exact, same-pixel and near matches, unmatched images."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from kyctriage.match import cross, search, shards
from kyctriage.match.clusters import THRESHOLDS, colour_distance, relate, transformations
from kyctriage.match.entries import Arrays, Entry, ViewMap, entries, entry
from kyctriage.match.verify import UNSEEN, Features, verify
from kyctriage.model import FileRecord, Thresholds, Verification
from kyctriage.probes.hashes import CUT_VIEWS, TURN_VIEW

EXACT, SAME_PIXELS, NEAR, UNMATCHED = "exact", "same-pixels", "near", "unmatched"
# A near candidate whose check could not look: its pictures could not be had (an index whose
# source is gone or changed) or are too plain to tell from a look-alike. Never a plain near.
UNVERIFIED = "unverified-candidate"
ERROR, SKIPPED = "error", "skipped"  # not compared: the record's own status, kept (count in = out)
STATUSES = (EXACT, SAME_PIXELS, NEAR, UNVERIFIED, UNMATCHED, ERROR, SKIPPED)
_ORDER = {EXACT: 0, SAME_PIXELS: 1, NEAR: 2, UNVERIFIED: 3}
# Leak wave 2 against wave 1: what each status means for an image of the later wave.
WAVE_TERMS = {EXACT: "repeated", SAME_PIXELS: "repeated", NEAR: "changed", UNVERIFIED: "unverified",
              UNMATCHED: "new"}  # fmt: skip
# The features of a side's pictures, in the order asked, or why a picture cannot be had (gone,
# changed since it was scanned or indexed, unreachable, undecodable).
Pictures = Callable[[Sequence[Entry]], Sequence[Features | str]]
# Leak images verified at a time: their pictures and their candidates' are held only meanwhile.
CHUNK = 64
# Near candidates of the global hashes checked per leak image, closest first. An archive of
# millions of one template's documents can propose thousands of look-alikes for one scan,
# each a picture to read and check; those beyond are counted (LeakImage.unchecked), and an
# image none of whose checked candidates verified shows its UNCHECKED_SHOWN closest unchecked
# ones as unverified candidates: never `unmatched` while a candidate was left unlooked at.
# The candidates of local features are few a picture by construction (cross.py) and all
# checked. On the bench's sets no image has more than ~15 candidates (bench/README.md).
MAX_CHECKS = 64
UNCHECKED_SHOWN = 3


@dataclass(frozen=True)
class Match:
    """One reference record a leak image matches."""

    root: str
    path: str
    sha256: str
    kind: str  # EXACT, SAME_PIXELS, NEAR or UNVERIFIED
    view: str  # how the leak image lines up with the reference one
    distances: tuple[tuple[str, int], ...]
    transformations: tuple[str, ...]  # likeliest steps from the reference image to the leaked one
    # NEAR: what verified it (the leak picture checked against the reference one); UNVERIFIED:
    # why it could not be checked. None for exact and same-pixel matches (identity).
    verification: Verification | None = None


@dataclass(frozen=True)
class LeakImage:
    root: str
    path: str
    sha256: str | None
    status: str  # the best match's kind, UNMATCHED, or ERROR / SKIPPED (not compared)
    matches: tuple[Match, ...]  # best first
    error: str | None = None
    rejected: int = 0  # near candidates of the global hashes that failed their check (dropped)
    unchecked: int = 0  # near candidates beyond the MAX_CHECKS closest, not checked


@dataclass(frozen=True)
class Affected:
    """A reference record that appears in the leak (for breach notification)."""

    root: str
    path: str
    sha256: str
    best: str  # the strongest kind of match
    leaked_as: tuple[str, ...]  # the leak images that match it


@dataclass(frozen=True)
class Comparison:
    thresholds: Thresholds
    images: tuple[LeakImage, ...]
    affected: tuple[Affected, ...]
    reference_count: int
    crowded_buckets: int
    leak: Side | None = None  # the sides as opened (the front door's compare fills them)
    reference: Side | None = None

    def totals(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for image in self.images:
            counts[image.status] += 1
        return {
            "leak": len(self.images), **counts, "reference": self.reference_count,
            "affected": len(self.affected),
        }  # fmt: skip

    def waves(self) -> dict[str, int]:
        """The later wave against the earlier one: repeated, changed and new images."""
        counts = {"repeated": 0, "changed": 0, "unverified": 0, "new": 0}
        for image in self.images:
            if image.status in WAVE_TERMS:
                counts[WAVE_TERMS[image.status]] += 1
        return counts


@dataclass(frozen=True)
class Side:
    """One side of a comparison, as given: a scan's records or an index's entries."""

    source: str
    records: tuple[FileRecord, ...] = ()
    entries: tuple[Entry, ...] = ()
    left_out: tuple[str, ...] = ()  # archive members not unpacked (links, duplicates), and why
    index: str | None = None  # a sharded index (directory): searched for the leak, not loaded
    looks: Looks | None = None  # a side scanned now: its pictures as its workers saw them
    notes: tuple[str, ...] = ()  # what the side cannot give (an index made before OLD_INDEX)


class Looks(Protocol):
    """What a side's scan kept of its pictures (scanning/looks.Looks), by entry: features
    for verification and descriptors for the candidate search; None for a picture too plain
    to verify or not kept."""

    def features(self, e: Entry) -> Features | None: ...

    def keys(self, e: Entry) -> NDArray[np.uint8] | None: ...

    def shown(self, e: Entry) -> tuple[NDArray[np.uint8], ...]: ...

    def more(self, e: Entry) -> NDArray[np.uint64] | None: ...

    def turned(self, e: Entry) -> NDArray[np.uint64] | None: ...


Pairs = set[tuple[int, int]]

# An index whose rows have no cut views was made before the scans recorded them (and the
# pictures an image shows): a one-side crop or a screenshot finds nothing in it. An old index
# added to since (`index add`) has such rows among new ones.
OLD_INDEX = (
    "made before kyctriage recorded one-side cuts and the pictures an image shows: crops "
    "and screenshots cannot be found in it; rebuild it (`kyctriage index build`)"
)
OLD_ROWS = (
    "rows were indexed before kyctriage recorded one-side cuts and the pictures an image "
    "shows: crops and screenshots cannot be found among them; rebuild it (`kyctriage index "
    "build`)"
)


def old_index(uncut: int, rows: int) -> tuple[str, ...]:
    """What an index of `rows` rows, `uncut` of them without cut views, cannot give: OLD_INDEX
    when no row has them, how many have not when some have, else nothing."""
    if uncut <= 0:
        return ()
    return (OLD_INDEX,) if uncut >= rows else (f"{uncut} of {rows} {OLD_ROWS}",)


def _near_pairs(leak: Arrays, ref: Arrays, loose: bool = False) -> tuple[Pairs, Pairs, int]:
    """(leak row, reference row) pairs that pass the rule, upright or in a view; `loose`:
    or LOOSE's (search.LOOSE, for candidates a check decides), returned apart too: the
    pairs only it proposes."""
    pairs: Pairs = set()
    strict: Pairs = set()

    def add(found: search.Matches, leak_rows: list[int], ref_rows: list[int]) -> None:
        both = list(zip(leak_rows, ref_rows, strict=True))
        pairs.update(both)
        kept = search.strict(list(found.distances.T)).tolist() if loose else [True] * len(both)
        strict.update(pair for pair, ok in zip(both, kept, strict=True) if ok)

    found = search.search(leak.full, ref.full, same_set=False, loose=loose)
    crowded = found.crowded
    add(found, found.query.tolist(), found.base.tolist())
    for k in range(len(search.VIEWS)):
        rows = np.nonzero(leak.has_view[:, k])[0]
        if len(rows):
            found = search.search(leak.views[rows, k], ref.full, same_set=False, loose=loose)
            add(found, rows[found.query].tolist(), found.base.tolist())
            crowded += found.crowded
        rows = np.nonzero(ref.has_view[:, k])[0]
        if len(rows):
            found = search.search(ref.views[rows, k], leak.full, same_set=False, loose=loose)
            add(found, found.base.tolist(), rows[found.query].tolist())
            crowded += found.crowded
        # a picture a leak image shows against the reference's views (a screenshot's box
        # drawn a little inside the picture: its crop), as a sharded index searches them
        if len(rows) and len(leak.shown):
            found = search.search(leak.shown, ref.views[rows, k], same_set=False, loose=loose)
            add(found, leak.shown_of[found.query].tolist(), rows[found.base].tolist())
            crowded += found.crowded
    # the pictures a leak image shows (a screenshot's photograph, a page's document) against
    # the reference's images and the pictures those show; a leak image against the latter
    # (a document cut from its page)
    for queries, owners, base, rows_of in (
        (leak.shown, leak.shown_of, ref.full, None),
        (leak.shown, leak.shown_of, ref.shown, ref.shown_of),
        (leak.full, None, ref.shown, ref.shown_of),
    ):
        if len(queries) and len(base):
            found = search.search(queries, base, same_set=False, loose=loose)
            add(found, (found.query if owners is None else owners[found.query]).tolist(),
                (found.base if rows_of is None else rows_of[found.base]).tolist())  # fmt: skip
            crowded += found.crowded
    # a one-side crop: the leak image, or it cut further from an edge, against the
    # reference's images cut from that edge (hashes.CUT_MORE says why)
    everyone = np.arange(len(leak), dtype=np.intp)
    for k in range(len(CUT_VIEWS)):
        rows = np.nonzero(ref.has_cut[:, k])[0]
        at = leak.more_edge == k
        queries = np.concatenate([leak.full, leak.more[at]])
        if len(rows) and len(queries):
            found = search.search(queries, ref.cut[rows, k], same_set=False, loose=loose)
            owners = np.concatenate([everyone, leak.more_of[at]])
            add(found, owners[found.query].tolist(), rows[found.base].tolist())
            crowded += found.crowded
    # a copy turned a few degrees: the leak image turned back, against the reference's images
    # cut as hashes.TURN_VIEW is
    k = search.VIEWS.index(TURN_VIEW)
    rows = np.nonzero(ref.has_view[:, k])[0]
    if len(rows) and len(leak.turned):
        found = search.search(leak.turned, ref.views[rows, k], same_set=False, loose=loose)
        add(found, leak.turned_of[found.query].tolist(), rows[found.base].tolist())
        crowded += found.crowded
    return pairs, pairs - strict, crowded


def compare(
    leak: Side, reference: Side, views: ViewMap | None = None,
    pictures: tuple[Pictures, Pictures] | None = None,
    find: Callable[[str, Arrays, int | None], shards.Found] = shards.find,
    max_checks: int = MAX_CHECKS,
    progress: Callable[[int, int], None] | None = None,
    threads: int = 1,
) -> Comparison:  # fmt: skip
    """Match every leak image against the reference; `views` adds view hashes by (root, path)
    for records that do not carry them (either side). The global hashes only propose near
    candidates: each is checked on the pictures (`pictures`: the leak side's, the reference
    side's) and reported near only when verified; one that cannot be checked is UNVERIFIED.
    At most `max_checks` of an image's candidates are checked, its closest (MAX_CHECKS).
    `progress(done, total)`: the leak images whose candidates have been checked, by
    `threads` threads. `find` searches a sharded reference index (on a cluster:
    kyctriage.distributed.search)."""
    leak_items: list[Entry] = []
    unreadable: list[FileRecord] = []
    for record in leak.records:
        given = views.get((record.root, record.path), ()) if views is not None else ()
        made = entry(record, given)
        if made is None:
            unreadable.append(record)
        else:
            leak_items.append(made)
    leak_items.extend(leak.entries)
    ref_items = entries(reference.records, views) + list(reference.entries)
    unseen = 0  # rows of a sharded index that match no leak image (never loaded)
    # a leak image looked at now is also hashed cut further from each edge (one-side crops)
    # and turned back a few degrees (turned copies)
    lk = (Arrays(leak_items, more=leak.looks.more, turned=leak.looks.turned)
          if leak.looks is not None else Arrays(leak_items))  # fmt: skip
    beyond = np.zeros(len(lk), np.int64)  # near rows of an index found but not loaded
    if reference.index is not None:
        searched = find(reference.index, lk, max_checks + UNCHECKED_SHOWN)
        ref_items.extend(searched.entries)
        unseen = searched.rows - len(searched.entries)
        if len(searched.beyond):
            beyond = searched.beyond
    rf = Arrays(ref_items)
    by_sha: dict[str, list[int]] = {}
    by_data: dict[str, list[int]] = {}
    for j, e in enumerate(rf.entries):
        by_sha.setdefault(e.sha256, []).append(j)
        if e.data_sha256:
            by_data.setdefault(e.data_sha256, []).append(j)
    # where the pictures can be checked, the hashes propose loosely too (a flat white page's
    # wavelet bits flip on a re-encode: a mirrored scan); such a pair is no candidate when
    # its check cannot look
    near, loose, crowded = (
        _near_pairs(lk, rf, loose=pictures is not None)
        if len(lk) and len(rf)
        else (set(), set(), 0)
    )
    local: Pairs = set()
    if leak.looks is not None and reference.looks is not None:
        local = _local_pairs(lk, rf, leak.looks, reference.looks)
        near |= local
    near_of: dict[int, list[int]] = {}
    for i, j in sorted(near):
        near_of.setdefault(i, []).append(j)
    proposed: list[dict[int, str]] = []
    for i, e in enumerate(lk.entries):
        found: dict[int, str] = dict.fromkeys(by_sha.get(e.sha256, ()), EXACT)
        for j in by_data.get(e.data_sha256, ()) if e.data_sha256 else ():
            found.setdefault(j, SAME_PIXELS)
        for j in near_of.get(i, ()):
            found.setdefault(j, NEAR)
        proposed.append(found)
    if pictures is not None:  # what the sides' scans saw first, the rest read again
        pictures = (_looked(leak.looks, pictures[0]), _looked(reference.looks, pictures[1]))
    wanted, unchecked = _closest(lk, rf, proposed, local, max_checks)
    checks = _checks(lk, rf, wanted, pictures, progress, threads)
    images = []
    hits: dict[int, list[tuple[str, str]]] = {}
    for i, (e, found) in enumerate(zip(lk.entries, proposed, strict=True)):
        matches = []
        rejected = 0
        left = set(unchecked.get(i, ()))
        left_out = len(left) + int(beyond[i])
        if left_out and not any(k != NEAR or checks[(i, j)].verified for j, k in found.items()
                                if j not in left):  # fmt: skip
            shown = [j for j in unchecked.get(i, ()) if (i, j) not in loose][:UNCHECKED_SHOWN]
            why = Verification(False, f"{_NOT_CHECKED}{left_out} candidates beyond the "
                                      f"{max_checks} closest of this image")  # fmt: skip
            checks.update({(i, j): why for j in shown})
            left -= set(shown)
        for j, proposed_kind in found.items():
            if j in left:
                continue
            kind, check = proposed_kind, checks.get((i, j))
            if check is not None and not check.verified:
                if not _could_not_look(check):
                    rejected += 1
                    continue
                if (i, j) in loose:
                    continue
                kind = UNVERIFIED
            r = rf.entries[j]
            view, fraction, dist = relate((rf, j), (lk, i))
            colour = colour_distance((rf, j), (lk, i))
            matches.append(
                Match(
                    root=r.root, path=r.path, sha256=r.sha256, kind=kind, view=view,
                    distances=tuple(zip(search.KINDS, map(int, dist), strict=True))
                    + (("colorhash", colour),),
                    transformations=transformations(r, e, view, fraction, colour),
                    verification=check,
                )
            )  # fmt: skip
            hits.setdefault(j, []).append((kind, e.path))
        matches.sort(key=_rank)
        status = matches[0].kind if matches else UNMATCHED
        images.append(LeakImage(e.root, e.path, e.sha256, status, tuple(matches),
                                rejected=rejected, unchecked=left_out))  # fmt: skip
    images.extend(
        LeakImage(
            r.root,
            r.path,
            r.sha256,
            SKIPPED if r.status == SKIPPED else ERROR,
            (),
            r.error or "no perceptual hashes",
        )
        for r in unreadable
    )
    images.sort(key=lambda im: (im.root, im.path))
    affected = [
        Affected(
            root=rf.entries[j].root, path=rf.entries[j].path, sha256=rf.entries[j].sha256,
            best=min((k for k, _ in got), key=_ORDER.__getitem__),
            leaked_as=tuple(sorted({p for _, p in got})),
        )
        for j, got in hits.items()
    ]  # fmt: skip
    affected.sort(key=lambda a: (a.root, a.path))
    return Comparison(THRESHOLDS, tuple(images), tuple(affected), len(rf) + unseen, crowded)


def _closest(
    lk: Arrays, rf: Arrays, proposed: list[dict[int, str]], local: Pairs, most: int
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Per leak row, the near candidates to check and those left unchecked (closest first):
    every one local features proposed, and the `most` closest of the global hashes' (the
    relation's summed distances, as the report gives them)."""
    wanted: dict[int, list[int]] = {}
    left: dict[int, list[int]] = {}
    for i, found in enumerate(proposed):
        near = [j for j, k in found.items() if k == NEAR]
        hashed = [j for j in near if (i, j) not in local]
        if len(hashed) > most:
            hashed.sort(key=lambda j: (int(relate((rf, j), (lk, i))[2].sum()), j))
            left[i] = hashed[most:]
            near = [j for j in near if (i, j) in local] + hashed[:most]
        wanted[i] = near
    return wanted, left


def _local_pairs(lk: Arrays, rf: Arrays, leak: Looks, ref: Looks) -> set[tuple[int, int]]:
    """(leak row, reference row) candidates from local features (cross.py): crops,
    screenshots and re-posts whose global hashes moved. One picture per SHA-256 on each side
    (exact copies would crowd every bucket), its candidates given to all its copies."""
    leak_copies, ref_copies = _copies(lk), _copies(rf)
    leak_keys = [leak.keys(lk.entries[rows[0]]) for rows in leak_copies]
    ref_keys = [ref.keys(rf.entries[rows[0]]) for rows in ref_copies]
    a, b = cross.between(leak_keys, ref_keys)
    # a leak picture's pictures shown inside it (a screenshot's photograph) search apart
    inner = [
        (x, desc) for x, rows in enumerate(leak_copies) for desc in leak.shown(lk.entries[rows[0]])
    ]
    found, b_shown = cross.between([desc for _, desc in inner], ref_keys)
    a = np.concatenate([a, np.array([x for x, _ in inner], np.intp)[found]])
    b = np.concatenate([b, b_shown])
    return {(i, j) for x, y in zip(a.tolist(), b.tolist(), strict=True)
            for i in leak_copies[x] for j in ref_copies[y]}  # fmt: skip


def _copies(table: Arrays) -> list[list[int]]:
    """The rows of each SHA-256 (the entries are in SHA-256 order)."""
    out: dict[str, list[int]] = {}
    for row, e in enumerate(table.entries):
        out.setdefault(e.sha256, []).append(row)
    return list(out.values())


def _looked(looks: Looks | None, reader: Pictures) -> Pictures:
    """A side's pictures: as its scan's workers saw them where kept, else read again."""
    if looks is None:
        return reader

    def get(items: Sequence[Entry]) -> list[Features | str]:
        seen: list[Features | str | None] = [looks.features(e) for e in items]
        missing = [i for i, got in enumerate(seen) if got is None]
        for i, got in zip(missing, reader([items[i] for i in missing]), strict=True):
            seen[i] = got
        return [got for got in seen if got is not None]

    return get


def _rank(m: Match) -> tuple[int, float, float, int, float, int, str, str]:
    """Identity first, then verified near matches by how well they verified: the weakest
    region's agreement first (another customer of one template agrees in the layout and
    differs in one place, the portrait or a name: it is the weakest region that tells them
    apart), then the share of cells agreeing, the consistent keypoints and the overlap;
    then the hashes' distances."""
    v = m.verification
    if v is None or not v.verified:
        weakest = agreement = overlap = 0.0
        inliers = 0
    else:
        weakest, overlap, inliers = v.weakest_region, v.overlap, v.inliers
        agreement = v.agreeing / v.blocks if v.blocks else 0.0
    hashes = sum(d for _, d in m.distances[:3])
    return (_ORDER[m.kind], -weakest, -agreement, -inliers, -overlap, hashes, m.root, m.path)


_NOT_HAD = "picture not had: "
_NOT_CHECKED = "not checked: "


def _could_not_look(check: Verification) -> bool:
    """Undecided, not refuted: a picture could not be had, is too plain to tell apart, is
    shown too small to check, or was left unchecked (MAX_CHECKS)."""
    return (_NOT_HAD in check.reason or check.reason in ("low information", UNSEEN)
            or check.reason.startswith(_NOT_CHECKED))  # fmt: skip


def _checks(
    lk: Arrays,
    rf: Arrays,
    wanted: dict[int, list[int]],
    pictures: tuple[Pictures, Pictures] | None,
    progress: Callable[[int, int], None] | None = None,
    threads: int = 1,
) -> dict[tuple[int, int], Verification]:
    """Each (leak row, reference row) near candidate checked on the two pictures: the
    reference picture first (verify's a), the leak picture second (its crop, its embedding).
    Leak images are taken CHUNK at a time, so only their pictures and their candidates' are
    held; a picture is read once per chunk. A chunk's checks run on `threads` threads:
    OpenCV's, faiss's and numpy's work on whole pictures releases the GIL, and a check is a
    function of its two pictures alone (a picture's keypoints found when first needed may
    be found twice, the same), so the answers do not depend on the threads."""
    out: dict[tuple[int, int], Verification] = {}
    rows = [i for i in sorted(wanted) if wanted[i]]
    with ThreadPoolExecutor(max(1, threads)) as pool:
        for start in range(0, len(rows), CHUNK):
            part = rows[start : start + CHUNK]
            refs = sorted({j for i in part for j in wanted[i]})
            if pictures is None:
                nothing = Verification(False, f"the {_NOT_HAD}none was given to compare")
                out.update({(i, j): nothing for i in part for j in wanted[i]})
                continue
            seen_leak = dict(zip(part, pictures[0]([lk.entries[i] for i in part]), strict=True))
            seen_ref = dict(zip(refs, pictures[1]([rf.entries[j] for j in refs]), strict=True))
            pairs = [(i, j) for i in part for j in wanted[i]]
            refs_of, leaks_of = [seen_ref[j] for _, j in pairs], [seen_leak[i] for i, _ in pairs]
            out.update(zip(pairs, pool.map(_check, refs_of, leaks_of), strict=True))
            if progress is not None:
                progress(start + len(part), len(rows))
    return out


def _check(ref: Features | str, shown: Features | str) -> Verification:
    """One candidate's check: the reference picture against the leak's, or why it cannot be."""
    if isinstance(ref, str):
        return Verification(False, f"reference {_NOT_HAD}{ref}")
    if isinstance(shown, str):
        return Verification(False, f"leak {_NOT_HAD}{shown}")
    return verify(ref, shown)
