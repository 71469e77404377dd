"""Drawn stand-ins for KYC selfies: a stylised person holding a SPECIMEN document of Utopia."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Colour = tuple[int, int, int]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Scene:
    """One drawn picture: a wall, a person and the fake document they hold."""

    seed: int
    size: tuple[int, int]
    wall: Colour
    skin: Colour
    hair: Colour
    long_hair: bool
    shirt: Colour
    card: Colour
    passport: bool  # a passport data page (two MRZ lines) rather than an ID card (three)
    surname: str
    given: str
    number: str
    birth: str  # YYMMDD
    expiry: str  # YYMMDD
    sex: str
    card_left: bool  # which side of the face the document is held


# One scene a row: seed, Landscape or Portrait, colours in hex (wall, skin, hair, shirt,
# document), hair, PassPort or ID card, held in the Left or Right hand, surname/given name,
# document number, birth and expiry (YYMMDD), sex.
_TABLE = """
11 L c4b8a4 e0b696 463020 34568c cedeec long  ID R SPECIMEN/ERIKA   SPC000471 740812 280301 F
12 L aabab2 96684a 1c1816 a03e3a e2d6f0 short PP L SAMPLE/JOHN      SPC001902 860227 270915 M
13 P d6cebe eec8aa b0783a 467854 ecdcc8 long  ID R EXAMPLE/MARIA    SPC003318 910530 290110 F
14 L 96a0b0 6e4a34 141212 e2b23c d6ecd6 short PP L TESTER/AMARA     SPC004650 830104 300620 F
15 L ccb098 c89c78 606064 5a5a60 f0e4c4 short ID R DEMO/PIOTR       SPC005287 690718 260402 M
16 L b6c4ce e8c0a0 281e1a 803c78 d6e4f4 long  PP L PLACEHOLDER/LENA SPC006034 990903 310815 F
17 L c8c4aa b0805c 322218 286e78 f4d6d6 short ID R FICTION/YUKI     SPC007745 950211 290502 X
18 L b0aabe d2a482 784628 d26e46 dcece2 long  PP L MOCK/ALEX        SPC008123 880416 280909 M
19 L 9eb4a6 d8aa86 2a2420 3c3c46 e8e0cc short ID L INHOUSE/OMAR     SPC009311 800101 300101 M
20 L d2c6b4 a87052 0e0c0c 6e8c3a d8e8ec long  PP R INHOUSE/SARA     SPC009518 920707 310707 F
21 L a4a49a f0ccb0 8a5a2a b84a5a ecd6e6 long  ID L VENDOR/NORA      SPC010204 870321 270321 F
22 L bcc6b8 7a5238 2c2622 2c5a8c f0ecd4 short PP R VENDOR/TOMAS     SPC010777 790930 280930 M
"""


def _colour(text: str) -> Colour:
    red, green, blue = bytes.fromhex(text)
    return red, green, blue


def _scene(row: str) -> Scene:
    seed, frame, wall, skin, hair, shirt, card, style, kind, hand, name, *numbers = row.split()
    surname, given = name.split("/")
    number, birth, expiry, sex = numbers
    size = (1440, 1080) if frame == "L" else (1080, 1440)
    return Scene(
        int(seed), size, _colour(wall), _colour(skin), _colour(hair), style == "long",
        _colour(shirt), _colour(card),
        kind == "PP", surname, given, number, birth, expiry, sex, hand == "L",
    )  # fmt: skip


SCENES = tuple(_scene(row) for row in _TABLE.strip().splitlines())


@functools.cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


class Noise:
    """Uniform noise from raw PCG64 bits and plain arithmetic, so NumPy versions agree."""

    def __init__(self, seed: int) -> None:
        self.bits = np.random.PCG64(seed)

    def uniform(self, shape: tuple[int, ...]) -> Floats:
        count = 1
        for side in shape:
            count *= side
        raw = np.asarray(self.bits.random_raw(count), dtype=np.uint64).reshape(shape)
        return (raw >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)

    def grain(self, shape: tuple[int, ...], amplitude: float) -> Floats:
        # The sum of three uniforms is a bell close enough to sensor noise.
        total = self.uniform(shape) + self.uniform(shape) + self.uniform(shape)
        return (total - 1.5) * (amplitude / 0.5)


# -- drawing -----------------------------------------------------------------------------------


def _shade(colour: Colour, factor: float) -> Colour:
    r, g, b = (min(255, int(c * factor)) for c in colour)
    return r, g, b


def _blotches(noise: Noise, size: tuple[int, int], cells: int, amplitude: float) -> Floats:
    width, height = size
    small = noise.grain((cells * height // width + 2, cells + 2), amplitude).astype(np.float32)
    field = Image.fromarray(small, mode="F").resize(size, Image.Resampling.BICUBIC)
    return np.asarray(field, dtype=np.float64)


def _wall(scene: Scene, noise: Noise) -> Image.Image:
    width, height = scene.size
    ys = np.arange(height, dtype=np.float64)[:, None] / height
    xs = np.arange(width, dtype=np.float64)[None, :] / width
    across = xs if scene.seed % 2 else 1.0 - xs  # the window is on one side or the other
    light = 1.08 - 0.22 * ys - 0.16 * across
    stain = _blotches(noise, scene.size, 10, 7.0) + _blotches(noise, scene.size, 40, 3.0)
    corner = 0.1 + 0.05 * (scene.seed % 3)
    shadow = np.where((xs < corner) if scene.card_left else (xs > 1.0 - corner), 0.8, 1.0)
    base = np.asarray(scene.wall, dtype=np.float64)[None, None, :]
    pixels = base * (light * shadow)[:, :, None] + stain[:, :, None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")


def _frame_on_wall(draw: ImageDraw.ImageDraw, scene: Scene, unit: float) -> None:
    width, _ = scene.size
    x = int(width * (0.1 + 0.15 * (scene.seed % 5)))
    box = (x, int(unit * 0.6), x + int(unit * 2.4), int(unit * 2.4))
    draw.rectangle(box, fill=(92, 70, 52))
    inner = (box[0] + unit * 0.18, box[1] + unit * 0.18, box[2] - unit * 0.18, box[3] - unit * 0.18)
    draw.rectangle(inner, fill=_shade(scene.card, 0.75))
    draw.polygon(
        [
            (inner[0], inner[3]),
            ((inner[0] + inner[2]) / 2, inner[1] + unit * 0.5),
            (inner[2], inner[3]),
        ],
        fill=_shade(scene.shirt, 0.9),
    )


def _person(draw: ImageDraw.ImageDraw, scene: Scene, centre: tuple[float, float], u: float) -> None:
    cx, cy = centre
    _, height = scene.size
    if scene.long_hair:
        draw.rounded_rectangle(
            (cx - u * 1.75, cy - u * 1.9, cx + u * 1.75, cy + u * 3.1),
            radius=u * 1.2,
            fill=scene.hair,
        )
    draw.ellipse((cx - u * 4.2, cy + u * 2.3, cx + u * 4.2, height + u * 5), fill=scene.shirt)
    draw.rounded_rectangle(
        (cx - u * 0.55, cy + u * 0.8, cx + u * 0.55, cy + u * 2.6),
        radius=u * 0.3,
        fill=_shade(scene.skin, 0.85),
    )
    draw.ellipse((cx - u * 1.75, cy - u * 0.35, cx - u * 1.2, cy + u * 0.55), fill=scene.skin)
    draw.ellipse((cx + u * 1.2, cy - u * 0.35, cx + u * 1.75, cy + u * 0.55), fill=scene.skin)
    draw.ellipse((cx - u * 1.45, cy - u * 1.85, cx + u * 1.45, cy + u * 1.85), fill=scene.skin)
    draw.chord((cx - u * 1.6, cy - u * 2.1, cx + u * 1.6, cy + u * 0.4), 180, 360, fill=scene.hair)
    _face(draw, scene, cx, cy, u)


def _face(draw: ImageDraw.ImageDraw, scene: Scene, cx: float, cy: float, u: float) -> None:
    for side in (-1, 1):
        ex = cx + side * u * 0.6
        draw.ellipse(
            (ex - u * 0.3, cy - u * 0.05, ex + u * 0.3, cy + u * 0.25), fill=(246, 244, 240)
        )
        draw.ellipse(
            (ex - u * 0.13, cy - u * 0.03, ex + u * 0.13, cy + u * 0.23), fill=(60, 44, 36)
        )
        draw.line(
            (ex - u * 0.35, cy - u * 0.3, ex + u * 0.3, cy - u * 0.36),
            fill=_shade(scene.hair, 0.8),
            width=max(2, int(u * 0.1)),
        )
    draw.line(
        (cx, cy + u * 0.3, cx - u * 0.12, cy + u * 0.75, cx + u * 0.08, cy + u * 0.8),
        fill=_shade(scene.skin, 0.75),
        width=max(2, int(u * 0.06)),
    )
    draw.arc(
        (cx - u * 0.55, cy + u * 0.6, cx + u * 0.55, cy + u * 1.25),
        20,
        160,
        fill=(150, 70, 70),
        width=max(2, int(u * 0.09)),
    )


def _arm(
    draw: ImageDraw.ImageDraw,
    scene: Scene,
    shoulder: tuple[float, float],
    hand: tuple[float, float],
    u: float,
) -> None:
    elbow = (shoulder[0] + (hand[0] - shoulder[0]) * 0.4, max(shoulder[1], hand[1]) + u * 2.2)
    draw.line(
        (shoulder, elbow, hand), fill=_shade(scene.shirt, 0.9), width=int(u * 1.2), joint="curve"
    )
    draw.ellipse(
        (hand[0] - u * 0.6, hand[1] - u * 0.7, hand[0] + u * 0.6, hand[1] + u * 0.7),
        fill=scene.skin,
    )


def _check_digit(text: str) -> str:
    values = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")} | {"<": 0}
    return str(sum(values[c] * (7, 3, 1)[i % 3] for i, c in enumerate(text)) % 10)


def mrz_lines(scene: Scene) -> tuple[str, ...]:
    """ICAO 9303 machine-readable lines for the fake document, country UTO (the test state)."""
    name = f"{scene.surname}<<{scene.given}"
    num = scene.number + _check_digit(scene.number)
    birth = scene.birth + _check_digit(scene.birth)
    expiry = scene.expiry + _check_digit(scene.expiry)
    if scene.passport:
        second = f"{num}UTO{birth}{scene.sex}{expiry}" + "<" * 15
        composite = second[:10] + second[13:20] + second[21:]
        return f"P<UTO{name}".ljust(44, "<"), second + _check_digit(composite)
    first = f"I<UTO{num}".ljust(30, "<")
    second = f"{birth}{scene.sex}{expiry}UTO".ljust(29, "<")
    composite = first[5:30] + second[0:7] + second[8:15] + second[18:29]
    return first, second + _check_digit(composite), name.ljust(30, "<")


def card_image(scene: Scene, width: int) -> Image.Image:
    """The document alone, flat, with transparent rounded corners."""
    height = int(width * (88 / 125 if scene.passport else 54 / 85.6))
    card = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    k = width / 100
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=k * 3, fill=(*scene.card, 255))
    band = _shade(scene.card, 0.55)
    draw.rounded_rectangle((0, 0, width - 1, k * 10), radius=k * 3, fill=(*band, 255))
    title = "UTOPIA  PASSPORT" if scene.passport else "UTOPIA  IDENTITY CARD"
    draw.text((k * 4, k * 2.2), title, font=font(int(k * 5)), fill=(255, 255, 255, 255))
    _photo_box(draw, (k * 4, k * 13, k * 28, k * 43), scene)
    _fields(draw, scene, k)
    _mrz(draw, mrz_lines(scene), height, k)
    return _stamp_specimen(card, k)


def _photo_box(
    draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], scene: Scene
) -> None:
    x0, y0, x1, y1 = box
    draw.rectangle(box, fill=(214, 214, 210, 255), outline=(120, 120, 120, 255), width=2)
    w = x1 - x0
    grey = (150, 150, 150, 255)
    draw.ellipse((x0 + w * 0.3, y0 + w * 0.2, x1 - w * 0.3, y0 + w * 0.62), fill=grey)
    draw.chord((x0 + w * 0.1, y0 + w * 0.7, x1 - w * 0.1, y1 + w * 0.5), 180, 360, fill=grey)


def _fields(draw: ImageDraw.ImageDraw, scene: Scene, k: float) -> None:
    def day(yymmdd: str, century: str) -> str:
        return f"{yymmdd[4:]}.{yymmdd[2:4]}.{century}{yymmdd[:2]}"

    rows = (
        ("Surname", scene.surname),
        ("Given names", scene.given),
        ("Date of birth", day(scene.birth, "19")),
        ("Document no.", scene.number),
        ("Expiry", day(scene.expiry, "20")),
    )
    label, value = font(int(k * 2.4)), font(int(k * 3.6))
    for i, (name, text) in enumerate(rows):
        y = k * (12.6 + i * 6)
        draw.text((k * 32, y), name, font=label, fill=(90, 90, 100, 255))
        draw.text((k * 32, y + k * 2.3), text, font=value, fill=(20, 20, 30, 255))


def _mrz(draw: ImageDraw.ImageDraw, lines: tuple[str, ...], height: int, k: float) -> None:
    pitch = k * 92 / len(lines[0])
    size = int(pitch * 1.35)
    top = height - k * 3 - len(lines) * size * 1.1
    for row, line in enumerate(lines):
        for col, char in enumerate(line):
            # Each glyph centred in its cell: a machine-readable zone is monospaced.
            xy = (k * 4 + (col + 0.5) * pitch, top + row * size * 1.1)
            draw.text(xy, char, font=font(size), fill=(24, 24, 28, 255), anchor="mt")


def _stamp_specimen(card: Image.Image, k: float) -> Image.Image:
    text = Image.new("RGBA", card.size, (0, 0, 0, 0))
    ImageDraw.Draw(text).text(
        (card.width * 0.2, card.height * 0.3),
        "SPECIMEN",
        font=font(int(k * 13)),
        fill=(200, 20, 30, 140),
    )
    return Image.alpha_composite(card, text.rotate(12, resample=Image.Resampling.BICUBIC))


def _card_spot(
    scene: Scene, head: tuple[float, float], card: Image.Image, u: float
) -> tuple[int, int]:
    """Beside the face in a landscape picture, under the chin in a portrait one."""
    if scene.size[0] < scene.size[1]:
        return int(head[0] - card.width / 2), int(head[1] + u * 2.1)
    if scene.card_left:
        return int(head[0] - u * 2.1 - card.width), int(head[1] - u * 1.2)
    return int(head[0] + u * 2.1), int(head[1] - u * 1.2)


def _shadow(card: Image.Image, u: float) -> Image.Image:
    margin = int(u * 0.6)  # room for the blur, so the shadow has no hard bounding box
    alpha = Image.new("L", (card.width + 2 * margin, card.height + 2 * margin), 0)
    alpha.paste(card.getchannel("A").point(lambda a: a * 100 // 255), (margin, margin))
    shadow = Image.new("RGBA", alpha.size, (20, 16, 12, 0))
    shadow.putalpha(alpha.filter(ImageFilter.GaussianBlur(u * 0.2)))
    return shadow


Document = Callable[[Scene, int], Image.Image]  # (scene, width) -> the document, RGBA


def _hold_card(
    picture: Image.Image, scene: Scene, head: tuple[float, float], u: float, document: Document
) -> None:
    card = document(scene, int(u * (6.8 if scene.passport else 6.4)))
    card = card.rotate(-6 if scene.card_left else 5, Image.Resampling.BICUBIC, expand=True)
    x, y = _card_spot(scene, head, card, u)
    side = -1 if scene.card_left else 1
    near = 0.88 if scene.card_left else 0.12
    hand = (x + card.width * near, y + card.height * 0.72)
    draw = ImageDraw.Draw(picture)
    _arm(draw, scene, (head[0] + side * u * 3.0, head[1] + u * 3.3), hand, u)
    picture.alpha_composite(_shadow(card, u), (x - int(u * 0.4), y - int(u * 0.35)))
    picture.alpha_composite(card, (x, y))
    tip = hand[0] - side * u * 0.9
    draw.rounded_rectangle(
        (min(hand[0], tip), hand[1] - u * 0.55, max(hand[0], tip), hand[1] - u * 0.05),
        radius=u * 0.25,
        fill=scene.skin,
    )


def _door(draw: ImageDraw.ImageDraw, scene: Scene, u: float) -> None:
    width, height = scene.size
    x = width * (0.06 if scene.card_left else 0.72)
    draw.rectangle((x, u * 1.2, x + u * 3.4, height), fill=_shade(scene.wall, 0.62))
    draw.rectangle((x + u * 0.25, u * 1.45, x + u * 3.15, height), fill=_shade(scene.wall, 0.78))
    draw.ellipse((x + u * 2.6, u * 6.4, x + u * 2.9, u * 6.7), fill=(180, 170, 120))


def _head_position(scene: Scene, u: float) -> tuple[float, float]:
    width, height = scene.size
    if width < height:
        return width * 0.5, height * 0.3
    shift = 0.04 * (scene.seed % 4)
    return width * (0.66 - shift if scene.card_left else 0.3 + shift), height - u * 7.4


def render_scene(scene: Scene, document: Document = card_image) -> Image.Image:
    """Draw the scene as a camera would have seen it: soft, unevenly lit and grainy; the person
    holds `document` (the SPECIMEN card unless another drawer is given)."""
    noise = Noise(scene.seed)
    picture = _wall(scene, noise).convert("RGBA")
    width, height = scene.size
    u = min(width, height) / 12 * (0.9 + 0.05 * (scene.seed % 3))
    head = _head_position(scene, u)
    if scene.seed % 3 == 0:
        _door(ImageDraw.Draw(picture), scene, u)
    else:
        _frame_on_wall(ImageDraw.Draw(picture), scene, u)
    _person(ImageDraw.Draw(picture), scene, head, u)
    _hold_card(picture, scene, head, u, document)
    soft = picture.convert("RGB").filter(ImageFilter.GaussianBlur(1.1))
    pixels = np.asarray(soft, dtype=np.float64)
    ys = (np.arange(height, dtype=np.float64)[:, None] - height * 0.4) / height
    xs = (np.arange(width, dtype=np.float64)[None, :] - width * 0.55) / width
    lit = pixels * (1.04 - 0.5 * (xs * xs + ys * ys))[:, :, None]
    lit += noise.grain((height, width, 1), 1.6) + noise.grain((height, width, 3), 0.8)
    return Image.fromarray(np.clip(lit + 0.5, 0, 255).astype(np.uint8), mode="RGB")
