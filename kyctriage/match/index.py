"""The reference index: a SQLite file of hashes and record ids, no pixels, for `compare`.

A reference store is hashed once (`kyctriage index build`, `index add`) and the index, not the
images, is what `compare` reads and what can be handed to an investigator. Rows hold the record
id (root and path), SHA-256, the metadata-free data hash, the perceptual hashes and their views,
and the few facts that name a transformation (size, format, JPEG quality).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from kyctriage import __version__
from kyctriage.errors import KyctriageError
from kyctriage.match.entries import Entry, checked_entry
from kyctriage.untrusted import BadInput, read_bounded

INDEX_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    root TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    data_sha256 TEXT,
    phash TEXT NOT NULL,
    dhash TEXT NOT NULL,
    whash TEXT NOT NULL,
    colorhash TEXT NOT NULL,
    views TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    format TEXT,
    quality INTEGER,
    has_exif INTEGER NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (root, path)
);
CREATE INDEX IF NOT EXISTS images_sha256 ON images (sha256);
CREATE INDEX IF NOT EXISTS images_data ON images (data_sha256);
"""

_COLUMNS = (
    "root", "path", "sha256", "data_sha256", "phash", "dhash", "whash", "colorhash", "views",
    "width", "height", "format", "quality", "has_exif", "size",
)  # fmt: skip


# What a kyctriage index holds (sqlite_master: type, name); a view or a trigger could make any
# query run forever (a recursive view) or write, so anything else refuses the file.
_OBJECTS = {
    ("table", "meta"), ("table", "images"), ("index", "images_sha256"), ("index", "images_data"),
    ("index", "sqlite_autoindex_meta_1"), ("index", "sqlite_autoindex_images_1"),
}  # fmt: skip
# SQLite work on one index, at most (checked every _STEPS virtual machine steps). A 100,000-row
# index loads in about a second.
TIME_LIMIT = 300.0
_STEPS = 100_000


def is_index(path: str | Path) -> bool:
    try:
        return read_bounded(path, len(SQLITE_MAGIC), head=True) == SQLITE_MAGIC
    except BadInput:
        return False


def _connect(path: str | Path, write: bool, time_limit: float) -> sqlite3.Connection:
    """Our own output (build, add) read-write; a reference only read: `immutable` so a
    pending -wal or -journal beside it is neither replayed nor deleted."""
    if write:
        db = sqlite3.connect(str(path))
    else:
        uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro&immutable=1"
        db = sqlite3.connect(uri, uri=True)
    deadline = time.monotonic() + time_limit
    db.set_progress_handler(lambda: int(time.monotonic() > deadline), _STEPS)
    return db


def _check_schema(db: sqlite3.Connection) -> None:
    found = set(db.execute("SELECT type, name FROM sqlite_master").fetchall())
    odd = sorted(found - _OBJECTS, key=str)
    if odd:
        kind, name = odd[0]
        raise BadInput(f"unexpected {kind} {str(name)[:40]!r} (not made by kyctriage)")
    columns = tuple(row[1] for row in db.execute("PRAGMA table_info(images)"))
    if sorted(columns) != sorted(_COLUMNS) or ("table", "meta") not in found:
        raise BadInput("its tables are not those of a kyctriage index")


def _open(
    path: str | Path, create: bool, write: bool = False, time_limit: float = TIME_LIMIT
) -> sqlite3.Connection:
    """An index, its schema and version checked before any row is read or written."""
    existed = os.path.exists(path)
    if (not create or existed) and not is_index(path):
        raise KyctriageError(f"{path} is not a kyctriage index (SQLite)")
    db = None
    try:
        db = _connect(path, write or create, time_limit)
        if existed:
            _check_schema(db)
        if create:
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('index_version', ?)", (INDEX_VERSION,))
            db.execute("INSERT OR IGNORE INTO meta VALUES ('tool_version', ?)", (__version__,))
        found = db.execute("SELECT value FROM meta WHERE key = 'index_version'").fetchone()
        version = found[0] if found else None
        if str(version) != str(INDEX_VERSION):
            raise BadInput(
                f"index version {str(version)[:20]!r}; this kyctriage reads {INDEX_VERSION}"
            )
    except (sqlite3.Error, ValueError, MemoryError) as exc:  # BadInput, text not UTF-8, and
        if db is not None:  # SQLITE_NOMEM from a corrupt record claiming a huge size
            db.close()
        raise KyctriageError(f"cannot use index {path}: {_reason(exc)}") from None
    return db


def _reason(exc: Exception) -> str:
    if isinstance(exc, MemoryError):
        return "SQLite ran out of memory reading it (a corrupt or hostile file)"
    text = " ".join(str(exc).split())
    return "it took too long to read (a hostile index?)" if text == "interrupted" else text


def add(path: str | Path, items: Iterable[Entry], create: bool = False) -> int:
    """Insert (or replace, by root and path) the entries; returns how many were written."""
    rows = [
        (
            e.root,
            e.path,
            e.sha256,
            e.data_sha256,
            e.phash,
            e.dhash,
            e.whash,
            e.colorhash,
            json.dumps([[v.view, v.phash, v.dhash, v.whash] for v in e.views]),
            e.width,
            e.height,
            e.format,
            e.quality,
            int(e.has_exif),
            e.size,
        )  # fmt: skip
        for e in items
    ]
    with closing(_open(path, create, write=True)) as db, db:
        db.executemany(
            f"INSERT OR REPLACE INTO images ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})",
            rows,
        )
    return len(rows)


def load(path: str | Path) -> list[Entry]:
    """Every entry of the index, in (root, path) order."""
    with closing(_open(path, create=False)) as db:
        try:
            rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM images ORDER BY root, path")
            fetched = rows.fetchall()
        except (sqlite3.Error, ValueError, MemoryError) as exc:
            raise KyctriageError(f"cannot read index {path}: {_reason(exc)}") from None
    out = []
    for number, row in enumerate(fetched, 1):
        try:
            out.append(checked_entry(dict(zip(_COLUMNS, row, strict=True))))
        except BadInput as exc:
            raise KyctriageError(f"cannot read index {path}: row {number}: {exc}") from None
    return out
