"""The keyed mark found in one-side crops and in pictures inside larger images (padding,
screenshots), and an honest verdict where a picture inside is too small to test."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from kyctriage import regions
from kyctriage.demo import lookalikes
from kyctriage.demo.variants import _screen_desktop
from kyctriage.probes.decode import decode
from kyctriage.scanning.marks import DetectOptions, detect_file
from kyctriage.watermark import ABSENT, INCONCLUSIVE, PRESENT, crop, detect, embed
from tests.test_watermark import KEY, OTHER, check, jpeg, preview_of, textured


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def screen(
    picture: Image.Image, size: tuple[int, int], box: tuple[int, int, int, int]
) -> Image.Image:
    """A back-office page: a title bar, lines of text, and the picture re-scaled into box."""
    page = Image.new("RGB", size, (245, 246, 248))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, size[0], 40), fill=(40, 60, 90))
    for y in range(80, size[1], 30):
        draw.text((box[2] + 20, y), "Customer 12345 - verified - documents", fill=(30, 30, 30))
    width, height = box[2] - box[0], box[3] - box[1]
    page.paste(picture.resize((width, height), Image.Resampling.BILINEAR), box[:2])
    return page


@pytest.fixture(scope="module")
def pair() -> tuple[Image.Image, Image.Image]:
    plain = textured(800, 600, seed=5)
    return plain, embed(plain, KEY)


@pytest.mark.parametrize("edge", range(4))
def test_a_fifth_cut_from_one_edge_is_found(pair, edge):
    marked = pair[1]
    w, h = marked.size
    box = [(160, 0, w, h), (0, 120, w, h), (0, 0, w - 160, h), (0, 0, w, h - 120)][edge]
    result = check(jpeg(marked.crop(box)))
    assert result.verdict == PRESENT and "cropped" in result.note
    assert result.false_positive_bound <= 1e-6


def test_the_searched_pairs_are_both_sides_or_one_side_crops():
    assert crop.allowed(np.array(0.8), np.array(1.0))
    assert crop.allowed(np.array(0.85), np.array(0.85))
    assert not crop.allowed(np.array(0.8), np.array(0.9))
    assert crop.THRESHOLD > 7.5  # the budget's quarter over the grown grid


def test_a_padded_picture_is_found_and_its_unmarked_twin_is_absent(pair):
    for source, verdict, said in (
        (pair[1], PRESENT, "inside the image ("),
        (pair[0], ABSENT, "nor in the pictures inside it ("),
    ):
        page = Image.new("RGB", (source.width + 70, source.height + 90), (200, 30, 60))
        page.paste(source, (35, 40))
        result = check(jpeg(page))
        assert result.verdict == verdict and said in result.note, result.note


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_picture_inside_a_screenshot_is_found(pair, fmt):
    page = screen(pair[1], (1920, 1080), (300, 160, 1260, 880))
    data = png(page) if fmt == "PNG" else jpeg(page)
    result = check(data, fmt=fmt)
    assert result.verdict == PRESENT and "inside the image" in result.note, result.note
    assert result.false_positive_bound <= 1e-6
    wrong = check(data, key=OTHER, fmt=fmt)
    assert wrong.verdict == ABSENT and "pictures inside it" in wrong.note


def test_an_unmarked_screenshot_is_absent_and_says_what_was_searched(pair):
    result = check(png(screen(pair[0], (1920, 1080), (300, 160, 1260, 880))), fmt="PNG")
    assert result.verdict == ABSENT and "nor in the pictures inside it (" in result.note


def test_a_picture_too_small_to_test_is_inconclusive_not_absent(pair):
    page = screen(pair[1], (1920, 1080), (1400, 700, 1720, 940))  # 320 px: ~85 px in the preview
    result = check(png(page), fmt="PNG")
    assert result.verdict == INCONCLUSIVE and "too small to test" in result.note


def test_a_photograph_that_fills_its_frame_has_no_regions(pair):
    luma = np.asarray(pair[0].convert("L"), dtype=np.float32)
    assert regions.fills_frame(luma)
    assert regions.find(luma) == ([], [])


def _with_sky(picture: Image.Image, share: float = 0.3) -> Image.Image:
    """The picture with a flat sky over its top share: flat pixels at the picture's edge."""
    sky = picture.copy()
    sky.paste((170, 200, 235), (0, 0, picture.width, int(picture.height * share)))
    return sky


