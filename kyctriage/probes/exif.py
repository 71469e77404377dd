"""EXIF tags under the names and in the value forms that `exiftool -n -json` prints."""

from __future__ import annotations

import io
import logging
import math
import re
import struct
import warnings
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from exifread.core.exif_header import ExifHeader
from exifread.tags.fields import FLOAT_FIELD_TYPES, RATIO_FIELD_TYPES, SIGNED_FIELD_TYPES
from exifread.tags.makernote import canon
from exifread.utils import Ratio
from PIL import Image

from kyctriage.model import ExifValue, Gps

NAME = "exif"

# exifread logs every oddity of hostile files at WARNING; the record carries what matters.
logging.getLogger("exifread").setLevel(logging.CRITICAL)

# exifread group -> exiftool family-1 group
GROUPS = {
    "Image": "IFD0",
    "EXIF": "ExifIFD",
    "GPS": "GPS",
    "Interoperability": "InteropIFD",
    "Thumbnail": "IFD1",
}

# Tag ids whose exiftool name differs from the EXIF specification name that exifread and
# Pillow use. Keyed by (exiftool group, tag id) where the id means different things per IFD.
EXIFTOOL_NAMES: dict[tuple[str, int], str] = {
    ("IFD0", 0x0101): "ImageHeight",
    ("IFD1", 0x0101): "ImageHeight",
    ("IFD0", 0x0132): "ModifyDate",
    ("IFD1", 0x0132): "ModifyDate",
    ("IFD1", 0x0201): "ThumbnailOffset",
    ("IFD1", 0x0202): "ThumbnailLength",
    ("IFD0", 0x0201): "ThumbnailOffset",
    ("IFD0", 0x0202): "ThumbnailLength",
    ("ExifIFD", 0x8827): "ISO",
    ("ExifIFD", 0x9004): "CreateDate",
    ("ExifIFD", 0x9204): "ExposureCompensation",
    ("ExifIFD", 0xA002): "ExifImageWidth",
    ("ExifIFD", 0xA003): "ExifImageHeight",
    ("ExifIFD", 0xA000): "FlashpixVersion",
    ("ExifIFD", 0xA405): "FocalLengthIn35mmFormat",
    ("ExifIFD", 0xA432): "LensInfo",
    ("ExifIFD", 0xA431): "SerialNumber",
    ("ExifIFD", 0xA430): "OwnerName",
    ("ExifIFD", 0x9010): "OffsetTime",
    ("ExifIFD", 0x9011): "OffsetTimeOriginal",
    ("ExifIFD", 0x9012): "OffsetTimeDigitized",
    ("ExifIFD", 0xA420): "ImageUniqueID",
    ("ExifIFD", 0x8830): "SensitivityType",
    ("ExifIFD", 0x8832): "RecommendedExposureIndex",
    ("ExifIFD", 0xA401): "CustomRendered",
    ("ExifIFD", 0xA434): "LensModel",
    ("ExifIFD", 0xA433): "LensMake",
    ("ExifIFD", 0xA435): "LensSerialNumber",
    ("ExifIFD", 0x9290): "SubSecTime",
    ("ExifIFD", 0x9291): "SubSecTimeOriginal",
    ("ExifIFD", 0x9292): "SubSecTimeDigitized",
    ("ExifIFD", 0xA20E): "FocalPlaneXResolution",
    ("ExifIFD", 0xA20F): "FocalPlaneYResolution",
    ("ExifIFD", 0xA210): "FocalPlaneResolutionUnit",
    ("ExifIFD", 0xA217): "SensingMethod",
    ("ExifIFD", 0xA300): "FileSource",
    ("ExifIFD", 0xA301): "SceneType",
    ("ExifIFD", 0x9286): "UserComment",
    ("ExifIFD", 0x927C): "MakerNoteUnknown",
    ("IFD0", 0x9C9B): "XPTitle",
    ("IFD0", 0x9C9C): "XPComment",
    ("IFD0", 0x9C9D): "XPAuthor",
    ("IFD0", 0x9C9E): "XPKeywords",
    ("IFD0", 0x9C9F): "XPSubject",
    ("IFD0", 0x8298): "Copyright",
    ("IFD0", 0x02BC): "ApplicationNotes",
    ("IFD0", 0x83BB): "IPTC-NAA",
    ("IFD0", 0x8773): "ICC_Profile",
    ("IFD0", 0xC4A5): "PrintIM",
    ("InteropIFD", 0x0001): "InteropIndex",
    ("InteropIFD", 0x0002): "InteropVersion",
    ("InteropIFD", 0x1000): "RelatedImageFileFormat",
    ("InteropIFD", 0x1001): "RelatedImageWidth",
    ("InteropIFD", 0x1002): "RelatedImageHeight",
    ("GPS", 0x001D): "GPSDateStamp",
    ("GPS", 0x0000): "GPSVersionID",
}

