"""The merged metadata view: one value per tag name as `exiftool -n -json` picks it, each with
the group `exiftool -G1` names (IFD0, ExifIFD, GPS, XMP-xmp, IPTC, Canon, Apple, Composite...)."""

from __future__ import annotations

import re

from kyctriage.model import ExifValue, Gps, MetadataValue
from kyctriage.probes import exif, makernotes

NAME = "merged"

# XMP property -> exiftool's tag name, where the two differ.
XMP_NAMES = {
    "exif:ISOSpeedRatings": "ISO",
    "exif:PixelXDimension": "ExifImageWidth",
    "exif:PixelYDimension": "ExifImageHeight",
    "tiff:ImageLength": "ImageHeight",
    "tiff:DateTime": "ModifyDate",
    "exif:DateTimeDigitized": "CreateDate",
}
_XMP_DATE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$"
)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_RATIONAL = re.compile(r"^([+-]?\d+)/(\d+)$")
_EXIF_GROUPS = ("IFD0", "ExifIFD", "GPS", "InteropIFD")
# Values of an overriding block that exiftool reads from a priority-0 table (Canon.pm's
# FocalLength, which CIFF's 0x1029 points to): they never replace an EXIF value.
_PRIORITY_0 = {"CIFF:FocalLength"}


def xmp_value(text: str) -> ExifValue:
    """An XMP value as exiftool -n prints it: numbers as numbers, rationals divided, dates in
    EXIF form (2021:03:14 10:15:00+01:00)."""
    date = _XMP_DATE.match(text)
    if date:
        year, month, day, hour, minute, second, fraction, zone = date.groups()
        out = f"{year}:{month}:{day}"
        if hour is not None:
            out += f" {hour}:{minute}:{second or '00'}{fraction or ''}"
        return out + ("+00:00" if zone == "Z" else zone or "")
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    ratio = _RATIONAL.match(text)
    if ratio and int(ratio.group(2)):
        return exif.number_value(int(ratio.group(1)) / int(ratio.group(2)))
    return text


def merge(
    exif_tags: tuple[tuple[str, ExifValue], ...],
    exif_groups: tuple[tuple[str, str], ...],
    gps: Gps | None,
    size: tuple[int, int] | None,
    xmp: tuple[tuple[str, str], ...],
    iptc: tuple[tuple[str, str], ...],
    notes: tuple[tuple[str, ExifValue], ...],
    late: tuple[str, ...] = (),
) -> tuple[MetadataValue, ...]:
    """exiftool's precedence, simplified to the order of the blocks: the image's size (File),
    the Composite GPS position (signed), the blocks that replace EXIF values (Kodak's note, and
    the `late` groups: a block of equal priority found after the EXIF segment), the main EXIF
    IFDs, XMP, IPTC, the other maker notes, the thumbnail's IFD1, then the other Composite tags.
    (exiftool keeps the later of two tags of equal priority; the priority-0 ones, such as
    Casio's ISO, XMP's tiff: and exif: properties and IFD1, never replace an earlier value.)"""
    chosen: dict[str, MetadataValue] = {}

    def offer(group: str, name: str, value: ExifValue | None) -> None:
        if value is not None and name not in chosen:
            chosen[name] = MetadataValue(group, name, value)

    if size:
        offer("File", "ImageWidth", size[0])
        offer("File", "ImageHeight", size[1])
    if gps:
        offer("Composite", "GPSLatitude", gps.latitude)
        offer("Composite", "GPSLongitude", gps.longitude)
        offer("Composite", "GPSAltitude", gps.altitude)
    overriding = {"Kodak", *late}
    for key, value in notes:
        group, _, name = key.partition(":")
        if group in overriding and key not in _PRIORITY_0:
            offer(group, name, value)
    groups = dict(exif_groups)
    for name, value in exif_tags:
        if groups.get(name, "IFD0") in _EXIF_GROUPS:
            offer(groups.get(name, "IFD0"), name, value)
    for prop, text in xmp:
        if "/" in prop or "[" in prop:
            continue  # struct fields and list items stay in the record's xmp block
        prefix, _, local = prop.partition(":")
        offer(f"XMP-{prefix}", XMP_NAMES.get(prop, local), xmp_value(text))
    iptc_values = dict(iptc)
    for name, text in iptc:
        offer("IPTC", name, text)
    for key, value in notes:
        group, _, name = key.partition(":")
        offer(group, name, value)
    for name, value in exif_tags:
        if groups.get(name) == "IFD1":
            offer("IFD1", name, value)
    if iptc_values.get("DateCreated"):
        created = iptc_values["DateCreated"]
        if iptc_values.get("TimeCreated"):
            created += " " + iptc_values["TimeCreated"]
        offer("Composite", "DateTimeCreated", created)
        offer("Composite", "DateTimeOriginal", created)
    offer("Composite", "ISO", makernotes.composite_iso(dict(notes)))
    return tuple(sorted(chosen.values(), key=lambda v: v.name))
