"""The demo set: written deterministically, committed as written, and scanned as documented."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kyctriage.demo.samples import library_versions, write_samples
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan

MAX_BYTES = 3 * 1024 * 1024


def _digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _committed_versions(samples: Path) -> dict[str, str]:
    lines = (samples / "VERSIONS").read_text(encoding="utf-8").splitlines()
    return dict(line.split(" ", 1) for line in lines if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fresh")
    write_samples(directory)
    return directory


@pytest.fixture(scope="module")
def records(samples_dir):
    report = scan(ScanOptions(roots=(str(samples_dir),), workers=2))
    return {record.path: record for record in report.records}


def test_writing_twice_gives_identical_bytes(fresh, tmp_path):
    written = write_samples(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(_digests(fresh))
    assert _digests(tmp_path) == _digests(fresh)


def test_committed_samples_are_a_fresh_write(fresh, samples_dir):
    committed, current = _committed_versions(samples_dir), library_versions()
    if committed != current:
        differ = sorted(
            k for k in committed.keys() | current.keys() if committed.get(k) != current.get(k)
        )
        pytest.skip(
            "samples/ was written with other library versions "
            + ", ".join(f"{k} {committed.get(k)} (here {current.get(k)})" for k in differ)
            + "; encoders differ in their bytes, so only a write with those versions can match"
        )
    on_disk = _digests(samples_dir)
    mismatched = [path for path, digest in _digests(fresh).items() if on_disk.get(path) != digest]
    assert not mismatched, f"run `kyctriage samples samples` and commit: {mismatched}"


def test_set_is_small_and_large_enough(samples_dir):
    files = [path for path in samples_dir.rglob("*") if path.is_file()]
    assert len(files) >= 20
    assert sum(path.stat().st_size for path in files) <= MAX_BYTES
    listed = (samples_dir / "README.md").read_text(encoding="utf-8")
    for path in files:
        assert path.relative_to(samples_dir).as_posix() in listed


def test_every_file_is_one_record(records, samples_dir):
    assert set(records) == set(_digests(samples_dir))


def test_broken_files_are_errors_with_reasons(records):
    cut = records["misc/IMG_20181005_183011_cut.jpg"]
    assert cut.status == "error" and "truncated" in cut.error
    assert cut.exif_value("Make") == "Google"  # the EXIF before the cut is still read
    text = records["misc/readme_first.jpg"]
    assert (text.status, text.error) == ("error", "not an image: content is text (named .jpg)")
    empty = records["misc/empty.jpg"]
    assert (empty.status, empty.error) == ("error", "not an image: content is empty (named .jpg)")


def test_png_named_jpg_is_flagged(records):
    image = records["misc/passport_scan.jpg"].image
    assert image.format == "PNG" and image.extension_mismatch
    assert not records["misc/Screenshot_2018-08-14-21-05-33.png"].image.extension_mismatch


def test_exif_dates_zones_and_gps_come_through(records):
    iphone = records["phone/IMG_0131.JPG"]
    assert iphone.exif_value("DateTimeOriginal") == "2018:01:18 10:15:22"
    assert (iphone.exif_value("Make"), iphone.exif_value("Model")) == ("Apple", "iPhone 7")
    assert iphone.best_time.value == "2018-01-18T10:15:22.482000+01:00"
    assert iphone.gps.latitude == pytest.approx(48.856614, abs=1e-5)
    samsung = records["phone/IMG_20180203_164410.jpg"]
    assert samsung.best_time.utc_offset is None  # no OffsetTimeOriginal: the time stays naive
    assert samsung.gps.latitude < 0 and samsung.gps.longitude < 0
    assert records["phone/IMG_20180722_091204.jpg"].gps.altitude == pytest.approx(-413)
    assert records["phone/IMG_20180211_095840.jpg"].image.orientation == 6


def test_heic_carries_its_exif(records):
    heic = records.get("phone/IMG_0457.HEIC")
    if heic is None:
        pytest.skip("this pillow-heif cannot write HEIC, so the set has none")
    assert heic.image.format == "HEIF"
    assert heic.exif_value("DateTimeOriginal") == "2019:03:14 12:00:05"
    assert heic.gps.longitude == pytest.approx(-0.124625, abs=1e-5)


def test_duplicate_and_edited_copies(records):
    original = records["phone/IMG_20180203_164410.jpg"]
    assert records["misc/IMG_20180203_164410 (1).jpg"].sha256 == original.sha256
    iphone, edited = records["phone/IMG_0131.JPG"], records["misc/IMG_0131_edited.JPG"]
    assert edited.sha256 != iphone.sha256
    assert edited.hashes.image_data_sha256 == iphone.hashes.image_data_sha256
    assert edited.exif_value("DateTimeOriginal") == "2018:03:15 11:20:00"
    assert edited.gps is None


def test_telegram_copies_look_like_telegram_and_match_their_originals(records):
    pairs = {
        "telegram/photo_3@20-01-2018_19-44-08.jpg": "phone/IMG_0131.JPG",
        "telegram/photo_12@11-02-2018_14-03-27.jpg": "phone/IMG_20180211_095840.jpg",
        "telegram/photo_31@14-08-2018_21-07-02.jpg": "phone/IMG_20180722_091204.jpg",
    }
    for copy, original in pairs.items():
        record = records[copy]
        jpeg = record.image.jpeg
        assert max(record.image.width, record.image.height) == 1280
        assert (jpeg.quality, jpeg.progressive, jpeg.has_exif) == (87, True, False)
        assert _distance(record.hashes.phash, records[original].hashes.phash) <= 6
    upright = records["telegram/photo_12@11-02-2018_14-03-27.jpg"].image
    assert (upright.width, upright.height) == (960, 1280)


def test_distinct_scenes_are_not_near_duplicates(records):
    originals = [r for path, r in records.items() if path.startswith("phone/") and r.hashes]
    for i, first in enumerate(originals):
        for second in originals[i + 1 :]:
            assert _distance(first.hashes.phash, second.hashes.phash) > 10, (
                first.path,
                second.path,
            )


def _distance(first: str, second: str) -> int:
    return (int(first, 16) ^ int(second, 16)).bit_count()
