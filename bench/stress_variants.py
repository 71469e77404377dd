"""Re-posted forms outside kyc_lookalikes.py's ranges: is the right original still found?

    python bench/stress_variants.py                      # KYC look-alikes, seed 3
    python bench/stress_variants.py --natural            # camera photos of the corpus
    python bench/stress_variants.py --keep /tmp/stress   # keep the set (and reuse it)

kyc_lookalikes.py measures the variants the bench was tuned on (Telegram, 800 px q70, a
brightening of 1.2-1.35, one-side crops of 10-25%, screenshots at 25-100%, ...). This one makes
22 others of each original: stronger and weaker brightening, darkening, gamma, contrast,
saturation, grey, a warm filter, 22-25% one-side crops, a centred 12% crop, two sides cut 15%,
a screenshot at 25% of a desktop, a phone screenshot at 30% saved at q70, 480 px q60, q35, a
1 px blur, an unsharp mask, a leak channel's caption written over the picture, a Telegram copy
of a 900 px q75 copy, a 6 degree turn, a brightened mirror. The set: the look-alikes of
kyctriage.demo.lookalikes (3 templates, 6 customers each; scans, booth captures, selfies) with
the first half of each template's customers in the reference, or with --natural the corpus's
photos (../shared/corpus/exif-samples), every other one in the reference. `api.compare` of
every variant against the reference; per variant: present images whose own customer (or
photo) comes first, absent ones `unmatched`, and any image matched to someone else.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # this checkout's kyctriage, the bench's modules

from kyc_lookalikes import natural_photos  # noqa: E402

from kyctriage import api  # noqa: E402
from kyctriage.demo import lookalikes  # noqa: E402
from kyctriage.demo.samples import telegram_copy  # noqa: E402
from kyctriage.demo.scenes import font  # noqa: E402
from kyctriage.demo.variants import _one_side, _screen_desktop, _screen_phone, fit, jpeg, png  # noqa: E402

NOT_FOUND = ("unmatched", "unverified-candidate", "error", "skipped")


def _gamma(picture: Image.Image, gamma: float) -> Image.Image:
    return picture.point([round(255 * (i / 255) ** gamma) for i in range(256)] * 3)


def _captioned(picture: Image.Image) -> Image.Image:
    stamped = picture.copy()
    size = max(14, picture.height // 18)
    where = (picture.width // 20, picture.height - 2 * size)
    ImageDraw.Draw(stamped).text(where, "t.me/kyc_leaks_2026", font=font(size), fill="white")
    return stamped


def _warm(picture: Image.Image) -> Image.Image:
    red, green, blue = picture.split()
    return Image.merge("RGB", (red.point(lambda v: min(255, int(v * 1.12))), green,
                               blue.point(lambda v: int(v * 0.82))))  # fmt: skip


def stress(p: Image.Image, rng: random.Random) -> Iterator[tuple[str, bytes]]:
    """Every stress variant of one picture: (name, bytes)."""
    w, h = p.size
    bright = ImageEnhance.Brightness
    yield "bright 1.5", jpeg(bright(p).enhance(1.5), 85)
    yield "bright 1.15", jpeg(bright(p).enhance(1.15), 85)
    yield "dark 0.6", jpeg(bright(p).enhance(0.6), 85)
    yield "gamma 0.6", jpeg(_gamma(p, 0.6), 85)
    yield "contrast 1.5", jpeg(ImageEnhance.Contrast(p).enhance(1.5), 85)
    yield "saturate 1.8", jpeg(ImageEnhance.Color(p).enhance(1.8), 80)
    yield "grey", jpeg(ImageOps.grayscale(p).convert("RGB"), 85)
    yield "warm filter", jpeg(_warm(p), 85)
    yield "one-side 25% top", jpeg(_one_side(p, "top", 0.25), 85)
    yield "one-side 25% left", jpeg(_one_side(p, "left", 0.25), 85)
    yield "one-side 22% bottom", jpeg(_one_side(p, "bottom", 0.22), 85)
    c = 0.12
    yield "centred 12%", jpeg(p.crop((round(w * c), round(h * c), round(w * (1 - c)),
                                       round(h * (1 - c)))), 85)  # fmt: skip
    yield "two sides 15%", jpeg(p.crop((round(w * 0.15), round(h * 0.15), w, h)), 85)
    yield "screenshot desktop 0.25", png(_screen_desktop(p, 0.25, rng))
    yield "screenshot phone 0.3 q70", jpeg(_screen_phone(p, 0.3, rng), 70)
    yield "480 q60", jpeg(fit(p, 480), 60)
    yield "q35", jpeg(p, 35)
    yield "blur 1", jpeg(p.filter(ImageFilter.GaussianBlur(1.0)), 85)
    yield "sharpen", jpeg(p.filter(ImageFilter.UnsharpMask(2, 120, 2)), 85)
    yield "caption", jpeg(_captioned(p), 85)
    yield "telegram twice", telegram_copy(Image.open(io.BytesIO(jpeg(fit(p, 900), 75))))
    yield "rotate 6", jpeg(p.rotate(6, Image.Resampling.BICUBIC, expand=True), 88)
    yield "mirror+bright", jpeg(bright(ImageOps.mirror(p)).enhance(1.25), 85)


def _originals(natural: bool, seed: int) -> Iterator[tuple[str, Image.Image, str, bool]]:
    """(name, picture, owner, in the reference) of every original."""
    if natural:
        for k, (name, data) in enumerate(natural_photos(30, seed)):
            picture = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
            yield f"n{k:03d}", picture, name, k % 2 == 0
        return
    for k, (photo, customer) in enumerate(lookalikes.photographs(seed, 3, 6)):
        yield f"o{k:04d}", lookalikes.draw(photo, customer), customer.id, customer.index < 3


def write(folder: Path, natural: bool, seed: int) -> dict[str, dict[str, object]]:
    (folder / "ref").mkdir(parents=True, exist_ok=True)
    (folder / "leak").mkdir(exist_ok=True)
    truth: dict[str, dict[str, object]] = {}
    for name, picture, owner, present in _originals(natural, seed):
        if present:
            (folder / "ref" / f"{name}.jpg").write_bytes(jpeg(picture, 92))
        for j, (variant, data) in enumerate(stress(picture, random.Random(f"{seed}:{name}"))):
            file = f"{name}_{j:02d}" + (".png" if data[:4] == b"\x89PNG" else ".jpg")
            (folder / "leak" / file).write_bytes(data)
            truth[file] = {"variant": variant, "owner": owner, "present": present,
                           "original": f"{name}.jpg"}  # fmt: skip
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def measure(folder: Path, workers: int) -> None:
    truth = json.loads((folder / "truth.json").read_text())
    owners = {t["original"]: t["owner"] for t in truth.values()}
    result = api.compare(folder / "leak", folder / "ref", workers=workers)
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    misses = []
    for image in result.images:
        t = truth[image.path]
        row = rows[t["variant"]]
        first = image.matches[0] if image.matches and image.status not in NOT_FOUND else None
        named = owners[first.path] if first is not None else None
        check = image.matches[0].verification if image.matches else None
        why = f" ({check.reason})" if check is not None else ""
        if t["present"]:
            row["present"] += 1
            row["right"] += named == t["owner"]
            row["wrong"] += named is not None and named != t["owner"]
            if named != t["owner"]:
                misses.append(f"{image.path} {t['variant']} ({t['owner']}): {image.status}{why}")
        else:
            row["absent"] += 1
            row["unmatched"] += image.status == "unmatched"
            row["wrong"] += named is not None
            if named is not None:
                misses.append(f"{image.path} {t['variant']} (absent {t['owner']}): {named}")
    print("| variant | present, right first | absent, unmatched | another named |")
    print("|---|---|---|---|")
    for variant, row in rows.items():
        print(f"| {variant} | {row['right']}/{row['present']} | {row['unmatched']}/{row['absent']}"
              f" | {row['wrong']} |")  # fmt: skip
    total = Counter[str]()
    for row in rows.values():
        total.update(row)
    print(
        f"| **all** | {total['right']}/{total['present']} | "
        f"{total['unmatched']}/{total['absent']} | {total['wrong']} |"
    )
    print("\n".join(misses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--natural", action="store_true", help="the corpus's camera photos")
    parser.add_argument("--seed", type=int, default=3, help="the look-alikes' (or photos') seed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", metavar="DIR", help="write the set here, or reuse it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kyctriage-stress-") as scratch:
        folder = Path(args.keep) if args.keep else Path(scratch)
        if not (folder / "truth.json").exists():
            write(folder, args.natural, args.seed)
        measure(folder, args.workers)


if __name__ == "__main__":
    main()
