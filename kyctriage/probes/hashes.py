"""Hashes of one file: SHA-256/MD5 of the bytes, the metadata-free data hash, perceptual hashes."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from kyctriage.model import Hashes, ViewHashes

NAME = "hashes"

# One small square copy serves every perceptual hash: imagehash's own resizing of a large
# image (LANCZOS from full resolution) is what makes the usual Python chain slow.
HASH_COPY_SIZE = 64


def file_digests(data: bytes) -> tuple[str, str]:
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()


def jpeg_data_sha256(data: bytes, spans: tuple[tuple[int, int], ...]) -> str | None:
    """The scans from the first SOS to EOI with any APP/COM segments among them left out:
    identical for copies that differ only in their metadata."""
    if not spans:
        return None
    digest = hashlib.sha256()
    for start, end in spans:
        digest.update(memoryview(data)[start:end])
    return digest.hexdigest()


def png_data_sha256(data: bytes) -> str | None:
    """The concatenated IDAT chunk payloads, as ExifTool's ImageDataHash takes them."""
    digest = hashlib.sha256()
    pos, found = 8, False
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if pos + 12 + length > len(data):
            break
        if kind == b"IDAT":
            digest.update(memoryview(data)[pos + 8 : pos + 8 + length])
            found = True
        elif kind == b"IEND":
            break
        pos += 12 + length
    return digest.hexdigest() if found else None


def perceptual(preview: Image.Image, image_data_sha256: str | None, views: bool = False) -> Hashes:
    """imagehash's phash, dhash, whash and colorhash of one 64 px copy of the preview, bit for
    bit, and with views=True the same three hashes of each matching view. One grayscale and
    one HSV conversion serve every hash, and the views' hashes are computed as one stack
    (imagehash converts again in every function and formats hex strings bit by bit)."""
    small = preview.resize((HASH_COPY_SIZE, HASH_COPY_SIZE), Image.Resampling.BOX)
    upright = np.asarray(small.convert("L"))
    grays = [upright]
    if views:
        # Flips and quarter turns commute with the square box reduction, so those views come
        # from the 64 px copy; crops need the preview.
        grays += [upright[:, ::-1], np.rot90(upright)]
        grays += [_centre_crop(preview, keep) for _, keep in CROP_VIEWS]
        grey = preview.convert("L")  # the cuts are of the grey preview (cut_more's too)
        grays += [_side_cut(grey, edge, CUT) for edge in EDGES]
    stack = np.stack(grays)
    phash, dhash, whash = _phash_bits(stack), _dhash_bits(stack), _whash_bits(stack)
    found = tuple(
        ViewHashes(name, _hex(phash[i]), _hex(dhash[i]), _hex(whash[i]))
        for i, name in enumerate(VIEW_NAMES[: len(grays) - 1], 1)
    )
    return Hashes(
        phash=_hex(phash[0]),
        dhash=_hex(dhash[0]),
        whash=_hex(whash[0]),
        colorhash=_hex(_colorhash_bits(small.convert("HSV"), upright)),
        image_data_sha256=image_data_sha256,
        views=found,
    )


# Views matched besides the upright picture: a mirrored copy, a copy turned by 90 degrees, and
# two centre crops (a 270-degree turn is found from the other side of the pair).
CROP_VIEWS = (("crop92", 0.92), ("crop87", 0.87), ("crop82", 0.82))
# One-side crops (a picture cut 10-25% from one edge; its global hashes bear ~2.5% of a
# side): every image keeps its views cut CUT from each edge (CUT_VIEWS), and an image of a
# leak, cut further from each edge by each of CUT_MORE (looked at in compare: cut_more),
# meets one of its original's. A cut of f from one edge and then g of the rest is a cut of
# f + g(1 - f): f from 0.06 to 0.25 lands within ~0.012 of CUT for one of the steps. A
# scanned page's cut view moves ~30 phash bits when the cut is ~2% off (its text lines cross
# the cut): steps of 0.05 missed 7 of 1,344 cuts of 10-25% of the demo's pages and captures,
# these none (twice the steps: cut_more takes ~1.7 times as long).
EDGES = ("left", "top", "right", "bottom")
CUT = 0.25
CUT_MORE = tuple(round(0.025 * k, 3) for k in range(1, 9))
CUT_VIEWS = tuple(f"cut {edge}" for edge in EDGES)
VIEW_NAMES = ("mirror", "rot90", *(name for name, _ in CROP_VIEWS), *CUT_VIEWS)


