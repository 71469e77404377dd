"""The custody manifest: a `sha256sum -c` file of every input and every report of one run."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import stat
from collections import Counter
from collections.abc import Sequence

from kyctriage.model import FileRecord, Report
from kyctriage.render.text import visible

FORMAT = 1
_DIGEST = re.compile("[0-9a-f]{64}")


def file_sha256(path: str) -> str:
    """A report file's or the saved scan's digest. Opened without blocking and checked on the
    descriptor: a saved scan swapped for a FIFO after it was loaded must not hang the run."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_roots(report: Report) -> set[str]:
    """Roots that name one file: their single record's path is the file's own name."""
    per_root = Counter(r.root for r in report.records)
    return {
        r.root for r in report.records
        if per_root[r.root] == 1 and r.path == os.path.basename(os.path.normpath(r.root))
    }  # fmt: skip


# The note on a zip root's own record (scanning/ingest.py walk_archive).
_ARCHIVE_NOTES = ("zip: ", "zip archive: ")
MEMBER_PREFIX = "#member "


def _archive_roots(report: Report) -> set[str]:
    """Zip roots: their own record (path the archive's file name) carries the unpack note."""
    return {
        r.root for r in report.records
        if r.path == os.path.basename(os.path.normpath(r.root))
        and r.warnings and r.warnings[0].startswith(_ARCHIVE_NOTES)
    }  # fmt: skip


def _entry(digest: str, name: str) -> str | None:
    """One sha256sum line; GNU's escaped form for a backslash or newline in the name. None
    for names sha256sum cannot check (a carriage return) and digests that are not one (an
    edited saved report)."""
    if "\r" in name or not _DIGEST.fullmatch(digest):
        return None
    if "\\" in name or "\n" in name:
        return "\\" + digest + "  " + name.replace("\\", "\\\\").replace("\n", "\\n")
    return f"{digest}  {name}"


def _input_name(record: FileRecord, file_roots: set[str]) -> str:
    if record.root in file_roots:
        return record.root
    return record.root.rstrip("/") + "/" + record.path if record.root else record.path


def render_manifest(
    report: Report,
    reports: Sequence[tuple[str, str]],
    invoked: Sequence[str] = (),
    saved: tuple[str, str] | None = None,
) -> str:
    """reports: (path as given, sha256) of each file this run wrote; saved: the saved scan a
    `report` run read, with its sha256."""
    meta = report.meta
    totals = report.totals()
    hashed = sum(1 for r in report.records if r.sha256)
    lines = [
        f"# kyctriage custody manifest (format {FORMAT})",
        "# Verify in the folder the scan ran in: sha256sum -c THIS_FILE",
        "# (lines starting with # are comments; every other line is a SHA-256 and a file)",
        f"# tool: kyctriage {visible(meta.tool_version)}, report schema {report.schema_version}",
        f"# scan command: {visible(shlex.join(meta.command))}",
    ]
    if invoked:
        lines.append(f"# this run: {visible(shlex.join(invoked))}")
    lines += [
        f"# scan roots: {'; '.join(visible(r) for r in meta.roots)}",
        f"# scan started: {visible(meta.started)}; finished: {visible(meta.finished)}",
        f"# profile: {visible(meta.profile)} sha256 {visible(meta.profile_sha256)}"
        if meta.profile else "# profile: none",
        *(f"# key fingerprint {visible(p)}: {visible(f)}" for p, f in meta.key_fingerprints),
        f"# thumbnails: {visible(meta.thumbnails)}",
        f"# inputs: {totals['seen']} files ({totals['ok']} ok, {totals['error']} error, "
        f"{totals['skipped']} skipped); {hashed} hashed, {totals['seen'] - hashed} not read",
        "",
        "# inputs: SHA-256 of each file as the scan read it",
    ]  # fmt: skip
    archives = _archive_roots(report)
    file_roots = _file_roots(report) | archives
    members: dict[str, list[str]] = {}
    for record in report.records:
        member = record.root in archives and record.path != os.path.basename(
            os.path.normpath(record.root)
        )
        name = record.path if member else _input_name(record, file_roots)
        line = _entry(record.sha256, name) if record.sha256 and not record.path_bytes_hex else None
        if line is not None and member:
            members.setdefault(record.root, []).append(MEMBER_PREFIX + line)
        elif line is not None:
            lines.append(line)
        elif record.sha256:
            raw = visible(record.path_bytes_hex or "CR")
            lines.append(f"# not checkable by name (bytes {raw}): "
                         f"{visible(record.sha256)}  {visible(name)}")  # fmt: skip
        else:
            lines.append(f"# not read ({record.status}: {visible(record.error or '')}): "
                         f"{visible(name)}")  # fmt: skip
    if members:
        lines += [
            "",
            "# members of zip archives, by their stored names: not files here, so commented out.",
            f"# Check them in a copy unpacked by hand: sed -n 's/^{MEMBER_PREFIX}//p' THIS_FILE |",
            "#   (cd UNPACKED && sha256sum -c); with several archives, one section each.",
        ]
        for root, listed in members.items():
            lines += [f"# members of {visible(root)}", *listed]
    if saved is not None:
        lines += ["", "# the saved scan this run rendered"]
        lines.append(_entry(saved[1], saved[0]) or f"# {visible(saved[1])}  {visible(saved[0])}")
    lines += ["", "# reports written by this run"]
    lines += [_entry(digest, path) or f"# {visible(digest)}  {visible(path)}"
              for path, digest in reports]  # fmt: skip
    return "\n".join(lines) + "\n"
