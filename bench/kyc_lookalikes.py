"""KYC look-alike benchmark: same template, different customers; is kyctriage fooled?

    python bench/kyc_lookalikes.py --quick          # small set, <= 2 minutes
    python bench/kyc_lookalikes.py                  # the full set (seed 1: the tuning seed)
    python bench/kyc_lookalikes.py --seed 2 --templates 4   # held out: other designs, people
    python bench/kyc_lookalikes.py --plain 100000   # chaining: small plain pictures of one style

The set (kyctriage.demo.lookalikes, drawn with the project's own scene code): document templates
(ID card, residence permit, passport data page, ...: one layout, guilloche and labels each) with
N customers each (portrait, name, numbers, MRZ differ); each customer has a flatbed scan on a
white page and a capture in one vendor booth (same backdrop and light for everyone), every
third also a selfie holding the document; plus natural photos (../shared/corpus/exif-samples,
and the photos `bench/near_duplicates.py --fetch` caches). Every original gets 13 variants
(Telegram, 800 q70, brightened, four one-side crops of 10-25%, a centred crop, a desktop and a
phone screenshot, mirror, a 90 degree turn, a small rotation). Truth: an original and its
variants are one photograph; anything else is a different photograph.

kyctriage scans the originals and variants in-process (the clusters of the scan), then compares
the variants (leak) with the originals of about two thirds of the customers and half the natural
photos (reference). phash <= 10 (pairs, no chaining) is the peers' baseline.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # this checkout's kyctriage, the bench's modules

from near_duplicates import CACHE, CORPUS, CORPUS_SKIP  # noqa: E402

from kyctriage import api  # noqa: E402
from kyctriage.demo import lookalikes  # noqa: E402
from kyctriage.demo.lookalikes import Label, LookalikeSet, write_set  # noqa: E402
from kyctriage.demo.scenes import font  # noqa: E402
from kyctriage.match.compare import ERROR, SKIPPED, UNMATCHED, LeakImage, Side  # noqa: E402
from kyctriage.match.compare import compare as compare_sides  # noqa: E402
from kyctriage.model import STATUS_OK, FileRecord  # noqa: E402
from kyctriage.scanning.looks import Kept, Looks  # noqa: E402

FULL = {"customers": 25, "natural": 20}
# A leak image with any other status names a reference picture (exact, same-pixels, near, or
# whatever the verified engine calls its kinds); an unverified candidate shows in the statuses.
NOT_MATCHED = (UNMATCHED, ERROR, SKIPPED)
INDEXES = (("SQLite index", ()), ("sharded index", ("--sharded",)))  # (name, `index build` options)
QUICK = {"customers": 6, "natural": 8}
UNREACHABLE = "sharded index, sources moved away"


def natural_photos(count: int, seed: int) -> list[tuple[str, bytes]]:
    """`count` natural photos chosen by the seed: corpus JPEGs (one per photograph) and the
    cached photos of near_duplicates.py --fetch when present."""
    pool = [
        p for p in sorted(CORPUS.rglob("*.jpg"))
        if p.name not in CORPUS_SKIP
        and not (p.parent.name == "orientation" and not p.stem.endswith("_1"))
    ]  # fmt: skip
    if CACHE.is_dir():
        pool += sorted(p for p in CACHE.iterdir() if p.suffix in (".jpg", ".png"))
    chosen = random.Random(f"natural:{seed}").sample(pool, min(count, len(pool)))
    return [(p.name, p.read_bytes()) for p in chosen]


# -- measuring ---------------------------------------------------------------------------------


def _key(record: FileRecord) -> str:
    return f"{Path(record.root).name}/{record.path}"


def _phash(record: FileRecord) -> int:
    assert record.hashes is not None
    return int(record.hashes.phash, 16)


@dataclass
class Figures:
    """One method's answers (kyctriage or the baseline), as counts."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    customer_pairs: int = 0  # pairs of different customers of one template linked
    booth_pairs: int = 0  # booth captures of different people linked
    found: dict[str, list[int]] | None = None  # variant family -> [found with original, of]
    right_customer: int = 0
    right_photo: int = 0
    present: int = 0
    absent_unmatched: int = 0
    absent: int = 0
    largest: int = 0
    captures: Counter[str] = field(default_factory=Counter)  # customer pairs linked, by captures
    statuses: Counter[str] = field(default_factory=Counter)  # compare: "present near", ...
    indirect: int = 0  # cluster members that matched another member, not the representative
    members: int = 0
    misses: list[str] = field(default_factory=list)  # each file wrongly answered, and how

    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def _linked_pairs(labels: list[Label], together: np.ndarray, f: Figures) -> None:
    """Customer pairs of one template, and booth captures of different people, linked."""
    customer = np.array([lb.customer or "" for lb in labels])
    template = np.array([lb.template or "" for lb in labels])
    booth = np.array([lb.capture == "booth" for lb in labels])
    different = (customer[:, None] != customer[None, :]) & (customer[:, None] != "")
    same_template = (template[:, None] == template[None, :]) & (template[:, None] != "")
    rows, cols = np.nonzero(together & different & same_template)
    pairs = zip(rows, cols, strict=True)
    linked: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for a, b in pairs:
        kinds = "-".join(sorted((labels[a].capture, labels[b].capture)))
        linked[tuple(sorted((customer[a], customer[b])))].add(kinds)
    for kinds in linked.values():
        f.captures.update(kinds)
    rows, cols = np.nonzero(together & different & booth[:, None] & booth[None, :])
    pairs = zip(rows, cols, strict=True)
    booth_pairs = {tuple(sorted((labels[a].photo, labels[b].photo))) for a, b in pairs}
    f.customer_pairs, f.booth_pairs = len(linked), len(booth_pairs)


