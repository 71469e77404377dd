"""Detect a file's format from its bytes and decode it once, to a small upright preview."""

from __future__ import annotations

import functools
import io
import re
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from PIL import Image

from kyctriage.errors import FileProblem


def require_codec(fmt: str) -> None:
    """Make Pillow able to open this sniffed format (loads pillow-heif for HEIF and AVIF), or
    raise FileProblem when it cannot."""
    if fmt in ("HEIF", "AVIF") and _pillow_heif() is None:
        raise FileProblem("HEIF/AVIF support (pillow-heif) is not installed")


@functools.cache
def _pillow_heif() -> ModuleType | None:
    """pillow-heif for HEIC/HEIF/AVIF phone photos, loaded with the first such file (~10 ms
    of start-up that a scan of JPEGs need not pay before its workers start); None without
    the wheel, so that a missing one degrades to one error per file."""
    try:
        import pillow_heif  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
        return None
    pillow_heif.register_heif_opener()
    return pillow_heif


# We check the declared pixel count ourselves before decoding and report it; Pillow's own
# limit would otherwise warn (89-179 MP) or raise with a message naming none of our limits.
Image.MAX_IMAGE_PIXELS = None

# Formats we hand to Pillow, keyed by what sniff() returns. Anything else is not decoded.
PILLOW_FORMATS = {
    "JPEG": ["JPEG"],
    "PNG": ["PNG"],
    "GIF": ["GIF"],
    "WEBP": ["WEBP"],
    "TIFF": ["TIFF"],
    "BMP": ["BMP"],
    "HEIF": ["HEIF"],
    "AVIF": ["AVIF", "HEIF"],
}

IMAGE_EXTENSIONS = {
    "JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"},
    "PNG": {".png"},
    "GIF": {".gif"},
    "WEBP": {".webp"},
    "TIFF": {".tif", ".tiff"},
    "BMP": {".bmp"},
    "HEIF": {".heic", ".heif", ".hif"},
    "AVIF": {".avif"},
}
ALL_IMAGE_EXTENSIONS = set().union(*IMAGE_EXTENSIONS.values())

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"heif"}


