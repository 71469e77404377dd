"""compare verifies near candidates: look-alikes dropped, unreachable pictures unverified."""

from __future__ import annotations

import csv
import io
import json
import shutil
from importlib import resources
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kyctriage.api import open_side
from kyctriage.cli.main import main
from kyctriage.demo import lookalikes
from kyctriage.match import index, search, shards
from kyctriage.match.compare import MAX_CHECKS, NEAR, UNMATCHED, UNVERIFIED, LeakImage, Side
from kyctriage.match.compare import compare as compare_sides
from kyctriage.match.entries import Arrays, entries
from kyctriage.render.json import render_json
from tests.test_compare import EXPECTED, SEEN, compare, records, sides  # noqa: F401 (the fixture)


@pytest.fixture(scope="module")
def booths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One template's booth: customer 0 in the reference; in the leak a re-posted copy of
    that capture and the captures of three other customers (same backdrop, light, layout)."""
    root = tmp_path_factory.mktemp("booths")
    ref, leak = root / "ref", root / "leak"
    ref.mkdir()
    leak.mkdir()
    drawn = [lookalikes.draw(p, c) for p, c in lookalikes.photographs(1, 1, 4)
             if p.capture == "booth"]  # fmt: skip
    drawn[0].save(ref / "customer0.jpg", quality=90)
    drawn[0].resize((800, 600), Image.Resampling.LANCZOS).save(leak / "reposted0.jpg", quality=70)
    for n, picture in enumerate(drawn[1:], 1):
        picture.save(leak / f"customer{n}.jpg", quality=90)
    return leak, ref


@pytest.fixture
def copied(sides: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:  # noqa: F811
    """The leak, and a copy of the reference folder this test may move away or change."""
    leak, ref = sides
    shutil.copytree(ref, tmp_path / "ref")
    return leak, tmp_path / "ref"


def schema_errors(data: dict[str, object]) -> list[str]:
    """The report checked against the compare schema shipped in the package."""
    text = resources.files("kyctriage.render").joinpath("schema/compare.schema.json")
    validator = jsonschema.Draft202012Validator(json.loads(text.read_text(encoding="utf-8")))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


def test_another_customer_of_the_template_is_not_near(booths: tuple[Path, Path]) -> None:
    leak, ref = booths
    result = compare(Side("leak", records(leak)), Side("ref", records(ref)))
    by_path = {im.path: im for im in result.images}
    reposted = by_path["reposted0.jpg"]
    assert reposted.status == NEAR
    check = reposted.matches[0].verification
    assert check is not None and check.verified and check.inliers >= 12
    assert check.agreeing >= 0.9 * check.blocks
    others = [by_path[f"customer{n}.jpg"] for n in (1, 2, 3)]
    assert [im.status for im in others] == [UNMATCHED] * 3
    # the global hashes proposed at least one look-alike: its check failed and dropped it
    assert sum(im.rejected for im in others) >= 1
    assert [a.path for a in result.affected] == ["customer0.jpg"]


def test_index_sources_moved_away_give_unverified_candidates(
    copied: tuple[Path, Path], tmp_path: Path
) -> None:
    leak, moved = copied
    db, built = tmp_path / "ref.db", tmp_path / "ref.idx"
    index.add(db, entries(records(moved)), create=True)
    shards.build(built, entries(records(moved)))
    leak_side = Side("leak", records(leak))
    for reference in (db, built):
        reachable = compare(leak_side, open_side(reference))
        assert {im.path: im.status for im in reachable.images} == EXPECTED
    shutil.rmtree(moved)
    for reference in (db, built):
        result = compare(leak_side, open_side(reference))
        by_path = {im.path: im for im in result.images}
        # identity needs no picture: exact and same-pixel matches stay
        assert by_path["copy_a.jpg"].status == "exact"
        assert by_path["stripped_b.jpg"].status == "same-pixels"
        unverified = by_path["small_c.jpg"]
        assert unverified.status == UNVERIFIED
        (match,) = unverified.matches
        assert match.kind == UNVERIFIED and match.path == "c.jpg"
        assert match.verification is not None and not match.verification.verified
        assert "reference picture not had" in match.verification.reason
        assert "No such file" in match.verification.reason
        assert result.totals()[UNVERIFIED] == 1 and result.totals()[NEAR] == 0
        assert [a.best for a in result.affected] == ["exact", "same-pixels", UNVERIFIED]


def test_a_source_replaced_by_another_picture_is_not_checked_against(
    copied: tuple[Path, Path], tmp_path: Path
) -> None:
    leak, moved = copied
    db = tmp_path / "ref.db"
    index.add(db, entries(records(moved)), create=True)
    (moved / "c.jpg").write_bytes((leak / "small_c.jpg").read_bytes())  # another file
    image = {im.path: im for im in compare(Side("leak", records(leak)), open_side(db)).images}
    check = image["small_c.jpg"].matches[0].verification
    assert image["small_c.jpg"].status == UNVERIFIED
    assert check is not None and "SHA-256 differs" in check.reason


def test_cli_reports_what_verified_a_near_match_and_exits_3_on_unverified(
    copied: tuple[Path, Path], tmp_path: Path
) -> None:
    leak, moved = copied
    built = tmp_path / "ref.idx"
    runner = CliRunner()
    done = runner.invoke(main, ["index", "build", str(moved), "-o", str(built), "--sharded",
                                "--workers", "1"])  # fmt: skip
    assert done.exit_code == 0, done.output
    out, rows = tmp_path / "c.json", tmp_path / "leak.csv"
    done = runner.invoke(main, ["compare", str(leak), str(built), "--json", str(out),
                                "--leak-csv", str(rows), "--workers", "1"])  # fmt: skip
    assert done.exit_code == 0, done.output
    data = json.loads(out.read_text())
    assert data["meta"]["version"] == 2
    assert not schema_errors(data)
    (near,) = [im for im in data["images"] if im["status"] == NEAR]
    check = near["matches"][0]["verification"]
    assert check["verified"] is True and check["reason"] == "verified"
    assert check["inliers"] >= 12 and check["agreeing"] >= 0.9 * check["blocks"]
    exact = next(im for im in data["images"] if im["status"] == "exact")
    assert exact["matches"][0]["verification"] is None  # identity: nothing to check
    row = next(r for r in csv.DictReader(io.StringIO(rows.read_text())) if r["status"] == NEAR)
    assert row["verification"].startswith("verified: ") and int(row["inliers"]) >= 12
    shutil.rmtree(moved)
    html = tmp_path / "c.html"
    done = runner.invoke(main, ["compare", str(leak), str(built), "--json", str(out),
                                "--html", str(html), "--workers", "1"])  # fmt: skip
    assert done.exit_code == 3, done.output
    assert "1 unverified candidates" in done.output
    assert "reference picture not had" in done.output
    data = json.loads(out.read_text())
    assert not schema_errors(data)
    statuses = {im["path"]: im["status"] for im in data["images"]}
    assert statuses == {**EXPECTED, "small_c.jpg": UNVERIFIED}
    assert "not verified: reference picture not had" in html.read_text()
    # a near match whose facts say it was not verified is not a valid report
    near_match = data["images"][next(i for i, im in enumerate(data["images"])
                                     if im["status"] == UNVERIFIED)]["matches"][0]  # fmt: skip
    near_match["kind"] = NEAR
    assert schema_errors(data)


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A re-posted booth capture (customer 0), a reference of eleven other customers of the
    booth (the global hashes propose five of them: two by the rule, three more by the loose
    rule where the pictures can be checked) and one holding three copies of the capture
    itself."""
    root = tmp_path_factory.mktemp("crowded")
    leak, others, copies = root / "leak", root / "others", root / "copies"
    for folder in (leak, others, copies):
        folder.mkdir()
    drawn = [lookalikes.draw(p, c) for p, c in lookalikes.photographs(1, 1, 12)
             if p.capture == "booth"]  # fmt: skip
    drawn[0].resize((800, 600), Image.Resampling.LANCZOS).save(leak / "reposted0.jpg", quality=70)
    for n, picture in enumerate(drawn[1:], 1):
        picture.save(others / f"customer{n}.jpg", quality=90)
    for quality in (90, 80, 60):
        drawn[0].save(copies / f"customer0_q{quality}.jpg", quality=quality)
    return leak, others, copies


