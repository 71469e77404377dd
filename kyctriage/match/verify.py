"""Is it the same photograph? Local features, a geometric fit, then the content in the overlap."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from kyctriage.model import Verification

# The working copy's longest side: the scan's preview (256-511 px for a JPEG drafted by DCT
# scaling, at most 512 otherwise) is used as it is; larger pictures are reduced to this.
WORK = 1024
# ORB (OpenCV's, rotation invariant: 90-degree turns need no extra view). Small borders and
# patches because previews are small; 600 keypoints leave enough on the half of a picture
# that a one-side crop or a screenshot keeps.
KEYPOINTS = 600
PATCH = 19
# A picture with fewer keypoints than this, or fewer informative blocks than MIN_BLOCKS,
# cannot be told from its look-alikes (flat colours, a white page with a line of text): it is
# linked only by exact or same-pixel identity.
MIN_KEYPOINTS = 24
# Lowe's ratio test on Hamming distances, then a RANSAC similarity (scale, turn, shift, and
# mirror through mirrored keypoints): at least MIN_INLIERS consistent matches.
RATIO = 0.8
MIN_INLIERS = 12
REPROJECT = 3.0  # pixels of the working copy
# Content check: blocks of BLOCK px of the first picture's working copy, compared after the
# second is warped onto it. High-passed luminance (detail, not brightness or colour, which
# re-posting changes); a block is informative when both sides have detail (std >= TEXTURE
# grey levels); it agrees when the normalised correlation is >= AGREE.
BLOCK = 16
HIGH_PASS_SIGMA = 3.0
FINE_SIGMA = 0.8
TEXTURE = 3.0
AGREE = 0.5
MIN_BLOCKS = 24
DIFFER = 0.2
MAX_DIFFERING = 0.03  # share of the informative blocks
# Same photograph: at least this share of the informative blocks agree. Re-encodes, resizes,
# brightening and crops of one photograph agree in nearly every block; a look-alike of one
# template (another customer) shares the layout and guilloche but not the portrait, name and
# numbers, which are a quarter or more of the document's detail (see tests/test_verify.py).
MIN_AGREEMENT = 0.9
MIN_OVERLAP = 0.2  # of the smaller picture: a sliver is not a match


@dataclass(frozen=True, eq=False)
class Features:
    """What verification needs of one picture: its grey working copy and ORB features."""

    gray: NDArray[np.uint8]
    points: NDArray[np.float32]  # (n, 2) x, y in the working copy
    descriptors: NDArray[np.uint8]  # (n, 32)
    informative: bool  # enough keypoints and detail to be told from a look-alike
    scale: float  # working copy pixels per original preview pixel


def _detect(gray: NDArray[np.uint8]) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    orb = cv2.ORB.create(KEYPOINTS, edgeThreshold=PATCH, patchSize=PATCH, fastThreshold=10)
    keypoints, descriptors = orb.detectAndCompute(gray, None)
    if descriptors is None or not keypoints:
        return np.empty((0, 2), np.float32), np.empty((0, 32), np.uint8)
    points = np.array([k.pt for k in keypoints], np.float32)
    return points, np.asarray(descriptors, np.uint8)


def _high_pass(gray: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Detail at the scale a sub-pixel misfit and resampling leave alone: a difference of
    Gaussians (the finest detail is the encoders' and resamplers' as much as the picture's)."""
    g = gray.astype(np.float32)
    fine = cv2.GaussianBlur(g, (0, 0), FINE_SIGMA)
    return fine - cv2.GaussianBlur(g, (0, 0), HIGH_PASS_SIGMA)


