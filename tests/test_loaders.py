"""Issue 25 part B: a loader of an outside file fails in one line, bounded, never a traceback."""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import kyctriage
from kyctriage.errors import KyctriageError, UsageError
from kyctriage.match import index
from kyctriage.model import FileRecord, Report, ScanMeta, Timestamp
from kyctriage.render.html_chart import build_chart
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan
from kyctriage.untrusted import BadInput, check_depth, loads_json, read_bounded

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The command as an analyst runs it: a real process, its stderr as printed."""
    return subprocess.run(
        [sys.executable, "-m", "kyctriage", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kyctriage: error: "), done.stderr
    assert done.returncode == code, done.stderr
    return lines[0]


def jpeg(software: str | None = None) -> bytes:
    exif = Image.Exif()
    if software is not None:
        exif[0x0131] = software
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A real saved report of two photos, as JSON data."""
    folder = tmp_path_factory.mktemp("ev")
    (folder / "a.jpg").write_bytes(jpeg("Camera 1"))
    (folder / "b.jpg").write_bytes(jpeg())
    out = folder.parent / "saved.json"
    assert cli("scan", folder, "--json", out, "-q").returncode == 0
    return json.loads(out.read_text(encoding="utf-8"))


def edited(tmp_path: Path, data: object, name: str = "t.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


# --- the bounded reader and parser ----------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    started = time.monotonic()
    with pytest.raises(BadInput, match="not a regular file"):
        read_bounded(tmp_path / "fifo", 1000)
    assert time.monotonic() - started < 5


def test_size_is_capped(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 1001)
    with pytest.raises(BadInput, match="limit of 1000"):
        read_bounded(tmp_path / "big", 1000)
    assert read_bounded(tmp_path / "big", 10, head=True) == b"x" * 10


@pytest.mark.parametrize(
    "text",
    [
        b'{"messages":' + b"[" * 100_000,  # unclosed: json.loads would recurse into it
        b"[" * 65 + b"]" * 65,
        b"{" + b'"a":{' * 70 + b"}" * 71,
    ],
)
def test_deep_json_is_refused_before_parsing(text: bytes) -> None:
    with pytest.raises(BadInput):
        loads_json(text)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"a": ["[[[[" * 100, '\\"[{', {"b": "}}}]]]" * 50}]}).encode()
    assert loads_json(text)["a"][0] == "[[[[" * 100
    check_depth(b"[" * 32 + b"]" * 32)  # half the limit always passes


# --- 11: a saved report, edited -------------------------------------------------------------


def _edits(data: dict) -> list[tuple[str, object]]:
    def with_record(**changes: object) -> dict:
        copy = json.loads(json.dumps(data))
        record = copy["records"][0]
        for dotted, value in changes.items():
            target = record
            *parents, last = dotted.split("__")
            for parent in parents:
                target = target[parent]
            target[last] = value
        return copy

    deep = json.dumps(data)[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}"
    return [
        ("meta a string", {**data, "meta": "kyctriage"}),
        ("meta tool a string", {**data, "meta": {**data["meta"], "command": "scan"}}),
        ("unknown status", with_record(status="weird")),
        ("integer format", with_record(image__format=7)),
        ("non-hex sha256", with_record(sha256="zz" * 32)),
        ("long phash", with_record(hashes__phash="f" * 40)),
        ("negative width", with_record(image__width=-1)),
        (
            "superscript time",
            with_record(
                best_time={
                    "source": "exif:DateTimeOriginal",
                    "value": "²²²²-01-01",
                    "utc_offset": None,
                    "trust": "high",
                    "raw": "x",
                }
            ),
        ),  # fmt: skip
        (
            "unknown trust",
            with_record(
                timestamps=[
                    {
                        "source": "s",
                        "value": "2020-01-01T00:00:00",
                        "utc_offset": None,
                        "trust": "max",
                        "raw": "x",
                    }
                ]
            ),
        ),  # fmt: skip
        ("records an object", {**data, "records": {}}),
        ("exif a list", with_record(exif=[1, 2])),
        ("deep nesting", deep),
        ("not UTF-8", "\udcff"),
        ("NaN size", json.dumps(with_record()).replace('"size":', '"size":NaN,"x":', 1)),
    ]


