"""Rectangles of photographic content inside a larger image: a screenshot, a padded picture.

Used by the watermark detector (each region searched as a picture of its own) and by the
candidate search of verified matching (match/candidates.py: a picture's keys taken from the
photographs a screenshot shows, not from its window's chrome)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import find_objects, label, uniform_filter  # type: ignore[import-untyped]

# A pixel is flat where its 3x3 neighbourhood varies by less than this (grey levels): a UI's
# backgrounds, borders and padding, even after JPEG q85; a photograph's noise and texture is not.
FLAT_STD = 0.5
# Busy areas narrower than this (preview pixels) are text, icons and lines, not a picture: a
# screen's text shrinks to 2-4 px in the preview. The opening keeps a rectangle's edges exactly.
OPENING = 7
MIN_REGION = 48  # shorter side (preview px) below which a region is not looked at
MAX_REGIONS = 4  # the largest few: the union bound (detect.py) counts every one
# Share of its box a pasted picture's busy area fills (its flat patches touching its edge
# aside); only such a region too small to test makes the verdict inconclusive.
FILL = 0.9
# A region reaching this close (preview px) to every edge is the picture itself; a thin border
# or padding of a few pixels all round is not (the whole image's tests miss a padded picture).
WHOLE = 2
# How far in from the busy area's edges a picture is looked for (preview px): the flat test's
# window, JPEG's ringing, a reduced decode's mixed pixels and text set close beside a picture
# make the busy area wider than the picture by a few pixels, and a box reaching past the
# picture would read as padding; a box inside it is a crop, which the crop search finds.
INSETS = (4, 10)
# The crop search of a region tries only crops keeping this much of each side (the larger
# inset leaves that of a picture of 170 px or more): half the pairs to make and try.
LEAST_KEPT = 0.88
BORDER = 4  # preview px: an image whose edges are busy all round fills its frame
# A region's box keeps the columns its busy area fills at least this share of (of the fullest):
# lines of text set a few pixels above or below a picture join it in the preview and would
# stretch its box across the page.
CORE = 0.5
# A picture's flat edge (a sky) can match the page's luminance and join it; beyond each side of
# the box, rows whose pixels are mostly of none of the page's colours are the picture's still.
# Colours are binned by COLOUR_BIN grey levels per channel; a page colour takes in its bin's
# neighbours too (8-15 levels either way: JPEG's ringing beside a step stays inside).
COLOUR_BIN, RIM_SHARE = 8, 0.02
BINS = 256 // COLOUR_BIN
_NEIGHBOURS = np.stack(np.meshgrid(*[(-1, 0, 1)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)


@dataclass(frozen=True)
class Region:
    busy: tuple[int, int, int, int]  # left, top, right, bottom in preview pixels
    share: float  # of the image's area
    rectangular: bool  # fills its box (FILL), as a pasted picture does; a cloud does not

    def box(self, inset: int = INSETS[0]) -> tuple[int, int, int, int]:
        left, top, right, bottom = self.busy
        return left + inset, top + inset, right - inset, bottom - inset

    @property
    def shorter(self) -> int:
        left, top, right, bottom = self.busy
        return min(right - left, bottom - top)

    def describe(self) -> str:
        left, top, right, bottom = self.busy
        return f"{right - left}x{bottom - top} at ({left}, {top})"


def _flat(luma: np.ndarray) -> np.ndarray:
    mean = uniform_filter(luma, 3)
    var = uniform_filter(luma * luma, 3) - mean * mean
    flat: np.ndarray = var < FLAT_STD * FLAT_STD
    return flat


def _reaching_edge(mask: np.ndarray) -> np.ndarray:
    """The parts of mask (4-connected) that reach the image's edge."""
    labels, count = label(mask)
    reaching = np.zeros(count + 1, dtype=bool)
    reaching[labels[0]] = reaching[labels[-1]] = reaching[labels[:, 0]] = True
    reaching[labels[:, -1]] = True
    reaching[0] = False  # outside mask
    found: np.ndarray = reaching[labels]
    return found


def _page(flat: np.ndarray) -> np.ndarray:
    """The page around the pictures: the flat areas that reach the image's edge. A picture's own
    flat patch (a sky, a wall) at its edge is set apart from the page by the few busy pixels of
    the step between their colours, so it stays part of the picture (the opening below would
    wipe that thin line out if flatness alone were the test)."""
    return _reaching_edge(flat)


