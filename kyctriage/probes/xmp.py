"""A few XMP properties (dates, creator tool, document ids), read without an XML parser."""

from __future__ import annotations

import re

NAME = "xmp"

MAX_XMP_BYTES = 1 << 20
MAX_VALUE_CHARS = 500

# Read with patterns rather than an XML parser: packets come from attackers, and the few
# properties we need are simple values (no entity expansion, no external references).
PROPERTIES = (
    "xmp:CreateDate",
    "xmp:ModifyDate",
    "xmp:MetadataDate",
    "xmp:CreatorTool",
    "photoshop:DateCreated",
    "exif:DateTimeOriginal",
    "xmpMM:DocumentID",
    "xmpMM:InstanceID",
    "xmpMM:OriginalDocumentID",
)
_PATTERNS = {
    prop: re.compile(
        rf"{re.escape(prop)}\s*=\s*[\"']([^\"'<>]*)[\"']|<{re.escape(prop)}>([^<]*)</{re.escape(prop)}>"
    )
    for prop in PROPERTIES
}


def read_xmp(packet: bytes) -> tuple[tuple[str, str], ...]:
    text = packet[:MAX_XMP_BYTES].decode("utf-8", "replace")
    found = []
    for prop, pattern in _PATTERNS.items():
        match = pattern.search(text)
        if match:
            value = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
            if value:
                found.append((prop, value[:MAX_VALUE_CHARS]))
    return tuple(sorted(found))
