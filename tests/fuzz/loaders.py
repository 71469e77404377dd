"""The loaders' fuzz target: bytes -> a loader of a file kyctriage did not make (saved report,
journal, index, profile, fingerprint, Telegram result.json), and the seeds that start it."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import tempfile
import time
import warnings
from pathlib import Path

from PIL import Image

from kyctriage.attribution import fingerprint
from kyctriage.attribution.profile import load_profile
from kyctriage.errors import KyctriageError
from kyctriage.match import index
from kyctriage.match.entries import entries
from kyctriage.render.csv import render_csv, render_timeline
from kyctriage.render.html_chart import build_chart
from kyctriage.render.json import iter_json
from kyctriage.render.terminal import summary
from kyctriage.scanning.journal import Journal
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan
from kyctriage.scanning.telegram import parse_export
from kyctriage.serialise import load_report
from kyctriage.untrusted import BadInput

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
# The first byte of an input picks the loader; the rest is the file.
KINDS = ("report", "journal", "index", "profile", "fingerprint", "telegram")
TIME_BOUND = 5.0  # seconds for one input; a loader is linear in its (small) input
JOURNAL_SCAN = {"roots": ["fuzz"]}
# Files the loaders are pointed at, in one private folder; a profile finds its key and
# fingerprint beside it, as samples/profile.toml does.
WORK = Path(tempfile.mkdtemp(prefix="kyctriage-fuzz-loaders-"))
for _name in ("inhouse-DEMO-KEY-NOT-SECRET.key", "vendor.fingerprint.json"):
    shutil.copyfile(SAMPLES / _name, WORK / _name)


class TooSlow(Exception):
    """An input took longer than TIME_BOUND."""


def _report(body: bytes) -> None:
    path = WORK / "report.json"
    path.write_bytes(body)
    try:
        report = load_report(path)
    except KyctriageError:
        return
    # What `report SAVED` does with a loaded report: every renderer but the HTML page's
    # template (its chart, the part that computes, is built).
    for _ in iter_json(report):
        pass
    for render in (render_csv, render_timeline):
        for _ in render(report):
            pass
    build_chart(report, {})
    from rich.console import Console

    Console(file=io.StringIO(), width=100).print(summary(report))


def _journal(body: bytes) -> None:
    path = WORK / "journal"
    path.write_bytes(body)
    try:
        Journal(path, JOURNAL_SCAN, "2026-01-01T00:00:00", resume=True).close()
    except KyctriageError:
        return


def _index(body: bytes) -> None:
    path = WORK / "index.db"
    path.write_bytes(body)
    try:
        index.load(path)
    except KyctriageError:
        return


def _profile(body: bytes) -> None:
    path = WORK / "profile.toml"
    path.write_bytes(body)
    try:
        load_profile(path)
    except KyctriageError:
        return


def _fingerprint(body: bytes) -> None:
    try:
        fingerprint.load_text(body)
    except BadInput:
        return


def _telegram(body: bytes) -> None:
    parse_export(body, "export")


_LOADERS = dict(
    zip(KINDS, (_report, _journal, _index, _profile, _fingerprint, _telegram), strict=True)
)


def check_loader(data: bytes) -> None:
    """One input through its loader: a loader may refuse it (its one-line error), nothing else
    may escape: no other exception, no warning, no input slower than TIME_BOUND."""
    if not data:
        return
    started = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _LOADERS[KINDS[data[0] % len(KINDS)]](data[1:])
    if caught:
        first = caught[0]
        raise AssertionError(f"warning escaped: {first.category.__name__}: {first.message}")
    elapsed = time.monotonic() - started
    if elapsed > TIME_BOUND:
        raise TooSlow(f"{elapsed:.1f} s for {len(data)} bytes (bound {TIME_BOUND} s)")


def _jpeg(software: str) -> bytes:
    exif = Image.Exif()
    exif[0x0131] = software
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def loader_seeds() -> list[bytes]:
    """A valid file of every kind (each prefixed by its kind's byte) and the hostile shapes the
    regression tests use: small enough for the fuzzer's length limit."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ev"
        folder.mkdir()
        (folder / "a.jpg").write_bytes(_jpeg("Camera 1"))
        (folder / "b.jpg").write_bytes(_jpeg("Camera 2"))
        journal = Path(tmp) / "journal"
        options = ScanOptions(roots=(str(folder),), thumbnails="none", in_process=True)
        report = scan(options, journal_path=str(journal))
        report_text = "".join(iter_json(report)).encode()
        journal_lines = journal.read_bytes().splitlines()
        header = json.loads(journal_lines[0])
        header["scan"] = JOURNAL_SCAN
        journal_text = b"\n".join([json.dumps(header).encode(), *journal_lines[1:]]) + b"\n"
        db = Path(tmp) / "index.db"
        with sqlite3.connect(db) as made:
            made.execute("PRAGMA page_size = 512")  # a few KB, inside the length limit
            made.executescript(index._SCHEMA)
            made.execute("INSERT INTO meta VALUES ('index_version', ?)", (index.INDEX_VERSION,))
        made.close()
        index.add(db, entries(report.records))
        index_bytes = db.read_bytes()
    seeds = {
        "report": [report_text, report_text.replace(b'"ok"', b'"weird"', 1),
                   report_text[:-1] + b',"x":' + b"[" * 200 + b"]" * 200 + b"}"],
        "journal": [journal_text, journal_text.replace(b"2026", b"\xc2\xb2\xc2\xb2", 1)],
        "index": [index_bytes],
        "profile": [(SAMPLES / "profile.toml").read_bytes(),
                    b'[[pipeline]]\nname = "a"\nactive_from = 2018-01-01T10:00:00\n'
                    b"active_to = 2019-01-01\n"],
        "fingerprint": [(SAMPLES / "vendor.fingerprint.json").read_bytes()],
        "telegram": [(SAMPLES / "telegram" / "result.json").read_bytes(),
                     b'{"messages":' + b"[" * 2000,
                     b'{"messages":[{"date_unixtime":"253402300799","photo":"a/b.jpg"}]}'],
    }  # fmt: skip
    return [bytes([KINDS.index(kind)]) + body for kind, bodies in seeds.items() for body in bodies]


def write_loader_seeds(target: Path) -> int:
    target.mkdir(parents=True, exist_ok=True)
    seeds = loader_seeds()
    for number, data in enumerate(seeds):
        (target / f"loader-{number:02d}").write_bytes(data)
    return len(seeds)
