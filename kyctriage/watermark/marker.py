"""The metadata-marker detector: an EXIF, XMP or JPEG comment field matching a pattern."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kyctriage.model import FileRecord
from kyctriage.watermark.result import ABSENT, INCONCLUSIVE, PRESENT, WatermarkResult

MAX_VALUE_CHARS = 2000  # values are attacker text; bound what the pattern has to scan


@dataclass(frozen=True)
class MarkerSpec:
    """A pipeline's stamp: a regex searched in the named fields (all fields when empty).
    Field names are as the record holds them: exif names, xmp properties, "jpeg:comment"."""

    name: str
    pattern: str
    fields: tuple[str, ...] = ()

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


def _fields(record: FileRecord) -> list[tuple[str, str]]:
    found = [(f"exif:{name}" if not name.startswith("exif:") else name, value)
             for name, value in record.exif]  # fmt: skip
    found += [(f"xmp:{name}" if not name.startswith("xmp") else name, value)
              for name, value in record.xmp]  # fmt: skip
    if record.image is not None and record.image.jpeg is not None:
        found += [("jpeg:comment", text) for text in record.image.jpeg.comments]
    return [(name, str(value)[:MAX_VALUE_CHARS]) for name, value in found]


def _wanted(name: str, fields: tuple[str, ...]) -> bool:
    if not fields:
        return True
    bare = name.split(":", 1)[1] if ":" in name else name
    return name in fields or bare in fields


def detect_marker(record: FileRecord, spec: MarkerSpec) -> WatermarkResult:
    """Present when a field matches; inconclusive when the file carries no metadata at all
    (stripped, e.g. by a messenger), since a stamp could not have survived."""
    detector = f"marker:{spec.name}"
    fields = [(n, v) for n, v in _fields(record) if _wanted(n, spec.fields)]
    pattern = spec.compiled()
    for name, value in fields:
        if pattern.search(value):
            return WatermarkResult(
                detector=detector, verdict=PRESENT, score=1.0, threshold=1.0,
                false_positive_bound=None, expected_marked_score=None,
                note=f"{name} matches {spec.pattern!r} (metadata can be copied or forged; "
                "it says nothing about the pixels)",
            )  # fmt: skip
    if not _fields(record):
        return WatermarkResult(
            detector=detector, verdict=INCONCLUSIVE, score=None, threshold=1.0,
            false_positive_bound=None, expected_marked_score=None,
            note="no EXIF, XMP or comment: metadata stripped or never written, so a stamp "
            "could not show",
        )  # fmt: skip
    where = ", ".join(spec.fields) if spec.fields else "any EXIF/XMP/comment field"
    return WatermarkResult(
        detector=detector, verdict=ABSENT, score=0.0, threshold=1.0,
        false_positive_bound=None, expected_marked_score=1.0,
        note=f"metadata present but {where} does not match {spec.pattern!r}",
    )  # fmt: skip