# Pointers to other IFDs: exiftool follows them and does not list them as tags.
POINTER_TAGS = {0x8769, 0x8825, 0xA005, 0x014A, 0x927C}

# Tags stored as UNDEFINED bytes that exiftool prints as text.
_VERSION_TAGS = {"ExifVersion", "FlashpixVersion", "InteropVersion"}
_COMMENT_TAGS = {"UserComment", "GPSProcessingMethod", "GPSAreaInformation"}
_XP_TAGS = {"XPTitle", "XPComment", "XPAuthor", "XPKeywords", "XPSubject"}
_TRIMMED_TAGS = {"Make", "Model", "Software", "Artist"}  # cameras pad these to a fixed width
_SINGLE_BYTE_VALUES = {"FileSource", "SceneType"}

MAX_STRING_CHARS = 65536

ASCII, BYTE, UNDEFINED, RATIONAL, FLOAT = "ascii", "byte", "undefined", "rational", "float"


@dataclass(frozen=True)
class RawTag:
    group: str  # exiftool family-1 group
    tag_id: int
    spec_name: str  # the EXIF specification's name, as exifread and Pillow give it
    kind: str  # ASCII, BYTE (any integer type), UNDEFINED, RATIONAL or FLOAT
    values: Any  # str for ASCII, else a list


@dataclass(frozen=True)
class ExifResult:
    tags: tuple[tuple[str, ExifValue], ...]
    gps: Gps | None
    orientation: int | None
    has_thumbnail: bool
    partial: bool
    problem: str | None
    groups: tuple[tuple[str, str], ...] = ()  # tag name -> the exiftool group it came from


def exiftool_name(group: str, tag_id: int, spec_name: str) -> str:
    name = EXIFTOOL_NAMES.get((group, tag_id))
    if name:
        return name
    if spec_name.startswith("Tag 0x"):
        return f"Exif_0x{tag_id:04x}"
    return spec_name


def _number(value: float) -> int | float | str:
    """A number as exiftool prints it: integers bare, others to 10 significant digits."""
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else "undef")
    if isinstance(value, int) or float(value).is_integer():
        return int(value)
    return float(f"{value:.10g}")


number_value = _number


def _ratio(value: Any) -> float | str:
    num, den = (value.numerator, value.denominator) if hasattr(value, "numerator") else value
    if den == 0:
        return "undef" if num == 0 else "inf"
    return float(num / den)


def _join(values: list[Any]) -> str:
    return " ".join(str(_number(v)) if not isinstance(v, str) else v for v in values)


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return text.split("\x00", 1)[0][:MAX_STRING_CHARS]


# "ASCII\0\0\0", eight NULs or blanks (a common mistake), or a NUL right after "ASCII".
_ASCII_CODE = re.compile(rb"(ASCII)?(\x00|[\x00 ]+$)")


