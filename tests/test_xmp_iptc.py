"""XMP read with a hardened XML parser, its edit history as time sources, and IPTC-IIM."""

from __future__ import annotations

import io
import struct
from datetime import datetime
from pathlib import Path

from PIL import Image

from kyctriage.probes import iptc, xmp
from kyctriage.probes.timestamps import collect
from kyctriage.scanning.ingest import Source
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import probe_source

from .conftest import DATA

REFERENCE = datetime(2030, 1, 1)

PACKET = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xap="http://ns.adobe.com/xap/1.0/"
    xmlns:mm="http://ns.adobe.com/xap/1.0/mm/"
    xmlns:evt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xap:CreateDate="2021-03-14T10:15:00+01:00"
    xap:CreatorTool="Adobe Photoshop 22.0 (Windows)"
    tiff:Make="Canon" photoshop:DateCreated="2021-03-14T10:15:00">
   <exif:ISOSpeedRatings><rdf:Seq><rdf:li>400</rdf:li></rdf:Seq></exif:ISOSpeedRatings>
   <exif:DateTimeOriginal>2021-03-14T10:14:59</exif:DateTimeOriginal>
   <dc:title><rdf:Alt><rdf:li xml:lang="de">Titel</rdf:li>
     <rdf:li xml:lang="x-default">Title</rdf:li></rdf:Alt></dc:title>
   <dc:subject><rdf:Bag><rdf:li>passport</rdf:li><rdf:li>scan</rdf:li></rdf:Bag></dc:subject>
   <mm:History><rdf:Seq>
     <rdf:li rdf:parseType="Resource">
      <evt:action>created</evt:action><evt:when>2021-03-14T10:20:00+01:00</evt:when>
      <evt:softwareAgent>Adobe Photoshop 22.0 (Windows)</evt:softwareAgent></rdf:li>
     <rdf:li evt:action="saved" evt:when="2021-03-15T08:00:00+01:00" evt:changed="/"
      evt:softwareAgent="Adobe Photoshop 22.0 (Windows)"/>
   </rdf:Seq></mm:History>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>   \x00\x00"""


def test_every_property_under_the_usual_prefix() -> None:
    result = xmp.read_xmp(PACKET)
    found = dict(result.properties)
    assert result.problem is None
    assert found["xmp:CreateDate"] == "2021-03-14T10:15:00+01:00"  # declared as xap:
    assert found["tiff:Make"] == "Canon"
    assert found["exif:ISOSpeedRatings"] == "400"
    assert found["exif:DateTimeOriginal"] == "2021-03-14T10:14:59"
    assert found["dc:title"] == "Title"  # the x-default alternative
    assert found["dc:subject"] == "passport, scan"
    assert found["xmpMM:History[1]/stEvt:action"] == "created"
    assert found["xmpMM:History[2]/stEvt:when"] == "2021-03-15T08:00:00+01:00"


def test_history_events_become_time_sources_that_never_win() -> None:
    history = xmp.read_xmp(PACKET).history
    assert [(e.action, e.when) for e in history] == [
        ("created", "2021-03-14T10:20:00+01:00"),
        ("saved", "2021-03-15T08:00:00+01:00"),
    ]
    assert history[1].software_agent == "Adobe Photoshop 22.0 (Windows)"
    assert history[1].changed == "/"
    stamps, best = collect({}, {}, "x.jpg", None, REFERENCE, history=history)
    edits = [s for s in stamps if s.source == "xmp:History"]
    assert [s.value for s in edits] == ["2021-03-14T10:20:00+01:00", "2021-03-15T08:00:00+01:00"]
    assert edits[0].note == "edit history: created by Adobe Photoshop 22.0 (Windows)"
    assert edits[0].trust == "low"
    assert best is None


def test_hostile_packets_are_refused_with_a_reason() -> None:
    entity_bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    )
    meta = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    deep = meta + b"<a>" * 5000 + b"</a>" * 5000 + b"</x:xmpmeta>"
    wide = meta + b"<a/>" * 30000 + b"</x:xmpmeta>"
    for packet, reason in (
        (entity_bomb, "refused"),
        (external, "refused"),
        (deep, "deeper than"),
        (wide, "elements"),
        (b"<x:xmpmeta>" + b" " * (xmp.MAX_XMP_BYTES + 1), "over"),
        (b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed", "not well-formed"),
        (b"", "not well-formed"),
    ):
        result = xmp.read_xmp(packet)
        assert result.properties == () and result.history == ()
        assert result.problem and reason in result.problem, (packet[:40], result.problem)


def test_properties_and_values_are_bounded() -> None:
    items = "".join(f"<p:n{i}>{'v' * 900}</p:n{i}>" for i in range(xmp.MAX_PROPERTIES + 50))
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        f'xmlns:p="urn:x">{items}</rdf:Description></rdf:RDF></x:xmpmeta>'
    ).encode()
    found = xmp.read_xmp(packet).properties
    assert len(found) == xmp.MAX_PROPERTIES
    assert all(len(v) == xmp.MAX_VALUE_CHARS and k.startswith("p:n") for k, v in found)


def _dataset(number: int, value: bytes, record: int = 2) -> bytes:
    return struct.pack(">BBBH", 0x1C, record, number, len(value)) + value


def _app13(block: bytes) -> bytes:
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(block))
    resource += block + b"\x00" * (len(block) % 2)
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def _jpeg_with(segment: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), "gray").save(out, "JPEG")
    data = out.getvalue()
    return data[:2] + segment + data[2:]


def _probe(tmp_path: Path, data: bytes):  # type: ignore[no-untyped-def]
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    source = Source(root=str(tmp_path), path=path.name, fs_path=str(path))
    options = ScanOptions(roots=(str(tmp_path),), workers=1, in_process=True)
    return probe_source(source, options, REFERENCE)


def test_iptc_dates_byline_and_caption(tmp_path: Path) -> None:
    block = (
        _dataset(90, b"\x1b%G", record=1)
        + _dataset(55, b"20190214")
        + _dataset(60, b"101112+0200")
        + _dataset(62, b"20190213")
        + _dataset(80, "Zoë Photographer".encode())
        + _dataset(120, b"<script>alert(1)</script>")
        + _dataset(25, b"kyc")
        + _dataset(25, b"leak")
    )
    record = _probe(tmp_path, _jpeg_with(_app13(block)))
    assert record.status == "ok"
    assert dict(record.iptc) == {
        "DateCreated": "2019:02:14",
        "TimeCreated": "10:11:12+02:00",
        "DigitalCreationDate": "2019:02:13",
        "By-line": "Zoë Photographer",
        "Caption-Abstract": "<script>alert(1)</script>",
        "Keywords": "kyc, leak",
    }
    stamps = {s.source: s for s in record.timestamps}
    assert stamps["iptc:DateCreated"].value == "2019-02-14T10:11:12+02:00"
    assert stamps["iptc:DigitalCreationDate"].note == "date only"
    assert record.best_time is not None and record.best_time.source == "iptc:DateCreated"


def test_iptc_walk_stops_at_broken_data() -> None:
    good = _dataset(80, b"Someone")
    extended = struct.pack(">BBBH", 0x1C, 2, 120, 0x8002) + struct.pack(">H", 4) + b"cap!"
    assert iptc.read_iptc(good + extended) == (("By-line", "Someone"), ("Caption-Abstract", "cap!"))
    assert iptc.read_iptc(good + struct.pack(">BBBH", 0x1C, 2, 120, 0x8009)) == (
        ("By-line", "Someone"),
    )
    assert iptc.read_iptc(good + b"\x00junk") == (("By-line", "Someone"),)
    truncated = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", 1000) + good
    assert iptc.photoshop_resources(truncated) == {0x0404: good}
    assert iptc.photoshop_resources(b"8BIM\x04\x04\xff") == {}


def test_real_files_agree_with_exiftool() -> None:
    """exiftool 12.x on these files: app13-multiple.jpg DateCreated 2019:10:14,
    TimeCreated 15:00:20+00:00; the Photoshop CC file's By-line and XMP lens."""
    record = _probe_path(DATA / "exif" / "pillow" / "app13-multiple.jpg")
    assert dict(record.iptc)["DateCreated"] == "2019:10:14"
    assert dict(record.iptc)["TimeCreated"] == "15:00:20+00:00"
    other = _probe_path(DATA / "exif" / "pillow" / "invalid-exif-without-x-resolution.jpg")
    assert dict(other.iptc)["By-line"] == "JOE STEMMER PHOTO"
    assert dict(other.xmp)["exifEX:LensModel"] == "E 10-18mm F4 OSS"


def _probe_path(path: Path):  # type: ignore[no-untyped-def]
    source = Source(root=str(path.parent), path=path.name, fs_path=str(path))
    options = ScanOptions(roots=(str(path.parent),), workers=1, in_process=True)
    return probe_source(source, options, REFERENCE)
