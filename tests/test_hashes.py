"""Perceptual hashes: bit for bit imagehash's on the same 64 px copy; the preview is not copied."""

from __future__ import annotations

import io

import cv2
import imagehash
import numpy as np
import pytest
from PIL import Image

from kyctriage.probes import decode, hashes


def _imagehash(preview: Image.Image) -> tuple[str, str, str, str]:
    small = preview.resize((hashes.HASH_COPY_SIZE,) * 2, Image.Resampling.BOX)
    gray = small.convert("L")
    return (
        str(imagehash.phash(gray)),
        str(imagehash.dhash(gray)),
        str(imagehash.whash(gray)),
        str(imagehash.colorhash(small)),
    )


def _ours(preview: Image.Image) -> tuple[str, str, str, str]:
    got = hashes.perceptual(preview, None)
    return got.phash, got.dhash, got.whash, got.colorhash


def _previews() -> list[Image.Image]:
    rng = np.random.default_rng(9)
    images = [Image.new("RGB", (300, 200), c) for c in ((0, 0, 0), (255, 255, 255), (7, 200, 30))]
    # Flat areas and few levels make exact ties, where float noise decides imagehash's bits.
    images += [Image.fromarray((rng.integers(0, 4, (64, 64, 3)) * 85).astype(np.uint8))
               for _ in range(40)]  # fmt: skip
    images += [Image.fromarray(rng.integers(0, 256, (90, 130, 3), dtype=np.uint8))
               for _ in range(40)]  # fmt: skip
    ramp = np.linspace(0, 255, 500, dtype=np.float32)
    for angle in range(0, 180, 15):  # smooth gradients and bars in every hue
        field = (
            np.cos(np.deg2rad(angle)) * ramp[None, :] + np.sin(np.deg2rad(angle)) * ramp[:375, None]
        )
        channels = [(field * k) % 256 for k in (1.0, 0.5, 0.25)]
        images.append(Image.fromarray(np.stack(channels, -1).astype(np.uint8)))
    return images


@pytest.mark.parametrize("index", range(len(_previews())))
def test_hashes_equal_imagehash(index):
    preview = _previews()[index]
    assert _ours(preview) == _imagehash(preview)


def test_hashes_equal_imagehash_on_a_decoded_photo(tmp_path):
    rng = np.random.default_rng(3)
    pixels = np.cumsum(rng.normal(0, 6, (600, 800, 3)), axis=1) % 256
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, "JPEG", quality=90)
    decoded = decode.decode(out.getvalue(), "JPEG", 10**8, 64)
    assert decoded.preview.size == (100, 75)  # draft mode, 1/8
    assert _ours(decoded.preview) == _imagehash(decoded.preview)


def test_hex_form_matches_imagehash_for_odd_lengths():
    rng = np.random.default_rng(1)
    for size in (1, 3, 8, 42, 63, 64):
        bits = rng.random(size) > 0.5
        assert hashes._hex(bits) == str(imagehash.ImageHash(bits))


def test_an_rgb_decode_is_its_own_preview_and_a_large_one_is_reduced_on_a_copy():
    out = io.BytesIO()
    # the JPEG is drafted at the verification size (512): one whose preview is at that scale
    Image.new("RGB", (500, 400), (10, 20, 30)).save(out, "JPEG")
    small = decode.decode(out.getvalue(), "JPEG", 10**8, 256)
    assert small.preview is small.image and small.preview.size == (500, 400)
    out = io.BytesIO()
    Image.new("RGB", (900, 300), (10, 20, 30)).save(out, "PNG")
    large = decode.decode(out.getvalue(), "PNG", 10**8, 64)
    assert large.preview.size == (128, 43) and large.image.size == (900, 300)