def fills_frame(luma: np.ndarray) -> bool:
    """True when no edge of the image has a flat run of any length: the common case of a
    photograph, decided on the border strips alone (cheap)."""
    # more than a tenth of an edge with flat pixels: not a photograph filling its frame
    return all(_flat_share(strip) <= 0.1 for strip in _edges(luma))


def _edges(luma: np.ndarray) -> Iterator[np.ndarray]:
    yield from (luma[:BORDER], luma[-BORDER:], luma[:, :BORDER].T, luma[:, -BORDER:].T)


def _flat_share(strip: np.ndarray) -> float:
    """The share of an edge's length (a BORDER-deep strip along it) with flat pixels."""
    flat = _flat(np.ascontiguousarray(strip, dtype=np.float32))[1:-1]
    return float(flat.any(axis=0).mean())


def _core(inside: np.ndarray) -> tuple[slice, slice]:
    """The columns of the box the component (a boolean box) fills at least CORE of, and its
    rows less those at the top and bottom that reach into the other columns: a picture without
    the lines of text that touch it (a picture's own ragged edge, a skyline, stays)."""
    columns = inside.sum(0)
    kept = np.flatnonzero(columns >= CORE * columns.max())
    cols = slice(int(kept[0]), int(kept[-1]) + 1)
    beside = inside[:, : cols.start].any(axis=1) | inside[:, cols.stop :].any(axis=1)
    within = np.flatnonzero(~beside)
    if not len(within):
        return slice(0, len(inside)), cols
    return slice(int(within[0]), int(within[-1]) + 1), cols


def _page_colours(rgb: np.ndarray, page: np.ndarray) -> np.ndarray | None:
    """Which colour bins are the page's (BINS^3 booleans): those of its pixels on the image's
    rim (a screen's background, its title bar) holding RIM_SHARE of them or more, and their
    neighbouring bins. None when no page reaches the rim."""
    ring = np.ones(page.shape, dtype=bool)
    ring[1:-1, 1:-1] = False
    rim = _bins(rgb[ring & page])
    if not len(rim):
        return None
    common = np.flatnonzero(np.bincount(rim) >= RIM_SHARE * len(rim))
    centres = np.stack(np.unravel_index(common, (BINS,) * 3), axis=1)  # (k, 3)
    near = np.clip(centres[:, None, :] + _NEIGHBOURS[None], 0, BINS - 1).reshape(-1, 3)
    like = np.zeros(BINS**3, dtype=bool)
    like[(near[:, 0] * BINS + near[:, 1]) * BINS + near[:, 2]] = True
    return like


