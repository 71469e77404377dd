"""EXIF value conversions that trip up a plain mapping, checked against what exiftool 12.57 prints
(`exiftool -n -json` on these very blocks, wrapped in a JPEG); and hostile blocks never raise."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kyctriage.probes.exif import read_exif

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10
SIZES = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4, RATIONAL: 8, UNDEFINED: 1, SRATIONAL: 8}
Entry = tuple[int, int, object]  # tag id, type, value (bytes, int or list of pairs)


def _payload(kind: int, value: object, order: str) -> tuple[int, bytes]:
    if isinstance(value, bytes):
        return len(value) // SIZES[kind], value
    if kind in (RATIONAL, SRATIONAL):
        pairs = value if isinstance(value, list) else [value]
        code = "l" if kind == SRATIONAL else "L"
        return len(pairs), b"".join(struct.pack(order + code * 2, *p) for p in pairs)
    code = {SHORT: "H", LONG: "L"}[kind]
    return 1, struct.pack(order + code, value)


def tiff(ifd0: list[Entry], exif: list[Entry] = (), gps: list[Entry] = (), big: bool = False):
    """A TIFF block with IFD0 and optional Exif and GPS sub-IFDs, as cameras write them."""
    order = ">" if big else "<"
    ifd0 = list(ifd0)
    if exif:
        ifd0.append((0x8769, LONG, 0))
    if gps:
        ifd0.append((0x8825, LONG, 0))
    out = bytearray((b"MM\x00*" if big else b"II*\x00") + struct.pack(order + "L", 8))

    def write(entries: list[Entry], pointers: dict[int, int]) -> int:
        start = len(out)
        entries = sorted(entries)
        out.extend(struct.pack(order + "H", len(entries)))
        table, data_at = len(out), start + 2 + 12 * len(entries) + 4
        out.extend(bytes(12 * len(entries) + 4))
        for i, (tag, kind, value) in enumerate(entries):
            count, payload = _payload(kind, pointers.get(tag, value), order)
            if len(payload) <= 4:
                field = payload.ljust(4, b"\x00")
            else:
                field = struct.pack(order + "L", data_at)
                out.extend(payload + b"\x00" * (len(payload) % 2))
                data_at = len(out)
            out[table + 12 * i : table + 12 * i + 12] = (
                struct.pack(order + "HHL", tag, kind, count) + field
            )
        return start

    # Sub-IFDs first so that IFD0 can point at them; IFD0 is then patched in as the first IFD.
    pointers = {}
    for tag, entries in ((0x8769, exif), (0x8825, gps)):
        if entries:
            pointers[tag] = write(list(entries), {})
    first = write(ifd0, pointers)
    out[4:8] = struct.pack(order + "L", first)
    return bytes(out)


def tags(block: bytes) -> dict[str, object]:
    return dict(read_exif(block).tags)


def test_apex_values_become_f_numbers_and_seconds() -> None:
    exif = [
        (0x9202, RATIONAL, (4, 1)),  # ApertureValue
        (0x9205, RATIONAL, (3, 1)),  # MaxApertureValue
        (0x9201, SRATIONAL, (6, 1)),  # ShutterSpeedValue
    ]
    found = tags(tiff([], exif))
    assert found["ApertureValue"] == 4
    assert found["MaxApertureValue"] == pytest.approx(2.82842712474619, rel=1e-9)
    assert found["ShutterSpeedValue"] == 0.015625


def test_negative_shutter_speed_value_is_a_long_exposure() -> None:
    assert tags(tiff([], [(0x9201, SRATIONAL, (-2, 1))]))["ShutterSpeedValue"] == 4


@pytest.mark.parametrize("big", [False, True])
def test_gps_refs_south_west_and_below_sea_level_sign_the_composite(big: bool) -> None:
    gps = [
        (0x0001, ASCII, b"S\x00"),
        (0x0002, RATIONAL, [(40, 1), (26, 1), (4630, 100)]),
        (0x0003, ASCII, b"W\x00"),
        (0x0004, RATIONAL, [(79, 1), (58, 1), (5612, 100)]),
        (0x0005, BYTE, bytes([1])),  # GPSAltitudeRef 1: below sea level
        (0x0006, RATIONAL, (1234, 10)),
    ]
    result = read_exif(tiff([], gps=gps, big=big))
    assert result.gps is not None
    assert result.gps.latitude == pytest.approx(-40.4461944444444, rel=1e-12)
    assert result.gps.longitude == pytest.approx(-79.9822555555556, rel=1e-12)
    assert result.gps.altitude == pytest.approx(-123.4)
    found = dict(result.tags)
    assert found["GPSLatitude"] == pytest.approx(40.4461944444444, rel=1e-12)  # unsigned here
    assert (found["GPSLatitudeRef"], found["GPSAltitudeRef"]) == ("S", 1)


def test_zero_denominators_read_as_exiftool_prints_them() -> None:
    exif = [(0x829A, RATIONAL, (1, 0)), (0x829D, RATIONAL, (0, 0)), (0x920A, RATIONAL, (0, 5))]
    found = tags(tiff([], exif))
    assert (found["ExposureTime"], found["FNumber"], found["FocalLength"]) == ("inf", "undef", 0)


def test_gps_coordinate_with_an_undefined_part_is_empty() -> None:
    gps = [(0x0001, ASCII, b"N\x00"), (0x0002, RATIONAL, [(40, 1), (0, 0), (0, 1)])]
    result = read_exif(tiff([], gps=gps))
    assert dict(result.tags)["GPSLatitude"] == ""
    assert result.gps is None


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"ASCII\x00\x00\x00Hello camera   ", "Hello camera"),
        (b"ASCII\x00\x00\x00first\x00garbage after the NUL", "first"),
        (b"\x00" * 8 + b"no code", "no code"),
        (b"        " + b"blank code", "blank code"),
        (b"UNICODE\x00" + "Zürich 2024".encode("utf-16-le"), "Zürich 2024"),
        (b"UNICODE\x00" + "Zürich 2024".encode("utf-16-be"), "Zürich 2024"),
        (b"BOGUS\x00\x00\x00text", "BOGUStext"),
    ],
)
def test_user_comment_character_codes(raw: bytes, text: str) -> None:
    assert tags(tiff([], [(0x9286, UNDEFINED, raw)]))["UserComment"] == text


def test_xp_tags_are_utf16_little_endian_whatever_the_byte_order() -> None:
    title = "Título ✓".encode("utf-16-le") + b"\x00\x00"
    found = tags(tiff([(0x9C9B, BYTE, title)], big=True))
    assert found["XPTitle"] == "Título ✓"


def test_make_model_software_drop_padding_but_other_text_keeps_it() -> None:
    ifd0 = [
        (0x010F, ASCII, b"RICOH      \x00"),
        (0x0110, ASCII, b"RDC-5300\x00"),
        (0x0131, ASCII, b"Ver 1.00   \x00"),
        (0x010E, ASCII, b"a description   \x00"),  # ImageDescription
    ]
    exif = [(0xA434, ASCII, b"GR LENS   \x00")]  # LensModel
    found = tags(tiff(ifd0, exif))
    assert (found["Make"], found["Model"], found["Software"]) == ("RICOH", "RDC-5300", "Ver 1.00")
    assert found["ImageDescription"] == "a description   "
    assert found["LensModel"] == "GR LENS   "


def test_exiftool_names_for_spec_names() -> None:
    exif = [
        (0x9003, ASCII, b"2024:01:02 03:04:05\x00"),
        (0x9004, ASCII, b"2024:01:02 03:04:06\x00"),
        (0x8827, SHORT, 400),
    ]
    found = tags(tiff([(0x0132, ASCII, b"2024:01:02 03:04:07\x00")], exif))
    assert found["DateTimeOriginal"] == "2024:01:02 03:04:05"
    assert found["CreateDate"] == "2024:01:02 03:04:06"
    assert found["ModifyDate"] == "2024:01:02 03:04:07"
    assert found["ISO"] == 400


def test_a_sub_ifd_pointing_past_the_end_keeps_ifd0() -> None:
    block = bytearray(tiff([(0x010F, ASCII, b"Canon\x00")], [(0x829A, RATIONAL, (1, 60))]))
    at = block.find(struct.pack("<HHL", 0x8769, LONG, 1))
    block[at + 8 : at + 12] = struct.pack("<L", 0x7FFFFFF0)
    result = read_exif(bytes(block))
    assert dict(result.tags)["Make"] == "Canon"
    assert "ExposureTime" not in dict(result.tags)


def test_a_value_offset_past_the_end_loses_only_that_tag() -> None:
    block = bytearray(tiff([(0x010F, ASCII, b"Canon\x00"), (0x0110, ASCII, b"A long model\x00")]))
    at = block.find(struct.pack("<HHL", 0x0110, ASCII, 13))
    block[at + 8 : at + 12] = struct.pack("<L", 0x7FFFFFF0)
    found = tags(bytes(block))
    assert found["Make"] == "Canon"
    assert found.get("Model") in (None, "")


def test_no_tiff_header_is_a_problem_not_an_exception() -> None:
    result = read_exif(b"Exif\x00\x00garbage")
    assert result.tags == () and result.problem


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=600),
    st.sampled_from([b"II*\x00\x08\x00\x00\x00", b"MM\x00*\x00\x00\x00\x08"]),
)
def test_random_blocks_never_raise(body: bytes, header: bytes) -> None:
    result = read_exif(header + body)
    assert isinstance(result.tags, tuple)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_real_blocks_never_raise(data: st.DataObject) -> None:
    block = bytearray(
        tiff(
            [(0x010F, ASCII, b"Canon\x00"), (0x0112, SHORT, 6)],
            [(0x829A, RATIONAL, (1, 60)), (0x9286, UNDEFINED, b"ASCII\x00\x00\x00hi")],
            [(0x0001, ASCII, b"N\x00"), (0x0002, RATIONAL, [(1, 1), (2, 1), (3, 1)])],
        )
    )
    for _ in range(data.draw(st.integers(1, 8))):
        block[data.draw(st.integers(8, len(block) - 1))] = data.draw(st.integers(0, 255))
    result = read_exif(bytes(block))
    assert isinstance(result.tags, tuple)


def test_an_entry_count_beyond_the_data_is_cut_to_what_the_data_holds(monkeypatch) -> None:
    # Found by fuzzing: exifread believes the count and reads 65,535 entries of zeros.
    from exifread.core import exif_header

    block = bytearray(tiff([(0x010F, ASCII, b"Canon\x00"), (0x0112, SHORT, 6)]))
    block[8:10] = struct.pack("<H", 60_000)
    calls = 0
    original = exif_header.ExifHeader._process_tag

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(exif_header.ExifHeader, "_process_tag", counted)
    result = read_exif(bytes(block))
    assert dict(result.tags)["Make"] == "Canon"
    assert result.partial and "claims 60000 entries" in (result.problem or "")
    assert calls < 10


@settings(max_examples=300, deadline=None)
@given(
    block=st.binary(min_size=8, max_size=64),
    offset=st.integers(-4, 70),
    length=st.sampled_from([1, 2, 3, 4, 8]),
    signed=st.booleans(),
)
def test_the_in_memory_s2n_reads_every_number_as_exifread_does(block, offset, length, signed):
    import io

    from exifread.core.exif_header import ExifHeader

    from kyctriage.probes.exif import BoundedHeader

    tiff = (b"II" if block[0] % 2 else b"MM") + block[2:]
    ours = BoundedHeader(tiff)
    theirs = ExifHeader(io.BytesIO(tiff), tiff[:1].decode(), 0, 0, False, False, False)

    def outcome(header: ExifHeader) -> object:
        try:
            return header.s2n(offset, length, signed)
        except (ValueError, struct.error) as exc:
            return type(exc)

    assert outcome(ours) == outcome(theirs)


@settings(max_examples=400, deadline=None)
@given(
    block=st.binary(min_size=8, max_size=200),
    offset=st.integers(-8, 210),
    count=st.integers(0, 60),
    field_type=st.integers(1, 12),
    name=st.sampled_from(["Image Make", "MakerNote", "MakerNote Tag 0x000D"]),
)
def test_the_batched_field_reader_reads_every_array_as_exifread_does(
    block, offset, count, field_type, name
):
    """One unpack per array where it fits, exifread's s2n loop where it does not: the same
    values (and the same failures) either way, cut-off and negative offsets included."""
    import io

    from exifread.core.exif_header import ExifHeader
    from exifread.tags.fields import FIELD_DEFINITIONS

    from kyctriage.probes.exif import BoundedHeader

    tiff = (b"II" if block[0] % 2 else b"MM") + block[2:]
    length = FIELD_DEFINITIONS[field_type][0]
    ours = BoundedHeader(tiff)
    theirs = ExifHeader(io.BytesIO(tiff), tiff[:1].decode(), 0, 0, False, False, False)

    def outcome(header: ExifHeader, method) -> object:  # type: ignore[no-untyped-def]
        try:
            return [repr(v) for v in method(header, name, count, field_type, length, offset)]
        except Exception as exc:  # noqa: BLE001 - the kind of failure must agree too
            return type(exc)

    assert outcome(ours, type(ours)._process_field) == outcome(theirs, ExifHeader._process_field)
