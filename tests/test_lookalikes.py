"""The KYC look-alike set of bench/kyc_lookalikes.py: deterministic, and its truth consistent."""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from kyctriage.demo import documents, lookalikes, variants
from kyctriage.demo.lookalikes import Photo


def _pixels(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lookalikes")
    natural = Image.new("RGB", (320, 240))
    natural.paste((200, 40, 40), (40, 40, 200, 160))
    out = io.BytesIO()
    natural.save(out, "PNG")
    return lookalikes.write_set(folder, 7, 1, 3, [("red.png", out.getvalue())])


def test_the_same_seed_draws_the_same_pixels_and_another_seed_other_people():
    photo, customer = lookalikes.photographs(3, 1, 1)[1]  # the booth capture
    assert photo.capture == "booth"
    first, again = lookalikes.draw(photo, customer), lookalikes.draw(photo, customer)
    assert np.array_equal(_pixels(first), _pixels(again))
    other = lookalikes.photographs(4, 1, 1)[1][1]
    assert (other.surname, other.number) != (customer.surname, customer.number)
    assert documents.templates(2, 3) == documents.templates(2, 3) != documents.templates(2, 4)


def test_two_customers_of_one_template_share_the_layout_but_not_the_person():
    template = documents.templates(3, 1)[2]
    a, b = documents.customers(template, 2, 1)
    first, second = _pixels(documents.document(a, 400)), _pixels(documents.document(b, 400))
    same = (np.abs(first - second).max(axis=2) == 0).mean()
    assert 0.5 < same < 0.95  # guilloche, band and labels shared; portrait, text, MRZ not
    # The portrait box (left on this template, 4-29% across) differs a lot.
    box = (slice(60, 150), slice(20, 110))
    assert np.abs(first[box] - second[box]).mean() > 10
    assert documents.templates(1, 1)[0].kind == "id" and template.kind == "passport"


def test_booth_captures_of_two_people_share_the_booth_not_the_noise():
    template = documents.templates(1, 1)[0]
    a, b = documents.customers(template, 2, 1)
    first, second = _pixels(lookalikes.booth(a)), _pixels(lookalikes.booth(b))
    backdrop = (slice(20, 90), slice(20, 340))  # the vendor's plate, top left
    assert np.abs(first[backdrop] - second[backdrop]).mean() < 6
    assert not np.array_equal(first[backdrop], second[backdrop])


def test_every_variant_maps_to_an_original_of_its_photograph(written):
    originals = {k: lb for k, lb in written.labels.items() if k.startswith("originals/")}
    assert all(lb.variant == "original" for lb in originals.values())
    photos = Counter(lb.photo for lb in originals.values())
    assert set(photos.values()) == {1}  # one original per photograph
    # One template, three customers: three scans, three booth captures, a selfie (customer 0),
    # and the natural photo; 13 variants each, one-side crops from all four edges.
    assert len(photos) == 8 and len(written.labels) == 8 * 14
    for key, label in written.labels.items():
        assert (written.folder / key).is_file()
        assert label.photo in photos
        if label.customer is not None:
            assert label.photo.startswith(label.customer + "/")
    edges = Counter(lb.variant.split()[-1] for lb in written.labels.values()
                    if lb.family == "one-side")  # fmt: skip
    assert edges == dict.fromkeys(variants.EDGES, 8)


def test_two_customers_are_two_photographs_and_the_reference_is_a_subset(written):
    scans = {lb.photo: lb.customer for lb in written.labels.values() if lb.capture == "scan"}
    assert len(scans) == 3 and len(set(scans.values())) == 3
    owners = {written.owner(lb) for lb in written.labels.values()}
    assert written.present < owners and len(written.present) == 3  # 2 of 3 customers, 1 of 1
    with Image.open(written.folder / "originals" / "o0007.png") as natural:
        assert natural.size == (320, 240)


def test_a_one_side_crop_keeps_the_other_three_edges():
    picture = Image.new("RGB", (200, 100))
    crop = variants._one_side(picture, "top", 0.25)
    assert crop.size == (200, 75)
    photo = Photo("natural/x", None, None, "natural")
    assert lookalikes.Label(photo.id, None, None, "natural", "one-side 25% top").family == (
        "one-side"
    )