def sniff(data: bytes) -> str:
    """The format the content says it is; never the extension."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:2] == b"BM" and len(data) > 26:
        return "BMP"
    if head[4:8] == b"ftyp":
        brands = {head[i : i + 4] for i in range(8, min(len(head), 32), 4)}
        if b"avif" in brands or b"avis" in brands:
            return "AVIF"
        if brands & _HEIF_BRANDS:
            return "HEIF"
        return "MP4/QuickTime"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "ZIP"
    if head.startswith(b"%PDF"):
        return "PDF"
    if not data:
        return "empty"
    return _sniff_text(data[:4096])


def _sniff_text(head: bytes) -> str:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown binary"
    if "\x00" in text:
        return "unknown binary"
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html")) or "<script" in lowered:
        return "HTML text"
    if lowered.startswith(("{", "[")):
        return "JSON text"
    if lowered.startswith("<?xml") or lowered.startswith("<svg"):
        return "XML text"
    return "text"


@dataclass(frozen=True)
class Decoded:
    """The one decode of an image: the header facts and a small, upright RGB preview."""

    image: Image.Image  # opened image (header, info, EXIF); pixels not loaded at full size
    preview: Image.Image  # RGB, EXIF orientation applied, reduced scale where the codec allows
    full_size: tuple[int, int]  # as stored (what the header and exiftool report)
    frames: int
    warnings: tuple[str, ...] = ()  # what the codec warned about (malformed metadata)
    transposed: bool = False  # EXIF orientation 5-8: upright, width and height swap
    # With decode(working=True): the same decode at WORK_SIZE, upright RGB (the
    # preview is then derived from it); None otherwise.
    working: Image.Image | None = None

    def upright(self) -> Image.Image:
        """The whole decode, upright RGB: full size, or the reduced scale a JPEG was read at
        (at least WORK_SIZE a side where the file has it), for a closer look at part of the
        picture than the preview gives (a picture shown inside a screenshot)."""
        rgb = self.image.convert("RGB") if self.image.mode != "RGB" else self.image
        return _upright(rgb, _orientation(self.image))

    @property
    def upright_size(self) -> tuple[int, int]:
        """The full size the way the preview is turned."""
        width, height = self.full_size
        return (height, width) if self.transposed else (width, height)


# The size of verification's working copy (JPEG draft: 512-1023 px): the scan's 256 px
# preview shows a document on a scanned page at ~140 px, where one template's customers
# cannot be told apart (bench/kyc_lookalikes.py: their scans agreed in every block); at 512
# each pair of them has plainly differing blocks (portrait, name, numbers).
WORK_SIZE = 512


def decode(
    data: bytes, fmt: str, max_pixels: int, preview_size: int, working: bool = False
) -> Decoded:
    """Decode once: JPEG in draft mode (DCT scaling, so most of the decode is skipped), at
    the larger of preview_size and WORK_SIZE; the preview is a box reduction of that (the
    smaller DCT scale's block average, up to rounding). Always so, with or without the
    working copy, so that every path gives one preview and one set of hashes for a file."""
    formats = PILLOW_FORMATS.get(fmt)
    if formats is None:
        raise FileProblem(f"{fmt} is not an image format kyctriage decodes")
    require_codec(fmt)
    larger = max(preview_size, WORK_SIZE)
    # Pillow warns about malformed metadata (e.g. EXIF offsets past the end) while opening;
    # that is a finding about the file, not a reason to give up on its pixels.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            image = Image.open(io.BytesIO(data), formats=formats)
            width, height = image.size
            if width <= 0 or height <= 0:
                raise FileProblem(f"invalid dimensions {width} x {height}")
            if width * height > max_pixels:
                raise FileProblem(
                    f"declared size {width} x {height} = {width * height:,} pixels exceeds "
                    f"the limit of {max_pixels:,} (decompression-bomb protection)"
                )
            frames = getattr(image, "n_frames", 1)
            reduce = 1
            if fmt == "JPEG":
                reduce = _draft_scale(image.size, preview_size) // _draft_scale(image.size, larger)
                image.draft("RGB", (larger, larger))
                # The bytes are in memory already: one decoder call instead of one per 64 KiB
                # (42 for a phone photo, each copying what was left over); ~0.8 ms less.
                image.decodermaxblock = max(len(data), image.decodermaxblock)
            image.load()
            orientation = _orientation(image)
            # An RGB decode is the preview itself: a copy of it costs as much as the hashes.
            rgb = image.convert("RGB") if image.mode != "RGB" else image
            work = None
            if working:
                work = _upright(_fit(rgb, WORK_SIZE, owned=False), orientation)
            shown = rgb.reduce(reduce) if reduce > 1 else rgb
            owned = shown is not image and shown is not work
            preview = _upright(_fit(shown, preview_size, owned), orientation)
        except FileProblem:
            raise
        except Exception as exc:  # hostile data reaches many corners of the codecs
            raise FileProblem(f"cannot decode {fmt}: {_one_line(exc)}") from None
    notes = tuple(dict.fromkeys(f"pillow: {_one_line(w.message)}" for w in caught))
    return Decoded(
        image=image, preview=preview, full_size=(width, height), frames=frames, warnings=notes,
        transposed=orientation in _TRANSPOSING, working=work,
    )  # fmt: skip


def closer(data: bytes, fmt: str, size: int) -> Image.Image:
    """A JPEG that decode() read at a reduced DCT scale, decoded again at least `size` px a
    side where the file has it, upright RGB: a closer look at part of the picture (one it
    shows inside a screenshot) than the one decode's. Call it only on bytes decode() took
    (their size is within its limit). Raises FileProblem."""
    formats = PILLOW_FORMATS.get(fmt)
    if formats is None:
        raise FileProblem(f"{fmt} is not an image format kyctriage decodes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # decode() reported them
        try:
            image = Image.open(io.BytesIO(data), formats=formats)
            if fmt == "JPEG":
                image.draft("RGB", (size, size))
            image.load()
            rgb = image.convert("RGB") if image.mode != "RGB" else image
            return _upright(rgb, _orientation(image))
        except Exception as exc:  # hostile data reaches many corners of the codecs
            raise FileProblem(f"cannot decode {fmt}: {_one_line(exc)}") from None


def _draft_scale(size: tuple[int, int], wanted: int) -> int:
    """The DCT scale (1, 2, 4 or 8) Pillow's JPEG draft picks for this requested size."""
    scale = min(size[0] // wanted, size[1] // wanted)
    return next((s for s in (8, 4, 2) if scale >= s), 1)


def _fit(rgb: Image.Image, size: int, owned: bool) -> Image.Image:
    """At most twice `size` on each side (box filter); in place only when `owned`."""
    if rgb.width > size * 2 or rgb.height > size * 2:
        rgb = rgb if owned else rgb.copy()
        rgb.thumbnail((size * 2, size * 2), Image.Resampling.BOX)
    return rgb


def _upright(picture: Image.Image, orientation: int) -> Image.Image:
    return picture.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else picture


@dataclass(frozen=True)
class HeifStored:
    """A HEIF file's primary item as written, where pillow-heif's Pillow image differs: the
    plugin resets the EXIF and XMP orientation to 1 once libheif has rotated the pixels."""

    info: dict[str, Any]  # "exif" (TIFF block) and "xmp" as stored
    size: tuple[int, int]  # coded size (the ispe box, exiftool's ImageWidth/ImageHeight)


def heif_stored(data: bytes) -> HeifStored | None:
    """Parse the container again (no pixel decode) for the primary item as written."""
    pillow_heif = _pillow_heif()
    if pillow_heif is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            heif = pillow_heif.open_heif(io.BytesIO(data))
            primary = heif[heif.primary_index]
        width, height = primary.size
        # libheif reports the size after the item's crop (clap) and rotation (irot); undo them.
        steps = getattr(getattr(primary, "_c_image", None), "transformations", ())
        for step in reversed(steps):
            if step[0] == "irot" and step[1] in (90, 270):
                width, height = height, width
            elif step[0] == "clap" and len(step) >= 7:
                width, height = int(step[5]), int(step[6])
        return HeifStored(info=dict(primary.info), size=(width, height))
    except Exception:  # hostile containers: the plugin's view is still there
        return None


# The transposition that makes an image with this EXIF orientation upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_TRANSPOSING = frozenset({5, 6, 7, 8})


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # malformed EXIF must not stop the decode; the exif probe reports it
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# Pillow names the in-memory stream in some messages ("<_io.BytesIO object at 0x7f...>");
# the address differs per run and would break "same input, same report".
_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-f]+>")


def _one_line(exc: BaseException | str | Warning) -> str:
    text = _OBJECT_REPR.sub("", " ".join(str(exc).split())) or type(exc).__name__
    return text[:300]
