"""Look-alike identity documents: templates (layout, guilloche, labels) and their customers."""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from kyctriage.demo.scenes import Colour, Scene, font, mrz_lines

KINDS = ("id", "permit", "passport")
TITLES = {"id": "IDENTITY CARD", "permit": "RESIDENCE PERMIT", "passport": "PASSPORT"}
LABELS = {
    "id": ("Surname", "Given names", "Date of birth", "Document no.", "Expiry"),
    "permit": ("Surname", "Given names", "Nationality", "Permit type", "Valid until",
               "Document no."),
    "passport": ("Type / Code", "Passport no.", "Surname", "Given names", "Date of birth",
                 "Sex", "Date of expiry"),
}  # fmt: skip
SURNAMES = (
    "ABARA", "BELLINI", "CHOWDHURY", "DUBOIS", "EKLUND", "FERREIRA", "GALLAGHER", "HASHEMI",
    "IVANOVA", "JANSSEN", "KOWALSKI", "LINDQVIST", "MORENO", "NAKAMURA", "OKAFOR", "PETROVIC",
    "QUISPE", "ROSSI", "SANTOS", "TANAKA", "UDDIN", "VARGA", "WEBER", "XAVIER", "YILMAZ",
    "ZHANG", "NOVAK", "HALVORSEN", "MENSAH", "KARLSSON",
)  # fmt: skip
GIVEN = (
    "ADA", "BORIS", "CHIARA", "DMITRI", "ELIF", "FARAH", "GUSTAV", "HANA", "IKER", "JUNO",
    "KENJI", "LEILA", "MATEO", "NADIA", "OSKAR", "PRIYA", "RAFAEL", "SOFIA", "TARIQ", "URSULA",
    "VIKTOR", "WANJIRU", "YARA", "ZORAN", "AMIR", "BEATRIZ", "CORMAC", "DALIA",
)  # fmt: skip
SKIN = ((241, 206, 180), (224, 180, 146), (198, 146, 108), (160, 110, 76), (118, 80, 56),
        (232, 196, 166), (210, 160, 120), (140, 96, 66))  # fmt: skip
HAIR = ((24, 20, 18), (70, 44, 28), (140, 96, 50), (196, 160, 96), (120, 120, 124),
        (40, 30, 26), (160, 60, 30))  # fmt: skip


@dataclass(frozen=True)
class Template:
    """One document design: every customer's document of it shares all of this."""

    name: str
    kind: str  # id, permit or passport
    paper: Colour
    ink: Colour  # the guilloche's
    band: Colour
    photo_right: bool
    rings: float  # rosette: rings across the width, petals, their depth, centre
    petals: int
    depth: float
    centre: tuple[float, float]
    waves: float  # wavy background lines across the width, their swing

    @property
    def aspect(self) -> float:
        return 88 / 125 if self.kind == "passport" else 54 / 85.6


@dataclass(frozen=True)
class Customer:
    """One person with one document of a template."""

    template: Template
    index: int
    surname: str
    given: str
    number: str
    birth: str  # YYMMDD
    expiry: str
    sex: str
    skin: Colour
    hair: Colour
    shirt: Colour
    long_hair: bool
    glasses: bool
    face: tuple[float, float]  # width and height of the face, relative
    eyes: tuple[float, float]  # spacing and height of the eyes, relative
    seed: int

    @property
    def id(self) -> str:
        return f"{self.template.name}/c{self.index:03d}"

    def scene(self, wall: Colour, card_left: bool) -> Scene:
        """The customer as a selfie scene of kyctriage.demo.scenes (also gives the MRZ)."""
        return Scene(
            self.seed, (1440, 1080), wall, self.skin, self.hair, self.long_hair, self.shirt,
            self.template.paper, self.template.kind == "passport", self.surname, self.given,
            self.number, self.birth, self.expiry, self.sex, card_left,
        )  # fmt: skip


def _rgb(rng: random.Random, low: int, high: int) -> Colour:
    return rng.randint(low, high), rng.randint(low, high), rng.randint(low, high)


