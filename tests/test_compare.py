"""compare: exact, same-pixels, near, unmatched, saved-scan and index input, waves, CLI."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kyctriage.api import open_side
from kyctriage.cli.main import main
from kyctriage.match import index
from kyctriage.match.compare import Comparison, Side
from kyctriage.match.compare import compare as compare_sides
from kyctriage.match.entries import ViewMap, entries
from kyctriage.model import FileRecord, ViewHashes
from kyctriage.probes import hashes
from kyctriage.render.json import render_json
from kyctriage.scanning import recheck
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan

# The pictures near candidates are checked on, read again as api.compare reads them (here in
# this process: the files are the tests' own).
SEEN = recheck.pictures(ScanOptions(roots=(), in_process=True))


def compare(leak: Side, reference: Side, views: ViewMap | None = None) -> Comparison:
    return compare_sides(leak, reference, views, pictures=(SEEN, SEEN))


def photo(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    fine = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    base = np.asarray(coarse.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    detail = np.asarray(fine.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    return Image.fromarray(np.clip(0.75 * base + 0.25 * detail, 0, 255).astype(np.uint8))


def jpeg(image: Image.Image, quality: int = 90, exif: bool = False) -> bytes:
    out = io.BytesIO()
    extra = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "TestCam"  # Make
        extra["exif"] = tags.tobytes()
    image.save(out, "JPEG", quality=quality, **extra)
    return out.getvalue()


def strip_app1(data: bytes) -> bytes:
    """The same JPEG without its EXIF segment: same image data, other bytes."""
    pos = 2
    while data[pos + 1] != 0xE1:
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return data[:pos] + data[pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big") :]


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cmp")
    ref, leak = root / "ref", root / "leak"
    ref.mkdir()
    leak.mkdir()
    originals = {name: jpeg(photo(seed), exif=True) for seed, name in enumerate("abcde")}
    for name, data in originals.items():
        (ref / f"{name}.jpg").write_bytes(data)
    (leak / "copy_a.jpg").write_bytes(originals["a"])
    (leak / "stripped_b.jpg").write_bytes(strip_app1(originals["b"]))
    small = Image.open(io.BytesIO(originals["c"])).resize((200, 150), Image.Resampling.LANCZOS)
    (leak / "small_c.jpg").write_bytes(jpeg(small, 80))
    (leak / "other.jpg").write_bytes(jpeg(photo(99)))
    (leak / "broken.jpg").write_bytes(originals["d"][:300])
    return leak, ref


def records(folder: Path) -> tuple[FileRecord, ...]:
    return scan(ScanOptions(roots=(str(folder),), in_process=True, thumbnails="none")).records


def statuses(result: object) -> dict[str, str]:
    return {im.path: im.status for im in result.images}  # type: ignore[attr-defined]


EXPECTED = {
    "copy_a.jpg": "exact",
    "stripped_b.jpg": "same-pixels",
    "small_c.jpg": "near",
    "other.jpg": "unmatched",
    "broken.jpg": "error",
}


def test_exact_same_pixels_near_unmatched_and_errors(sides: tuple[Path, Path]) -> None:
    leak, ref = sides
    result = compare(Side("leak", records(leak)), Side("ref", records(ref)))
    assert statuses(result) == EXPECTED
    by_path = {im.path: im for im in result.images}
    assert by_path["copy_a.jpg"].matches[0].path == "a.jpg"
    near = by_path["small_c.jpg"].matches[0]
    assert near.path == "c.jpg"
    assert "resized" in near.transformations
    assert near.transformations[-1] == "re-encoded (quality 90 to 80)"
    assert by_path["broken.jpg"].error
    assert [a.path for a in result.affected] == ["a.jpg", "b.jpg", "c.jpg"]
    assert [a.best for a in result.affected] == ["exact", "same-pixels", "near"]
    assert result.affected[2].leaked_as == ("small_c.jpg",)
    totals = result.totals()
    assert totals["leak"] == 5  # count in = count out
    assert totals["reference"] == 5
    assert totals["affected"] == 3


def test_saved_scan_input(sides: tuple[Path, Path], tmp_path: Path) -> None:
    leak, ref = sides
    saved = tmp_path / "ref.json"
    saved.write_text(render_json(scan(ScanOptions(roots=(str(ref),), in_process=True))))
    side = open_side(str(saved))
    assert side.records and not side.entries
    assert statuses(compare(Side("leak", records(leak)), side)) == EXPECTED


def test_index_input_holds_no_pixels(sides: tuple[Path, Path], tmp_path: Path) -> None:
    leak, ref = sides
    db = tmp_path / "ref.db"
    assert index.add(db, entries(records(ref)), create=True) == 5
    assert index.add(db, entries(records(ref))) == 5  # same paths: replaced, not doubled
    side = open_side(str(db))
    assert len(side.entries) == 5
    assert statuses(compare(Side("leak", records(leak)), side)) == EXPECTED
    with closing(sqlite3.connect(db)) as con:
        columns = {row[1] for row in con.execute("PRAGMA table_info(images)")}
    assert not columns & {"thumbnail", "pixels", "image"}


def test_wave_against_wave(sides: tuple[Path, Path]) -> None:
    leak, ref = sides
    result = compare(Side("wave2", records(leak)), Side("wave1", records(ref)))
    # (a wave's image with only unverified candidates is neither changed nor new: counted apart)
    assert result.waves() == {"repeated": 2, "changed": 1, "unverified": 0, "new": 1}


def test_mirrored_leak_image_with_view_hashes(tmp_path: Path) -> None:
    image = photo(7)
    (tmp_path / "ref").mkdir()
    (tmp_path / "leak").mkdir()
    (tmp_path / "ref" / "r.jpg").write_bytes(jpeg(image))
    (tmp_path / "leak" / "m.jpg").write_bytes(
        jpeg(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    ref_records = records(tmp_path / "ref")
    flipped = hashes.perceptual(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), None)
    views = {
        (ref_records[0].root, "r.jpg"): (
            ViewHashes("mirror", flipped.phash, flipped.dhash, flipped.whash),
        )
    }
    result = compare(Side("leak", records(tmp_path / "leak")), Side("ref", ref_records), views)
    (image_result,) = result.images
    assert image_result.status == "near"
    assert image_result.matches[0].view == "mirrored"
    # The scan stores the view hashes itself, so the mirror is found without extra views...
    scanned = compare(Side("leak", records(tmp_path / "leak")), Side("ref", ref_records))
    assert scanned.images[0].status == "near"
    # ...and without any view hashes it is not.
    bare = tuple(
        dataclasses.replace(r, hashes=dataclasses.replace(r.hashes, views=())) for r in ref_records
    )
    leak = tuple(
        dataclasses.replace(r, hashes=dataclasses.replace(r.hashes, views=()))
        for r in records(tmp_path / "leak")
    )
    assert compare(Side("leak", leak), Side("ref", bare)).images[0].status == "unmatched"


def test_cli_compare_and_index(sides: tuple[Path, Path], tmp_path: Path) -> None:
    leak, ref = sides
    runner = CliRunner()
    db = tmp_path / "ref.db"
    built = runner.invoke(main, ["index", "build", str(ref), "-o", str(db), "--workers", "1"])
    assert built.exit_code == 0, built.output
    again = runner.invoke(main, ["index", "build", str(ref), "-o", str(db)])
    assert again.exit_code == 2
    out_json, out_csv = tmp_path / "c.json", tmp_path / "affected.csv"
    done = runner.invoke(
        main,
        ["compare", str(leak), str(db), "--json", str(out_json), "--csv", str(out_csv),
         "--workers", "1"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    data = json.loads(out_json.read_text())
    assert data["totals"]["near"] == 1
    assert data["thresholds"]["max_sum"] == 18
    assert {im["path"]: im["status"] for im in data["images"]} == EXPECTED
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert [r["path"] for r in rows] == ["a.jpg", "b.jpg", "c.jpg"]
    refused = runner.invoke(main, ["compare", str(db), str(ref)])
    assert refused.exit_code == 2


def test_archive_sides_are_unpacked_safely(sides: tuple[Path, Path], tmp_path: Path) -> None:
    import zipfile

    leak, ref = sides
    archive_path = tmp_path / "leak.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        for path in sorted(leak.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(leak).as_posix())
        archive.writestr("../../escape.jpg", next(p for p in leak.rglob("*.jpg")).read_bytes())
        link = zipfile.ZipInfo("link.jpg")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    from_folder = compare(open_side(str(leak)), open_side(str(ref)))
    side = open_side(str(archive_path))
    from_zip = compare(side, open_side(str(ref)))
    assert not (tmp_path.parent / "escape.jpg").exists()
    assert any("link.jpg" in line for line in side.left_out)
    assert {r.root for r in side.records} == {str(archive_path)}
    # By its stored name, never unpacked onto another member (issue 25, item 14).
    assert "../../escape.jpg" in {r.path for r in side.records}
    assert len(from_zip.images) == len(from_folder.images) + 1
    exact = [[i.status for i in result.images].count("exact") for result in (from_folder, from_zip)]
    assert exact[1] >= exact[0] > 0


def test_a_photo_with_a_zip_appended_is_compared_as_the_photo(tmp_path: Path) -> None:
    """zipfile finds the directory at the end of such a polyglot; unpacking it would drop the
    photo from the comparison (appending a small zip would hide a leaked picture)."""
    import io
    import zipfile

    tail = io.BytesIO()
    with zipfile.ZipFile(tail, "w") as archive:
        archive.writestr("hidden.txt", "payload")
    photo = Path(__file__).parent.parent / "samples" / "phone" / "IMG_20180203_164410.jpg"
    polyglot = tmp_path / "photo.jpg"
    polyglot.write_bytes(photo.read_bytes() + tail.getvalue())
    side = open_side(str(polyglot))
    found = [(r.path, r.status, r.image.format if r.image else None) for r in side.records]
    assert found == [("photo.jpg", "ok", "JPEG")]


def test_zip_bombs_are_refused(tmp_path: Path) -> None:
    import zipfile

    from kyctriage.errors import KyctriageError

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.jpg", b"\x00" * (300 * 1024 * 1024))
    with pytest.raises(KyctriageError, match="zip bomb"):
        open_side(str(bomb))


def test_compare_html_is_static_and_inert(sides: tuple[Path, Path], tmp_path: Path) -> None:
    leak, ref = sides
    hostile = leak / "<script>alert(1)<\u202e>.jpg"
    hostile.write_bytes(next(p for p in leak.rglob("*.jpg")).read_bytes())
    out = tmp_path / "c.html"
    result = CliRunner().invoke(main, ["compare", str(leak), str(ref), "--html", str(out), "-q"])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "script-src 'none'" in html.unescape(page) and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;\\u202e&gt;.jpg" in page
    assert all(src.startswith("data:image/jpeg;base64,") for src in page.split('src="')[1:])
    assert "exact" in page and "Affected reference records" in page
