"""The pictures a compare checks, read again from where a side says they are, in the workers."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from kyctriage.errors import FileProblem, one_line
from kyctriage.match.compare import Pictures
from kyctriage.match.entries import Entry
from kyctriage.match.verify import Features
from kyctriage.scanning import looks
from kyctriage.scanning.archive import CHUNK, MAX_RATIO
from kyctriage.scanning.looks import features_of
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.read import read_file
from kyctriage.scanning.workers import Failed, run_supervised


@dataclass(frozen=True)
class Where:
    """Where one picture is: a file, a member of a zip archive, or a URL (fsspec)."""

    location: str  # a path or a URL
    member: str | None  # the member's stored name when location is a zip archive
    sha256: str  # what it must hash to: else it is not the picture the side names


def where(e: Entry) -> Where:
    """From an index row's source when it has one, else from the record's root and path."""
    if e.source:
        return Where(e.source, None, e.sha256)
    if os.path.isfile(e.root) and os.path.basename(e.root) != e.path:
        return Where(e.root, e.path, e.sha256)  # a member of an archive scanned as a root
    if os.path.isfile(e.root):
        return Where(e.root, None, e.sha256)
    return Where(os.path.join(e.root, e.path), None, e.sha256)


def _read_url(url: str, max_bytes: int) -> bytes:
    try:
        import fsspec
    except ImportError:
        raise FileProblem("cannot read a URL: fsspec is not installed") from None
    try:
        with fsspec.open(url, "rb") as handle:
            data: bytes = handle.read(max_bytes + 1)
    except Exception as exc:  # any backend's error (network, permissions, not found)
        raise FileProblem(f"cannot read: {one_line(exc)}") from None
    if len(data) > max_bytes:
        raise FileProblem(f"larger than the limit of {max_bytes} bytes")
    return data


def _read_member(archive: str, name: str, max_bytes: int) -> bytes:
    """The member scanned under `name`: the first one stored under it (the unpacking left
    later duplicates out), read in chunks and bounded as the unpacking bounds it."""
    try:
        with zipfile.ZipFile(archive) as opened:
            member = next((m for m in opened.infolist() if m.filename == name), None)
            if member is None:
                raise FileProblem("no longer in the archive")
            limit = min(max_bytes, max(CHUNK, member.compress_size * MAX_RATIO))
            chunks, size = [], 0
            with opened.open(member) as source:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise FileProblem("the member expands beyond the bounds")
                    chunks.append(chunk)
    except FileProblem:
        raise
    except Exception as exc:  # zipfile's many errors on a damaged archive
        raise FileProblem(f"cannot read the archive: {one_line(exc)}") from None
    return b"".join(chunks)


def look(item: Where, options: ScanOptions) -> Features | str:
    """Features of the picture, or why it cannot be had (runs in a supervised worker)."""
    try:
        return features_of(_data(item, options), options)
    except FileProblem as exc:
        return str(exc)


def _data(item: Where, options: ScanOptions) -> bytes:
    """The picture's bytes, read again from where its record names it; FileProblem when
    they cannot be had or are no longer the picture named."""
    if item.member is not None:
        data = _read_member(item.location, item.member, options.max_file_bytes)
    elif "://" in item.location:
        data = _read_url(item.location, options.max_file_bytes)
    else:
        data = read_file(item.location, options.max_file_bytes).data
    if hashlib.sha256(data).hexdigest() != item.sha256:
        raise FileProblem("not the picture named: its SHA-256 differs (changed or replaced)")
    return data


def pictures(options: ScanOptions) -> Pictures:
    """A side's pictures for compare: each distinct location read once, decoded and measured
    in the supervised workers (a hostile file costs its own check, never the parent)."""

    def get(items: Sequence[Entry]) -> list[Features | str]:
        places = [where(e) for e in items]
        distinct = list(dict.fromkeys(places))
        found: dict[Where, Features | str] = {}
        if options.in_process:
            found = {p: look(p, options) for p in distinct}
        else:
            run = partial(look, options=options)
            for i, got in run_supervised(
                run, distinct, options.worker_count, options.file_time_limit,
                options.worker_memory_limit,
            ):  # fmt: skip
                found[distinct[i]] = f"not read: {got.reason}" if isinstance(got, Failed) else got
        return [_named(p, found[p]) for p in places]

    return get


def _keep(item: Where, options: ScanOptions, folder: str) -> looks.Look | None:
    """A saved scan's picture read again and its features spilled into `folder` (run
    supervised); None when it cannot be had or is too plain to verify."""
    try:
        return looks.look_of(_data(item, options), options, folder)
    except FileProblem:
        return None


def kept(items: Sequence[Entry], options: ScanOptions, folder: str) -> looks.Looks:
    """The looks of a saved scan's pictures, each read again (SHA-256 checked) from where
    its record names it, in the supervised workers, as a scan's workers keep them: what a
    compare's local-feature candidates and checks need of a side scanned before. A picture
    gone or changed keeps nothing (its global hashes still propose; its check says why)."""
    places = {(e.root, e.path): where(e) for e in items}
    distinct = list(dict.fromkeys(places.values()))
    found: dict[Where, looks.Look] = {}
    run = partial(_keep, options=options, folder=folder)
    results: Iterable[tuple[int, looks.Look | Failed | None]]
    if options.in_process:
        results = enumerate(map(run, distinct))
    else:
        results = run_supervised(
            run, distinct, options.worker_count, options.file_time_limit,
            options.worker_memory_limit,
        )  # fmt: skip
    for i, got in results:
        if isinstance(got, looks.Look):
            found[distinct[i]] = got
    return looks.Looks({key: found[p] for key, p in places.items() if p in found})


def _named(place: Where, got: Features | str) -> Features | str:
    if isinstance(got, str):
        shown = f"{place.location} [{place.member}]" if place.member else place.location
        return f"{shown}: {got}"
    return got
