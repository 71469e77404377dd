"""Per-field agreement with recorded `exiftool -n -json` values: kyctriage vs a plain exifread map.

    python bench/exif_agreement.py            # reads tests/data/exiftool_expected.json

The plain map is what one writes first: exifread's `process_file`, its tag names without the
IFD prefix ("EXIF FNumber" -> FNumber) and its printable values, numbers parsed where the
printable text is one ("100" -> 100, "14/5" stays text). The second plain column also renames the
tags whose EXIF-specification names differ from exiftool's (DateTimeDigitized -> CreateDate, ...).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import exifread

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_exif_agreement import (
    EXPECTED,
    agrees,
    expected_files,
    locate,
    observed,
    probe,
)  # noqa: E402

# exiftool name -> exifread (EXIF specification) name, for the compared fields
SPEC_NAMES = {
    "CreateDate": "DateTimeDigitized",
    "ModifyDate": "DateTime",
    "ISO": "ISOSpeedRatings",
    "ImageWidth": "ExifImageWidth",
    "ImageHeight": "ExifImageLength",
}


def exifread_plain(path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        try:
            tags = exifread.process_file(handle, details=False)
        except Exception:  # exifread gives up on some malformed files; that is part of the score
            return {}
    values: dict[str, object] = {}
    for key, tag in tags.items():
        name = key.partition(" ")[2]
        text = str(getattr(tag, "printable", tag))
        try:
            values.setdefault(name, float(text) if "." in text else int(text))
        except ValueError:
            values.setdefault(name, text)
    return values


def main() -> None:
    expected = expected_files()
    fields = sorted({name for values in expected.values() for name in values})
    total: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    plain: Counter[str] = Counter()
    renamed: Counter[str] = Counter()
    for key, wanted in expected.items():
        path = locate(key)
        found, naive = observed(probe(path)), exifread_plain(path)
        for name, want in wanted.items():
            total[name] += 1
            ours[name] += agrees(want, found.get(name))
            plain[name] += agrees(want, naive.get(name))
            renamed[name] += agrees(want, naive.get(SPEC_NAMES.get(name, name)))
    outside = json.loads(EXPECTED.read_text(encoding="utf-8"))["elsewhere"]
    print(f"{len(expected)} files, {sum(total.values())} values exiftool reports from EXIF")
    print(f"({sum(map(len, outside.values()))} more only from maker notes, XMP or CIFF)\n")
    print("| field | values | kyctriage | plain exifread | plain exifread, renamed |")
    print("|---|---:|---:|---:|---:|")
    for name in fields:
        n = total[name]
        shares = " | ".join(f"{c[name] / n:.0%}" for c in (ours, plain, renamed))
        print(f"| {name} | {n} | {shares} |")
    n = sum(total.values())
    shares = " | ".join(
        f"**{sum(c.values()) / n:.1%}** ({sum(c.values())})" for c in (ours, plain, renamed)
    )
    print(f"| **all** | {n} | {shares} |")


if __name__ == "__main__":
    main()
