"""Encoder fingerprints: learn what a pipeline's files look like; score a file against one."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kyctriage.errors import UsageError
from kyctriage.model import FeatureScore, FileRecord, FingerprintMatch
from kyctriage.untrusted import BadInput, loads_json, read_bounded

FORMAT = "kyctriage-fingerprint/1"

# How much each feature counts. Quantisation tables identify an encoder configuration best;
# Software/Make/Model are the easiest to forge or strip, so they count less.
WEIGHTS = {
    "quant_tables": 0.35,
    "dimensions": 0.15,
    "markers": 0.15,
    "metadata": 0.15,
    "subsampling": 0.10,
    "progressive": 0.10,
}
MATCH_AT = 0.8  # a score at or above this supports the pipeline
MISMATCH_BELOW = 0.45  # a score below this argues against it


@dataclass(frozen=True)
class Fingerprint:
    name: str
    samples: int
    quant_tables: tuple[tuple[tuple[int, ...], ...], ...]  # distinct table sets seen
    qualities: dict[str, int]
    subsampling: dict[str, int]
    progressive: dict[str, int]
    marker_layouts: dict[str, int]
    dimensions: dict[str, int]
    aspect_ratios: dict[str, int]
    software: dict[str, int]
    make: dict[str, int]
    model: dict[str, int]


def marker_layout(markers: Iterable[str]) -> str:
    """The marker sequence with repeats collapsed (progressive files repeat DHT/SOS)."""
    layout: list[str] = []
    for marker in markers:
        if not layout or layout[-1] != marker:
            layout.append(marker)
    return " ".join(layout)


def _aspect(width: int, height: int) -> str:
    long, short = max(width, height), min(width, height)
    return f"{long / short:.2f}"


def _text(record: FileRecord, tag: str) -> str | None:
    value = record.exif_value(tag)
    return str(value).strip() if value is not None else None


def learn(name: str, records: Iterable[FileRecord]) -> Fingerprint:
    counters: dict[str, Counter[str]] = {k: Counter() for k in (
        "qualities", "subsampling", "progressive", "marker_layouts", "dimensions",
        "aspect_ratios", "software", "make", "model")}  # fmt: skip
    tables: list[tuple[tuple[int, ...], ...]] = []
    samples = 0
    for record in records:
        if record.image is None or record.image.jpeg is None:
            continue
        samples += 1
        jpeg, image = record.image.jpeg, record.image
        if jpeg.quant_tables not in tables:
            tables.append(jpeg.quant_tables)
        counters["qualities"][str(jpeg.quality)] += 1
        counters["subsampling"][jpeg.subsampling] += 1
        counters["progressive"][str(jpeg.progressive).lower()] += 1
        counters["marker_layouts"][marker_layout(jpeg.markers)] += 1
        w, h = sorted((image.width, image.height), reverse=True)
        counters["dimensions"][f"{w}x{h}"] += 1
        counters["aspect_ratios"][_aspect(w, h)] += 1
        for tag, key in (("Software", "software"), ("Make", "make"), ("Model", "model")):
            counters[key][_text(record, tag) or ""] += 1
    if samples == 0:
        raise UsageError("no JPEG files to learn a fingerprint from")
    return Fingerprint(
        name=name, samples=samples, quant_tables=tuple(tables),
        **{k: dict(sorted(v.items())) for k, v in counters.items()},
    )  # fmt: skip


def dumps(fingerprint: Fingerprint) -> str:
    data = {"format": FORMAT, **fingerprint.__dict__}
    data["quant_tables"] = [[list(t) for t in tables] for tables in fingerprint.quant_tables]
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


_COUNTS = ("qualities", "subsampling", "progressive", "marker_layouts", "dimensions",
           "aspect_ratios", "software", "make", "model")  # fmt: skip
MAX_FINGERPRINT_BYTES = 16 * 1024 * 1024


def load_text(text: str | bytes) -> Fingerprint:
    """A fingerprint file's text, every field checked (it may come from someone else): any
    problem is a one-line BadInput (a ValueError)."""
    data = loads_json(text, limit=8)
    if not isinstance(data, dict) or data.pop("format", None) != FORMAT:
        raise BadInput(f"not a {FORMAT} file")
    missing = sorted({"name", "samples", "quant_tables", *_COUNTS} - set(data))
    unknown = sorted(set(data) - {"name", "samples", "quant_tables", *_COUNTS})
    if missing or unknown:
        raise BadInput(f"{'missing' if missing else 'unknown'} field {(missing or unknown)[0]!r}")
    if not isinstance(data["name"], str) or not _count(data["samples"]):
        raise BadInput("name must be text and samples a count")
    tables = data["quant_tables"]
    if not isinstance(tables, list) or not all(
        isinstance(s, list) and all(
            isinstance(t, list) and len(t) == 64 and all(_count(v) and v <= 65535 for v in t)
            for t in s
        ) for s in tables
    ):  # fmt: skip
        raise BadInput("quant_tables must be lists of tables of 64 values 0-65535")
    data["quant_tables"] = tuple(tuple(tuple(t) for t in s) for s in tables)
    for name in _COUNTS:
        counts = data[name]
        if not isinstance(counts, dict) or not all(_count(v) for v in counts.values()):
            raise BadInput(f"{name} must map text to counts")
    return Fingerprint(**data)


def _count(value: object) -> bool:
    return type(value) is int and value >= 0


def load(path: str | Path) -> Fingerprint:
    try:
        return load_text(read_bounded(path, MAX_FINGERPRINT_BYTES))
    except BadInput as exc:
        raise UsageError(f"cannot load fingerprint {path}: {exc}") from None


def table_distance(a: tuple[tuple[int, ...], ...], b: tuple[tuple[int, ...], ...]) -> float:
    """Relative L1 distance of two table sets over the tables both have (0 = identical)."""
    pairs = list(zip(a, b, strict=False))
    if not pairs or len(a) != len(b):
        return 1.0
    diff = sum(abs(x - y) for ta, tb in pairs for x, y in zip(ta, tb, strict=False))
    return diff / max(1, sum(sum(tb) for _, tb in pairs))


def _feature(name: str, match: float, detail: str) -> FeatureScore:
    return FeatureScore(name, WEIGHTS[name], round(max(0.0, min(1.0, match)), 3), detail)


def score(record: FileRecord, fingerprint: Fingerprint, messenger: str | None) -> FingerprintMatch:
    """How well a file matches a pipeline's fingerprint, feature by feature."""
    if record.image is None or record.image.jpeg is None:
        return FingerprintMatch(fingerprint.name, None, (), "not a JPEG: no encoder facts")
    if messenger:
        note = f"not compared: {messenger}; the encoder facts are the messenger's"
        return FingerprintMatch(fingerprint.name, None, (), note)
    jpeg, image = record.image.jpeg, record.image
    distance = min(
        (table_distance(jpeg.quant_tables, t) for t in fingerprint.quant_tables), default=1.0
    )
    w, h = sorted((image.width, image.height), reverse=True)
    layout = marker_layout(jpeg.markers)
    features = [
        _feature("quant_tables", 1.0 - 5 * distance,
                 f"distance {distance:.3f} to the nearest learned tables"),
        _feature("subsampling", float(jpeg.subsampling in fingerprint.subsampling),
                 f"{jpeg.subsampling} (learned: {', '.join(fingerprint.subsampling)})"),
        _feature("progressive", float(str(jpeg.progressive).lower() in fingerprint.progressive),
                 "progressive" if jpeg.progressive else "baseline"),
        _feature("markers", 1.0 if layout in fingerprint.marker_layouts
                 else _marker_overlap(layout, fingerprint), layout),
        _dimensions(w, h, fingerprint),
        _metadata(record, fingerprint),
    ]  # fmt: skip
    total = sum(f.weight * f.match for f in features) / sum(f.weight for f in features)
    return FingerprintMatch(fingerprint.name, round(total, 3), tuple(features))


