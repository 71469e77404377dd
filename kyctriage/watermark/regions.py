"""Rectangles of photographic content inside a larger image: a screenshot, a padded picture."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_fill_holes, find_objects, label, uniform_filter  # type: ignore[import-untyped]

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


def _page(flat: np.ndarray) -> np.ndarray:
    """The page around the pictures: the flat areas that reach the image's edge. A picture's own
    flat patch (a sky, a wall) at its edge is set apart from the page by the few busy pixels of
    the step between their colours, so it stays part of the picture (the opening below would
    wipe that thin line out if flatness alone were the test)."""
    labels, _ = label(flat)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    page: np.ndarray = np.isin(labels, edge[edge > 0])
    return page


def fills_frame(luma: np.ndarray) -> bool:
    """True when no edge of the image has a flat run of any length: the common case of a
    photograph, decided on the border strips alone (cheap)."""
    edges = (luma[:BORDER], luma[-BORDER:], luma[:, :BORDER].T, luma[:, -BORDER:].T)
    for strip in edges:
        flat = _flat(np.ascontiguousarray(strip, dtype=np.float32))[1:-1]
        if flat.any(axis=0).mean() > 0.1:  # more than a tenth of that edge has flat pixels
            return False
    return True


def find(luma: np.ndarray) -> tuple[list[Region], list[Region]]:
    """(regions worth testing, largest first; regions too small to test). Empty when the
    busy part of the image is the image itself."""
    luma = luma.astype(np.float32, copy=False)
    height, width = luma.shape
    busy = ~_page(_flat(luma))
    # Opening by a square, done with two box filters: erode, then dilate back.
    eroded = uniform_filter(busy.astype(np.float32), OPENING) > 1 - 1e-3
    opened = uniform_filter(eroded.astype(np.float32), OPENING) > 1e-3
    # A picture's own flat patches (a white wall, a sky) are holes in it, not its outside.
    labels, _ = label(binary_fill_holes(opened))
    found = []
    for index, slices in enumerate(find_objects(labels), start=1):
        if slices is None:
            continue
        rows, cols = slices
        h, w = rows.stop - rows.start, cols.stop - cols.start
        if max(rows.start, cols.start, height - rows.stop, width - cols.stop) < WHOLE:
            return [], []
        fill = float((labels[slices] == index).mean())
        box = (cols.start, rows.start, cols.stop, rows.stop)
        found.append(Region(box, h * w / (height * width), fill >= FILL))
    found.sort(key=lambda r: r.share, reverse=True)
    big = [r for r in found if r.shorter >= MIN_REGION]
    small = [r for r in found if r not in big and r.rectangular and r.share >= 0.02]
    return big[:MAX_REGIONS], small
