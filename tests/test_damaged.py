"""Damaged files read as far as they go: the JPEG walk resyncs after a broken segment, and a
HEIF the decoder refuses still gives its size, EXIF and XMP from the box structure. The
figures compared are what exiftool 12 prints for the same damaged bytes."""

from __future__ import annotations

import struct
import time
from datetime import datetime
from pathlib import Path

import pytest

from kyctriage.errors import FileProblem
from kyctriage.model import FileRecord
from kyctriage.probes import heif, jpeg
from kyctriage.scanning.ingest import Source
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import probe_source

from .conftest import DATA

FLOWER = DATA / "exif" / "pillow" / "flower.jpg"  # Canon PowerShot S40, 480 x 360
HEIC = DATA / "exif" / "pillow-heif"


def _probe(tmp_path: Path, name: str, data: bytes) -> FileRecord:
    path = tmp_path / name
    path.write_bytes(data)
    source = Source(root=str(tmp_path), path=name, fs_path=str(path))
    options = ScanOptions(roots=(str(tmp_path),), workers=1, in_process=True)
    return probe_source(source, options, datetime(2030, 1, 1))


def _broken_flower() -> bytes:
    """An impossible APP1 length before the EXIF, garbage before the DQT, the scan cut."""
    data = FLOWER.read_bytes()
    app1 = data.find(b"\xff\xe1")
    data = data[:app1] + b"\xff\xe1\x00\x01junk" + data[app1:]
    dqt = data.find(b"\xff\xdb")
    return data[:dqt] + b"garbage!" + data[dqt : len(data) // 2]


def test_the_strict_walk_still_refuses_and_the_salvage_walk_resyncs() -> None:
    data = _broken_flower()
    with pytest.raises(FileProblem):
        jpeg.parse(data)
    segments = jpeg.parse(data, salvage=True)
    assert segments.frame == (480, 360, 3)
    assert segments.exif_tiff is not None and segments.exif_tiff.startswith(b"II*\x00")
    assert len(segments.problems) == 2
    assert "is impossible; resynced at byte" in segments.problems[0]
    assert "broken marker structure" in segments.problems[1]
    assert segments.info.quant_tables  # the DQT after the garbage was read


def test_a_damaged_jpeg_keeps_its_size_and_dates_and_stays_an_error(tmp_path: Path) -> None:
    record = _probe(tmp_path, "broken.jpg", _broken_flower())
    assert record.status == "error"
    assert record.image is not None and (record.image.width, record.image.height) == (480, 360)
    assert record.exif_value("Model") == "Canon PowerShot S40"
    assert record.best_time is not None and record.best_time.value == "2003-12-14T12:01:44"
    assert record.hashes is None
    assert any(w.startswith("jpeg: read past the damage: size from SOF, exif from APP1")
               for w in record.warnings)  # fmt: skip


def test_a_segment_cut_by_the_end_of_the_file_is_read_to_the_end() -> None:
    data = FLOWER.read_bytes()
    exif = data.find(b"Exif\x00\x00")
    cut = data[: exif + 2000]
    with pytest.raises(FileProblem):
        jpeg.parse(cut)
    segments = jpeg.parse(cut, salvage=True)
    assert segments.exif_tiff is not None and len(segments.exif_tiff) == 2000 - 6
    assert segments.problems == (
        f"segment length {struct.unpack_from('>H', data, exif - 2)[0]} at byte {exif - 4} "
        "runs past the end; read to the end",
    )


def test_nothing_readable_is_still_a_clear_problem() -> None:
    with pytest.raises(FileProblem, match="no SOF"):
        jpeg.parse(b"\xff\xd8\xff\xfe\x00\x04hi\xff\xd9", salvage=True)


@pytest.mark.parametrize(
    ("name", "size", "model", "original"),
    [
        ("L_exif_xmp_iptc.heic", (64, 64), "ILCE-7SM3", "2020-09-14T11:09:34.641000-05:00"),
        ("xiaomi.heic", (2592, 1944), "M2012K11AG", "2023-04-27T19:44:18.732000"),
        ("empty_icc.heic", (1025, 900), "iPhone XS", "2021-07-06T16:08:14.164000+03:00"),
    ],
)
def test_a_heif_the_decoder_refuses_gives_its_boxes(
    tmp_path: Path, name: str, size: tuple[int, int], model: str, original: str
) -> None:
    """The codec configuration box renamed: libheif refuses the file, exiftool still prints
    the ispe size, Model and DateTimeOriginal, and so does the record."""
    broken = (HEIC / name).read_bytes().replace(b"hvcC", b"xxxx")
    record = _probe(tmp_path, name, broken)
    assert record.status == "error" and record.error and "HEIF" in record.error
    assert record.image is not None and record.image.format == "HEIF"
    assert (record.image.width, record.image.height) == size
    assert record.exif_value("Model") == model
    assert record.best_time is not None and record.best_time.value == original
    assert any(w.startswith("heif: read past the damage: size from ispe, exif from item")
               for w in record.warnings)  # fmt: skip


def test_heif_boxes_agree_with_the_decoder_on_whole_files() -> None:
    for path in sorted(HEIC.glob("*.heic")):
        boxes = heif.read_boxes(path.read_bytes())
        assert boxes is not None and boxes.size is not None and boxes.exif is not None, path
        assert boxes.exif[:4] in (b"II*\x00", b"MM\x00*")


def test_hostile_boxes_stay_bounded() -> None:
    huge = struct.pack(">I4s", 1, b"meta") + struct.pack(">Q", 1 << 62)
    endless = struct.pack(">I4s", 0, b"meta") + b"\x00" * 4 + struct.pack(">I4s", 9, b"iloc")
    many = struct.pack(">I4s", 8 + 8 * 100_000, b"meta") + b"\x00" * 4
    many += struct.pack(">I4s", 8, b"free") * 100_000
    iloc = b"\x00" * 4 + bytes([0x44, 0x00]) + struct.pack(">H", 1)  # one item, 4-byte fields
    iloc += struct.pack(">HHH", 1, 0, 60000) + b"\xff" * 16  # extents past the data
    bad_iloc = struct.pack(">I4s", 8 + 4 + 8 + len(iloc), b"meta") + b"\x00" * 4
    bad_iloc += struct.pack(">I4s", 8 + len(iloc), b"iloc") + iloc
    # Found by fuzzing (2 s for 674 bytes): zero-width offset and length fields and 65,535
    # extents per item made a loop that read nothing.
    zero = (
        b"\x00" * 4
        + b"\x00\x00"
        + struct.pack(">H", 4000)
        + struct.pack(">HHH", 1, 0, 0xFFFF) * 4000
    )
    zero_iloc = struct.pack(">I4s", 8 + 4 + 8 + len(zero), b"meta") + b"\x00" * 4
    zero_iloc += struct.pack(">I4s", 8 + len(zero), b"iloc") + zero
    for data in (b"", b"\x00" * 7, huge, endless, many, bad_iloc, zero_iloc):
        started = time.monotonic()
        boxes = heif.read_boxes(data)
        assert boxes is None or (boxes.exif is None and boxes.size is None)
        assert time.monotonic() - started < 0.5


def test_the_salvaging_walk_stops_after_a_bounded_number_of_breaks() -> None:
    """Each kind of break counts toward MAX_RESYNCS, not only resyncs: 100,000 EOIs before a
    frame made 100,000 notes (a record's warnings grow with the file), and the fuzzer's input
    with 50 resyncs and a cut segment made 51."""
    frame = b"\xff\xc0\x00\x11\x08\x00\x10\x00\x10\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    found = Path(__file__).parent / "data" / "fuzz" / "metadata-jpeg-51-breaks.bin"
    for data in (b"\xff\xd8" + frame + b"\xff\xd9" * 100_000 + frame, found.read_bytes()[1:]):
        try:
            segments = jpeg.parse(data, salvage=True)
        except FileProblem as exc:
            assert "not read further" in str(exc)
        else:
            assert len(segments.problems) <= jpeg.MAX_RESYNCS