# A picture shown inside an image (a screenshot's photograph, a scanned page's document):
# the same three hashes of its box, so that a search by the hashes finds its original,
# which an index of an archive has no other key to (match/compare.py). At most SHOWN_MOST
# of an image's, the largest first.
SHOWN = "shown"
SHOWN_MOST = 4


def shown_views(crops: Sequence[np.ndarray]) -> tuple[ViewHashes, ...]:
    """phash, dhash and whash of each grey crop (a picture's box, any size), as of an image
    whose preview the crop were: brought to HASH_COPY_SIZE by a box reduction."""
    grays = [
        np.asarray(
            Image.fromarray(c).resize((HASH_COPY_SIZE, HASH_COPY_SIZE), Image.Resampling.BOX)
        )
        for c in crops[:SHOWN_MOST]
    ]
    if not grays:
        return ()
    stack = np.stack(grays)
    phash, dhash, whash = _phash_bits(stack), _dhash_bits(stack), _whash_bits(stack)
    return tuple(
        ViewHashes(SHOWN, _hex(phash[i]), _hex(dhash[i]), _hex(whash[i])) for i in range(len(grays))
    )


def view_hashes(preview: Image.Image) -> tuple[ViewHashes, ...]:
    """phash, dhash and whash of each view (as a scan records them)."""
    return perceptual(preview, None, views=True).views


def cut_more(preview: Image.Image) -> np.ndarray:
    """The (phash, dhash, whash) of the preview cut further from each edge by each of
    CUT_MORE, as numbers: shape (len(EDGES), len(CUT_MORE), 3), uint64."""
    grey = preview.convert("L")
    stack = np.stack([_side_cut(grey, edge, more) for edge in EDGES for more in CUT_MORE])
    return _words(stack).reshape(len(EDGES), len(CUT_MORE), 3)


# A picture turned by a few degrees (a page scanned askew, a screen or a card photographed
# again) flips about a third of every global hash's bits. An image of a leak is also hashed
# turned back by each of TURNS degrees and cut as the TURN_VIEW of every image is (the
# turn's empty corners fall outside that centre crop): within half a degree of its
# original's turn, it meets that view by the rule or the loose rule (search.LOOSE; every
# one of the 64 small rotations, 1.5-4 degrees, of bench/kyc_lookalikes.py's quick seed 2,
# 40 by the rule). Like cut_more, a key for an index that keeps only hashes; a check decides.
TURNS = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)
TURN_VIEW = "crop87"


def turned(preview: Image.Image) -> np.ndarray:
    """The (phash, dhash, whash) of the grey preview turned by each of TURNS degrees
    (counter-clockwise) and cut as TURN_VIEW is, as numbers: shape (len(TURNS), 3), uint64."""
    grey = np.asarray(preview.convert("L"))
    h, w = grey.shape
    keep = dict(CROP_VIEWS)[TURN_VIEW]
    stack = [
        _centre_crop(Image.fromarray(cv2.warpAffine(  # (Pillow's rotate is ~20x slower)
            grey, cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), (w, h),
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0,
        )), keep)
        for angle in TURNS
    ]  # fmt: skip
    return _words(np.stack(stack))


def _words(stack: np.ndarray) -> np.ndarray:
    """phash, dhash and whash of each grey 64 px image of the stack as numbers: (n, 3) uint64."""
    bits = (_phash_bits(stack), _dhash_bits(stack), _whash_bits(stack))
    words = [np.packbits(b.reshape(len(stack), -1), axis=1).view(">u8")[:, 0] for b in bits]
    return np.stack(words, axis=1).astype(np.uint64)


