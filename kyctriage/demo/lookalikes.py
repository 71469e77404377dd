"""KYC look-alike captures (scans, booth, selfies) and their re-posted variants, with the truth."""

from __future__ import annotations

import io
import math
import multiprocessing
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from kyctriage.demo.documents import Customer, customers, document, draw_person, templates
from kyctriage.demo.scenes import Scene, font, render_scene
from kyctriage.demo.variants import jpeg, variants

CAPTURES = ("scan", "booth", "selfie")
BOOTH = (1280, 960)
PAGE = (1240, 1754)  # A4 at 150 dpi


@dataclass(frozen=True)
class Photo:
    """One photograph (an original): a customer's capture, or a natural photo."""

    id: str  # "<template>/c<NNN>/<capture>" or "natural/<name>"
    customer: str | None  # "<template>/c<NNN>"; None for natural photos
    template: str | None
    capture: str  # scan, booth, selfie or natural


@dataclass(frozen=True)
class Label:
    """What one file of the set is: which photograph, through which variant."""

    photo: str
    customer: str | None
    template: str | None
    capture: str
    variant: str  # "original", "telegram", "one-side 15% left", ...

    @property
    def family(self) -> str:
        """The variant's kind without its parameters: one-side crop, screenshot, ..."""
        for prefix in ("one-side", "screenshot", "centred crop", "rotate"):
            if self.variant.startswith(prefix):
                return prefix
        return self.variant


def _grain(picture: Image.Image, seed: int, amplitude: float) -> Image.Image:
    """Sensor or scanner noise of one capture: two captures never share it."""
    pixels = np.asarray(picture, dtype=np.float32)
    noise = np.random.default_rng(seed).standard_normal(pixels.shape, dtype=np.float32)
    pixels = pixels + noise * np.float32(amplitude)
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8), mode="RGB")


def scan(c: Customer) -> Image.Image:
    """A flatbed scan: the document on a white page, slightly turned and moved."""
    rng = random.Random(f"scan:{c.seed}")
    white = 255 - rng.randint(2, 7)
    page = Image.new("RGB", PAGE, (white, white, white - rng.randint(0, 3)))
    card = document(c, 560 if c.template.kind != "passport" else 760)
    card = card.rotate(rng.uniform(-1.5, 1.5), Image.Resampling.BICUBIC, expand=True)
    page.paste(card, (110 + rng.randint(-25, 25), 120 + rng.randint(-25, 25)), card)
    return _grain(page.filter(ImageFilter.GaussianBlur(0.6)), c.seed, 1.2)


