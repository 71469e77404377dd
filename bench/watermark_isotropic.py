"""Experiment (issue 23): an isotropic mark, whose crop search is one scale, not two.

    python bench/watermark_isotropic.py [--limit N] [--whiten 7]

Not the scheme kyctriage embeds. Today's mark (kyctriage.watermark.spread) is the key's pattern
stretched over the whole picture, whatever its shape: a crop that keeps kx of the width and ky
of the height stretches it by (kx, ky), two unknowns, so the crop search ranks 236 scale pairs
before it tries any offset (~18 ms of the ~24 ms an unmarked photo's check costs). Here the
pattern is the key's square one laid over the picture's long side, centred: a crop or a resize
only scales it, the same along both axes, by the long side it keeps (0.72-1.0 searched), and
moves it (every offset at once by an FFT). The fast test is the same correlation at scale 1,
centred. Each correlation is whitened locally in the spectrum (each coefficient over the RMS of
its 7 x 7 neighbours, a function of the picture alone: the null bound holds), or, with
--whiten 0, by frequency (crop.py's filter).

For each photograph of bench/watermark.py (and its odd window): the mark embedded, then the
rows below applied to the marked picture and to its unmarked twin; each decoded to the scan's
256 px preview and searched exactly at every third scale, then at the neighbours of the best
two. Printed: per row, the crop search's TPR and weakest margin over its threshold (the union
bound over every scale and offset of the fine grid, the quarter of the false-positive budget
crop.py has), the fast test's (8-view threshold), and the unmarked twins' largest z; then the
cost of a search's parts on the previews of photos with a long side of 1024 px or more.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.fft import irfft2, rfft2  # type: ignore[import-untyped]
from scipy.ndimage import uniform_filter  # type: ignore[import-untyped]

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # this checkout's kyctriage, the bench's modules

import watermark as bench  # noqa: E402

from kyctriage.probes.decode import decode  # noqa: E402
from kyctriage.watermark import crop, spread  # noqa: E402
from kyctriage.watermark import frame as fr  # noqa: E402
from kyctriage.watermark.keys import WatermarkKey  # noqa: E402
from kyctriage.watermark.result import FALSE_POSITIVE_TARGET, gaussian_threshold  # noqa: E402

N = fr.FRAME
SCALES = np.round(np.arange(0.72, 1.0 + 1e-9, 0.004), 4)  # the long side kept
COARSE_EVERY, REFINED = 3, 2
BAND = crop._FILTER > 0
ROWS = (
    "embed only, JPEG 92", "Telegram 1280 + q80-87, stripped", "resize 800 + q75", "JPEG q60",
    "crop <=8%/side + q85", "crop <=5%/side + Telegram", "one side cut 10% + q85",
    "one side cut 15% + q85", "one side cut 20% + q85", "tone + resize 800 + q70",
)  # fmt: skip


def footprint(size: tuple[int, int], scale: float = 1.0) -> tuple[int, int]:
    """The picture's size in the pattern's frame: its long side spans `scale` of it."""
    w, h = size
    long = max(w, h)
    return max(1, round(scale * N * w / long)), max(1, round(scale * N * h / long))


def embed(image: Image.Image, key: WatermarkKey) -> Image.Image:
    """The key's square pattern over the picture's long side, centred, masked by activity
    as spread.embed masks, at its PSNR."""
    luma = np.asarray(image.convert("L"), np.float32)
    fw, fh = footprint(image.size)
    x0, y0 = (N - fw) // 2, (N - fh) // 2
    window = fr.spatial_pattern(key)[y0 : y0 + fh, x0 : x0 + fw]
    small = np.asarray(Image.fromarray(luma, "F").resize((fw, fh), Image.Resampling.BILINEAR))
    pattern = np.ascontiguousarray(window * spread._mask(small))
    signal = np.array(
        Image.fromarray(pattern, "F").resize(image.size, Image.Resampling.BICUBIC), np.float32
    )
    rms = float(np.sqrt(np.mean(signal.astype(np.float64) ** 2)))
    signal *= np.float32(255.0 / 10 ** (spread.TARGET_PSNR / 20.0) / rms)
    pixels = np.asarray(image.convert("RGB"), np.float32) + signal[:, :, None]
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8), "RGB")


def whitened(luma: Image.Image, scale: float, whiten: int) -> tuple[np.ndarray, int, int]:
    """The picture's spectrum in the frame, its long side spanning `scale` of it, whitened;
    and its footprint there."""
    wx, wy = footprint(luma.size, scale)
    canvas = np.zeros((N, N), np.float32)
    window = np.asarray(luma.resize((wx, wy), Image.Resampling.BILINEAR), np.float32)
    canvas[:wy, :wx] = window - window.mean()
    spectrum = rfft2(canvas, workers=1)
    if not whiten:
        return spectrum * crop._FILTER, wx, wy
    level = np.sqrt(uniform_filter(np.abs(spectrum) ** 2, whiten, mode="wrap")) + 1e-3
    return np.where(BAND, spectrum / level, 0).astype(np.complex64), wx, wy


def correlations(luma: Image.Image, scale: float, template: np.ndarray, whiten: int) -> np.ndarray:
    """z at every offset of the picture, its long side spanning `scale` of the frame."""
    spectrum, wx, wy = whitened(luma, scale, whiten)
    energy = crop._parseval(spectrum, N)
    corr = irfft2(np.conj(spectrum) * template, s=(N, N), workers=1)[: N - wy + 1, : N - wx + 1]
    out: np.ndarray = corr / math.sqrt(energy) if energy > 0 else corr * 0
    return out


def threshold(size: tuple[int, int]) -> float:
    """Every scale of the fine grid times its offsets: the union bound's count."""
    count = 0
    for scale in SCALES:
        wx, wy = footprint(size, float(scale))
        count += (N - wx + 1) * (N - wy + 1)
    return gaussian_threshold(count, FALSE_POSITIVE_TARGET / 4)


