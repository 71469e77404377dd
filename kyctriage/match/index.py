"""The reference index: a SQLite file of hashes and record ids, no pixels, for `compare`.

A reference store is hashed once (`kyctriage index build`, `index add`) and the index, not the
images, is what `compare` reads and what can be handed to an investigator. Rows hold the record
id (root and path), SHA-256, the metadata-free data hash, the perceptual hashes and their views,
and the few facts that name a transformation (size, format, JPEG quality).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from kyctriage import __version__
from kyctriage.errors import KyctriageError
from kyctriage.match.entries import Entry
from kyctriage.model import ViewHashes

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


def is_index(path: str | Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def _open(path: str | Path, create: bool) -> sqlite3.Connection:
    if not create and not is_index(path):
        raise KyctriageError(f"{path} is not a kyctriage index (SQLite)")
    try:
        db = sqlite3.connect(str(path))
        if create:
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('index_version', ?)", (INDEX_VERSION,))
            db.execute("INSERT OR IGNORE INTO meta VALUES ('tool_version', ?)", (__version__,))
        found = db.execute("SELECT value FROM meta WHERE key = 'index_version'").fetchone()
    except sqlite3.Error as exc:
        raise KyctriageError(f"cannot use index {path}: {exc}") from None
    if found is None or int(found[0]) != INDEX_VERSION:
        db.close()
        raise KyctriageError(
            f"{path} has index version {found[0] if found else None}; "
            f"this kyctriage reads {INDEX_VERSION}"
        )
    return db


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
    with closing(_open(path, create)) as db, db:
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
        except sqlite3.Error as exc:
            raise KyctriageError(f"cannot read index {path}: {exc}") from None
    out = []
    for row in fetched:
        values = dict(zip(_COLUMNS, row, strict=True))
        views = tuple(ViewHashes(*v) for v in json.loads(values.pop("views")))
        values["has_exif"] = bool(values["has_exif"])
        out.append(Entry(views=views, **values))
    return out
