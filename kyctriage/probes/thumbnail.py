"""Report thumbnails made from the scan's one preview: small, re-encoded, pixelated by default."""

from __future__ import annotations

import base64
import io

from PIL import Image

NAME = "thumbnail"

MODES = ("pixelated", "full", "none")
# A pixelated thumbnail keeps 16 blocks on the long side: enough to tell a selfie with a card
# from a screenshot or a landscape, too few to read a face, a name or a document number.
PIXELATED_BLOCKS = 16
FULL_SIDE = 160


def make_thumbnail(preview: Image.Image, mode: str) -> str | None:
    """A data-URI-ready base64 JPEG, or None when thumbnails are off."""
    if mode == "none":
        return None
    side = PIXELATED_BLOCKS if mode == "pixelated" else FULL_SIDE
    scale = side / max(preview.size)
    size = (max(1, round(preview.width * scale)), max(1, round(preview.height * scale)))
    small = preview.resize(size, Image.Resampling.BOX)  # no copy of the preview itself
    out = io.BytesIO()
    small.save(out, "JPEG", quality=70 if mode == "full" else 90)
    return base64.b64encode(out.getvalue()).decode("ascii")