def test_every_edit_of_a_saved_report_is_one_line(saved: dict, tmp_path: Path) -> None:
    for what, data in _edits(saved):
        if data == "\udcff":
            path = tmp_path / "t.json"
            path.write_bytes(b'{"meta": "\xff"}')
        else:
            path = edited(tmp_path, data)
        line = one_line_error(cli("report", path, "-q"))
        assert str(path) in line, what


def test_the_saved_report_itself_loads(saved: dict, tmp_path: Path) -> None:
    report = kyctriage.load_report(edited(tmp_path, saved))
    assert len(report.records) == 2


# --- 8: the HTML timeline's month loop --------------------------------------------------------


def _dated(*values: str) -> Report:
    from kyctriage.model import ImageInfo

    image = ImageInfo("JPEG", False, 64, 48, "RGB", None, 1, False)
    records = tuple(
        FileRecord("r", f"{i}.jpg", "ok", image=image,
                   best_time=Timestamp("exif:DateTimeOriginal", v, None, "high", v))
        for i, v in enumerate(values)
    )  # fmt: skip
    meta = ScanMeta("0", (), ("r",), "2026-01-01T00:00:00", "2026-01-01T00:00:00", 1)
    return Report(meta, records)


def test_timeline_of_superscript_and_extreme_years_ends() -> None:
    started = time.monotonic()
    chart = build_chart(_dated("²²²²-01-01", "2020-13-01T00:00:00", "2020-05-01T00:00:00"), {})
    assert chart.unit == "month" and chart.charted == 1 and len(chart.bars) == 1
    assert any("2 image(s) carry no usable time" in n for n in chart.notes)
    wide = build_chart(_dated("0001-01-01T00:00:00", "9999-12-31T00:00:00"), {})
    assert wide.unit == "year" and len(wide.bars) <= 10_000
    assert time.monotonic() - started < 10


# --- 9: a hostile index -----------------------------------------------------------------------


@pytest.fixture()
def built(saved: dict, tmp_path: Path) -> Path:
    from kyctriage.match.entries import entries
    from kyctriage.serialise import from_data

    records = [from_data(FileRecord, r) for r in saved["records"]]
    path = tmp_path / "ref.db"
    index.add(path, entries(records), create=True)
    return path


def _sql(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
    db.close()


def test_a_recursive_view_is_refused_quickly(built: Path, saved: dict, tmp_path: Path) -> None:
    _sql(
        built,
        "ALTER TABLE images RENAME TO old",
        "CREATE VIEW images AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
        "SELECT * FROM old, n",
    )
    started = time.monotonic()
    line = one_line_error(cli("compare", edited(tmp_path, saved, "leak.json"), built), 1)
    assert "unexpected" in line and time.monotonic() - started < 30


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE images SET views = 'not json'",
        "UPDATE images SET views = '[[1,2,3,4]]'",
        "UPDATE images SET phash = 'xyz'",
        "UPDATE images SET width = 'wide'",
        "UPDATE meta SET value = 'one' WHERE key = 'index_version'",
        "DELETE FROM meta",
        "CREATE TRIGGER t AFTER INSERT ON images BEGIN DELETE FROM meta; END",
        "CREATE TABLE extra (x)",
    ],
)
def test_edited_index_is_one_line(built: Path, statement: str) -> None:
    _sql(built, statement)
    with pytest.raises(KyctriageError, match=str(built)):
        index.load(built)


def test_the_progress_handler_stops_a_slow_query(built: Path) -> None:
    db = index._open(built, create=False, time_limit=0.0)
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        db.execute(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
        ).fetchall()
    db.close()


def test_the_index_loads_read_only(built: Path) -> None:
    os.chmod(built, 0o444)
    assert len(index.load(built)) == 2


# --- 10 and 11: journal, profile, fingerprint -------------------------------------------------