def _pair_figures(labels: list[Label], together: np.ndarray, originals: dict[str, int],
                  names: list[str] | None = None) -> Figures:  # fmt: skip
    """Pair figures of one linking; `names` (the files') to list the variants it missed."""
    photo = np.array([lb.photo for lb in labels])
    truth = photo[:, None] == photo[None, :]
    upper = np.triu(np.ones_like(truth), 1)
    f = Figures()
    f.tp = int((together & truth & upper).sum())
    f.fp = int((together & ~truth & upper).sum())
    f.fn = int((~together & truth & upper).sum())
    _linked_pairs(labels, together, f)
    f.found = defaultdict(lambda: [0, 0])
    for i, lb in enumerate(labels):
        if lb.variant != "original" and lb.photo in originals:
            hit = bool(together[i, originals[lb.photo]])
            if not hit and names is not None:
                f.misses.append(f"cluster: {names[i]} ({lb.variant}) not with "
                                f"{names[originals[lb.photo]]}")  # fmt: skip
            for family in (lb.family, f"{lb.capture} {lb.family}"):
                f.found[family][0] += hit
                f.found[family][1] += 1
    return f


def clusters(report_records: tuple[FileRecord, ...], clustering: object, bench: LookalikeSet
             ) -> tuple[Figures, Figures, list[FileRecord]]:  # fmt: skip
    """Pairwise figures of the scan's clusters and of phash <= 10, over the decoded images."""
    records = [r for r in report_records if r.status == STATUS_OK and r.hashes is not None]
    labels = [bench.labels[_key(r)] for r in records]
    index = {_key(r): i for i, r in enumerate(records)}
    cluster_of = np.arange(len(records))
    sizes = []
    indirect = 0
    for c in clustering.clusters:  # type: ignore[attr-defined]
        sizes.append(len(c.members))
        indirect += sum(not getattr(m, "linked", True) for m in c.members[1:])
        for m in c.members:
            cluster_of[index[f"{Path(m.root).name}/{m.path}"]] = len(records) + len(sizes)
    together = cluster_of[:, None] == cluster_of[None, :]
    np.fill_diagonal(together, False)
    originals = {lb.photo: i for i, lb in enumerate(labels) if lb.variant == "original"}
    names = [_key(r) for r in records]
    ours = _pair_figures(labels, together, originals, names)
    ours.largest = max(sizes, default=1)
    ours.indirect, ours.members = indirect, sum(sizes) - len(sizes)
    ph = np.array([_phash(r) for r in records], np.uint64)
    near = np.bitwise_count(ph[:, None] ^ ph[None, :]) <= 10
    np.fill_diagonal(near, False)
    base = _pair_figures(labels, near, originals)
    return ours, base, records


