"""Clusters: exact, same-pixel and near kinds, views, labels, determinism, the index."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from kyctriage import model
from kyctriage.match import clusters as cluster
from kyctriage.match import search
from kyctriage.match.entries import Entry
from kyctriage.model import STATUS_ERROR, STATUS_OK, FileRecord, ImageInfo, Timestamp
from kyctriage.probes import hashes


def photo(seed: int, size: tuple[int, int] = (256, 192)) -> Image.Image:
    """A smooth random scene with finer detail: hashes behave as on photographs."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    fine = Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    base = np.asarray(coarse.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    detail = np.asarray(fine.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    return Image.fromarray(np.clip(0.75 * base + 0.25 * detail, 0, 255).astype(np.uint8))


def views(preview: Image.Image) -> tuple[model.ViewHashes, ...]:
    w, h = preview.size
    shown = {
        "mirror": preview.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "rot90": preview.transpose(Image.Transpose.ROTATE_90),
    }
    for name, keep in (("crop92", 0.92), ("crop87", 0.87), ("crop82", 0.82)):
        dx, dy = w * (1 - keep) / 2, h * (1 - keep) / 2
        shown[name] = preview.crop((round(dx), round(dy), round(w - dx), round(h - dy)))
    out = []
    for name, image in shown.items():
        got = hashes.perceptual(image, None)
        out.append(model.ViewHashes(name, got.phash, got.dhash, got.whash))
    return tuple(out)


def record(
    path: str,
    image: Image.Image,
    *,
    data: str | None = None,
    sha: str | None = None,
    fmt: str = "JPEG",
    time: str | None = None,
    exif: bool = False,
) -> tuple[FileRecord, tuple[model.ViewHashes, ...]]:
    sha = sha or hashlib.sha256(path.encode()).hexdigest()
    info = ImageInfo(
        format=fmt, extension_mismatch=False, width=image.width, height=image.height,
        mode="RGB", orientation=None, frames=1, has_thumbnail=False,
    )  # fmt: skip
    stamp = Timestamp("exif:DateTimeOriginal", time, None, "high", time) if time else None
    rec = FileRecord(
        root="/leak", path=path, status=STATUS_OK, sha256=sha, image=info,
        hashes=hashes.perceptual(image, data or hashlib.sha256(sha.encode()).hexdigest()),
        best_time=stamp, exif=(("Make", "Test"),) if exif else (),
    )  # fmt: skip
    return rec, views(image)


def run(pairs: list[tuple[FileRecord, tuple[model.ViewHashes, ...]]]) -> model.Clustering:
    return cluster.cluster([r for r, _ in pairs], {(r.root, r.path): v for r, v in pairs})


def test_empty_and_single_input() -> None:
    assert cluster.cluster([]).clusters == ()
    assert cluster.cluster([]).considered == 0
    one = run([record("a.jpg", photo(1))])
    assert one.clusters == ()
    assert one.considered == 1


def test_records_without_hashes_are_ignored() -> None:
    ok, v = record("a.jpg", photo(1))
    broken = FileRecord(root="/leak", path="b.jpg", status=STATUS_ERROR, sha256=ok.sha256,
                        error="cannot decode")  # fmt: skip
    result = cluster.cluster([ok, broken], {("/leak", "a.jpg"): v})
    assert result.clusters == ()
    assert result.considered == 1


def test_exact_duplicates() -> None:
    image = photo(1)
    result = run([record("a.jpg", image, sha="ab" * 32), record("b.jpg", image, sha="ab" * 32)])
    (c,) = result.clusters
    assert c.kind == model.KIND_EXACT
    assert c.id == "c" + ("ab" * 32)[:16]
    assert [m.path for m in c.members] == ["a.jpg", "b.jpg"]
    assert c.members[1].relation == "identical"
    assert c.members[1].transformations == ("identical",)


def test_same_pixels_with_other_metadata() -> None:
    image = photo(2)
    result = run([record("a.jpg", image, data="d1", exif=True), record("b.jpg", image, data="d1")])
    (c,) = result.clusters
    assert c.kind == model.KIND_SAME_PIXELS
    assert c.representative.path == "a.jpg"  # the one that kept its EXIF
    assert c.members[1].transformations == ("metadata changed",)


