"""Maker notes and the merged view, checked against what exiftool 12.57 prints for the files."""

from __future__ import annotations

import io
import struct
from datetime import datetime
from pathlib import Path

from PIL import Image

from kyctriage.model import FileRecord
from kyctriage.probes import jpeg, makernotes, vendor
from kyctriage.probes.merged import xmp_value
from kyctriage.scanning.ingest import Source
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import probe_source

from .conftest import CORPUS, DATA


def _probe(path: Path) -> FileRecord:
    source = Source(root=str(path.parent), path=path.name, fs_path=str(path))
    options = ScanOptions(roots=(str(path.parent),), workers=1, in_process=True)
    return probe_source(source, options, datetime(2030, 1, 1))


def test_apple_maker_note_under_exiftool_names() -> None:
    """exiftool -n -Apple:all on the iPhone 14 Pro Max MPO."""
    notes = dict(_probe(DATA / "exif" / "pillow" / "frame_size.mpo").makernotes)
    assert notes["Apple:MakerNoteVersion"] == 15
    assert notes["Apple:AETarget"] == 176
    assert notes["Apple:LivePhotoVideoIndex"] == 5251076
    assert notes["Apple:FocusPosition"] == 61
    assert notes["Apple:AccelerationVector"] == "0.08724741632 -0.6422743797 -0.7979112864"
    assert notes["Apple:HDRHeadroom"] == 0.8432090282


def test_canon_composite_iso_as_exiftool_computes_it(corpus: Path) -> None:
    """flower.jpg: CameraISO 100; canon-ixus.jpg: BaseISO 64.84 x AutoISO 100 / 100."""
    flower = {m.name: m for m in _probe(DATA / "exif" / "pillow" / "flower.jpg").metadata}
    assert (flower["ISO"].group, flower["ISO"].value) == ("Composite", 100)
    ixus = {m.name: m for m in _probe(CORPUS / "exif-org" / "canon-ixus.jpg").metadata}
    assert ixus["ISO"].group == "Composite"
    assert abs(float(ixus["ISO"].value) - 64.8419777325505) < 1e-9  # type: ignore[arg-type]


def test_composite_iso_of_hostile_raw_values_is_none() -> None:
    """Found by the metadata fuzz target: a BaseISO of 40,000 overflowed math.exp."""
    assert makernotes.composite_iso({"Canon:BaseISO": 40_000, "Canon:AutoISO": 0}) is None
    assert makernotes.composite_iso({"Canon:BaseISO": 160, "Canon:AutoISO": -90_000}) is None


def test_merged_precedence_exif_then_xmp_then_iptc(tmp_path: Path) -> None:
    """The same names in EXIF, XMP and IPTC: exiftool -n -json prints Make and
    DateTimeOriginal from EXIF, CreateDate from XMP, DateCreated from XMP-photoshop over
    IPTC, and DateTimeCreated as the Composite of IPTC's date and time."""
    exif = Image.Exif()
    exif[0x010F] = "ExifMake"
    exif.get_ifd(0x8769)[0x9003] = "2001:01:01 01:01:01"
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
        b'02/22-rdf-syntax-ns#"><rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        b'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        b'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" tiff:Make="XmpMake" '
        b'exif:DateTimeOriginal="2002-02-02T02:02:02" xmp:CreateDate="2003-03-03T03:03:03Z" '
        b'photoshop:DateCreated="2005-05-05" exif:FNumber="28/10"/></rdf:RDF></x:xmpmeta>'
    )
    iptc = b"".join(
        struct.pack(">BBBH", 0x1C, 2, number, len(value)) + value
        for number, value in ((55, b"20040404"), (60, b"040404+0000"))
    )
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "JPEG", exif=exif, xmp=xmp)
    data = out.getvalue()
    app13 = b"Photoshop 3.0\x00" + resource
    data = data[:2] + b"\xff\xed" + struct.pack(">H", len(app13) + 2) + app13 + data[2:]
    (tmp_path / "p.jpg").write_bytes(data)
    view = {m.name: (m.group, m.value) for m in _probe(tmp_path / "p.jpg").metadata}
    assert view["Make"] == ("IFD0", "ExifMake")
    assert view["DateTimeOriginal"] == ("ExifIFD", "2001:01:01 01:01:01")
    assert view["CreateDate"] == ("XMP-xmp", "2003:03:03 03:03:03+00:00")
    assert view["DateCreated"] == ("XMP-photoshop", "2005:05:05")
    assert view["DateTimeCreated"] == ("Composite", "2004:04:04 04:04:04+00:00")
    assert view["FNumber"] == ("XMP-exif", 2.8)
    assert view["ImageWidth"] == ("File", 8)


