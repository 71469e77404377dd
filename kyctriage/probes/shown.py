"""The pictures an image shows inside it (a screenshot's photograph, a scanned page's
document), hashed as pictures of their own. An archive's index keeps only global hashes, and
a screenshot's own say nothing of the picture it shows; these find its original there
(match/compare.py). Verification, not these hashes, decides a match."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from kyctriage.model import ViewHashes
from kyctriage.probes import hashes
from kyctriage.probes.decode import Decoded

# The copy pictures are looked for in: regions' constants are in its pixels (the watermark
# detector's preview; verification's candidate keys look there too, match/candidates.py).
REGIONS = 256
# The closer decode a shown picture is looked at in, at most this many px a side (as near as
# a screen needs): a document shown ~180 px wide in a 1,920 px screenshot is ~50 px in the
# REGIONS copy, where one pixel is 4% of its width and its hashes need ~2% (regions.refined);
# its candidate keys are taken there too.
CLOSER = 2048
# A picture shown smaller than this (px of that decode) is not hashed: 64 px hashes of it
# would be its blur.
MIN_SIDE = 32


def views(decoded: Decoded) -> tuple[ViewHashes, ...]:
    """The hashes (hashes.SHOWN) of the pictures the decode shows inside it, the largest
    first, at most hashes.SHOWN_MOST; none for a photograph that fills its frame."""
    # regions needs scipy.ndimage (~0.26 s to import): imported by the worker that first
    # looks, not on the scan's start-up path before the workers fork
    from kyctriage import regions

    preview = decoded.preview.convert("L")
    if max(preview.size) > REGIONS:
        preview.thumbnail((REGIONS, REGIONS), Image.Resampling.BOX)
    luma = np.asarray(preview, np.float32)
    boxes = regions.pictures(luma)
    if not boxes:
        return ()
    grey = np.asarray(at_most_closer(decoded.upright()).convert("L"), np.uint8)
    scale = grey.shape[1] / luma.shape[1]
    # the box is the busy area less PICTURE_INSET: its sides lie a few REGIONS px off
    reach = math.ceil((regions.PICTURE_INSET + 2) * scale)
    crops = []
    for box in boxes[: hashes.SHOWN_MOST]:
        scaled = (round(box[0] * scale), round(box[1] * scale),
                  round(box[2] * scale), round(box[3] * scale))  # fmt: skip
        left, top, right, bottom = regions.refined(grey, scaled, reach)
        if min(right - left, bottom - top) >= MIN_SIDE:
            crops.append(grey[top:bottom, left:right])
    return hashes.shown_views(crops)


def at_most_closer(picture: Image.Image) -> Image.Image:
    """The picture, or a copy brought down to CLOSER px a side (a box reduction)."""
    if max(picture.size) <= CLOSER:
        return picture
    smaller = picture.copy()
    smaller.thumbnail((CLOSER, CLOSER), Image.Resampling.BOX)
    return smaller