def _transformed() -> list[tuple[FileRecord, tuple[model.ViewHashes, ...]]]:
    image = photo(3, (320, 240))
    w, h = image.size
    cut = image.crop((round(w * 0.06), round(h * 0.06), round(w * 0.94), round(h * 0.94)))
    return [
        record("original.jpg", image, exif=True, time="2024-03-01T10:00:00"),
        record("small.jpg", image.resize((200, 150), Image.Resampling.LANCZOS),
               time="2024-02-01T09:00:00"),
        record("mirror.jpg", image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
        record("rot90.jpg", image.transpose(Image.Transpose.ROTATE_90)),
        record("rot270.jpg", image.transpose(Image.Transpose.ROTATE_270)),
        record("crop.jpg", cut),
        record("shot.png", image.resize((288, 216), Image.Resampling.BILINEAR), fmt="PNG"),
        record("bright.jpg", ImageEnhance.Brightness(image).enhance(1.2)),
    ]  # fmt: skip


def test_near_duplicates_and_their_labels() -> None:
    result = run(_transformed())
    (c,) = result.clusters
    assert c.kind == model.KIND_NEAR
    assert c.representative.path == "original.jpg"
    by_path = {m.path: m for m in c.members}
    assert len(by_path) == 8
    assert all(m.linked for m in c.members)
    assert "resized" in by_path["small.jpg"].transformations
    assert by_path["mirror.jpg"].view == "mirrored"
    assert by_path["rot90.jpg"].view == "rotated 90 counter-clockwise"
    assert by_path["rot270.jpg"].view == "rotated 90 clockwise"
    assert by_path["crop.jpg"].transformations[0] == "cropped"
    assert "converted JPEG to PNG" in by_path["shot.png"].transformations
    assert by_path["small.jpg"].distances[0][0] == "phash"
    assert c.earliest is not None and c.earliest.value == "2024-02-01T09:00:00"
    assert c.earliest_path == "small.jpg"


def test_different_photos_are_not_merged() -> None:
    pairs = [record(f"{seed}.jpg", photo(seed)) for seed in range(10, 30)]
    assert run(pairs).clusters == ()


def test_same_input_in_any_order_gives_the_same_clusters() -> None:
    pairs = _transformed() + [record("other.jpg", photo(40)), record("other2.jpg", photo(40))]
    first = run(pairs)
    for seed in range(3):
        shuffled = list(pairs)
        random.Random(seed).shuffle(shuffled)
        assert run(shuffled) == first
    assert [c.kind for c in first.clusters] == ["near", "near"]


def test_thresholds_are_stated() -> None:
    stated = cluster.cluster([]).thresholds
    assert stated.max_sum == search.MAX_SUM
    assert stated.views == search.VIEWS
    assert stated.hashes == ("phash", "dhash", "whash")


def _near_pairs(seed: int) -> np.ndarray:
    """300 random hash triples and 150 copies of them with up to 23 bits flipped over the three
    hashes: around the threshold."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**63, size=(300, 3), dtype=np.int64).astype(np.uint64)
    near = base[:150].copy()
    for row in near:
        for bit in rng.choice(192, size=int(rng.integers(0, 24)), replace=False):
            row[bit // 64] ^= np.uint64(1 << int(bit % 64))
    return np.concatenate([base, near])


@pytest.mark.parametrize("seed", [1, 2])
def test_index_finds_every_pair_the_rule_accepts(seed: int, monkeypatch) -> None:
    monkeypatch.setattr(search, "DIRECT_PAIRS", 0)  # the index, not the small-set shortcut
    hashes_ = _near_pairs(seed)
    found = search.search(hashes_, hashes_, same_set=True)
    dist = np.bitwise_count(hashes_[:, None, :] ^ hashes_[None, :, :]).astype(np.int64)
    ok = (dist.sum(axis=2) <= search.MAX_SUM) & (dist.max(axis=2) <= search.MAX_ONE)
    expected = {(i, j) for i, j in zip(*np.nonzero(np.triu(ok, 1)), strict=True)}
    assert {(int(i), int(j)) for i, j in zip(found.query, found.base, strict=True)} == expected
    assert len(expected) > 50


@pytest.mark.parametrize("same_set", [True, False])
def test_small_sets_checked_pair_by_pair_give_what_the_index_gives(same_set, monkeypatch):
    hashes_ = _near_pairs(3)
    query = hashes_ if same_set else hashes_[::3]
    index = search._candidates

    def no_index(*args):
        raise AssertionError("a small set went through the index")

    monkeypatch.setattr(search, "_candidates", no_index)
    direct = search.search(query, hashes_, same_set)
    monkeypatch.setattr(search, "_candidates", index)
    monkeypatch.setattr(search, "DIRECT_PAIRS", 0)
    indexed = search.search(query, hashes_, same_set)
    assert len(direct.query) > 50
    for field in ("query", "base", "distances"):
        assert getattr(direct, field).dtype == getattr(indexed, field).dtype
        assert np.array_equal(getattr(direct, field), getattr(indexed, field))
    assert direct.crowded == indexed.crowded == 0
    empty = search.search(query[:0], hashes_, same_set)
    assert len(empty.query) == 0 and empty.distances.shape == (0, 3)


def test_crowded_buckets_are_skipped_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "MAX_BUCKET", 4)
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 2**63, size=(10, 3), dtype=np.int64).astype(np.uint64)
    rows[:, 0] &= ~np.uint64(0xFFFF)  # ten images share one phash band value
    rows[1] = rows[0] ^ np.uint64(1)  # and one true pair, found through its other bands
    found = search.search(rows, rows, same_set=True)
    assert found.crowded > 0
    assert (0, 1) in set(zip(found.query.tolist(), found.base.tolist(), strict=True))


def test_the_search_works_in_bounded_pieces_with_the_same_result(monkeypatch):
    from kyctriage.match import search as mih

    rng = np.random.default_rng(5)
    # 400 hashes drawn from 6 templates with a few flipped bits: big buckets, many true pairs.
    templates = rng.integers(0, 2**63, size=(6, 3), dtype=np.uint64)
    flips = np.zeros((400, 3), np.uint64)
    for _ in range(3):
        flips |= np.uint64(1) << rng.integers(0, 64, size=(400, 3)).astype(np.uint64)
    hashes = templates[rng.integers(0, 6, 400)] ^ flips
    monkeypatch.setattr(mih, "DIRECT_PAIRS", 0)
    whole = mih.search(hashes, hashes, same_set=True)
    monkeypatch.setattr(mih, "CHUNK", 50)
    pieces = [q for q, _, _ in mih._candidates(hashes, hashes)]
    assert sum(len(q) for q in pieces) > 50 * 100
    # A piece holds at most CHUNK pairs, or the bucket of a single query.
    assert all(len(q) <= 50 or len(np.unique(q)) == 1 for q in pieces)
    merged_sizes = []
    merge = mih._merge

    def spy(keys, dists):
        merged_sizes.append(sum(len(k) for k in keys))
        return merge(keys, dists)

    monkeypatch.setattr(mih, "_merge", spy)
    chunked = mih.search(hashes, hashes, same_set=True)
    assert len(whole.query) > 1000
    # Repeated finds of a pair are merged as they pile up, never all held at once.
    finds = sum(
        int(mih._verify(hashes, hashes, q[q < b], b[q < b])[0].sum())
        for q, b, _ in mih._candidates(hashes, hashes)
    )
    assert finds > 2 * len(whole.query)
    assert max(merged_sizes) < len(whole.query) + 50 + 400
    for field in ("query", "base", "distances"):
        assert np.array_equal(getattr(whole, field), getattr(chunked, field))


@pytest.mark.parametrize("seed", range(6))
def test_components_are_scipys_connected_components(seed: int) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from kyctriage.match.clusters import components

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    edges = int(rng.integers(0, 2 * n))
    a, b = rng.integers(0, n, edges), rng.integers(0, n, edges)
    if seed == 0:  # a long chain joined from its far end: the most rounds of hooking
        a, b = np.arange(n - 1, 0, -1), np.arange(n - 2, -1, -1)
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    expected = connected_components(graph, directed=False)[1]
    assert components(n, a, b).tolist() == expected.tolist()


def test_pictures_without_features_stay_out_of_the_near_search(monkeypatch) -> None:
    """A picture too plain to verify (no look, no keys) joins only by its identity, so the
    global-hash search leaves it out: one style's plain pictures would crowd its buckets."""
    monkeypatch.setattr(search, "MAX_BUCKET", 4)
    monkeypatch.setattr(search, "DIRECT_PAIRS", 0)
    pairs = []
    for n in range(40):
        picture = Image.new("RGB", (160, 120), (70, 120, 190))
        ImageDraw.Draw(picture).text((70, 55), str(n), fill=(250, 250, 250))
        pairs.append(record(f"p{n}.png", picture, fmt="PNG"))
    pairs.append(record("copy.png", picture, sha=pairs[-1][0].sha256, fmt="PNG"))
    records = [r for r, _ in pairs]
    views = {(r.root, r.path): v for r, v in pairs}
    rng = np.random.default_rng(5)
    keyed = {r.path: rng.integers(0, 256, (40, 32), dtype=np.uint8) for r in records}

    def with_keys(e: Entry) -> np.ndarray:
        return keyed[e.path]

    searched = cluster.cluster(records, views, pictures=lambda e: None, keys=with_keys)
    assert searched.crowded_buckets > 0  # the style's hashes crowd the index's buckets
    plain = cluster.cluster(records, views, pictures=lambda e: None, keys=lambda e: None)
    assert plain.crowded_buckets == 0
    assert [{m.path for m in c.members} for c in plain.clusters] == [{"p39.png", "copy.png"}]


def test_a_flat_pictures_copy_whose_whash_moved_is_proposed_where_a_check_decides() -> None:
    """A white scanned page and its mirrored copy's mirror view: phash and dhash equal,
    whash 19 bits apart (its wavelet bits sit at the median; held-out seed 2 of
    bench/kyc_lookalikes.py, o0010 and o0010_10). The hash rule alone refuses the pair, as
    the clusters of hashes alone must; as a candidate for a check (loose) it is proposed. So
    is a page whose gradient bits moved too (a scan turned 3 degrees, then turned back by
    compare: phash 0, dhash 7, whash 26 bits apart; a brightened scan: 4, 3, 24), and one
    whose gradient bits kept their signs while phash moved further (a centred crop against
    its original's 82% view: phash 6, dhash 0, whash 16; a clipped brightened scan: 6, 4,
    32)."""
    page = np.array([[0x9762978D48B76323, 0x60C8CCF0B1F6FEE8, 0x3FFE6418181F0F0E]], np.uint64)
    copy = page.copy()
    copy[0, 2] ^= np.uint64((1 << 19) - 1)  # 19 of whash's bits
    other = page.copy()
    other[0, 0] ^= np.uint64(0b11)  # phash 2 bits, dhash 2: within LOOSE
    other[0, 1] ^= np.uint64(0b11 << 40)
    other[0, 2] ^= np.uint64(((1 << 19) - 1) << 20)
    askew = page.copy()
    askew[0, 1] ^= np.uint64(0b1111111 << 30)  # dhash 7 bits, whash 26
    askew[0, 2] ^= np.uint64(((1 << 26) - 1) << 3)
    cut = page.copy()
    cut[0, 0] ^= np.uint64(0b111111)  # phash 6 bits apart, dhash 4, whash 19
    cut[0, 1] ^= np.uint64(0b1111 << 20)
    cut[0, 2] ^= np.uint64((1 << 19) - 1)
    far = cut.copy()
    far[0, 0] ^= np.uint64(1 << 40)  # phash 7 bits apart
    moved = cut.copy()
    moved[0, 1] ^= np.uint64(1 << 50)  # phash 6, dhash 5
    too_far = askew.copy()
    too_far[0, 1] ^= np.uint64(0b1111 << 8)  # dhash 11 bits apart
    for base in (copy, other, askew, cut):
        assert len(search.search(page, base, same_set=False).query) == 0
        assert len(search.search(page, base, same_set=False, loose=True).query) == 1
    for base in (far, moved, too_far):
        assert len(search.search(page, base, same_set=False, loose=True).query) == 0
    # the index's path (more rows than it searches pair by pair) finds it too
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 2**63, size=(search.MAX_BUCKET + 1, 3), dtype=np.uint64)
    base = np.vstack([noise, copy])
    found = search.search(page, base, same_set=False, loose=True)
    assert len(base) - 1 in found.base.tolist()
    assert len(base) - 1 not in search.search(page, base, same_set=False).base.tolist()


