"""Records to plain JSON data and back, and a saved report loaded into records."""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kyctriage.errors import UsageError
from kyctriage.model import (
    KIND_EXACT,
    KIND_NEAR,
    KIND_SAME_PIXELS,
    SCHEMA_VERSION,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_SKIPPED,
    TRUST_LEVELS,
    Cluster,
    Clustering,
    FileRecord,
    Hashes,
    ImageInfo,
    JpegInfo,
    Member,
    Report,
    ScanMeta,
    TelegramMessage,
    Timestamp,
    Verdict,
    ViewHashes,
    WatermarkCheck,
    field_names,
)  # fmt: skip
from kyctriage.untrusted import BadInput, loads_json, read_bounded

# A report of 100,000 records with thumbnails is about 1 GB of JSON.
MAX_REPORT_BYTES = 4 * 1024**3

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
    """Plain JSON data -> the record type `cls`, following the dataclass type hints. The data
    may come from a file someone edited: every value is checked against its hint and the
    field rules below, and any mismatch is a one-line BadInput naming the field."""
    return _converter(cls)(data)


Convert = Callable[[Any], Any]
_CONVERTERS: dict[Any, Convert] = {}


def _converter(cls: Any) -> Convert:
    """The function that converts data to `cls`, made once per type: walking the type hints
    for every value (typing.get_origin, dataclasses.fields, ...) was four fifths of loading a
    10,000-record saved scan."""
    done = _CONVERTERS.get(cls)
    if done is None:
        slot: list[Convert] = []  # a type that contains itself gets its converter when made
        _CONVERTERS[cls] = lambda data: slot[0](data)
        try:
            done = _make(cls)
        except BaseException:
            del _CONVERTERS[cls]
            raise
        slot.append(done)
        _CONVERTERS[cls] = done
    return done


def _make(cls: Any) -> Convert:
    if cls is Any:
        return _same
    if cls in _SCALARS:
        return _scalar(cls)
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        return _union(cls)
    if origin is tuple:
        return _tuple(typing.get_args(cls))
    if dataclasses.is_dataclass(cls):
        return _dataclass(typing.cast(type, cls))
    return _same


def _same(data: Any) -> Any:
    return data


def _scalar(cls: type) -> Convert:
    def convert(data: Any) -> Any:
        if type(data) is cls or (cls is float and type(data) is int):
            return data
        raise BadInput(f"expected {cls.__name__}, found {_kind(data)}")

    return convert


def _union(cls: Any) -> Convert:
    options = [a for a in typing.get_args(cls) if a is not type(None)]
    # each option in order: (a dataclass for a dict | a tuple for a list | the value's type)
    tests: list[tuple[Callable[[Any], bool], Convert | None]] = []
    for option in options:
        if dataclasses.is_dataclass(option):
            tests.append((lambda data: isinstance(data, dict), _converter(option)))
        elif typing.get_origin(option) is tuple:
            tests.append((lambda data: isinstance(data, list), _converter(option)))
        else:
            tests.append((_type_is(option), None))
    names = " or ".join(getattr(o, "__name__", "list") for o in options)

    def convert(data: Any) -> Any:
        if data is None:
            return None
        for test, then in tests:
            if test(data):
                return data if then is None else then(data)
        raise BadInput(f"expected {names}, found {_kind(data)}")

    return convert


def _type_is(option: Any) -> Callable[[Any], bool]:
    if option is float:
        return lambda data: type(data) is float or type(data) is int
    return lambda data: type(data) is option


def _tuple(args: tuple[Any, ...]) -> Convert:
    if len(args) == 2 and args[1] is Ellipsis:
        item = _converter(args[0])

        def variadic(data: Any) -> Any:
            if not isinstance(data, list):
                raise BadInput(f"expected a list, found {_kind(data)}")
            return tuple([item(v) for v in data])

        return variadic
    items = [_converter(a) for a in args]

    def fixed(data: Any) -> Any:
        if not isinstance(data, list):
            raise BadInput(f"expected a list, found {_kind(data)}")
        if len(items) != len(data):
            raise BadInput(f"expected a list of {len(items)}, found {len(data)} items")
        return tuple([c(v) for c, v in zip(items, data, strict=True)])

    return fixed


def _dataclass(kind: type) -> Convert:
    hints = _hints(kind)
    plan = [
        (f.name, _field(hints[f.name], f.name), _RULES.get((kind, f.name)))
        for f in dataclasses.fields(kind)
    ]

    def convert(data: Any) -> Any:
        if not isinstance(data, dict):
            raise BadInput(f"{kind.__name__}: expected an object, found {_kind(data)}")
        values = {}
        for name, field, rule in plan:
            if name not in data:
                continue
            try:
                value = values[name] = field(data[name])
                if rule is not None and value is not None:
                    rule(value)
            except BadInput as exc:
                message = str(exc)
                raise BadInput(
                    message
                    if "." in message.split(":", 1)[0]
                    else f"{kind.__name__}.{name}: {message}"
                ) from None
        try:
            return kind(**values)
        except TypeError as exc:  # a required field missing
            raise BadInput(f"{kind.__name__}: {exc}") from None

    return convert