@pytest.mark.parametrize("reference", ["garbage", "2026-01-01T00:00:00+02:00", 7, "²⁰²⁶-01-01"])
def test_a_journal_with_a_bad_reference_is_one_line(tmp_path: Path, reference: object) -> None:
    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(jpeg())
    out = tmp_path / "r.json"
    journal = tmp_path / "r.json.journal"
    assert cli("scan", folder, "--json", out, "--journal", journal, "-q").returncode == 0
    lines = journal.read_bytes().splitlines()
    header = json.loads(lines[0])
    header["reference"] = reference
    journal.write_bytes(b"\n".join([json.dumps(header).encode(), *lines[1:]]) + b"\n")
    line = one_line_error(cli("scan", folder, "--json", out, "--journal", journal, "--resume"))
    assert "start time" in line


def test_a_journal_record_edited_or_deep_is_scanned_again(tmp_path: Path) -> None:
    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(jpeg())
    (folder / "b.jpg").write_bytes(jpeg("x"))
    out, journal = tmp_path / "r.json", tmp_path / "r.json.journal"
    assert cli("scan", folder, "--json", out, "--journal", journal, "-q").returncode == 0
    header, first, second = journal.read_bytes().splitlines()
    bad = json.loads(first)
    bad["status"] = "weird"
    deep = b"[" * 10_000 + b"]" * 10_000
    journal.write_bytes(b"\n".join([header, json.dumps(bad).encode(), deep, second]) + b"\n")
    done = cli("scan", folder, "--json", out, "--journal", journal, "--resume", "-q")
    assert done.returncode == 0, done.stderr
    assert [r["status"] for r in json.loads(out.read_text())["records"]] == ["ok", "ok"]


def _profile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "body",
    [
        '[[pipeline]]\nname = "a"\nactive_from = 2018-01-01T10:00:00\nactive_to = 2019-01-01\n',
        '[[pipeline]]\nname = "a"\nactive_from = 10:00:00\n',
        "a = " + "[" * 5000,
        '[[pipeline]]\nname = "a"\nfingerprint = "fp.json"\n',
    ],
)
def test_a_bad_profile_is_one_line(tmp_path: Path, body: str) -> None:
    (tmp_path / "fp.json").write_text('{"format": "kyctriage-fingerprint/1", "name": 3}')
    path = _profile(tmp_path, body)
    one_line_error(cli("profile", "show", path))
    with pytest.raises(UsageError):  # before any file is probed: the scan needs the profile
        kyctriage.scan(tmp_path, profile=path)


@pytest.mark.parametrize(
    "change",
    [
        {"quant_tables": [[[1] * 63]]},
        {"quant_tables": "x"},
        {"samples": -1},
        {"software": {"a": "b"}},
        {"name": None},
        {"extra": 1},
    ],
)
def test_a_broken_fingerprint_is_refused_by_the_profile(tmp_path: Path, change: dict) -> None:
    good = json.loads((ROOT / "samples" / "vendor.fingerprint.json").read_text())
    (tmp_path / "fp.json").write_text(json.dumps({**good, **change}))
    path = _profile(tmp_path, '[[pipeline]]\nname = "a"\nfingerprint = "fp.json"\n')
    assert "fingerprint" in one_line_error(cli("profile", "show", path))


def test_fifos_named_as_inputs_are_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "x.json"
    os.mkfifo(fifo)
    (tmp_path / "ev").mkdir()
    for args in (
        ("report", fifo),
        ("profile", "show", fifo),
        ("scan", tmp_path / "ev", "--profile", fifo),
        ("compare", fifo, tmp_path / "ev"),
        ("compare", tmp_path / "ev", fifo),
    ):
        one_line_error(cli(*args, timeout=60))


# --- 7, 12, 16: Telegram exports --------------------------------------------------------------


def test_a_deeply_nested_export_is_a_warning_and_the_scan_goes_on(tmp_path: Path) -> None:
    (tmp_path / "result.json").write_bytes(b'{"messages":' + b"[" * 100_000)
    (tmp_path / "a.jpg").write_bytes(jpeg())
    out = tmp_path.parent / f"{tmp_path.name}.json"
    done = cli("scan", tmp_path, "--json", out, "-q")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    records = {r["path"]: r for r in json.loads(out.read_text())["records"]}
    assert records["a.jpg"]["status"] == "ok"
    assert any("brackets" in w for w in records["result.json"]["warnings"])