def test_a_picture_shown_inside_another_proposes_its_original_and_its_other_frames() -> None:
    """The hashes of a picture a frame shows (view `shown`: a screenshot's photograph, a
    page's document) are searched against the others' own hashes and the pictures they show,
    as compare searches them: on the full held-out bench, a scanned page shown small in a
    screenshot had ORB's few keys on it vote for look-alike pages, never its own."""
    from kyctriage.match.entries import Arrays, entries
    from kyctriage.probes.hashes import SHOWN

    def shown(picture: Image.Image) -> model.ViewHashes:
        got = hashes.perceptual(picture, None)
        return model.ViewHashes(SHOWN, got.phash, got.dhash, got.whash)

    page = photo(1)
    smaller = page.resize((128, 96), Image.Resampling.BILINEAR)
    pairs = [record("page.jpg", page), record("desktop.png", photo(2), fmt="PNG"),
             record("phone.png", photo(3), fmt="PNG"), record("other.jpg", photo(4))]  # fmt: skip
    views = {(r.root, r.path): v for r, v in pairs}
    views[("/leak", "desktop.png")] += (shown(smaller),)
    views[("/leak", "phone.png")] += (shown(smaller.resize((100, 75))),)
    table = Arrays(entries([r for r, _ in pairs], views))
    near, _ = cluster._edges(table, loose=True)
    linked = {frozenset((table.entries[a].path, table.entries[b].path))
              for a, b in zip(*near, strict=True) if a != b}  # fmt: skip
    assert {"page.jpg", "desktop.png"} in linked and {"page.jpg", "phone.png"} in linked
    assert {"desktop.png", "phone.png"} in linked
    assert not any("other.jpg" in pair for pair in linked)