def _booth_backdrop() -> Image.Image:
    """The vendor's booth, the same for every capture: backdrop, light, plate and ruler."""
    w, h = BOOTH
    ys = np.arange(h, dtype=np.float64)[:, None] / h
    xs = np.arange(w, dtype=np.float64)[None, :] / w
    light = 1.1 - 0.25 * ys - 0.3 * (xs - 0.45) ** 2
    base = np.array((150, 168, 188), np.float64)[None, None, :]
    backdrop = Image.fromarray(np.clip(base * light[:, :, None], 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(backdrop)
    draw.rectangle((30, 24, 330, 84), fill=(40, 48, 60))
    draw.text((44, 36), "ACME KYC  BOOTH 07", font=font(28), fill=(230, 230, 230))
    for y in range(120, h, 40):
        draw.line((w - 60, y, w - (30 if y % 200 == 0 else 45), y), fill=(60, 60, 60), width=3)
    return backdrop


def booth(c: Customer) -> Image.Image:
    """A capture in the vendor's fixed booth: same backdrop and light, another person."""
    rng = random.Random(f"booth:{c.seed}")
    picture = _booth_backdrop().convert("RGBA")
    dx = rng.randint(-20, 20)
    draw_person(ImageDraw.Draw(picture), c, (340 + dx, 110, 940 + dx, 960))
    card = document(c, 420 if c.template.kind != "passport" else 470)
    card = card.rotate(rng.uniform(-3, 3), Image.Resampling.BICUBIC, expand=True)
    picture.alpha_composite(card, (720 + rng.randint(-15, 15), 560 + rng.randint(-15, 15)))
    soft = picture.convert("RGB").filter(ImageFilter.GaussianBlur(0.8))
    return _grain(soft, c.seed + 1, 2.0)


def selfie(c: Customer) -> Image.Image:
    """The customer at home holding the document (kyctriage.demo.scenes draws the scene)."""
    rng = random.Random(f"selfie:{c.seed}")
    wall = (rng.randint(150, 215), rng.randint(150, 215), rng.randint(150, 215))
    scene = c.scene(wall, rng.random() < 0.5)

    def held(_: Scene, width: int) -> Image.Image:
        return document(c, width)

    return render_scene(scene, held)


def photographs(seed: int, n_templates: int, n_customers: int) -> list[tuple[Photo, Customer]]:
    """Every customer of every template: a scan and a booth capture each, and a selfie for
    every third customer."""
    out = []
    for template in templates(n_templates, seed):
        for c in customers(template, n_customers, seed):
            for capture in CAPTURES:
                if capture == "selfie" and c.index % 3:
                    continue
                out.append((Photo(f"{c.id}/{capture}", c.id, template.name, capture), c))
    return out


def draw(photo: Photo, c: Customer) -> Image.Image:
    return {"scan": scan, "booth": booth, "selfie": selfie}[photo.capture](c)


@dataclass(frozen=True)
class LookalikeSet:
    """A written set: every file's label, and whose originals make the compare reference."""

    folder: Path
    labels: dict[str, Label]  # "originals/o0001.jpg" or "variants/o0001_03.png" -> label
    present: frozenset[str]  # customers (and natural photos) in the reference

    def owner(self, label: Label) -> str:
        return label.customer or label.photo


Job = tuple[Path, int, Photo, Customer | bytes, int]


def _write(job: Job) -> list[tuple[str, Label]]:
    """Draw (or read) one original, write it as scanned or captured, then its variants."""
    folder, number, photo, source, seed = job
    if isinstance(source, bytes):  # a natural photo: its own file is the original
        picture = ImageOps.exif_transpose(Image.open(io.BytesIO(source))).convert("RGB")
        original = source
    else:
        picture = draw(photo, source)
        original = jpeg(picture, 92)  # as a scanner or a capture app writes it

    def label(variant: str) -> Label:
        return Label(photo.id, photo.customer, photo.template, photo.capture, variant)

    name = f"originals/o{number:04d}" + (".png" if original[:4] == b"\x89PNG" else ".jpg")
    (folder / name).write_bytes(original)
    out = [(name, label("original"))]
    for k, (variant, data) in enumerate(variants(picture, number, f"{seed}:{photo.id}")):
        name = f"variants/o{number:04d}_{k:02d}" + (".png" if data[:4] == b"\x89PNG" else ".jpg")
        (folder / name).write_bytes(data)
        out.append((name, label(variant)))
    return out


def write_set(
    folder: Path,
    seed: int,
    n_templates: int,
    n_customers: int,
    natural: list[tuple[str, bytes]],
    workers: int = 1,
) -> LookalikeSet:
    """Write originals/ and variants/ under `folder`; the reference is the originals of two
    thirds of each template's customers and of half the natural photos, chosen by the seed."""
    for sub in ("originals", "variants"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    jobs: list[Job] = []
    for photo, customer in photographs(seed, n_templates, n_customers):
        jobs.append((folder, len(jobs), photo, customer, seed))
    for name, data in natural:
        jobs.append((folder, len(jobs), Photo(f"natural/{name}", None, None, "natural"), data,
                     seed))  # fmt: skip
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            done = pool.map(_write, jobs, chunksize=1)
    else:
        done = [_write(job) for job in jobs]
    labels = dict(item for items in done for item in items)
    owners: dict[str | None, list[str]] = defaultdict(list)
    for lb in labels.values():
        key = lb.customer or lb.photo
        if key not in owners[lb.template]:
            owners[lb.template].append(key)
    rng = random.Random(f"present:{seed}")
    present: set[str] = set()
    for template, keys in owners.items():
        share = 0.5 if template is None else 2 / 3
        present.update(rng.sample(keys, math.ceil(len(keys) * share)))
    return LookalikeSet(folder, labels, frozenset(present))
