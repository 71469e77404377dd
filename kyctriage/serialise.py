"""Records to plain JSON data and back, and a saved report loaded into records."""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from pathlib import Path
from typing import Any

from kyctriage.errors import KyctriageError
from kyctriage.model import SCHEMA_VERSION, Report, field_names

# Fields held as tuples of (name, value) pairs in records and as objects in JSON.
_PAIR_FIELDS = {"exif", "xmp", "iptc", "makernotes"}


def to_data(value: Any) -> Any:
    """Records -> plain JSON data (dicts, lists, scalars)."""
    kind: type = type(value)
    if kind in _SCALARS:
        return value
    if kind is tuple or kind is list:
        return [to_data(v) for v in value]
    names = field_names(kind)
    if names is not None:
        return {
            name: (
                {k: to_data(v) for k, v in getattr(value, name)}
                if name in _PAIR_FIELDS
                else to_data(getattr(value, name))
            )
            for name in names
        }
    if isinstance(value, (tuple, list)):
        return [to_data(v) for v in value]
    return value


_SCALARS = frozenset({str, int, float, bool, type(None)})


def report_head(report: Report) -> dict[str, Any]:
    """Everything but the records and the clusters (those two may be large)."""
    data: dict[str, Any] = to_data(dataclasses.replace(report, records=(), clusters=None))
    data["meta"]["tool"] = "kyctriage"
    data["totals"] = {**report.totals(), "by_reason": report.reasons()}
    return data


def report_data(report: Report) -> dict[str, Any]:
    data = report_head(report)
    data["records"] = to_data(report.records)
    data["clusters"] = to_data(report.clusters)
    return data


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    # get_type_hints evaluates every annotation string each call: loading a 100,000-record
    # report called it about six times per record, most of the load time.
    return typing.get_type_hints(cls)


def from_data(cls: Any, data: Any) -> Any:
    """Plain JSON data -> the record type `cls`, following the dataclass type hints."""
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        options = [a for a in typing.get_args(cls) if a is not type(None)]
        for option in options:
            if dataclasses.is_dataclass(option) and isinstance(data, dict):
                return from_data(option, data)
        for option in options:
            if typing.get_origin(option) is tuple and isinstance(data, list):
                return from_data(option, data)
        return data
    if origin is tuple:
        args = typing.get_args(cls)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        return tuple(from_data(item, v) for v in data)
    if dataclasses.is_dataclass(cls):
        hints = _hints(cls)  # type: ignore[arg-type]  # a dataclass type, hashable
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            if f.name in _PAIR_FIELDS:
                values[f.name] = tuple(
                    (k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(raw.items())
                )
            else:
                values[f.name] = from_data(hints[f.name], raw)
        return cls(**values)  # type: ignore[operator]  # cls is a dataclass type here
    return data


def load_report(path: str | Path) -> Report:
    """A saved report, refusing versions this build does not know."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KyctriageError(f"cannot read report {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("meta", {}).get("tool") != "kyctriage":
        raise KyctriageError(f"{path} is not a kyctriage report")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise KyctriageError(
            f"{path} has report schema version {version}; this kyctriage reads {SCHEMA_VERSION}"
        )
    data.pop("totals", None)
    data["meta"].pop("tool", None)
    try:
        report: Report = from_data(Report, data)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise KyctriageError(f"{path} is not a valid kyctriage report: {exc}") from None
    return report
