"""Evidence text made safe to show: the one escaping rule of every renderer."""

from __future__ import annotations

import re

from kyctriage.model import Verification

# Shown as \u escapes wherever outside text reaches a terminal, a CSV, the timeline, a page or
# the manifest: in a terminal an escape sequence rewrites the screen or the title; CR and LF
# start a new row for a CSV reader; bidi controls make evil\u202egpj.exe read as evilexe.jpg;
# invisible and format characters (Unicode category Cf: soft hyphen, zero-width and word
# joiners, Arabic letter mark, tags, annotation marks) make different names look the same.
# The class covers categories Cc, Cf, Zl, Zp and Cs of the whole code space
# (tests/test_escaping.py checks every code point), plus a few letters and marks drawn as
# nothing at all (the combining grapheme joiner, Hangul fillers, Mongolian and Khmer
# invisibles) and the unassigned rest of the tag and specials blocks. The backslash itself
# is doubled, so that a name holding the six letters "\u202e" cannot pass for one holding the
# character: the display stays one-to-one.
_UNSAFE = re.compile(
    "[\\\\\x00-\x1f\x7f-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164"
    "\ud800-\udfff\ufeff\uffa0\ufff0-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)


# The letters and marks of the class above that str.isprintable() accepts; text without any
# of them that isprintable() passes has nothing to escape (the regex costs 2-8 times more).
_DRAWN_AS_NOTHING = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0"
) | frozenset(map(chr, range(0xE0000, 0xE1000)))


def _escape(match: re.Match[str]) -> str:
    if match.group() == "\\":
        return "\\\\"
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(value: object, limit: int | None = None) -> str:
    """Outside text for display: control, line-breaking, bidi, invisible and format
    characters made visible as escapes, cut to limit characters (marked) when a limit is
    given."""
    text = "" if value is None else str(value)
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    if text.isprintable() and _DRAWN_AS_NOTHING.isdisjoint(text) and "\\" not in text:
        shown = text
    else:
        shown = _UNSAFE.sub(_escape, text)
    return shown + (" [...]" if cut else "")


def checked(v: Verification | None) -> str:
    """What verified a near match (or why it could not be checked), in one line."""
    if v is None:
        return ""
    if not v.verified:
        return f"not verified: {v.reason}"
    return (
        f"verified{' (mirrored)' if v.mirrored else ''}"
        f"{' on a closer look at the picture shown' if v.closer else ''}: "
        f"{v.inliers} matching keypoints, "
        f"{v.agreeing} of {v.blocks} detailed blocks agree, {v.differing} differ, "
        f"weakest region {v.weakest_region:.2f}, "
        + ("" if v.fine_region is None else f"in fine detail {v.fine_region:.2f}, ")
        + ("" if v.colour_difference is None else f"colours within {v.colour_difference:g}, ")
        + ("" if v.tone_difference is None else f"tones within {v.tone_difference:g}, ")
        + (
            ""
            if not v.added
            else f"{v.added:.0%} left out as added on one side (a caption, a stamp), "
        )
        + f"overlap {v.overlap:.0%}, scale {v.scale:g}, turned {v.angle:g} degrees"
    )