@pytest.mark.parametrize("unixtime", ["0", "253402300799", "-62135596800"])
def test_implausible_posted_times_are_never_best(tmp_path: Path, unixtime: str) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "p.jpg").write_bytes(jpeg())
    message = {"id": 1, "date_unixtime": unixtime, "photo": "photos/p.jpg"}
    (tmp_path / "result.json").write_text(json.dumps({"messages": [message]}))
    report = scan(ScanOptions(roots=(str(tmp_path),), workers=1))
    record = next(r for r in report.records if r.path == "photos/p.jpg")
    posted = [s for s in record.timestamps if s.source == "telegram:posted"]
    assert posted and posted[0].note is not None and posted[0].note.startswith("implausible")
    assert record.best_time is None or record.best_time.source != "telegram:posted"


def _address_space() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(ln for ln in status.splitlines() if ln.startswith("VmSize:")).split()[1]) << 10


def test_a_big_export_is_parsed_under_the_worker_memory_limit(tmp_path: Path) -> None:
    """A 30 MB export of empty objects takes ~700 MB parsed: in a worker held to 400 MB more
    than this process it fails alone (a warning); a small one under the same limit is joined.
    In the parent it would have taken the memory whatever --max-worker-memory said. (A forked
    worker starts up to ~70 MB under this process's address space once a library has run a
    thread pool here: the export is big enough that this never decides.)"""
    small, big = tmp_path / "small", tmp_path / "big"
    for folder, count in ((small, 1), (big, 10000)):
        (folder / "photos").mkdir(parents=True)
        (folder / "photos" / "p.jpg").write_bytes(jpeg())
        messages = [{"id": i, "date_unixtime": "1525176000", "photo": "photos/p.jpg",
                     "text": [{}] * 1000} for i in range(count)]  # fmt: skip
        (folder / "result.json").write_text(json.dumps({"messages": messages}))
    limit = _address_space() + (400 << 20)
    for folder, joined in ((small, True), (big, False)):
        options = ScanOptions(roots=(str(folder),), workers=1, worker_memory_limit=limit)
        records = {r.path: r for r in scan(options).records}
        assert (records["photos/p.jpg"].telegram is not None) is joined
        if not joined:
            assert any("memory" in w for w in records["result.json"].warnings)


def test_a_catastrophic_marker_pattern_costs_one_file(tmp_path: Path) -> None:
    """^(\\w+\\s?)*$ against 28 letters and a '!' backtracks for tens of seconds: it runs in
    the worker now, under --file-timeout, not in the parent after every limit."""
    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "slow.jpg").write_bytes(jpeg("a" * 28 + "!"))
    (folder / "fine.jpg").write_bytes(jpeg("vendor one"))
    marker = 'marker = { field = "Software", pattern = "^(\\\\w+\\\\s?)*$" }'
    profile = _profile(tmp_path, f'[[pipeline]]\nname = "v"\n{marker}\n')
    out = tmp_path / "r.json"
    started = time.monotonic()
    done = cli("scan", folder, "--profile", profile, "--file-timeout", 2, "--json", out, "-q")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 15
    records = {r["path"]: r for r in json.loads(out.read_text())["records"]}
    assert "timed out" in records["slow.jpg"]["error"]
    assert records["fine.jpg"]["watermark"][0]["verdict"] == "present"


# --- 11: mutations of valid files: loaded, or refused in one line -----------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6,
)  # fmt: skip


def _places(data: object, at: tuple = ()) -> list[tuple]:
    found = [at]
    if isinstance(data, dict):
        items = list(data.items())
    else:
        items = list(enumerate(data)) if isinstance(data, list) else []
    for key, value in items:
        found += _places(value, (*at, key))
    return found


