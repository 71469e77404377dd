"""Hashes of one file: SHA-256/MD5 of the bytes, the metadata-free data hash, perceptual hashes."""

from __future__ import annotations

import hashlib
import struct

import imagehash
from PIL import Image

from ..model import Hashes

NAME = "hashes"

# One small square copy serves every perceptual hash: imagehash's own resizing of a large
# image (LANCZOS from full resolution) is what makes the usual Python chain slow.
HASH_COPY_SIZE = 64


def file_digests(data: bytes) -> tuple[str, str]:
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()


def jpeg_data_sha256(data: bytes, spans: tuple[tuple[int, int], ...]) -> str | None:
    """The scans from the first SOS to EOI with any APP/COM segments among them left out:
    identical for copies that differ only in their metadata."""
    if not spans:
        return None
    digest = hashlib.sha256()
    for start, end in spans:
        digest.update(memoryview(data)[start:end])
    return digest.hexdigest()


def png_data_sha256(data: bytes) -> str | None:
    """The concatenated IDAT chunk payloads, as ExifTool's ImageDataHash takes them."""
    digest = hashlib.sha256()
    pos, found = 8, False
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if pos + 12 + length > len(data):
            break
        if kind == b"IDAT":
            digest.update(memoryview(data)[pos + 8 : pos + 8 + length])
            found = True
        elif kind == b"IEND":
            break
        pos += 12 + length
    return digest.hexdigest() if found else None


def perceptual(preview: Image.Image, image_data_sha256: str | None) -> Hashes:
    small = preview.resize((HASH_COPY_SIZE, HASH_COPY_SIZE), Image.Resampling.BOX)
    gray = small.convert("L")
    return Hashes(
        phash=str(imagehash.phash(gray)),
        dhash=str(imagehash.dhash(gray)),
        whash=str(imagehash.whash(gray)),
        colorhash=str(imagehash.colorhash(small)),
        image_data_sha256=image_data_sha256,
    )
