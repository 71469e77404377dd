"""Files kyctriage did not make, read and parsed within bounds: no blocking, size, depth."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

# Deeper than any file kyctriage writes (a report nests about ten levels), shallow enough that
# nothing walking the parsed data recursively can run out of stack.
MAX_JSON_DEPTH = 64
_STRING = re.compile(rb'"[^"]*"')  # once escapes are gone and only quotes and brackets left
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_PAIRS = (b"[]", b"{}")


class BadInput(ValueError):
    """The file is not what it should be; the message is one line, without the path."""


def read_bounded(
    path: str | Path, max_bytes: int, head: bool = False, follow_links: bool = True
) -> bytes:
    """A regular file's bytes, at most max_bytes (or its first max_bytes, with head); a link
    is followed only when the user named the file."""
    return read_regular(path, max_bytes, head=head, follow_links=follow_links)[0]


def read_regular(
    path: str | Path,
    max_bytes: int,
    *,
    head: bool = False,
    follow_links: bool = True,
    keep_atime: bool = False,
) -> tuple[bytes, os.stat_result]:
    """The one careful read: opened without blocking (a FIFO or a device named as an input
    would otherwise wait forever), checked to be a regular file on the open descriptor itself,
    read whole up to max_bytes (a file that grows past it while read is refused), and, with
    keep_atime, without touching the evidence's access time where the owner allows it."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    fd = _open_keeping_atime(path, flags) if keep_atime else None
    if fd is None:
        fd = _open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise BadInput("not a regular file")
        if st.st_size > max_bytes and not head:
            raise BadInput(f"file of {st.st_size} bytes exceeds the limit of {max_bytes} bytes")
        chunks, remaining = [], max_bytes + (0 if head else 1)
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise BadInput(f"file grew past the limit of {max_bytes} bytes while being read")
    return data, st


def _open(path: str | Path, flags: int) -> int:
    try:
        return os.open(path, flags)
    except OSError as exc:
        raise BadInput(f"cannot open: {exc.strerror}") from None


def _open_keeping_atime(path: str | Path, flags: int) -> int | None:
    """A descriptor that leaves the access time alone; None where that is refused (O_NOATIME
    needs ownership of the file), so the caller opens it plainly."""
    try:
        return os.open(path, flags | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        return None
    except OSError as exc:
        raise BadInput(f"cannot open: {exc.strerror}") from None


def check_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than `limit` before json.loads builds it (its C parser
    raises RecursionError near Python's recursion limit, and walking a tree that deep in
    Python would too). Strings are removed first, so brackets inside them do not count;
    each round then removes the innermost pairs, one level or two: anything deeper than
    `limit` is refused, anything up to half of it passes."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    brackets = _brackets(raw)
    for _ in range(limit // 2):
        if not brackets:
            return
        shorter = brackets.replace(_PAIRS[0], b"").replace(_PAIRS[1], b"")
        if shorter == brackets:  # unclosed or crossed (json.loads would recurse into it)
            raise BadInput("not valid JSON: brackets do not pair up")
        brackets = shorter
    if brackets:
        raise BadInput(f"JSON nested deeper than {limit} levels")


def _brackets(raw: bytes) -> bytes:
    """The brackets outside strings, in order. Escaped backslashes and quotes go first; then
    only quotes and brackets are kept, and adjacent quotes dropped: an empty string, or two
    strings with no bracket between them merged into one, which changes nothing outside them.
    What is left of the strings (those holding brackets) is few matches for the regex: on a
    52 MB export 0.1 s, where one regex over the raw strings took 1.7 s."""
    kept = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    return _STRING.sub(b"", kept.replace(b'""', b""))


def loads_json(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> Any:
    """json.loads with the depth bound; every failure is a one-line BadInput."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    check_depth(data, limit)
    try:
        return json.loads(data)
    except RecursionError:  # not reached after check_depth; kept as the last barrier
        raise BadInput("JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise BadInput(f"not valid JSON: {' '.join(str(exc).split())[:200]}") from None