def templates(count: int, seed: int) -> tuple[Template, ...]:
    """`count` designs; the kinds cycle ID card, residence permit, passport."""
    out = []
    for i in range(count):
        rng = random.Random(f"template:{seed}:{i}")
        kind = KINDS[i % len(KINDS)]
        out.append(
            Template(
                name=f"{kind}-{seed}-{i}", kind=kind, paper=_rgb(rng, 214, 246),
                ink=_rgb(rng, 90, 190), band=_rgb(rng, 30, 120), photo_right=rng.random() < 0.3,
                rings=rng.uniform(14, 30), petals=rng.randint(5, 13), depth=rng.uniform(0.3, 1.1),
                centre=(rng.uniform(0.45, 0.8), rng.uniform(0.3, 0.7)),
                waves=rng.uniform(18, 40),
            )
        )  # fmt: skip
    return tuple(out)


def customers(template: Template, count: int, seed: int) -> tuple[Customer, ...]:
    out = []
    for i in range(count):
        rng = random.Random(f"customer:{seed}:{template.name}:{i}")
        out.append(
            Customer(
                template=template, index=i, surname=rng.choice(SURNAMES), given=rng.choice(GIVEN),
                number="".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2))
                + f"{rng.randrange(10**7):07d}",
                birth=f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
                expiry=f"{rng.randint(27, 35):02d}{rng.randint(1, 12):02d}"
                f"{rng.randint(1, 28):02d}",
                sex=rng.choice("MFX"), skin=rng.choice(SKIN), hair=rng.choice(HAIR),
                shirt=_rgb(rng, 30, 220), long_hair=rng.random() < 0.45,
                glasses=rng.random() < 0.3,
                face=(rng.uniform(0.85, 1.12), rng.uniform(0.9, 1.1)),
                eyes=(rng.uniform(0.8, 1.2), rng.uniform(0.9, 1.1)),
                seed=rng.randrange(1000, 2**31),
            )
        )  # fmt: skip
    return tuple(out)


def draw_person(draw: ImageDraw.ImageDraw, c: Customer, box: tuple[float, ...]) -> None:
    """Head and shoulders of the customer, filling `box` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx, cy = x0 + w / 2, y0 + h * 0.42
    fw, fh = w * 0.2 * c.face[0], h * 0.21 * c.face[1]
    if c.long_hair:
        draw.rounded_rectangle((cx - fw * 1.3, cy - fh * 1.2, cx + fw * 1.3, cy + fh * 1.5),
                               radius=fw * 0.8, fill=c.hair)  # fmt: skip
    draw.ellipse((cx - w * 0.46, cy + fh * 1.25, cx + w * 0.46, y1 + h * 0.4), fill=c.shirt)
    draw.rectangle((cx - fw * 0.38, cy + fh * 0.6, cx + fw * 0.38, cy + fh * 1.45),
                   fill=tuple(int(v * 0.85) for v in c.skin))  # fmt: skip
    draw.ellipse((cx - fw, cy - fh, cx + fw, cy + fh), fill=c.skin)
    draw.chord((cx - fw * 1.08, cy - fh * 1.22, cx + fw * 1.08, cy + fh * 0.2), 180, 360,
               fill=c.hair)  # fmt: skip
    ex, ey = fw * 0.42 * c.eyes[0], cy + fh * 0.08 * c.eyes[1]
    for side in (-1, 1):
        x = cx + side * ex
        draw.ellipse((x - fw * 0.2, ey - fh * 0.08, x + fw * 0.2, ey + fh * 0.1), fill=(245,) * 3)
        draw.ellipse((x - fw * 0.09, ey - fh * 0.07, x + fw * 0.09, ey + fh * 0.09),
                     fill=(50, 36, 30))  # fmt: skip
        draw.line((x - fw * 0.25, ey - fh * 0.22, x + fw * 0.22, ey - fh * 0.26), fill=c.hair,
                  width=max(1, int(fw * 0.07)))  # fmt: skip
        if c.glasses:
            draw.ellipse((x - fw * 0.3, ey - fh * 0.18, x + fw * 0.3, ey + fh * 0.2),
                         outline=(30, 30, 30), width=max(1, int(fw * 0.05)))  # fmt: skip
    draw.line((cx, ey + fh * 0.1, cx - fw * 0.1, cy + fh * 0.42, cx + fw * 0.06, cy + fh * 0.45),
              fill=tuple(int(v * 0.75) for v in c.skin), width=max(1, int(fw * 0.05)))  # fmt: skip
    mouth = fw * (0.3 + 0.1 * c.eyes[0])
    draw.arc((cx - mouth, cy + fh * 0.45, cx + mouth, cy + fh * 0.75), 20, 160,
             fill=(150, 70, 70), width=max(1, int(fw * 0.07)))  # fmt: skip


@functools.cache
def _background(t: Template, width: int, height: int) -> Image.Image:
    """Paper, rosette and wavy lines: the security background every document of `t` shares."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64) / width
    cx, cy = t.centre[0], t.centre[1] * height / width
    r, theta = np.hypot(x - cx, y - cy), np.arctan2(y - cy, x - cx)
    rosette = np.abs(np.sin(2 * math.pi * t.rings * r + t.depth * np.sin(t.petals * theta))) < 0.14
    wave = np.sin(2 * math.pi * (t.waves * y + 0.04 * t.waves * np.sin(2 * math.pi * 3 * x)))
    ink = np.maximum(rosette * 0.55, (np.abs(wave) < 0.1) * 0.3)[:, :, None]
    paper, colour = np.array(t.paper, np.float64), np.array(t.ink, np.float64)
    pixels = paper * (1 - ink) + colour * ink
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8), mode="RGB")