def test_a_padded_picture_whose_flat_sky_meets_the_padding_is_found_whole():
    """The sky is flat like the padding, but a step of colour parts them: the region is the
    whole picture, not its busy part below the sky (which no searched crop could be)."""
    marked = embed(_with_sky(textured(800, 600, seed=9)), KEY)
    page = Image.new("RGB", (marked.width + 60, marked.height + 50), (250, 250, 250))
    page.paste(marked, (30, 20))
    result = check(jpeg(page))
    assert result.verdict == PRESENT and "inside the image (" in result.note, result.note
    luma = np.asarray(Image.open(io.BytesIO(jpeg(page))).convert("L"), dtype=np.float32)
    (region, *_), _ = regions.find(luma)
    left, top, right, bottom = region.busy
    assert abs(top - 20) <= 10 and abs(bottom - 620) <= 10 and abs(left - 30) <= 10


def test_a_thin_border_all_round_is_searched_as_a_picture_inside(pair):
    page = Image.new("RGB", (pair[1].width + 14, pair[1].height + 12), (20, 20, 20))
    page.paste(pair[1], (7, 6))  # ~1% per side: the busy part is not the whole image
    result = check(jpeg(page))
    assert result.verdict == PRESENT, result.note


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_a_picture_too_small_in_the_preview_is_looked_at_in_the_larger_decode(pair, fmt):
    """A phone screenshot: the picture spans the screen's width (1064 x 600 px), ~232 x 131 in
    the 236 x 512 preview, too small to test there; the decode at its own scale shows it."""
    page = screen(pair[1], (1080, 2340), (8, 700, 1072, 1300))
    data = png(page) if fmt == "PNG" else jpeg(page)
    decoded = decode(data, fmt, 10**9, 256)
    alone = detect(decoded.preview, KEY, decoded.upright_size)
    assert alone.verdict == INCONCLUSIVE and "too small to test" in alone.note, alone.note
    found = detect(decoded.preview, KEY, decoded.upright_size, larger=decoded.upright)
    assert found.verdict == PRESENT and "inside the image" in found.note, found.note
    assert found.false_positive_bound <= 1e-6
    twin = screen(pair[0], (1080, 2340), (8, 700, 1072, 1300))
    plain = decode(png(twin) if fmt == "PNG" else jpeg(twin), fmt, 10**9, 256)
    absent = detect(plain.preview, KEY, plain.upright_size, larger=plain.upright)
    assert absent.verdict == ABSENT and "pictures inside it" in absent.note, absent.note


def test_a_scan_looks_at_a_picture_inside_a_screenshot_in_the_larger_decode(pair, tmp_path):
    path = tmp_path / "phone.png"
    path.write_bytes(png(screen(pair[1], (1080, 2340), (8, 700, 1072, 1300))))
    result = detect_file(str(path), KEY, DetectOptions())
    assert result.verdict == PRESENT and "inside the image" in result.note, result.note


def test_a_picture_whose_crop_would_not_show_the_mark_is_inconclusive_not_absent():
    """A strong grating inside the band (a patterned fabric, a screen's moire) leaves the fast
    test its power (local whitening) but swamps the crop search's exact test (one whitening for
    the whole picture): a marked crop could not have been found, so no absent."""
    base = np.asarray(textured(), dtype=np.float32)
    y, x = np.mgrid[0:480, 0:640]
    grating = 60 * np.sin(2 * np.pi * (x / 10.0 + y / 13.0))
    plain = Image.fromarray(np.clip(base + grating[:, :, None], 0, 255).astype(np.uint8))
    result = check(jpeg(plain))
    assert result.verdict == INCONCLUSIVE, result.note
    assert "a crop of a marked picture would score only about" in result.note
    assert check(jpeg(embed(plain, KEY).crop((40, 30, 600, 450)))).verdict != ABSENT


