"""Candidates from local features in a scan: crops and screenshots found, plain pictures idle."""

from __future__ import annotations

import io
import os
import pickle
import random
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw

from kyctriage.demo import lookalikes
from kyctriage.demo.variants import _screen_desktop, _screen_phone, jpeg, png
from kyctriage.match import candidates, cross, stars, verify
from kyctriage.match.verify import Features
from kyctriage.model import Report, Verification
from kyctriage.probes import decode
from kyctriage.scanning import looks, pipeline
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan


def _screenshot(picture: Image.Image, share: float) -> Image.Image:
    """The picture in a viewer window on a 1920x1080 desktop, `share` of the window tall."""
    screen = Image.new("RGB", (1920, 1080), (34, 46, 66))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((60, 30, 1860, 1010), fill=(244, 244, 244))
    for i in range(12):
        draw.text((76, 84 + 34 * i), f"Album {i + 1}", fill=(60, 60, 70))
    height = round(share * 920)
    shown = picture.resize((round(picture.width * height / picture.height), height))
    screen.paste(shown, (700, 60))
    return screen


def _plain(number: int) -> bytes:
    picture = Image.new("RGB", (160, 120), (70, 120, 190))
    ImageDraw.Draw(picture).text((70, 55), str(number), fill=(250, 250, 250))
    return png(picture)


