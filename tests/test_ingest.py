"""The walk: every entry accounted for, nothing followed or opened that should not be."""

from __future__ import annotations

import json
import os
import socket

import pytest

from kyctriage.errors import UsageError
from kyctriage.scanning.ingest import walk


def _by_path(root):
    return {s.path: s for s in walk((str(root),))}


def test_walk_recurses_sorted_and_relative(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "deep").mkdir()
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "b" / "deep" / "c.png").write_bytes(b"y")
    sources = list(walk((str(tmp_path),)))
    assert [s.path for s in sources] == ["a.jpg", "b/deep/c.png"]
    assert all(s.openable and s.root == str(tmp_path) for s in sources)


def test_symlinks_are_listed_not_followed(tmp_path):
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "escape.jpg").symlink_to(outside)
    (root / "loop").symlink_to(root / "loop")
    (root / "dirlink").symlink_to(root)
    found = _by_path(root)
    assert set(found) == {"escape.jpg", "loop", "dirlink"}
    for source in found.values():
        assert not source.openable
        assert "symbolic link" in source.skip_reason and "not followed" in source.skip_reason


def test_fifo_and_socket_are_skipped_without_opening(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    try:
        found = _by_path(tmp_path)
    finally:
        sock.close()
    assert "FIFO" in found["pipe.jpg"].skip_reason
    assert "socket" in found["sock"].skip_reason


def test_non_utf8_name_is_kept_as_raw_bytes(tmp_path):
    raw = b"caf\xe9.jpg"
    with open(os.path.join(os.fsencode(tmp_path), raw), "wb") as f:
        f.write(b"x")
    (source,) = walk((str(tmp_path),))
    assert source.path_bytes_hex == raw.hex()
    assert source.path == "caf\\xe9.jpg"
    assert os.path.exists(source.fs_path)


def test_single_file_root_and_missing_root(tmp_path):
    target = tmp_path / "one.jpg"
    target.write_bytes(b"x")
    (source,) = walk((str(target),))
    assert source.path == "one.jpg" and source.openable
    with pytest.raises(UsageError, match="cannot scan"):
        list(walk((str(tmp_path / "missing"),)))


NOBODY = 65534


def _unprivileged(job):
    """job() in this process as it is, or, where the tests run as root (CI), in a child that
    has dropped to the `nobody` user: root reads every file and lists every folder."""
    if os.geteuid() != 0:
        return job()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(write, json.dumps(job()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def _open_folder(tmp_path):
    """A folder the `nobody` user can reach (pytest's own tmp folders are private to root)."""
    folder = tmp_path / "world"
    folder.mkdir()
    for parent in [folder, *folder.parents]:
        if str(parent) in ("/", "/tmp"):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    return folder


def test_unlistable_folder_and_unreadable_file_become_error_records(tmp_path):
    from kyctriage.scanning.options import ScanOptions
    from kyctriage.scanning.pipeline import scan

    folder = _open_folder(tmp_path)
    (folder / "locked").mkdir()
    (folder / "locked" / "inside.jpg").write_bytes(b"x")
    (folder / "secret.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "locked").chmod(0)
    (folder / "secret.jpg").chmod(0)

    def job():
        report = scan(ScanOptions(roots=(str(folder),), in_process=True))
        return {r.path: [r.status, r.error] for r in report.records}

    try:
        found = _unprivileged(job)
    finally:
        (folder / "locked").chmod(0o755)
    assert found == {
        "locked": ["error", "cannot list folder: Permission denied"],
        "secret.jpg": ["error", "cannot open: Permission denied"],
    }