def _side_cut(grey: Image.Image, edge: str, cut: float) -> np.ndarray:
    """The grey preview less `cut` of its width or height at one edge, at HASH_COPY_SIZE."""
    w, h = grey.size
    dx, dy = round(w * cut), round(h * cut)
    box = {"left": (dx, 0, w, h), "top": (0, dy, w, h),
           "right": (0, 0, w - dx, h), "bottom": (0, 0, w, h - dy)}[edge]  # fmt: skip
    return np.asarray(grey.crop(box).resize((HASH_COPY_SIZE, HASH_COPY_SIZE), Image.Resampling.BOX))


def _centre_crop(preview: Image.Image, keep: float) -> np.ndarray:
    w, h = preview.size
    dx, dy = w * (1 - keep) / 2, h * (1 - keep) / 2
    box = (round(dx), round(dy), round(w - dx), round(h - dy))
    crop = preview.crop(box).resize((HASH_COPY_SIZE, HASH_COPY_SIZE), Image.Resampling.BOX)
    return np.asarray(crop.convert("L"))


def _hex(bits: np.ndarray) -> str:
    """imagehash's hex form: the bits, row by row, as one zero-padded number."""
    flat = bits.ravel()
    value = int.from_bytes(np.packbits(flat).tobytes(), "big") >> (-flat.size % 8)
    return f"{value:0{-(-flat.size // 4)}x}"


def _resized(stack: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Each image of the stack LANCZOS-resized to size, as Pillow resizes it one by one, in two
    calls: Pillow's resize is a horizontal pass (rounded to 8 bits) then a vertical one, so the
    images stacked top to bottom take the horizontal pass together, and side by side the
    vertical one; a pass never mixes rows (or columns) of different images."""
    count, height, _ = stack.shape
    width, out_height = size
    tall = Image.fromarray(stack.reshape(count * height, -1))
    rows = np.asarray(tall.resize((width, count * height), Image.Resampling.LANCZOS))
    wide = Image.fromarray(np.ascontiguousarray(
        rows.reshape(count, height, width).transpose(1, 0, 2).reshape(height, count * width)
    ))  # fmt: skip
    done = np.asarray(wide.resize((count * width, out_height), Image.Resampling.LANCZOS))
    return done.reshape(out_height, count, width).transpose(1, 0, 2)


# The first eight rows of scipy.fftpack's unnormalised DCT-II for 32 samples:
# 2 * cos(pi * k * (2n + 1) / 64). Only the 8 x 8 low corner of phash's DCT is ever used.
_DCT8 = 2.0 * np.cos(np.pi * np.arange(8)[:, None] * (2 * np.arange(32)[None, :] + 1) / 64)
# Two 32-sample DCTs summed in another order differ by ~1e-12 of the largest coefficient;
# a coefficient this close to the median could fall on either side of it.
_TIE = 1e-9


def _phash_bits(stack: np.ndarray) -> np.ndarray:
    """imagehash.phash: the 8 x 8 low corner of the 32 px copy's DCT against its median, as
    two matrix products (scipy.fft costs ~0.4 s of start-up, serial before the workers fork).
    Where a coefficient is near-tied with the median (flat pictures: every AC term ~0), the
    comparison is redone with imagehash's own scipy.fftpack, so the bits are always its bits."""
    pixels = _resized(stack, (32, 32)).astype(np.float64)
    dct = _DCT8 @ pixels @ _DCT8.T
    median = _row_medians(dct.reshape(len(dct), -1))[:, None, None]
    scale = np.abs(dct).max(axis=(1, 2), keepdims=True)
    if np.any(np.abs(dct - median) <= _TIE * scale):
        import scipy.fftpack  # type: ignore[import-untyped]

        dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=1), axis=2)[:, :8, :8]
        median = _row_medians(dct.reshape(len(dct), -1))[:, None, None]
    bits: np.ndarray = dct > median
    return bits


def _row_medians(rows: np.ndarray) -> np.ndarray:
    """np.median along axis 1, the same floats (for an even count the mean of the two middle
    values, a + b then / 2), without its NaN check: that check loads numpy.ma, ~11 ms in each
    worker's first file, and costs ~8 us a call. The hashed values are never NaN."""
    ordered = np.sort(rows, axis=1)
    half = rows.shape[1] // 2
    if rows.shape[1] % 2:
        return ordered[:, half]
    middle: np.ndarray = (ordered[:, half - 1] + ordered[:, half]) / 2
    return middle