@pytest.fixture(scope="module")
def leak(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("leak")
    # a camera's size: more pixels than the screenshot, so the original is the representative
    photo = Image.open(corpus / "exif-org" / "fujifilm-dx10.jpg").convert("RGB")
    photo = photo.resize((2048, 1536), Image.Resampling.LANCZOS)
    other = Image.open(corpus / "exif-org" / "nikon-e950.jpg").convert("RGB")
    (folder / "photo.jpg").write_bytes(jpeg(photo, 92))
    w, h = photo.size
    (folder / "photo_cropped.jpg").write_bytes(jpeg(photo.crop((0, 0, round(w * 0.8), h)), 85))
    (folder / "photo_screen.png").write_bytes(png(_screenshot(photo, 0.6)))
    (folder / "other.jpg").write_bytes(jpeg(other, 90))
    return folder


def _groups(report: Report) -> list[set[str]]:
    assert report.clusters is not None
    return [{m.path for m in c.members} for c in report.clusters.clusters]


def test_a_one_side_crop_joins_and_a_screenshot_is_checked_against_its_original(
    leak: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither is proposed by the global hashes (the crop's hashes moved, the screenshot is
    mostly window): local features propose both, and each is checked against the original.
    The crop verifies and joins; whether the screenshot verifies is verify.py's decision."""
    checked: list[tuple[int, int]] = []
    check = stars.verify

    def spy(a: Features, b: Features) -> Verification:
        checked.append((a.gray.shape[1], b.gray.shape[1]))
        return check(a, b)

    monkeypatch.setattr(stars, "verify", spy)
    report = scan(ScanOptions(roots=(str(leak),), in_process=True))
    assert {"photo.jpg", "photo_cropped.jpg"} in [g - {"photo_screen.png"} for g in _groups(report)]
    # the working copies' widths: the photo 1024, the crop 819, the screenshot 1024 x 576
    assert (1024, 819) in checked and checked.count((1024, 1024)) >= 1
    assert report.clusters is not None
    for member in report.clusters.clusters[0].members[1:]:
        assert member.verification is not None and member.verification.verified


def test_features_come_from_the_workers_one_decode(
    leak: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent neither reads nor decodes a picture again for verification: what it
    verifies was computed in the supervised workers, from the scan's one decode."""
    calls = tmp_path / "calls"
    seen = looks.features

    def counted(picture: Image.Image):  # type: ignore[no-untyped-def]
        with calls.open("a") as log:
            log.write(f"{os.getpid()}\n")
        return seen(picture)

    monkeypatch.setattr(looks, "features", counted)  # inherited by the forked workers
    report = scan(ScanOptions(roots=(str(leak),), workers=2))
    pids = [int(line) for line in calls.read_text().split()]
    # one look per picture, all in the workers: clustering in the parent saw no pixels (any
    # way to Features in the parent goes through looks.features and would be counted)
    assert len(pids) == 4 and os.getpid() not in pids
    assert {"photo.jpg", "photo_cropped.jpg"} in [g - {"photo_screen.png"} for g in _groups(report)]


def test_plain_pictures_form_no_cluster_and_are_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flat colours with a number each: hashes alike, too plain to verify. Nothing is kept
    for them, nothing read twice, and no cluster forms; an exact copy is still one."""
    for number in range(40):
        (tmp_path / f"plain{number}.png").write_bytes(_plain(number))
    (tmp_path / "plain0 copy.png").write_bytes(_plain(0))
    reads: list[str] = []
    read_file = pipeline.read.read_file

    def counted(path: str, limit: int):  # type: ignore[no-untyped-def]
        reads.append(path)
        return read_file(path, limit)

    monkeypatch.setattr(pipeline.read, "read_file", counted)
    monkeypatch.setattr(looks, "read_file", counted)
    kept: list[object] = []
    keep = looks.keep
    monkeypatch.setattr(
        looks, "keep", lambda seen, folder, closer=None: kept.append(keep(seen, folder, closer))
    )
    report = scan(ScanOptions(roots=(str(tmp_path),), in_process=True))
    assert sorted(reads) == sorted(set(reads)) and len(reads) == 41
    assert kept == [None] * 41  # too plain: no features kept
    assert _groups(report) == [{"plain0.png", "plain0 copy.png"}]
    assert report.clusters is not None
    assert report.clusters.clusters[0].kind == "exact"


def test_the_working_copy_comes_from_the_same_decode_as_the_preview() -> None:
    """A JPEG is decoded once at the verification size; its preview is the same with or
    without the working copy (so every path hashes a file alike), and a 2:1 box reduction
    is the old 1/8 DCT scale up to rounding (the 1/4 scale's block average)."""
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 255, (375, 500, 3), np.uint8).repeat(8, 0).repeat(8, 1)
    data = jpeg(Image.fromarray(pixels), 90)
    alone = decode.decode(data, "JPEG", 10**8, 256)
    both = decode.decode(data, "JPEG", 10**8, 256, working=True)
    assert alone.working is None and both.working is not None
    assert both.working.size == (1000, 750) and both.preview.size == (500, 375)
    assert both.preview.tobytes() == alone.preview.tobytes()
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (256, 256))
    diff = np.abs(np.asarray(both.preview, int) - np.asarray(image.convert("RGB"), int))
    assert diff.mean() < 1.5


def test_local_candidates_pair_a_crop_with_its_original_not_with_strangers(corpus: Path) -> None:
    pictures = [
        Image.open(corpus / "exif-org" / name).convert("RGB")
        for name in ("fujifilm-dx10.jpg", "nikon-e950.jpg", "canon-ixus.jpg")
    ]
    w, h = pictures[0].size
    pictures.append(pictures[0].crop((0, round(h * 0.2), w, h)))  # 20% off the top
    keys = [candidates.keys(looks.features(p)) for p in pictures]
    a, b = candidates.pairs(keys)
    assert (0, 3) in set(zip(a.tolist(), b.tolist(), strict=True))
    assert not {0, 3} & set(np.r_[a[b != 3], b[b != 3]].tolist()) - {0}


def test_a_picture_without_features_proposes_nothing() -> None:
    a, b = candidates.pairs([None, np.zeros((0, 32), np.uint8), None])
    assert len(a) == len(b) == 0


def test_pictures_sharing_no_descriptor_give_no_pair_and_no_error() -> None:
    rng = np.random.default_rng(1)
    keys = [rng.integers(0, 256, (40, 32), dtype=np.uint8) for _ in range(3)]
    a, b = candidates.pairs(keys)
    assert len(a) == len(b) == 0


def test_keypoints_found_in_a_check_outlive_the_pictures_kept_in_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A picture read again from its spill file (stars keeps KEPT in memory) brings back the
    mirrored and the reduced copy's keypoints earlier checks found: each is found once."""
    rng = np.random.default_rng(3)
    spilled = []
    for _ in range(4):  # unrelated textures: every check tries the mirror and reduced copies
        noise = Image.fromarray(rng.integers(0, 256, (96, 128), np.uint8)).convert("RGB")
        seen = verify.features(noise.resize((640, 480), Image.Resampling.BICUBIC))
        assert seen.informative
        spilled.append(pickle.dumps(seen))
    found: list[int] = []
    mirrored, detected = verify._mirrored, verify._detected

    def mirror(f: Features) -> verify.Keypoints:
        found.append(id(f))
        return mirrored(f)

    monkeypatch.setattr(verify, "_mirrored", mirror)
    monkeypatch.setattr(verify, "_detected", lambda g: found.append(-g.shape[1]) or detected(g))
    monkeypatch.setattr(stars, "KEPT", 1)
    first, second = np.triu_indices(4, 1)
    table = SimpleNamespace(
        entries=[SimpleNamespace(i=i, width=1024, height=768) for i in range(4)]
    )
    assert not stars.stars(
        table,  # type: ignore[arg-type]
        np.arange(4),
        (first.astype(np.intp), second.astype(np.intp)),
        lambda e: (0, False, 0, "", "", str(e.i)),
        lambda e: pickle.loads(spilled[e.i]),
    )[0]
    # 6 checks, none verified, and none again in stars' second pass (each pair was refused
    # one way round already); the mirror is found for each picture checked second (3: the
    # first picture had no earlier one to be checked against), the reduced copy for each
    # picture (4): once each, though pictures were read again
    assert len(found) == 3 + 4


def _textured(seed: int) -> Image.Image:
    """A photograph-like picture of its own: smooth colour noise crossed by sharp strokes."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (45, 60, 3), dtype=np.uint8)
    picture = Image.fromarray(small).resize((800, 600), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(picture)
    for _ in range(30):
        x, y = (int(v) for v in rng.integers(0, 600, 2))
        end = (x + int(rng.integers(-300, 300)), int(rng.integers(0, 600)))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        draw.line((x, y, *end), fill=colour, width=int(rng.integers(2, 9)))
    return picture


def test_pictures_with_no_copy_propose_no_partner_by_chance() -> None:
    """Thirty unrelated pictures, a re-encoded copy of one and a one-side crop of another:
    every picture shares a few generic descriptors with every other, and each one's best
    of those were proposed (133 pairs, each a check finding no fit). Only pairs standing
    out from each picture's chance level are: the copy's and the crop's."""
    pictures = [_textured(seed) for seed in range(30)]
    copy = Image.open(io.BytesIO(jpeg(pictures[0].resize((640, 480)), 70)))
    crop = pictures[1].crop((0, 0, 640, 600))
    keys = [candidates.keys(looks.features(p)) for p in (*pictures, copy, crop)]
    a, b, _ = candidates.votes(keys)
    assert np.bincount(np.concatenate([a, b])).min() >= candidates.MIN_PARTNERS
    found = set(zip(*(side.tolist() for side in candidates.pairs(keys)), strict=True))
    assert found == {(0, 30), (1, 31)}


def test_a_pictures_coarse_keys_meet_a_small_copys_own_keys(corpus: Path) -> None:
    """The keys of a copy reduced to COARSE px are there for a picture shown that small (in
    a screenshot), whose keys are computed at its own size: both must be ORB descriptors of
    one sampling pattern (OpenCV draws another for every patch size)."""
    photo = Image.open(corpus / "exif-org" / "fujifilm-dx10.jpg").convert("RGB")
    photo = photo.resize((2048, 1536), Image.Resampling.LANCZOS)
    seen = looks.features(photo)
    coarse = candidates.keys(seen)[min(len(seen.descriptors), candidates.KEYS) :]
    assert len(coarse) > 50
    small = photo.resize((candidates.COARSE, candidates.COARSE * 3 // 4), Image.Resampling.BOX)
    own = looks.features(small).descriptors
    nearest = np.bitwise_count(coarse[:, None, :] ^ own[None, :, :]).sum(axis=2).min(axis=1)
    assert float(np.mean(nearest <= candidates.RADIUS)) > 0.5


def test_a_picture_shown_small_in_screenshots_sharing_their_chrome_proposes_its_original() -> None:
    """Ten booth captures (one backdrop) and a desktop screenshot of each, the capture at a
    third of the viewer: the whole screenshots' keys are mostly the window's, which every
    screenshot shares, and out-vote some originals; the keys of the picture each shows,
    searched apart, propose every original."""
    booths = [p for p in lookalikes.photographs(3, 2, 10) if p[0].capture == "booth"][:10]
    originals = [lookalikes.draw(photo, customer) for photo, customer in booths]
    rng = random.Random(1)
    shots = [_screen_desktop(picture, 0.35, rng) for picture in originals]
    seen = [looks.features(p) for p in originals + shots]
    keys = [candidates.keys(f) for f in seen]
    n = len(originals)
    whole = set(zip(*(side.tolist() for side in candidates.pairs(keys)), strict=True))
    assert not {(i, i + n) for i in range(n)} <= whole
    shown = [(i, desc) for i, f in enumerate(seen) for desc in candidates.shown(f)]
    assert {i for i, _ in shown} >= set(range(n, 2 * n))  # each screenshot shows its picture
    inner = set(zip(*(side.tolist() for side in cross.shown(shown, keys)), strict=True))
    assert {(i, i + n) for i in range(n)} <= whole | inner


def _stars_of_named(
    monkeypatch: pytest.MonkeyPatch,
    names: tuple[str, ...],
    edges: list[tuple[str, str]],
    check: Callable[[str, str], Verification],
    heights: dict[str, int] | None = None,
    strengths: dict[tuple[str, str], int] | None = None,
    made: list[tuple[str, str]] | None = None,
    frames: tuple[str, ...] = (),
    leaders: list[str] | None = None,
) -> list[list[str]]:
    """stars() over pictures known by name (ranked in the order given, 1024 px wide, 768 px
    high unless `heights` says otherwise), the hashes' candidate edges between them, and a
    check by their names: the clusters, each as its sorted names. `strengths` gives the
    candidate order's strength of (representative, picture) by names (else 0); `made`
    collects the checks made, with the unchecked count last as ("unchecked", count).
    `frames` show a picture of 4:3 inside them (a screenshot's box, Features.boxes);
    `leaders` collects each cluster's representative."""
    grays = [np.zeros(((heights or {}).get(name, 768), 1024), np.uint8) for name in names]
    name_of = {id(gray): name for gray, name in zip(grays, names, strict=True)}

    def picture(e: SimpleNamespace) -> Features:
        none = np.empty((0, 2), np.float32)
        boxes = ((100, 100, 500, 400),) if names[e.i] in frames else ()
        return Features(grays[e.i], none, np.empty((0, 32), np.uint8), True, 1.0, boxes=boxes)

    def checked(a: Features, b: Features) -> Verification:
        if made is not None:
            made.append((name_of[id(a.gray)], name_of[id(b.gray)]))
        return check(name_of[id(a.gray)], name_of[id(b.gray)])

    def strength(a: Features, b: Features) -> int:
        return (strengths or {}).get((name_of[id(a.gray)], name_of[id(b.gray)]), 0)

    monkeypatch.setattr(stars, "verify", checked)
    monkeypatch.setattr(stars, "strength", strength)
    table = SimpleNamespace(
        entries=[SimpleNamespace(i=i, width=gray.shape[1], height=gray.shape[0])
                 for i, gray in enumerate(grays)]
    )  # fmt: skip
    index = {name: i for i, name in enumerate(names)}
    pairs = (np.array([index[a] for a, _ in edges], np.intp),
             np.array([index[b] for _, b in edges], np.intp))  # fmt: skip
    found = stars.stars(
        table,  # type: ignore[arg-type]
        np.arange(len(names)),
        pairs,
        lambda e: (0, False, 0, "", "", f"{e.i:06d}"),
        picture,  # type: ignore[arg-type]
    )
    if made is not None:
        made.append(("unchecked", str(found[1])))
    if leaders is not None:
        leaders.extend(sorted(names[i] for rows, checks in found[0] for i in rows
                              if i not in checks))  # fmt: skip
    return sorted(sorted(names[i] for i in rows) for rows, _ in found[0])


def _passing(
    scales: dict[tuple[str, str], float], reason: str
) -> Callable[[str, str], Verification]:
    """A check by names: the pairs in `scales` pass at that scale, every other fails. A
    picture passing at under half its size inside another is shown there as in a
    screenshot, whose check verifies it on the closer look at the picture the screenshot
    shows (stars._shows); at a larger scale it is a crop, not shown in a frame."""

    def check(one: str, other: str) -> Verification:
        scale = scales.get((one, other))
        if scale is None:
            return Verification(False, reason)
        return Verification(True, "verified", scale=scale, closer=scale < 0.5)

    return check


def test_a_copy_joins_its_original_and_the_screenshot_showing_it_follows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The screenshot (S) ranks first by its pixels; the original (O) is not proposed to it
    and finds nothing (X) to join; the copy (C), proposed to both, passes against S, which
    shows it small, and against O. C joins O, not S, and S follows: one cluster, where C
    leading S's cluster and O left alone would be two."""

    def check(one: str, other: str) -> Verification:
        if "X" in (one, other):
            return Verification(False, "no geometric fit")
        scale = 0.3 if one == "S" else 1 / 0.3 if other == "S" else 1.0
        return Verification(True, "verified", scale=scale)

    edges = [("C", "S"), ("C", "O"), ("O", "X")]
    found = _stars_of_named(monkeypatch, ("S", "X", "O", "C"), edges, check, {"S": 576})
    assert found == [["C", "O", "S"]]


def test_a_picture_that_tried_another_representative_tries_its_later_candidates_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The screenshot (S) is proposed to another screenshot (X, ranked before it: their
    window's keys) and to a copy (C, ranked after it: the keys of the picture S shows). At
    S's turn it fails against X and C is not placed yet; C then joins its original (O).
    Once every picture is placed, S tries O, which it could not try at its turn, and joins
    it: S is not left alone for having had X to try."""

    def check(one: str, other: str) -> Verification:
        if "X" in (one, other):
            return Verification(False, "no geometric fit")
        return Verification(True, "verified", scale=1.0)

    edges = [("S", "X"), ("S", "C"), ("C", "O")]
    found = _stars_of_named(monkeypatch, ("O", "X", "S", "C"), edges, check)
    assert found == [["C", "O", "S"]]


def test_a_scanned_page_in_a_screenshot_proposes_its_original_from_the_closer_decode(
    tmp_path: Path,
) -> None:
    """Scanned pages of one template's customers, each shown in a 1920 px desktop screenshot
    (PNG) at half of the viewer: in the 1,024 px working copy the document is too small
    to propose anything, and only the page around it is shown (regions.PAGE); their keys
    taken from the decode itself (looks.see hands it to candidates.shown) propose each
    page's own original."""
    scans = [p for p in lookalikes.photographs(3, 1, 6) if p[0].capture == "scan"][:6]
    originals = [lookalikes.draw(photo, customer) for photo, customer in scans]
    rng = random.Random(2)
    shots = []
    for picture in originals:
        data = png(_screen_desktop(picture, 0.5, rng))
        shots.append(decode.decode(data, "PNG", 10**8, 256, working=True))
    seen = [looks.features(p) for p in originals]
    keys = [candidates.keys(f) for f in seen]
    n = len(originals)
    working = [looks.features(d.working) for d in shots if d.working is not None]
    # in the working copy, at most the page is shown: the document alone is too small
    assert all(len(candidates.shown(f)) <= 1 for f in working)
    looked = [looks.see(d, str(tmp_path)) for d in shots]
    shown = [(n + i, desc) for i, look in enumerate(looked) if look for desc in look.shown]
    assert {i for i, _ in shown} == set(range(n, 2 * n))
    pairs = cross.shown(shown, keys + [None] * n)
    inner = set(zip(*(side.tolist() for side in pairs), strict=True))
    assert {(i, i + n) for i in range(n)} <= inner


def test_a_page_in_a_phone_screenshot_proposes_its_original_where_its_check_can_look(
    tmp_path: Path,
) -> None:
    """Scanned pages of one template's customers, each shown in a phone chat screenshot at
    40% of the chat: the document is ~70 px wide, fewer detailed cells than a content test
    needs in the shown box alone, yet its check (the closer view, the page around it) can
    look. A shown picture proposes exactly where a view is made (verify.shown): each page's
    own original is proposed and verifies, no other customer's does."""
    scans = [p for p in lookalikes.photographs(3, 1, 6) if p[0].capture == "scan"][:6]
    originals = [lookalikes.draw(photo, customer) for photo, customer in scans]
    rng = random.Random(2)
    shots = [
        decode.decode(png(_screen_phone(p, 0.4, rng)), "PNG", 10**8, 256, working=True)
        for p in originals
    ]
    seen = [looks.features(p) for p in originals]
    n = len(originals)
    looked = [looks.see(d, str(tmp_path)) for d in shots]
    shown = [(n + i, desc) for i, look in enumerate(looked) if look for desc in look.shown]
    assert {i for i, _ in shown} == set(range(n, 2 * n))
    pairs = cross.shown(shown, [candidates.keys(f) for f in seen] + [None] * n)
    proposed = set(zip(*(side.tolist() for side in pairs), strict=True))
    assert {(i, i + n) for i in range(n)} <= proposed
    for a, b in proposed:
        shot = looked[b - n]
        assert shot is not None
        shot_seen = looks.load(shot)
        assert shot_seen is not None
        assert verify.verify(seen[a], shot_seen).verified == (b == a + n)


def test_a_look_brings_the_picture_down_once(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keys() and shown() find the coarse keys and the pictures shown on one copy brought
    down to COARSE (= REGIONS) px, made once by the worker, and find what each finds alone."""
    photo = Image.open(corpus / "exif-org" / "fujifilm-dx10.jpg").convert("RGB")
    seen = looks.features(_screenshot(photo, 0.5))
    alone = (candidates.keys(seen), candidates.shown(seen))
    assert alone[1]  # the photograph shown in the window has keys of its own
    whole: list[bool] = []  # each resize: of the whole working copy?
    resize = candidates.cv2.resize
    monkeypatch.setattr(
        candidates.cv2,
        "resize",
        lambda x, *a, **kw: whole.append(x is seen.gray) or resize(x, *a, **kw),
    )
    look = looks.keep(seen, str(tmp_path))
    assert look is not None
    assert whole.count(True) == 1
    assert np.array_equal(look.keys, alone[0])
    assert all(np.array_equal(a, b) for a, b in zip(look.shown, alone[1], strict=True))


def test_a_frame_left_out_of_a_cluster_that_absorbed_it_is_a_representative_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """X, a frame showing G, joins Q's cluster when G matches Q (X's place among the
    representatives goes); Q, a frame showing P, then joins the cluster of P's original
    (F), and of Q's members G passes against F while X does not: X is left on its own, a
    representative again, in the order. Y, which X's hashes proposed while X was Q's,
    tries X in the second pass and joins it: X's cluster must be there to join. (X and Y
    pass both ways round, as verify() answers: a pair refused one way is not asked again.)"""
    passing = {("X", "G"): 0.3, ("Q", "G"): 1.0, ("Q", "X"): 1.0, ("Q", "P"): 0.3,
               ("F", "P"): 1.0, ("F", "Q"): 1.0, ("F", "G"): 1.0, ("X", "Y"): 1.0,
               ("Y", "X"): 1.0}  # fmt: skip

    check = _passing(passing, "no geometric fit")
    edges = [("G", "X"), ("G", "Q"), ("Y", "X"), ("P", "Q"), ("P", "F")]
    found = _stars_of_named(monkeypatch, ("X", "Q", "F", "G", "Y", "P"), edges, check)
    assert found == [["F", "G", "P", "Q"], ["X", "Y"]]


def test_a_centred_crop_does_not_take_over_a_cluster_it_does_not_all_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The original (O) leads a one-side crop of it (S). A centred crop (C) keeping 80% of
    each side covers less than EMBEDDED of O's frame, as a picture in a screenshot does,
    and passes against O both ways, but S (the bottom quarter cut off) fails against C:
    C joins O, which stays the representative, and S stays in the cluster. Before, C took
    the cluster over and S was left on its own (held-out seed 2 of bench/kyc_lookalikes.py:
    a scan's original, its centred crop and nine copies in one cluster, and three copies
    that joined S in another)."""
    passing = {("O", "S"): 1.0, ("O", "C"): 0.8, ("C", "O"): 1 / 0.8}

    check = _passing(passing, "content differs")
    edges = [("S", "O"), ("C", "O"), ("C", "S")]
    found = _stars_of_named(monkeypatch, ("O", "S", "C"), edges, check)
    assert found == [["C", "O", "S"]]


def test_a_copy_ranked_before_its_clusters_representative_does_not_break_the_cluster_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The original (O) leads its copy (M) and a centred crop of it (C). A brightened copy
    (B, ranked before C by its pixels) fails against O and M (its clipped whites) but
    passes against C. In the second pass B must not take C's cluster and leave O and M on
    their own (held-out seed 2 of bench/kyc_lookalikes.py: a booth photograph's original
    and eight of its copies). Changed with stars._shows: C covering less than EMBEDDED of
    O's frame once took O's cluster over as if O showed it inside a frame, and B joined
    through C; O shows no picture there, so O leads, and B, which fails against O, is left
    on its own (a member is checked against the representative itself)."""
    passing = {("O", "M"): 1.0, ("O", "C"): 0.82, ("C", "O"): 1 / 0.82, ("C", "M"): 1 / 0.82,
               ("C", "B"): 1 / 0.82, ("B", "C"): 0.82}  # fmt: skip

    check = _passing(passing, "content differs")
    edges = [("B", "O"), ("M", "O"), ("C", "O")]
    found = _stars_of_named(monkeypatch, ("O", "B", "M", "C"), edges, check)
    assert found == [["C", "M", "O"]]


def test_an_original_round_a_crop_does_not_join_a_screenshot_showing_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The original (O) leads a copy (R) that a desktop screenshot (S, not proposed to O)
    fails: its picture is too small there. A centred crop (C) passes against O, which
    shows it in a larger frame, and against S: S's cluster must not take in O and leave
    R on its own, as S shows O itself inside its frame (held-out seed 2 of
    bench/kyc_lookalikes.py: a passport scan's cluster led by its screenshot and four of
    its copies in another). C joins S, and in the second pass O takes S's cluster over."""
    passing = {("O", "R"): 1.0, ("O", "C"): 0.8, ("C", "O"): 1 / 0.8, ("S", "C"): 0.3,
               ("S", "O"): 0.35, ("O", "S"): 1 / 0.35}  # fmt: skip

    check = _passing(passing, "content differs")
    edges = [("R", "O"), ("C", "O"), ("C", "S")]
    found = _stars_of_named(monkeypatch, ("O", "S", "R", "C"), edges, check)
    assert found == [["C", "O", "R", "S"]]


def test_a_copy_is_checked_first_against_its_strongest_candidate_not_every_look_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copy (C) proposed to more look-alikes than MAX_CHECKS (one template's customers,
    ranked before its original O) is checked against O first, whose fit on it is the
    strongest: one check, where representative order never reached O."""
    looks = tuple(f"L{i}" for i in range(stars.MAX_CHECKS + 4))
    strengths = {(name, "C"): 40 for name in looks} | {("O", "C"): 300}
    made: list[tuple[str, str]] = []
    found = _stars_of_named(
        monkeypatch, (*looks, "O", "C"), [(name, "C") for name in (*looks, "O")],
        _passing({("O", "C"): 1.0}, "content differs"), strengths=strengths, made=made,
    )  # fmt: skip
    assert found == [["C", "O"]]
    assert [pair for pair in made if pair[1] == "C"] == [("O", "C")]


def test_a_picture_is_checked_against_at_most_max_checks_candidates_and_the_rest_are_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first picture of a customer (P) proposed to MAX_CHECKS + 4 look-alikes: the
    MAX_CHECKS strongest are checked, the other four are counted as unchecked, not checked
    and not hidden."""
    looks = tuple(f"L{i}" for i in range(stars.MAX_CHECKS + 4))
    strengths = {(name, "P"): 1000 - i for i, name in enumerate(looks)}
    made: list[tuple[str, str]] = []
    found = _stars_of_named(
        monkeypatch, (*looks, "P"), [(name, "P") for name in looks],
        _passing({}, "content differs"), strengths=strengths, made=made,
    )  # fmt: skip
    assert found == []
    checked = [one for one, other in made if other == "P"]
    assert checked == list(looks[: stars.MAX_CHECKS])
    assert made[-1] == ("unchecked", str(len(looks) - stars.MAX_CHECKS))


def test_a_pair_refused_one_way_round_is_not_checked_again_the_other_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three unrelated pictures proposing one another, no fit found: each pair is checked
    once, the later against the earlier at its turn. The second pass, in which each
    representative tries those ranked after it, does not ask again (it did: six checks for
    three pairs). A content refusal is asked again the other way round: near a threshold,
    which picture is brought onto the other can decide."""
    edges = [("A", "B"), ("A", "C"), ("B", "C")]
    made: list[tuple[str, str]] = []
    found = _stars_of_named(
        monkeypatch, ("A", "B", "C"), edges, _passing({}, "no geometric fit"), made=made
    )
    assert found == []
    assert made == [("A", "B"), ("A", "C"), ("B", "C"), ("unchecked", "0")]
    made.clear()
    found = _stars_of_named(
        monkeypatch, ("A", "B", "C"), edges, _passing({("B", "A"): 1.0}, "content differs"),
        made=made,
    )  # fmt: skip
    assert found == [["A", "B"]]
    assert made[:4] == [("A", "B"), ("A", "C"), ("B", "C"), ("B", "A")]


def test_a_larger_frame_is_checked_before_a_stronger_candidate_so_a_copy_can_lead_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A screenshot (S, 2.5 times the copy's pixels, showing a picture of C's shape) showing
    the copy C is checked before C's stronger candidate O: C passes against S with a small
    footprint (on the closer look at the picture S shows), then joins O, and S follows C's
    cluster; checked strongest first, C would join O and S be left alone."""

    def check(one: str, other: str) -> Verification:
        scale = 0.3 if one == "S" else 1 / 0.3 if other == "S" else 1.0
        return Verification(True, "verified", scale=scale, closer=one == "S")

    made: list[tuple[str, str]] = []
    found = _stars_of_named(
        monkeypatch, ("S", "O", "C"), [("C", "S"), ("C", "O")], check,
        {"S": 1920}, strengths={("O", "C"): 300, ("S", "C"): 20}, made=made, frames=("S",),
    )  # fmt: skip
    assert found == [["C", "O", "S"]]
    assert made[0] == ("S", "C")


def test_larger_pictures_that_show_no_picture_of_its_shape_are_checked_strongest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A scan's small copy (C) has every page of its template proposed, all larger than it
    (held-out seed 2: 80-95 representatives, more than MAX_CHECKS). They were all ranked
    first, as frames that might show it, in representative order, so its own original (O,
    ranked last here) was not always among those checked. A page shows its document, not a
    picture of C's shape: they are checked strongest first, and O is."""
    pages = tuple(f"P{i}" for i in range(stars.MAX_CHECKS + 8))
    names = (*pages, "O", "C")
    check = _passing({("O", "C"): 1.0}, "content differs")
    made: list[tuple[str, str]] = []
    found = _stars_of_named(
        monkeypatch, names, [(p, "C") for p in (*pages, "O")], check,
        {"C": 384}, strengths={("O", "C"): 90}, made=made,
    )  # fmt: skip
    assert ["C", "O"] in found
    assert made[0] == ("O", "C")


def test_an_original_leads_the_screenshot_showing_it_where_the_box_is_found_off_its_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A desktop screenshot (S, ranked first) shows a booth capture (O) at 0.3 of its size,
    verified on the working copies (no closer look), and S's box of O's shape is a little
    off O's fit (a plain backdrop's edge). O must lead S's cluster: taken as not shown
    inside S, O joined S as a member, and its mirrored copy (M), verified on S's closer
    look, then took S's cluster over with O in it (held-out seed 2: 12 clusters led by a
    mirrored copy, 4 on main before)."""
    scales = {("S", "O"): 0.3, ("S", "M"): 0.3, ("O", "M"): 1.0, ("M", "O"): 1.0,
              ("O", "S"): 1 / 0.3, ("M", "S"): 1 / 0.3}  # fmt: skip

    def check(one: str, other: str) -> Verification:
        closer = (one, other) == ("S", "M")
        return Verification(True, "verified", scale=scales[(one, other)], closer=closer)

    leaders: list[str] = []
    found = _stars_of_named(
        monkeypatch, ("S", "O", "M"), [("O", "S"), ("M", "S"), ("M", "O")], check,
        {"S": 1080}, frames=("S",), leaders=leaders,
    )  # fmt: skip
    assert found == [["M", "O", "S"]]
    assert leaders == ["O"]
