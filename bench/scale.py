"""Scale: a scan of 100,000 images on this machine, its peak memory, and interrupt + resume.

    python bench/scale.py                       # 100,000 small photos, 2 workers
    python bench/scale.py --count 10000         # a quicker look
    python bench/scale.py --phone 200           # also the phone-size files of bench/scan_speed

Generates COUNT small JPEGs once into a cache folder outside the repository: random crops of
the real camera photos in ../shared/corpus (a different crop, size, tone and quality each,
256-480 px), each carrying the EXIF block of one of those photos byte for byte (so every record
holds a full camera EXIF set, MakerNote-derived tags and all: the heavy case for memory).

Then, on the same folder:
1. an uninterrupted `kyctriage scan --json` (peak RSS of the whole process tree sampled every
   0.2 s from /proc, and of the parent alone; wall time);
2. the same scan with a journal, interrupted by SIGINT half-way, then continued with --resume;
   its report must equal the uninterrupted one (timing fields and the command apart).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

from PIL import Image, ImageEnhance

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "exif-samples"
CACHE = Path(os.environ.get("KYCTRIAGE_BENCH_CACHE", "/tmp/kyctriage-bench"))
PER_FOLDER = 1000  # files per sub-folder, as phone dumps and exports are split
GENERATOR_VERSION = 2
TIMING_FIELDS = ("started", "finished", "workers", "command")


# --- the files ---------------------------------------------------------------------------


def _exif_segment(data: bytes) -> bytes | None:
    """The first APP1 Exif segment of a JPEG, marker and length included, as stored."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xE1 and data[pos + 4 : pos + 10] == b"Exif\x00\x00":
            return data[pos : pos + 2 + length]
        if marker == 0xDA:
            break
        pos += 2 + length
    return None


def _sources() -> list[tuple[Image.Image, bytes | None]]:
    found = []
    for path in sorted(CORPUS.rglob("*.jpg")):
        data = path.read_bytes()
        with Image.open(path) as image:
            image.draft("RGB", (1024, 1024))
            rgb = image.convert("RGB")
        rgb.thumbnail((1024, 1024))
        found.append((rgb, _exif_segment(data)))
    return found


_SOURCES: list[tuple[Image.Image, bytes | None]] = []
_DATE = re.compile(rb"(?:19|20)\d\d:\d\d:\d\d \d\d:\d\d:\d\d")


def _date(rng: random.Random) -> bytes:
    """A date of the same length, so that no record shares its times with another (as in a
    real dump, where the dates are the values least repeated)."""
    stamp = time.gmtime(rng.randint(1_420_070_400, 1_735_689_600))  # 2015-2024
    return time.strftime("%Y:%m:%d %H:%M:%S", stamp).encode()


