"""Scan speed: kyctriage scan against the decode floor, exiftool and the analyst's chain.

    python bench/scan_speed.py                    # 200 files, previews 256 and 512, 2 workers
    python bench/scan_speed.py --count 50 --preview-size 256
    python bench/scan_speed.py --count 1000 --near-share 0.3 --no-chain   # 30% near-duplicates

Generates N phone-size JPEGs (4000 x 3000, quality 90, 4:2:0) once into a cache folder outside
the repository: a dead-leaves scene (textured shapes over a 1/f colour field, drawn at quarter
size and enlarged, as a phone's processing softens detail) with sharp edges and sensor noise
added at full size. Every file carries the same real camera EXIF block (APP1, MakerNote and
thumbnail included) copied byte for byte, so metadata parsing costs what it costs on evidence.

Then times, on the same files in one run, each twice (the better time counts; the machine is
shared, so read the ratios): the decode floor (djpeg -scale 1/8 -grayscale, one process per
core), exiftool -r -json, the analyst's chain (exiftool + sha256sum + md5sum + a plain Python
loop that fully decodes each image and computes imagehash's phash, dhash, whash and colorhash)
and kyctriage scan with --json.

It runs the kyctriage of the Python that runs it. Run it from a clean venv with kyctriage
pip-installed, as a user has it: a development interpreter's start-up hooks (.pth files: an
editable install's finder, a sandbox's certificate patch) cost ~30 ms per process here, serial
before the workers start, charged to the tool.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps, features

REPO = Path(__file__).resolve().parents[1]
# Olympus STYLUS1 (from piexif's source distribution): of the real files at hand with both a
# MakerNote and a thumbnail, the largest APP1 and the dearest to parse. The phone files at hand
# (Pillow's and piexif's test images, ../shared/corpus) lack one or the other.
DEFAULT_EXIF_SOURCE = REPO / "tests" / "data" / "exif" / "piexif" / "r_olympus.jpg"
CACHE = Path(os.environ.get("KYCTRIAGE_BENCH_CACHE", "/tmp/kyctriage-bench")) / "scan-speed"
WIDTH, HEIGHT = 4000, 3000
QUALITY = 90
# Bump when the generator changes, so that a cache of other pictures is not reused.
GENERATOR_VERSION = 1
FLOOR = "decode floor: djpeg -scale 1/8 -grayscale"
CHAIN = "chain: exiftool + sha256sum + md5sum + imagehash loop"


# --- the files ---------------------------------------------------------------------------


def exif_segment(path: Path) -> bytes:
    """The first APP1 Exif segment of a JPEG, marker and length included, as stored."""
    data = path.read_bytes()
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            return data[pos : pos + 2 + length]
        pos += 2 + length
    raise SystemExit(f"{path}: no APP1 Exif segment")


def _field(rng: np.random.Generator, shape: tuple[int, int], slope: float) -> np.ndarray:
    """Zero-mean, unit-variance noise with a 1/f^slope amplitude spectrum."""
    h, w = shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    radius = np.hypot(fx, fy)
    radius[0, 0] = 1.0
    spectrum = radius**-slope * np.exp(2j * np.pi * rng.random(radius.shape))
    spectrum[0, 0] = 0.0
    field = np.fft.irfft2(spectrum, s=(h, w))
    return (field / field.std()).astype(np.float32)


def _scene(rng: np.random.Generator) -> Image.Image:
    h, w = HEIGHT // 4, WIDTH // 4
    luma = _field(rng, (h, w), 1.2)
    tint = np.stack([_field(rng, (h, w), 1.6) for _ in range(2)])
    base = rng.uniform(90, 160, 3).astype(np.float32)
    rgb = base[:, None, None] + 40 * luma[None] + np.stack([14 * tint[0], 0 * luma, 14 * tint[1]])
    textures = [_field(rng, (h, w), float(rng.uniform(0.9, 1.5))) for _ in range(6)]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Dead leaves: opaque textured shapes with power-law sizes, far ones first.
    for _ in range(int(rng.integers(60, 90))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = 8 * (h / 24) ** rng.uniform(0, 1, 2)
        if rng.random() < 0.5:
            mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        else:
            mask = (abs(yy - cy) <= ry) & (abs(xx - cx) <= rx)
        shift = (int(rng.integers(0, h)), int(rng.integers(0, w)))
        texture = np.roll(textures[int(rng.integers(0, 6))], shift, axis=(0, 1))
        colour = rng.uniform(20, 235, 3).astype(np.float32)
        shade = 1 + 0.25 * (yy - cy) / h  # light from above
        leaf = colour[:, None, None] * shade[None] + float(rng.uniform(12, 40)) * texture[None]
        rgb = np.where(mask[None], leaf, rgb)
    small = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy())
    image = small.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(20, 40))):  # sharp edges: text-like strokes, card borders
        x0, y0 = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
        x1, y1 = x0 + int(rng.integers(40, 900)), y0 + int(rng.integers(-400, 400))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.line((x0, y0, x1, y1), fill=colour, width=int(rng.integers(2, 14)))
    return image


def _noise(seed: int) -> np.ndarray:
    """Sensor noise, luminance plus a little chroma, larger than one image so that each image
    takes its own crop of it (generating 36 M normal samples per image would dominate)."""
    rng = np.random.default_rng(seed)
    luma = rng.normal(0, 3.2, (HEIGHT + 256, WIDTH + 256, 1)).astype(np.float32)
    chroma = rng.normal(0, 1.8, (HEIGHT + 256, WIDTH + 256, 3)).astype(np.float32)
    return (luma + chroma).round().astype(np.int16)


_NOISE: np.ndarray | None = None


def _make(job: tuple[Path, int, bytes]) -> int:
    global _NOISE
    path, seed, app1 = job
    if _NOISE is None:
        _NOISE = _noise(seed)
    rng = np.random.default_rng(seed)
    oy, ox = int(rng.integers(0, 256)), int(rng.integers(0, 256))
    pixels = np.asarray(_scene(rng), dtype=np.int16)
    pixels = pixels + _NOISE[oy : oy + HEIGHT, ox : ox + WIDTH]
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, subsampling=2)
    encoded = out.getvalue()
    # A phone writes SOI, then APP1 Exif first and no JFIF APP0: drop Pillow's APP0.
    rest = 2
    if encoded[2:4] == b"\xff\xe0":
        rest = 4 + struct.unpack(">H", encoded[4:6])[0]
    data = encoded[:2] + app1 + encoded[rest:]
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return len(data)


def _reuse_made(paths: list[Path], folder: Path, wanted: str) -> None:
    """File i is the same in every count's folder (its seed is 1000 + i): copy what a folder
    made by the same generator already holds instead of drawing it again (~1 s a file)."""
    for other in folder.parent.glob("n*"):
        stamp = other / "GENERATOR"
        if other == folder or not stamp.exists() or stamp.read_text() != wanted:
            continue
        for path in paths:
            made = other / path.name
            if not path.exists() and made.exists():
                shutil.copyfile(made, path)


def generate(folder: Path, count: int, exif_source: Path, workers: int) -> list[Path]:
    app1 = exif_segment(exif_source)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "GENERATOR"
    wanted = f"{GENERATOR_VERSION} {exif_source.name} {len(app1)}\n"
    if not stamp.exists() or stamp.read_text() != wanted:
        for old in folder.glob("*.jpg"):
            old.unlink()
        stamp.write_text(wanted)
    paths = [folder / f"IMG_{i:04d}.jpg" for i in range(count)]
    for extra in set(folder.glob("*.jpg")) - set(paths):
        extra.unlink()
    _reuse_made(paths, folder, wanted)
    todo = [(p, 1000 + i, app1) for i, p in enumerate(paths) if not p.exists()]
    if todo:
        print(f"generating {len(todo)} files into {folder} ...", file=sys.stderr)
        with Pool(workers) as pool:
            for done, _ in enumerate(pool.imap_unordered(_make, todo), 1):
                if done % 20 == 0:
                    print(f"  {done}/{len(todo)}", file=sys.stderr)
    return paths


def _repost(source: Path, kind: int) -> bytes:
    """One re-posted form of a generated photo (metadata stripped, as messengers do)."""
    with Image.open(source) as opened:
        image = opened.convert("RGB")
    w, h = image.size
    if kind == 0:  # Telegram HD
        image = image.resize((2560, round(h * 2560 / w)), Image.Resampling.LANCZOS)
    elif kind == 1:  # the bottom 15% cut off
        image = image.crop((0, 0, w, round(h * 0.85)))
    elif kind == 2:
        image = ImageEnhance.Brightness(image).enhance(1.2)
    elif kind == 3:
        image = image.resize((1600, round(h * 1600 / w)), Image.Resampling.LANCZOS)
    else:
        image = ImageOps.mirror(image)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=(87, 90, 90, 80, 90)[kind])
    return out.getvalue()


def near_duplicates(folder: Path, paths: list[Path], share: float) -> tuple[Path, list[Path]]:
    """A leak in which `share` of the files are near-duplicates of the others: the first
    files as generated (linked), each of the rest a re-posted form of one of them (Telegram HD,
    one side cut by 15%, brightened, 1600 px q80, mirrored, in turn). Cached beside `folder`."""
    near = round(len(paths) * share)
    kept = paths[: len(paths) - near]
    out = folder.parent / f"{folder.name}-near{share:g}"
    out.mkdir(exist_ok=True)
    stamp = out / "GENERATOR"
    wanted = (folder / "GENERATOR").read_text() + f"near {near} v1\n"
    if not stamp.exists() or stamp.read_text() != wanted:
        for old in out.glob("*.jpg"):
            old.unlink()
        stamp.write_text(wanted)
    made = []
    for path in kept:
        target = out / path.name
        if not target.exists():
            os.link(path, target)
        made.append(target)
    if near and not (out / f"IMG_{len(paths) - 1:04d}.jpg").exists():
        print(f"writing {near} near-duplicates into {out} ...", file=sys.stderr)
    for k in range(near):
        target = out / f"IMG_{len(kept) + k:04d}.jpg"
        if not target.exists():
            target.write_bytes(_repost(kept[k % len(kept)], k % 5))
        made.append(target)
    return out, made


# --- the contenders ----------------------------------------------------------------------


def chain_hashes(folder: str) -> None:
    """The analyst's Python loop, as imagededup does it: open, decode in full, hash."""
    import imagehash

    for name in sorted(os.listdir(folder)):
        if not name.endswith(".jpg"):
            continue
        with Image.open(os.path.join(folder, name)) as image:
            rgb = image.convert("RGB")
        print(
            name,
            imagehash.phash(rgb),
            imagehash.dhash(rgb),
            imagehash.whash(rgb),
            imagehash.colorhash(rgb),
        )


