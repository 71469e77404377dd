"""Re-posted forms of a picture: messenger re-encodes, crops, screenshots, mirror and turns."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from kyctriage.demo.samples import telegram_copy
from kyctriage.demo.scenes import font

ONE_SIDE = (0.10, 0.15, 0.20, 0.25)
EDGES = ("left", "top", "right", "bottom")


def jpeg(picture: Image.Image, quality: int, progressive: bool = False) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, progressive=progressive)
    return out.getvalue()


def png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG", compress_level=1)
    return out.getvalue()


def fit(picture: Image.Image, longest: int) -> Image.Image:
    scale = longest / max(picture.size)
    if scale >= 1:
        return picture
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)


def _screen_desktop(picture: Image.Image, share: float, rng: random.Random) -> Image.Image:
    """The picture in a viewer window on a 1920x1080 desktop, at `share` of its content area."""
    screen = Image.new("RGB", (1920, 1080), (34, 46, 66))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 1040, 1919, 1079), fill=(22, 22, 26))
    for i in range(6):
        draw.rectangle((12 + 48 * i, 1046, 40 + 48 * i, 1072), fill=(90 + 20 * i, 120, 160))
    draw.text((1800, 1050), "21:05", font=font(18), fill=(230, 230, 230))
    draw.rectangle((60, 30, 1860, 1010), fill=(244, 244, 244))
    draw.rectangle((60, 30, 1860, 64), fill=(220, 220, 224))
    draw.text((76, 38), "IMG_4471.jpg - Photos", font=font(18), fill=(30, 30, 30))
    draw.rectangle((60, 64, 280, 1010), fill=(232, 232, 236))
    for i in range(12):
        draw.text((76, 84 + 34 * i), f"Album {i + 1}", font=font(16), fill=(60, 60, 70))
    area = (290, 74, 1850, 1000)
    _place(screen, picture, area, share, rng)
    return screen


def _screen_phone(picture: Image.Image, share: float, rng: random.Random) -> Image.Image:
    """The picture in a messenger's chat on a 720x1560 phone screen."""
    screen = Image.new("RGB", (720, 1560), (14, 22, 33))
    draw = ImageDraw.Draw(screen)
    draw.text((24, 12), "21:05", font=font(24), fill=(240, 240, 240))
    draw.rectangle((640, 16, 690, 36), outline=(240, 240, 240), width=2)
    draw.rectangle((0, 50, 719, 150), fill=(23, 33, 43))
    draw.ellipse((70, 62, 146, 138), fill=(80, 140, 200))
    draw.text((166, 80), "Crypto leaks", font=font(30), fill=(240, 240, 240))
    draw.rectangle((0, 1460, 719, 1559), fill=(23, 33, 43))
    draw.text((30, 1492), "Message", font=font(28), fill=(120, 130, 140))
    _place(screen, picture, (20, 170, 700, 1440), share, rng)
    return screen


def _place(
    screen: Image.Image,
    picture: Image.Image,
    area: tuple[int, int, int, int],
    share: float,
    rng: random.Random,
) -> None:
    x0, y0, x1, y1 = area
    scale = share * min((x1 - x0) / picture.width, (y1 - y0) / picture.height)
    shown = picture.resize(
        (max(1, round(picture.width * scale)), max(1, round(picture.height * scale))),
        Image.Resampling.BILINEAR,
    )
    x = x0 + rng.randint(0, x1 - x0 - shown.width)
    y = y0 + rng.randint(0, y1 - y0 - shown.height)
    screen.paste(shown, (x, y))


def _one_side(picture: Image.Image, edge: str, fraction: float) -> Image.Image:
    w, h = picture.size
    box = {
        "left": (round(w * fraction), 0, w, h),
        "top": (0, round(h * fraction), w, h),
        "right": (0, 0, round(w * (1 - fraction)), h),
        "bottom": (0, 0, w, round(h * (1 - fraction))),
    }[edge]
    return picture.crop(box)


def variants(picture: Image.Image, number: int, seed: str) -> Iterator[tuple[str, bytes]]:
    """Every re-posted form of one original (not the original itself): (variant, bytes)."""
    rng = random.Random(f"variants:{seed}")
    w, h = picture.size
    yield "telegram", telegram_copy(picture)
    yield "800 q70", jpeg(fit(picture, 800), 70)
    bright = ImageEnhance.Brightness(picture).enhance(rng.uniform(1.2, 1.35))
    yield "brightened", jpeg(ImageEnhance.Contrast(bright).enhance(rng.uniform(1.1, 1.3)), 85)
    for k, edge in enumerate(EDGES):  # every edge; the fractions cycle over the originals
        fraction = ONE_SIDE[(number + k) % len(ONE_SIDE)]
        yield f"one-side {fraction:.0%} {edge}", jpeg(_one_side(picture, edge, fraction), 85)
    cut = rng.uniform(0.05, 0.1)
    box = (round(w * cut), round(h * cut), round(w * (1 - cut)), round(h * (1 - cut)))
    yield "centred crop", jpeg(picture.crop(box), 85)
    desktop = _screen_desktop(picture, rng.uniform(0.25, 1.0), rng)
    phone = _screen_phone(picture, rng.uniform(0.25, 1.0), rng)
    if number % 2:
        yield "screenshot desktop jpeg", jpeg(desktop, 85)
        yield "screenshot phone png", png(phone)
    else:
        yield "screenshot desktop png", png(desktop)
        yield "screenshot phone jpeg", jpeg(phone, 85)
    yield "mirror", jpeg(ImageOps.mirror(picture), 90)
    yield "turn 90", jpeg(picture.rotate(rng.choice((90, 270)), expand=True), 90)
    angle = rng.choice((-1, 1)) * rng.uniform(1.5, 4)
    yield "rotate small", jpeg(picture.rotate(angle, Image.Resampling.BICUBIC), 88)
