"""Telegram Desktop exports: photos joined to their messages, posted times as upper bounds."""

from __future__ import annotations

import io
import json

from PIL import Image

from kyctriage.scanning.ingest import walk
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan
from kyctriage.scanning.telegram import parse_export

PLACEHOLDER = "(File not included. Change data exporting settings to download.)"


def _jpeg(size=(1280, 960), **kw) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 150)).save(out, "JPEG", **kw)
    return out.getvalue()


def _messages():
    return [
        {"id": 1, "type": "message", "date": "2018-05-01T12:00:00", "date_unixtime": "1525176000",
         "from": "leaker", "from_id": "user42", "photo": "photos/photo_1@01-05-2018_12-00-00.jpg",
         "text": ["look ", {"type": "bold", "text": "<b>this</b>"}]},
        {"id": 2, "type": "message", "date": "2018-05-02T08:00:00", "date_unixtime": "1525248000",
         "from": "leaker", "forwarded_from": "Somebody", "file": "files/IMG_0001.JPG",
         "mime_type": "image/jpeg"},
        {"id": 3, "type": "message", "date": "2018-05-03T08:00:00", "date_unixtime": "1525334400",
         "photo": PLACEHOLDER},
        {"id": 4, "type": "service", "action": "pin_message"},
    ]  # fmt: skip


def _export(folder, nested=False):
    folder.mkdir(parents=True)
    (folder / "photos").mkdir()
    (folder / "files").mkdir()
    (folder / "photos" / "photo_1@01-05-2018_12-00-00.jpg").write_bytes(
        _jpeg(quality=87, progressive=True)
    )
    (folder / "files" / "IMG_0001.JPG").write_bytes(_jpeg((2000, 1500), quality=95))
    chat = {"name": "Leaks <script>", "type": "public_channel", "id": 7, "messages": _messages()}
    data = {"chats": {"list": [chat]}} if nested else chat
    (folder / "result.json").write_text(json.dumps(data))


def test_parse_single_and_full_exports():
    chat = {"name": "c", "messages": _messages()}
    for data in (chat, {"chats": {"list": [chat]}}):
        export = parse_export(json.dumps(data).encode(), "export")
        assert export.messages == 4 and export.not_exported == 1
        photo = export.by_path["photos/photo_1@01-05-2018_12-00-00.jpg"]
        assert photo.posted == "2018-05-01T12:00:00+00:00"
        assert photo.date_local == "2018-05-01T12:00:00"
        assert photo.kind == "photo" and photo.sender_id == "user42"
        assert photo.text == "look <b>this</b>" and photo.export == "export/result.json"
        document = export.by_path["files/IMG_0001.JPG"]
        assert document.kind == "file" and document.forwarded_from == "Somebody"


def test_broken_export_is_a_warning_not_a_crash(tmp_path):
    (tmp_path / "result.json").write_text("{ not json")
    (tmp_path / "a.jpg").write_bytes(_jpeg())
    report = scan(ScanOptions(roots=(str(tmp_path),), workers=1))
    records = {r.path: r for r in report.records}
    assert any("not valid JSON" in w for w in records["result.json"].warnings)
    assert records["a.jpg"].telegram is None


def test_scan_joins_messages_and_marks_the_photo_as_re_encoded(tmp_path):
    _export(tmp_path / "ChatExport_2018-05-04", nested=True)
    report = scan(ScanOptions(roots=(str(tmp_path),), workers=1))
    records = {r.path: r for r in report.records}
    photo = records["ChatExport_2018-05-04/photos/photo_1@01-05-2018_12-00-00.jpg"]
    assert photo.telegram.posted == "2018-05-01T12:00:00+00:00"
    assert photo.best_time.source == "telegram:posted"
    assert photo.best_time.note.startswith("upper bound")
    assert photo.messenger.startswith("telegram re-encode")
    original = records["ChatExport_2018-05-04/files/IMG_0001.JPG"]
    assert original.telegram.kind == "file" and original.messenger is None
    assert records["ChatExport_2018-05-04/result.json"].status == "skipped"


def test_only_paths_inside_the_export_are_joined(tmp_path):
    folder = tmp_path / "export"
    _export(folder)
    data = json.loads((folder / "result.json").read_text())
    data["messages"][0]["photo"] = "../outside.jpg"
    (folder / "result.json").write_text(json.dumps(data))
    (tmp_path / "outside.jpg").write_bytes(_jpeg())
    sources = {s.path: s for s in walk((str(tmp_path),))}
    assert sources["outside.jpg"].telegram is None
