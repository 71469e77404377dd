"""The watermark CLI, embed_file's metadata, and the logo and metadata-marker detectors."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from PIL import Image

from kyctriage.cli.main import main
from kyctriage.model import FileRecord, ImageInfo, JpegInfo
from kyctriage.probes import jpeg as jpeg_probe
from kyctriage.watermark import ABSENT, INCONCLUSIVE, PRESENT, fingerprint, load_key
from kyctriage.watermark.files import embed_file
from kyctriage.watermark.logo import LogoError, detect_logo, load_logo
from kyctriage.watermark.marker import MarkerSpec, detect_marker

from .test_watermark import KEY, textured


def _camera_jpeg(path, quality=88):
    image = textured(520, 390, seed=3)
    exif = Image.Exif()
    exif[0x010F] = "TestMake"
    exif[0x0112] = 6  # stored sideways, shown upright
    image.save(path, "JPEG", quality=quality, exif=exif.tobytes(), icc_profile=b"\0" * 200,
               comment=b"pipeline-id: KYC-7")  # fmt: skip


def test_embed_file_keeps_metadata_and_quality(tmp_path):
    source, output = tmp_path / "in.jpg", tmp_path / "out.jpg"
    _camera_jpeg(source)
    before = source.read_bytes()
    result = embed_file(str(source), str(output), KEY)
    assert source.read_bytes() == before
    info_in = jpeg_probe.parse(before).info
    info_out = jpeg_probe.parse(output.read_bytes()).info
    assert info_out.quality == info_in.quality == result.quality
    assert info_out.has_exif and info_out.has_icc and info_out.comments == info_in.comments
    with Image.open(output) as written:
        assert written.getexif()[0x0112] == 6
    with pytest.raises(Exception, match="not overwritten"):
        embed_file(str(source), str(output), KEY)


def test_cli_keygen_embed_detect(tmp_path):
    runner = CliRunner()
    key_path, other_path = tmp_path / "k.key", tmp_path / "other.key"
    done = runner.invoke(main, ["watermark", "keygen", str(key_path)])
    assert done.exit_code == 0
    key = load_key(str(key_path))
    assert done.stdout.strip() == fingerprint(key) and key.seed.hex() not in done.output
    assert runner.invoke(main, ["watermark", "keygen", str(key_path)]).exit_code == 1
    assert runner.invoke(main, ["watermark", "keygen", str(other_path)]).exit_code == 0
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    _camera_jpeg(evidence / "a.jpg")
    (evidence / "notes.txt").write_text("<script>alert(1)</script>")
    (evidence / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 40)
    out = tmp_path / "marked"
    embedded = runner.invoke(main, ["watermark", "embed", "--key", str(key_path),
                                    str(evidence), str(out)])  # fmt: skip
    assert embedded.exit_code == 3, embedded.output  # the broken JPEG failed, the rest not
    assert (out / "a.jpg").is_file() and "Traceback" not in embedded.output
    report = tmp_path / "r.json"
    found = runner.invoke(main, ["watermark", "detect", "--key", str(key_path), str(out),
                                 str(evidence / "a.jpg"), "--json", str(report)])  # fmt: skip
    assert found.exit_code == 0, found.output
    document = json.loads(report.read_text())
    verdicts = {row["root"].rsplit("/", 1)[-1] + "/" + row["path"]: row["result"]["verdict"]
                for row in document["files"]}  # fmt: skip
    assert verdicts == {"marked/a.jpg": PRESENT, "a.jpg/a.jpg": ABSENT}
    assert document["key_fingerprint"] in found.output and key.seed.hex() not in report.read_text()
    assert document["crop_search"] == {"aspect_ratios": "any"}
    args = ["watermark", "detect", "--key", str(other_path), "--no-crop-search", str(out)]
    wrong = runner.invoke(main, args)
    assert wrong.exit_code == 0 and "present" not in wrong.stdout
    hostile = runner.invoke(main, ["watermark", "detect", "--key", str(key_path), str(evidence)])
    assert hostile.exit_code == 3 and "Traceback" not in hostile.output
    assert "broken.jpg: error:" in hostile.output
    (tmp_path / "bad.key").write_text("nonsense")
    bad = runner.invoke(main, ["watermark", "detect", "--key", str(tmp_path / "bad.key"), str(out)])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert runner.invoke(main, ["watermark", "detect", str(out)]).exit_code == 2
    args = ["watermark", "detect", "--key", str(key_path), "--aspect-ratios", "4x3", str(out)]
    refused = runner.invoke(main, args)
    assert refused.exit_code == 2 and "--aspect-ratios" in refused.output


def _record(exif=(), xmp=(), comments=()):
    jpeg = JpegInfo((), 90, True, "4:2:0", False, (), True, bool(exif), bool(xmp), False, False,
                    tuple(comments), 0)  # fmt: skip
    image = ImageInfo("JPEG", False, 10, 10, "RGB", None, 1, False, jpeg)
    return FileRecord(root="r", path="p.jpg", status="ok", image=image, exif=tuple(exif),
                      xmp=tuple(xmp))  # fmt: skip


def test_marker_detector():
    spec = MarkerSpec("pipeline-id", r"KYC-\d+", fields=("ImageDescription", "jpeg:comment"))
    assert detect_marker(_record(comments=["pipeline-id: KYC-7"]), spec).verdict == PRESENT
    hit = detect_marker(_record(exif=[("ImageDescription", "KYC-12")]), spec)
    assert hit.verdict == PRESENT and "ImageDescription" in hit.note
    assert detect_marker(_record(exif=[("Make", "KYC-12")]), spec).verdict == ABSENT
    assert detect_marker(_record(), spec).verdict == INCONCLUSIVE
    anywhere = MarkerSpec("any", r"in-house")
    assert (
        detect_marker(_record(xmp=[("xmp:CreatorTool", "in-house 2.1")]), anywhere).verdict
        == PRESENT
    )


def _logo(path):
    logo = Image.new("RGB", (90, 30), (20, 40, 120))
    for x in range(5, 85, 10):
        logo.paste((250, 250, 250), (x, 8, x + 5, 22))
    logo.paste((230, 200, 30), (60, 4, 80, 26))
    logo.save(path)
    return logo


def test_logo_detector(tmp_path):
    logo_image = _logo(tmp_path / "logo.png")
    template = load_logo(str(tmp_path / "logo.png"))
    photo = textured(640, 480, seed=11)
    stamped = photo.copy()
    stamped.paste(logo_image.resize((150, 50)), (460, 400))

    def seen(image):
        buffer = io.BytesIO()
        image.resize((512, 384)).save(buffer, "JPEG", quality=80)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")

    assert detect_logo(seen(stamped), template).verdict == PRESENT
    assert detect_logo(seen(photo), template).verdict == ABSENT
    assert detect_logo(Image.new("RGB", (20, 20)), template).verdict == INCONCLUSIVE
    assert detect_logo(Image.new("RGB", (0, 0)), template).verdict == INCONCLUSIVE
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(LogoError):
        load_logo(str(tmp_path / "bad.png"))


def test_detect_and_embed_run_each_file_in_the_scans_supervised_workers(tmp_path, monkeypatch):
    """A file that crashes or hangs its worker is one error line; the other files are still
    checked (and marked), and the exit status says some failed. The limit is generous: on a
    loaded machine a plain file took over 2 s."""
    import os
    import time

    from kyctriage.probes import decode

    leak = tmp_path / "leak"
    leak.mkdir()
    for name in ("a", "b", "crash", "hang"):
        _camera_jpeg(leak / f"{name}.jpg")
    key_path = tmp_path / "k.key"
    assert CliRunner().invoke(main, ["watermark", "keygen", str(key_path)]).exit_code == 0
    real_decode = decode.decode

    def booby_trapped(data, *args, **kwargs):
        if b"crash" in data:
            os.abort()
        if b"hang" in data:
            time.sleep(60)
        return real_decode(data, *args, **kwargs)

    for name in ("crash", "hang"):  # the trigger, where only the trapped decode reads it
        path = leak / f"{name}.jpg"
        path.write_bytes(path.read_bytes().replace(b"TestMake", name.encode().ljust(8, b" ")))
    monkeypatch.setattr(decode, "decode", booby_trapped)  # inherited by the forked workers
    limits = ["--workers", "2", "--file-timeout", "8"]
    detected = CliRunner().invoke(main, ["watermark", "detect", "--key", str(key_path),
                                         str(leak), *limits])  # fmt: skip
    assert detected.exit_code == 3, detected.output
    assert "crash.jpg: error: the worker process crashed (SIGABRT)" in detected.output
    assert "hang.jpg: error: timed out after 8 s" in detected.output
    assert detected.output.count("absent") == 2  # a.jpg and b.jpg, in input order
    assert "4 file(s): 0 with the mark" in detected.output

    monkeypatch.setattr(decode, "decode", real_decode)
    import kyctriage.watermark.files as files

    real_mark = files.mark_bytes

    def trapped_mark(data, *args, **kwargs):
        if b"crash" in data:
            os.abort()
        return real_mark(data, *args, **kwargs)

    monkeypatch.setattr(files, "mark_bytes", trapped_mark)
    out = tmp_path / "out"
    embedded = CliRunner().invoke(main, ["watermark", "embed", "--key", str(key_path),
                                         str(leak), str(out), *limits])  # fmt: skip
    assert embedded.exit_code == 3, embedded.output
    assert "crash.jpg: error: the worker process crashed (SIGABRT)" in embedded.output
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.jpg", "hang.jpg"]