def _bins(pixels: np.ndarray) -> np.ndarray:
    """The colour bin of each pixel (..., 3) as one index."""
    bins = (pixels // COLOUR_BIN).astype(np.int32)
    index: np.ndarray = (bins[..., 0] * BINS + bins[..., 1]) * BINS + bins[..., 2]
    return index


def _reach(strip: np.ndarray, page: np.ndarray) -> int:
    """How many lines of strip (lines x length x 3, nearest first) run unbroken with more than
    half their pixels of none of the page's colours. The nearest line alone is looked at first:
    beside a pasted picture it is the page, and the rest is never needed."""
    if not len(strip) or (~page[_bins(strip[0])]).mean() <= 0.5:
        return 0
    shares = (~page[_bins(strip)]).mean(axis=1)
    stops = np.flatnonzero(shares <= 0.5)
    return int(stops[0]) if len(stops) else len(shares)


def _grow(
    box: tuple[int, int, int, int], rgb: np.ndarray, page: np.ndarray
) -> tuple[int, int, int, int]:
    """The box grown over the rows (and columns) beyond each side whose pixels are mostly of
    none of the page's colours: a flat sky the luminance could not tell from the padding."""
    left, top, right, bottom = box
    top -= _reach(rgb[:top, left:right][::-1], page)
    bottom += _reach(rgb[bottom:, left:right], page)
    left -= _reach(rgb[top:bottom, :left].transpose(1, 0, 2)[::-1], page)
    right += _reach(rgb[top:bottom, right:].transpose(1, 0, 2), page)
    return left, top, right, bottom


def _erode(mask: np.ndarray) -> np.ndarray:
    """mask eroded by an OPENING x OPENING square, its outside mirrored at the image's edges
    (scipy.ndimage's "reflect"): along each axis, a window's AND built from two halves of it."""
    half = OPENING // 2
    for _ in range(2):  # along y, then along x (each pass leaves the result transposed)
        run = np.pad(mask, ((half, half), (0, 0)), mode="symmetric")
        width = 1  # run[i] holds the AND of the `width` rows from i on
        while width < OPENING:
            step = min(width, OPENING - width)
            run = run[:-step] & run[step:]
            width += step
        mask = run.T
    return np.ascontiguousarray(mask)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """mask with every hole filled: the parts of its outside (4-connected, as
    scipy.ndimage.binary_fill_holes has it) that do not reach the image's edge. One labelling
    instead of binary_fill_holes's repeated dilations (~3 ms on a 512 px preview)."""
    return ~_reaching_edge(~mask)


def find(luma: np.ndarray, rgb: np.ndarray | None = None) -> tuple[list[Region], list[Region]]:
    """(regions worth testing, largest first; regions too small to test). Empty when the
    busy part of the image is the image itself. rgb (the same pixels in colour, H x W x 3)
    lets a region grow over a flat edge the luminance merged with the page."""
    luma = luma.astype(np.float32, copy=False)
    height, width = luma.shape
    page = _page(_flat(luma))
    colours = None if rgb is None else _page_colours(rgb, page)
    # Opening by a square: erode, then dilate back (the dilation is the erosion of the rest).
    opened = ~_erode(~_erode(~page))
    # A picture's own flat patches (a white wall, a sky) are holes in it, not its outside.
    labels, _ = label(_fill_holes(opened))
    found: list[Region] = []
    for index, slices in enumerate(find_objects(labels), start=1):
        if slices is None:
            continue
        inside = labels[slices] == index
        rows, cols = _core(inside)
        fill = float(inside[rows, cols].mean())
        box = (slices[1].start + cols.start, slices[0].start + rows.start,
               slices[1].start + cols.stop, slices[0].start + rows.stop)  # fmt: skip
        if rgb is not None and colours is not None:
            grown = _grow(box, rgb, colours)
            # What it grew over is picture, not page: it counts as filled.
            area = (box[2] - box[0]) * (box[3] - box[1])
            added = (grown[2] - grown[0]) * (grown[3] - grown[1]) - area
            fill = (fill * area + added) / (area + added)
            box = grown
        left, top, right, bottom = box
        if max(top, left, height - bottom, width - right) < WHOLE:
            return [], []
        share = (right - left) * (bottom - top) / (height * width)
        region = Region(box, share, fill >= FILL)
        if all(r.busy != box for r in found):  # two parts can grow into one box
            found.append(region)
    found.sort(key=lambda r: r.share, reverse=True)
    big = [r for r in found if r.shorter >= MIN_REGION]
    small = [r for r in found if r not in big and r.rectangular and r.share >= 0.02]
    return big[:MAX_REGIONS], small


# A region whose every edge is flat along at least FRAMED of its length, a few pixels inside
# its busy area (any of INSETS: a window's title bar is a step right at its edge), frames
# pictures (a viewer window on a desktop, a page shown in a chat), and is no photograph: the
# pictures are looked for inside it, up to NESTING frames deep. A photograph's own flat
# patches reach at most some of its edges (a sky, a wall); one that frames nothing worth
# looking at (a booth's plain backdrop all round: MIN_INSIDE) is a picture itself.
FRAMED = 0.4
NESTING = 3
# A picture's box (pictures()): the busy area less this (preview px); the busy area is wider
# than the picture by the flat test's window and JPEG's ringing (INSETS says more).
PICTURE_INSET = 2
# A framed region in which no picture is found with a shorter side of at least MIN_INSIDE
# px (a card on a page is 12 or more) is a picture itself: a capture whose plain backdrop
# reaches every edge, its name plate (a line of text, ~4 px) no picture.
MIN_INSIDE = 8
# A framed region whose shorter side is under PAGE px is a page (a scanned document shown
# small in a chat or a viewer) and a picture itself too, beside those found inside it: its
# document alone may be too small to look at (~20 px of a 256 px copy).
PAGE = 96


def pictures(luma: np.ndarray, depth: int = NESTING) -> list[tuple[int, int, int, int]]:
    """The boxes (left, top, right, bottom in luma's pixels, largest first) of the pictures
    shown inside an image: find's rectangular regions (a pasted picture, a document on a
    page), and inside a region framed by flat edges (a window inside a desktop) those found
    there in turn. Empty when the image is a photograph itself (its busy part is the image)."""
    if fills_frame(luma):
        return []
    big, small = find(luma)
    found: list[tuple[int, int, int, int]] = []
    for region in (r for r in big + small if r.rectangular):
        frame = _frame(luma, region) if depth > 0 else None
        if frame is None:
            found.append(region.box(PICTURE_INSET))
            continue
        left, top, right, bottom = frame
        inside = pictures(luma[top:bottom, left:right], depth - 1)
        if region.shorter < PAGE or not any(min(c - a, d - b) >= MIN_INSIDE
                                            for a, b, c, d in inside):  # fmt: skip
            found.append(region.box(PICTURE_INSET))
        found += [(a + left, b + top, c + left, d + top) for a, b, c, d in inside]
    return found


def _frame(luma: np.ndarray, region: Region) -> tuple[int, int, int, int] | None:
    """The region's box inside its flat frame, or None when it is not framed. Each side is
    brought in by the least of INSETS[0]..INSETS[-1] at which its own edge is flat: a
    window's title bar needs the larger inset at the top, and a picture set close beside
    another side would be cut by it there (its cut edge then reaches the box's, and it reads
    as the window's own page)."""
    far = INSETS[-1]
    insets = []
    for side in range(4):
        for inset in range(INSETS[0], far + 1):
            trial = [far] * 4
            trial[side] = inset
            framed = _flat_side(luma, region, trial, side)
            if framed is None:
                return None
            if framed:
                insets.append(inset)
                break
        else:
            return None
    if not all(_flat_side(luma, region, insets, side) for side in range(4)):
        return None
    left, top, right, bottom = region.busy
    return left + insets[0], top + insets[1], right - insets[2], bottom - insets[3]


# _edges' order of a box's sides (top, bottom, left, right) for left, top, right, bottom
_SIDE_EDGE = (2, 0, 3, 1)


def _flat_side(luma: np.ndarray, region: Region, insets: list[int], side: int) -> bool | None:
    """Whether one side (0-3: left, top, right, bottom) of the region's busy area, brought in
    by `insets` (one per side), is flat along FRAMED of its length; None when the box left
    is too small to look at."""
    left, top, right, bottom = region.busy
    inner = luma[top + insets[1] : bottom - insets[3], left + insets[0] : right - insets[2]]
    if min(inner.shape) <= 2 * BORDER:
        return None
    return _flat_share(list(_edges(inner))[_SIDE_EDGE[side]]) >= FRAMED


# A picture's box found on a copy a few hundred pixels a side is off by up to a few of its
# pixels at a closer look: 4-8% of a document shown 100-200 px wide in a screenshot, where
# its global hashes need ~2%. refined() moves each side to where the flat surround stops, on
# the closer copy: a pixel is the picture's where it differs from the surround's level by
# more than EDGE_STEP grey levels (a card's tint on a white page is 15-25), and a line is
# the picture's edge where most of its pixels are (EDGE_SHARE). A surround is flat when at
# most FLAT_SURROUND of its outermost line's pixels differ so.
EDGE_STEP = 10
EDGE_SHARE = 0.5
FLAT_SURROUND = 0.2


def refined(luma: np.ndarray, box: tuple[int, int, int, int], reach: int
            ) -> tuple[int, int, int, int]:  # fmt: skip
    """`box` (left, top, right, bottom in luma's pixels) with each side moved, within
    `reach` pixels either way, to where the flat surround beyond it stops; a side with no
    flat surround within reach (the picture runs to the frame's edge) stays."""
    left, top, right, bottom = box
    height, width = luma.shape
    grey = luma.astype(np.int16)
    outer = max(0, left - reach)
    lines = grey[top:bottom, outer : min(width, left + reach)].T  # outermost first
    left = _edge(lines, outer, 1, left)
    outer = min(width, right + reach)
    lines = grey[top:bottom, max(0, right - reach) : outer][:, ::-1].T
    right = _edge(lines, outer, -1, right)
    outer = max(0, top - reach)
    top = _edge(grey[outer : min(height, top + reach), left:right], outer, 1, top)
    outer = min(height, bottom + reach)
    lines = grey[max(0, bottom - reach) : outer, left:right][::-1]
    bottom = _edge(lines, outer, -1, bottom)
    return left, top, right, bottom


def _edge(lines: np.ndarray, outer: int, step: int, side: int) -> int:
    """The coordinate of the first of `lines` (outermost first; `outer` the outermost's
    coordinate bound, `step` the direction inward) that is mostly the picture's."""
    if len(lines) < 2 or not lines.shape[1]:
        return side
    level = np.median(lines[0])
    differs = (np.abs(lines - level) > EDGE_STEP).mean(axis=1)
    if differs[0] > FLAT_SURROUND:
        return side
    inside = np.flatnonzero(differs > EDGE_SHARE)
    if not len(inside):
        return side
    return outer + step * int(inside[0])
