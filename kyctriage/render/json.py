"""The versioned JSON report of a finished Report (its data form lives in serialise.py)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kyctriage.model import Report
from kyctriage.serialise import report_head, to_data


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


Pieces = Callable[[], Iterator[str]]


def _iter_list(items: Iterable[Any]) -> Iterator[str]:
    """A JSON array, item by item (each converted only when it is written)."""
    yield "["
    for number, item in enumerate(items):
        yield ("," if number else "") + _dumps(to_data(item))
    yield "]"


def _iter_object(data: dict[str, Any], parts: dict[str, Pieces]) -> Iterator[str]:
    """A JSON object with sorted keys; the keys in parts are written by their own pieces."""
    yield "{"
    for index, key in enumerate(sorted(data)):
        yield ("," if index else "") + _dumps(key) + ":"
        if key in parts:
            yield from parts[key]()
        else:
            yield _dumps(data[key])
    yield "}"


def iter_json(report: Report) -> Iterator[str]:
    """The report's JSON text in pieces, one record and one cluster at a time: the whole
    report as Python data is several times the size of its text (gigabytes at 100,000 files).
    Joined, the pieces are exactly _dumps(report_data(report)) + newline."""
    parts: dict[str, Pieces] = {"records": lambda: _iter_list(report.records)}
    clustering = report.clusters
    if clustering is not None:
        shell = to_data(dataclasses.replace(clustering, clusters=()))
        members: dict[str, Pieces] = {"clusters": lambda: _iter_list(clustering.clusters)}
        parts["clusters"] = lambda: _iter_object(shell, members)
    yield from _iter_object(report_head(report), parts)
    yield "\n"


def render_json(report: Report) -> str:
    """Sorted keys and sorted records: the same input gives the same text, timing apart."""
    return "".join(iter_json(report))
