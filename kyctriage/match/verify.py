"""Is it the same photograph? Local features, a geometric fit, then the content in the overlap."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from kyctriage.model import Verification
from kyctriage.probes import shown as shown_hashes

# The working copy's longest side: the scan's preview (256-511 px for a JPEG drafted by DCT
# scaling, at most 512 otherwise) is used as it is; larger pictures are reduced to this.
WORK = 1024
# ORB (OpenCV's, rotation invariant: 90-degree turns need no extra view). Small borders and
# patches because previews are small; 600 keypoints leave enough on the half of a picture
# that a one-side crop or a screenshot keeps.
KEYPOINTS = 600
PATCH = 19
# FAST's threshold (grey levels) for ORB's corners; a picture is first searched at STRONG.
# A corner's FAST score does not depend on the threshold, and ORB keeps each pyramid level's
# best-scored corners (twice the level's share, then the best by Harris score): where every
# level has twice its share scoring STRONG or more, both searches keep the same keypoints,
# and the stronger one costs about half (a 12 MP photo's 1024 px copy: 10.6 against 18.5
# ms). Every keypoint the same on 60 of 60 generated 12 MP photos; 593-598 of 600 on the
# corpus's camera photos; KYC bench pages and captures 99% (45 of 64 originals all). A
# picture with fewer than KEYPOINTS such corners (a white page, a flat scene) is searched
# again at FAST_THRESHOLD, and its keypoints are those of that search.
FAST_THRESHOLD = 10
STRONG = 20
# A picture with fewer keypoints than this, or fewer informative blocks than MIN_BLOCKS,
# cannot be told from its look-alikes (flat colours, a white page with a line of text): it is
# linked only by exact or same-pixel identity.
MIN_KEYPOINTS = 24
BLOCK = 16
MIN_BLOCKS = 24
# Lowe's ratio test on Hamming distances, then a RANSAC similarity (scale, turn, shift, and
# mirror through mirrored keypoints): at least MIN_INLIERS consistent matches.
RATIO = 0.8
MIN_INLIERS = 12
REPROJECT = 3.0  # pixels of the working copy
# A picture shown small inside another (a screenshot: 1/3 to 1/6 of its original's working
# copy) is beyond ORB's pyramid (8 levels of 1.2 span 3.6x), and the frame's chrome takes
# many of its keypoints. When neither orientation fits, each picture's keypoints are matched
# against the other's detected on a copy reduced COARSE times (the pyramids then span
# 1/COARSE to 3.6/COARSE: scales of 3 to 11 between the pictures).
COARSE = 3.0
# Content check, after the fit is refined on the pixels (REFINE_STEPS of ECC): the second
# picture warped onto the first (the smaller picture is the frame), both high-passed
# (detail, not brightness or colour, which re-posting changes) and compared by local
# normalised correlation in a Gaussian WINDOW around each CELL x CELL cell. A cell is
# informative when either side has detail (std >= TEXTURE grey levels): detail facing none
# is a difference. When one side clips more (brightening whitens a light page), the
# other is first put through the tone curve between them; then a pixel one side clipped
# and the other did not decides nothing only when both are light (or both dark).
REFINE_STEPS = 20
HIGH_PASS_SIGMA = 3.0
FINE_SIGMA = 0.8
CELL = 4
WINDOW = 4.0
TEXTURE = 3.0
NOISE = 1.0  # grey levels squared: the high-pass of a flat, grainy area
SATURATED = 250
# Tones are matched when one side clips at least CLIP_SHARE more of the overlap; a pixel
# within CLIP_EDGE grey levels of the clip on both sides is at its edge.
CLIP_SHARE = 0.02
CLIP_EDGE = 24
CURVE_SAMPLES = 16
AGREE = 0.5
DIFFER = 0.2
MIN_CELLS = MIN_BLOCKS * (BLOCK // CELL) ** 2
# Same photograph: at least MIN_AGREEMENT of the informative cells agree, and no region of
# REGION x REGION cells (32 px) agrees less than MIN_REGION on average. A copy's flaws (a
# re-encode, a resampling, the fit) are spread thin; another customer of one template agrees
# in the layout and guilloche and differs in one place: the portrait, a name, a number.
MIN_AGREEMENT = 0.9
REGION = 8
MIN_REGION = 0.65
# A picture compared brought down REDUCED times or more (shown small: a screenshot, a page
# around it) must agree in every informative cell: the reduction averages a copy's flaws away
# (true screenshots of the tuning set: lowest cell 0.64), while another customer's document of
# the same template, that small, differs in a few cells only (the portrait, a name: 4-16
# cells below AGREE, too few to pull a 32 px region under MIN_REGION). A cursor drawn over
# the picture therefore fails the check: a missed match, never a wrong one.
REDUCED = 1.5
# That small, another customer's document can agree in every cell of detail (the portrait
# and the name a few pixels across, the layout the template's) and still differ in colour:
# clothes, skin, hair. A reduced comparison that agrees in detail is then compared in colour:
# both pictures' chroma (Cb, Cr at half the working copy's size, smoothed COLOUR_SIGMA),
# the second's matched to the first's by one affine map over the overlap (a re-posting's
# white balance and saturation), and no COLOUR_CELL x COLOUR_CELL cell may differ by more
# than MAX_COLOUR_DIFFERENCE chroma levels (tuning set: copies 4.3 at most, other customers
# 11 at least). Where either side has no colour to speak of (a grey copy, a sepia filter:
# chroma spread under MIN_CHROMA), or light or dark that clips, colour decides nothing.
COLOUR_SIGMA = 1.0
COLOUR_CELL = 4
MAX_COLOUR_DIFFERENCE = 8.0
MIN_CHROMA = 2.0
MIN_OVERLAP = 0.2  # of the smaller picture: a sliver is not a match
# A fit whose overlap has fewer than MIN_CELLS cells of detail cannot confirm a match, but
# its coarse structure can still refute one: a chance fit that puts the whole of one
# photograph into a few dozen pixels of another (a look-alike's keypoints matched across a
# scale the pyramids cannot span). The two sides' grey levels, smoothed COARSE_SIGMA pixels
# of the smaller frame, correlate under COARSE_DIFFER: the content differs. Where either
# side is flat there (spread under COARSE_FLAT grey levels), nothing is decided.
COARSE_SIGMA = 1.5
COARSE_DIFFER = 0.5
COARSE_FLAT = 4.0


@dataclass(frozen=True, eq=False)
class Features:
    """What verification needs of one picture: its grey working copy and ORB features."""

    gray: NDArray[np.uint8]
    points: NDArray[np.float32]  # (n, 2) x, y in the working copy
    descriptors: NDArray[np.uint8]  # (n, 32)
    informative: bool  # enough keypoints and detail to be told from a look-alike
    scale: float  # working copy pixels per original preview pixel
    # (n, 4) each keypoint's size, angle, response and pyramid level (ORB's own): the
    # mirrored picture's keypoints are these, mirrored (_mirrored)
    shapes: NDArray[np.float32] = field(default_factory=lambda: np.empty((0, 4), np.float32))
    # the mirrored picture's keypoints, found when first needed (a look-alike tries both)
    mirrored: dict[str, NDArray[np.generic]] = field(default_factory=dict, repr=False)
    # keypoints of a copy reduced COARSE times (in working copy pixels), found when needed
    coarse: dict[str, NDArray[np.generic]] = field(default_factory=dict, repr=False)
    # (h, w, 2) Cb and Cr at half the working copy's size; None for a grey picture
    chroma: NDArray[np.uint8] | None = field(default=None, repr=False)
    # a frame's closer looks at the pictures it shows (views()): each the closer decode,
    # keypoints from around one shown picture; `frame` is a view's pixels per pixel of the
    # working copy (1 for the working copy itself)
    views: tuple[Features, ...] = field(default=(), repr=False)
    frame: float = 1.0
    # the boxes (left, top, right, bottom in working copy pixels) of the pictures it shows
    # inside it (candidates.pictures: a screenshot's photograph, a page's document); none for
    # a photograph that fills its frame
    boxes: tuple[tuple[int, int, int, int], ...] = ()
    # those of them too small or too plain to check (shown() leaves them out: no view, no
    # keys), which a check that finds no fit could not look at
    unseen: tuple[tuple[int, int, int, int], ...] = ()


Keypoints = tuple[NDArray[np.float32], NDArray[np.uint8]]


def _orb(threshold: int = FAST_THRESHOLD) -> cv2.ORB:
    return cv2.ORB.create(KEYPOINTS, edgeThreshold=PATCH, patchSize=PATCH,
                          fastThreshold=threshold)  # fmt: skip


def _detect(gray: NDArray[np.uint8]) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    return _detected(gray)[:2]


def _detected(
    gray: NDArray[np.uint8],
) -> tuple[NDArray[np.float32], NDArray[np.uint8], NDArray[np.float32]]:
    """Points, descriptors and shapes (size, angle, response, level) of ORB's keypoints:
    found at STRONG where the picture has KEYPOINTS such corners, else at FAST_THRESHOLD."""
    found = _unpacked(*_orb(STRONG).detectAndCompute(gray, None))
    if len(found[0]) < KEYPOINTS:
        found = _unpacked(*_orb().detectAndCompute(gray, None))
    return found


def _unpacked(
    keypoints: Sequence[cv2.KeyPoint], descriptors: object
) -> tuple[NDArray[np.float32], NDArray[np.uint8], NDArray[np.float32]]:
    if not isinstance(descriptors, np.ndarray) or not keypoints:
        return (
            np.empty((0, 2), np.float32),
            np.empty((0, 32), np.uint8),
            np.empty((0, 4), np.float32),
        )
    points = np.array([k.pt for k in keypoints], np.float32)
    shapes = np.array([(k.size, k.angle, k.response, k.octave) for k in keypoints], np.float32)
    return points, np.asarray(descriptors, np.uint8), shapes


def _mirrored(f: Features) -> Keypoints:
    """The mirrored picture's keypoints and descriptors. ORB's detection is mirror-symmetric
    (FAST, the Harris score, the pyramid's level sizes), so its keypoints are the picture's
    own mirrored: x across the width of the keypoint's pyramid level, orientation 180 -
    angle (the intensity centroid mirrored). Only the descriptors are computed, ~5 of the
    ~25 ms of a detection on a 1024 x 768 copy; they are the ones a detection on the
    mirrored picture gives (12 MP photos: every point within 1 px, Hamming distance 0)."""
    if len(f.shapes) != len(f.points):  # not made by features(): detected again
        return _detect(np.ascontiguousarray(f.gray[:, ::-1]))
    if not len(f.points):
        return f.points, f.descriptors
    width = f.gray.shape[1]
    level = f.shapes[:, 3]
    scale = np.float32(_orb().getScaleFactor()) ** level
    # OpenCV's level sizes: round(width / scale); a keypoint's point is its level's times scale
    level_width = np.round(width / scale)
    x = (level_width - 1 - f.points[:, 0] / scale) * scale
    keypoints = [
        cv2.KeyPoint(float(px), float(py), float(size), float((180.0 - angle) % 360.0),
                     float(response), int(octave))
        for px, py, (size, angle, response, octave) in zip(
            x.tolist(), f.points[:, 1].tolist(), f.shapes.tolist(), strict=True)
    ]  # fmt: skip
    mirror = np.ascontiguousarray(f.gray[:, ::-1])
    points, descriptors, _ = _unpacked(*_orb().compute(mirror, keypoints))
    return points, descriptors


def _high_pass(
    gray: NDArray[np.generic], band: tuple[float, float] = (FINE_SIGMA, HIGH_PASS_SIGMA)
) -> NDArray[np.float32]:
    """Detail at the scale a sub-pixel misfit and resampling leave alone: a difference of
    Gaussians (the finest detail is the encoders' and resamplers' as much as the picture's)."""
    g = gray.astype(np.float32)
    fine = cv2.GaussianBlur(g, (0, 0), band[0])
    return np.asarray(fine - cv2.GaussianBlur(g, (0, 0), band[1]), np.float32)


def _block_stats(hp: NDArray[np.float32]) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Per BLOCK x BLOCK tile: the high-pass image's tiles (rows, cols, BLOCK**2) and std."""
    rows, cols = hp.shape[0] // BLOCK, hp.shape[1] // BLOCK
    grid = hp[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK)
    tiles = grid.transpose(0, 2, 1, 3).reshape(rows, cols, BLOCK * BLOCK)
    return tiles, tiles.std(axis=2)


def features(picture: Image.Image) -> Features:
    """The features of a decoded picture (the scan's preview, upright)."""
    gray_image = picture.convert("L")
    scale = 1.0
    if max(gray_image.size) > WORK:
        scale = WORK / max(gray_image.size)
        size = (max(1, round(gray_image.width * scale)), max(1, round(gray_image.height * scale)))
        gray_image = gray_image.resize(size, Image.Resampling.BOX)
    gray = np.ascontiguousarray(np.asarray(gray_image, np.uint8))
    points, descriptors, shapes = _detected(gray)
    return Features(gray, points, descriptors, informative(gray, len(points)), scale,
                    shapes=shapes, chroma=_chroma(picture, gray.shape))  # fmt: skip


def _chroma(picture: Image.Image, gray: tuple[int, ...]) -> NDArray[np.uint8] | None:
    """Cb and Cr of a colour picture at half its grey working copy's size (a JPEG keeps
    colour at half resolution anyway), or None for a grey one."""
    if picture.mode in ("1", "L", "LA", "I", "I;16", "F"):
        return None
    rgb = np.asarray(picture.convert("RGB"), np.uint8)
    size = (max(1, gray[1] // 2), max(1, gray[0] // 2))
    half = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    ycc = cv2.cvtColor(np.asarray(half, np.uint8), cv2.COLOR_RGB2YCrCb)
    return np.ascontiguousarray(ycc[:, :, [2, 1]])


def informative(gray: NDArray[np.uint8], keypoints: int) -> bool:
    """Whether a picture with this many keypoints has the keypoints and the detail to be
    told from a look-alike (MIN_KEYPOINTS, MIN_BLOCKS)."""
    return keypoints >= MIN_KEYPOINTS and _textured(gray) >= MIN_BLOCKS


# Block rows filtered at once by _textured, and the picture's rows taken on either side of
# them: more than the Gaussians' reach (OpenCV's kernel for HIGH_PASS_SIGMA spans 12 rows
# each way), so a strip's blocks get the values the whole picture's filter gives them.
STRIP = 4
REACH = 16


def _textured(gray: NDArray[np.uint8]) -> int:
    """The blocks whose detail reaches TEXTURE, counted strip by strip and no further than
    MIN_BLOCKS (a photograph has them in its first strip: a tenth of the whole filter, which
    cost a scan's worker ~12 ms of a 12 MP photo's ~40)."""
    found = 0
    for top in range(0, gray.shape[0] // BLOCK * BLOCK, STRIP * BLOCK):
        low, high = max(0, top - REACH), min(gray.shape[0], top + STRIP * BLOCK + REACH)
        hp = _high_pass(gray[low:high])[top - low : top - low + STRIP * BLOCK]
        found += int((_block_stats(hp)[1] >= TEXTURE).sum())
        if found >= MIN_BLOCKS:
            break
    return found


def _matches(
    a_desc: NDArray[np.uint8], b_desc: NDArray[np.uint8]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Indexes in a and in b of the pairs passing the ratio test on the two nearest of each
    of b's descriptors. A pair passes only when its nearest is strictly nearer than the
    second, so how a search orders equal distances never changes the answer."""
    if len(a_desc) < 2 or len(b_desc) < 2:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    dist, nearest = _two_nearest(b_desc, a_desc)
    passing = np.flatnonzero(dist[:, 0] < RATIO * dist[:, 1])
    return nearest[passing].astype(np.intp), passing.astype(np.intp)


def _two_nearest(
    queries: NDArray[np.uint8], base: NDArray[np.uint8]
) -> tuple[NDArray[np.int32], NDArray[np.intp]]:
    """For each query, the Hamming distances to its two nearest of base's descriptors
    (n, 2) and the index of the nearest. Every distance is faiss's (hardware popcounts:
    ~0.2 ms for 600 x 600, the nearest two then ~0.1), where OpenCV's search
    (cv2.batchDistance, BFMatcher) took ~2.3 ms: a check that finds no fit makes four.
    Imported here: only clustering's and compare's checks need it."""
    import faiss

    queries = np.ascontiguousarray(queries, np.uint8)
    base = np.ascontiguousarray(base, np.uint8)
    dist = np.empty((len(queries), len(base)), np.int32)
    hammings = faiss.hammings  # type: ignore[attr-defined]  # made by SWIG at import
    pointer = faiss.swig_ptr
    hammings(pointer(queries), pointer(base), len(queries), len(base), base.shape[1],
             pointer(dist))  # fmt: skip
    rows = np.arange(len(queries))
    nearest = dist.argmin(axis=1)
    first = dist[rows, nearest]
    dist[rows, nearest] = np.iinfo(np.int32).max
    return np.stack([first, dist.min(axis=1)], axis=1), nearest


def _fit(a: Keypoints, b: Keypoints) -> tuple[NDArray[np.float64] | None, int]:
    """The similarity taking the second picture's points onto the first's, and its inliers."""
    ia, ib = _matches(a[1], b[1])
    if len(ia) < MIN_INLIERS:
        return None, len(ia)
    matrix, inliers = cv2.estimateAffinePartial2D(
        b[0][ib], a[0][ia], method=cv2.RANSAC, ransacReprojThreshold=REPROJECT,
        maxIters=2000, confidence=0.995,
    )  # fmt: skip
    count = int(inliers.sum()) if inliers is not None else 0
    if matrix is None or not np.isfinite(matrix).all():
        return None, count
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    # a picture shown at a quarter of a screenshot is ~1/4 to 1/8 the size; beyond 1/16 the
    # fit is a collapse of the points onto one spot, not a picture
    if not 1 / 16 <= scale <= 16:
        return None, count
    return (np.asarray(matrix, np.float64) if count >= MIN_INLIERS else None), count


def strength(a: Features, b: Features) -> int:
    """How many keypoints of b (or of a view of b) the best upright fit on a's agrees on:
    the order in which a picture's candidates are checked, the likeliest first."""
    return max(_fit((a.points, a.descriptors), (p.points, p.descriptors))[1] for p in (b, *b.views))


# the orientations of the second picture a check tries (mirrored: through its mirrored
# keypoints)
UPRIGHT: tuple[bool, ...] = (False,)
MIRRORED: tuple[bool, ...] = (True,)
EITHER: tuple[bool, ...] = (False, True)


def verify(a: Features, b: Features) -> Verification:
    """Whether b shows the same photograph as a (or a crop of it, or a picture embedding it).
    Where the working copies do not verify, a frame's closer views of the pictures it shows
    are tried against the other picture (the scale reported is then the working copies').
    Where the working copies find no fit and a closer view fits but has too little detail
    to decide, that view's `low information` is the answer: not a refusal."""
    found = _verify(a, b)
    # the working copies compared at one scale and differed (in full detail, in fine
    # detail, or at a glance): the picture was seen whole, a closer look would see the same
    # (a look-alike's scan, not a screenshot)
    one_scale = max(found.scale, 1 / found.scale) < REDUCED
    seen = found.reason in ("content differs", FINE_DIFFERS, GLANCED) and one_scale
    if found.verified or seen:
        return found
    # a view is looked at upright; a mirrored copy of the other picture (a cluster's
    # representative may be the mirror) is tried with that picture second, mirrored as the
    # working copies are
    tries = [(a, view, "second", UPRIGHT, False) for view in b.views]
    tries += [(view, b, "first", EITHER, False) for view in a.views]
    tries += [(view, a, "first", MIRRORED, True) for view in b.views]
    undecided = None
    for first, second, which, orientations, turned in tries:
        closer = _verify(first, second, view=which, orientations=orientations)
        if closer.verified:
            return _seen_closer(closer, first, second, turned)
        if undecided is None and closer.reason == "low information" and closer.inliers:
            undecided = _seen_closer(closer, first, second, turned)
    # the working copies found no fit, a closer look found one with too little detail to
    # decide: the check could not look, it did not refute (compare: an unverified candidate)
    if undecided is not None and found.reason == "no geometric fit":
        return undecided
    if found.reason == "no geometric fit" and (_unseen(b, a) or _unseen(a, b)):
        return replace(found, reason=UNSEEN)
    return found


# A frame showing a picture of the other's shape too small or too plain to check
# (Features.unseen: a scanned page shown at a quarter of a desktop, its card ~70 px wide)
# finds no fit with it, and that is no refutation: the check could not look (compare: an
# unverified candidate, never `unmatched`). The shapes (width over height) agree within
# UNSEEN_SHAPE, as a box found on a 256 px copy does with its picture (stars.SAME_SHAPE).
# Only a box the candidate search could have proposed through counts: one the shown
# pictures' hashes take (shown_hashes.MIN_SIDE px of the closer decode) and at least
# UNSEEN_SIDE of the frame's longer side. The stress set's pages at a quarter of a desktop
# and booth captures at 0.3 of a phone chat are 0.12-0.13 of it; regions found in a
# booth capture's face and hands, 0.03-0.045, propose nothing and show no picture.
UNSEEN = "shown too small to check"
UNSEEN_SHAPE = 0.15
UNSEEN_SIDE = 1 / 12


def unseen(
    boxes: Sequence[tuple[int, int, int, int]],
    pictures: Sequence[Shown],
    working: tuple[int, ...],
    closer: float,
) -> tuple[tuple[int, int, int, int], ...]:
    """The boxes (working copy px; `working`: its grey's shape) of the pictures a frame
    shows that shown() left out as too small or plain, where the candidate search could have
    proposed through them (`closer`: the closer decode's pixels per working copy pixel)."""
    looked = {p.of for p in pictures}
    return tuple(
        box for box in boxes
        if box not in looked
        and min(box[2] - box[0], box[3] - box[1]) * closer >= shown_hashes.MIN_SIDE
        and max(box[2] - box[0], box[3] - box[1]) >= UNSEEN_SIDE * max(working)
    )  # fmt: skip


def _unseen(frame: Features, picture: Features) -> bool:
    """Whether the frame shows a picture of the other one's shape it could not look at."""
    h, w = picture.gray.shape
    return any(
        abs((right - left) / (bottom - top) / (w / h) - 1) <= UNSEEN_SHAPE
        for left, top, right, bottom in frame.unseen
        if right > left and bottom > top
    )


def _seen_closer(
    closer: Verification, first: Features, second: Features, turned: bool
) -> Verification:
    """A closer view's check as verify() reports it: the scale the working copies'."""
    # scale: the second's size relative to the first's, in their working copies
    scale = closer.scale * second.frame / first.frame
    if turned:  # a was taken second: the fit is turned round (a mirroring similarity's
        # inverse keeps its angle, a plain one's negates it)
        angle = closer.angle if closer.mirrored else -closer.angle
        return replace(closer, scale=round(1 / scale, 3), angle=angle, closer=True)
    return replace(closer, scale=round(scale, 3), closer=True)


def _verify(
    a: Features, b: Features, view: str = "", orientations: tuple[bool, ...] | None = None
) -> Verification:
    """verify() of two pictures as they are, b upright or mirrored (`orientations`: both,
    or upright only where b is a view, whose keypoints cannot be mirrored); `view` ("first"
    or "second": that one is a view): a small picture inside the view looked for on the
    other picture's reduced copy only (the view's own would be the whole frame's), and only
    where b was tried upright."""
    if not (a.informative and b.informative):
        return Verification(False, "low information")
    if orientations is None:
        orientations = UPRIGHT if view == "second" else EITHER
    best: Verification | None = None
    most = 0
    for mirrored in orientations:
        if mirrored:
            points, desc = _kept(b.mirrored, lambda: _mirrored(b))
        else:
            points, desc = b.points, b.descriptors
        matrix, count = _fit((a.points, a.descriptors), (points, desc))
        most = max(most, count)
        if matrix is None:
            continue
        # A mirrored copy can still give an upright fit on symmetric structure: the content
        # decides, so the mirror is tried whenever the upright fit's content does not agree.
        found = _content(a, b, matrix, count, mirrored)
        if best is None or (found.verified, _agreement(found)) > (best.verified, _agreement(best)):
            best = found
        if best.verified:
            break
    if best is None and False in orientations:
        best = _small_inside(a, b, reduce_a=view != "first", reduce_b=view != "second")
    return best if best is not None else Verification(False, "no geometric fit", inliers=most)


# A view takes in the shown picture's box and this share of its size around it (the box
# is found on a 256 px copy: a document's edge may lie a few pixels outside).
VIEW_MARGIN = 0.1


@dataclass(frozen=True, eq=False)
class Shown:
    """A picture a frame shows, as a check looks at it: the crop of the frame's grey around
    its box (VIEW_MARGIN), where the crop's corner is, the crop's keypoints, and the box
    itself (left, top, right, bottom in the frame's grey)."""

    corner: tuple[int, int]
    crop: NDArray[np.uint8]
    points: NDArray[np.float32]
    descriptors: NDArray[np.uint8]
    box: tuple[int, int, int, int]
    of: tuple[int, int, int, int]  # the box as given, in the working copy's pixels


def shown(
    gray: NDArray[np.uint8], boxes: Sequence[tuple[int, int, int, int]], working: tuple[int, ...]
) -> tuple[Shown, ...]:
    """The pictures in `boxes` (the working copy's pixels; `working`: its grey's shape) a
    check can look at, taken from `gray` (a closer decode's grey, or the working copy's): a
    box and a VIEW_MARGIN around it, left out when too small or too plain to be told from a
    look-alike (informative). Both the views and the candidate search's keys of a shown
    picture (candidates.shown_keys) come from these, so a picture proposes exactly where
    its check can look."""
    f = gray.shape[1] / working[1]
    found = []
    for given in boxes:
        left, top, right, bottom = given
        mx, my = (right - left) * VIEW_MARGIN, (bottom - top) * VIEW_MARGIN
        x0, y0 = max(0, round((left - mx) * f)), max(0, round((top - my) * f))
        x1 = min(gray.shape[1], round((right + mx) * f))
        y1 = min(gray.shape[0], round((bottom + my) * f))
        crop = np.ascontiguousarray(gray[y0:y1, x0:x1])
        if min(crop.shape) <= 2 * PATCH:
            continue
        points, descriptors = _detect(crop)
        if informative(crop, len(points)):
            box = (round(left * f), round(top * f), round(right * f), round(bottom * f))
            found.append(Shown((x0, y0), crop, points, descriptors, box, given))
    return tuple(found)


def views(
    frame: Image.Image, gray: NDArray[np.uint8], pictures: Sequence[Shown], working: tuple[int, ...]
) -> tuple[Features, ...]:
    """Closer looks at the pictures a frame shows (a screenshot's photograph): `frame` is the
    closer decode and `gray` its grey, `pictures` shown() of it (`working`: the working
    copy's grey's shape). Each view is the whole closer frame, grey and chroma (the content
    check then sees the picture's surroundings as the other picture's fit places them), with
    the keypoints of its picture's crop only: the window's text and icons take no keypoints
    from the picture. A 1,920 px screenshot's working copy has a scanned page's document at
    ~50 px, its closer decode at ~175 (bench/README.md)."""
    f = gray.shape[1] / working[1]
    chroma = _chroma(frame, gray.shape)
    return tuple(
        # no shapes: a mirrored view's keypoints are detected on the mirrored frame
        Features(
            gray,
            p.points + np.array(p.corner, np.float32),
            p.descriptors,
            True,
            1.0,
            chroma=chroma,
            frame=f,
            boxes=(p.box,),
        )
        for p in pictures
    )


def placed(a: Features, b: Features, mirrored: bool) -> tuple[float, float, float, float] | None:
    """Where b lies in a's working copy (left, top, right, bottom px; b mirrored or not) by
    the keypoints' fit a check finds first: the working copies', else b's on a's reduced copy
    (b shown small inside a). None without a fit."""
    points, desc = (b.points, b.descriptors)
    if mirrored:
        points, desc = _kept(b.mirrored, lambda: _mirrored(b))
    matrix, _ = _fit((a.points, a.descriptors), (points, desc))
    if matrix is None and not mirrored:
        matrix, _ = _fit(_coarse(a), (points, desc))
    if matrix is None:
        return None
    (left, top), (right, bottom) = _mapped(b.gray.shape, matrix)
    return float(left), float(top), float(right), float(bottom)


def _mapped(
    shape: tuple[int, ...], matrix: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The smallest and largest (x, y) of a picture of `shape` (h, w) mapped by matrix."""
    h, w = shape[:2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ matrix.T
    return corners.min(axis=0), corners.max(axis=0)


def _small_inside(
    a: Features, b: Features, reduce_a: bool = True, reduce_b: bool = True
) -> Verification | None:
    """The content check of a fit found on a reduced copy of a or of b (the other shown
    small inside it), or None when neither gives one."""
    matrix, count = None, 0
    if reduce_a:
        matrix, count = _fit(_coarse(a), (b.points, b.descriptors))
    if matrix is None and reduce_b:
        # a inside b: fit a onto b's reduced copy, then turn it round
        matrix, count = _fit(_coarse(b), (a.points, a.descriptors))
        if matrix is not None:
            matrix = np.asarray(cv2.invertAffineTransform(matrix), np.float64)
    if matrix is None:
        return None
    return _content(a, b, matrix, count, False)


def _coarse(f: Features) -> Keypoints:
    """The picture's keypoints on a copy reduced COARSE times, in working copy pixels."""

    def detect() -> Keypoints:
        h, w = f.gray.shape
        size = (max(1, round(w / COARSE)), max(1, round(h / COARSE)))
        points, desc = _detect(np.asarray(cv2.resize(f.gray, size, interpolation=cv2.INTER_AREA),
                                          np.uint8))  # fmt: skip
        return points * np.float32(COARSE), desc

    return _kept(f.coarse, detect)


def _kept(store: dict[str, NDArray[np.generic]], detect: Callable[[], Keypoints]) -> Keypoints:
    """Keypoints found once, when first needed, and kept in the Features' store."""
    if not store:
        points, desc = detect()
        store.update(points=points, descriptors=desc)
    return np.asarray(store["points"], np.float32), np.asarray(store["descriptors"], np.uint8)


def _agreement(v: Verification) -> float:
    return v.weakest_region if v.blocks else -2.0


def _content(
    a: Features, b: Features, matrix: NDArray[np.float64], inliers: int, mirrored: bool
) -> Verification:
    """The content check of b on a under the keypoints' fit (matrix takes b, mirrored or
    not, onto a). Where it refuses and one picture is a frame showing the other cut to a box
    of it (_shown_cut), the check is made again on that box alone, and is the answer if it
    passes."""
    found = _content_on(a, b, matrix, inliers, mirrored, on_box=False)
    assert found is not None
    # the refusals the page around a box could have caused
    refused = ("content differs", FINE_DIFFERS, GLANCED, "colours differ", TONES_DIFFER)
    if found.verified or found.reason not in refused or not (a.boxes or b.boxes):
        return found
    boxed = _content_on(a, b, matrix, inliers, mirrored, on_box=True)
    return boxed if boxed is not None and boxed.verified else found


def _content_on(
    a: Features,
    b: Features,
    matrix: NDArray[np.float64],
    inliers: int,
    mirrored: bool,
    on_box: bool,
) -> Verification | None:
    """_content's check, `on_box`: only on the box of a frame showing the other picture cut
    to it (None where neither is such a frame)."""
    gray = np.ascontiguousarray(b.gray[:, ::-1] if mirrored else b.gray)
    chroma = b.chroma
    if mirrored and chroma is not None:
        chroma = np.ascontiguousarray(chroma[:, ::-1])
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    angle = float(np.degrees(np.arctan2(-matrix[1, 0], matrix[0, 0])))
    base: NDArray[np.uint8] = a.gray
    moving: NDArray[np.uint8] = gray
    colours = (a.chroma, chroma)
    boxes = (a.boxes, _boxes(b, mirrored))
    if scale > 1:  # b is the smaller picture: a is brought down to b's frame, never b blown up
        base, moving = gray, a.gray
        colours = (chroma, a.chroma)
        boxes = boxes[::-1]
        matrix = np.asarray(cv2.invertAffineTransform(matrix), np.float64)
    cut = _shown_cut(boxes, moving.shape, matrix, base.shape) if on_box else None
    if on_box and cut is None:
        return None
    h, w = base.shape
    shrink = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    smaller = min(h * w, moving.shape[0] * moving.shape[1] * shrink * shrink)
    picture = _picture(moving)
    if shrink < 0.9:  # warpAffine samples bilinearly: blur first, or fine patterns alias
        moving = np.asarray(cv2.GaussianBlur(moving, (0, 0), 0.5 / shrink), np.uint8)
    window = _footprint(moving.shape, matrix, base.shape)
    x0, y0, x1, y1 = window
    # the comparison keeps to the base's part the moving picture can cover (a screenshot's
    # window around the shown picture has nothing to compare); its refined fit is then
    # taken back by `shift` to the whole base for the colour check
    whole = base
    shift = np.array([[0.0, 0.0, x0], [0.0, 0.0, y0]])
    base = np.ascontiguousarray(base[y0:y1, x0:x1])
    own = _picture(whole)  # fill reaches the whole picture's border, not the cut's
    if cut is not None:
        own = cut if own is None else own & cut
    if own is not None:
        own = np.ascontiguousarray(own[y0:y1, x0:x1])
    matrix = matrix - shift
    h, w = base.shape
    if h == 0 or w == 0:  # the fit puts the moving picture beside the base, not on it
        return Verification(False, "overlap too small", mirrored=mirrored, inliers=inliers,
                            overlap=0.0, scale=round(scale, 3), angle=round(angle, 1))  # fmt: skip
    warped, valid = _warp(moving, matrix, (w, h), picture, own)
    covered = float((valid > 0).sum())
    overlap = min(1.0, covered / max(smaller, 1.0))
    facts = Verification(
        False, "overlap too small", mirrored=mirrored, inliers=inliers,
        overlap=round(overlap, 3), scale=round(scale, 3), angle=round(angle, 1),
    )  # fmt: skip
    if overlap < MIN_OVERLAP:
        return facts
    reduced = max(scale, 1 / scale) >= REDUCED
    glanced = None if reduced else _glance(base, warped, valid)
    if glanced is not None and glanced < GLANCE_DIFFER:
        low = round(glanced, 3)
        return replace(facts, reason=GLANCED, min_correlation=low, weakest_region=low)
    refined = _refine(base, warped, valid, matrix)
    found = _judged(facts, base, moving, refined, reduced, (picture, own))
    if found.reason in ("content differs", FINE_DIFFERS) and refined is not matrix:
        # ECC maximises the correlation of blurred grey levels, which on a light page with
        # fine guilloche can favour a fit a pixel or two off at one side (a stretch of
        # 0.5%); the keypoints' own fit is then judged too, and counts if it passes
        fitted = _judged(facts, base, moving, matrix, reduced, (picture, own))
        if fitted.verified:
            found, refined = fitted, matrix
    matrix = refined
    if not (found.verified and reduced):
        return found
    difference = None
    if colours[0] is not None and colours[1] is not None:
        difference = _colour_difference(colours[0], colours[1], whole, moving, matrix + shift,
                                        shrink, window, cut)  # fmt: skip
    if difference is not None:
        found = replace(found, colour_difference=round(difference, 1))
        if difference > MAX_COLOUR_DIFFERENCE:
            return replace(found, verified=False, reason="colours differ")
    if found.tone_difference is not None and found.tone_difference > MAX_TONE_DIFFERENCE:
        return replace(found, verified=False, reason=TONES_DIFFER)
    return found


# A frame (a back office's page, a viewer, a chat's square thumbnail) may show a picture cut
# to fill its box (CSS object-fit: cover): the other picture, brought into the frame, then
# covers the page around the box, and its detail there facing flat page is no difference.
# Where a check refuses and a frame's box lies within the other picture's footprint on it
# and, widened by BOX_SLACK, covers at least SHOWN_CUT of that footprint and at most
# 1 - CUT_SEEN of it, the check is made again on the box alone (_content). A box is found
# on a REGIONS px copy, PICTURE_INSET (regions.py: 2) of its pixels inside the picture, so
# a picture shown whole is not taken for a cut one. A scanned page's document and a booth
# capture's card cover less of their picture: never checked on their box alone.
SHOWN_CUT = 0.5
CUT_SEEN = 0.04
BOX_SLACK = 2
REGIONS = shown_hashes.REGIONS


def _boxes(f: Features, mirrored: bool) -> tuple[tuple[int, int, int, int], ...]:
    """f's boxes in its grey as a check compares it (mirrored or not)."""
    if not mirrored:
        return f.boxes
    width = f.gray.shape[1]
    return tuple((width - right, top, width - left, bottom) for left, top, right, bottom in f.boxes)


def _shown_cut(
    boxes: tuple[tuple[tuple[int, int, int, int], ...], tuple[tuple[int, int, int, int], ...]],
    moving: tuple[int, ...],
    matrix: NDArray[np.float64],
    base: tuple[int, ...],
) -> NDArray[np.uint8] | None:
    """255 inside the box of a frame that shows the other picture cut to it, in the base's
    pixels; None where neither picture is such a frame. `boxes`: the base's and the moving
    picture's; matrix takes the moving picture onto the base."""
    inverse = np.asarray(cv2.invertAffineTransform(matrix), np.float64)
    for frame, other, to_frame in ((0, moving, matrix), (1, base, inverse)):
        low, high = _mapped(other, to_frame)
        footprint = (*low.tolist(), *high.tolist())
        shape = base if frame == 0 else moving
        slack = BOX_SLACK * max(shape[:2]) / REGIONS
        for box in boxes[frame]:
            if not _cut_to(box, slack, footprint):
                continue
            left, top, right, bottom = box
            mask = np.zeros(shape[:2], np.uint8)
            mask[top:bottom, left:right] = 255
            if frame == 0:
                return mask
            return np.asarray(cv2.warpAffine(mask, matrix, (base[1], base[0]),
                                             flags=cv2.INTER_NEAREST), np.uint8)  # fmt: skip
    return None


def _cut_to(box: tuple[int, ...], slack: float, footprint: tuple[float, ...]) -> bool:
    """Whether a frame's box shows a picture of this footprint (in the frame's pixels) cut
    to it: the box within the footprint, and, widened by `slack`, covering SHOWN_CUT of it
    but not all (CUT_SEEN)."""
    inside = intersection(box, footprint)
    area = (box[2] - box[0]) * (box[3] - box[1])
    if inside < (1 - CUT_SEEN) * area:
        return False
    widened = (box[0] - slack, box[1] - slack, box[2] + slack, box[3] + slack)
    covered = intersection(widened, footprint)
    whole = (footprint[2] - footprint[0]) * (footprint[3] - footprint[1])
    return SHOWN_CUT * whole <= covered <= (1 - CUT_SEEN) * whole


def intersection(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The area two boxes (left, top, right, bottom) have in common."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, float(width)) * max(0.0, float(height))


def _judged(
    facts: Verification,
    base: NDArray[np.uint8],
    moving: NDArray[np.uint8],
    matrix: NDArray[np.float64],
    reduced: bool,
    pictures: tuple[NDArray[np.uint8] | None, NDArray[np.uint8] | None],
) -> Verification:
    """The content check under one fit: `moving` warped onto `base` by `matrix` (`pictures`:
    _picture() of each). At one scale, a pass is looked at again in fine detail
    (_fine_region)."""
    warped, valid = _warp(moving, matrix, (base.shape[1], base.shape[0]), *pictures)
    seen = _compared(base, warped, valid)  # once, for every test under this fit
    corr, informative, alone = _local_agreement(*seen)
    n = int(informative.sum())
    if n < MIN_CELLS:
        coarse = _coarse_correlation(base, warped, valid)
        if coarse is not None and coarse < COARSE_DIFFER:
            low = round(coarse, 3)
            return replace(facts, reason="content differs", blocks=n, min_correlation=low,
                           weakest_region=low)  # fmt: skip
        return replace(facts, reason="low information", blocks=n)
    found = whole = _decided(facts, corr, informative, reduced)
    added = None if found.verified or reduced else _added(corr, informative, alone)
    if added is not None:
        rest = _decided(facts, corr, informative & ~added, reduced)
        if rest.verified and rest.weakest_region >= ADDED_REGION:
            found = replace(rest, added=round(float(added.mean()), 3))
            # the fine band is judged without the added patch too, and must be
            seen = (*seen[:2], seen[2] * _at_pixels(~added, seen[2].shape))
    verified = found.verified
    if verified and reduced:  # measured under this fit, decided after the colours (_content)
        tones = _tone_difference(*seen)
        return found if tones is None else replace(found, tone_difference=round(tones, 2))
    if not verified or reduced:
        return found
    fine = _fine_region(*seen)
    if fine is None:  # (whole is found unless a patch was left out, where it must look)
        return whole
    if fine < MIN_FINE_REGION:
        return replace(found, verified=False, reason=FINE_DIFFERS, fine_region=round(fine, 3))
    return replace(found, fine_region=round(fine, 3))


def _decided(
    facts: Verification,
    corr: NDArray[np.float32],
    informative: NDArray[np.bool_],
    reduced: bool,
) -> Verification:
    """The verdict of the cells' agreement alone (every informative cell where `reduced`)."""
    n = int(informative.sum())
    agreeing = int((informative & (corr >= AGREE)).sum())
    differing = int((informative & (corr < DIFFER)).sum())
    weakest = _weakest_region(corr, informative)
    needed = n if reduced else MIN_AGREEMENT * n
    verified = n >= MIN_CELLS and agreeing >= needed and weakest >= MIN_REGION
    return replace(
        facts, verified=verified, reason="verified" if verified else "content differs",
        blocks=n, agreeing=agreeing, differing=differing,
        min_correlation=round(float(corr[informative].min()), 3) if n else 0.0,
        weakest_region=round(weakest, 3),
    )  # fmt: skip


# A copy may carry what its original has not: a leak channel's caption, a stamp, a sticker
# over a part of the picture. Where a check at one scale refuses, the cells that differ
# because one side alone has detail there (or DOMINANT times the other's: a caption's
# strokes over a photograph's texture) are looked at: when at least ADDED_ONE_SIDE of them
# are on the same side, lie in one place (one patch once the cells within ADDED_JOIN of each
# other are joined: a caption's letters and words), and that patch with ADDED_REACH cells
# round it (which the comparison's window sees) covers at most ADDED_SHARE of the cells
# compared and ADDED_DETAIL of those with detail, the patch is left out; the rest must then
# agree as a copy does, not merely pass: every region at least ADDED_REGION, and the fine
# band looked at and passing. Another customer's document or face mostly differs where both
# sides have detail (a portrait, a name: never left out), or one-sided on both sides (one
# name longer here, the other's hair wider there). Each guard has a measured reason:
# - ADDED_DETAIL: another customer's scan whose card the fit lays on the other's blank
#   paper is all one-sided detail in one place, 80% of the cells with detail (quick seed 2
#   named an absent customer without it); captions held 3-14%.
# - ADDED_REGION and the fine band: another customer's scan, part of one card over the
#   other's white page, left a patch of 12-13% and a rest passing at 0.62-0.77 with too
#   little fine detail to look at (29 of 1,700 look-alike pairs of bench/stress_variants.py's
#   set, with a patch of 15% allowed); captioned copies' rest 0.81-0.94.
# - DOMINANT: the corpus's camera photos captioned, 9 of 14 verified against 1 with detail
#   facing none only; no look-alike pair of that set verified, as without it.
ADDED_ONE_SIDE = 0.9
ADDED_JOIN = 3
ADDED_REACH = 2
ADDED_SHARE = 0.1
ADDED_DETAIL = 0.3
ADDED_REGION = 0.8
DOMINANT = 6.0


def _added(
    corr: NDArray[np.float32], informative: NDArray[np.bool_], alone: NDArray[np.int8]
) -> NDArray[np.bool_] | None:
    """The cells of detail one side adds in one place (with ADDED_REACH round them), or
    None where the differences are not that."""
    one_sided = informative & (corr < AGREE) & (alone != 0)
    count = int(one_sided.sum())
    if count == 0:
        return None
    side = 1 if 2 * int((one_sided & (alone > 0)).sum()) >= count else -1
    mine = (one_sided & (alone == side)).astype(np.uint8)
    if int(mine.sum()) < ADDED_ONE_SIDE * count:
        return None
    joined = cv2.dilate(mine, np.ones((2 * ADDED_JOIN + 1,) * 2, np.uint8))
    if cv2.connectedComponents(joined)[0] != 2:  # the background and one patch
        return None
    reach = cv2.dilate(mine, np.ones((2 * ADDED_REACH + 1,) * 2, np.uint8)) > 0
    if int(reach.sum()) > ADDED_SHARE * reach.size:
        return None
    if int((reach & informative).sum()) > ADDED_DETAIL * int(informative.sum()):
        return None
    return np.asarray(reach, np.bool_)


def _at_pixels(cells: NDArray[np.bool_], shape: tuple[int, ...]) -> NDArray[np.float32]:
    """A mask of CELL x CELL cells (as _window_at_cells lays them) at the pixels, 1 or 0."""
    rows = np.minimum(np.arange(shape[0]) // CELL, cells.shape[0] - 1)
    columns = np.minimum(np.arange(shape[1]) // CELL, cells.shape[1] - 1)
    return np.asarray(cells[rows][:, columns], np.float32)


# The base is cut to the moving picture's footprint and this many pixels around it: more
# than the high-pass's and the local window's Gaussians reach, and a refinement's nudge; a
# multiple of 8, so the halved copies (the refinement's, the chroma) keep their pixel grid.
FOOTPRINT_MARGIN = 48


def _footprint(
    moving: tuple[int, ...], matrix: NDArray[np.float64], base: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) of the base that matrix maps the moving picture
    into, with FOOTPRINT_MARGIN around it; its left and top on multiples of 8 (an empty box
    where the picture lands outside the base)."""
    low, high = _mapped(moving, matrix)
    left, top = np.floor((low - FOOTPRINT_MARGIN) / 8) * 8
    right, bottom = np.ceil(high + FOOTPRINT_MARGIN)
    x0, y0 = int(np.clip(left, 0, base[1])), int(np.clip(top, 0, base[0]))
    # even sides: halving them is then exactly 2 x 2 pixels to one, as it is the base's
    x1 = int(np.clip(x0 + 2 * np.ceil((right - x0) / 2), x0, base[1]))
    y1 = int(np.clip(y0 + 2 * np.ceil((bottom - y0) / 2), y0, base[0]))
    return x0, y0, x1, y1


def _colour_difference(
    base_chroma: NDArray[np.uint8],
    moving_chroma: NDArray[np.uint8],
    base: NDArray[np.uint8],
    moving: NDArray[np.uint8],
    matrix: NDArray[np.float64],
    shrink: float,
    window: tuple[int, int, int, int],
    cut: NDArray[np.uint8] | None = None,
) -> float | None:
    """The largest colour difference of any COLOUR_CELL cell of the overlap, in chroma
    levels, once the moving picture's colours are matched to the base's by one affine map;
    None when either side has too little colour to compare or the overlap too few cells.
    matrix takes the moving picture's working copy onto the base's; only the base's window
    (_footprint) is looked at, and of it only what `cut` (_shown_cut) keeps, if given."""
    to_base, from_moving = _half(base.shape, base_chroma), _half(moving.shape, moving_chroma)
    half = (to_base @ np.vstack([matrix, (0.0, 0.0, 1.0)]) @ np.linalg.inv(from_moving))[:2]
    full = base_chroma.shape[1::-1]
    x0, y0 = int(window[0] * to_base[0, 0]), int(window[1] * to_base[1, 1])
    x1 = min(full[0], int(np.ceil(window[2] * to_base[0, 0])) + 1)
    y1 = min(full[1], int(np.ceil(window[3] * to_base[1, 1])) + 1)
    half[:, 2] -= (x0, y0)
    base_chroma = base_chroma[y0:y1, x0:x1]
    h, w = base_chroma.shape[:2]
    source = moving_chroma
    if shrink < 0.9:  # as the grey pictures: blurred before it is brought down
        source = np.asarray(cv2.GaussianBlur(source, (0, 0), 0.5 / shrink), np.uint8)
    warped = cv2.warpAffine(source, half, (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    luma = cv2.warpAffine(cv2.resize(moving, source.shape[1::-1], interpolation=cv2.INTER_AREA),
                          half, (w, h), flags=cv2.INTER_LINEAR)  # fmt: skip
    valid = cv2.warpAffine(np.full(source.shape[:2], 255, np.uint8), half, (w, h),
                           flags=cv2.INTER_NEAREST)  # fmt: skip
    inside = cv2.erode((valid == 255).astype(np.uint8), np.ones((5, 5), np.uint8),
                       borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0  # fmt: skip
    base_luma = cv2.resize(base, full, interpolation=cv2.INTER_AREA)[y0:y1, x0:x1]
    if cut is not None:
        inside &= cv2.resize(cut, full, interpolation=cv2.INTER_NEAREST)[y0:y1, x0:x1] > 0
    keep = inside & ~_saturated(np.asarray(base_luma, np.uint8))
    keep &= ~_saturated(np.asarray(luma, np.uint8))
    if keep.sum() < MIN_CELLS // 4:
        return None
    y = cv2.GaussianBlur(base_chroma.astype(np.float32), (0, 0), COLOUR_SIGMA)
    x = cv2.GaussianBlur(np.asarray(warped, np.float32), (0, 0), COLOUR_SIGMA)
    ys, xs = y[keep], x[keep]
    if min(float(ys.std(axis=0).max()), float(xs.std(axis=0).max())) < MIN_CHROMA:
        return None
    design = np.hstack([xs, np.ones((len(xs), 1), np.float32)])
    colour_map, *_ = np.linalg.lstsq(design, ys, rcond=None)
    matched = np.hstack([x.reshape(-1, 2), np.ones((h * w, 1), np.float32)]) @ colour_map
    residual = np.sqrt(((y.reshape(-1, 2) - matched) ** 2).sum(axis=1)).reshape(h, w)
    return _largest_cell(residual, keep, COLOUR_CELL)


def _largest_cell(values: NDArray[np.floating], keep: NDArray[np.bool_], cell: int) -> float | None:
    """The largest mean of `values` over the kept pixels of any cell x cell window at least
    0.6 kept; None where none is."""
    size = (cell, cell)
    counted = cv2.boxFilter(keep.astype(np.float32), -1, size)
    total = cv2.boxFilter(np.where(keep, values, 0).astype(np.float32), -1, size)
    enough = counted >= 0.6
    if not enough.any():
        return None
    return float((total[enough] / counted[enough]).max())


def _half(gray: tuple[int, ...], chroma: NDArray[np.uint8]) -> NDArray[np.float64]:
    """The 3 x 3 map from a working copy's pixels to its half-size chroma's (pixel centres)."""
    sx, sy = chroma.shape[1] / gray[1], chroma.shape[0] / gray[0]
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)


def _warp(
    moving: NDArray[np.uint8],
    matrix: NDArray[np.float64],
    size: tuple[int, int],
    picture: NDArray[np.uint8] | None = None,
    own: NDArray[np.uint8] | None = None,
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """The moving picture in the base's frame (its border replicated: no edge where the
    picture ends for the high-pass to see), and where both have pixels of the photograph
    (255): `picture` and `own`, _picture() of the moving picture and of the base."""
    warped = cv2.warpAffine(moving, matrix, size, flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    mask = np.full(moving.shape, 255, np.uint8) if picture is None else picture
    valid = np.asarray(cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_NEAREST), np.uint8)
    if own is not None:
        valid &= own
    return np.asarray(warped, np.uint8), valid


# A copy turned by a few degrees is filled black in its corners: wedges along its edges, up
# to ~7% of its side thick at 4 degrees. They hold no pixels of the photograph, as the space
# past its edge holds none. Black within FILL grey levels that reaches the picture's border
# and nowhere lies deeper than WEDGE of its shorter side from it is taken for such fill
# (shadows a photograph's contrast crushed to black are larger); the content check's margin
# (the high-pass's reach) covers JPEG's ringing along its edge.
FILL = 2
WEDGE = 0.08


def _picture(gray: NDArray[np.uint8]) -> NDArray[np.uint8] | None:
    """255 where a picture has pixels of the photograph, 0 on black fill along its border;
    None when it has none."""
    rim = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if rim.min() > FILL:  # most pictures, on every content check: the rim alone is read
        return None
    _, labels = cv2.connectedComponents((gray <= FILL).astype(np.uint8), connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    reach = max(1, round(WEDGE * min(gray.shape)))
    # what lies deeper than `reach` from every edge of the picture: the inner rectangle
    deep = np.unique(labels[reach:-reach, reach:-reach])
    fill = np.isin(labels, np.setdiff1d(edge[edge > 0], deep))
    if not fill.any():
        return None
    return np.where(fill, 0, 255).astype(np.uint8)


def _refine(
    base: NDArray[np.uint8],
    warped: NDArray[np.uint8],
    valid: NDArray[np.uint8],
    matrix: NDArray[np.float64],
) -> NDArray[np.float64]:
    """The keypoint fit refined on the pixels (ECC, affine, at half size): keypoints place a
    copy within a pixel or two; the content check compares detail a pixel wide, and copies
    of one photograph then agree everywhere (turned copies: 5th percentile of the local
    correlation 0.80 -> 0.94). The fit is kept when the refinement does not converge."""
    h, w = base.shape
    if min(h, w) < 64:
        return matrix
    size = (w // 2, h // 2)

    def half(x: NDArray[np.uint8]) -> NDArray[np.float32]:
        return np.asarray(cv2.resize(x, size, interpolation=cv2.INTER_AREA), np.float32)

    mask = np.asarray(cv2.resize(valid, size, interpolation=cv2.INTER_NEAREST), np.uint8)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, REFINE_STEPS, 1e-4)
    try:
        _, found = cv2.findTransformECC(half(base), half(warped), np.eye(2, 3, dtype=np.float32),
                                        cv2.MOTION_AFFINE, criteria, mask, 3)  # fmt: skip
    except cv2.error:  # not converging (a look-alike, flat content): keep the keypoints' fit
        return matrix
    step = np.asarray(found, np.float64)
    step[:, 2] *= 2
    if not np.isfinite(step).all() or np.abs(step[:, :2] - np.eye(2)).max() > 0.05:
        return matrix  # a refinement is a nudge; a large change is a failed one
    # warped(x) = moving(M^-1 x); the refinement samples warped at S x: compose M with S^-1
    full = np.vstack([matrix, (0.0, 0.0, 1.0)])
    nudge = np.vstack([step, (0.0, 0.0, 1.0)])
    return np.asarray((np.linalg.inv(nudge) @ full)[:2], np.float64)


# Two pictures at one scale that agree are looked at once more in finer detail (a difference
# of Gaussians of FINE_BAND), where another customer's document of one template differs in
# its text and portrait although the coarser band above agrees: at the working copy's size
# a name or a number is a row of blobs of one size, which correlate whatever the letters.
# The finer band is more sensitive to a fit's last fraction of a pixel (a turned scan, a
# resampling), so each cell takes its best correlation over the warped picture moved by
# FINE_SHIFT px each way; a region agreeing less than MIN_FINE_REGION refuses the match.
# Held-out full-size set (bench/kyc_lookalikes.py seed 2, 100 customers a template): 977
# true pairs at one scale (90 originals against their variants) 0.67 at the lowest (then
# 0.69, 0.73), the coarse band 0.70; four false links between customers with one surname
# 0.48-0.57 in the fine band, 0.65-0.68 in the coarse one, and a fifth, another customer's
# page shown small in a screenshot and compared on the closer look, 0.62 (coarse 0.72).
# The band is judged where both sides have strong fine detail (FINE_TEXTURE grey levels):
# strokes of text and edges, which a re-encode or a slight blur keeps, and where a name or a
# number differs. A photograph's weak fine texture (foliage, grain) is what a JPEG at quality
# 35-60 or a blur rewrites: judged there too, 4 of 8 of the corpus's 640 x 480 camera photos
# re-encoded at quality 50 were refused (fine 0.46-0.61), and blurred by a pixel 0.44-0.60;
# judged on strong detail alone they verify (0.75-0.89), and the namesakes above fall from
# 0.48 to 0.37-0.38. Where fewer than MIN_CELLS cells are that strong, every cell with detail
# counts, as before.
FINE_BAND = (0.6, 1.6)
FINE_SHIFT = 0.5
MIN_FINE_REGION = 0.65
FINE_TEXTURE = 5.0
FINE_DIFFERS = "fine detail differs"


def _fine_region(
    base: NDArray[np.uint8], warped: NDArray[np.uint8], keep: NDArray[np.float32]
) -> float | None:
    """Of the two pictures as _compared() gives them: the weakest region's agreement in
    FINE_BAND, each cell at its best of the warped picture moved FINE_SHIFT px (x, y,
    both); None where too few cells have detail. Like _local_agreement, but each product is
    averaged per cell and then smoothed on the cells' grid: its nine shifts cost ~20 ms on an
    800 x 566 overlap, about what one _local_agreement costs there (15-20 ms; with
    _local_agreement's own full-size window, the nine took ~60 ms)."""
    ha, hb = _high_pass(base, FINE_BAND), _high_pass(warped, FINE_BAND)
    rows, cols = base.shape[0] // CELL, base.shape[1] // CELL
    if rows < 1 or cols < 1:
        return None
    sigma = WINDOW / CELL

    def local(x: NDArray[np.float32]) -> NDArray[np.float32]:
        means = cv2.resize(x[: rows * CELL, : cols * CELL], (cols, rows),
                           interpolation=cv2.INTER_AREA)  # fmt: skip
        return np.asarray(cv2.GaussianBlur(means, (0, 0), sigma), np.float32)

    m = local(keep)
    mm = np.maximum(m, 1e-6)
    weighted = keep * ha
    aa = local(weighted * ha)
    size = (hb.shape[1], hb.shape[0])
    corr: NDArray[np.float32] | None = None
    for dy in (-FINE_SHIFT, 0.0, FINE_SHIFT):
        for dx in (-FINE_SHIFT, 0.0, FINE_SHIFT):
            moved = hb
            if dx or dy:  # the high-pass commutes with the shift: the band is moved, not redone
                step = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
                shifted = cv2.warpAffine(hb, step, size, flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
                moved = np.asarray(shifted, np.float32)
            ab, bb = local(weighted * moved), local(keep * moved * moved)
            c = np.asarray(ab / np.sqrt((aa + NOISE * mm) * (bb + NOISE * mm)), np.float32)
            corr = c if corr is None else np.maximum(corr, c)
            if not (dx or dy):
                informative = (m >= 0.6) & (np.maximum(aa, bb) / mm >= TEXTURE * TEXTURE)
                strong = informative & (np.minimum(aa, bb) / mm >= FINE_TEXTURE * FINE_TEXTURE)
    assert corr is not None
    if int(strong.sum()) >= MIN_CELLS:
        informative = strong
    if int(informative.sum()) < MIN_CELLS:
        return None
    return _weakest_region(corr, informative)


def _local_agreement(
    base: NDArray[np.uint8], warped: NDArray[np.uint8], keep: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.bool_], NDArray[np.int8]]:
    """Of the two pictures as _compared() gives them (`keep`: each pixel's weight), per
    CELL x CELL cell of the base: the correlation of the two high-passed pictures in a
    Gaussian window around it, whether the cell has detail on either side to judge by, and
    which side alone has it, or DOMINANT times the other's (1: the base, -1: the warped
    picture, 0: both alike or neither).
    Light pixels that one side clipped (saturated white, the other not: brightening) decide
    nothing; detail on one side facing none on the other is a difference."""
    ha, hb = _high_pass(base), _high_pass(warped)
    m = _window_at_cells(keep)
    ab = _window_at_cells(keep * ha * hb)
    aa, bb = _window_at_cells(keep * ha * ha), _window_at_cells(keep * hb * hb)
    mm = np.maximum(m, 1e-6)
    corr = np.asarray(ab / np.sqrt((aa + NOISE * mm) * (bb + NOISE * mm)), np.float32)
    base_detail, warped_detail = aa / mm >= TEXTURE * TEXTURE, bb / mm >= TEXTURE * TEXTURE
    informative = (m >= 0.6) & (base_detail | warped_detail)
    base_alone = base_detail & (~warped_detail | (aa >= DOMINANT * bb))
    warped_alone = warped_detail & (~base_detail | (bb >= DOMINANT * aa))
    alone = base_alone.astype(np.int8) - warped_alone.astype(np.int8)
    return corr, informative, alone


# OpenCV's kernel for GaussianBlur(sigma=WINDOW) of a float picture (its size: 8 sigma + 1)
_WINDOW_KERNEL = cv2.getGaussianKernel(round(8 * WINDOW + 1) | 1, WINDOW, cv2.CV_32F)
_ONE = np.ones((1, 1), np.float32)


def _window_at_cells(x: NDArray[np.float32]) -> NDArray[np.float32]:
    """x in a Gaussian WINDOW around each CELL x CELL cell's centre: GaussianBlur(x, WINDOW)
    read at the centres, each pass of the separable filter made only where it is read (the
    rows across every column, then the columns only at the centres': ~2.5 ms against ~5.5
    of the whole blur at 1024 x 768; equal within float rounding, ~4e-8)."""
    if min(x.shape) <= CELL // 2:  # no cell centre in it
        return np.empty((len(range(CELL // 2, x.shape[0], CELL)),
                         len(range(CELL // 2, x.shape[1], CELL))), np.float32)  # fmt: skip
    across = cv2.sepFilter2D(x, -1, _WINDOW_KERNEL, _ONE)
    centres = np.ascontiguousarray(across[:, CELL // 2 :: CELL])
    down = cv2.sepFilter2D(centres, -1, _ONE, _WINDOW_KERNEL)
    return np.asarray(down[CELL // 2 :: CELL], np.float32)


def _compared(
    base: NDArray[np.uint8], warped: NDArray[np.uint8], valid: NDArray[np.uint8]
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.float32]]:
    """The two pictures as compared (tones matched where one clips more) and the weight of
    each pixel: inside the overlap, and not a light pixel one side clipped and the other not."""
    edge = 2 * int(HIGH_PASS_SIGMA) + 1  # the high-pass sees this far past the overlap's edge
    inside = cv2.erode((valid == 255).astype(np.uint8), np.ones((2 * edge + 1,) * 2, np.uint8),
                       borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0  # fmt: skip
    base, warped = _tones_matched(base, warped, inside)
    # a pixel one side clipped and the other did not decides nothing when the other is light
    # too (a light detail the brightening whitened); a dark stroke facing white is a difference
    darker, lighter = np.minimum(base, warped), np.maximum(base, warped)
    clipped = (_saturated(base) != _saturated(warped)) & (
        (darker >= SATURATED - CLIP_EDGE) | (lighter <= 255 - SATURATED + CLIP_EDGE)
    )
    return base, warped, (inside & ~clipped).astype(np.float32)


# A first look at half size, under the keypoints' own fit, of two pictures at one scale: a
# look-alike's portrait and text differ there too, and most checks are of look-alikes (a
# template's customers propose each other). A region this far from agreeing is refused
# before the refinement and the full-size check (~75 ms of a look-alike's ~95). Not where
# one picture is shown reduced in the other (a screenshot): the keypoints place a small
# picture less exactly than the refinement, which the full check needs there. On
# bench/verify_pairs.py (seed 1) the weakest true pair's glance is 0.69, and two thirds of
# the look-alikes refused have every glance below 0.3.
GLANCE_DIFFER = 0.3
# Its own reason, for the analyst: the refusal was judged at half size under the keypoints'
# fit, not in full detail after the refinement (verify() then tries no closer view, as after
# a full-detail refusal at one scale).
GLANCED = "content differs at half size"


def _glance(
    base: NDArray[np.uint8], warped: NDArray[np.uint8], valid: NDArray[np.uint8]
) -> float | None:
    """The weakest region's agreement of the two pictures at half size; None where too few
    cells have detail to judge by."""
    h, w = base.shape
    if min(h, w) < 64:
        return None
    size = (w // 2, h // 2)
    half = [np.asarray(cv2.resize(x, size, interpolation=cv2.INTER_AREA), np.uint8)
            for x in (base, warped)]  # fmt: skip
    inside = np.asarray(cv2.resize(valid, size, interpolation=cv2.INTER_NEAREST), np.uint8)
    corr, informative, alone = _local_agreement(*_compared(half[0], half[1], inside))
    if int(informative.sum()) < MIN_CELLS // 4:
        return None
    weakest = _weakest_region(corr, informative)
    added = _added(corr, informative, alone) if weakest < GLANCE_DIFFER else None
    return weakest if added is None else _weakest_region(corr, informative & ~added)


# A picture compared shown small whose detail agrees in every cell is compared in tone too:
# that small, a document's text is rows of blobs of one size and its portrait a silhouette,
# which correlate in detail whatever the name or the face (held-out full set: 153 pairs of
# another customer's scan and a screenshot of a page agreed in every cell; colour refused
# all but 7). What still differs is the light and dark of the portrait (skin, hair) and of
# the text: both pictures' grey levels smoothed TONE_SIGMA px, the second's mapped onto the
# first's by one quadratic tone curve over the overlap (a re-posting's brightness, contrast
# and gamma), and each TONE_CELL x TONE_CELL cell's mean difference taken relative to what a
# fit a fraction of a pixel off leaves there: TONE_FLOOR grey levels plus TONE_SLOPE times
# the local gradient (grey levels per px). No cell may differ by more than
# MAX_TONE_DIFFERENCE times that.
TONE_SIGMA = 2.0
TONE_CELL = 4
TONE_FLOOR = 4.0
TONE_SLOPE = 0.5
MAX_TONE_DIFFERENCE = 2.8
TONES_DIFFER = "tones differ"


def _tone_difference(
    base: NDArray[np.uint8], warped: NDArray[np.uint8], weight: NDArray[np.float32]
) -> float | None:
    """Of the two pictures as _compared() gives them: the largest difference of any
    TONE_CELL cell of their smoothed grey levels, once the second's are mapped onto the
    first's by one quadratic curve, relative to what a slight misfit leaves there; None
    where too little of the overlap is unclipped."""
    keep = (weight > 0) & ~_saturated(base) & ~_saturated(warped)
    if keep.sum() < MIN_CELLS:
        return None
    y = cv2.GaussianBlur(base.astype(np.float32), (0, 0), TONE_SIGMA)
    x = cv2.GaussianBlur(warped.astype(np.float32), (0, 0), TONE_SIGMA) / 255
    xs = x[keep]
    design = np.stack([xs * xs, xs, np.ones_like(xs)], axis=1)
    curve, *_ = np.linalg.lstsq(design, y[keep], rcond=None)
    mapped = (curve[0] * x + curve[1]) * x + curve[2]
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3) / 8
    relative = np.abs(y - mapped) / (TONE_FLOOR + TONE_SLOPE * np.sqrt(gx * gx + gy * gy))
    return _largest_cell(relative, keep, TONE_CELL)


def _coarse_correlation(
    base: NDArray[np.uint8], warped: NDArray[np.uint8], valid: NDArray[np.uint8]
) -> float | None:
    """The correlation of the two pictures' smoothed grey levels where both have pixels of
    the photograph (COARSE_SIGMA); None where either is flat there or nothing overlaps."""
    reach = 2 * int(np.ceil(2 * COARSE_SIGMA)) + 1
    inside = cv2.erode((valid == 255).astype(np.uint8), np.ones((reach, reach), np.uint8),
                       borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0  # fmt: skip
    if inside.sum() < CELL * CELL * REGION:
        return None
    x = cv2.GaussianBlur(base.astype(np.float32), (0, 0), COARSE_SIGMA)[inside]
    y = cv2.GaussianBlur(warped.astype(np.float32), (0, 0), COARSE_SIGMA)[inside]
    sx, sy = float(x.std()), float(y.std())
    if min(sx, sy) < COARSE_FLAT:
        return None
    return float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy))


def _saturated(gray: NDArray[np.uint8]) -> NDArray[np.bool_]:
    return np.asarray((gray >= SATURATED) | (gray <= 255 - SATURATED), np.bool_)


def _tones_matched(
    base: NDArray[np.uint8], warped: NDArray[np.uint8], inside: NDArray[np.bool_]
) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """When one picture clips more of the overlap than the other (brightened, contrast
    raised), the other is put through the tone curve between them (per grey level, the
    median of the clipping picture's pixels there; made non-decreasing): what the brightening
    whitened is then white on both sides and decides nothing, while a dark stroke facing a
    clipped white stays a difference. Without this, every pixel one side clipped was left
    out, and with it another customer's name and portrait on a whitened card."""
    a, b = base[inside], warped[inside]
    if a.size == 0:
        return base, warped
    share_a, share_b = float(_saturated(a).mean()), float(_saturated(b).mean())
    if abs(share_a - share_b) < CLIP_SHARE:
        return base, warped
    if share_a > share_b:
        return base, _tone_curve(b, a)[warped]
    return _tone_curve(a, b)[base], warped


def _tone_curve(x: NDArray[np.uint8], y: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The non-decreasing curve taking x's grey levels to y's (the median of y at each level
    of x seen at least CURVE_SAMPLES times, interpolated between them)."""
    joint = np.bincount(x.astype(np.int64) * 256 + y, minlength=256 * 256).reshape(256, 256)
    counts = joint.sum(axis=1)
    seen = np.flatnonzero(counts >= CURVE_SAMPLES)
    if seen.size == 0:
        return np.arange(256, dtype=np.uint8)
    median = (joint.cumsum(axis=1) * 2 >= counts[:, None]).argmax(axis=1)
    curve = np.interp(np.arange(256), seen, median[seen])
    return np.asarray(np.clip(np.maximum.accumulate(curve).round(), 0, 255), np.uint8)


def _weakest_region(corr: NDArray[np.float32], informative: NDArray[np.bool_]) -> float:
    """The lowest mean correlation over the informative cells of any REGION x REGION window
    with enough of them: a copy agrees everywhere (its flaws, a re-encode or a resampling,
    are spread thin); another customer of one template agrees in the layout and guilloche
    but not in one place (the portrait, a name, a number)."""
    size = (REGION, REGION)
    total = cv2.boxFilter(np.where(informative, corr, 0).astype(np.float32), -1, size,
                          normalize=False)  # fmt: skip
    count = cv2.boxFilter(informative.astype(np.float32), -1, size, normalize=False)
    enough = count >= REGION * REGION / 3
    if not enough.any():
        return 1.0
    return float((total[enough] / count[enough]).min())