def test_xmp_values_in_exiftool_form() -> None:
    assert xmp_value("2016-12-03T11:17") == "2016:12:03 11:17:00"
    assert xmp_value("2019-10-17T16:55:20.5-07:00") == "2019:10:17 16:55:20.5-07:00"
    assert xmp_value("1/60") == 0.01666666667  # exiftool -n: 10 significant digits
    assert xmp_value("400") == 400
    assert xmp_value("1.0") == 1.0
    assert xmp_value("<b>") == "<b>"


def test_hostile_notes_stay_bounded() -> None:
    tiff = bytearray(b"MM\x00*\x00\x00\x00\x08")
    tiff += struct.pack(">H", 1) + struct.pack(">HHII", 0x8769, 4, 1, 26) + b"\x00" * 4
    note = b"Apple iOS\x00\x00\x01MM" + struct.pack(">H", 0xFFFF)
    note += struct.pack(">HHII", 0x0011, 2, 0xFFFFFFF, 0xFFFFFFF) * 3
    tiff += struct.pack(">H", 1) + struct.pack(">HHII", 0x927C, 7, len(note), 44) + b"\x00" * 4
    tiff += note
    assert makernotes.read_makernotes(bytes(tiff), "Apple") == ()
    assert makernotes.read_makernotes(b"MM\x00*\x00\x00", "Canon") == ()
    assert makernotes.read_makernotes(bytes(tiff[:30]), "NIKON") == ()


def test_camera_blocks_outside_exif(corpus: Path) -> None:
    """exiftool 12.57 -n: Olympus D320L's [picture info] (APP12), Canon PowerShot A5's CIFF
    heap (APP0) and Kodak DC240's maker note, which exiftool prefers to the EXIF values."""
    olympus = {m.name: m for m in _probe(CORPUS / "exif-org" / "olympus-d320l.jpg").metadata}
    assert olympus["DateTimeOriginal"].value == "1998:10:29 22:06:59"
    assert olympus["DateTimeOriginal"].group == "PictureInfo"
    assert (olympus["ExposureTime"].value, olympus["FNumber"].value) == (0.033363, 2.8)
    canon = {m.name: m for m in _probe(CORPUS / "exif-org" / "sony-powershota5.jpg").metadata}
    assert (canon["Make"].group, canon["Make"].value) == ("CIFF", "Canon")
    assert canon["Model"].value == "Canon PowerShot A5"
    assert canon["DateTimeOriginal"].value == "2000:10:27 22:56:26"
    assert canon["FocalLength"].value == 5
    kodak = {m.name: m for m in _probe(CORPUS / "exif-org" / "kodak-dc240.jpg").metadata}
    assert (kodak["ExposureTime"].group, kodak["ExposureTime"].value) == ("Kodak", 0.03111)
    assert (kodak["FNumber"].value, kodak["ISO"].value) == (3.9, 65535)


def test_canon_composite_iso_of_hostile_raw_values_is_none_not_an_error() -> None:
    from kyctriage.probes.makernotes import composite_iso

    # Found by the probe fuzz target: AutoISO 32767 overflowed math.exp; a superscript
    # CameraISO passed str.isdigit and made int() raise.
    assert composite_iso({"Canon:BaseISO": 160, "Canon:AutoISO": 32767}) is None
    assert composite_iso({"Canon:BaseISO": -32768, "Canon:AutoISO": 0}) is None
    assert composite_iso({"Canon:CameraISO": "²²"}) is None
    assert composite_iso({"Canon:CameraISO": "400"}) == 400


EXIFTOOL_IMAGES = Path(__file__).parent / "data" / "exif" / "exiftool"


def _merged(path: Path) -> dict[str, tuple[str, object]]:
    return {m.name: (m.group, m.value) for m in _probe(path).metadata}