def _dhash_bits(stack: np.ndarray) -> np.ndarray:
    pixels = _resized(stack, (9, 8))
    bits: np.ndarray = pixels[:, :, 1:] > pixels[:, :, :-1]
    return bits


def _whash_bits(stack: np.ndarray) -> np.ndarray:
    # imagehash's defaults on a 64 px image: Haar, the level-6 LL removed, then LL of level 3.
    # pywt's arithmetic step by step (each output is C*a + C*b or C*a - C*b of the same two
    # inputs, in pywt's axis order), so the floats and the ties are pywt's, on the whole stack
    # at once: pywt itself took 0.5 ms per hash in call overhead.
    low = stack / 255.0
    details = []
    for _ in range(6):
        low, detail = _haar_step(low)
        details.append(detail)
    low = low * 0.0
    for detail in reversed(details):
        low = _haar_inverse_step(low, *detail)
    for _ in range(3):
        low, _ = _haar_step(low)
    median = _row_medians(low.reshape(len(low), -1))
    bits: np.ndarray = low > median[:, None, None]
    return bits


_C = 0.7071067811865476  # pywt's Haar taps, 1/sqrt(2) as a double
Detail = tuple[np.ndarray, np.ndarray, np.ndarray]


def _haar_step(x: np.ndarray) -> tuple[np.ndarray, Detail]:
    """pywt.dwt2(x, "haar") over the last two axes: rows first, then columns."""
    even, odd = x[..., 0::2, :] * _C, x[..., 1::2, :] * _C
    low, high = even + odd, even - odd
    le, lo = low[..., 0::2] * _C, low[..., 1::2] * _C
    he, ho = high[..., 0::2] * _C, high[..., 1::2] * _C
    return le + lo, (he + ho, le - lo, he - ho)


def _haar_inverse_step(
    aa: np.ndarray, da: np.ndarray, ad: np.ndarray, dd: np.ndarray
) -> np.ndarray:
    """pywt.idwt2 over the last two axes: columns first, then rows."""
    return _upsample(_upsample(aa, ad, -1), _upsample(da, dd, -1), -2)


def _upsample(low: np.ndarray, high: np.ndarray, axis: int) -> np.ndarray:
    lc, hc = low * _C, high * _C
    shape = list(low.shape)
    shape[axis] *= 2
    out = np.empty(shape)
    even = [slice(None)] * out.ndim
    odd = [slice(None)] * out.ndim
    even[axis], odd[axis] = slice(0, None, 2), slice(1, None, 2)
    out[tuple(even)], out[tuple(odd)] = lc + hc, lc - hc
    return out


def _colorhash_bits(hsv: Image.Image, intensity: np.ndarray) -> np.ndarray:
    # imagehash.colorhash with binbits=3: black and gray fractions, then 6 hue bins each for
    # faint and bright colours; np.histogram over integer hues replaced by a lookup table.
    hue, saturation = (np.asarray(band).ravel() for band in hsv.split()[:2])
    black = intensity.ravel() < 256 // 8
    gray = saturation < 256 // 3
    colours = ~black & ~gray
    faint = colours & (saturation < 256 * 2 // 3)
    bright = colours & (saturation > 256 * 2 // 3)
    total = max(1, int(colours.sum()))
    fractions = [black.mean(), (~black & gray).mean()]
    values = [min(7, int(f * 8)) for f in fractions]
    for mask in (faint, bright):
        counts = np.bincount(_HUE_BIN[hue[mask]], minlength=6)
        values.extend(min(7, int(count * 8 * 1.0 / total)) for count in counts)
    # imagehash's three bits of a value v are v // 4 > 0, v // 2 % 4 > 0 and v % 2 > 0: the
    # middle one is set for 4 and 5 too. Kept as it is, so that the hex strings agree.
    return np.array([[v >> 2, v >> 1 & 3, v & 1] for v in values]) > 0


# np.histogram(hue, bins=np.linspace(0, 255, 7)) for integer hues: half-open bins, the last
# one closed at 255.
_HUE_EDGES = np.linspace(0, 255, 7)
_HUE_BIN = np.minimum(np.searchsorted(_HUE_EDGES, np.arange(256), side="right") - 1, 5)
