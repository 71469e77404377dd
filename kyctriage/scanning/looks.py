"""A scanned picture seen again for verification: the same bytes, decoded as the scan did."""

from __future__ import annotations

import hashlib
import os

from kyctriage.errors import FileProblem
from kyctriage.match.entries import Entry
from kyctriage.match.stars import Pictures
from kyctriage.match.verify import Features, features
from kyctriage.probes import decode
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.read import read_file

# The preview verification decodes (JPEG draft: 512-1023 px): the scan's 256 px preview shows
# a document on a scanned page at ~140 px, where one template's customers cannot be told
# apart (bench/kyc_lookalikes.py: their scans agreed in every block); at 512 each pair of
# them has plainly differing blocks (portrait, name, numbers).
VERIFY_PREVIEW = 512


def pictures(options: ScanOptions) -> Pictures:
    """Features of a record's picture, read again from where the scan found it. Only the
    candidates of a near match are read (the worker's preview is not kept: ~200 KB an image).
    None when the file is gone, is not the file scanned (SHA-256 differs), or was a member of
    an archive whose unpacked copy is gone: the match then stays unverified, never joined."""

    def look(e: Entry) -> Features | None:
        fs_path = e.root if os.path.isfile(e.root) else os.path.join(e.root, e.path)
        try:
            if os.path.isfile(e.root) and os.path.basename(e.root) != e.path:
                return None  # a member of an archive root
            content = read_file(fs_path, options.max_file_bytes)
            if hashlib.sha256(content.data).hexdigest() != e.sha256:
                return None
            return features_of(content.data, options)
        except FileProblem:
            return None

    return look


def features_of(data: bytes, options: ScanOptions) -> Features:
    """The verification features of a file's bytes, decoded as the scan did (its format
    sniffed, EXIF orientation applied) at the VERIFY_PREVIEW draft. Raises FileProblem."""
    size = max(options.preview_size, VERIFY_PREVIEW)
    return features(decode.decode(data, decode.sniff(data), options.max_pixels, size).preview)
