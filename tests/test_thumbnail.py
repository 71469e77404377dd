"""Thumbnails: pixelated by default so that reports forwarded around reveal no identity."""

from __future__ import annotations

import base64
import io

from PIL import Image

from kyctriage.probes.thumbnail import FULL_SIDE, PIXELATED_BLOCKS, make_thumbnail


def _decode(text: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(text)))


def test_modes():
    preview = Image.new("RGB", (500, 375), (10, 200, 30))
    assert max(_decode(make_thumbnail(preview, "pixelated")).size) == PIXELATED_BLOCKS
    assert max(_decode(make_thumbnail(preview, "full")).size) == FULL_SIDE
    assert make_thumbnail(preview, "none") is None
