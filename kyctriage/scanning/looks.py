"""What verification needs of a scanned picture: features from the worker's one decode, on disk."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from kyctriage.errors import FileProblem
from kyctriage.match import candidates, verify
from kyctriage.match.entries import Entry
from kyctriage.match.verify import Features, features
from kyctriage.probes import decode, hashes
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.read import read_file

# The working copy verification sees: the worker decodes once at this size and derives the
# 256 px preview from it (probes/decode.py says why 512).
VERIFY_PREVIEW = decode.WORK_SIZE


@dataclass(frozen=True, eq=False)
class Look:
    """A worker's features of one informative picture: the file holding them (the grey
    working copy is ~0.2-0.8 MB, too much to keep in memory for every picture of a scan)
    and the descriptors the candidate search needs (candidates.keys; candidates.shown: of
    each picture it shows inside it, a screenshot's photograph)."""

    spill: str
    keys: NDArray[np.uint8]
    shown: tuple[NDArray[np.uint8], ...] = ()
    # its global hashes cut further from each edge (hashes.cut_more): a one-side crop's
    # original, in an index that keeps only hashes; and turned back by a few degrees
    # (hashes.turned): a turned copy's
    more: NDArray[np.uint64] | None = None
    turned: NDArray[np.uint64] | None = None


def see(
    decoded: decode.Decoded, folder: str, data: bytes | None = None, further: bool = False
) -> Look | None:
    """Features of a decode's working copy (decode.decode(working=True)), written into
    `folder` (the scan's temporary folder, never the evidence or the output). None for a
    picture too plain to verify: it keeps nothing and is linked only by its identity
    (SHA-256, same-pixel data hash). The pictures it shows take their keys from the decode
    itself, closer than the working copy (candidates.shown), and verification looks at them
    there too (verify.views): `data`, the file's bytes, when the decode was a JPEG's reduced
    DCT scale (a 1,920 px screenshot's is 960 px) is decoded again for that closer look.
    `further`: the look keeps the preview's hashes cut further from each edge and turned
    back by a few degrees (compare)."""
    assert decoded.working is not None
    kept = keep(features(decoded.working), folder, _closer(decoded, data))
    if kept is None or not further:
        return kept
    preview = decoded.preview
    return replace(kept, more=hashes.cut_more(preview), turned=hashes.turned(preview))


def _closer(decoded: decode.Decoded, data: bytes | None) -> Callable[[], Image.Image]:
    """The closer decode of a picture that shows others: the one decode's pixels, or, where
    those are a JPEG's reduced DCT scale, the bytes decoded again (only then: a picture
    showing none never asks)."""
    if data is None or decoded.image.size == decoded.full_size:
        return decoded.upright

    def again() -> Image.Image:
        try:
            return decode.closer(data, decode.sniff(data), candidates.CLOSER)
        except FileProblem:  # its one decode stands; the closer look is a bonus
            return decoded.upright()

    return again


def keep(
    seen: Features, folder: str, closer: Callable[[], Image.Image] | None = None
) -> Look | None:
    if not seen.informative:
        return None
    small = candidates.small(seen.gray)
    boxes = candidates.pictures(seen.gray, small)
    larger = candidates.closer_look(seen, closer) if boxes else None
    source = seen.gray if larger is None else candidates.grey(larger)
    pictures = verify.shown(source, boxes, seen.gray.shape)
    shown = candidates.shown_keys(pictures)
    closer_scale = source.shape[1] / seen.gray.shape[1]
    unseen = verify.unseen(boxes, pictures, seen.gray.shape, closer_scale)
    seen = replace(seen, boxes=tuple(boxes), unseen=unseen)
    if larger is not None and pictures:
        # a frame showing pictures: closer looks at them for the checks
        seen = replace(seen, views=verify.views(larger, source, pictures, seen.gray.shape))
    handle, path = tempfile.mkstemp(dir=folder, suffix=".features")
    with os.fdopen(handle, "wb") as out:
        # our own object into our own private folder (mkdtemp, mode 0700): pickled whole,
        # so fields verification adds to Features travel without a change here
        pickle.dump(seen, out, protocol=pickle.HIGHEST_PROTOCOL)
    return Look(path, candidates.keys(seen, small), shown)


def load(look: Look) -> Features | None:
    try:
        with open(look.spill, "rb") as spilled:
            seen = pickle.load(spilled)
    except (OSError, EOFError, pickle.UnpicklingError):
        return None
    return seen if isinstance(seen, Features) else None


def features_of(data: bytes, options: ScanOptions) -> Features:
    """Features of an image file's bytes, decoded as a scan's worker decodes it (format
    sniffed, EXIF orientation applied, the VERIFY_PREVIEW draft). Raises FileProblem. Pixel
    work on untrusted bytes: call it in a supervised worker (scanning/workers.run_supervised)."""
    decoded = _decoded(data, options)
    assert decoded.working is not None
    return features(decoded.working)


def look_of(data: bytes, options: ScanOptions, folder: str) -> Look | None:
    """The look a scan's worker keeps of an image file's bytes (decoded as features_of
    decodes them), spilled into `folder`. Raises FileProblem; run supervised."""
    return see(_decoded(data, options), folder, data, further=options.further_cuts)


def _decoded(data: bytes, options: ScanOptions) -> decode.Decoded:
    fmt = decode.sniff(data)
    return decode.decode(data, fmt, options.max_pixels, options.preview_size, working=True)


def look_file(fs_path: str, sha256: str, options: ScanOptions, folder: str) -> Look | None:
    """A resumed scan's look at a file whose record came from the journal (run supervised).
    None when it cannot be had or is not the file the record describes (its SHA-256
    differs): its matches then stay unverified, never joined."""
    try:
        data = _recorded(fs_path, sha256, options)
        return look_of(data, options, folder) if data is not None else None
    except FileProblem:
        return None


def _recorded(fs_path: str, sha256: str, options: ScanOptions) -> bytes | None:
    """The file's bytes when it can be read and is still the one recorded, else None."""
    try:
        content = read_file(fs_path, options.max_file_bytes)
    except FileProblem:
        return None
    return content.data if hashlib.sha256(content.data).hexdigest() == sha256 else None


class Looks:
    """A scan's looks by (root, path): the pictures and candidate keys clustering asks for."""

    def __init__(self, looks: Mapping[tuple[str, str], Look]) -> None:
        self.looks = looks

    def features(self, e: Entry) -> Features | None:
        look = self.looks.get((e.root, e.path))
        return load(look) if look is not None else None

    def keys(self, e: Entry) -> NDArray[np.uint8] | None:
        look = self.looks.get((e.root, e.path))
        return look.keys if look is not None else None

    def shown(self, e: Entry) -> tuple[NDArray[np.uint8], ...]:
        look = self.looks.get((e.root, e.path))
        return look.shown if look is not None else ()

    def more(self, e: Entry) -> NDArray[np.uint64] | None:
        look = self.looks.get((e.root, e.path))
        return look.more if look is not None else None

    def turned(self, e: Entry) -> NDArray[np.uint64] | None:
        look = self.looks.get((e.root, e.path))
        return look.turned if look is not None else None


@dataclass
class Kept:
    """Looks a caller keeps past their scan (compare's sides): the folder their features are
    spilled into (the caller's to remove) and the looks by (root, path), filled by the scan."""

    folder: str
    looks: dict[tuple[str, str], Look] = field(default_factory=dict)