def test_candidates_beyond_the_cap_are_counted_and_never_make_an_image_unmatched(
    crowded: tuple[Path, Path, Path],
) -> None:
    leak, others, copies = crowded
    leak_side = Side("leak", records(leak))

    def image(reference: Path, most: int) -> LeakImage:
        (only,) = compare_sides(leak_side, Side("ref", records(reference)),
                                pictures=(SEEN, SEEN), max_checks=most).images  # fmt: skip
        return only

    # every look-alike checked: each refuted, the image unmatched
    refuted = image(others, MAX_CHECKS)
    assert refuted.status == UNMATCHED and refuted.rejected == 5 and refuted.unchecked == 0
    # one checked and refuted, the others left: an unverified candidate, saying why (the
    # one the rule proposed; those only the loose rule proposed are not shown unchecked)
    capped = image(others, 1)
    assert capped.status == UNVERIFIED and capped.rejected == 1 and capped.unchecked == 4
    (left,) = capped.matches
    assert left.verification is not None and not left.verification.verified
    assert (
        left.verification.reason == "not checked: 4 candidates beyond the 1 closest of this image"
    )
    # the closest two of three copies checked and verified; the third counted, not reported
    found = image(copies, 2)
    assert found.status == NEAR and found.unchecked == 1
    assert [m.kind for m in found.matches] == [NEAR, NEAR]
    assert len(image(copies, MAX_CHECKS).matches) == 3


