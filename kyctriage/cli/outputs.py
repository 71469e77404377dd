"""Every file a command writes: checked before any work, written beside and renamed into place."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kyctriage.errors import KyctriageError, UsageError
from kyctriage.render.text import visible

JOURNAL_SUFFIX = ".journal"


@dataclass(frozen=True)
class _Target:
    option: str  # how the user named it: "--json", "-o", "the journal"
    path: str
    real: str  # the resolved folder joined with the name (the file itself may not exist yet)
    st: os.stat_result | None  # lstat of an existing target


def _where(option: str, path: str) -> str:
    return f"{option} {visible(path)}"


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip("/") + "/")


def _target(option: str, path: str, folder_ok: bool) -> _Target:
    where = _where(option, path)
    try:
        st: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise UsageError(f"cannot write {where}: {exc.strerror}") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise UsageError(f"cannot write {where}: it is a symbolic link (name the file itself)")
    wanted = stat.S_ISDIR if folder_ok else stat.S_ISREG
    if st is not None and not wanted(st.st_mode):
        kind = "a folder" if folder_ok else "a regular file"
        raise UsageError(f"cannot write {where}: it exists and is not {kind}")
    folder = os.path.dirname(os.path.abspath(path))
    if not folder_ok and (not os.path.isdir(folder) or not os.access(folder, os.W_OK)):
        # Not a usage error: the run cannot write there (as before, exit 1).
        raise KyctriageError(
            f"cannot write {where}: folder {visible(folder)} is missing or read-only"
        )
    real = os.path.join(os.path.realpath(folder), os.path.basename(os.path.abspath(path)))
    return _Target(option, path, real, st)


def check_outputs(
    outputs: Mapping[str, str | None], inputs: Iterable[str], folders: Iterable[str] = ()
) -> None:
    """Refuse, before any work, an output that would overwrite what is read or written:
    inside (or equal to) an input, resolved; an existing link, device, pipe or folder; the same
    file as another output (by resolved path or inode); or another output's journal.
    outputs: option -> file path; folders: option names whose path is an output folder."""
    folder_options = set(folders)
    roots = [(given, os.path.realpath(given)) for given in inputs]
    seen: list[_Target] = []
    for option, path in outputs.items():
        if not path:
            continue
        target = _target(option, path, option in folder_options)
        where = _where(option, path)
        for given, root in roots:
            if _inside(target.real, root):
                kind = "the input" if os.path.realpath(given) == target.real else "inside the input"
                raise UsageError(
                    f"cannot write {where}: it is {kind} {visible(given)} "
                    "(kyctriage never writes into what it reads)"
                )
        for other in seen:
            same = target.real == other.real or (
                target.st is not None and other.st is not None
                and os.path.samestat(target.st, other.st)
            )  # fmt: skip
            if same:
                also = _where(other.option, other.path)
                raise UsageError(f"cannot write {where}: it is the same file as {also}")
            for a, b in ((target, other), (other, target)):
                if a.real == b.real + JOURNAL_SUFFIX and a.option != "--journal":
                    raise UsageError(
                        f"cannot write {_where(a.option, a.path)}: it is the journal of "
                        f"{_where(b.option, b.path)}"
                    )
        seen.append(target)


def write_atomic(path: str, text: str | Iterable[str]) -> None:
    """Write to a new temporary file beside the target (created exclusively, never through a
    link), fsync it, and rename it over the target, which must be a regular file if it exists:
    no half-written report is left, and no link or device is replaced. text may come in
    pieces (the JSON report of a large scan does)."""
    folder = os.path.dirname(os.path.abspath(path))
    # mkstemp opens with O_CREAT | O_EXCL | O_NOFOLLOW.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            if isinstance(text, str):
                out.write(text)
            else:
                out.writelines(text)
            out.flush()
            os.fsync(out.fileno())
        _check_replaceable(path)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _sync_folder(folder)


def _check_replaceable(path: str) -> None:
    """Checked again just before the rename: a link or a device put there since the checks."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise KyctriageError(f"cannot write {visible(path)}: it is a symbolic link")
    if not stat.S_ISREG(st.st_mode):
        raise KyctriageError(f"cannot write {visible(path)}: it is not a regular file")


def _sync_folder(folder: str) -> None:
    """The rename itself made durable."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
