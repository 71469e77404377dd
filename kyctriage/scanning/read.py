"""Read a file once through one safe descriptor: read-only, no links followed, no blocking."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from kyctriage.errors import FileProblem


@dataclass(frozen=True)
class FileBytes:
    data: bytes
    size: int
    mtime_ns: int


def read_file(fs_path: str, max_bytes: int) -> FileBytes:
    """Open read-only without following links or blocking on pipes, check that it is a
    regular file on the open descriptor itself, and read it whole, once."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(fs_path, flags | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        fd = None  # O_NOATIME needs ownership; retry without it
    except OSError as exc:
        raise FileProblem(f"cannot open: {exc.strerror}") from None
    if fd is None:
        try:
            fd = os.open(fs_path, flags)
        except OSError as exc:
            raise FileProblem(f"cannot open: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileProblem("not a regular file")
        if st.st_size > max_bytes:
            raise FileProblem(f"file of {st.st_size} bytes exceeds the limit of {max_bytes} bytes")
        chunks = []
        remaining = st.st_size + 1  # one byte more tells us if the file grew while we read
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise FileProblem(f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    return FileBytes(data=data, size=len(data), mtime_ns=st.st_mtime_ns)
