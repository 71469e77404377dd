"""The sharded index: exact band search, the same comparison as SQLite, verify, damage, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kyctriage.api import open_side
from kyctriage.cli.main import main
from kyctriage.errors import KyctriageError
from kyctriage.match import bands, index, search, shards
from kyctriage.match.compare import Side
from kyctriage.match.entries import entries
from tests.test_compare import EXPECTED, compare, records, sides  # noqa: F401 (the fixture)


def linear(query: np.ndarray, base: np.ndarray, loose: bool = False) -> set[tuple[int, int]]:
    """Today's rule (or the loose rule's) over every pair: what the band search must equal."""
    out = set()
    for i, row in enumerate(query):
        dist = np.bitwise_count(base ^ row).astype(int)
        ok = (dist.sum(axis=1) <= search.MAX_SUM) & (dist.max(axis=1) <= search.MAX_ONE)
        if loose:
            ok |= (dist[:, 0] <= search.LOOSE) & (dist[:, 1] <= search.MAX_ONE)
            ok |= (dist[:, 0] <= search.LOOSE_PHASH) & (dist[:, 1] <= search.CLOSE_DHASH)
        out.update((i, int(j)) for j in np.nonzero(ok)[0])
    return out


def _gradients_close(row: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """row with phash 6 bits off (two in each of bands.BANDS' first three), dhash 2-4 (two
    in the fourth band, which phash's last bits share) and whash 20-39: within
    search.LOOSE_PHASH and CLOSE_DHASH, every band of phash two bits off, so only a band of
    dhash (whose prefilter hash, whash, is far) can find it."""
    row = row.copy()
    flips = [int(rng.integers(lo, hi)) for lo, hi in ((0, 10), (10, 20), (20, 30), (30, 40),
                                                       (40, 49), (49, 59))]  # fmt: skip
    for bit in flips:
        row[0] ^= np.uint64(1 << bit)
    dhash = [0, 1, *rng.choice(np.arange(14, 64), int(rng.integers(0, 3)), replace=False)]
    for bit in dhash:
        row[1] ^= np.uint64(1 << int(bit))
    for bit in rng.choice(64, int(rng.integers(20, 40)), replace=False):
        row[2] ^= np.uint64(1 << int(bit))
    return row


@pytest.mark.parametrize("loose", [False, True])
def test_band_search_equals_the_linear_rule(loose: bool) -> None:
    rng = np.random.default_rng(5)
    base = rng.integers(0, 1 << 63, (20_000, 3), dtype=np.int64).astype(np.uint64) << np.uint64(1)
    base[:500] = base[0]  # a crowded bucket: nothing is skipped
    query = rng.integers(0, 1 << 63, (300, 3), dtype=np.int64).astype(np.uint64)
    for i in range(len(query)):  # planted at 0-14 bits per hash (every other whash at up to
        row = base[0 if i % 10 == 1 else rng.integers(len(base))].copy()  # 39: a flat page's)
        if i % 5 == 0:  # the loose rule's second part, found through a band of dhash only
            query[i] = _gradients_close(row, rng)
            continue
        for k, most in enumerate((15, 15, 40 if i % 2 else 15)):
            for bit in rng.choice(64, int(rng.integers(0, most)), replace=False):
                row[k] ^= np.uint64(1 << int(bit))
        query[i] = row
    q, b, dist = bands.near(query, base, bands.band_orders(base), loose=loose)
    found = set(zip(q.tolist(), b.tolist(), strict=True))
    assert found == linear(query, base, loose)
    assert len(found) > 500
    assert (dist == np.bitwise_count(query[q] ^ base[b])).all()
    if loose:  # pairs only the loose rule accepts were planted and found, of either part
        only = np.array(sorted(found - linear(query, base)))
        apart = np.bitwise_count(query[only[:, 0]] ^ base[only[:, 1]])
        assert (apart[:, 0] <= search.LOOSE).sum() > 5
        assert ((apart[:, 0] > search.LOOSE) & (apart[:, 1] <= search.CLOSE_DHASH)).sum() > 5


def same(result: object) -> object:
    images = [(im.path, im.status, im.matches) for im in result.images]  # type: ignore[attr-defined]
    return images, result.affected, result.totals()  # type: ignore[attr-defined]


def test_sharded_index_compares_as_sqlite(sides: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    leak, ref = sides
    ref_entries = entries(records(ref))
    db, built = tmp_path / "ref.db", tmp_path / "ref.idx"
    index.add(db, ref_entries, create=True)
    shards.build(built, ref_entries[:2])
    shards.append(built, ref_entries[2:])  # a second shard; the first is not rewritten
    first = (built / "shard-00000.full.npy").stat().st_mtime_ns
    assert [s.rows for s in shards.read_manifest(built)[1]] == [2, 3]
    leak_side = Side("leak", records(leak))
    sharded = compare(leak_side, open_side(built))
    assert same(sharded) == same(compare(leak_side, open_side(db)))
    assert {im.path: im.status for im in sharded.images} == EXPECTED
    assert sharded.totals()["reference"] == 5
    assert (built / "shard-00000.full.npy").stat().st_mtime_ns == first
    assert shards.verify(built) == []


def test_damage_is_named_and_never_searched(sides: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    leak, ref = sides
    built = tmp_path / "ref.idx"
    ref_entries = entries(records(ref))
    shards.build(built, ref_entries[:2])
    shards.append(built, ref_entries[2:])
    part = built / "shard-00001.full.npy"
    data = bytearray(part.read_bytes())
    data[-1] ^= 0xFF
    part.write_bytes(bytes(data))
    assert shards.verify(built) == [
        "shard-00001: shard-00001.full.npy is damaged (SHA-256 differs)"
    ]
    # a manifest that lies about a shard's rows: compare stops with the shard named
    manifest = json.loads((built / shards.MANIFEST).read_text())
    manifest["shards"][0]["rows"] = 7
    (built / shards.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(KyctriageError, match="shard-00000: shard-00000.full.npy has shape"):
        compare(Side("leak", records(leak)), open_side(built))
    (built / "shard-00001.keys.npy").write_bytes(b"\x93NUMPY")  # cut
    problems = shards.verify(built)
    assert any(p.startswith("shard-00001: shard-00001.keys.npy") for p in problems)


def test_half_built_index_is_not_an_index(tmp_path: Path) -> None:
    half = tmp_path / "half"
    half.mkdir()
    (half / "shard-00000.full.npy").write_bytes(b"")
    assert not shards.is_index(half)  # no manifest: a folder, never a short index


def test_cli_sharded_build_add_verify_upgrade(sides: tuple[Path, Path], tmp_path: Path) -> None:  # noqa: F811
    leak, ref = sides
    runner = CliRunner()
    built, db, upgraded = tmp_path / "ref.idx", tmp_path / "ref.db", tmp_path / "up.idx"
    done = runner.invoke(main, ["index", "build", str(ref), "-o", str(built), "--sharded",
                                "--workers", "1"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert runner.invoke(main, ["index", "add", str(ref), "-o", str(built)]).exit_code == 0
    assert len(shards.read_manifest(built)[1]) == 2
    assert runner.invoke(main, ["index", "verify", str(built)]).exit_code == 0
    assert runner.invoke(main, ["index", "build", str(ref), "-o", str(db)]).exit_code == 0
    assert runner.invoke(main, ["index", "upgrade", str(db), "-o", str(upgraded)]).exit_code == 0
    out = tmp_path / "c.json"
    done = runner.invoke(main, ["compare", str(leak), str(upgraded), "--json", str(out),
                                "--workers", "1"])  # fmt: skip
    assert done.exit_code == 0, done.output
    assert {im["path"]: im["status"] for im in json.loads(out.read_text())["images"]} == EXPECTED
    (upgraded / "shard-00000.ids.parquet").write_bytes(b"PAR1")
    # a damaged index: one line per problem, exit 1, no traceback
    bad = subprocess.run([sys.executable, "-m", "kyctriage", "index", "verify", str(upgraded)],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 1
    assert "shard-00000: shard-00000.ids.parquet is damaged" in bad.stderr
    assert "Traceback" not in bad.stderr
    refused = runner.invoke(main, ["compare", str(built), str(ref)])
    assert refused.exit_code == 2