def _score(bench: LookalikeSet, image: LeakImage, f: Figures) -> None:
    """One leak image's answer: the right owner first, or `unmatched` for an absent one."""
    label = bench.labels[f"variants/{image.path}"]
    first = (
        bench.labels[f"originals/{image.matches[0].path}"]
        if image.status not in NOT_MATCHED and image.matches else None
    )  # fmt: skip
    if _tally(bench, label, first, image.status == UNMATCHED, f):
        return
    best = image.matches[0] if image.matches else None
    check = best.verification if best is not None else None
    f.misses.append(
        f"compare: variants/{image.path} ({label.variant}, {bench.owner(label)}) {image.status}"
        + (f", first {best.path} ({bench.owner(bench.labels['originals/' + best.path])})"
           if best is not None else "")
        + (f": {check.reason}" if check is not None else "")
    )  # fmt: skip
    whose = "present" if bench.owner(label) in bench.present else "absent"
    f.statuses[f"{whose}: {image.status}"] += 1


def _tally(bench: LookalikeSet, label: Label, first: Label | None, unmatched: bool,
           f: Figures) -> bool:  # fmt: skip
    """Count one leak image's answer; True when it is the right one (its customer first)."""
    if bench.owner(label) in bench.present:
        right = first is not None and bench.owner(first) == bench.owner(label)
        f.present += 1
        f.right_customer += right
        f.right_photo += first is not None and first.photo == label.photo
        return right
    f.absent += 1
    f.absent_unmatched += unmatched
    return unmatched


