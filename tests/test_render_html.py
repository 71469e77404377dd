"""The HTML report and the custody manifest, on hand-built reports with hostile strings."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from kyctriage.cli.main import main
from kyctriage.model import (
    Cluster,
    Clustering,
    FileRecord,
    ImageInfo,
    JpegInfo,
    Member,
    MetadataValue,
    Reason,
    Report,
    ScanMeta,
    TelegramMessage,
    Thresholds,
    Timestamp,
    Verdict,
    WatermarkCheck,
    XmpEvent,
)
from kyctriage.render.html import build_page, render_html
from kyctriage.render.html_chart import build_chart, verdict_slots
from kyctriage.render.json import render_json
from kyctriage.render.manifest import render_manifest
from kyctriage.render.text import visible

# Each payload sets window.__pwned if it ever runs; the browser tests check that it does not.
PAYLOADS = (
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "</textarea></script><svg onload=window.__pwned=3>",
    "javascript:window.__pwned=4",
    "{{ 7*7 }}{% raw %}",
    "evil\u202egpj.exe",
)
HOSTILE = "".join(PAYLOADS)
# A real 1x1 JPEG, base64: a thumbnail the page may show.
PIXEL = base64.b64encode(bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c19"
    "12130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b08"
    "0001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000"
    "02010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1"
    "f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63646566"
    "6768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9"
    "bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100"
    "003f00d2cf20ffd9"
)).decode()  # fmt: skip


def _jpeg() -> ImageInfo:
    tables = ((1,) * 64,)
    jpeg = JpegInfo(tables, 87, True, "4:2:0", True, ("SOI", "EOI"), True, False, False, False,
                    False, (), 0)  # fmt: skip
    return ImageInfo("JPEG", False, 1280, 960, "RGB", None, 1, False, jpeg)


def _stamp(value: str, source: str = "exif:DateTimeOriginal") -> Timestamp:
    return Timestamp(source, value, None, "high", value)


def hostile_report(thumbnails: str = "pixelated") -> Report:
    """Hostile strings wherever evidence reaches the report."""
    meta = ScanMeta(
        tool_version="0.1.0", command=("kyctriage", "scan", f"leak/{HOSTILE}"),
        roots=(f"leak/{HOSTILE}",), started="2026-01-01T00:00:00+00:00",
        finished="2026-01-01T00:01:00+00:00", workers=2, profile=f"{HOSTILE}.toml",
        profile_sha256="ab" * 32, key_fingerprints=(("in-house", "0123456789abcdef"),),
        thumbnails=thumbnails,
    )  # fmt: skip
    root = meta.roots[0]
    records = [
        FileRecord(
            root=root,
            path=f"names/{payload}.jpg",
            status="ok",
            sha256=f"{i:064x}",
            image=_jpeg(),
            thumbnail=PIXEL if thumbnails != "none" else None,
            exif=(
                ("ImageDescription", payload),
                ("Make", payload),
                ("Model", "X"),
                ("Software", payload),
                ("UserComment", payload),
            ),
            xmp=(("xmp:CreatorTool", payload), (f"dc:{payload}", payload)),
            xmp_history=(XmpEvent(payload, "2018-02-02T10:00:00", payload),),
            iptc=(("By-line", payload), ("Caption-Abstract", payload)),
            makernotes=(("Apple:ContentIdentifier", payload),),
            metadata=(MetadataValue(payload, "Caption-Abstract", payload),),
            best_time=_stamp(f"2018-0{i + 1}-02T10:00:00"),
            timestamps=(_stamp("2018-02-02"),),
            verdict=Verdict(
                "vendor" if i % 2 else "in-house",
                "medium",
                (Reason("time", f"reason {payload}", "vendor"),),
            ),
            watermark=(WatermarkCheck("in-house", "keyed", "absent", 0.01, 0.2, 1e-6),),
            telegram=TelegramMessage(
                "result.json",
                payload,
                7,
                "2018-05-01T00:00:00+00:00",
                None,
                payload,
                None,
                None,
                "photo",
                text=payload,
            ),
        )  # fmt: skip
        for i, payload in enumerate(PAYLOADS)
    ]
    records.append(FileRecord(root=root, path=f"bad/{HOSTILE}", status="error",
                              error=f"cannot decode: {HOSTILE}", sha256="f" * 64))  # fmt: skip
    records.append(FileRecord(root=root, path="tampered.jpg", status="ok", image=_jpeg(),
                              thumbnail='x" onerror="window.__pwned=5'))  # fmt: skip
    return Report(meta, tuple(records))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.data: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.data.append(data)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _island(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html)
    assert match
    return json.loads(match.group(1))


def test_hostile_strings_make_no_markup():
    html = render_html(hostile_report())
    parsed = _parse(html)
    names = [tag for tag, _ in parsed.tags]
    assert names.count("script") == 2 and "textarea" not in names and "svg" in names
    assert names.count("img") == 0  # thumbnails are drawn by the script, from the data island
    for tag, attrs in parsed.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert attrs.get("href", "#").startswith("#")
        assert "src" not in attrs
    assert "window.__pwned" not in "".join(attrs.get("content") or "" for _, attrs in parsed.tags)
    text = "".join(parsed.data)
    assert "<script>window.__pwned=1</script>" in text  # shown as text, escaped in the source
    assert "{{ 7*7 }}{% raw %}" in text and "49" not in text
    assert "\u202e" not in html and "evil\\u202egpj.exe" in text


def test_new_metadata_blocks_reach_the_details_as_data():
    """XMP, its history, IPTC and the merged view travel in the data island as text (the
    page puts them in with textContent); the markup test above covers the rest."""
    rows = _island(render_html(hostile_report()))["rows"]
    details = [r["d"] for r in rows if "history" in r["d"]]
    assert details
    for key in ("history", "iptc", "xmp", "metadata"):
        assert any(PAYLOADS[0] in json.dumps(d[key]) for d in details), key


def test_data_island_carries_the_strings_as_json_text():
    html = render_html(hostile_report())
    body = re.search(r'id="report-data">(.*?)</script>', html, re.S)
    assert body and "<" not in body.group(1) and "&" not in body.group(1)
    data = _island(html)
    rows = data["rows"]
    assert rows[1]["mk"] == PAYLOADS[1] and rows[0]["why"] == [["time", "reason " + PAYLOADS[0]]]
    assert rows[5]["p"] == "names/evil\\u202egpj.exe.jpg"
    assert dict(rows[3]["d"]["telegram"])["text"] == PAYLOADS[3]
    assert rows[0]["th"] == PIXEL and rows[-1]["th"] is None  # tampered thumbnail dropped
    assert rows[0]["wm"] == ["in-house keyed: absent (false-positive bound 1.0e-06)"]


def test_content_security_policy_allows_only_the_hashed_style_and_script():
    html = render_html(hostile_report())
    csp = next(a["content"] for t, a in _parse(html).tags if a.get("http-equiv") ==
               "Content-Security-Policy")  # fmt: skip
    assert csp is not None
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["img-src"] == "data:"
    assert "unsafe" not in csp and "http" not in csp
    assert directives["require-trusted-types-for"] == "'script'"
    for tag, key in (("style", "style-src"), ("script", "script-src")):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.S)
        assert body
        digest = base64.b64encode(hashlib.sha256(body.group(1).encode()).digest()).decode()
        assert directives[key] == f"'sha256-{digest}'"
    assert re.search(r"https?://", html.replace('xmlns="http://www.w3.org/2000/svg"', "")) is None


def test_header_states_case_facts_and_thumbnail_mode():
    page = build_page(hostile_report())
    facts = {f.label: f.value for f in page.facts}
    assert facts["Profile SHA-256"] == "ab" * 32
    assert facts["Key fingerprint (in-house)"] == "0123456789abcdef"
    assert facts["Thumbnails"] == "pixelated" and "pixelated" in page.thumbnail_note
    assert facts["Files"] == "8 seen: 7 decoded, 1 error, 0 skipped"
    assert [(v.label, v.count) for v in page.verdicts] == [("in-house", 3), ("vendor", 3)]
    assert [e.path for e in page.errors] == [visible(f"bad/{HOSTILE}")]
    full = render_html(hostile_report("full"))
    assert "personal data" in full and "Handle and forward it as personal data" in full
    assert "Preview</th>" not in render_html(hostile_report("none"))


def test_same_report_same_html():
    assert render_html(hostile_report()) == render_html(hostile_report())


def _dated(values: list[tuple[str, str, str]]) -> Report:
    records = tuple(
        FileRecord(root="r", path=f"{i}.jpg", status="ok", image=_jpeg(),
                   best_time=_stamp(value, source), verdict=Verdict(label, "high", ()))
        for i, (value, source, label) in enumerate(values)
    )  # fmt: skip
    return Report(hostile_report().meta, records)


def test_timeline_counts_months_by_verdict_and_leaves_out_mtime():
    report = _dated([
        ("2018-01-05T00:00:00", "exif:DateTimeOriginal", "vendor"),
        ("2018-01-09T00:00:00", "exif:DateTimeOriginal", "in-house"),
        ("2018-03-01T00:00:00", "filename:telegram", "unattributed"),
        ("2026-01-01T00:00:00+00:00", "fs:mtime", "unattributed"),
    ])  # fmt: skip
    chart = build_chart(report, verdict_slots(report))
    assert chart.unit == "month" and len(chart.bars) == 3 and chart.charted == 3
    assert [len(b.segments) for b in chart.bars] == [2, 0, 1]
    assert {s.title for s in chart.bars[0].segments} == {"2018-01: vendor 1", "2018-01: in-house 1"}
    assert "fs:mtime" in chart.notes[0]
    long = _dated([("2001-01-01T00:00:00", "exif:DateTimeOriginal", "vendor"),
                   ("2019-06-01T00:00:00", "exif:DateTimeOriginal", "vendor")])  # fmt: skip
    assert build_chart(long, verdict_slots(long)).unit == "year"


@dataclasses.dataclass(frozen=True)
class _ClusteredReport(Report):
    clusters: Clustering | None = None


def test_cluster_gallery_when_the_report_has_clusters():
    report = hostile_report()
    first, second = report.records[0], report.records[1]
    members = tuple(
        Member(r.root, r.path, r.sha256 or "", rel, view, (("phash", 2),), steps)
        for r, rel, view, steps in ((first, "representative", "as is", ()),
                                    (second, "near", "mirrored", ("mirrored", PAYLOADS[0])))
    )  # fmt: skip
    cluster = Cluster("c" + "0" * 16, "near", members[0], members, first.best_time, first.path)
    thresholds = Thresholds(("phash",), 20, 10, ("mirror",), 8, 1000)
    clustered = _ClusteredReport(report.meta, report.records,
                                 clusters=Clustering(thresholds, (cluster,), 2, 0))  # fmt: skip
    html = render_html(clustered)
    assert 'id="clusters"' in html and "mirrored, &lt;script&gt;window.__pwned=1" in html
    imgs = [a for t, a in _parse(html).tags if t == "img"]
    assert len(imgs) == 2 and all(a["src"] == f"data:image/jpeg;base64,{PIXEL}" for a in imgs)
    assert 'id="clusters"' not in render_html(report)


def test_manifest_is_checked_by_sha256sum(tmp_path: Path):
    root = tmp_path / "leak"
    (root / "sub").mkdir(parents=True)
    names = ["a.jpg", "sub/with space.jpg", "sub/back\\slash.jpg", "sub/new\nline.jpg"]
    records = []
    for name in names:
        data = name.encode() * 3
        (root / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        records.append(FileRecord(root="leak", path=name, status="ok", sha256=digest))
    records.append(FileRecord(root="leak", path="link.jpg", status="skipped", error="symbolic"))
    report = Report(dataclasses.replace(hostile_report().meta, roots=("leak",)), tuple(records))
    (tmp_path / "r.html").write_text("report")
    written = [("r.html", hashlib.sha256(b"report").hexdigest())]
    text = render_manifest(report, written, ("kyctriage", "report", "x\ny"))
    (tmp_path / "m.txt").write_text(text)
    assert "# not read (skipped: symbolic): leak/link.jpg" in text and "x\\u000ay" in text
    assert all(line.startswith(("#", "\\")) or re.match("[0-9a-f]{64}  ", line)
               for line in text.splitlines() if line)  # fmt: skip
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum is not installed")
    done = subprocess.run(["sha256sum", "--strict", "-c", "m.txt"], cwd=tmp_path,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == len(names) + 1
    (root / "a.jpg").write_bytes(b"changed")
    assert subprocess.run(["sha256sum", "-c", "m.txt"], cwd=tmp_path,
                          capture_output=True).returncode == 1  # fmt: skip


def test_report_command_writes_html_and_manifest_last(tmp_path: Path, monkeypatch):
    saved = tmp_path / "scan.json"
    saved.write_text(render_json(hostile_report()), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", "scan.json", "--html", "r.html", "--csv",
                                       "r.csv", "--manifest", "m.txt", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = (tmp_path / "m.txt").read_text()
    for name in ("r.html", "r.csv", "scan.json"):
        digest = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        assert f"{digest}  {name}\n" in manifest
    assert manifest.index("r.csv") < manifest.index("r.html")
    assert all(line.startswith(("#", "\\")) or re.match("[0-9a-f]{64}  ", line)
               for line in manifest.splitlines() if line)  # fmt: skip


def test_ten_thousand_images_stay_under_thirty_megabytes():
    one = hostile_report().records[0]
    records = tuple(
        dataclasses.replace(one, path=f"dump/{i:05d}/IMG_{i}.jpg", sha256=f"{i:064x}")
        for i in range(10_000)
    )
    html = render_html(Report(hostile_report().meta, records))
    assert len(html.encode()) < 30_000_000
    assert len(_island(html)["rows"]) == 10_000
