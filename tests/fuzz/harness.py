"""The fuzz target: bytes -> the per-file analysis a scan runs, and the corpus that seeds it."""

from __future__ import annotations

import io
import json
import random
import shutil
import sys
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path

from PIL import Image

from kyctriage.errors import FileProblem
from kyctriage.model import FileRecord
from kyctriage.scanning import pipeline, read
from kyctriage.scanning.ingest import Source
from kyctriage.scanning.options import ScanOptions
from kyctriage.serialise import from_data, to_data

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "exif-samples"
SAMPLES = ROOT / "samples"

# A file that takes longer than this in one process is a finding (a quadratic loop, an unbounded
# read); the scan's per-file limit (120 s) would only hide it. Generous for a shared machine.
TIME_BOUND = 5.0
# Enough for a phone photo's declared size, small enough that a 64 KB input inflating to the
# default 200 MP limit does not spend the run decoding zeros; the limit check itself is exercised.
MAX_PIXELS = 16_000_000
# A name the file-name time parser reads, and an extension that makes wrong content an error.
NAME = "IMG_20210314_101500.jpg"
MTIME_NS = 1_615_716_900_000_000_000
REFERENCE = datetime(2026, 1, 1)

OPTIONS = ScanOptions(roots=("fuzz",), max_pixels=MAX_PIXELS, in_process=True)
LOOKS = tempfile.mkdtemp(prefix="kyctriage-fuzz-looks-")  # features' spill files, one at a time
SOURCE = Source(root="fuzz", path=NAME, fs_path=NAME)


class TooSlow(Exception):
    """An input took longer than TIME_BOUND."""


def check_one(data: bytes) -> FileRecord | None:
    """Run one file's content through the scan's per-file analysis, below its error barrier
    (pipeline.probe_source catches everything), so that anything but FileProblem surfaces.
    No warning may escape either (the suite turns warnings into errors; a scan would print
    them). Then the record must survive the UTF-8 JSON report and load back equal."""
    started = time.monotonic()
    content = read.FileBytes(data=data, size=len(data), mtime_ns=MTIME_NS)
    sha256, md5 = pipeline.hashes.file_digests(data)
    base = FileRecord(
        root=SOURCE.root, path=SOURCE.path, status="error", size=len(data),
        mtime=pipeline._mtime_iso(MTIME_NS), sha256=sha256, md5=md5,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # with a folder, as a scan with clustering runs it: verification's features and
            # the closer decode of a picture showing others (looks.see) see the bytes too
            record, look = pipeline._probe_content(base, content, SOURCE, OPTIONS, REFERENCE,
                                                   LOOKS)  # fmt: skip
        except FileProblem:
            return None
    if look is not None:
        Path(look.spill).unlink()
    if caught:
        first = caught[0]
        raise AssertionError(f"warning escaped: {first.category.__name__}: {first.message}")
    elapsed = time.monotonic() - started
    if elapsed > TIME_BOUND:
        raise TooSlow(f"{elapsed:.1f} s for {len(data)} bytes (bound {TIME_BOUND} s)")
    text = json.dumps(to_data(record), sort_keys=True, ensure_ascii=False, allow_nan=False)
    loaded = from_data(FileRecord, json.loads(text.encode("utf-8")))
    if loaded != record:
        raise AssertionError(f"JSON round trip changed the record: {record!r} -> {loaded!r}")
    return record


def _small_copy(path: Path) -> bytes | None:
    """A camera photo re-encoded small with its EXIF kept: the real metadata inside the
    fuzzer's length limit."""
    try:
        with Image.open(path) as image:
            exif = image.info.get("exif")
            image.draft("RGB", (160, 160))
            small = image.convert("RGB")
            small.thumbnail((96, 96))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=80, **({"exif": exif} if exif else {}))
            return out.getvalue()
    except Exception:
        return None


def _screen() -> bytes:
    """A small JPEG screenshot showing a photograph (under the runs' 16 KiB max_len): the
    scan decodes it at a reduced DCT scale and looks at the picture again closer
    (looks.see, decode.closer)."""
    screen = Image.new("RGB", (1040, 1040), (238, 238, 240))
    rng = random.Random(7)  # a photograph's texture, made here: the corpus may be absent
    photo = Image.new("L", (32, 24))
    photo.putdata([rng.randrange(256) for _ in range(32 * 24)])
    shown = photo.resize((320, 240), Image.Resampling.BICUBIC).convert("RGB")
    screen.paste(shown, (600, 400))
    out = io.BytesIO()
    screen.save(out, "JPEG", quality=30, optimize=True)
    return out.getvalue()


def write_seeds(target: Path) -> int:
    """Copy the seed files into target (never into the repository): samples/, the shared
    real-camera corpus (whole and as small copies with their EXIF) and the hostile corpus."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests import hostile

    target.mkdir(parents=True, exist_ok=True)
    count = 0

    def put(name: str, data: bytes) -> None:
        nonlocal count
        (target / name).write_bytes(data)
        count += 1

    for folder, tag in ((SAMPLES, "samples"), (CORPUS, "corpus")):
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
            if path.suffix.lower() in (".md", ".txt", ".json", ".toml"):
                continue
            stem = f"{tag}-{path.relative_to(folder)}".replace("/", "_")
            put(stem, path.read_bytes())
            small = _small_copy(path)
            if small:
                put(f"{stem}.small.jpg", small)
    put("screen.jpg", _screen())
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "hostile"
        tree.mkdir()
        hostile.make_hostile_tree(tree)
        for path in sorted(tree.rglob("*")):
            if path.is_file() and not path.is_symlink() and path.stat().st_size < 1 << 20:
                put(f"hostile-{len(str(path.relative_to(tree)))}-{count}", path.read_bytes())
        shutil.rmtree(tree, ignore_errors=True)
    return count
