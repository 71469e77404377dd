"""Archive scale: compare a 10,000-image leak (a saved scan) with a sharded index of 1M-10M rows.

    python bench/archive_scale.py                     # 1M and 10M rows
    python bench/archive_scale.py --rows 1000000      # one size
    python bench/archive_scale.py --keep /tmp/arch    # keep (and reuse) the indexes there

Hash rows only, no pixels: random 64-bit hashes (upright and the nine views a scan records:
search.VIEWS and hashes.CUT_VIEWS), plus planted
near-duplicates of the leak's hashes at known distances (0-10 bits in each hash, chosen at
random): a row near a leak image upright, a row near one of the leak image's views, and a row
whose view is near the leak image. The leak is a real scan of samples/ (its real hashes) padded
with random records to 10,000, saved as a scan JSON, so compare reads it as a user's would.

Measured: shard build (band orders, files, SHA-256; per 1M rows), the CLI compare's wall time
and peak RSS of its process (/usr/bin/time), the planted pairs the rule accepts that compare
reports (recall), every reported match re-checked against the rule from the index's arrays
(none may fail), and the band search against brute force (numpy popcount over every pair) on the
first ARCHIVE_LINEAR_ROWS (250,000) rows of the first shard and their view hashes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kyctriage.api import open_side, scan  # noqa: E402
from kyctriage.match import bands, search, shards  # noqa: E402
from kyctriage.match.entries import Arrays, entries  # noqa: E402
from kyctriage.model import Hashes, ViewHashes  # noqa: E402
from kyctriage.probes.hashes import CUT_VIEWS, SHOWN  # noqa: E402
from kyctriage.render.json import render_json  # noqa: E402

SHARD = int(os.environ.get("ARCHIVE_SHARD_ROWS", 1_000_000))
LEAK = 10_000
PLANTED = 1_000  # leak images with planted rows (three relations each)
LINEAR = int(os.environ.get("ARCHIVE_LINEAR_ROWS", 250_000))  # rows brute-forced
RNG_BITS = np.random.default_rng(21)
# the views a reference row keeps, as a scan records them
ROW_VIEWS = (*search.VIEWS, *CUT_VIEWS)
NV = len(ROW_VIEWS)


def rand(*shape: int) -> np.ndarray:
    return RNG_BITS.integers(0, 1 << 64, shape, dtype=np.uint64, endpoint=False)


def hexes(values: np.ndarray, width: int = 16) -> list[str]:
    return [f"{v:0{width}x}" for v in values.tolist()]


def flip(rng: np.random.Generator, row: np.ndarray, bits: np.ndarray) -> np.ndarray:
    out = row.copy()
    for k, n in enumerate(bits):
        for bit in rng.choice(64, int(n), replace=False):
            out[k] ^= np.uint64(1 << int(bit))
    return out


def passes(bits: np.ndarray) -> bool:
    return int(bits.sum()) <= search.MAX_SUM and int(bits.max()) <= search.MAX_ONE


def make_leak(
    folder: Path, rng: np.random.Generator
) -> tuple[Path, np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """A saved scan of LEAK images: samples/'s real records first, random ones after; with
    the hashes of the pictures the real ones show (hashes.SHOWN), by leak image."""
    report = scan(str(REPO / "samples"), workers=1)
    real = [r for r in report.records if r.hashes is not None and r.hashes.views]
    template = real[0]
    records = []
    full = np.zeros((LEAK, 3), np.uint64)
    views = np.zeros((LEAK, len(search.VIEWS), 3), np.uint64)
    shown: dict[int, np.ndarray] = {}
    for i in range(LEAK):
        if i < len(real):
            r = real[i]
            assert r.hashes is not None
            h = r.hashes
            full[i] = [int(h.phash, 16), int(h.dhash, 16), int(h.whash, 16)]
            for v in h.views:
                triple = [int(v.phash, 16), int(v.dhash, 16), int(v.whash, 16)]
                if v.view in search.VIEWS:
                    views[i, search.VIEWS.index(v.view)] = triple
                elif v.view == SHOWN:
                    shown[i] = np.concatenate([shown.get(i, np.zeros((0, 3), np.uint64)),
                                               np.array([triple], np.uint64)])  # fmt: skip
            records.append(dataclasses.replace(r, root="leak", path=f"real-{i:05d}-{r.path}"))
            continue
        full[i] = rand(3)
        views[i] = rand(len(search.VIEWS), 3)
        h = Hashes(
            *hexes(full[i]),
            colorhash=f"{rng.integers(1 << 40):011x}",
            image_data_sha256=hashlib.sha256(b"data%d" % i).hexdigest(),
            views=tuple(
                ViewHashes(name, *hexes(views[i, k])) for k, name in enumerate(search.VIEWS)
            ),
        )
        records.append(
            dataclasses.replace(
                template, root="leak", path=f"leak-{i:05d}.jpg", sha256=f"{i:064x}", hashes=h
            )
        )
    saved = folder / "leak.json"
    saved.write_text(render_json(dataclasses.replace(report, records=tuple(records))))
    return saved, full, views, shown


def shard_rows(rng: np.random.Generator, first: int, n: int) -> shards.Rows:
    full, views = rand(n, 3), rand(n, NV, 3)
    return fill(first, full, views)


def fill(first: int, full: np.ndarray, views: np.ndarray) -> shards.Rows:
    n = len(full)
    names = [f"c{first + i:09d}.jpg" for i in range(n)]
    ph, dh, wh = (hexes(full[:, k]) for k in range(3))
    vh = [[hexes(views[:, v, k]) for k in range(3)] for v in range(NV)]
    view_json = [
        json.dumps([[ROW_VIEWS[v], vh[v][0][i], vh[v][1][i], vh[v][2][i]] for v in range(NV)])
        for i in range(n)
    ]
    table = pa.table(
        {
            "root": ["archive"] * n,
            "path": names,
            "sha256": [hashlib.sha256(p.encode()).hexdigest() for p in names],
            "data_sha256": [None] * n,
            "phash": ph,
            "dhash": dh,
            "whash": wh,
            "colorhash": ["00000000000"] * n,
            "views": view_json,
            "width": pa.array([3000] * n, pa.int32()),
            "height": pa.array([4000] * n, pa.int32()),
            "format": ["JPEG"] * n,
            "quality": pa.array([90] * n, pa.int16()),
            "has_exif": [True] * n,
            "size": pa.array([2_000_000] * n, pa.int64()),
            # where the picture would be: nowhere (no pixels), so verification fails fast
            "source": [f"/nonexistent/kyc-archive/{p}" for p in names],
        }
    )
    keys = np.zeros((n, 2), np.uint64)
    keys[:, 0] = [shards.key64(s) for s in table.column("sha256").to_pylist()]
    return shards.Rows(
        full, views.reshape(-1, 3), np.repeat(np.arange(n, dtype=np.uint32), NV), keys, table
    )


def planted_rows(rng: np.random.Generator, full: np.ndarray, views: np.ndarray):
    """Three rows per planted leak image; what the rule says of each."""
    n = PLANTED
    pf = np.zeros((3 * n, 3), np.uint64)
    pv = rand(3 * n, NV, 3)
    pf[:] = rand(3 * n, 3)
    expect = {}
    for j in range(n):
        i = j * (LEAK // n) if j >= 10 else j  # the real samples' records first
        for rel in range(3):
            row, bits = 3 * j + rel, rng.integers(0, 11, 3)
            if rel == 0:  # upright near upright
                pf[row] = flip(rng, full[i], bits)
            elif rel == 1:  # upright near one of the leak image's views
                pf[row] = flip(rng, views[i, rng.integers(4)], bits)
            else:  # one of the row's views near the leak image upright
                pv[row, rng.integers(NV)] = flip(rng, full[i], bits)
            expect[row] = (i, passes(bits))
    return pf, pv, expect


def timed(cmd: list[str]) -> tuple[float, int, float, int]:
    """Wall seconds, peak memory of the process tree (bytes: the proportional set size of the
    command and the workers it forks, summed, sampled every 50 ms; RSS would count the pages
    a forked worker shares with its parent twice), CPU seconds of the tree, the exit status."""
    import psutil

    start = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, done = 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                root = psutil.Process(child.pid)
                procs = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_full_info().pss for p in procs))
            except psutil.NoSuchProcess:
                pass
            done.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    code = os.waitstatus_to_exitcode(status)
    assert child.stderr is not None
    if code not in (0, 3):  # 3: near candidates unverified (the synthetic rows have no pictures)
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{child.stderr.read().decode()}")
    child.returncode = code
    return wall, peak, usage.ru_utime + usage.ru_stime, code


def rule(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Today's rule on pairs of rows (broadcast): the sum and the largest per-hash distance."""
    d = np.bitwise_count(a ^ b).astype(np.int16)
    return (d.sum(axis=-1) <= search.MAX_SUM) & (d.max(axis=-1) <= search.MAX_ONE)


