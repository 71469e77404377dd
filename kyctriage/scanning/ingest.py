"""Walk the scan roots safely and yield one Source per directory entry that is not a folder."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from kyctriage.errors import UsageError, one_line
from kyctriage.model import TelegramMessage
from kyctriage.scanning.telegram import EXPORT_FILE, Export, Limits, read_export


@dataclass(frozen=True)
class Source:
    """One thing found under a root. Only sources without skip_reason or error get opened."""

    root: str  # the root as the user named it
    path: str  # relative to the root, "/"-separated, printable
    fs_path: str  # what to open (str with surrogate escapes for non-UTF-8 names)
    path_bytes_hex: str | None = None  # the raw relative path when it is not valid UTF-8
    skip_reason: str | None = None
    error: str | None = None
    telegram: TelegramMessage | None = None  # joined from a Telegram export's result.json
    note: str | None = None  # e.g. why an export's result.json could not be joined
    archived: str | None = None  # a zip member's stored modification time (archive.member_time)

    @property
    def openable(self) -> bool:
        return self.skip_reason is None and self.error is None


def printable_name(name: str) -> tuple[str, str | None]:
    """The name as text, and its raw bytes in hex when it is not valid UTF-8."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace"), raw.hex()


def _not_regular_reason(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO), not opened"
    if stat.S_ISSOCK(mode):
        return "socket, not opened"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file, not opened"
    return "not a regular file, not opened"


def _source(
    root: str, rel: str, fs_path: str, skip_reason: str | None = None, error: str | None = None
) -> Source:
    shown, raw_hex = printable_name(rel)
    return Source(root, shown, fs_path, raw_hex, skip_reason=skip_reason, error=error)


def _joined(source: Source, exports: list[Export]) -> Source:
    """Attach the message of the innermost export that names this file."""
    for export in reversed(exports):
        prefix = f"{export.folder}/" if export.folder else ""
        if source.path.startswith(prefix):
            message = export.by_path.get(source.path[len(prefix) :])
            if message is not None:
                return replace(source, telegram=message)
            if source.path == f"{prefix}{EXPORT_FILE}" and export.problem:
                return replace(source, note=export.problem)
    return source


def _symlink_reason(fs_path: str) -> str:
    try:
        target = os.readlink(fs_path)
    except OSError as exc:
        return f"symbolic link, not followed (unreadable: {exc.strerror})"
    shown, _ = printable_name(target)
    return f"symbolic link to {shown!r}, not followed"


def walk_root(root: str, limits: Limits | None = None) -> Iterator[Source]:
    """Every non-folder entry below root, in sorted order; folders that cannot be listed
    become error sources so that nothing disappears silently."""
    try:
        st = os.stat(root)  # the root itself may be a link the user chose to name
    except OSError as exc:
        raise UsageError(f"cannot scan {root!r}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        name = os.path.basename(os.path.normpath(root)) or root
        reason = _not_regular_reason(st.st_mode)
        yield _source(root, name, root, skip_reason=reason)
        return
    exports: list[Export] = []
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        folder, rel_folder = stack.pop()
        exports = [e for e in exports if _inside(rel_folder, e.folder)]
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            yield _source(
                root, rel_folder or ".", folder, error=f"cannot list folder: {exc.strerror}"
            )
            continue
        export = next((e for e in entries if e.name == EXPORT_FILE), None)
        if export is not None and export.is_file(follow_symlinks=False):
            exports.append(read_export(export.path, rel_folder, limits))
        subfolders = []
        for entry in entries:
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                yield _source(root, rel, entry.path, error=f"cannot stat: {exc.strerror}")
                continue
            if stat.S_ISLNK(mode):
                yield _source(root, rel, entry.path, skip_reason=_symlink_reason(entry.path))
            elif stat.S_ISDIR(mode):
                subfolders.append((entry.path, rel))
            else:
                source = _source(root, rel, entry.path, skip_reason=_not_regular_reason(mode))
                yield _joined(source, exports) if exports else source
        stack.extend(reversed(subfolders))


def _inside(rel_folder: str, export_folder: str) -> bool:
    return (
        not export_folder
        or rel_folder == export_folder
        or rel_folder.startswith(f"{export_folder}/")
    )


def walk_archive(root: str, scratch: str) -> Iterator[Source]:
    """A zip named as a root: the archive's own record (its hashes are the custody of what was
    received), then every member unpacked into a private folder under scratch, each recorded
    with root = the archive and path = its name inside; members left out (links, duplicate
    names) are skipped records that say why. The archive itself is only read."""
    from kyctriage.scanning import archive

    folder = tempfile.mkdtemp(prefix="zip-", dir=scratch)
    quarantine = tempfile.mkdtemp(prefix="zip-unsafe-", dir=scratch)
    unpacked = archive.Unpacked()
    try:
        archive.unpack(root, Path(folder), unpacked, Path(quarantine))
        problem = None
    except Exception as exc:  # hostile archives reach zlib and struct errors too
        problem = one_line(exc)
    left_out = unpacked.left_out
    (own,) = walk_root(root)
    members = list(walk_root(folder))
    unpacked_count = len(members) + len(unpacked.unsafe)
    listed = f"{unpacked_count} members unpacked and listed, {len(left_out)} left out"
    yield replace(own, note=f"zip archive: {problem}; {listed}" if problem else f"zip: {listed}")
    origin = f"unpacked from {own.path}; mtime is the archive's"
    for member in members:
        note = f"{member.note}; {origin}" if member.note else origin
        yield replace(member, root=root, note=note, archived=unpacked.times.get(member.path))
    for stored, private, stored_time in unpacked.unsafe:
        shown, raw_hex = printable_name(stored)
        note = f"unsafe stored name, unpacked under a private name; {origin}"
        yield Source(root, shown, str(private), raw_hex, note=note, archived=stored_time)
    for member_name, reason in left_out:
        shown, raw_hex = printable_name(member_name)
        yield Source(root, shown, "", raw_hex, skip_reason=f"zip member {reason}")


def walk(
    roots: tuple[str, ...], scratch: str | None = None, limits: Limits | None = None
) -> Iterator[Source]:
    """Every source under the roots; with scratch (a private folder), zip roots are unpacked
    there and their members walked (see walk_archive). With limits, a Telegram export is
    parsed in a worker under the scan's per-file time and memory limits."""
    from kyctriage.scanning.archive import is_zip_root

    for root in roots:
        if scratch is not None and is_zip_root(root):
            yield from walk_archive(root, scratch)
        else:
            yield from walk_root(root, limits)
