"""Evidence text made safe to show: one escaping rule for every renderer."""

from __future__ import annotations

import re

# Controls, bidi overrides and invisible characters would make a name read differently from
# what it is (evil\u202egpj.exe shows as evilexe.jpg), and in a terminal an escape sequence
# could rewrite the screen, so they are shown as escapes.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def visible(value: object, limit: int | None = None) -> str:
    """Evidence text for display: invisible and direction-changing characters made visible,
    cut to limit characters (marked) when a limit is given."""
    text = "" if value is None else str(value)
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    shown = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return shown + (" [...]" if cut else "")