def test_maker_notes_of_more_makers_as_exiftool_reads_them() -> None:
    """exiftool 12.57 -n on its own test images: Kodak's "KDK" note (whose exposure, aperture
    and ISO replace the EXIF ones), Casio's type 1 and type 2 ("QVC", byte order guessed)
    ISO, the lens in Olympus's Equipment IFD, Casio's QVCI capture time."""
    kodak = _merged(EXIFTOOL_IMAGES / "Kodak.jpg")
    assert kodak["ExposureTime"] == ("Kodak", 0.00464)
    assert (kodak["FNumber"], kodak["ISO"]) == (("Kodak", 6.73), ("Kodak", 108))
    assert _merged(EXIFTOOL_IMAGES / "Casio.jpg")["ISO"] == ("Casio", 64)
    assert _merged(EXIFTOOL_IMAGES / "Casio2.jpg")["ISO"] == ("Casio", 50)
    # a little-endian file whose QVC note is big-endian and longer than its APP1 segment
    assert _merged(DATA / "exif" / "piexif" / "L01.jpg")["ISO"] == ("Casio", 50)
    lens = _merged(DATA / "exif" / "piexif" / "r_pen.jpg")["LensModel"]
    assert lens == ("Olympus", "OLYMPUS M.14-42mm F3.5-5.6 II R")
    qvci = _merged(EXIFTOOL_IMAGES / "CasioQVCI.jpg")["DateTimeOriginal"]
    assert qvci == ("Casio", "1998:10:24 12:08:57")


def test_a_ciff_heap_after_the_exif_segment_replaces_its_camera_but_not_its_focal_length() -> None:
    """exiftool keeps the later of two tags of equal priority: ExifTool.jpg has EXIF (Fujifilm)
    first and a Canon CIFF heap after it, so Make, Model and the capture time are Canon's; the
    CIFF focal length comes from a priority-0 table and leaves the EXIF one in place."""
    values = _merged(EXIFTOOL_IMAGES / "ExifTool.jpg")
    assert values["Make"] == ("CIFF", "Canon")
    assert values["Model"] == ("CIFF", "Canon PowerShot A5")
    assert values["DateTimeOriginal"] == ("CIFF", "1998:05:01 21:33:18")
    assert values["FocalLength"] == ("ExifIFD", 6)


def test_a_cut_file_takes_its_size_from_the_ciff_heap() -> None:
    data = (EXIFTOOL_IMAGES / "ExifTool.jpg").read_bytes()
    notes = dict(vendor.ciff(next(p for k, p in jpeg.parse(data).vendor if k == "CIFF")))
    assert (notes["CIFF:ImageWidth"], notes["CIFF:ImageHeight"]) == (512, 384)


def test_hostile_casio_and_olympus_notes_stay_bounded() -> None:
    for header in (b"QVC\x00\x00\x00", b"", b"OLYMPUS\x00II\x03\x00"):
        note = header + struct.pack(">H", 0xFFFF) + struct.pack(">HHII", 0x2010, 13, 1, 0) * 40
        tiff = bytearray(b"MM\x00*\x00\x00\x00\x08")
        tiff += struct.pack(">H", 1) + struct.pack(">HHII", 0x8769, 4, 1, 26) + b"\x00" * 4
        tiff += struct.pack(">H", 1) + struct.pack(">HHII", 0x927C, 7, 0xFFFFFF, 44)
        tiff += b"\x00" * 4 + note
        for make in ("CASIO", "OLYMPUS"):
            found = makernotes.read_makernotes(bytes(tiff), make)
            assert len(found) <= makernotes.MAX_ENTRIES


def test_picture_info_numbers_in_other_scripts_are_not_numbers() -> None:
    """ "9096¹8819".isdigit() is True and int() refuses it (found by the metadata fuzz target):
    a superscript in Olympus's TimeDate or Shutter is no value, not a failed file."""
    for key in (b"TimeDate", b"Shutter"):
        block = b"[picture info]\r\n" + key + "=9096\u00b98819".encode("latin-1") + b"\r\n"
        assert vendor.picture_info(block) == []
    found = (DATA / "fuzz" / "metadata-pictureinfo-superscript.bin").read_bytes()
    vendor.by_kind("APP12", found[1:])