def test_a_padded_picture_whose_sky_has_the_paddings_luminance_is_found_whole():
    """A green padding and a grey-blue sky of the same luminance (195) merge in the flat test;
    their colours part them: the sky's rows are the picture's, so the region is all of it
    (its busy part alone is a crop keeping 70% of the height, which no search covers)."""
    marked = embed(_with_sky(textured(800, 600, seed=9)), KEY)
    page = Image.new("RGB", (marked.width + 60, marked.height + 50), (162, 219, 161))
    page.paste(marked, (30, 20))
    data = jpeg(page)
    result = check(data)
    assert result.verdict == PRESENT and "inside the image (" in result.note, result.note
    preview, _ = preview_of(data)
    luma = np.asarray(preview.convert("L"), dtype=np.float32)
    (merged, *_), _ = regions.find(luma)
    (region, *_), _ = regions.find(luma, np.asarray(preview))
    assert merged.busy[1] > 60  # in the luminance alone the region starts below the sky
    assert abs(region.busy[1] - 20 * preview.height / page.height) <= 3, region.busy


def test_lines_of_text_set_just_above_and_below_a_picture_do_not_stretch_its_region():
    """A phone's back office (the bench's layout): lines of text above and below the picture,
    wider than the margin beside it, join it in the preview; its region is the picture, not
    the text's width (a box reaching 30 px past the picture, which no crop search covers)."""
    page = Image.new("RGB", (1080, 2340), (30, 32, 36))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 1080, 97), fill=(40, 60, 90))
    box = (150, 390, 950, 1900)
    line = "Customer 0042 - ID verified - 2026-11-03 14:22"
    for y in range(109, 2328, 26):
        beside = box[1] - 20 < y < box[3] + 4
        for x in (8, box[2] + 12):
            draw.text((x, y), "KYC" if beside else line, fill=(128, 128, 128))
    marked = embed(textured(600, 1100, seed=5), KEY)
    page.paste(marked.resize((box[2] - box[0], box[3] - box[1])), box[:2])
    decoded = decode(jpeg(page), "JPEG", 10**9, 256)
    result = detect(decoded.preview, KEY, decoded.upright_size, larger=decoded.upright)
    assert result.verdict == PRESENT and "inside the image (" in result.note, result.note
    luma = np.asarray(decoded.preview.convert("L"), dtype=np.float32)
    (region, *_), _ = regions.find(luma, np.asarray(decoded.preview))
    assert abs(region.busy[0] - box[0] * decoded.preview.width / page.width) <= 3, region.busy


@pytest.mark.parametrize("seed", range(3))
def test_the_opening_and_the_filled_holes_are_scipys(seed):
    """The shifted-AND opening and the one-labelling hole filling give what scipy.ndimage's box
    filters and binary_fill_holes gave, edges (mirrored) included."""
    from scipy.ndimage import binary_fill_holes, uniform_filter

    rng = np.random.default_rng(seed)
    busy = uniform_filter(rng.random((97, 130)), 5) > 0.5 - 0.02 * seed  # blobs, holes, edges
    eroded = uniform_filter(busy.astype(np.float32), regions.OPENING) > 1 - 1e-3
    opened = uniform_filter(eroded.astype(np.float32), regions.OPENING) > 1e-3
    assert np.array_equal(regions._erode(busy), eroded)
    assert np.array_equal(~regions._erode(~regions._erode(busy)), opened)
    assert np.array_equal(regions._fill_holes(busy), binary_fill_holes(busy))


def _luma(image: Image.Image, longest: int = 256) -> np.ndarray:
    scale = longest / max(image.size)
    small = image.convert("L").resize(
        (round(image.width * scale), round(image.height * scale)), Image.Resampling.BOX
    )
    return np.asarray(small, dtype=np.float32)


def test_the_picture_inside_a_window_inside_a_desktop_is_found_not_the_window():
    """find() sees the viewer window as one busy region (its flat inside is a hole in it,
    not the desktop's page); pictures() looks inside a region framed by flat edges."""
    picture = textured(800, 600)
    desktop = _screen_desktop(picture, 0.5, random.Random(3))
    luma = _luma(desktop)
    (window,), _ = regions.find(luma)
    assert window.share > 0.8
    (box,) = regions.pictures(luma)
    left, top, right, bottom = box
    scale = luma.shape[1] / desktop.width
    # the picture: 0.5 of the viewer's height (926 px), 4:3
    assert abs((bottom - top) - 463 * scale) <= 4 and abs((right - left) - 617 * scale) <= 4