def search(preview: Image.Image, template: np.ndarray, whiten: int) -> tuple[float, float]:
    """(fast test's z: scale 1, centred; the crop search's best z)."""
    luma = fr.to_luma(preview)
    whole = correlations(luma, 1.0, template, whiten)
    wx, wy = footprint(luma.size)
    fast = float(whole[(N - wy) // 2, (N - wx) // 2])  # where embed() centres it
    coarse = [
        (float(correlations(luma, float(SCALES[i]), template, whiten).max()), i)
        for i in range(0, len(SCALES), COARSE_EVERY)
    ]
    best = max(coarse)[0]
    for _, i in sorted(coarse, reverse=True)[:REFINED]:
        for j in (i - 1, i + 1):
            if 0 <= j < len(SCALES):
                corr = correlations(luma, float(SCALES[j]), template, whiten)
                best = max(best, float(corr.max()))
    return fast, best


def _preview(data: bytes) -> Image.Image:
    return decode(data, bench._format(data), 10**9, bench.PREVIEW_SIZE).preview


def cost(photos: list[tuple[str, Image.Image]], template: np.ndarray, whiten: int) -> None:
    """The search's parts on unmarked previews of the large photos: the picture's transform
    and whitening (once a picture with a first pass that stretches the pattern, as
    stretch.py does), and one scale's product and inverse transform at the full frame."""
    fixed, per = [], []
    for _, image in [p for p in photos if max(p[1].size) >= 1024][:20]:
        luma = fr.to_luma(_preview(bench._jpeg(image, 85)))
        start = time.process_time()
        spectrum, wx, wy = whitened(luma, 0.75, whiten)
        middle = time.process_time()
        for _ in range(10):
            corr = irfft2(np.conj(spectrum) * template, s=(N, N), workers=1)
            corr[: N - wy + 1, : N - wx + 1].max()
        end = time.process_time()
        fixed.append((middle - start) * 1000)
        per.append((end - middle) * 100)
    if not per:
        print("\ncost: no photo with a long side of 1024 px or more among those searched")
        return
    coarse = len(range(0, len(SCALES), COARSE_EVERY))
    print(f"\ncost (CPU ms, median of {len(per)} previews): transform and whitening "
          f"{np.median(fixed):.1f}; one scale {np.median(per):.2f}, the first pass's "
          f"{coarse} scales {coarse * np.median(per):.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, help="the first N pictures only")
    parser.add_argument("--whiten", type=int, default=7, help="local whitening window (0: 1/f)")
    args = parser.parse_args()
    photos = bench.photographs()[: args.limit]
    template = rfft2(fr.spatial_pattern(bench.KEY))
    found: dict[str, list[tuple[float, float, float, float]]] = {row: [] for row in ROWS}
    for index, (_, image) in enumerate(photos):
        marked = embed(image, bench.KEY)
        for row in ROWS:
            rng = random.Random(index * 1000 + list(bench.TRANSFORMS).index(row))
            state = rng.getstate()
            data_marked = bench.TRANSFORMS[row](marked, rng)
            rng.setstate(state)  # the same crop for the unmarked twin
            data_plain = bench.TRANSFORMS[row](image, rng)
            preview = _preview(data_marked)
            fast, best = search(preview, template, args.whiten)
            plain = search(_preview(data_plain), template, args.whiten)[1]
            found[row].append((fast, best, threshold(preview.size), plain))
    print(f"{len(photos)} pictures, whitening {args.whiten or '1/f'}\n")
    print("| transformation | crop search TPR | weakest margin z | fast test TPR | weakest "
          "margin z | unmarked largest z |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for row, values in found.items():
        fast, best, limit, plain = (np.array(v) for v in zip(*values, strict=True))
        margin, fast_margin = best - limit, fast - spread.FAST_THRESHOLD
        print(
            f"| {row} | {np.mean(margin > 0):.1%} | {margin.min():+.1f} | "
            f"{np.mean(fast_margin > 0):.1%} | {fast_margin.min():+.1f} | {plain.max():.2f} |"
        )
    cost(photos, template, args.whiten)


if __name__ == "__main__":
    main()
