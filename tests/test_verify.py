"""Verification of a near match: the same photograph passes, another customer's capture fails."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from kyctriage.demo import lookalikes
from kyctriage.demo.variants import fit, jpeg, png, telegram_copy
from kyctriage.match import verify
from kyctriage.probes.decode import decode
from kyctriage.scanning.options import DEFAULT_PREVIEW_SIZE


def _features(data: bytes) -> verify.Features:
    """As a scan sees the file: its decoded preview (a JPEG drafted by DCT scaling)."""
    fmt = "PNG" if data.startswith(b"\x89PNG") else "JPEG"
    return verify.features(decode(data, fmt, 10**9, DEFAULT_PREVIEW_SIZE).preview)


@pytest.fixture(scope="module")
def booths() -> list[Image.Image]:
    """Booth captures of two customers of one template: same backdrop, light and document."""
    found = [(p, c) for p, c in lookalikes.photographs(1, 1, 2) if p.capture == "booth"]
    return [lookalikes.draw(p, c) for p, c in found]


def _one_side(picture: Image.Image, fraction: float) -> Image.Image:
    return picture.crop((round(picture.width * fraction), 0, picture.width, picture.height))


def _screenshot(picture: Image.Image, share: float) -> Image.Image:
    """The picture shown at `share` of a desktop screen's width, among window chrome."""
    screen = Image.new("RGB", (1920, 1080), (238, 238, 240))
    shown = fit(picture, round(1920 * share))
    screen.paste(shown, ((1920 - shown.width) // 2, (1080 - shown.height) // 2 + 20))
    return screen


COPIES = {
    "telegram": lambda p: telegram_copy(p),
    "800 q70": lambda p: jpeg(fit(p, 800), 70),
    "brightened": lambda p: jpeg(ImageEnhance.Brightness(p).enhance(1.3), 85),
    "one-side 25%": lambda p: jpeg(_one_side(p, 0.25), 85),
    "mirror": lambda p: jpeg(ImageOps.mirror(p), 90),
    "turn 90": lambda p: jpeg(p.rotate(90, expand=True), 90),
    "screenshot 60%": lambda p: png(_screenshot(p, 0.6)),
}


@pytest.mark.parametrize("name", COPIES)
def test_copies_of_one_photograph_verify(booths: list[Image.Image], name: str) -> None:
    original = _features(jpeg(booths[0], 92))
    found = verify.verify(original, _features(COPIES[name](booths[0])))
    assert found.verified, found
    assert found.reason == "verified"
    assert found.inliers >= verify.MIN_INLIERS
    assert found.agreeing >= verify.MIN_AGREEMENT * found.blocks >= verify.MIN_BLOCKS
    assert found.mirrored == (name == "mirror")
    if name == "turn 90":
        assert abs(abs(found.angle) - 90) < 2
    if name == "one-side 25%":
        assert 0.7 < found.overlap <= 1.0


def test_another_customer_in_the_same_booth_fails(booths: list[Image.Image]) -> None:
    """The backdrop, the light and the document's layout fit geometrically; the person, the
    portrait and the text do not agree."""
    first, second = (_features(jpeg(b, 92)) for b in booths)
    found = verify.verify(first, second)
    assert not found.verified
    assert found.reason == "content differs"
    assert found.inliers >= verify.MIN_INLIERS  # the fit alone would have linked them
    assert found.differing > verify.MAX_DIFFERING
    assert not verify.verify(second, first).verified


def test_flat_pictures_decide_nothing() -> None:
    """A flat colour with a number drawn on it is low information: never verified."""
    pictures = []
    for number in (17, 18):
        picture = Image.new("RGB", (200, 200), (90, 140, 200))
        from PIL import ImageDraw

        ImageDraw.Draw(picture).text((90, 95), str(number), fill=(255, 255, 255))
        out = io.BytesIO()
        picture.save(out, "PNG")
        pictures.append(_features(out.getvalue()))
    assert not pictures[0].informative
    found = verify.verify(pictures[0], pictures[1])
    assert (found.verified, found.reason) == (False, "low information")
    assert not verify.verify(pictures[0], pictures[0]).verified


def test_numbers_on_one_style_are_never_verified() -> None:
    """bench/kyc_lookalikes.py --plain: 96 px pictures of one colour, each with its own
    number; two differing in one digit share every other block. With 6 blocks enough and 2
    allowed to differ, 3,056 of 5,000 joined clusters (the largest of 93)."""
    from PIL import ImageDraw

    from kyctriage.demo.scenes import font

    found = []
    for number in (41230, 41238):
        picture = Image.new("RGB", (96, 96), (200, 180, 230))
        ImageDraw.Draw(picture).text((8, 34), str(number), font=font(22), fill=(20, 20, 20))
        out = io.BytesIO()
        picture.save(out, "PNG")
        found.append(_features(out.getvalue()))
    check = verify.verify(found[0], found[1])
    assert not check.verified and check.reason == "low information"


def test_unrelated_pictures_have_no_fit(booths: list[Image.Image]) -> None:
    rng = np.random.default_rng(5)
    noise = Image.fromarray(rng.integers(0, 256, (400, 600, 3), dtype=np.uint8))
    found = verify.verify(_features(jpeg(booths[0], 92)), _features(jpeg(noise, 90)))
    assert not found.verified
    assert found.reason in ("no geometric fit", "content differs")