def test_a_small_page_on_a_screen_is_a_picture_itself():
    """A scanned page shown small in a chat (a white page on the dark screen): find() sees
    the page as a region framed by flat edges (its white margins), which pictures() looks
    inside, as in a viewer window. A frame whose shorter side is under PAGE is a page and
    shown whole too: its document, ~20 px of a 256 px copy, is too small for a check to look
    at alone (verify.shown); the page at a closer decode is not."""
    customer = next(c for p, c in lookalikes.photographs(1, 1, 1) if p.capture == "scan")
    page = lookalikes.scan(customer).resize((300, 424), Image.Resampling.BILINEAR)
    shot = Image.new("RGB", (720, 1560), (14, 22, 33))
    shot.paste(page, (260, 700))
    luma = _luma(shot)
    scale = luma.shape[0] / shot.height
    (left, top, right, bottom), *_ = regions.pictures(luma)
    assert abs(left - 260 * scale) <= 3 and abs(right - 560 * scale) <= 3
    assert abs(top - 700 * scale) <= 3 and abs(bottom - 1124 * scale) <= 3


class _First(random.Random):
    """Places a picture at the first position _place may choose: the top left."""

    def randint(self, a: int, b: int) -> int:
        return a


def test_a_page_set_right_under_a_windows_title_bar_is_found_whole():
    """A scanned page at the top left of a viewer window's content area. The window is
    framed only past its title bar (the larger inset); taken in that far on every side, the
    box cut the page, whose flat white then reached the box's edge and read as the window's
    own: no picture was found (the page's document alone is too small to look at). Each side
    is now taken in only as far as its own edge needs."""
    customer = next(c for p, c in lookalikes.photographs(1, 1, 1) if p.capture == "scan")
    page = lookalikes.scan(customer)
    desktop = _screen_desktop(page, 0.3, _First(0))
    luma = _luma(desktop)
    scale = luma.shape[1] / desktop.width
    # where _place put the page: (290, 74), the content area's corner, at 0.3 of its height
    height = round(page.height * 0.3 * 926 / page.height)
    width = round(page.width * 0.3 * 926 / page.height)
    expected = np.array([290, 74, 290 + width, 74 + height]) * scale
    assert any(np.abs(np.array(box) - expected).max() <= 3 for box in regions.pictures(luma))


def test_a_framed_region_with_nothing_inside_is_a_picture_itself():
    """A photograph whose own flat margins reach every edge (a capture in front of a plain
    backdrop) passes the frame test; when nothing is found inside it, it is the picture."""
    rng = np.random.default_rng(4)
    photo = np.full((520, 700), 120.0)
    y, x = np.ogrid[:520, :700]
    person = ((x - 350) / 150) ** 2 + ((y - 300) / 220) ** 2 <= 1  # busy, no rectangle
    photo[person] = 60 + rng.normal(0, 25, int(person.sum()))
    screen = np.full((700, 1000), 244.0)
    screen[90:610, 150:850] = photo
    luma = _luma(Image.fromarray(np.clip(screen, 0, 255).astype(np.uint8)))
    scale = luma.shape[1] / 1000
    expected = np.array([150, 90, 850, 610]) * scale
    assert any(np.abs(np.array(box) - expected).max() <= 3 for box in regions.pictures(luma))


def test_a_photograph_shows_no_pictures(pair):
    assert regions.pictures(_luma(pair[0])) == []


def test_a_box_found_a_few_pixels_off_is_moved_to_where_the_flat_surround_stops():
    """A card (a tint of 20 levels, JPEG's noise on it) on a white page: a box found inside
    it or past it by a few pixels is moved to the card's edges; a side whose surround is
    not flat (the picture runs to the frame's edge) stays where it was."""
    rng = np.random.default_rng(3)
    page = np.full((300, 400), 250.0)
    page[60:200, 90:330] = 230 + rng.normal(0, 6, (140, 240))
    luma = np.clip(page + rng.normal(0, 1.5, page.shape), 0, 255).astype(np.uint8)
    assert regions.refined(luma, (96, 66, 324, 194), 12) == (90, 60, 330, 200)
    assert regions.refined(luma, (84, 55, 336, 205), 12) == (90, 60, 330, 200)
    busy = luma.copy()
    busy[:, :100] = rng.integers(0, 256, (300, 100))  # texture up to x = 100, no flat surround
    assert regions.refined(busy, (96, 66, 324, 194), 12)[0] == 96