def linear(queries: np.ndarray, base: np.ndarray) -> set[tuple[int, int]]:
    """Every (query, base row) pair the rule accepts, by brute force in blocks: the phash
    distance of every pair (numpy popcount over uint64), then the rule on the few within
    MAX_ONE there."""
    out: set[tuple[int, int]] = set()
    base0 = np.ascontiguousarray(base[:, 0])
    for lo in range(0, len(base), 1 << 16):
        block = base0[lo : lo + (1 << 16)]
        for q in range(0, len(queries), 256):
            d = np.bitwise_count(queries[q : q + 256, 0, None] ^ block[None, :])
            qi, bi = np.nonzero(d <= search.MAX_ONE)
            ok = rule(queries[q + qi], base[lo + bi])
            out.update(zip((q + qi[ok]).tolist(), (lo + bi[ok]).tolist(), strict=True))
    return out


def check_linear(opened: shards.Opened, leak_full: np.ndarray, leak_views: np.ndarray) -> str:
    """Band search against brute force on the first LINEAR rows of a shard and their views."""
    n = min(LINEAR, opened.shard.rows)
    base = np.asarray(opened.full[:n])
    v = int(np.searchsorted(opened.view_rows, n))
    views = np.asarray(opened.views[:v])
    queries = np.concatenate([leak_full, leak_views.reshape(-1, 3)])
    start = time.process_time()
    lines = []
    for name, q, b in (("upright", queries, base), ("view", leak_full, views)):
        found_q, found_b, _ = bands.near(q, b, bands.band_orders(b))
        found = set(zip(found_q.tolist(), found_b.tolist(), strict=True))
        truth = linear(q, b)
        lines.append(f"{name} {len(found)} pairs, linear {len(truth)}, equal: {found == truth}")
    return (
        f"band search vs brute force on {n:,} rows ({v:,} view hashes), "
        f"{time.process_time() - start:.0f} s CPU: " + "; ".join(lines)
    )


