"""Read a file once through one safe descriptor: read-only, no links followed, no blocking."""

from __future__ import annotations

from dataclasses import dataclass

from kyctriage.errors import FileProblem
from kyctriage.untrusted import BadInput, read_regular


@dataclass(frozen=True)
class FileBytes:
    data: bytes
    size: int
    mtime_ns: int


def read_file(fs_path: str, max_bytes: int) -> FileBytes:
    """Read an evidence file once: read-only, no links followed, no blocking, the access time
    left alone where the owner allows it (untrusted.read_regular)."""
    try:
        data, st = read_regular(fs_path, max_bytes, follow_links=False, keep_atime=True)
    except BadInput as exc:
        raise FileProblem(str(exc)) from None
    return FileBytes(data=data, size=len(data), mtime_ns=st.st_mtime_ns)
