"""What matching needs of one image, from a record or an index row, and its arrays."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kyctriage.match import search
from kyctriage.model import STATUS_OK, FileRecord, ViewHashes
from kyctriage.probes.hashes import CUT_MORE, CUT_VIEWS, SHOWN
from kyctriage.serialise import check_hex, from_data
from kyctriage.untrusted import BadInput, loads_json

ViewMap = Mapping[tuple[str, str], Sequence[ViewHashes]]


@dataclass(frozen=True)
class Entry:
    """One image's hashes and the facts that name a transformation; no pixels."""

    root: str
    path: str
    sha256: str
    data_sha256: str | None
    phash: str
    dhash: str
    whash: str
    colorhash: str
    views: tuple[ViewHashes, ...] = ()
    width: int = 0  # upright (EXIF orientation applied)
    height: int = 0
    format: str | None = None
    quality: int | None = None  # estimated JPEG quality
    has_exif: bool = False
    size: int = 0
    source: str | None = None  # an index row's record of where the file is (a path or URL)


def entry(record: FileRecord, views: Sequence[ViewHashes] = ()) -> Entry | None:
    """The entry of a record with perceptual hashes; None for errors and skipped files."""
    h = record.hashes
    if record.status != STATUS_OK or h is None or not record.sha256:
        return None
    image = record.image
    width, height = (image.width, image.height) if image else (0, 0)
    if image is not None and image.orientation in (5, 6, 7, 8):
        width, height = height, width
    return Entry(
        root=record.root,
        path=record.path,
        sha256=record.sha256,
        data_sha256=h.image_data_sha256,
        phash=h.phash,
        dhash=h.dhash,
        whash=h.whash,
        colorhash=h.colorhash,
        views=tuple(views) or tuple(getattr(h, "views", ())),
        width=width,
        height=height,
        format=image.format if image else None,
        quality=image.jpeg.quality if image and image.jpeg else None,
        has_exif=bool(record.exif),
        size=record.size or 0,
    )


def checked_entry(values: dict[str, Any]) -> Entry:
    """A stored row (SQLite index, a shard's ids) as an Entry, every value checked as a saved
    report's would be: the file may have been edited. Raises BadInput (one line)."""
    views = values.pop("views")
    if not isinstance(views, str):
        raise BadInput("views is not text")
    values["views"] = [
        dict(zip(("view", "phash", "dhash", "whash"), v, strict=True))
        if isinstance(v, list) and len(v) == 4 else v
        for v in (loads_json(views, limit=4) if views else [])
    ]  # fmt: skip
    if values.get("has_exif") in (0, 1):
        values["has_exif"] = bool(values["has_exif"])
    made: Entry = from_data(Entry, values)
    check_hex(made.sha256, 64, 64)
    if made.data_sha256 is not None:
        check_hex(made.data_sha256, 64, 64)
    for hashes in (made, *made.views):
        for kind in ("phash", "dhash", "whash"):
            check_hex(getattr(hashes, kind), 1, 16)
    check_hex(made.colorhash, 1, 16)
    if min(made.width, made.height, made.size) < 0:
        raise BadInput("a negative size")
    return made


def entries(records: Sequence[FileRecord], views: ViewMap | None = None) -> list[Entry]:
    out = []
    for record in records:
        given = views.get((record.root, record.path), ()) if views is not None else ()
        made = entry(record, given)
        if made is not None:
            out.append(made)
    return out


def _triple(phash: str, dhash: str, whash: str) -> tuple[int, int, int]:
    return int(phash, 16), int(dhash, 16), int(whash, 16)


# An entry's hashes cut further from each edge (hashes.cut_more) or turned back
# (hashes.turned), or None where not looked at
Further = Callable[[Entry], NDArray[np.uint64] | None]


def _further(
    items: Sequence[Entry], get: Further | None
) -> tuple[NDArray[np.uint64], NDArray[np.intp]]:
    """The hashes `get` gives each of the items looked at, stacked (n, 3), and the item's
    row of each."""
    looked = [(i, m.reshape(-1, 3)) for i, e in enumerate(items)
              if get is not None and (m := get(e)) is not None]  # fmt: skip
    hashes = np.concatenate([np.zeros((0, 3), np.uint64)] + [m for _, m in looked])
    rows = np.concatenate([np.zeros(0, np.intp)] + [np.full(len(m), i, np.intp) for i, m in looked])
    return hashes, rows


class Arrays:
    """Entries in canonical order (sha256, root, path) with their hashes as arrays; `more`
    gives an entry's hashes cut further from each edge (hashes.cut_more) and `turned` its
    hashes turned back by a few degrees (hashes.turned), where its pixels were looked at (a
    leak scanned now), else None."""

    def __init__(
        self, items: Sequence[Entry], more: Further | None = None, turned: Further | None = None
    ) -> None:
        self.entries = sorted(items, key=lambda e: (e.sha256, e.root, e.path))
        n = len(self.entries)
        self.full = np.zeros((n, 3), np.uint64)
        self.colour = np.zeros(n, np.uint64)
        self.views = np.zeros((n, len(search.VIEWS), 3), np.uint64)
        self.has_view: NDArray[np.bool_] = np.zeros((n, len(search.VIEWS)), bool)
        # each image cut CUT from each edge (hashes.CUT_VIEWS)
        self.cut = np.zeros((n, len(CUT_VIEWS), 3), np.uint64)
        self.has_cut: NDArray[np.bool_] = np.zeros((n, len(CUT_VIEWS)), bool)
        shown: list[tuple[int, int, int]] = []
        shown_of: list[int] = []
        for i, e in enumerate(self.entries):
            self.full[i] = _triple(e.phash, e.dhash, e.whash)
            self.colour[i] = int(e.colorhash, 16)
            for vh in e.views:
                if vh.view in search.VIEWS:
                    k = search.VIEWS.index(vh.view)
                    self.views[i, k] = _triple(vh.phash, vh.dhash, vh.whash)
                    self.has_view[i, k] = True
                elif vh.view == SHOWN:
                    shown.append(_triple(vh.phash, vh.dhash, vh.whash))
                    shown_of.append(i)
                elif vh.view in CUT_VIEWS:
                    k = CUT_VIEWS.index(vh.view)
                    self.cut[i, k] = _triple(vh.phash, vh.dhash, vh.whash)
                    self.has_cut[i, k] = True
        # the pictures each image shows inside it (hashes.SHOWN), as many as it shows: their
        # hashes, and the row of the image showing each
        self.shown = np.array(shown, np.uint64).reshape(-1, 3)
        self.shown_of = np.array(shown_of, np.intp)
        # each image cut further from each edge (hashes.CUT_MORE) and turned back by each of
        # hashes.TURNS, where looked at: the hashes and the row of each (and each cut's edge,
        # an index into hashes.EDGES)
        self.more, self.more_of = _further(self.entries, more)
        steps = len(CUT_MORE)
        self.more_edge = np.tile(
            np.repeat(np.arange(len(CUT_VIEWS)), steps), len(self.more) // (len(CUT_VIEWS) * steps)
        )
        self.turned, self.turned_of = _further(self.entries, turned)

    def __len__(self) -> int:
        return len(self.entries)
