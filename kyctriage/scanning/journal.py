"""The scan journal: records appended as they are made, so an interrupted scan can resume."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from kyctriage.errors import KyctriageError, UsageError
from kyctriage.model import FileRecord
from kyctriage.serialise import from_data, to_data
from kyctriage.untrusted import BadInput, loads_json

FORMAT = "kyctriage-journal/1"
# A record's line is a few KB, with a full-size thumbnail some hundreds of KB.
MAX_LINE_BYTES = 64 * 1024 * 1024


def _naive_time(value: object) -> bool:
    """The scan's reference time as the journal keeps it: ISO 8601, no UTC offset (the scan
    compares it with naive times; an offset made every record an internal error)."""
    if not isinstance(value, str) or not value.isascii():
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is None
    except ValueError:
        return False


def journal_line(record: FileRecord) -> bytes:
    """One record as its journal line. The scan's workers make it beside the record, while it
    is still in their caches: in the parent it cost twice as much, on the same two cores."""
    return _line(to_data(record))


def _line(data: dict[str, Any]) -> bytes:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8")


class Journal:
    """Append-only JSON lines: a header naming the scan, then one record per line.

    Each record is written with one write() and flushed to the OS, so a kill loses at most the
    line being written; the loader ignores a torn last line."""

    def __init__(
        self,
        path: str | Path,
        scan: dict[str, Any],
        reference: str,
        resume: bool,
        keep: Callable[[FileRecord], FileRecord] = lambda record: record,
    ) -> None:
        """`scan` names what is scanned and how (compared on resume); `reference` is the time
        the scan first started, kept so that a resumed scan judges dates as the first did.
        `keep` is applied to each record loaded back (the scan compacts them as it loads)."""
        self.keep = keep
        self.path = Path(path)
        self.header = {"format": FORMAT, "scan": scan, "reference": reference}
        self.done: dict[tuple[str, str], FileRecord] = {}
        if resume:
            self.done = self._load()
        self._fd = self._open(resume)
        if not resume:
            self._write(self.header)
        elif not self._ends_with_newline():
            os.write(self._fd, b"\n")  # end the torn line so the next record starts clean

    def _open(self, resume: bool) -> int:
        """Never through a link, and emptied (a new scan) only once known to be a regular
        file: O_TRUNC at open would empty whatever a link or a device put there points at."""
        flags = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags | (os.O_APPEND if resume else os.O_CREAT), 0o600)
        except OSError as exc:
            raise KyctriageError(f"cannot open journal {self.path}: {exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise KyctriageError(f"cannot open journal {self.path}: not a regular file")
        if not resume:
            os.ftruncate(fd, 0)
        return fd

    def _write(self, data: dict[str, Any]) -> None:
        self.append_line(_line(data))

    def append(self, record: FileRecord) -> None:
        self.append_line(journal_line(record))

    def append_line(self, line: bytes) -> None:
        """A record's line as journal_line made it (in the worker that made the record)."""
        os.write(self._fd, line)

    def close(self) -> None:
        os.close(self._fd)

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as journal:
            if journal.seek(0, os.SEEK_END) == 0:
                return True
            journal.seek(-1, os.SEEK_END)
            return journal.read(1) == b"\n"

    def _load(self) -> dict[tuple[str, str], FileRecord]:
        """Line by line: a 100,000-record journal is hundreds of MB of text. Opened without
        blocking and only if it is a regular file (a FIFO put in its place would hang)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as journal:
                if not stat.S_ISREG(os.fstat(journal.fileno()).st_mode):
                    raise UsageError(f"cannot resume: journal {self.path} is not a regular file")
                return self._read(journal)
        except OSError as exc:
            raise UsageError(f"cannot resume: journal {self.path}: {exc.strerror}") from None

    def _read(self, journal: BinaryIO) -> dict[tuple[str, str], FileRecord]:
        lines = iter(lambda: journal.readline(MAX_LINE_BYTES + 1), b"")
        try:
            header = loads_json(next(lines, b""))
        except BadInput:
            header = None
        if not isinstance(header, dict) or {k: header.get(k) for k in ("format", "scan")} != {
            "format": FORMAT,
            "scan": self.header["scan"],
        }:
            raise UsageError(
                f"cannot resume: journal {self.path} belongs to another scan "
                "(different roots or options); start without --resume"
            )
        reference = header.get("reference", self.header["reference"])
        if not _naive_time(reference):
            raise UsageError(
                f"cannot resume: journal {self.path} has no valid start time (reference "
                f"{str(reference)[:40]!r}); start without --resume"
            )
        self.header["reference"] = reference
        done = {}
        for line in lines:
            if len(line) > MAX_LINE_BYTES:
                raise UsageError(
                    f"cannot resume: journal {self.path} has a line longer than "
                    f"{MAX_LINE_BYTES} bytes; start without --resume"
                )
            try:
                record = from_data(FileRecord, loads_json(line))
            except BadInput:
                continue  # the torn last line of an interrupted write, or an edited one
            done[(record.root, record.path)] = self.keep(record)
        return done

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