def _make(job: tuple[int, Path]) -> int:
    index, target = job
    if not _SOURCES:
        _SOURCES.extend(_sources())
    rng = random.Random(index)
    base, exif = _SOURCES[index % len(_SOURCES)]
    w, h = base.size
    cw, ch = rng.randint(w // 3, w), rng.randint(h // 3, h)
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    crop = base.crop((x, y, x + cw, y + ch))
    crop.thumbnail((rng.randint(256, 480),) * 2)
    crop = ImageEnhance.Brightness(crop).enhance(rng.uniform(0.8, 1.2))
    out = tempfile.SpooledTemporaryFile()
    crop.save(out, "JPEG", quality=rng.randint(70, 95))
    out.seek(0)
    data = out.read()
    if exif:  # after SOI, before the JFIF segment Pillow wrote; with dates of its own
        data = data[:2] + _DATE.sub(lambda m: _date(rng), exif) + data[2:]
    target.write_bytes(data)
    return len(data)


def generate(count: int, workers: int) -> Path:
    folder = CACHE / f"scale-v{GENERATOR_VERSION}-{count}"
    done = folder.with_name(folder.name + ".complete")
    if done.is_file():
        return folder
    jobs = []
    for index in range(count):
        sub = folder / f"{index // PER_FOLDER:04d}"
        if index % PER_FOLDER == 0:
            sub.mkdir(parents=True, exist_ok=True)
        jobs.append((index, sub / f"IMG_{index:06d}.jpg"))
    started = time.perf_counter()
    with Pool(workers) as pool:
        total = sum(pool.imap_unordered(_make, jobs, chunksize=256))
    print(f"generated {count} files, {total / 2**20:.0f} MiB, in "
          f"{time.perf_counter() - started:.0f} s into {folder}", file=sys.stderr)  # fmt: skip
    done.write_text("ok\n")
    return folder


# --- measuring ----------------------------------------------------------------------------


def _tree_rss(root: int) -> tuple[int, int]:
    """(RSS of root and all its descendants, RSS of root), in bytes, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * page
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree), rss.get(root, 0)


def run_scan(args: list[str], interrupt_after: float | None = None) -> dict[str, float]:
    """Run kyctriage scan, sampling memory; SIGINT after interrupt_after seconds if given."""
    command = [shutil.which("kyctriage") or "kyctriage", "scan", *args]
    started = time.perf_counter()
    # A job started in the background (`cmd &`, nohup) inherits SIGINT ignored, and Python then
    # keeps ignoring it: give the scan the default disposition, as a terminal's Ctrl-C finds it.
    # Its stderr goes to a file: an unread pipe would stall the scan once the pipe is full.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    peak_tree = peak_parent = 0
    interrupted = False
    while process.poll() is None:
        tree, parent = _tree_rss(process.pid)
        peak_tree, peak_parent = max(peak_tree, tree), max(peak_parent, parent)
        if interrupt_after is not None and not interrupted:
            if time.perf_counter() - started >= interrupt_after:
                process.send_signal(signal.SIGINT)
                interrupted = True
        time.sleep(0.2)
    log.seek(0)
    stderr = log.read().decode("utf-8", "replace")
    log.close()
    expected = 130 if interrupted else 0
    if process.returncode != expected:
        raise SystemExit(f"scan exited {process.returncode}, not {expected}: {stderr[-2000:]}")
    return {
        "seconds": time.perf_counter() - started,
        "peak_tree": peak_tree,
        "peak_parent": peak_parent,
        "returncode": process.returncode,
    }


def _comparable(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in TIMING_FIELDS:
        data["meta"].pop(key, None)
    return data


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    phone_help = "also scan N phone-size files made by bench/scan_speed.py"
    parser.add_argument("--phone", type=int, default=0, help=phone_help)
    parser.add_argument("--no-resume", action="store_true", help="skip the interrupt + resume run")
    args = parser.parse_args()
    folder = generate(args.count, args.workers)
    roots = [str(folder)]
    if args.phone:
        sys.path.insert(0, str(REPO / "bench"))
        import scan_speed  # the generator of the speed bench: 12 MP, real EXIF

        phone = scan_speed.CACHE / f"n{args.phone}"
        scan_speed.generate(phone, args.phone, scan_speed.DEFAULT_EXIF_SOURCE, args.workers)
        roots.append(str(phone))
    files = sum(1 for root in roots for p in Path(root).rglob("*") if p.is_file())
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{files} files under {', '.join(roots)}; --workers {args.workers}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="kyctriage-scale-") as tmp:
        full, part = Path(tmp) / "full.json", Path(tmp) / "part.json"
        common = ["--workers", str(args.workers), "--thumbnails", "none"]
        one = run_scan([*roots, "--json", str(full), *common])
        size = full.stat().st_size
        print(f"uninterrupted: {one['seconds']:.0f} s ({files / one['seconds']:.0f} files/s), "
              f"peak RSS {_mib(one['peak_tree'])} for the process tree, "
              f"{_mib(one['peak_parent'])} for the parent; report {_mib(size)}")  # fmt: skip
        if args.no_resume:
            return
        journal = Path(tmp) / "part.journal"
        cut = run_scan(
            [*roots, "--json", str(part), "--journal", str(journal), *common],
            interrupt_after=one["seconds"] / 2,
        )
        lines = sum(1 for _ in journal.open("rb")) if journal.exists() else 0
        rest = run_scan([*roots, "--json", str(part), "--journal", str(journal), "--resume",
                         *common])  # fmt: skip
        same = _comparable(full) == _comparable(part)
        print(
            f"interrupted at {cut['seconds']:.0f} s (exit {cut['returncode']}, journal "
            f"{lines} lines); resumed in {rest['seconds']:.0f} s, peak RSS "
            f"{_mib(rest['peak_tree'])}; report equal to the uninterrupted one: {same}"
        )
        if not same:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