def _field(hint: Any, name: str) -> Convert:
    if name not in _PAIR_FIELDS:
        return _converter(hint)
    pair = _converter(typing.get_args(hint)[0])  # tuple[str, value type]

    def pairs(raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise BadInput(f"expected an object, found {_kind(raw)}")
        return tuple(pair([k, v]) for k, v in sorted(raw.items()))

    return pairs


def _kind(data: Any) -> str:
    names = {dict: "an object", list: "a list", type(None): "null"}
    return names.get(type(data), type(data).__name__)


def _one_of(*allowed: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if value not in allowed:
            raise BadInput(f"{str(value)[:40]!r} is not one of {', '.join(allowed)}")

    return check


def _hex(low: int, high: int) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        check_hex(value, low, high)

    return check


def check_hex(value: Any, low: int, high: int) -> None:
    """Lowercase hex of low to high digits (a perceptual hash is matched as a 64-bit integer)."""
    if not isinstance(value, str) or not low <= len(value) <= high or value.strip(_HEX):
        raise BadInput(f"{str(value)[:40]!r} is not a hex digest of {low}-{high} digits")


def _at_least(low: int, high: int | None = None) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if value < low or (high is not None and value > high):
            raise BadInput(f"{value} is out of range")

    return check


def _iso_time(value: Any) -> None:
    """An ISO 8601 date and time in ASCII digits ("²" passes str.isdigit, not this)."""
    try:
        if not value.isascii():
            raise ValueError
        datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{value[:40]!r} is not an ISO 8601 time") from None


_HEX = "0123456789abcdef"  # strip() of these leaves nothing: 5x faster than a regex
_SHA256 = _hex(64, 64)
_PERCEPTUAL = _hex(1, 16)
_COUNT = _at_least(0)
# The values renderers and set analyses rely on: enums, digests, ranges and times.
_RULES: dict[tuple[type, str], Callable[[Any], None]] = {
    (FileRecord, "status"): _one_of(STATUS_OK, STATUS_ERROR, STATUS_SKIPPED),
    (FileRecord, "size"): _COUNT,
    (FileRecord, "sha256"): _SHA256,
    (FileRecord, "md5"): _hex(32, 32),
    (FileRecord, "mtime"): _iso_time,
    (ImageInfo, "width"): _COUNT,
    (ImageInfo, "height"): _COUNT,
    (ImageInfo, "frames"): _COUNT,
    (ImageInfo, "orientation"): _at_least(1, 8),
    (JpegInfo, "quality"): _at_least(1, 100),
    (JpegInfo, "trailing_bytes"): _COUNT,
    (Timestamp, "value"): lambda value: None if value == "" else _iso_time(value),  # unreadable
    (Timestamp, "trust"): _one_of(*TRUST_LEVELS),
    (Hashes, "image_data_sha256"): _SHA256,
    **{(Hashes, kind): _PERCEPTUAL for kind in ("phash", "dhash", "whash", "colorhash")},
    **{(ViewHashes, kind): _PERCEPTUAL for kind in ("phash", "dhash", "whash")},
    (TelegramMessage, "posted"): _iso_time,
    # watermark/result.py's verdicts (that layer sits above this one)
    (WatermarkCheck, "verdict"): _one_of("present", "absent", "inconclusive"),
    (Verdict, "confidence"): _one_of("high", "medium", "low"),
    (Cluster, "kind"): _one_of(KIND_EXACT, KIND_SAME_PIXELS, KIND_NEAR),
    (Member, "sha256"): _SHA256,
    (Member, "relation"): _one_of("representative", "identical", "same-pixels", "near"),
    (Clustering, "considered"): _COUNT,
    (Clustering, "crowded_buckets"): _COUNT,
    (Clustering, "unchecked"): _COUNT,
    (ScanMeta, "started"): _iso_time,
    (ScanMeta, "finished"): _iso_time,
    (ScanMeta, "workers"): _COUNT,
    (ScanMeta, "thumbnails"): _one_of("pixelated", "full", "none"),
}


def load_report(path: str | Path, max_bytes: int = MAX_REPORT_BYTES) -> Report:
    """A saved report, refusing versions this build does not know and anything that does
    not fit the records' schema (it may have been edited): a UsageError of one line."""
    try:
        data = loads_json(read_bounded(path, max_bytes))
    except BadInput as exc:
        raise UsageError(f"cannot read report {path}: {exc}") from None
    meta = data.get("meta") if isinstance(data, dict) else None
    if not isinstance(meta, dict) or meta.get("tool") != "kyctriage":
        raise UsageError(f"{path} is not a kyctriage report")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise UsageError(
            f"{path} has report schema version {version}; this kyctriage reads {SCHEMA_VERSION}"
        )
    data.pop("totals", None)
    data["meta"].pop("tool", None)
    try:
        report: Report = from_data(Report, data)
    except BadInput as exc:
        raise UsageError(f"{path} is not a valid kyctriage report: {exc}") from None
    return report