def _cut_grey(preview: Image.Image, edge: str, cut: float) -> Image.Image:
    """The grey preview less `cut` of it at one edge, at the hashes' 64 px."""
    w, h = preview.size
    dx, dy = round(w * cut), round(h * cut)
    box = {"left": (dx, 0, w, h), "top": (0, dy, w, h), "right": (0, 0, w - dx, h),
           "bottom": (0, 0, w, h - dy)}[edge]  # fmt: skip
    size = (hashes.HASH_COPY_SIZE,) * 2
    return preview.convert("L").crop(box).resize(size, Image.Resampling.BOX)


@pytest.mark.parametrize("index", range(0, len(_previews()), 7))
def test_view_hashes_equal_imagehash_of_each_view(index):
    """The views are hashed as one stack; each must still be imagehash's hashes of its view."""
    preview = _previews()[index]
    gray = preview.resize((hashes.HASH_COPY_SIZE,) * 2, Image.Resampling.BOX).convert("L")
    views = {
        "mirror": gray.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "rot90": gray.transpose(Image.Transpose.ROTATE_90),
    }
    for name, keep in hashes.CROP_VIEWS:
        w, h = preview.size
        dx, dy = w * (1 - keep) / 2, h * (1 - keep) / 2
        box = (round(dx), round(dy), round(w - dx), round(h - dy))
        crop = preview.crop(box).resize((hashes.HASH_COPY_SIZE,) * 2, Image.Resampling.BOX)
        views[name] = crop.convert("L")
    for edge in hashes.EDGES:
        views[f"cut {edge}"] = _cut_grey(preview, edge, hashes.CUT)
    got = hashes.perceptual(preview, None, views=True)
    assert [v.view for v in got.views] == list(views)
    for view in got.views:
        image = views[view.view]
        expected = (str(imagehash.phash(image)), str(imagehash.dhash(image)),
                    str(imagehash.whash(image)))  # fmt: skip
        assert (view.phash, view.dhash, view.whash) == expected, view.view


def test_shown_views_are_imagehash_of_each_crop_reduced_as_a_preview_is():
    """The pictures shown inside an image are hashed as one stack, each as imagehash hashes
    its 64 px box reduction; at most SHOWN_MOST of them."""
    crops = [np.asarray(p.convert("L")) for p in _previews()[40:46]]
    got = hashes.shown_views(crops)
    assert len(got) == hashes.SHOWN_MOST and {v.view for v in got} == {hashes.SHOWN}
    for crop, view in zip(crops, got, strict=False):
        image = Image.fromarray(crop).resize((hashes.HASH_COPY_SIZE,) * 2, Image.Resampling.BOX)
        expected = (str(imagehash.phash(image)), str(imagehash.dhash(image)),
                    str(imagehash.whash(image)))  # fmt: skip
        assert (view.phash, view.dhash, view.whash) == expected
    assert hashes.shown_views([]) == ()


@pytest.mark.parametrize("index", [0, 45, 90])
def test_cut_more_is_the_hashes_of_each_further_cut(index):
    """A leak image's hashes cut further from each edge (compare's one-side crops) are the
    hashes imagehash gives the grey preview cut so (as the cut views are), as numbers."""
    preview = _previews()[index]
    got = hashes.cut_more(preview)
    assert got.shape == (len(hashes.EDGES), len(hashes.CUT_MORE), 3) and got.dtype == np.uint64
    for k, edge in enumerate(hashes.EDGES):
        for m, cut in enumerate(hashes.CUT_MORE):
            image = _cut_grey(preview, edge, cut)
            expected = [int(str(f(image)), 16) for f in (imagehash.phash, imagehash.dhash,
                                                         imagehash.whash)]  # fmt: skip
            assert got[k, m].tolist() == expected


