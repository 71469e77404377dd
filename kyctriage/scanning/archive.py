"""Zip archives as scan inputs: unpacked into a private folder, within bounds, names made safe."""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kyctriage.errors import KyctriageError, one_line

MAX_MEMBERS = 100_000
MAX_TOTAL_BYTES = 4 * 1024**3
# A deflated photo shrinks little; a member that claims to grow more than this is a zip bomb.
MAX_RATIO = 200
CHUNK = 1 << 20


def is_zip_root(path: str) -> bool:
    """A zip named as a scan root: a regular file that starts as a zip does. zipfile alone
    would also take a JPEG with a zip appended (it looks for the directory at the end), and
    such a polyglot is evidence to record as it is, not to unpack. A zip whose end is cut
    off (no central directory) is still one: unpacking it fails, and its record says so."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before opening: a FIFO would block
            return False
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return head in (b"PK\x03\x04", b"PK\x05\x06")


def safe_name(name: str) -> str | None:
    """The member name inside the destination: no absolute paths, no `..`, no empty parts."""
    parts = [p for p in posixpath.normpath(name.replace("\\", "/")).split("/") if p]
    parts = [p for p in parts if p not in (".", "..")]
    return "/".join(parts) or None


@dataclass
class Unpacked:
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (member name, why)
    times: dict[str, str] = field(default_factory=dict)  # unpacked name -> its stored time
    # Members whose stored name is unsafe (absolute, "..", "." or empty parts, backslashes):
    # (stored name, the private file it was unpacked to, its stored time). Never unpacked
    # under their safe form, where they would take another member's place.
    unsafe: list[tuple[str, Path, str]] = field(default_factory=list)


_EXTENDED_TIME = 0x5455  # Info-ZIP's "UT" extra field: Unix times, UTC


def member_time(member: zipfile.ZipInfo) -> str:
    """The member's modification time as the zip stores it: the UT extra field's UTC time
    when present (as "...Z"), else the DOS time, the zipping machine's local time."""
    extra, at = member.extra, 0
    while at + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, at)
        body = extra[at + 4 : at + 4 + size]
        if tag == _EXTENDED_TIME and len(body) >= 5 and body[0] & 1:
            try:
                stamp = datetime.fromtimestamp(struct.unpack_from("<i", body, 1)[0], UTC)
                return stamp.strftime("%Y-%m-%d %H:%M:%SZ")
            except (OverflowError, OSError, ValueError):
                break
        at += 4 + size
    year, month, day, hour, minute, second = member.date_time
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"


def unpack(
    path: str, destination: Path, found: Unpacked | None = None, quarantine: Path | None = None
) -> Unpacked:
    """Unpack the regular files of a zip into found (a new Unpacked by default): the members
    left out and why, and each unpacked member's stored time. Sizes are counted as bytes are
    written, not taken from the headers, which attackers set. Every file unpacked takes the
    archive's own mtime, so that a scan resumed after unpacking again sees the same files.
    A member that cannot be unpacked (corrupt data, an unsupported method, a password, a name
    the file system refuses) is left out and the rest go on. A member with an unsafe stored
    name is unpacked into quarantine under a private name (found.unsafe), or left out
    without one. Raises KyctriageError when the archive cannot be read or exceeds the
    bounds; found keeps what came before."""
    found = Unpacked() if found is None else found
    stamp = os.stat(path).st_mtime_ns
    try:
        archive = zipfile.ZipFile(path)
        members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise KyctriageError(
            f"truncated or damaged (no readable central directory: {one_line(exc, 200)}); "
            "no member unpacked"
        ) from None
    except (zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise KyctriageError(f"cannot read archive {path}: {one_line(exc, 200)}") from None
    if len(members) > MAX_MEMBERS:
        raise KyctriageError(
            f"{len(members)} members, more than the {MAX_MEMBERS} kyctriage unpacks: "
            "none unpacked or listed"
        )
    total = 0
    with archive:
        for position, member in enumerate(members):
            mode = member.external_attr >> 16
            name = safe_name(member.filename)
            if member.is_dir():
                continue
            kind = stat.S_IFMT(mode)  # zero when the writer stored no file type
            if kind and kind != stat.S_IFREG:
                found.left_out.append((member.filename, "not a regular file, left out"))
                continue
            if name is not None and name == member.filename:
                target, unsafe = destination / name, False
            elif quarantine is not None:  # never under its safe form: another member's name?
                target, unsafe = quarantine / f"{position:06d}", True
            else:
                found.left_out.append((member.filename, "unsafe name, left out"))
                continue
            try:
                if target.exists():
                    found.left_out.append((member.filename, "duplicate name, left out"))
                    continue
                total += _copy(archive, member, target, MAX_TOTAL_BYTES - total, path)
            except KyctriageError:
                _stopped(found, members[position:], member)
                raise
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    _stopped(found, members[position:], member)
                    raise KyctriageError(f"cannot unpack {path}: {exc.strerror}") from None
                # The strerror alone: the message names the private folder.
                found.left_out.append((member.filename, f"cannot unpack: {exc.strerror}"))
                continue
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                    RuntimeError, ValueError) as exc:  # fmt: skip
                found.left_out.append((member.filename, f"cannot unpack: {one_line(exc, 200)}"))
                continue
            os.utime(target, ns=(stamp, stamp))
            if unsafe:
                found.unsafe.append((member.filename, target, member_time(member)))
            else:
                found.times[member.filename] = member_time(member)
    return found


def _copy(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: int, path: str
) -> int:
    """Write one member, counting what comes out; returns the bytes written. A member that
    fails midway (a bomb, corrupt data, a full disk) leaves no half-written file behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    limit = max(CHUNK, member.compress_size * MAX_RATIO)
    written = 0
    with archive.open(member) as source:
        out = open(target, "xb")  # created here, so ours to remove
        try:
            with out:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > limit or written > budget:
                        raise KyctriageError(
                            f"{path}: {member.filename!r} expands beyond the bounds "
                            f"(ratio {MAX_RATIO}, total {MAX_TOTAL_BYTES} bytes): zip bomb?"
                        )
                    out.write(chunk)
        except BaseException:
            with contextlib.suppress(OSError):
                target.unlink()
            raise
    return written


def _stopped(found: Unpacked, rest: list[zipfile.ZipInfo], at: zipfile.ZipInfo) -> None:
    """The members never unpacked, from the one that stopped the archive on: still listed."""
    for member in rest:
        if not member.is_dir():
            found.left_out.append((member.filename, f"not unpacked: stopped at {at.filename!r}"))