def _values(c: Customer) -> tuple[str, ...]:
    def day(yymmdd: str, century: str) -> str:
        return f"{yymmdd[4:]}.{yymmdd[2:4]}.{century}{yymmdd[:2]}"

    birth, expiry = day(c.birth, "19"), day(c.expiry, "20")
    if c.template.kind == "id":
        return c.surname, c.given, birth, c.number, expiry
    if c.template.kind == "permit":
        return c.surname, c.given, "UTO", "PERMANENT", expiry, c.number
    return "P / UTO", c.number, c.surname, c.given, birth, c.sex, expiry


def document(c: Customer, width: int) -> Image.Image:
    """The customer's document, flat, RGBA with rounded corners."""
    t = c.template
    height = round(width * t.aspect)
    k = width / 100
    card = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, width - 1, height - 1), radius=k * 3, fill=255)
    card.paste(_background(t, width, height), (0, 0), mask)
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle((0, 0, width - 1, k * 9), radius=k * 3, fill=(*t.band, 255))
    draw.text((k * 4, k * 2), f"UTOPIA  {TITLES[t.kind]}", font=font(int(k * 4.6)),
              fill=(255, 255, 255, 255))  # fmt: skip
    photo_x = k * 70 if t.photo_right else k * 4
    portrait = Image.new("RGBA", (round(k * 25), round(k * 31)), (206, 212, 218, 255))
    draw_person(ImageDraw.Draw(portrait), c, (0, 0, portrait.width, portrait.height))
    card.paste(portrait, (round(photo_x), round(k * 12)))
    draw.rectangle((round(photo_x), round(k * 12), round(photo_x) + portrait.width - 1,
                    round(k * 12) + portrait.height - 1), outline=(110, 110, 110, 255))  # fmt: skip
    text_x = k * 4 if t.photo_right else k * 33
    label, value = font(max(6, int(k * 2.3))), font(max(7, int(k * 3.4)))
    step = (44 if t.kind == "passport" else 33) / len(LABELS[t.kind])
    for i, (name, text) in enumerate(zip(LABELS[t.kind], _values(c), strict=True)):
        y = k * (11.5 + i * step)
        draw.text((text_x, y), name, font=label, fill=(80, 80, 96, 255))
        draw.text((text_x, y + k * 2.1), text, font=value, fill=(16, 16, 28, 255))
    seal = (k * 56, k * 30) if not t.photo_right else (k * 50, k * 30)
    draw.ellipse((seal[0], seal[1], seal[0] + k * 12, seal[1] + k * 12),
                 outline=(*t.band, 200), width=max(1, int(k * 0.6)))  # fmt: skip
    lines = mrz_lines(c.scene((0, 0, 0), False))
    pitch = k * 92 / len(lines[0])
    size = max(6, int(pitch * 1.35))
    top = height - k * 2.5 - len(lines) * size * 1.1
    for row, line in enumerate(lines):
        for col, char in enumerate(line):
            draw.text((k * 4 + (col + 0.5) * pitch, top + row * size * 1.1), char,
                      font=font(size), fill=(20, 20, 26, 255), anchor="mt")  # fmt: skip
    return card
