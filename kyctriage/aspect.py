"""Aspect ratios of the marked originals, which bound the crop search (see watermark/crop.py)."""

from __future__ import annotations

import re

AspectRatios = tuple[tuple[int, int], ...]
# What cameras, phones and KYC capture SDKs write (portrait forms are implied): what a profile
# may name to narrow (and speed up) the search. Not the default: customers upload what their
# croppers make, so by default a crop of an original of any ratio is looked for (None).
CAMERA_ASPECT_RATIOS: AspectRatios = ((1, 1), (4, 3), (3, 2), (16, 9))
DEFAULT_ASPECT_RATIOS: AspectRatios | None = None
ANY = "any"
_RATIO = re.compile(r"^\s*(\d{1,5})\s*:\s*(\d{1,5})\s*$")


def parse_aspect_ratios(value: object) -> AspectRatios | None:
    """ "4:3,16:9" (or a list of such strings) -> ((4, 3), (16, 9)); "any" -> None (no limit)."""
    if isinstance(value, str):
        if value.strip().lower() == ANY:
            return None
        items: list[object] = list(value.split(","))
    elif isinstance(value, list) and value:
        if any(isinstance(item, str) and item.strip().lower() == ANY for item in value):
            return None
        items = list(value)
    else:
        raise ValueError(f'aspect ratios must be like "4:3,16:9" or "any", not {value!r}')
    ratios = []
    for item in items:
        match = _RATIO.match(item) if isinstance(item, str) else None
        if match is None or int(match[1]) == 0 or int(match[2]) == 0:
            raise ValueError(f'aspect ratio {item!r} is not like "4:3"')
        ratios.append((int(match[1]), int(match[2])))
    return tuple(ratios)


def describe(ratios: AspectRatios | None) -> str:
    return ANY if ratios is None else ", ".join(f"{w}:{h}" for w, h in ratios)