def test_cli_max_checks_reports_the_candidates_left(
    crowded: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    leak, others, _ = crowded
    out, rows, db = tmp_path / "c.json", tmp_path / "leak.csv", tmp_path / "others.db"
    runner = CliRunner()
    # an index: no local features on its side, the global hashes alone propose
    done = runner.invoke(main, ["index", "build", str(others), "-o", str(db), "--workers", "1"])
    assert done.exit_code == 0, done.output
    done = runner.invoke(main, ["compare", str(leak), str(db), "--json", str(out),
                                "--leak-csv", str(rows), "--workers", "1",
                                "--max-checks", "1"])  # fmt: skip
    assert done.exit_code == 3, done.output
    # (five proposed, as in the fixture: one checked, four left)
    assert "4 beyond the closest of their image not checked" in done.output
    assert "not checked: 4 candidates beyond the 1 closest" in done.output
    data = json.loads(out.read_text())
    assert not schema_errors(data)
    assert data["images"][0]["unchecked"] == 4
    (row,) = csv.DictReader(io.StringIO(rows.read_text()))
    assert row["unchecked_candidates"] == "4" and row["status"] == UNVERIFIED


def test_a_one_side_crop_is_proposed_by_local_features(tmp_path: Path) -> None:
    """Two folders compared: the global hashes do not propose a 20% one-side crop of a
    customer's booth capture; the descriptors the scans' workers kept do, and it verifies.
    The same through a zip of the leak (its looks named as the archive's members) and
    against the reference's saved scan (its pictures read again where they are)."""
    import zipfile

    from kyctriage import api

    ref, leak = tmp_path / "ref", tmp_path / "leak"
    ref.mkdir()
    leak.mkdir()
    drawn = [lookalikes.draw(p, c) for p, c in lookalikes.photographs(1, 1, 3)
             if p.capture == "booth"]  # fmt: skip
    drawn[0].save(ref / "customer0.jpg", quality=90)
    drawn[1].save(ref / "customer1.jpg", quality=90)
    width, height = drawn[0].size
    drawn[0].crop((width // 5, 0, width, height)).save(leak / "cropped0.jpg", quality=85)
    drawn[2].save(leak / "customer2.jpg", quality=90)
    hashes_only = compare(Side("leak", records(leak)), Side("ref", records(ref)))
    assert {im.path: im.status for im in hashes_only.images}["cropped0.jpg"] == UNMATCHED
    packed = tmp_path / "leak.zip"
    with zipfile.ZipFile(packed, "w") as archive:
        for path in sorted(leak.iterdir()):
            archive.write(path, path.name)
    saved = tmp_path / "ref.json"  # the reference scanned before: its pictures read again
    saved.write_text(render_json(api.scan(ref, workers=1)))
    for side, against in ((leak, ref), (packed, ref), (leak, saved)):
        result = api.compare(side, against, workers=1)
        by_path = {im.path: im for im in result.images}
        cropped = by_path["cropped0.jpg"]
        assert cropped.status == NEAR and cropped.matches[0].path == "customer0.jpg"
        check = cropped.matches[0].verification
        assert check is not None and check.verified and check.overlap >= 0.75
        assert by_path["customer2.jpg"].status == UNMATCHED


def test_screenshots_of_a_picture_the_leak_repeats_are_proposed(tmp_path: Path) -> None:
    """The leak holds a customer's booth capture re-posted a dozen ways and two screenshots
    showing it (45% of a desktop viewer, 80% of a phone chat); the reference holds that
    template's booth captures of four customers. Weighed by the reference pictures a
    descriptor matches (match/cross.py), not by the leak's many copies of it, the
    screenshots' original is proposed and verified; a fifth customer's capture matches none."""
    import random

    from kyctriage import api
    from kyctriage.demo import variants

    ref, leak = tmp_path / "ref", tmp_path / "leak"
    ref.mkdir()
    leak.mkdir()
    drawn = [lookalikes.draw(p, c) for p, c in lookalikes.photographs(1, 1, 5)
             if p.capture == "booth"]  # fmt: skip
    for n, picture in enumerate(drawn[:4]):
        picture.save(ref / f"customer{n}.jpg", quality=90)
    for n, (_, data) in enumerate(variants.variants(drawn[0], 0, "test")):
        (leak / f"copy{n:02}.img").write_bytes(data)
    variants._screen_desktop(drawn[0], 0.45, random.Random(1)).save(leak / "desktop.png")
    variants._screen_phone(drawn[0], 0.8, random.Random(1)).save(leak / "phone.png")
    drawn[4].save(leak / "customer4.jpg", quality=90)
    by_path = {im.path: im for im in api.compare(leak, ref, workers=2).images}
    for shot in ("desktop.png", "phone.png"):
        assert by_path[shot].status == NEAR, by_path[shot]
        assert by_path[shot].matches[0].path == "customer0.jpg"
    assert by_path["customer4.jpg"].status == UNMATCHED


def test_verified_matches_rank_by_their_weakest_region() -> None:
    """Two verified matches: another customer of the template agrees in more cells overall
    (the shared layout) but less in its weakest region (the portrait); the weakest region
    decides, then the share of cells, the inliers and the overlap."""
    from kyctriage.match.compare import Match, _rank
    from kyctriage.model import Verification

    def match(path: str, weakest: float, agreeing: int) -> Match:
        check = Verification(True, "verified", inliers=40, overlap=0.9, blocks=1000,
                             agreeing=agreeing, weakest_region=weakest)  # fmt: skip
        return Match("ref", path, "0" * 64, NEAR, "as is", (), (), check)

    lookalike, own = match("other.jpg", 0.70, 990), match("own.jpg", 0.92, 960)
    assert [m.path for m in sorted([lookalike, own], key=_rank)] == ["own.jpg", "other.jpg"]


def test_a_mirrored_scan_is_proposed_loosely_where_it_can_be_checked(tmp_path: Path) -> None:
    """A customer's scanned page (held-out seed 2 of bench/kyc_lookalikes.py: id-2-0/c004)
    leaked mirrored: its mirror view's phash and dhash equal the original's, but the white
    page's wavelet bits flip (whash 19 bits), so the hash rule proposes nothing; where the
    pictures can be checked the loose rule (search.LOOSE) proposes it, and it verifies
    (the local features, which propose it in a small set, are left out here: in the
    held-out set other pictures took their places). Another customer's scan on the
    template is not matched. When the reference's files are gone, the loose candidate
    cannot be checked and is no candidate at all, not an unverified one."""
    from kyctriage.demo import variants
    from kyctriage.demo.variants import jpeg
    from kyctriage.match.compare import compare as compare_sides

    ref, leak = tmp_path / "ref", tmp_path / "leak"
    ref.mkdir()
    leak.mkdir()
    scans = {p.customer: (p, c) for p, c in lookalikes.photographs(2, 4, 5)
             if p.capture == "scan" and p.template == "id-2-0"}  # fmt: skip
    page = lookalikes.draw(*scans["id-2-0/c004"])
    (ref / "c004.jpg").write_bytes(jpeg(page, 92))
    (ref / "c003.jpg").write_bytes(jpeg(lookalikes.draw(*scans["id-2-0/c003"]), 92))
    mirrored = dict(variants.variants(page, 10, "2:id-2-0/c004/scan"))["mirror"]
    (leak / "mirrored.jpg").write_bytes(mirrored)
    pair = Side("leak", records(leak)), Side("ref", records(ref))
    assert compare_sides(*pair).images[0].status == UNMATCHED  # no pictures: the rule alone
    found = compare(*pair).images[0]
    assert found.status == NEAR, found
    assert [m.path for m in found.matches] == ["c004.jpg"]
    check = found.matches[0].verification
    assert check is not None and check.verified and check.mirrored
    shutil.rmtree(ref)
    gone = compare(*pair).images[0]
    assert (gone.status, gone.matches) == (UNMATCHED, ())


def test_a_screenshot_is_found_in_an_index_by_the_picture_it_shows(tmp_path: Path) -> None:
    """An archive's index keeps no local features, only global hashes, so a screenshot's
    own hashes find nothing in it. The scan hashes the pictures an image shows (a booth
    capture in a desktop viewer; a scanned page in a phone chat, its card found on the page
    as on the reference's page): those propose the right customer's record, in a SQLite and
    in a sharded index, and the check verifies it. Another customer's capture stays
    unmatched."""
    import random
    from dataclasses import replace

    from kyctriage import api
    from kyctriage.demo import variants
    from kyctriage.match.compare import compare as compare_sides
    from kyctriage.probes.hashes import SHOWN

    ref, leak = tmp_path / "ref", tmp_path / "leak"
    ref.mkdir()
    leak.mkdir()
    drawn = {f"{p.capture}-{p.customer[-4:]}": lookalikes.draw(p, c)
             for p, c in lookalikes.photographs(2, 1, 3)}  # fmt: skip
    for name in ("booth-c000", "booth-c001", "scan-c000", "scan-c001"):
        drawn[name].save(ref / f"{name}.jpg", quality=90)
    variants._screen_desktop(drawn["booth-c000"], 0.5, random.Random(1)).save(leak / "desktop.png")
    phone = variants._screen_phone(drawn["scan-c000"], 0.6, random.Random(2))
    phone.save(leak / "phone.jpg", quality=85)
    drawn["booth-c002"].save(leak / "other.jpg", quality=90)
    db, built = tmp_path / "ref.db", tmp_path / "ref.idx"
    index.add(db, entries(records(ref)), create=True)
    shards.build(built, entries(records(ref)))
    leak_records = records(leak)
    stripped = tuple(
        replace(r, hashes=replace(r.hashes, views=tuple(v for v in r.hashes.views
                                                         if v.view != SHOWN)))
        if r.hashes else r for r in leak_records
    )  # fmt: skip
    assert sum(v.view == SHOWN for r in leak_records for v in r.hashes.views) >= 2
    for reference in (db, built):
        # the screenshots' own hashes propose nothing, checked or not
        alone = compare_sides(Side("leak", stripped), open_side(reference))
        assert {im.path: im.status for im in alone.images} == dict.fromkeys(
            ("desktop.png", "other.jpg", "phone.jpg"), UNMATCHED
        )
        by_path = {im.path: im for im in api.compare(leak, reference, workers=1).images}
        for shot, original in (("desktop.png", "booth-c000.jpg"), ("phone.jpg", "scan-c000.jpg")):
            found = by_path[shot]
            assert found.status == NEAR, found
            assert found.matches[0].path == original
            assert found.matches[0].view.startswith("shown inside")
            assert found.matches[0].verification.verified
        assert by_path["other.jpg"].status == UNMATCHED


def ref_and_leak(tmp_path: Path) -> tuple[Path, Path]:
    """An empty reference folder and an empty leak folder."""
    ref, leak = tmp_path / "ref", tmp_path / "leak"
    ref.mkdir()
    leak.mkdir()
    return ref, leak


def drawn_captures() -> dict[str, list[Image.Image]]:
    """Three customers' captures of one document (scans, booth captures, the first one's
    selfie) as drawn, by capture."""
    captured: dict[str, list[Image.Image]] = {}
    for p, c in lookalikes.photographs(1, 1, 3):
        captured.setdefault(p.capture, []).append(lookalikes.draw(p, c))
    return captured


def booths_and_selfie(tmp_path: Path) -> tuple[Path, Path, list[Image.Image], Image.Image]:
    """A reference folder of two customers' booth captures and the first one's selfie, an
    empty leak folder, and the three customers' booth captures and the selfie as drawn."""
    ref, leak = ref_and_leak(tmp_path)
    captured = drawn_captures()
    booths, selfie = captured["booth"], captured["selfie"][0]
    for n, picture in enumerate(booths[:2]):
        picture.save(ref / f"booth{n}.jpg", quality=90)
    selfie.save(ref / "selfie.jpg", quality=90)
    return ref, leak, booths, selfie


def found_verified(
    leak: Path,
    reference: Path,
    view: str | set[str],
    originals: dict[str, str],
    other: str = "other.jpg",
) -> None:
    """compare of the leak folder with the reference: each named leak image near its
    original first, verified, lined up as `view` (or one of them); `other` unmatched."""
    from kyctriage import api

    by_path = {im.path: im for im in api.compare(leak, reference, workers=1).images}
    for name, original in originals.items():
        found = by_path[name]
        assert found.status == NEAR, (reference, found)
        assert found.matches[0].path == original
        assert found.matches[0].view in ({view} if isinstance(view, str) else view)
        assert found.matches[0].verification.verified
    assert by_path[other].status == UNMATCHED


def test_a_one_side_crop_is_found_in_an_index_by_its_cut_views(tmp_path: Path) -> None:
    """Cut 12% from one edge, a picture's global hashes are far from its original's. The
    index keeps each original cut CUT from every edge; the leak image scanned now is also
    hashed cut further from every edge, and one of those meets the original's cut: a booth
    capture cut at the left and a selfie with the document cut at the top are found, in a
    SQLite and in a sharded index, and verified. Hashed as they are, without their further
    cuts, neither is proposed."""
    from kyctriage import api
    from kyctriage.match.compare import compare as compare_sides
    from kyctriage.match.entries import Arrays

    ref, leak, drawn, selfie = booths_and_selfie(tmp_path)
    width, height = drawn[0].size
    drawn[0].crop((round(width * 0.12), 0, width, height)).save(leak / "left.jpg", quality=85)
    width, height = selfie.size
    selfie.crop((0, round(height * 0.12), width, height)).save(leak / "top.jpg", quality=85)
    drawn[2].save(leak / "other.jpg", quality=90)
    db, built = tmp_path / "ref.db", tmp_path / "ref.idx"
    index.add(db, entries(records(ref)), create=True)
    shards.build(built, entries(records(ref)))
    plain = Arrays(entries(records(leak)))
    assert not len(plain.more)  # a leak without looks has no further cuts
    for reference in (db, built):
        alone = compare_sides(Side("leak", records(leak)), open_side(reference))
        assert {im.path: im.status for im in alone.images} == dict.fromkeys(
            ("left.jpg", "other.jpg", "top.jpg"), UNMATCHED
        )
        by_path = {im.path: im for im in api.compare(leak, reference, workers=1).images}
        for name, original, edge in (("left.jpg", "booth0.jpg", "left"),
                                     ("top.jpg", "selfie.jpg", "top")):  # fmt: skip
            found = by_path[name]
            assert found.status == NEAR, found
            assert found.matches[0].path == original
            assert found.matches[0].view == f"cut from the {edge}"
            assert found.matches[0].verification.verified
        assert by_path["other.jpg"].status == UNMATCHED


def test_a_scanned_page_cut_from_the_top_is_found_in_an_index_whatever_the_cut(
    tmp_path: Path,
) -> None:
    """A scanned page's cut view moves many phash bits when its cut is a little off (its
    text lines cross the cut): two passport pages cut 10% and 14% from the top meet their
    originals' cut views only cut further within ~2% of the view's cut, which the further
    cuts' finer steps reach (hashes.CUT_MORE; steps of 5% missed both). Found in a SQLite
    index and verified; another customer's page cut so is unmatched."""
    from kyctriage import api

    ref, leak = ref_and_leak(tmp_path)
    scans = {c.index: lookalikes.draw(p, c) for p, c in lookalikes.photographs(1, 3, 3)
             if p.template == "passport-1-2" and p.capture == "scan"}  # fmt: skip
    for n in (0, 1):
        scans[n].save(ref / f"scan{n}.jpg", quality=90)
    for name, n, cut in (("ten.jpg", 0, 0.10), ("fourteen.jpg", 1, 0.14), ("other.jpg", 2, 0.10)):
        width, height = scans[n].size
        scans[n].crop((0, round(height * cut), width, height)).save(leak / name, quality=85)
    db = tmp_path / "ref.db"
    index.add(db, entries(records(ref)), create=True)
    by_path = {im.path: im for im in api.compare(leak, db, workers=1).images}
    for name, original in (("ten.jpg", "scan0.jpg"), ("fourteen.jpg", "scan1.jpg")):
        found = by_path[name]
        assert found.status == NEAR, found
        assert found.matches[0].path == original
        assert found.matches[0].verification.verified
    assert by_path["other.jpg"].status == UNMATCHED


def test_a_turned_copy_is_found_in_an_index_by_its_turned_hashes(tmp_path: Path) -> None:
    """A booth capture and a selfie turned a few degrees, either way (photographed again, a
    card held askew): no global hash of theirs meets their originals', and an index has
    nothing else. The leak image scanned now is also hashed turned back by each of
    hashes.TURNS degrees and cut as TURN_VIEW, which meets its original's view: both are
    found, in a SQLite and in a sharded index beside another customer's capture in the same
    booth, verified and said to be turned; a third customer's turned capture is not. Hashed
    as they are, without their turns, none is proposed."""

    ref, leak, booths, selfie = booths_and_selfie(tmp_path)
    for name, picture, angle in (("booth turned.jpg", booths[0], -4.6),
                                 ("selfie turned.jpg", selfie, 4.4),
                                 ("other.jpg", booths[2], 3.3)):  # fmt: skip
        picture.rotate(angle, Image.Resampling.BICUBIC).save(leak / name, quality=88)
    db, built = tmp_path / "ref.db", tmp_path / "ref.idx"
    index.add(db, entries(records(ref)), create=True)
    shards.build(built, entries(records(ref)))
    assert not len(Arrays(entries(records(leak))).turned)  # a leak without looks has none
    for reference in (db, built):
        alone = compare_sides(Side("leak", records(leak)), open_side(reference))
        assert {im.path: im.status for im in alone.images} == dict.fromkeys(
            ("booth turned.jpg", "other.jpg", "selfie turned.jpg"), UNMATCHED
        ), reference
        turned = {"booth turned.jpg": "booth0.jpg", "selfie turned.jpg": "selfie.jpg"}
        found_verified(leak, reference, "turned a few degrees", turned)


def test_a_centred_crop_is_found_in_an_index_by_its_originals_tightest_view(
    tmp_path: Path,
) -> None:
    """A scanned page and a booth capture cut 11% from every side keep 78% of their
    originals, beyond the 92% and 87% centre crops: their hashes meet only their originals'
    `crop82` view (the page's by the loose rule: its white's wavelet bits move). Both are
    found in a SQLite and a sharded index beside another customer's scan of the same
    document, verified and said to be cropped (the page: or cut from the top); a third
    customer's cut scan is not."""

    ref, leak = ref_and_leak(tmp_path)
    captured = drawn_captures()
    scans, booth = captured["scan"], captured["booth"][0]
    for name, picture in (("scan0.jpg", scans[0]), ("booth0.jpg", booth), ("scan1.jpg", scans[1])):
        picture.save(ref / name, quality=90)
    for name, picture, cut in (("scan cut.jpg", scans[0], 0.11), ("booth cut.jpg", booth, 0.11),
                               ("other.jpg", scans[2], 0.1)):  # fmt: skip
        w, h = picture.size
        box = (round(w * cut), round(h * cut), round(w * (1 - cut)), round(h * (1 - cut)))
        picture.crop(box).save(leak / name, quality=85)
    theirs, mine = Arrays(entries(records(ref))), Arrays(entries(records(leak)))
    row_of = {e.path: row for arrays in (theirs, mine) for row, e in enumerate(arrays.entries)}
    for name, original in (("scan cut.jpg", "scan0.jpg"), ("booth cut.jpg", "booth0.jpg")):
        views = theirs.views[row_of[original]]  # (view, kind): mirror, rot90, crop92, ...
        apart = np.bitwise_count(mine.full[row_of[name]] ^ views).astype(int)
        met = search.strict(list(apart.T)) | search.loose_pair(apart[:, 0], apart[:, 1])
        assert [search.VIEWS[k] for k in np.flatnonzero(met)] == ["crop82"], (name, apart)
    db, built = tmp_path / "ref.db", tmp_path / "ref.idx"
    index.add(db, entries(records(ref)), create=True)
    shards.build(built, entries(records(ref)))
    for reference in (db, built):
        cut = {"scan cut.jpg": "scan0.jpg", "booth cut.jpg": "booth0.jpg"}
        # the view said is the hashes' closest: the page cut further from the top (its
        # leak-side further cuts, hashes.CUT_MORE) meets its original's cut from the top
        # closer than the crop82 view the candidate came by
        found_verified(leak, reference, {"cropped", "cut from the top"}, cut)


def test_a_screenshot_of_a_cropped_page_is_found_in_an_index_by_its_originals_views(
    tmp_path: Path,
) -> None:
    """A back office shows a scanned page filled into its frame (cut 6% from every side) on
    a flat page: the box round the shown page is hashed, and those hashes meet its
    original's centre crop views, not its upright hashes. Searched against the reference's
    views too, it is found in a SQLite and a sharded index beside another customer's scan of
    the same document, verified and said to be shown inside a larger picture; a third
    customer's scan shown so is not."""
    ref, leak = ref_and_leak(tmp_path)
    scans = drawn_captures()["scan"]
    for n, picture in enumerate(scans[:2]):
        picture.save(ref / f"scan{n}.jpg", quality=90)
    for name, picture in (("shown.png", scans[0]), ("other.png", scans[2])):
        w, h = picture.size
        shown = picture.crop((round(w * 0.06), round(h * 0.06), round(w * 0.94), round(h * 0.94)))
        shown.thumbnail((700, 700))
        screen = Image.new("RGB", (1920, 1080), (236, 238, 242))
        screen.paste(shown, (600, 150))
        screen.save(leak / name)
    theirs, mine = Arrays(entries(records(ref))), Arrays(entries(records(leak)))
    original = [e.path for e in theirs.entries].index("scan0.jpg")
    frame = [e.path for e in mine.entries].index("shown.png")
    box = mine.shown[mine.shown_of == frame][:1]  # the largest shown picture
    for against, met in ((theirs.full[original][None, :], False), (theirs.views[original], True)):
        apart = np.bitwise_count(box ^ against).astype(int)
        accepted = search.strict(list(apart.T)) | search.loose_pair(apart[:, 0], apart[:, 1])
        assert accepted.any() == met, apart
    db, built = tmp_path / "ref.db", tmp_path / "ref.idx"
    index.add(db, entries(records(ref)), create=True)
    shards.build(built, entries(records(ref)))
    for reference in (db, built):
        found_verified(leak, reference, "shown inside a larger picture",
                       {"shown.png": "scan0.jpg"}, other="other.png")  # fmt: skip


def test_a_picture_a_back_office_cut_to_fill_its_frame_is_verified_on_the_shown_box(
    tmp_path: Path,
) -> None:
    """A back office fills its frame with a selfie and a booth capture cut 8% from every side
    (CSS object-fit: cover), shown at 700 px on a 1920 x 1080 page. Brought into the
    screenshot, the original covers the flat page around the box too, whose detail counts
    as a difference: refused so, the check is made again on the box alone. Found and
    verified in a compare (another customer's booth capture shown so is unmatched) and
    joined in a scan; a picture shown whole is compared whole, as before."""
    from kyctriage import api

    ref, leak, booths, selfie = booths_and_selfie(tmp_path)

    def screenshot(picture: Image.Image, cut: float) -> Image.Image:
        w, h = picture.size
        shown = picture.crop((round(w * cut), round(h * cut), round(w * (1 - cut)),
                              round(h * (1 - cut))))  # fmt: skip
        shown.thumbnail((700, 700))
        screen = Image.new("RGB", (1920, 1080), (236, 238, 242))
        screen.paste(shown, (600, 150))
        return screen

    for name, picture, cut in (
        ("booth.png", booths[0], 0.08),
        ("selfie.png", selfie, 0.08),
        ("whole.png", booths[1], 0.0),
        ("other.png", booths[2], 0.08),
    ):
        screenshot(picture, cut).save(leak / name)
    originals = {"booth.png": "booth0.jpg", "selfie.png": "selfie.jpg", "whole.png": "booth1.jpg"}
    found_verified(leak, ref, "shown inside a larger picture", originals, other="other.png")
    by_path = {im.path: im for im in api.compare(leak, ref, workers=1).images}
    overlap = {name: by_path[name].matches[0].verification.overlap for name in originals}
    assert overlap["whole.png"] > 0.99
    assert overlap["booth.png"] < 0.75 and overlap["selfie.png"] < 0.75, overlap
    (leak / "other.png").unlink()
    for name in ("booth0.jpg", "selfie.jpg"):
        shutil.copy(ref / name, leak / name)
    clusters = api.scan([str(leak)], workers=1).clusters
    assert clusters is not None
    joined = {frozenset(m.path for m in c.members) for c in clusters.clusters}
    assert {"booth0.jpg", "booth.png"} in joined and {"selfie.jpg", "selfie.png"} in joined


def test_the_checks_on_several_threads_give_the_answers_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compare checks a chunk's candidates on as many threads as it has workers: the checks
    do run on two threads, and every status, match and verification is the one thread's."""
    import threading

    from kyctriage import api
    from kyctriage.match import compare as compare_module

    ref, leak, booths, selfie = booths_and_selfie(tmp_path)
    width, height = booths[0].size
    booths[0].crop((round(width * 0.12), 0, width, height)).save(leak / "left.jpg", quality=85)
    booths[0].resize((width // 2, height // 2)).save(leak / "small.jpg", quality=70)
    selfie.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(leak / "mirror.jpg", quality=85)
    booths[2].save(leak / "other.jpg", quality=90)
    seen: set[int] = set()
    check = compare_module.verify

    def counted(a: object, b: object) -> object:
        seen.add(threading.get_ident())
        return check(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(compare_module, "verify", counted)
    answers = []
    for workers in (1, 2):
        seen.clear()
        result = api.compare(leak, ref, workers=workers)
        answers.append([(im.path, im.status, im.matches) for im in result.images])
        assert len(seen) == workers
    assert answers[0] == answers[1]
    assert {path: status for path, status, _ in answers[0]} == {
        "left.jpg": NEAR, "mirror.jpg": NEAR, "other.jpg": UNMATCHED, "small.jpg": NEAR,
    }  # fmt: skip


def test_compare_and_index_build_scan_their_sides_without_clustering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A side's own near-duplicate clusters are not compare's question, nor an index's: the
    sides are scanned without them (the leak's verified clustering of the full held-out set
    took longer than the comparison's checks). A scan still clusters."""
    from kyctriage import api
    from kyctriage.scanning import pipeline

    ref, leak, booths, _ = booths_and_selfie(tmp_path)
    booths[0].resize((400, 300)).save(leak / "small.jpg", quality=80)
    clustered: list[int] = []
    real = pipeline.cluster

    def counted(*args: object, **kwargs: object) -> object:
        clustered.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "cluster", counted)
    found = api.compare(leak, ref, workers=1)
    assert {im.path: im.status for im in found.images} == {"small.jpg": NEAR}
    built = CliRunner().invoke(main, ["index", "build", str(ref), "-o", str(tmp_path / "i.db")])
    assert built.exit_code == 0, built.output
    assert clustered == []
    assert api.scan(ref, workers=1).clusters is not None
    assert clustered == [1]


def test_only_the_leak_side_keeps_its_further_cuts(tmp_path: Path) -> None:
    """The hashes cut further from each edge and turned back a few degrees are searched for
    the leak's images only: a
    folder opened as the leak keeps them with its looks (scanned, or a saved scan read
    again), the reference does not make them."""
    from kyctriage import api
    from kyctriage.match.entries import entries as entries_of

    folder, looked = tmp_path / "side", tmp_path / "looks"
    folder.mkdir()
    looked.mkdir()
    for n, (p, c) in enumerate(lookalikes.photographs(1, 1, 2)):
        lookalikes.draw(p, c).save(folder / f"picture{n}.jpg", quality=90)
    saved = tmp_path / "side.json"
    saved.write_text(render_json(api.scan(folder, workers=1)))
    for path in (folder, saved):
        for leak in (True, False):
            side = open_side(path, 1, str(looked), leak=leak)
            assert side.looks is not None
            for further in (side.looks.more, side.looks.turned):
                kept = [further(e) for e in entries_of(side.records)]
                assert kept and all((m is not None) == leak for m in kept), (path, leak)


def test_an_index_made_before_the_cut_views_says_it_cannot_find_crops(
    copied: tuple[Path, Path], tmp_path: Path
) -> None:
    """An index whose rows have no one-side cut views (made by an earlier kyctriage) still
    compares, and says that crops and screenshots cannot be found in it: on the side, and
    in compare's summary; an index made now says nothing."""
    from dataclasses import replace

    from kyctriage.match.compare import OLD_INDEX
    from kyctriage.probes.hashes import CUT_VIEWS, SHOWN

    leak, ref = copied
    made = entries(records(ref))
    old = [replace(e, views=tuple(v for v in e.views if v.view not in (*CUT_VIEWS, SHOWN)))
           for e in made]  # fmt: skip
    db, old_db = tmp_path / "ref.db", tmp_path / "old.db"
    index.add(db, made, create=True)
    index.add(old_db, old, create=True)
    assert open_side(db).notes == ()
    assert open_side(old_db).notes == (OLD_INDEX,)
    built = tmp_path / "ref.idx"
    shards.build(built, made)
    assert open_side(built).notes == ()
    made_old(built)
    assert open_side(built).notes == (OLD_INDEX,)
    done = CliRunner().invoke(main, ["compare", str(leak), str(old_db), "--workers", "1"])
    assert done.exit_code == 0, done.output
    assert "crops and screenshots cannot be found in it" in " ".join(done.output.split())


def made_old(built: Path) -> None:
    """A sharded index's manifest as a kyctriage before the cut views wrote it: no cut views
    in its list, no count of rows without them."""
    from kyctriage.probes.hashes import CUT_VIEWS, SHOWN

    manifest = built / "manifest.json"
    data = json.loads(manifest.read_text())
    data["views"] = [v for v in data["views"] if v not in (*CUT_VIEWS, SHOWN)]
    for shard in data["shards"]:
        del shard["uncut"]
    manifest.write_text(json.dumps(data))


def test_an_old_index_added_to_still_says_it_cannot_find_crops_among_its_old_rows(
    copied: tuple[Path, Path], tmp_path: Path
) -> None:
    """`index add` onto an index made before the cut views writes rows that have them, but
    the old rows still have none: the rewritten manifest (or the SQLite rows) must still say
    so, with how many rows, and compare must still print it."""
    from dataclasses import replace

    from kyctriage.match.compare import OLD_ROWS
    from kyctriage.probes.hashes import CUT_VIEWS, SHOWN

    leak, ref = copied
    old = [replace(e, views=tuple(v for v in e.views if v.view not in (*CUT_VIEWS, SHOWN)))
           for e in entries(records(ref))]  # fmt: skip
    built, old_db = tmp_path / "ref.idx", tmp_path / "old.db"
    shards.build(built, old)
    made_old(built)
    index.add(old_db, old, create=True)
    note = f"{len(old)} of {len(old) + 4} {OLD_ROWS}"  # the leak's 4 images added
    for made in (built, old_db):
        added = CliRunner().invoke(main, ["index", "add", str(leak), "-o", str(made),
                                          "--workers", "1"])  # fmt: skip
        assert added.exit_code == 0, added.output
        assert open_side(made).notes == (note,), made
        done = CliRunner().invoke(main, ["compare", str(leak), str(made), "--workers", "1"])
        assert done.exit_code == 0, done.output
        assert " ".join(note.split()) in " ".join(done.output.split()), made
    manifest = json.loads((built / "manifest.json").read_text())
    assert [s["uncut"] for s in manifest["shards"]] == [len(old), 0]
    assert not set(manifest["views"]) & {*CUT_VIEWS, SHOWN}  # not every row has them


def test_compare_reports_its_progress_stage_by_stage(sides: tuple[Path, Path]) -> None:  # noqa: F811
    """The leak scanned, the reference scanned, then the leak images whose candidates are
    checked: each stage counts up to its total (the CLI draws them as progress bars)."""
    from kyctriage import api
    from kyctriage.api import CHECKING, SCANNING_LEAK, SCANNING_REFERENCE

    leak, ref = sides
    seen: list[tuple[str, int, int]] = []
    result = api.compare(leak, ref, workers=1, progress=lambda *step: seen.append(step))
    assert {im.path: im.status for im in result.images} == EXPECTED
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    assert stages == [SCANNING_LEAK, SCANNING_REFERENCE, CHECKING]
    last = {stage: (done, total) for stage, done, total in seen}
    assert last[SCANNING_LEAK] == (5, 5) and last[SCANNING_REFERENCE] == (5, 5)
    assert last[CHECKING][0] == last[CHECKING][1] >= 1  # small_c.jpg's candidate at least


def test_an_index_loads_only_the_closest_rows_of_a_flood_and_counts_the_rest(
    crowded: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """An index holding two dozen copies of one booth capture (every one near the re-posted
    copy, as a template's look-alikes would be near a scan in an archive of millions): the
    search loads the closest few a leak image and shard (the rest are counted, never read),
    compare checks its --max-checks closest and reports how many it left."""
    leak, _, copies = crowded
    archive = tmp_path / "archive"
    archive.mkdir()
    capture = Image.open(copies / "customer0_q90.jpg")
    for n in range(24):
        capture.save(archive / f"copy{n:02}.jpg", quality=70 + n)
    built = tmp_path / "archive.idx"
    shards.build(built, entries(records(archive)), shard_rows=12)  # two shards
    lk = Arrays(entries(records(leak)))
    found = shards.find(built, lk, most=5)
    assert len(found.entries) == 10 and found.beyond.tolist() == [14]
    everything = shards.find(built, lk, most=24)
    assert len(everything.entries) == 24 and everything.beyond.tolist() == [0]
    (image,) = compare_sides(Side("leak", records(leak)), open_side(built),
                             pictures=(SEEN, SEEN), max_checks=2).images  # fmt: skip
    assert image.status == NEAR and [m.kind for m in image.matches] == [NEAR, NEAR]
    assert image.unchecked == 24 - 2


def test_the_closest_rows_of_each_leak_image_are_kept() -> None:
    """shards.closest: per leak image its `most` closest distinct rows (a row met twice
    counts once, at its closer meeting; ties by row), the rest counted."""
    owner = np.array([0, 0, 0, 0, 1, 0, 2], np.intp)
    row = np.array([5, 3, 9, 3, 5, 7, 1], np.intp)
    dist = np.array([4, 9, 2, 1, 8, 4, 0], np.int64)
    kept, beyond = shards.closest(owner, row, dist, 4, 2)
    # leak 0 meets rows 9 (2), 3 (1 and 9), 5 (4), 7 (4): its two closest are 3 and 9
    assert sorted(kept.tolist()) == [1, 3, 5, 9] and beyond.tolist() == [2, 0, 0, 0]
    kept, beyond = shards.closest(owner, row, dist, 4, 3)
    assert sorted(kept.tolist()) == [1, 3, 5, 5, 9] and beyond.tolist() == [1, 0, 0, 0]


def test_a_page_shown_too_small_to_check_is_an_unverified_candidate(tmp_path: Path) -> None:
    """A desktop screenshot shows a customer's scanned page at a quarter of the viewer: its
    card is ~70 px wide, too small to take keypoints or be told from a look-alike, so the
    check finds no fit with the page. It could not look, which is no refutation: the page is
    an unverified candidate (`shown too small to check`), never `unmatched`. A booth capture,
    of another shape than the picture the screenshot shows, is refuted as before."""
    import random

    from kyctriage import api
    from kyctriage.demo import variants
    from kyctriage.match.verify import UNSEEN, verify
    from kyctriage.scanning import looks
    from kyctriage.scanning.options import ScanOptions

    ref, leak = tmp_path / "ref", tmp_path / "leak"
    ref.mkdir()
    leak.mkdir()
    photos = lookalikes.photographs(3, 1, 1)
    page = next(lookalikes.draw(p, c) for p, c in photos if p.capture == "scan")
    booth = next(lookalikes.draw(p, c) for p, c in photos if p.capture == "booth")
    page.save(ref / "page.jpg", quality=90)
    variants._screen_desktop(page, 0.25, random.Random(0)).save(leak / "desktop.png")
    image = api.compare(leak, ref, workers=1).images[0]
    assert image.status == UNVERIFIED, image
    assert image.matches[0].path == "page.jpg"
    assert image.matches[0].verification is not None
    assert image.matches[0].verification.reason == UNSEEN

    def seen(path: Path):  # type: ignore[no-untyped-def]
        look = looks.look_of(path.read_bytes(), ScanOptions(roots=()), str(tmp_path))
        assert look is not None
        return looks.load(look)

    booth.save(tmp_path / "booth.jpg", quality=90)
    shot = seen(leak / "desktop.png")
    assert shot.unseen and not shot.views
    assert verify(seen(tmp_path / "booth.jpg"), shot).reason == "no geometric fit"
