"""Per-field agreement with recorded `exiftool -n -json` values: kyctriage vs a plain exifread map.

    python bench/exif_agreement.py            # reads tests/data/exiftool_expected.json

First the merged view: the values plain `exiftool -n -json` prints (its precedence across EXIF,
XMP, IPTC, maker notes and Composite) against the record's `metadata`, with the EXIF-only
figure (the record's `exif`, gps and size) beside it, and how often the group agrees too. Then
damaged files (bench/damaged.py): size and dates wherever exiftool recovers them. Then the
EXIF-block comparison against a plain exifread map:

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

from bench.damaged import variants  # noqa: E402
from tests.test_exif_agreement import (  # noqa: E402
    EXPECTED,
    agrees,
    expected_files,
    locate,
    merged_view,
    observed,
    probe,
    probe_bytes,
)

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


def merged_table(document: dict[str, dict[str, dict[str, list[object]]]]) -> None:
    wanted_all = document["merged"]
    total: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    exif_only: Counter[str] = Counter()
    grouped: Counter[str] = Counter()
    misses = []
    for key, wanted in sorted(wanted_all.items()):
        record = probe(locate(key))
        view, plain = merged_view(record), observed(record)
        for name, (want, group) in wanted.items():
            total[name] += 1
            got = view.get(name)
            hit = got is not None and agrees(want, got[0])
            ours[name] += hit
            grouped[name] += hit and got is not None and got[1] == group
            exif_only[name] += agrees(want, plain.get(name))
            if not hit:
                misses.append(f"{key} {name}: exiftool {want!r} ({group}), kyctriage {got!r}")
    n = sum(total.values())
    print(f"{len(wanted_all)} files, {n} values plain `exiftool -n -json` prints\n")
    print("| field | values | metadata (merged) | same group too | exif block only |")
    print("|---|---:|---:|---:|---:|")
    for name in sorted(total):
        shares = " | ".join(f"{c[name] / total[name]:.1%}" for c in (ours, grouped, exif_only))
        print(f"| {name} | {total[name]} | {shares} |")
    shares = " | ".join(f"**{sum(c.values()) / n:.2%}** ({sum(c.values())})"
                        for c in (ours, grouped, exif_only))  # fmt: skip
    print(f"| **all** | {n} | {shares} |\n")
    for line in misses:
        print("  miss:", line)


def damaged_table(document: dict[str, dict[str, dict[str, list[object]]]]) -> None:
    wanted_all = document["damaged"]
    made: dict[str, bytes] = {}
    for key in {k.partition(":")[2] for k in wanted_all}:
        for name, data in variants(locate(key).read_bytes()):
            made[f"{name}:{key}"] = data
    total: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    misses = []
    for key, wanted in sorted(wanted_all.items()):
        view = merged_view(probe_bytes(made[key], Path(key.rpartition("/")[2]).suffix))
        for name, (want, _) in wanted.items():
            kind = key.partition(":")[0]
            total[kind] += 1
            got = view.get(name)
            if got is not None and agrees(want, got[0]):
                ours[kind] += 1
            else:
                misses.append(f"{key} {name}: exiftool {want!r}, kyctriage {got!r}")
    n = sum(total.values())
    print(f"damaged: {len(wanted_all)} variants where exiftool recovers size or dates, {n} values")
    print("| damage | values | recovered |\n|---|---:|---:|")
    for kind in sorted(total):
        print(f"| {kind} | {total[kind]} | {ours[kind] / total[kind]:.1%} |")
    print(f"| **all** | {n} | **{sum(ours.values()) / n:.2%}** ({sum(ours.values())}) |\n")
    for line in misses:
        print("  miss:", line)


def main() -> None:
    document = json.loads(EXPECTED.read_text(encoding="utf-8"))
    merged_table(document)
    damaged_table(document)
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