def _marker_overlap(layout: str, fingerprint: Fingerprint) -> float:
    mine = set(layout.split())
    best = 0.0
    for learned in fingerprint.marker_layouts:
        theirs = set(learned.split())
        best = max(best, len(mine & theirs) / max(1, len(mine | theirs)))
    return best * 0.8  # the same kinds in another order is still a different encoder


def _dimensions(w: int, h: int, fingerprint: Fingerprint) -> FeatureScore:
    if f"{w}x{h}" in fingerprint.dimensions:
        return _feature("dimensions", 1.0, f"{w}x{h} seen in the samples")
    if _aspect(w, h) in fingerprint.aspect_ratios:
        return _feature("dimensions", 0.5, f"{w}x{h}: aspect ratio {_aspect(w, h)} seen, size not")
    return _feature("dimensions", 0.0, f"{w}x{h}: neither size nor aspect ratio seen")


def _metadata(record: FileRecord, fingerprint: Fingerprint) -> FeatureScore:
    checks = []
    for tag, learned in (("Software", fingerprint.software), ("Make", fingerprint.make),
                         ("Model", fingerprint.model)):  # fmt: skip
        value = _text(record, tag) or ""
        checks.append((tag, value, value in learned))
    matched = sum(1 for _, _, ok in checks if ok)
    detail = ", ".join(
        f"{tag} {value!r}" + ("" if ok else " (not seen)") for tag, value, ok in checks
    )
    return _feature("metadata", matched / len(checks), detail)