def _cpu() -> float:
    """CPU seconds of this process and its finished children (compare's workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def compare(records: list[FileRecord], bench: LookalikeSet, ours: Figures, base: Figures,
            indexed: dict[str, Figures], workers: int,
            seen: Looks) -> tuple[float, float]:  # fmt: skip
    """Leak: every variant; reference: the originals of the present customers and photos, as
    scanned records (with the looks the scan's workers kept: compare of two folders) and as
    a reference index (no pixels; its rows name the files)."""
    leak = [r for r in records if _key(r).startswith("variants/")]
    ref = [r for r in records if _key(r).startswith("originals/")
           and bench.owner(bench.labels[_key(r)]) in bench.present]  # fmt: skip
    leak_side = Side(str(bench.folder / "variants"), records=tuple(leak), looks=seen)
    ref_side = Side(str(bench.folder / "originals"), records=tuple(ref), looks=seen)
    started = _cpu()
    # the global hashes alone: what compare cost before
    compare_sides(
        Side(leak_side.source, leak_side.records), Side(ref_side.source, ref_side.records)
    )
    hashes_only = _cpu() - started
    started = _cpu()
    result = api.compare(leak_side, ref_side, workers=workers)
    elapsed = _cpu() - started
    for image in result.images:
        _score(bench, image, ours)
    ref_hash = np.array([_phash(r) for r in ref], np.uint64)
    for r in leak:
        distance = np.bitwise_count(ref_hash ^ np.uint64(_phash(r)))
        nearest = int(distance.argmin())
        first = bench.labels[_key(ref[nearest])] if distance[nearest] <= 10 else None
        _tally(bench, bench.labels[_key(r)], first, first is None, base)
    # The same reference as indexes, built by the CLI from a folder of links to the originals,
    # in a folder of this run's own beside the set (links need one file system; runs sharing
    # a kept set must not rebuild each other's indexes under their feet).
    work = Path(tempfile.mkdtemp(prefix=f"{bench.folder.name}-refs-", dir=bench.folder.parent))
    try:
        _indexed(bench, ref, leak_side, indexed, workers, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return elapsed, hashes_only


def _indexed(bench: LookalikeSet, ref: list[FileRecord], leak_side: Side,
             indexed: dict[str, Figures], workers: int, work: Path) -> None:  # fmt: skip
    """Compare against the reference as indexes (SQLite, sharded, sharded with its pictures
    moved away), built in `work`."""
    folder = work / "reference"
    folder.mkdir()
    for r in ref:
        os.link(bench.folder / _key(r), folder / r.path)
    for name, options in INDEXES:
        out = work / f"reference-{name.replace(' ', '-')}"
        built = subprocess.run([sys.executable, "-m", "kyctriage", "index", "build", str(folder),
                                "-o", str(out), "--workers", str(workers), *options],
                               cwd=BENCH.parent, capture_output=True, text=True)  # fmt: skip
        if built.returncode == 0:  # (a build without sharded indexes says so: no row)
            indexed[name] = Figures()
            for image in api.compare(leak_side, str(out), workers=workers).images:
                _score(bench, image, indexed[name])
    # The sharded index again with its source pictures moved away: nothing can be verified,
    # so a near candidate is an unverified-candidate, never a near match.
    built = work / "reference-sharded-index"
    if "sharded index" in indexed:
        moved = folder.with_name("reference-moved")
        folder.rename(moved)
        try:
            indexed[UNREACHABLE] = Figures()
            for image in api.compare(leak_side, str(built), workers=workers).images:
                _score(bench, image, indexed[UNREACHABLE])
        finally:
            moved.rename(folder)


# -- the table ---------------------------------------------------------------------------------

SUMMARY = (
    ("one-side crop recall", ("one-side",)),
    ("  of natural photos", ("natural one-side",)),
    ("screenshot-embedding recall", ("screenshot",)),
    ("mirror / 90° turn recall", ("mirror", "turn 90")),
    ("small rotation recall", ("rotate",)),
    ("Telegram / 800 q70 recall", ("telegram", "800 q70")),
    ("brightened recall", ("brightened",)),
    ("centred crop recall", ("centred crop",)),
)


def _found(f: Figures, families: Iterable[str]) -> str:
    assert f.found is not None
    got = [f.found[k] for k in families if k in f.found]
    hit, of = sum(g[0] for g in got), sum(g[1] for g in got)
    return f"{hit / of:.3f} ({hit}/{of})" if of else "-"


def table(ours: Figures, base: Figures, indexed: dict[str, Figures], customer_total: int,
          booth_total: int) -> str:  # fmt: skip
    def pct(a: int, b: int) -> str:
        return f"{a / b:.1%} ({a}/{b})" if b else "-"

    rows = [
        ("cluster precision (pairs)", f"{ours.precision():.3f}", f"{base.precision():.3f}"),
        ("cluster recall (pairs)", f"{ours.recall():.3f}", f"{base.recall():.3f}"),
        ("customer pairs of one template linked",
         f"{ours.customer_pairs} of {customer_total}", f"{base.customer_pairs} of "
         f"{customer_total}"),
        ("booth captures of different people linked",
         f"{ours.booth_pairs} of {booth_total}", f"{base.booth_pairs} of {booth_total}"),
        ("largest cluster (files; one photograph has 14)", str(ours.largest), "-"),
        ("cluster members joined only through another member",
         f"{ours.indirect} of {ours.members}", "-"),
        *((name, _found(ours, fam), _found(base, fam)) for name, fam in SUMMARY),
        ("compare: right customer first", pct(ours.right_customer, ours.present),
         pct(base.right_customer, base.present)),
        ("compare: right photograph first", pct(ours.right_photo, ours.present),
         pct(base.right_photo, base.present)),
        ("compare: absent customers unmatched", pct(ours.absent_unmatched, ours.absent),
         pct(base.absent_unmatched, base.absent)),
    ]  # fmt: skip
    for name, f in indexed.items():
        rows += [
            (f"compare with a {name}: right customer first", pct(f.right_customer, f.present),
             "as above"),
            (f"compare with a {name}: absent customers unmatched",
             pct(f.absent_unmatched, f.absent), "as above"),
        ]  # fmt: skip
    lines = ["| measure | kyctriage | phash <= 10 |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines.append("")
    for name, f in (("compare statuses", ours), *((f"with a {k}", v) for k, v in indexed.items())):
        lines.append(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(f.statuses.items())))
    lines.append("customer pairs linked through captures: " + (", ".join(
        f"{k} {v}" for k, v in ours.captures.most_common()) or "none"))  # fmt: skip
    return "\n".join(lines)


def detail(ours: Figures, base: Figures) -> None:
    """Each variant found with its original, by capture: kyctriage (phash <= 10)."""
    assert ours.found is not None and base.found is not None
    captures = (*lookalikes.CAPTURES, "natural")
    families = sorted({k for k in ours.found if k.split()[0] not in captures})
    print("\nFound with its original, kyctriage (phash <= 10), by what was captured:\n")
    print("| variant | " + " | ".join(captures) + " |")
    print("|---|" + "---|" * len(captures))
    for family in families:
        cells = []
        for capture in captures:
            key = f"{capture} {family}"
            hit, of = ours.found.get(key, [0, 0])
            cells.append(f"{hit}/{of} ({base.found.get(key, [0, 0])[0]})" if of else "-")
        print(f"| {family} | " + " | ".join(cells) + " |")


def _data(f: Figures) -> dict[str, object]:
    data = {name: getattr(f, name) for name in f.__dataclass_fields__}
    data["found"] = dict(f.found or {})
    data["precision"], data["recall"] = f.precision(), f.recall()
    return data


def _keep(bench: LookalikeSet, params: dict[str, int]) -> None:
    truth = {k: asdict(v) for k, v in sorted(bench.labels.items())}
    kept = {"params": params, "present": sorted(bench.present), "files": truth}
    (bench.folder / "truth.json").write_text(json.dumps(kept, indent=1))


def _kept(folder: Path, params: dict[str, int]) -> LookalikeSet | None:
    """The set a previous --keep wrote into `folder` with the same parameters, if any."""
    try:
        kept = json.loads((folder / "truth.json").read_text())
    except (OSError, ValueError):
        return None
    if kept.get("params") != params:
        sys.exit(f"{folder} holds a set of other parameters ({kept.get('params')}): "
                 "name another folder")  # fmt: skip
    labels = {k: Label(**v) for k, v in kept["files"].items()}
    return LookalikeSet(folder, labels, frozenset(kept["present"]))


def run(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else FULL
    n_customers = args.customers or sizes["customers"]
    n_natural = sizes["natural"] if args.natural is None else args.natural
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="kyc-lookalikes-"))
    try:
        t0 = time.perf_counter()
        params = {"seed": args.seed, "templates": args.templates, "customers": n_customers,
                  "natural": n_natural}  # fmt: skip
        bench = _kept(folder, params) if args.keep else None
        if bench is None:
            bench = write_set(folder, args.seed, args.templates, n_customers,
                              natural_photos(n_natural, args.seed), args.workers)  # fmt: skip
            if args.keep:
                _keep(bench, params)
        t1 = time.perf_counter()
        kept = Kept(tempfile.mkdtemp(prefix="kyc-looks-"))  # the looks compare uses
        # further_cuts: the variants are compare's leak side, which `compare` scans with them
        # (open_side(leak=True)); the originals' are made too and never searched
        report = api.scan([folder / "originals", folder / "variants"], workers=args.workers,
                          thumbnails="none", kept=kept, further_cuts=True)  # fmt: skip
        t2 = time.perf_counter()
        assert report.clusters is not None
        ours, base, records = clusters(report.records, report.clusters, bench)
        indexed: dict[str, Figures] = {}
        try:
            compare_s, hashes_s = compare(records, bench, ours, base, indexed, args.workers,
                                          Looks(kept.looks))  # fmt: skip
        finally:
            shutil.rmtree(kept.folder, ignore_errors=True)
        photos = {lb.photo for lb in bench.labels.values()}
        customers = {lb.customer for lb in bench.labels.values() if lb.customer}
        per_template = defaultdict(set)
        booths = {lb.photo for lb in bench.labels.values() if lb.capture == "booth"}
        for lb in bench.labels.values():
            if lb.customer:
                per_template[lb.template].add(lb.customer)
        customer_total = sum(math.comb(len(v), 2) for v in per_template.values())
        print(
            f"seed {args.seed}, {args.templates} templates, {len(customers)} customers, "
            f"{len(photos)} photographs, {len(bench.labels)} files "
            f"({len(records)} decoded); built {t1 - t0:.0f} s, scanned {t2 - t1:.0f} s "
            f"(clusters included), compared {compare_s:.1f} s CPU (the hashes alone "
            f"{hashes_s:.1f} s); workers {args.workers}; "
            f"crowded buckets skipped {report.clusters.crowded_buckets:,}\n"
        )
        print(table(ours, base, indexed, customer_total, math.comb(len(booths), 2)))
        if args.detail:
            detail(ours, base)
            print("\nWrong answers (the scan's clusters, then compare):")
            print("\n".join(sorted(ours.misses)) or "none")
        if args.json:
            figures = {"params": params, "files": len(bench.labels), "scan_s": t2 - t1,
                       "customer_pairs": customer_total, "booth_pairs": math.comb(len(booths), 2),
                       "kyctriage": _data(ours), "phash<=10": _data(base),
                       **{f"with a {k}": _data(v) for k, v in indexed.items()}}  # fmt: skip
            Path(args.json).write_text(json.dumps(figures, indent=1, sort_keys=True))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


# -- many small plain pictures -----------------------------------------------------------------

PLAIN_COLOURS = ((236, 230, 214), (214, 228, 236), (226, 236, 214), (236, 214, 222))


def _plain(args: tuple[Path, int, int]) -> None:
    folder, start, stop = args
    for n in range(start, stop):
        picture = Image.new("RGB", (96, 96), PLAIN_COLOURS[n % len(PLAIN_COLOURS)])
        ImageDraw.Draw(picture).text((48, 48), str(n), font=font(22), fill=(40, 40, 48),
                                     anchor="mm")  # fmt: skip
        sub = folder / f"{n // 1000:03d}"
        sub.mkdir(exist_ok=True)
        picture.save(sub / f"{n:06d}.png", compress_level=1)


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def plain(n: int, workers: int) -> None:
    """n small plain pictures (a flat colour and its own number each): all different
    photographs, so any cluster is a false one; a cluster of many is chaining."""
    folder = Path(tempfile.mkdtemp(prefix="kyc-plain-"))
    try:
        t0 = time.perf_counter()
        step = 2000
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(_plain, [(folder, a, min(n, a + step)) for a in range(0, n, step)])
        print(f"{n:,} plain pictures written in {time.perf_counter() - t0:.0f} s", flush=True)
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__)), "--plain-child", str(folder),
             "--workers", str(workers)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        peak = 0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _tree_rss(child.pid))
                stop.wait(0.2)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out, _ = child.communicate()
        stop.set()
        sampler.join()
        got = json.loads(out.strip().splitlines()[-1])
        print("| pictures | scan | clustering | peak RSS (tree) | clusters | largest | "
              "clustered files |\n|---|---|---|---|---|---|---|")  # fmt: skip
        print(
            f"| {n:,} | {got['scan_s']:.0f} s | {got['cluster_s']:.1f} s | "
            f"{peak / 2**20:,.0f} MiB | {got['clusters']:,} | {got['largest']:,} | "
            f"{got['clustered']:,} |"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def plain_child(folder: str, workers: int) -> None:
    """Scan `folder` in this process; time the clustering step inside the scan."""
    from kyctriage.scanning import pipeline

    spent = [0.0]
    inner = pipeline.cluster

    def timed(*a: object, **k: object) -> object:
        started = time.perf_counter()
        try:
            return inner(*a, **k)  # type: ignore[arg-type]
        finally:
            spent[0] += time.perf_counter() - started

    pipeline.cluster = timed  # type: ignore[assignment]
    t0 = time.perf_counter()
    report = api.scan(folder, workers=workers, thumbnails="none")
    elapsed = time.perf_counter() - t0
    assert report.clusters is not None
    sizes = [len(c.members) for c in report.clusters.clusters]
    print(json.dumps({"scan_s": elapsed, "cluster_s": spent[0], "clusters": len(sizes),
                      "largest": max(sizes, default=0), "clustered": sum(sizes)}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small set (<= 2 minutes)")
    parser.add_argument("--seed", type=int, default=1, help="1 tunes; hold out another")
    parser.add_argument("--templates", type=int, default=3, help="document designs")
    parser.add_argument("--customers", type=int, help="customers per template")
    parser.add_argument("--natural", type=int, help="natural photos")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--detail", action="store_true",
                        help="recall of every variant, and every wrong answer")  # fmt: skip
    parser.add_argument("--json", metavar="FILE", help="write every figure here too")
    parser.add_argument("--keep", metavar="DIR", help="write the set and truth.json here, "
                        "or reuse the set a previous run kept there")  # fmt: skip
    parser.add_argument("--plain", type=int, metavar="N", help="N small plain pictures")
    parser.add_argument("--plain-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_child:
        plain_child(args.plain_child, args.workers)
    elif args.plain:
        plain(args.plain, args.workers)
    else:
        run(args)


if __name__ == "__main__":
    main()