def _comment(values: list[int]) -> str:
    """UserComment and kin: an 8-byte character code, then the text, trailing blanks dropped."""
    raw = bytes(values)
    code, body = raw[:8], raw[8:]
    if len(raw) < 8:
        text = raw.decode("utf-8", "replace")
    elif _ASCII_CODE.match(code):
        text = body.split(b"\x00", 1)[0].decode("utf-8", "replace")
    elif code in (b"UNICODE\x00", b"UNICODE "):
        # Writers disagree on the byte order; the zero bytes of Latin text give it away.
        big_endian = body[:2] == b"\xfe\xff" or (
            body[:2] != b"\xff\xfe" and body[0::2].count(0) > body[1::2].count(0)
        )
        text = body.decode("utf-16-be" if big_endian else "utf-16-le", "replace")
        text = text.removeprefix("\ufeff").split("\x00", 1)[0]
    elif re.fullmatch(rb"JIS[\x00 ]{5}", code):
        text = body.decode("iso2022_jp", "replace")
    else:  # an unknown code is kept as part of the text; exiftool's JSON drops the NULs
        text = raw.replace(b"\x00", b"").decode("utf-8", "replace")
    return text.rstrip(" ")[:MAX_STRING_CHARS]


def _gps_coordinate(values: list[Any]) -> float | str:
    parts = [_ratio(v) for v in values[:3]]
    if any(isinstance(p, str) for p in parts):
        return ""  # exiftool gives up on a coordinate with an inf or undef part
    degrees = 0.0
    for part, scale in zip(parts, (1, 60, 3600), strict=False):
        degrees += float(part) / scale
    return degrees


def _gps_time(values: list[Any]) -> str | None:
    parts = [_ratio(v) for v in values[:3]]
    if len(parts) < 3 or any(isinstance(p, str) for p in parts):
        return None
    total = (float(parts[0]) * 60 + float(parts[1])) * 60 + float(parts[2])
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    whole = int(seconds)
    nanos = int((seconds - whole) * 1e9 + 0.5)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    return f"{int(hours):02d}:{int(minutes):02d}:{whole:02d}{fraction}"


def convert(name: str, tag: RawTag) -> ExifValue | None:
    """One tag's value as `exiftool -n` prints it (its ValueConv), or None to leave it out."""
    values = tag.values
    if tag.kind == ASCII:
        text = _text(values)
        return text.rstrip(" \t\n\r\f\v") if name in _TRIMMED_TAGS else text
    if not values:
        return None
    if name in ("GPSLatitude", "GPSLongitude", "GPSDestLatitude", "GPSDestLongitude"):
        return _gps_coordinate(values)
    if name == "GPSTimeStamp":
        return _gps_time(values)
    if tag.kind == UNDEFINED:
        return _undefined(name, values)
    if name in _XP_TAGS:
        return bytes(values).decode("utf-16-le", "replace").rstrip("\x00")[:MAX_STRING_CHARS]
    if tag.kind == RATIONAL:
        numbers = [_ratio(v) for v in values]
        if name in ("ApertureValue", "MaxApertureValue") and not isinstance(numbers[0], str):
            return _number(2 ** (float(numbers[0]) / 2))
        if name == "ShutterSpeedValue" and not isinstance(numbers[0], str):
            value = float(numbers[0])
            return _number(2 ** (-value)) if abs(value) < 100 else 0
    else:
        numbers = [v[0] if isinstance(v, tuple) else v for v in values]
    if len(numbers) == 1:
        single = numbers[0]
        return single if isinstance(single, str) else _number(single)
    return _join(numbers)


def _undefined(name: str, values: list[int]) -> ExifValue | None:
    if name in _VERSION_TAGS:
        return bytes(values).decode("ascii", "replace")
    if name in _COMMENT_TAGS:
        return _comment(values)
    if name in _SINGLE_BYTE_VALUES:
        return values[0]
    if name == "ComponentsConfiguration" or name == "GPSVersionID":
        return " ".join(str(v) for v in values)
    return f"(Binary data {len(values)} bytes, use -b option to extract)"


# Values past the end of the data that are still read as exifread reads them (zeros); a field
# claiming more is cut to what the data holds.
MAX_PAST_END = 64


