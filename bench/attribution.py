"""Attribution benchmark: a labelled set (in-house, vendor, unrelated; original and Telegram-like
re-encoded) scanned with a profile; prints confusion matrices and the accuracy.

    python bench/attribution.py [--corpus ../shared/corpus/exif-samples] [--work /tmp/kyc-attr]

The pictures are the real camera photos of the shared corpus, each turned into one class:
- in-house: the in-house watermark embedded, EXIF dated inside the in-house era;
- vendor: re-encoded by a "vendor encoder" (resized to 1024 px, quality 75, 4:2:2, its own
  Software tag), EXIF dated inside the vendor window;
- unrelated: the camera's own file, EXIF dated after every window (or the corpus date).
Every picture is also posted through a Telegram-like export: longest side at most 1280, JPEG
quality 87 progressive, metadata stripped, listed as a photo in the export's result.json.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image

from kyctriage.attribution.checks import pixel_checks
from kyctriage.attribution.fingerprint import dumps, learn
from kyctriage.attribution.profile import load_profile
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan
from kyctriage.watermark import embed, keygen, load_key

CLASSES = ("in-house", "vendor", "unrelated")
LABELS = ("in-house", "vendor", "unattributed", "inconclusive")
VENDOR_SOFTWARE = "VendorCapture 3.2"


def _exif(taken: datetime | None, software: str | None, make: str | None) -> bytes:
    exif = Image.Exif()
    if software:
        exif[0x0131] = software
    if make:
        exif[0x010F] = make
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    return exif.tobytes()


def _save(image: Image.Image, path: Path, **kw: object) -> None:
    image.save(path, "JPEG", **kw)


def _vendor_encode(image: Image.Image, path: Path, taken: datetime) -> None:
    copy = image.copy()
    copy.thumbnail((1024, 1024))
    _save(copy, path, quality=75, subsampling=1, exif=_exif(taken, VENDOR_SOFTWARE, "Vendor"))


def _telegram(path: Path, out: Path) -> None:
    image = Image.open(path).convert("RGB")
    image.thumbnail((1280, 1280))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=87, progressive=True)
    out.write_bytes(buffer.getvalue())


def build(corpus: Path, work: Path) -> tuple[dict[str, str], Path]:
    """Write the labelled set; returns {relative path: true class} and the profile path."""
    if work.exists():
        shutil.rmtree(work)
    leak, train = work / "leak", work / "vendor-train"
    export = leak / "ChatExport"
    for folder in (leak / "originals", export / "photos", train):
        folder.mkdir(parents=True)
    keygen(str(work / "inhouse.key"))
    key = load_key(str(work / "inhouse.key"))
    photos = sorted(p for p in corpus.rglob("*.jpg"))
    truth: dict[str, str] = {}
    messages = []
    start = datetime(2018, 5, 1, 12, 0, 0)
    for index, path in enumerate(photos):
        image = Image.open(path).convert("RGB")
        kind = CLASSES[index % 3]
        name = f"{kind}_{index:03d}.jpg"
        target = leak / "originals" / name
        if kind == "in-house":
            taken = datetime(2018, 4, 1) + timedelta(days=index * 3, hours=index)
            marked = embed(image, key)
            _save(marked, target, quality=92, exif=_exif(taken, "KYC-App 5", "Exchange"))
        elif kind == "vendor":
            taken = datetime(2018, 1, 20) + timedelta(days=index % 35, hours=index % 9)
            _vendor_encode(image, target, taken)
            _vendor_encode(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                           train / name, taken)  # fmt: skip
        else:
            taken = datetime(2019, 6, 1) + timedelta(days=index)
            _save(image, target, quality=85, exif=_exif(taken, None, "Camera"))
        truth[f"originals/{name}"] = kind
        posted = start + timedelta(hours=index)
        photo_name = f"photo_{index}@{posted:%d-%m-%Y_%H-%M-%S}.jpg"
        _telegram(target, export / "photos" / photo_name)
        truth[f"ChatExport/photos/{photo_name}"] = kind
        messages.append({
            "id": index, "type": "message", "date": posted.isoformat(),
            "date_unixtime": str(int((posted - datetime(1970, 1, 1)).total_seconds())),
            "from": "leaker", "photo": f"photos/{photo_name}",
        })  # fmt: skip
    (export / "result.json").write_text(json.dumps({"name": "leak", "messages": messages}))
    train_scan = scan(ScanOptions(roots=(str(train),), workers=2))
    (work / "vendor.fingerprint.json").write_text(dumps(learn("vendor", train_scan.records)))
    profile = work / "profile.toml"
    profile.write_text(
        '[[pipeline]]\nname = "in-house"\nactive_from = 2018-03-01\n'
        'watermark = { key = "inhouse.key" }\n\n'
        '[[pipeline]]\nname = "vendor"\nactive_from = 2018-01-15\nactive_to = 2018-02-28\n'
        'fingerprint = "vendor.fingerprint.json"\n'
    )
    return truth, profile


def _matrix(title: str, pairs: list[tuple[str, str]]) -> None:
    counts = Counter(pairs)
    print(f"\n{title} ({len(pairs)} images): rows = truth, columns = verdict")
    print(f"{'':>12}" + "".join(f"{label:>14}" for label in LABELS))
    for kind in CLASSES:
        print(f"{kind:>12}" + "".join(f"{counts[(kind, label)]:>14}" for label in LABELS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    corpus = Path(__file__).resolve().parents[2] / "shared/corpus/exif-samples"
    parser.add_argument("--corpus", type=Path, default=corpus)
    parser.add_argument("--work", type=Path, default=Path("/tmp/kyctriage-bench-attribution"))
    args = parser.parse_args()
    truth, profile_path = build(args.corpus, args.work)
    profile = load_profile(profile_path)
    started = time.perf_counter()
    report = scan(ScanOptions(roots=(str(args.work / "leak"),), workers=2, profile=profile,
                              pixel_checks=pixel_checks(profile)))  # fmt: skip
    elapsed = time.perf_counter() - started
    surviving, stripped = [], []
    expected = {"in-house": "in-house", "vendor": "vendor", "unrelated": "unattributed"}
    for record in report.records:
        if record.path not in truth or record.verdict is None:
            continue
        pair = (truth[record.path], record.verdict.label)
        (stripped if record.messenger else surviving).append(pair)
    _matrix("Metadata survived", surviving)
    _matrix("Telegram re-encode, metadata stripped", stripped)
    correct = sum(1 for kind, label in surviving if expected[kind] == label)
    print(f"\naccuracy where metadata survived: {correct}/{len(surviving)} "
          f"= {correct / max(1, len(surviving)):.1%} (target >= 98%)")  # fmt: skip
    vendor_claims = [(k, v) for k, v in stripped if v == "vendor"]
    print(f"stripped images labelled vendor: {len(vendor_claims)} (must be 0: no evidence left)")
    inhouse = [v for k, v in stripped if k == "in-house"]
    print(f"stripped in-house images found by the watermark: {inhouse.count('in-house')}/"
          f"{len(inhouse)}")  # fmt: skip
    print(f"scan of {len(report.records)} files: {elapsed:.1f} s")


if __name__ == "__main__":
    main()
