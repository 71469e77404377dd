"""Pairwise verification bench: match/verify.py alone, on true copies and hard look-alikes.

    python bench/verify_pairs.py --quick                    # 6 customers a template, ~1 min
    python bench/verify_pairs.py                            # seed 1 (tuning), 25 customers
    python bench/verify_pairs.py --seed 2 --templates 4     # held out: never tune on it
    python bench/verify_pairs.py --keep DIR                 # write the set to DIR or reuse it

The set is bench/kyc_lookalikes.py's (kyctriage.demo.lookalikes: document templates, customers'
flatbed scans, booth captures and selfies, natural photos, 13 re-posted variants of each). No
candidate generation and no scan: every file is seen as the scan's worker sees it for
verification (scanning/looks.py: the working copy, a JPEG drafted to >= VERIFY_PREVIEW, and
closer views of the pictures a frame shows), and verify() runs on

- true pairs: each original against each of its variants (the figure is the share verified, per
  variant family); both orders, since a cluster's representative may be either;
- hard negatives: every pair of different customers of one template and one capture (scan-scan,
  booth-booth, selfie-selfie), original against original and original against one variant of
  the other (the variant cycles through the 13), original against every screenshot of the
  other (both ways), and each customer's captures against each other (one document, other
  photographs);
- natural photos against each other.

Reported: true-pair recall per family, false links per negative kind (must be zero), the
weakest positive and the strongest negative on verify's decision statistic, and CPU per check.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # this checkout's kyctriage, the bench's modules

from kyc_lookalikes import FULL, QUICK, _keep, _kept, natural_photos  # noqa: E402

from kyctriage.demo.lookalikes import Label, LookalikeSet, write_set  # noqa: E402
from kyctriage.match import verify  # noqa: E402
from kyctriage.model import Verification  # noqa: E402
from kyctriage.probes import decode  # noqa: E402
from kyctriage.scanning import looks  # noqa: E402
from kyctriage.scanning.options import (  # noqa: E402
    DEFAULT_MAX_PIXELS,
    DEFAULT_PREVIEW_SIZE,
    ScanOptions,
)


@dataclass(frozen=True)
class Pair:
    kind: str  # "true", or the negative's kind: "scan-scan", "booth vs variant", ...
    family: str  # the variant family (true pairs and negatives against a variant), else ""
    a: str  # file names in the set
    b: str


@dataclass(frozen=True)
class Checked:
    pair: Pair
    found: Verification
    cpu: float  # seconds of CPU for verify() alone


def pairs(bench: LookalikeSet) -> list[Pair]:
    """Every pair the bench checks, in a fixed order."""
    by_photo: dict[str, list[tuple[str, Label]]] = defaultdict(list)
    for name, label in sorted(bench.labels.items()):
        by_photo[label.photo].append((name, label))
    original = {p: next(n for n, lb in files if lb.variant == "original")
                for p, files in by_photo.items()}  # fmt: skip
    out: list[Pair] = []
    for photo, files in by_photo.items():
        for name, label in files:
            if label.variant != "original":
                out.append(Pair("true", label.family, original[photo], name))
                out.append(Pair("true", label.family, name, original[photo]))
    groups: dict[tuple[str | None, str], list[str]] = defaultdict(list)
    customers: dict[str, list[str]] = defaultdict(list)
    for photo, files in by_photo.items():
        label = files[0][1]
        groups[(label.template, label.capture)].append(photo)
        if label.customer:
            customers[label.customer].append(photo)
    turn = 0
    for (_, capture), photos in sorted(groups.items(), key=lambda kv: str(kv[0])):
        for p, q in itertools.combinations(sorted(photos), 2):
            out.append(Pair(f"{capture}-{capture}", "", original[p], original[q]))
            if capture == "natural":
                continue
            variants = [(n, lb) for n, lb in by_photo[q] if lb.variant != "original"]
            name, label = variants[turn % len(variants)]
            turn += 1
            out.append(Pair(f"{capture} vs variant", label.family, original[p], name))
            # a document shown small in a screenshot is where look-alikes are hardest to tell
            # apart (compare's wrong `near` answers were all such): every one, both ways round
            for one, other in ((p, q), (q, p)):
                for name, label in by_photo[other]:
                    if label.family == "screenshot":
                        out.append(Pair(f"{capture} vs screenshot", label.family,
                                        original[one], name))  # fmt: skip
    for photos in customers.values():
        for p, q in itertools.combinations(sorted(photos), 2):
            out.append(Pair("one customer, other capture", "", original[p], original[q]))
    return out


_features: dict[str, verify.Features] = {}
_folder = Path()


def look(name: str) -> verify.Features:
    """As a scan's worker sees the file (looks.look_of: the working copy, and closer views
    of the pictures a frame shows), cached per process."""
    if name not in _features:
        data = (_folder / name).read_bytes()
        with tempfile.TemporaryDirectory() as spill:
            kept = looks.look_of(data, ScanOptions(roots=(str(_folder),)), spill)
            seen = looks.load(kept) if kept is not None else None
        if seen is None:  # too plain to keep: as verification would judge it
            shown = decode.decode(data, decode.sniff(data), DEFAULT_MAX_PIXELS,
                                  DEFAULT_PREVIEW_SIZE, working=True)  # fmt: skip
            assert shown.working is not None
            seen = verify.features(shown.working)
        _features[name] = seen
    return _features[name]


def check(chunk: list[Pair]) -> list[Checked]:
    out = []
    for pair in chunk:
        a, b = look(pair.a), look(pair.b)
        t = time.process_time()
        found = verify.verify(a, b)
        out.append(Checked(pair, found, time.process_time() - t))
    if len(_features) > 400:
        _features.clear()
    return out


def run_checks(bench: LookalikeSet, todo: list[Pair], workers: int) -> list[Checked]:
    global _folder
    _folder = bench.folder
    # chunks by first file keep each worker's features cache warm
    by_a: dict[str, list[Pair]] = defaultdict(list)
    for pair in todo:
        by_a[pair.a].append(pair)
    chunks = list(by_a.values())
    if workers <= 1:
        return [c for chunk in chunks for c in check(chunk)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return [c for done in pool.imap(check, chunks, chunksize=4) for c in done]


def score(v: Verification) -> float:
    """verify's decision statistic (higher: more alike): the agreement of the weakest region;
    -1 without a content check."""
    if not v.blocks:
        return -1.0
    return v.weakest_region


def table(checked: list[Checked]) -> str:
    rows = ["| pairs | kind | verified | weakest / strongest score | reasons not verified |",
            "|---|---|---|---|---|"]  # fmt: skip
    groups: dict[tuple[str, str], list[Checked]] = defaultdict(list)
    for c in checked:
        key = ("true", c.pair.family) if c.pair.kind == "true" else ("negative", c.pair.kind)
        groups[key].append(c)
    for (side, name), got in sorted(groups.items()):
        ok = sum(c.found.verified for c in got)
        scores = [score(c.found) for c in got]
        edge = min(scores) if side == "true" else max(scores)
        reasons: dict[str, int] = defaultdict(int)
        for c in got:
            if not c.found.verified:
                reasons[c.found.reason] += 1
        why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
        shown = f"**{ok}**" if side == "negative" and ok else str(ok)
        rows.append(f"| {side} | {name} | {shown} of {len(got)} | {edge:.3f} | {why} |")
    return "\n".join(rows)


def colour_margin(checked: list[Checked]) -> str:
    """The colour check's margin (reduced comparisons that agreed in detail): the largest
    colour difference of a true pair beside the smallest of a negative."""
    compared = [c for c in checked if c.found.colour_difference is not None]
    true = [c.found.colour_difference for c in compared if c.pair.kind == "true"]
    other = [c.found.colour_difference for c in compared if c.pair.kind != "true"]

    def edge(values: list[float | None], pick: Callable[[list[float]], float]) -> str:
        numbers = [v for v in values if v is not None]
        return f"{pick(numbers):.1f}" if numbers else "-"

    return (f"colour check (limit {verify.MAX_COLOUR_DIFFERENCE:g}): {len(true)} true pairs "
            f"compared, largest difference {edge(true, max)}; {len(other)} negatives compared, "
            f"smallest {edge(other, min)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="6 customers a template")
    parser.add_argument("--seed", type=int, default=1, help="1 tunes; hold out another")
    parser.add_argument("--templates", type=int, default=3, help="document designs")
    parser.add_argument("--customers", type=int, help="customers per template")
    parser.add_argument("--natural", type=int, help="natural photos")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", metavar="DIR", help="write the set here, or reuse it")
    parser.add_argument("--failures", type=int, default=10, help="list this many of each side")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    params = {"seed": args.seed, "templates": args.templates,
              "customers": args.customers or sizes["customers"],
              "natural": sizes["natural"] if args.natural is None else args.natural}  # fmt: skip
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="verify-pairs-"))
    t0 = time.perf_counter()
    bench = _kept(folder, params) if args.keep else None
    if bench is None:
        bench = write_set(folder, args.seed, args.templates, params["customers"],
                          natural_photos(params["natural"], args.seed), args.workers)  # fmt: skip
        if args.keep:
            _keep(bench, params)
    t1 = time.perf_counter()
    todo = pairs(bench)
    checked = run_checks(bench, todo, args.workers)
    t2 = time.perf_counter()
    cpu = [c.cpu * 1000 for c in checked]
    print(f"seed {args.seed}, {args.templates} templates, {params['customers']} customers, "
          f"{params['natural']} natural; {len(bench.labels)} files; built {t1 - t0:.0f} s, "
          f"{len(checked)} checks {t2 - t1:.0f} s wall; verify() CPU median "
          f"{statistics.median(cpu):.1f} ms, p90 {sorted(cpu)[len(cpu) * 9 // 10]:.1f} ms, "
          f"max {max(cpu):.0f} ms\n")  # fmt: skip
    print(table(checked))
    print(f"\n{colour_margin(checked)}")
    missed = sorted((c for c in checked if c.pair.kind == "true" and not c.found.verified),
                    key=lambda c: score(c.found))  # fmt: skip
    linked = sorted((c for c in checked if c.pair.kind != "true" and c.found.verified),
                    key=lambda c: -score(c.found))  # fmt: skip
    for title, got in (("true pairs not verified", missed), ("negatives verified", linked)):
        if got:
            print(f"\n{title} ({len(got)}):")
        for c in got[: args.failures]:
            print(f"  {c.pair.a} {c.pair.b} {c.pair.kind} {c.pair.family} {c.found}")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