def test_phash_falls_back_to_scipy_only_on_near_ties(monkeypatch):
    """Natural pictures take the matrix DCT; a flat one (every AC term ~0) is redone with
    scipy.fftpack, and both give imagehash's bits."""
    import scipy.fftpack

    calls = []
    real = scipy.fftpack.dct
    monkeypatch.setattr(scipy.fftpack, "dct", lambda *a, **k: calls.append(1) or real(*a, **k))
    ramp = _previews()[-1]
    assert _ours(ramp) == _imagehash(ramp)
    ours_calls = len(calls) - 2  # imagehash's own two DCTs
    assert ours_calls == 0
    calls.clear()
    flat = Image.new("RGB", (300, 200), (7, 200, 30))
    assert _ours(flat) == _imagehash(flat)
    assert len(calls) == 4  # two of ours, two of imagehash's


def test_the_scan_path_does_not_import_scipy_or_faiss():
    """scipy.fft costs ~0.4 s of start-up, serial before the workers fork; only the watermark
    detectors (with a profile) and near-tied phashes need it. faiss (~30 ms, 40 MB) loads
    with the first verification check."""
    import subprocess
    import sys

    code = (
        "import sys, kyctriage.cli.main, kyctriage.scanning.pipeline, kyctriage.match.verify;"
        " print('scipy' in sys.modules, 'faiss' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_row_medians_are_numpys_medians():
    from kyctriage.probes.hashes import _row_medians

    rng = np.random.default_rng(4)
    for count in (1, 2, 7, 64):
        rows = rng.normal(size=(5, count)) * 1e3
        rows[1] = np.round(rows[1])  # ties
        assert np.array_equal(_row_medians(rows), np.median(rows, axis=1))


def test_hashing_a_picture_does_not_load_numpy_ma():
    """np.median's NaN check imports numpy.ma (~11 ms in each worker's first file)."""
    import subprocess
    import sys

    code = (
        "import sys; from PIL import Image; from kyctriage.probes.hashes import perceptual; "
        "perceptual(Image.effect_noise((300, 200), 40).convert('RGB'), None, views=True); "
        "print('numpy.ma' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_copy_turned_a_few_degrees_meets_its_originals_view_once_turned_back():
    """Turned 3 degrees, a booth capture's upright hashes are far from its original's; the
    leak's hashes turned back (hashes.turned) meet the original's TURN_VIEW, at the turn
    that undoes it, within the rule, and each turn is imagehash's hashes of that cut."""
    from kyctriage.demo import lookalikes
    from kyctriage.match import search

    photo, customer = next((p, c) for p, c in lookalikes.photographs(1, 1, 1)
                           if p.capture == "booth")  # fmt: skip
    original = lookalikes.draw(photo, customer)
    copy = original.rotate(-3, Image.Resampling.BICUBIC)
    fit = (512, 512)
    original.thumbnail(fit)
    copy.thumbnail(fit)
    view = {v.view: v for v in hashes.view_hashes(original)}[hashes.TURN_VIEW]
    target = np.array([[int(h, 16) for h in (view.phash, view.dhash, view.whash)]], np.uint64)
    upright = hashes.perceptual(copy, None)
    as_is = np.array([[int(h, 16) for h in (upright.phash, upright.dhash, upright.whash)]],
                     np.uint64)  # fmt: skip
    assert not search.accepted(search.distances(as_is, target))[0]
    got = hashes.turned(copy)
    assert got.shape == (len(hashes.TURNS), 3) and got.dtype == np.uint64
    dist = search.distances(got, np.repeat(target, len(got), axis=0))
    assert search.accepted(dist)[hashes.TURNS.index(3)], dist.tolist()
    # each row is imagehash's hashes of the grey preview turned so and cut as the view is
    grey = np.asarray(copy.convert("L"))
    h, w = grey.shape
    for angle, row in zip(hashes.TURNS, got, strict=True):
        turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        image = Image.fromarray(cv2.warpAffine(grey, turn, (w, h), flags=cv2.INTER_LINEAR))
        cut = Image.fromarray(hashes._centre_crop(image, dict(hashes.CROP_VIEWS)["crop87"]))
        expected = [int(str(f(cut)), 16) for f in (imagehash.phash, imagehash.dhash,
                                                   imagehash.whash)]  # fmt: skip
        assert row.tolist() == expected