def _mutated(data: object, draw: st.DrawFn) -> object:
    copy = json.loads(json.dumps(data))
    for _ in range(draw(st.integers(1, 3))):
        place = draw(st.sampled_from(_places(copy)[1:]))
        parent = copy
        for key in place[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            parent[place[-1]] = draw(json_values)
        elif isinstance(parent, dict):
            del parent[place[-1]]
    return copy


def _refused_in_one_line(exc: KyctriageError) -> None:
    assert "\n" not in str(exc) and str(exc)


@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_mutated_saved_report_loads_or_is_one_line(saved: dict, data: st.DataObject) -> None:
    from kyctriage.render.csv import render_csv, render_timeline
    from kyctriage.render.json import iter_json

    with tempfile.TemporaryDirectory() as tmp:
        path = edited(Path(tmp), _mutated(saved, data.draw))
        try:
            report = kyctriage.load_report(path)
        except KyctriageError as exc:
            _refused_in_one_line(exc)
            return
    for render in (iter_json, render_csv, render_timeline):
        "".join(render(report))
    build_chart(report, {})


@pytest.fixture(scope="module")
def journaled(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    folder = tmp_path_factory.mktemp("jev")
    (folder / "a.jpg").write_bytes(jpeg("Camera 1"))
    journal = folder.parent / "j.journal"
    scan(ScanOptions(roots=(str(folder),), in_process=True), journal_path=str(journal))
    return [json.loads(line) for line in journal.read_bytes().splitlines()]


@given(data=st.data())
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_mutated_journal_resumes_or_is_one_line(journaled: list[dict], data: st.DataObject) -> None:
    from kyctriage.scanning.journal import Journal

    lines = _mutated(journaled, data.draw)
    assert isinstance(lines, list)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "j.journal"
        path.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        scan_key = journaled[0]["scan"]
        try:
            Journal(path, scan_key, "2026-01-01T00:00:00", resume=True).close()
        except KyctriageError as exc:
            _refused_in_one_line(exc)


TOML_VALUES = (
    "2018-01-01", "2018-01-01T10:00:00", "2018-01-01T10:00:00+02:00", "10:00:00", "1", "-1",
    "1.5", "true", '"x"', '""', '"../../etc/passwd"', "[]", '["4:3"]', "[1, 2]", "{}",
    '{ key = "x" }', '{ field = "Software", pattern = "(" }', '"^(a+)+$"', "nan", "inf",
)  # fmt: skip


@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_mutated_profile_loads_or_is_one_line(data: st.DataObject) -> None:
    from kyctriage.attribution.profile import load_profile

    lines = (ROOT / "samples" / "profile.toml").read_text(encoding="utf-8").splitlines()
    settable = [i for i, line in enumerate(lines) if "=" in line and not line.startswith("#")]
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.sampled_from(settable))
        key = lines[i].split("=", 1)[0]
        lines[i] = f"{key}= {data.draw(st.sampled_from(TOML_VALUES))}"
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("inhouse-DEMO-KEY-NOT-SECRET.key", "vendor.fingerprint.json"):
            shutil.copyfile(ROOT / "samples" / name, Path(tmp) / name)
        path = _profile(Path(tmp), "\n".join(lines) + "\n")
        try:
            load_profile(path)
        except KyctriageError as exc:
            _refused_in_one_line(exc)


def test_a_fifo_named_as_key_or_logo_is_refused(tmp_path: Path) -> None:
    from kyctriage.watermark import load_key
    from kyctriage.watermark.logo import LogoError, load_logo

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(KyctriageError, match="not a regular file"):
        load_key(str(fifo))
    with pytest.raises(LogoError, match="not a regular file"):
        load_logo(str(fifo))


@pytest.mark.parametrize(
    "manifest",
    [
        "[]",
        "[" * 100 + "]" * 100,
        '{"format": "F", "index_version": "V", "shards": [{"name": "../../../etc/passwd", '
        '"rows": 1, "views": 0, "files": {}}]}',
        '{"format": "F", "index_version": "V", "shards": [{"name": "shard-00000", '
        '"rows": -1, "views": 0, "files": {}}]}',
    ],
)
def test_a_hostile_shard_manifest_is_one_line(tmp_path: Path, manifest: str) -> None:
    from kyctriage.match import shards

    text = manifest.replace('"F"', json.dumps(shards.FORMAT))
    (tmp_path / shards.MANIFEST).write_text(text.replace('"V"', str(shards.INDEX_VERSION)))
    with pytest.raises(KyctriageError, match="cannot read the manifest|not a kyctriage sharded"):
        shards.read_manifest(tmp_path)
