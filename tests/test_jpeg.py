"""The JPEG marker walk: encoder facts and the metadata-free image data hash."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from kyctriage.errors import FileProblem
from kyctriage.probes import hashes, jpeg


def _photo(size=(96, 64)) -> Image.Image:
    rng = np.random.default_rng(7)
    base = rng.normal(128, 40, (size[1] // 8, size[0] // 8, 3))
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).resize(size)


def _jpeg(image: Image.Image, **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", **kw)
    return out.getvalue()


@pytest.mark.parametrize("quality", [30, 50, 75, 87, 95])
def test_quality_of_libjpeg_files_is_exact(quality):
    info = jpeg.parse(_jpeg(_photo(), quality=quality)).info
    assert info.quality == quality and info.quality_exact


@pytest.mark.parametrize(("subsampling", "expected"), [(0, "4:4:4"), (1, "4:2:2"), (2, "4:2:0")])
def test_subsampling(subsampling, expected):
    info = jpeg.parse(_jpeg(_photo(), subsampling=subsampling)).info
    assert info.subsampling == expected


def test_progressive_markers_and_comments():
    data = _jpeg(_photo(), progressive=True, comment=b"pipeline-42")
    info = jpeg.parse(data).info
    assert info.progressive
    assert info.markers[0] == "SOI" and info.markers[-1] == "EOI"
    assert info.markers.count("SOS") > 1  # a progressive file has several scans
    assert "COM" in info.markers and info.comments == ("pipeline-42",)
    assert info.has_jfif and not info.has_exif
    assert len(info.quant_tables) == 2 and all(len(t) == 64 for t in info.quant_tables)


def test_gray_and_trailing_bytes():
    data = _jpeg(_photo().convert("L")) + b"PK\x03\x04appended"
    info = jpeg.parse(data).info
    assert info.subsampling == "gray"
    assert info.trailing_bytes == len(b"PK\x03\x04appended")


def test_image_data_hash_ignores_metadata_but_not_pixels():
    image = _photo()
    exif = Image.Exif()
    exif[0x010F] = "SomeMake"
    plain = _jpeg(image, quality=90)
    tagged = _jpeg(image, quality=90, exif=exif.tobytes(), comment=b"hello")
    other = _jpeg(image, quality=80)
    digest = [
        hashes.jpeg_data_sha256(d, jpeg.parse(d).image_data_spans) for d in (plain, tagged, other)
    ]
    assert plain != tagged
    assert digest[0] == digest[1]
    assert digest[0] != digest[2]


def test_exif_and_xmp_payloads_are_found():
    exif = Image.Exif()
    exif[0x010F] = "SomeMake"
    xmp = b'<x:xmpmeta><rdf:Description xmp:CreateDate="2018-02-11T10:00:00"/></x:xmpmeta>'
    data = _jpeg(_photo(), exif=exif.tobytes(), xmp=xmp)
    segments = jpeg.parse(data)
    assert segments.exif_tiff.startswith((b"II*\x00", b"MM\x00*"))
    assert segments.xmp == xmp
    assert segments.info.has_exif and segments.info.has_xmp


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8",
        b"\xff\xd8\xff\xdb\x00\x05\x00",
        b"\xff\xd8\xff\xe1\xff\xff" + b"\x00" * 10,
        b"\xff\xd8garbage",
        b"\xff\xd8\xff\xdb\x00\x43\x00" + b"\x01" * 10,
    ],
)
def test_broken_structures_raise_one_clear_problem(data):
    with pytest.raises(FileProblem):
        jpeg.parse(data)


# The definition scan_end_at implements: 0xFF followed by anything but a stuffed zero, a
# restart marker or a fill byte.
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _scan_end_by_regex(data: bytes, pos: int) -> int:
    found = _MARKER.search(data, pos)
    return found.start() if found else len(data)


# Bytes that matter at a scan's end, and two that do not.
_SCAN_BYTES = st.sampled_from([0xFF, 0xFF, 0x00, 0xD0, 0xD7, 0xD8, 0xD9, 0xC4, 0xCF, 0x12])


@given(st.lists(_SCAN_BYTES, max_size=300).map(bytes), st.integers(0, 300))
def test_scan_end_is_the_first_marker_whatever_the_window(data, pos):
    pos = min(pos, len(data))
    with pytest.MonkeyPatch.context() as patch:
        for window in (1, 2, 7, 64, jpeg._SCAN_WINDOW):
            patch.setattr(jpeg, "_SCAN_WINDOW", window)
            assert jpeg.scan_end_at(data, pos) == _scan_end_by_regex(data, pos)


def test_restart_markers_and_fill_bytes_stay_inside_the_scan():
    data = _jpeg(_photo((256, 192)), restart_marker_blocks=1)
    scan = data.index(b"\xff\xda")
    assert sum(data.count(bytes([0xFF, rst])) for rst in range(0xD0, 0xD8)) > 100
    segments = jpeg.parse(data)
    assert segments.image_data_spans == ((scan, len(data) - 2),)  # up to the EOI
    assert segments.info.markers[-1] == "EOI" and segments.info.trailing_bytes == 0
    # Fill bytes before the EOI are still part of the scan; a marker after them ends it.
    filled = data[:-2] + b"\xff\xff\xff\xd9"
    assert jpeg.scan_end_at(filled, scan + 20) == len(filled) - 2
    # A file of nothing but restart markers costs one vectorised pass, not a loop per marker.
    assert jpeg.scan_end_at(b"\xff\xd0" * 500_000, 0) == 1_000_000
