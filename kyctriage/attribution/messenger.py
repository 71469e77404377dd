"""Recognise pictures re-encoded by a messenger, whose metadata was stripped in transit."""

from __future__ import annotations

from kyctriage.model import FileRecord

# Telegram re-encodes photos (not files sent as documents): the longest side capped at 1280 px,
# or 2560 px in its large-photo mode; JPEG at quality 87 progressive (Desktop) or 80 (Android);
# the server keeps no EXIF, XMP or ICC.
TELEGRAM_SIDES = (1280, 2560)
TELEGRAM_QUALITIES = (80, 87)


def detect(record: FileRecord) -> str | None:
    """A short statement of how the file passed through a messenger, or None."""
    if record.telegram is not None and record.telegram.kind == "photo":
        return "telegram re-encode (the export lists it as a photo, which Telegram re-encodes)"
    image = record.image
    if image is None or image.jpeg is None:
        return None
    jpeg = image.jpeg
    stripped = not (jpeg.has_exif or jpeg.has_xmp or jpeg.has_icc or jpeg.has_iptc)
    longest = max(image.width, image.height)
    if stripped and longest in TELEGRAM_SIDES and jpeg.quality in TELEGRAM_QUALITIES:
        mode = "progressive" if jpeg.progressive else "baseline"
        return (
            f"telegram-like re-encode (longest side {longest} px, quality {jpeg.quality} "
            f"{mode}, no EXIF/XMP/ICC)"
        )
    return None
