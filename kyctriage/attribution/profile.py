"""The attribution profile (TOML): which pipelines exist, when they ran, how to recognise them."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kyctriage.aspect import DEFAULT_ASPECT_RATIOS, AspectRatios, parse_aspect_ratios
from kyctriage.attribution.fingerprint import load as load_fingerprint
from kyctriage.errors import UsageError, one_line
from kyctriage.untrusted import BadInput, read_bounded

PIPELINE_KEYS = {
    "name", "label", "active_from", "active_to", "watermark", "fingerprint", "logo", "marker",
}  # fmt: skip
WATERMARK_KEYS = {"key", "aspect_ratios"}
LOGO_KEYS = {"template"}
MARKER_KEYS = {"field", "pattern"}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")  # fullmatch: "$" would pass "vendor\n"
MAX_PROFILE_BYTES = 1024 * 1024  # a profile is a few lines per pipeline
RESERVED_LABELS = {"unattributed", "inconclusive"}


@dataclass(frozen=True)
class Marker:
    field: str  # an EXIF tag name (exiftool's), an XMP property, or "comment"
    pattern: str  # a regular expression searched in that field


@dataclass(frozen=True)
class Pipeline:
    name: str
    label: str
    active_from: date | None
    active_to: date | None
    watermark_key: Path | None = None
    fingerprint: Path | None = None
    logo_template: Path | None = None
    marker: Marker | None = None
    # The marked originals' aspect ratios, which bound the crop search; None: any.
    watermark_aspects: AspectRatios | None = DEFAULT_ASPECT_RATIOS


@dataclass(frozen=True)
class Profile:
    path: str
    sha256: str  # of the profile file, for the report's provenance
    pipelines: tuple[Pipeline, ...]

    def pipeline(self, name: str) -> Pipeline:
        return next(p for p in self.pipelines if p.name == name)


def _line_of(text: str, key: str, table_index: int) -> int | None:
    """The line of `key` inside the table_index-th [[pipeline]] block (1-based)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().startswith("[[pipeline]]")]
    if table_index >= len(starts):
        return None
    end = starts[table_index + 1] if table_index + 1 < len(starts) else len(lines)
    for i in range(starts[table_index], end):
        if re.match(rf"\s*{re.escape(key)}\s*[=.]", lines[i]):
            return i + 1
    return starts[table_index] + 1


def _date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):  # a datetime is a date too
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{where} must be a date like 2018-02-28, not {value!r}")


def _path(base: Path, value: Any, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where} must be a file path")
    try:
        path = (base / value).resolve()
        found = path.is_file()
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
        raise ValueError(f"{where}: not a usable file path: {one_line(exc)}") from None
    if not found:
        raise ValueError(f"{where}: file not found: {path}")
    return path


def _check_keys(table: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(
            f"unknown key {unknown[0]!r} in {where} (allowed: {', '.join(sorted(allowed))})"
        )
    return table


def _pipeline(raw: Any, base: Path) -> Pipeline:
    table = _check_keys(raw, PIPELINE_KEYS, "[[pipeline]]")
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in RESERVED_LABELS:
        raise ValueError(
            f"name {name!r}: a short lowercase id (letters, digits, - and _), not "
            "'unattributed' or 'inconclusive'"
        )
    active_from = _date(table.get("active_from"), "active_from")
    active_to = _date(table.get("active_to"), "active_to")
    if active_from and active_to and active_to < active_from:
        raise ValueError(f"active_to {active_to} is before active_from {active_from}")
    watermark = logo = None
    aspects: AspectRatios | None = DEFAULT_ASPECT_RATIOS
    if "watermark" in table:
        mark = _check_keys(table["watermark"], WATERMARK_KEYS, "watermark")
        watermark = _path(base, mark.get("key"), "watermark.key")
        if "aspect_ratios" in mark:
            try:
                aspects = parse_aspect_ratios(mark["aspect_ratios"])
            except ValueError as exc:
                raise ValueError(f"watermark.aspect_ratios: {exc}") from None
    if "logo" in table:
        logo_table = _check_keys(table["logo"], LOGO_KEYS, "logo")
        logo = _path(base, logo_table.get("template"), "logo.template")
    marker = None
    if "marker" in table:
        marker_table = _check_keys(table["marker"], MARKER_KEYS, "marker")
        field, pattern = marker_table.get("field"), marker_table.get("pattern")
        if not isinstance(field, str) or not isinstance(pattern, str):
            raise ValueError("marker needs field and pattern (strings)")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"marker.pattern is not a valid regular expression: {exc}") from None
        marker = Marker(field, pattern)
    fingerprint = None
    if "fingerprint" in table:
        fingerprint = _path(base, table["fingerprint"], "fingerprint")
        try:  # checked now: a broken file must stop the scan before it probes anything
            load_fingerprint(fingerprint)
        except UsageError as exc:
            raise ValueError(f"fingerprint: {exc}") from None
    label = table.get("label", name)
    if not isinstance(label, str):
        raise ValueError("label must be text")
    return Pipeline(
        name, label, active_from, active_to, watermark, fingerprint, logo, marker, aspects
    )


def load_profile(path: str | Path) -> Profile:
    """Parse and check a profile; every problem is a UsageError naming the file and line."""
    path = Path(path)
    try:
        raw_bytes = read_bounded(path, MAX_PROFILE_BYTES)
        text = raw_bytes.decode("utf-8")
        data = tomllib.loads(text)
    except BadInput as exc:
        raise UsageError(f"cannot read profile {path}: {exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise UsageError(f"profile {path}: {one_line(exc)}") from None
    unknown = sorted(set(data) - {"pipeline"})
    if unknown:
        raise UsageError(
            f"profile {path}: unknown top-level key {unknown[0]!r} (allowed: pipeline)"
        )
    tables = data.get("pipeline")
    if not isinstance(tables, list) or not tables:
        raise UsageError(f"profile {path}: no [[pipeline]] tables")
    pipelines = []
    for index, table in enumerate(tables):
        try:
            pipelines.append(_pipeline(table, path.parent))
        except ValueError as exc:
            key = _first_word_key(str(exc), table)
            line = _line_of(text, key, index) if key else None
            where = f"line {line}" if line else f"pipeline {index + 1}"
            raise UsageError(f"profile {path}, {where}: {exc}") from None
    names = [p.name for p in pipelines]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(f"profile {path}: pipeline name {duplicates[0]!r} is used twice")
    return Profile(str(path), hashlib.sha256(raw_bytes).hexdigest(), tuple(pipelines))


def _first_word_key(message: str, table: Any) -> str | None:
    """The profile key a validation message is about, to point at its line."""
    quoted = re.search(r"key '([^']+)'", message)
    if quoted:
        return quoted.group(1)
    head = message.split(" ", 1)[0].split(".", 1)[0].rstrip(":")
    return head if isinstance(table, dict) and head in table else None
