"""Record what `exiftool -n` says about the EXIF agreement set, for tests that run without it.

    python bench/record_exiftool.py        # writes tests/data/exiftool_expected.json

The set is every JPEG, MPO and HEIC/HEIF under the shared corpus (`corpus:` paths, read from
../shared/corpus/exif-samples) and under tests/data/exif (`data:` paths). For each file it keeps
the compared fields as exiftool prints them with `-n -json -G1` (first copy of each tag per
group, as plain `exiftool -json` does): the EXIF tags from IFD0, then ExifIFD, then IFD1; GPS from
the Composite group (signed by the Ref tags); width and height from the File group (the SOF for
JPEG, the primary item's ImageSpatialExtent for HEIC). Values exiftool takes only from outside the
EXIF block (maker notes, XMP, CIFF) go under `elsewhere`, listed but not compared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASES = {
    "corpus": ROOT.parent / "shared" / "corpus" / "exif-samples",
    "data": ROOT / "tests" / "data" / "exif",
}
OUT = ROOT / "tests" / "data" / "exiftool_expected.json"
SUFFIXES = {".jpg", ".jpeg", ".mpo", ".heic", ".heif"}

EXIF_FIELDS = (
    "DateTimeOriginal",
    "CreateDate",
    "ModifyDate",
    "Make",
    "Model",
    "Software",
    "Orientation",
    "ExposureTime",
    "FNumber",
    "ISO",
    "FocalLength",
    "LensModel",
)
TEXT_FIELDS = {
    "DateTimeOriginal",
    "CreateDate",
    "ModifyDate",
    "Make",
    "Model",
    "Software",
    "LensModel",
}
EXIF_GROUPS = ("IFD0", "ExifIFD", "IFD1")
COMPOSITE_FIELDS = ("GPSLatitude", "GPSLongitude", "GPSAltitude")
FILE_FIELDS = ("ImageWidth", "ImageHeight")


def files() -> list[tuple[str, Path]]:
    found = []
    for base, folder in BASES.items():
        if not folder.is_dir():
            sys.exit(f"missing {folder}")
        found.extend(
            (f"{base}:{path.relative_to(folder).as_posix()}", path)
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix.lower() in SUFFIXES
        )
    return found


class Literal(str):
    """A JSON number as exiftool printed it."""

    def value(self, as_text: bool) -> object:
        if as_text:
            return str(self)
        number = float(self)
        return int(number) if number.is_integer() and "." not in self else number


def _plain(value: object, as_text: bool) -> object:
    return value.value(as_text) if isinstance(value, Literal) else value


def expected(tags: dict[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    """The compared fields of one file, and the ones exiftool found only outside EXIF."""
    fields: dict[str, object] = {}
    elsewhere: dict[str, str] = {}
    for name in EXIF_FIELDS:
        for group in EXIF_GROUPS:
            if f"{group}:{name}" in tags:
                fields[name] = _plain(tags[f"{group}:{name}"], name in TEXT_FIELDS)
                break
        else:
            other = sorted(k for k in tags if k.partition(":")[2] == name)
            if other:
                elsewhere[name] = f"{other[0]}={_plain(tags[other[0]], True)}"
    for name in COMPOSITE_FIELDS:
        if f"Composite:{name}" in tags:
            fields[name] = _plain(tags[f"Composite:{name}"], False)
    for name in FILE_FIELDS:
        if f"File:{name}" in tags:
            fields[name] = _plain(tags[f"File:{name}"], False)
    return fields, elsewhere


MERGED_FIELDS = (*EXIF_FIELDS, *COMPOSITE_FIELDS, *FILE_FIELDS)


def run_exiftool(command: list[str], paths: list[Path]) -> dict[str, dict[str, object]]:
    result = subprocess.run(
        [*command, *(str(p) for p in paths)], capture_output=True, text=True, check=False
    )
    if not result.stdout.strip():
        return {}
    # exiftool prints number-like text (Software "1.00") as a JSON number: keep the literal.
    parsed = json.loads(result.stdout, parse_float=Literal, parse_int=Literal)
    return {item["SourceFile"]: item for item in parsed}


def merged(plain: dict[str, object], grouped: dict[str, object]) -> dict[str, list[object]]:
    """The compared fields as plain `exiftool -n -json` picks them (its precedence across
    EXIF, XMP, IPTC, maker notes and Composite), each as [value, the -G1 group it came from]."""
    fields: dict[str, list[object]] = {}
    for name in MERGED_FIELDS:
        if name not in plain:
            continue
        value = plain[name]
        groups = [k.partition(":")[0] for k, v in grouped.items()
                  if k.partition(":")[2] == name and v == value]  # fmt: skip
        group = "Composite" if "Composite" in groups else (groups[0] if groups else "?")
        fields[name] = [_plain(value, name in TEXT_FIELDS), group]
    return fields


def main() -> None:
    found = files()
    command = ["exiftool", "-n", "-json", "-G1", "-q", "-q"]
    version = subprocess.run(["exiftool", "-ver"], capture_output=True, text=True, check=True)
    by_path = run_exiftool(command, [p for _, p in found])
    plain = run_exiftool(["exiftool", "-n", "-json", "-q", "-q"], [p for _, p in found])
    records: dict[str, dict[str, object]] = {}
    elsewhere: dict[str, dict[str, str]] = {}
    merged_records: dict[str, dict[str, list[object]]] = {}
    for key, path in found:
        fields, other = expected(by_path.get(str(path), {}))
        records[key] = fields
        if other:
            elsewhere[key] = other
        merged_records[key] = merged(plain.get(str(path), {}), by_path.get(str(path), {}))
    document = {
        "exiftool": version.stdout.strip(),
        "command": " ".join(command),
        "files": records,
        "elsewhere": elsewhere,
        "merged": merged_records,
        "damaged": damaged_expected(found),
    }
    OUT.write_text(json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    values = sum(len(v) for v in records.values())
    print(f"{len(records)} files, {values} values -> {OUT.relative_to(ROOT)}")


def damaged_expected(found: list[tuple[str, Path]]) -> dict[str, dict[str, list[object]]]:
    """exiftool's size and dates for the damaged variants of every file (bench/damaged.py
    makes the same bytes again from the originals)."""
    sys.path.insert(0, str(ROOT))
    from bench.damaged import variants

    expected: dict[str, dict[str, list[object]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        made = []
        for key, path in found:
            for name, data in variants(path.read_bytes()):
                target = Path(folder) / f"{len(made)}{path.suffix}"
                target.write_bytes(data)
                made.append((f"{name}:{key}", target))
        grouped = run_exiftool(["exiftool", "-n", "-json", "-G1", "-q", "-q", "-m"],
                               [p for _, p in made])  # fmt: skip
        plain = run_exiftool(["exiftool", "-n", "-json", "-q", "-q", "-m"], [p for _, p in made])
        for key, target in made:
            fields = merged(plain.get(str(target), {}), grouped.get(str(target), {}))
            wanted = {k: v for k, v in fields.items() if k in DAMAGED_FIELDS}
            if wanted:
                expected[key] = wanted
    return expected


DAMAGED_FIELDS = ("ImageWidth", "ImageHeight", "DateTimeOriginal", "CreateDate", "ModifyDate")


if __name__ == "__main__":
    main()