def _run(commands: Sequence[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and the CPU seconds (user + system) of every process the commands ran."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    for command in commands:
        subprocess.run(command, shell=True, check=True, cwd=cwd, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def own_kyctriage() -> str:
    """The kyctriage script of the Python running this bench. A version manager's shim found
    first on PATH (pyenv's is a bash script that runs `pyenv exec`) adds ~0.2 s to every run:
    its cost, not the tool's."""
    script = Path(sys.executable).with_name("kyctriage")
    return str(script) if script.exists() else "kyctriage"


def contenders(
    folder: Path, workers: int, previews: Sequence[int], out: Path, others: Sequence[str] = ()
) -> dict[str, list[str]]:
    me = f"{sys.executable} {Path(__file__).resolve()}"
    found: dict[str, list[str]] = {
        FLOOR: [
            f"find . -name '*.jpg' -print0 | xargs -0 -n 1 -P {workers} "
            "djpeg -scale 1/8 -grayscale -outfile /dev/null"
        ],
        "exiftool -r -json": ["exiftool -r -json . > /dev/null"],
        CHAIN: [
            "exiftool -r -json . > /dev/null",
            "sha256sum *.jpg > /dev/null",
            "md5sum *.jpg > /dev/null",
            f"{me} --chain-hashes . > /dev/null",
        ],
    }
    for size in previews:
        found[f"kyctriage scan (preview {size})"] = [
            f"{own_kyctriage()} scan . --workers {workers} --preview-size {size} -q --json {out}"
        ]
        for other in others:
            found[f"{other} scan (preview {size})"] = [
                f"{other} scan . --workers {workers} --preview-size {size} -q --json {out}"
            ]
    return found


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    turbo = features.version("libjpeg_turbo") or "?"
    exiftool = subprocess.run(["exiftool", "-ver"], capture_output=True, text=True).stdout.strip()
    return (
        f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()}, "
        f"Pillow {Image.__version__} (libjpeg-turbo {turbo}), exiftool {exiftool}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument("--preview-size", default="256,512", help="comma-separated sizes")
    parser.add_argument("--exif-source", type=Path, default=DEFAULT_EXIF_SOURCE)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--no-chain", action="store_true", help="skip the slow chain")
    parser.add_argument(
        "--other", metavar="KYCTRIAGE", action="append", default=[], help="another build's "
        "kyctriage executable, run beside this one in every round (before/after comparisons on "
        "the same load); may be given more than once"
    )  # fmt: skip
    parser.add_argument(
        "--near-share", type=float, default=0.0, metavar="F", help="make this share of the "
        "files near-duplicates of the others (issue 20's cost: a leak with 30%%: 0.3)"
    )  # fmt: skip
    parser.add_argument("--chain-hashes", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.chain_hashes:
        chain_hashes(args.chain_hashes)
        return
    for tool in ("djpeg", "exiftool", "sha256sum", "md5sum", own_kyctriage()):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (apt: libjpeg-turbo-progs, libimage-exiftool-perl)")
    folder = args.cache / f"n{args.count}"
    paths = generate(folder, args.count, args.exif_source, args.workers)
    if args.near_share:
        folder, paths = near_duplicates(folder, paths, args.near_share)
    mean_mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
    previews = [int(s) for s in args.preview_size.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        runs = contenders(folder, args.workers, previews, Path(tmp) / "report.json", args.other)
        if args.no_chain:
            del runs[CHAIN]
        best: dict[str, float] = {}
        cpu: dict[str, float] = {}
        paired: dict[str, list[float]] = {}  # each round's time over that round's floor
        # Interleaved rounds: every contender sees the same load on the shared machine.
        for round_ in range(args.repeat):
            for name, commands in runs.items():
                wall, used = _run(commands, folder)
                best[name] = min(best.get(name, wall), wall)
                cpu[name] = min(cpu.get(name, used), used)
                if name == FLOOR:
                    floor_wall = wall
                paired.setdefault(name, []).append(wall / floor_wall)
                print(
                    f"round {round_ + 1}: {name}: {wall:.2f} s, CPU {used:.2f} s", file=sys.stderr
                )
    n = len(paths)
    floor, floor_cpu = best[FLOOR], cpu[FLOOR]
    chain, chain_cpu = best.get(CHAIN), cpu.get(CHAIN)
    print(
        f"\n{n} files, {WIDTH} x {HEIGHT}, quality {QUALITY} 4:2:0, mean {mean_mb:.2f} MB, "
        f"EXIF from {args.exif_source.name}; {args.workers} workers, best of {args.repeat}"
    )
    if args.near_share:
        print(f"{round(n * args.near_share)} of them near-duplicates of the others ({folder})")
    print(machine())
    print(
        "\n| run | images/s | time / floor | same-round time / floor, median (range) "
        "| time / chain | CPU ms per image | CPU / floor | CPU / chain |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, wall in best.items():
        used = cpu[name]
        ratios = sorted(paired[name])
        print(
            f"| {name} | {n / wall:.1f} | {wall / floor:.2f} | {statistics.median(ratios):.2f} "
            f"({ratios[0]:.2f}-{ratios[-1]:.2f}) | "
            f"{f'{wall / chain:.3f}' if chain else '-'} | {used / n * 1e3:.1f} | "
            f"{used / floor_cpu:.2f} | {f'{used / chain_cpu:.3f}' if chain_cpu else '-'} |"
        )


if __name__ == "__main__":
    main()