class BoundedHeader(ExifHeader):
    """exifread believes an IFD's entry count and reads up to 65,535 entries of zeros past the
    end of the data (0.2 s for a 2 KB file, found by fuzzing): here the count is cut, in this
    private copy of the block, to the entries the data holds."""

    def __init__(self, tiff: bytes) -> None:
        self.block = io.BytesIO(tiff)
        super().__init__(self.block, tiff[:1].decode("latin-1"), 0, 0, False, False, False)
        self.size = len(tiff)
        self.problem: str | None = None
        self._view = self.block.getbuffer()  # what s2n reads, the cut counts included

    def s2n(self, offset: int, length: int, signed: bool = False) -> int:
        """exifread's s2n on the in-memory block: a slice and one precompiled struct instead
        of a seek, a read and a format string per number (800 numbers in a camera's EXIF)."""
        unpack = _UNPACKERS.get((self.endian == "I", length, signed))
        if unpack is None:
            raise ValueError(f"unexpected unpacking length: {length}")
        start = self.offset + offset
        if start < 0:
            raise ValueError(f"negative seek value {start}")  # as the file's seek() said
        buf = self._view[start : start + length]
        # exifread's answer for a value cut off by the end of the data
        return unpack(buf)[0] if len(buf) == length else 0

    def _process_field(
        self, tag_name: str, count: int, field_type: int, type_length: int, offset: int
    ) -> list[Any]:
        """exifread's loop of one s2n per value, as one unpack of the whole array where it
        lies inside the data (a MakerNote's arrays are most of a camera's 800 numbers): the
        same values in the same order; exifread's own loop for floats and for the rest."""
        start = self.offset + offset
        held = (len(self._view) - start) // type_length if start >= 0 and type_length > 0 else 0
        if start >= 0 and count > max(held, 0) + MAX_PAST_END:
            # exifread reads a value cut off by the end as 0, one s2n each: 8 million zeros for
            # a 700-byte maker note (14 s, found by fuzzing). The values the data holds, a note.
            self.problem = f"a field claims {count} values, the data holds {max(held, 0)}"
            count = max(held, 0)
        ratio = field_type in RATIO_FIELD_TYPES
        size = 4 if ratio else type_length  # a ratio is two 4-byte numbers
        numbers = count * (2 if ratio else 1)
        if (
            size not in (1, 2, 4)
            or field_type in FLOAT_FIELD_TYPES
            or not (count < 1000 or tag_name in ("MakerNote", canon.CAMERA_INFO_TAG_NAME))
            or start < 0
            or start + numbers * size > len(self._view)
        ):
            return super()._process_field(tag_name, count, field_type, type_length, offset)
        order = "<" if self.endian == "I" else ">"
        code = _CODES[size, field_type in SIGNED_FIELD_TYPES]
        values = struct.unpack_from(f"{order}{numbers}{code}", self._view, start)
        if ratio:
            return [Ratio(a, b) for a, b in zip(values[0::2], values[1::2], strict=True)]
        return list(values)

    def dump_ifd(self, ifd: int, ifd_name: str, *args: object, **kwargs: object) -> None:
        entries, fits = self.s2n(ifd, 2), max(0, (self.size - ifd - 2) // 12)
        if entries > fits and ifd + 2 <= self.size:
            self.problem = f"an IFD claims {entries} entries, the data holds {fits}"
            with self.block.getbuffer() as view:
                view[ifd : ifd + 2] = struct.pack("<H" if self.endian == "I" else ">H", fits)
        super().dump_ifd(ifd, ifd_name, *args, **kwargs)


# exifread's struct codes per (byte length, signed). Its "L" and "l" with a "<" or ">" prefix
# are 4 bytes, so an 8-byte value fails to unpack there as here (struct.error), and the reads
# agree number for number; the batched array reader takes only the 1-, 2- and 4-byte codes.
_CODES = {
    (1, False): "B", (1, True): "b", (2, False): "H", (2, True): "h",
    (4, False): "I", (4, True): "i", (8, False): "L", (8, True): "l",
}  # fmt: skip
_UNPACKERS = {
    (little, length, signed): struct.Struct(("<" if little else ">") + code).unpack
    for little in (True, False)
    for (length, signed), code in _CODES.items()
}


def _exifread_tags(tiff: bytes) -> tuple[list[RawTag], str | None]:
    """Every IFD exifread can read; on a failure, what it read before failing."""
    header = BoundedHeader(tiff)
    problem = None
    raw: list[RawTag] = []
    try:
        for index, ifd in enumerate(header.list_ifd()[:2]):
            header.dump_ifd(ifd, "Image" if index == 0 else "Thumbnail")
        exif_offset = header.tags.get("Image ExifOffset")
        if exif_offset and exif_offset.values:
            header.dump_ifd(exif_offset.values[0], "EXIF")
            raw.extend(_user_comment(tiff, exif_offset.values[0]))
    except RecursionError:
        problem = "EXIF IFD pointers form a loop"
    except Exception as exc:  # exifread raises many kinds on malformed data
        problem = f"malformed EXIF ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})"
    problem = problem or header.problem
    for key, tag in header.tags.items():
        prefix, _, spec_name = key.partition(" ")
        group = GROUPS.get(prefix)
        if group is None or not hasattr(tag, "field_type"):
            continue
        raw.append(
            RawTag(group, tag.tag, spec_name, _exifread_kind(int(tag.field_type)), tag.values)
        )
    return raw, problem


def _ifd_entry(tiff: bytes, ifd: int, wanted: int) -> tuple[int, int, int] | None:
    """(field type, count, where the value starts) of one IFD entry, or None."""
    order = "<" if tiff[:1] == b"I" else ">"
    try:
        (count,) = struct.unpack_from(order + "H", tiff, ifd)
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            tag, kind, length, where = struct.unpack_from(order + "HHLL", tiff, entry)
            if tag == wanted:
                size = length * {3: 2, 4: 4, 5: 8, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}.get(kind, 1)
                return kind, length, entry + 8 if size <= 4 else where
    except struct.error:
        pass
    return None


def exif_entry(tiff: bytes, wanted: int) -> tuple[int, int, int] | None:
    """An entry of the Exif IFD (IFD0's 0x8769 pointer), read directly: exifread reads some
    only with every MakerNote (five times the work per file)."""
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    order = "<" if tiff[:1] == b"I" else ">"
    try:
        (ifd0,) = struct.unpack_from(order + "L", tiff, 4)
        pointer = _ifd_entry(tiff, ifd0, 0x8769)
        if pointer is None or pointer[1] != 1:
            return None
        (exif_ifd,) = struct.unpack_from(order + "L", tiff, pointer[2])
    except struct.error:
        return None
    return _ifd_entry(tiff, exif_ifd, wanted)


def _user_comment(tiff: bytes, ifd: int) -> list[RawTag]:
    """exifread skips UserComment unless it also reads every MakerNote (five times the work
    per file), so that one entry of the Exif IFD is read here."""
    order = "<" if tiff[:1] == b"I" else ">"
    try:
        (count,) = struct.unpack_from(order + "H", tiff, ifd)
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            tag, _, length, where = struct.unpack_from(order + "HHLL", tiff, entry)
            if tag == 0x9286:
                start = entry + 8 if length <= 4 else where
                value = tiff[start : start + min(length, 4 * MAX_STRING_CHARS)]
                return [RawTag("ExifIFD", tag, "UserComment", UNDEFINED, list(value))]
    except struct.error:
        pass
    return []


def _exifread_kind(field_type: int) -> str:
    if field_type == 2:
        return ASCII
    if field_type == 7:
        return UNDEFINED
    if field_type in (5, 10):
        return RATIONAL
    if field_type in (11, 12):
        return FLOAT
    return BYTE


def _pillow_tags(tiff: bytes) -> list[RawTag]:
    """A second, independent parser for blocks exifread gives up on."""
    from PIL import ExifTags

    exif = Image.Exif()
    # Pillow warns ("Corrupt EXIF data") on the blocks that reach this fallback; a warning
    # would escape the probe (printed in a scan, an exception under an "error" filter).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exif.load(tiff if tiff.startswith(b"Exif") else b"Exif\x00\x00" + tiff)
        raw = []
        ifds = [("IFD0", dict(exif), ExifTags.TAGS)]
        for group, pointer, names in (
            ("ExifIFD", ExifTags.IFD.Exif, ExifTags.TAGS),
            ("GPS", ExifTags.IFD.GPSInfo, ExifTags.GPSTAGS),
            ("InteropIFD", ExifTags.IFD.Interop, ExifTags.TAGS),
            ("IFD1", ExifTags.IFD.IFD1, ExifTags.TAGS),
        ):
            try:
                ifds.append((group, dict(exif.get_ifd(pointer)), names))
            except Exception:  # a broken sub-IFD must not lose the others
                continue
    for group, tags, names in ifds:
        for tag_id, value in tags.items():
            raw.append(_pillow_raw(group, tag_id, names.get(tag_id, f"Tag 0x{tag_id:04X}"), value))
    return raw


def _pillow_raw(group: str, tag_id: int, spec_name: str, value: Any) -> RawTag:
    if isinstance(value, str):
        return RawTag(group, tag_id, spec_name, ASCII, value)
    if isinstance(value, bytes):
        return RawTag(group, tag_id, spec_name, UNDEFINED, list(value))
    values = list(value) if isinstance(value, tuple) else [value]
    if values and all(hasattr(v, "numerator") and not isinstance(v, int) for v in values):
        pairs = [Fraction(0) if v.denominator == 0 else v for v in values]
        return RawTag(
            group, tag_id, spec_name, RATIONAL, [(v.numerator, v.denominator) for v in pairs]
        )
    if any(isinstance(v, float) for v in values):
        return RawTag(group, tag_id, spec_name, FLOAT, values)
    return RawTag(group, tag_id, spec_name, BYTE, values)


def read_exif(tiff: bytes) -> ExifResult:
    """Parse a TIFF-structured EXIF block; keep what can be read when it is malformed."""
    if tiff.startswith(b"Exif\x00\x00"):
        tiff = tiff[6:]
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return ExifResult((), None, None, False, True, "EXIF block without a TIFF header")
    raw, problem = _exifread_tags(tiff)
    if problem or not raw:
        try:
            fallback = _pillow_tags(tiff)
        except Exception:
            fallback = []
        known = {(t.group, t.tag_id) for t in raw}
        raw.extend(t for t in fallback if (t.group, t.tag_id) not in known)
    tags: dict[str, ExifValue] = {}
    by_name: dict[str, RawTag] = {}
    groups: dict[str, str] = {}
    for tag in sorted(raw, key=lambda t: t.group == "IFD1"):  # IFD0 wins over IFD1, as in exiftool
        if tag.tag_id in POINTER_TAGS and tag.group in ("IFD0", "ExifIFD"):
            continue
        name = exiftool_name(tag.group, tag.tag_id, tag.spec_name)
        if name in tags:
            continue
        try:
            value = convert(name, tag)
        except (ValueError, TypeError, IndexError, OverflowError, ZeroDivisionError):
            continue
        if value is not None:
            tags[name] = value
            by_name[name] = tag
            groups[name] = tag.group
    orientation, thumbnail = tags.get("Orientation"), tags.get("ThumbnailLength")
    return ExifResult(
        tags=tuple(sorted(tags.items())),
        gps=_composite_gps(tags),
        orientation=orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None,
        has_thumbnail=isinstance(thumbnail, int) and thumbnail > 0,
        partial=problem is not None,
        problem=problem,
        groups=tuple(sorted(groups.items())),
    )


def _composite_gps(tags: dict[str, ExifValue]) -> Gps | None:
    """exiftool's Composite GPSLatitude/Longitude/Altitude: signed by their Ref tags."""
    lat, lon, alt = tags.get("GPSLatitude"), tags.get("GPSLongitude"), tags.get("GPSAltitude")
    lat = _signed(lat, tags.get("GPSLatitudeRef"), "S")
    lon = _signed(lon, tags.get("GPSLongitudeRef"), "W")
    altitude = float(alt) if isinstance(alt, (int, float)) else None
    if altitude is not None and tags.get("GPSAltitudeRef") == 1:
        altitude = -altitude
    if lat is None and lon is None and altitude is None:
        return None
    return Gps(latitude=lat, longitude=lon, altitude=altitude)


def _signed(value: ExifValue | None, ref: ExifValue | None, negative: str) -> float | None:
    if not isinstance(value, (int, float)):
        return None
    number = float(value)
    if isinstance(ref, str) and ref.strip().upper().startswith(negative):
        return -number
    return number