def _block_stats(
    hp: NDArray[np.float32],
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Per BLOCK x BLOCK tile: the high-pass image's tiles (rows, cols, BLOCK*BLOCK) and std."""
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
    points, descriptors = _detect(gray)
    _, stds = _block_stats(_high_pass(gray))
    informative = len(points) >= MIN_KEYPOINTS and int((stds >= TEXTURE).sum()) >= MIN_BLOCKS
    return Features(gray, points, descriptors, informative, scale)


def _matches(a: Features, b_desc: NDArray[np.uint8]) -> list[tuple[int, int]]:
    """(index in a, index in b) pairs passing the ratio test."""
    if len(a.descriptors) < 2 or len(b_desc) < 2:
        return []
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    return [
        (found[0].trainIdx, found[0].queryIdx)
        for found in matcher.knnMatch(b_desc, a.descriptors, k=2)
        if len(found) == 2 and found[0].distance < RATIO * found[1].distance
    ]


def _fit(
    a: Features, b_points: NDArray[np.float32], b_desc: NDArray[np.uint8]
) -> tuple[NDArray[np.float64] | None, int]:
    """The similarity taking the second picture's points onto the first's, and its inliers."""
    pairs = _matches(a, b_desc)
    if len(pairs) < MIN_INLIERS:
        return None, len(pairs)
    ia, ib = np.array(pairs).T
    matrix, inliers = cv2.estimateAffinePartial2D(
        b_points[ib], a.points[ia], method=cv2.RANSAC, ransacReprojThreshold=REPROJECT,
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
    return (matrix if count >= MIN_INLIERS else None), count


def verify(a: Features, b: Features) -> Verification:
    """Whether b shows the same photograph as a (or a crop of it, or a picture embedding it)."""
    if not (a.informative and b.informative):
        return Verification(False, "low information")
    best: Verification | None = None
    most = 0
    for mirrored in (False, True):
        if mirrored:
            points, desc = _detect(np.ascontiguousarray(b.gray[:, ::-1]))
        else:
            points, desc = b.points, b.descriptors
        matrix, count = _fit(a, points, desc)
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
    return best if best is not None else Verification(False, "no geometric fit", inliers=most)


def _agreement(v: Verification) -> float:
    return v.agreeing / v.blocks if v.blocks else 0.0


def _content(
    a: Features, b: Features, matrix: NDArray[np.float64], inliers: int, mirrored: bool
) -> Verification:
    gray = np.ascontiguousarray(b.gray[:, ::-1] if mirrored else b.gray)
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    angle = float(np.degrees(np.arctan2(-matrix[1, 0], matrix[0, 0])))
    base: NDArray[np.uint8] = a.gray
    moving: NDArray[np.uint8] = gray
    if scale > 1:  # b is the smaller picture: a is brought down to b's frame, never b blown up
        base, moving = gray, a.gray
        matrix = np.asarray(cv2.invertAffineTransform(matrix), np.float64)
    h, w = base.shape
    shrink = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if shrink < 0.9:  # warpAffine samples bilinearly: blur first, or fine patterns alias
        moving = np.asarray(cv2.GaussianBlur(moving, (0, 0), 0.5 / shrink), np.uint8)
    warped = np.asarray(cv2.warpAffine(moving, matrix, (w, h), flags=cv2.INTER_AREA), np.uint8)
    valid = cv2.warpAffine(
        np.full(moving.shape, 255, np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST
    )
    covered = float((valid > 0).sum())
    smaller = min(h * w, moving.shape[0] * moving.shape[1] * shrink * shrink)
    overlap = min(1.0, covered / max(smaller, 1.0))
    facts = Verification(
        False, "overlap too small", mirrored=mirrored, inliers=inliers,
        overlap=round(overlap, 3), scale=round(scale, 3), angle=round(angle, 1),
    )  # fmt: skip
    if overlap < MIN_OVERLAP:
        return facts
    tiles_a, std_a = _block_stats(_high_pass(base))
    tiles_b, std_b = _block_stats(_high_pass(warped))
    inside, _ = _block_stats((valid == 255).astype(np.float32))
    whole = inside.min(axis=2) > 0  # blocks wholly inside the warped picture
    useful = whole & (std_a >= TEXTURE) & (std_b >= TEXTURE)
    n = int(useful.sum())
    if n < MIN_BLOCKS:
        return replace(facts, reason="low information", blocks=n)
    ta, tb = tiles_a[useful], tiles_b[useful]
    ta = ta - ta.mean(axis=1, keepdims=True)
    tb = tb - tb.mean(axis=1, keepdims=True)
    corr = (ta * tb).sum(axis=1) / np.maximum(
        np.sqrt((ta * ta).sum(axis=1) * (tb * tb).sum(axis=1)), 1e-6
    )
    agreeing = int((corr >= AGREE).sum())
    differing = int((corr < DIFFER).sum())
    verified = agreeing >= MIN_AGREEMENT * n and differing <= max(1, MAX_DIFFERING * n)
    return replace(
        facts, verified=verified, reason="verified" if verified else "content differs",
        blocks=n, agreeing=agreeing, differing=differing,
        min_correlation=round(float(corr.min()), 3),
    )  # fmt: skip