def beyond_rule(
    root: Path, got: set[tuple[int, int]], full: np.ndarray, views: np.ndarray,
    shown: dict[int, np.ndarray],
) -> int:  # fmt: skip
    """Reported (leak image, row) pairs that no relation of the rule accepts, recomputed from
    the index's own arrays: upright-upright, a leak view against the row, the leak image
    against a row's view, a picture the leak image shows against the row or its views."""
    opened = [shards.open_shard(root, s) for s in shards.read_manifest(root)[1]]
    bad = 0
    for i, row in got:
        shard = opened[row // SHARD]
        local = row % SHARD
        r_full = np.asarray(shard.full[local])
        lo, hi = np.searchsorted(shard.view_rows, [local, local + 1])
        r_views = np.asarray(shard.views[lo:hi])
        inside = shown.get(i, np.zeros((0, 3), np.uint64))
        ok = (
            rule(full[i], r_full)
            or rule(views[i], r_full).any()
            or (len(r_views) and rule(full[i], r_views).any())
            or any(rule(s, r_full) or (len(r_views) and rule(s, r_views).any()) for s in inside)
        )
        bad += not ok
    return bad


def run(
    rows: int, keep: Path, leak: Path, full: np.ndarray, views: np.ndarray, leak_arrays: Arrays,
    shown: dict[int, np.ndarray],
) -> None:  # fmt: skip
    rng = np.random.default_rng(rows)
    root = keep / f"index-{rows}"
    pf, pv, expect = planted_rows(rng, full, views)
    if not shards.is_index(root):
        shutil.rmtree(root, ignore_errors=True)
        build = []
        for first in range(0, rows, SHARD):
            n = min(SHARD, rows - first)
            made = shard_rows(rng, first, n)
            if first == 0:  # the planted rows lead the first shard
                made = fill(
                    0,
                    np.concatenate([pf, made.full[len(pf) :]]),
                    np.concatenate([pv, made.views.reshape(-1, NV, 3)[len(pf) :]]),
                )
            start = time.process_time()
            shards.write_shard(root, made)
            build.append((time.process_time() - start) * 1_000_000 / n)
        print(
            f"{rows:,} rows: shard build {np.median(build):.1f} s CPU per 1M rows (median "
            f"of {len(build)})",
            flush=True,
        )
    size = sum(p.stat().st_size for p in root.iterdir())
    out = keep / f"compare-{rows}.json"
    cmd = [
        sys.executable,
        "-m",
        "kyctriage",
        "compare",
        str(leak),
        str(root),
        "--json",
        str(out),
        "-q",
    ]
    wall, rss, cpu, code = timed(cmd)
    start, cpu_start = time.perf_counter(), time.process_time()
    found = shards.find(root, leak_arrays)
    find_wall, find_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    data = json.loads(out.read_text())
    wanted = {(i, row) for row, (i, ok) in expect.items() if ok}
    beyond = {(i, row) for row, (i, ok) in expect.items() if not ok}
    names = {f"leak-{i:05d}.jpg": i for i in range(LEAK)}
    for im in data["images"]:
        if im["path"].startswith("real-"):
            names[im["path"]] = int(im["path"][5:10])
    got = set()
    for im in data["images"]:
        for m in im["matches"]:
            got.add((names[im["path"]], int(m["path"][1:10])))
    print(
        f"{rows:,} rows ({size / 2**30:.2f} GiB on disk, {size / rows:.0f} B a row): compare "
        f"{LEAK:,} leak images {wall:.1f} s wall ({cpu:.1f} s CPU), peak memory (PSS) of the "
        f"process tree {rss / 2**20:.0f} MiB, exit {code}; "
        f"of which the index search {find_wall:.1f} s wall ({find_cpu:.1f} s CPU, "
        f"{len(found.entries)} rows found); planted pairs "
        f"the rule accepts found {len(wanted & got)} of {len(wanted)}; planted beyond the rule "
        f"found {len(beyond & got)}; other matches {len(got - wanted - beyond)} (the samples' "
        f"near-duplicates of each other); matches the rule does not accept "
        f"{beyond_rule(root, got, full, views, shown)}",
        flush=True,
    )
    print(
        "  " + check_linear(shards.open_shard(root, shards.read_manifest(root)[1][0]), full, views),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    keep = args.keep or Path(tempfile.mkdtemp(prefix="kyctriage-archive-"))
    keep.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}", flush=True)
    leak, full, views, shown = make_leak(keep, np.random.default_rng(0))
    start = time.perf_counter()
    leak_arrays = Arrays(entries(open_side(str(leak)).records))
    print(
        f"the saved scan of {LEAK:,} images: read in {time.perf_counter() - start:.1f} s wall",
        flush=True,
    )
    for rows in args.rows or [1_000_000, 10_000_000]:
        run(rows, keep, leak, full, views, leak_arrays, shown)
    if not args.keep:
        shutil.rmtree(keep)


if __name__ == "__main__":
    main()
