"""The sharded reference index: hash arrays (.npy, memory-mapped), ids in Parquet, a manifest.

An index is a directory. Each shard holds its rows' packed 64-bit hashes (phash, dhash, whash;
the view hashes apart with their row numbers), the band orders the search walks, the first
bytes of the SHA-256 and data hash as integers, and a Parquet table of the record ids, the
facts that name a transformation and where the picture lives. manifest.json lists the shards
with row counts and SHA-256 of every file: a shard is written under a temporary name, renamed,
and only then named in the manifest (itself replaced atomically), so a half-built index or a
half-added shard is never read as complete. `add` appends a shard and never rewrites one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kyctriage import __version__
from kyctriage.errors import KyctriageError, one_line
from kyctriage.match import pseudonyms, search
from kyctriage.match.bands import BANDS, band_orders, near
from kyctriage.match.entries import Arrays, Entry, checked_entry
from kyctriage.match.pseudonyms import Key
from kyctriage.probes.hashes import CUT_VIEWS, SHOWN
from kyctriage.untrusted import BadInput, loads_json, read_bounded

FORMAT = "kyctriage-shards"
INDEX_VERSION = 2
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_SHARD_NAME = re.compile(r"shard-[0-9]{5,10}")
ROW_GROUP = 65536  # Parquet row group: matched rows are read a group at a time
MAX_GROUP_BYTES = 1 << 30  # a row group of ids claiming more is refused, not decoded
# (file suffix, what it holds) of one shard, in the order they are written and checked
PARTS = ("full.npy", "full-order.npy", "views.npy", "view-rows.npy", "views-order.npy",
         "keys.npy", "ids.parquet")  # fmt: skip
COLUMNS = (
    "root", "path", "sha256", "data_sha256", "phash", "dhash", "whash", "colorhash", "views",
    "width", "height", "format", "quality", "has_exif", "size", "source",
)  # fmt: skip


def is_index(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def key64(hex_digest: str | None) -> int:
    """The first 8 bytes of a hex digest as an integer (0 for none): exact matches' lookup key;
    a collision only adds a candidate that compare's full comparison drops."""
    return int(hex_digest[:16], 16) if hex_digest else 0


@dataclass(frozen=True)
class Shard:
    name: str
    rows: int
    views: int
    files: dict[str, str]  # file name -> SHA-256
    # rows with no one-side cut (hashes.CUT_VIEWS): indexed by a kyctriage before them, so a
    # crop or a screenshot cannot be found among them (compare.old_index)
    uncut: int = 0

    def path(self, root: Path, part: str) -> Path:
        return root / f"{self.name}.{part}"


def read_manifest(root: str | Path) -> tuple[dict[str, Any], list[Shard]]:
    path = Path(root) / MANIFEST
    try:
        data = loads_json(read_bounded(path, MAX_MANIFEST_BYTES))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise KyctriageError(f"{root} is not a kyctriage sharded index")
        if data.get("index_version") != INDEX_VERSION:
            raise KyctriageError(
                f"{root} has index version {data.get('index_version')}; "
                f"this kyctriage reads {INDEX_VERSION}"
            )
        # a manifest from before "uncut": each shard as old as the manifest's view list says
        cut = bool(set(data.get("views", ())) & set(CUT_VIEWS))
        shards = [Shard(s["name"], int(s["rows"]), int(s["views"]), dict(s["files"]),
                        int(s.get("uncut", 0 if cut else s["rows"])))
                  for s in data["shards"]]  # fmt: skip
        for shard in shards:  # a name is a file name inside the index: never ../ or a path
            if not isinstance(shard.name, str) or not _SHARD_NAME.fullmatch(shard.name):
                raise BadInput(f"shard name {str(shard.name)[:40]!r}")
            if shard.rows < 0 or shard.views < 0:
                raise BadInput(f"shard {shard.name} has a negative row count")
            if not 0 <= shard.uncut <= shard.rows:
                raise BadInput(f"shard {shard.name}: {shard.uncut} rows without cuts")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # BadInput is a ValueError
        raise KyctriageError(f"cannot read the manifest of index {root}: {exc}") from None
    return data, shards


def _write_manifest(root: Path, shards: Sequence[Shard], pseudonymised: Any = None) -> None:
    data: dict[str, Any] = {
        "format": FORMAT,
        "index_version": INDEX_VERSION,
        "tool_version": __version__,
        "thresholds": {"max_sum": search.MAX_SUM, "max_one": search.MAX_ONE},
        # the hashes a row keeps besides its own, searched alike (entries.Arrays); without
        # the cuts while any row has none (an index made before them, added to since)
        "views": [*search.VIEWS, *(() if any(s.uncut for s in shards) else (SHOWN, *CUT_VIEWS))],
        "rows": sum(s.rows for s in shards),
        "shards": [
            {"name": s.name, "rows": s.rows, "views": s.views, "files": s.files, "uncut": s.uncut}
            for s in shards
        ],
    }
    if pseudonymised is not None:  # the ids are HMACs under the key with this fingerprint
        data["pseudonyms"] = pseudonymised
    tmp = root / f".{MANIFEST}.tmp-{os.getpid()}"
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, root / MANIFEST)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic(path: Path, write: Callable[[Path], None]) -> str:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _sha256(path)


@dataclass(frozen=True)
class Rows:
    """One shard's content as arrays: what `write_shard` stores."""

    full: NDArray[np.uint64]  # (n, 3)
    views: NDArray[np.uint64]  # (v, 3)
    view_rows: NDArray[np.uint32]  # (v,) the shard row of each view hash
    keys: NDArray[np.uint64]  # (n, 2): key64 of sha256 and of the data hash
    table: Any  # pyarrow.Table with COLUMNS, n rows
    uncut: int = 0  # rows with no one-side cut (Shard.uncut)


def rows_of(items: Sequence[Entry], source: Callable[[Entry], str] | None = None) -> Rows:
    """Entries as shard rows, in canonical order (sha256, root, path)."""
    import pyarrow as pa

    arrays = Arrays(items)
    rows, kinds = np.nonzero(arrays.has_view)
    es = arrays.entries
    table = pa.table({
        "root": [e.root for e in es], "path": [e.path for e in es],
        "sha256": [e.sha256 for e in es], "data_sha256": [e.data_sha256 for e in es],
        "phash": [e.phash for e in es], "dhash": [e.dhash for e in es],
        "whash": [e.whash for e in es], "colorhash": [e.colorhash for e in es],
        "views": [json.dumps([[v.view, v.phash, v.dhash, v.whash] for v in e.views]) for e in es],
        "width": pa.array([e.width for e in es], pa.int32()),
        "height": pa.array([e.height for e in es], pa.int32()),
        "format": pa.array([e.format for e in es], pa.string()),
        "quality": pa.array([e.quality for e in es], pa.int16()),
        "has_exif": pa.array([e.has_exif for e in es], pa.bool_()),
        "size": pa.array([e.size for e in es], pa.int64()),
        "source": [source(e) if source else e.source or os.path.join(e.root, e.path) for e in es],
    })  # fmt: skip
    keys = np.array([(key64(e.sha256), key64(e.data_sha256)) for e in es], np.uint64)
    # a row's views, the pictures it shows (hashes.SHOWN) and its cuts from each edge
    # (hashes.CUT_VIEWS): searched alike, each naming its row
    cut_rows, edges = np.nonzero(arrays.has_cut)
    views = np.concatenate([arrays.views[rows, kinds], arrays.shown, arrays.cut[cut_rows, edges]])
    view_rows = np.concatenate([rows, arrays.shown_of, cut_rows]).astype(np.uint32)
    uncut = int(np.count_nonzero(~arrays.has_cut.any(axis=1)))
    return Rows(arrays.full, views, view_rows, keys.reshape(len(es), 2), table, uncut)


def write_shard(root: str | Path, rows: Rows, pseudonymised: Any = None) -> Shard:
    """Write one shard (every file to a temporary name, then renamed) and append it to the
    manifest; the manifest is created with the first shard (and `pseudonymised`, the manifest's
    record of a pseudonymised index; an existing manifest keeps its own)."""
    import pyarrow.parquet as pq

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    shards: list[Shard] = []
    if is_index(root):
        data, shards = read_manifest(root)
        pseudonymised = data.get("pseudonyms")
    taken = {s.name for s in shards}
    name = next(f"shard-{i:05d}" for i in range(len(shards), 1 << 30)
                if f"shard-{i:05d}" not in taken)  # fmt: skip
    n, v = len(rows.full), len(rows.views)
    if rows.table.num_rows != n or len(rows.keys) != n or len(rows.view_rows) != v:
        raise KyctriageError(f"shard {name}: row counts of its parts differ")
    content: dict[str, Callable[[Path], None]] = {
        "full.npy": lambda p: _save(p, rows.full),
        "full-order.npy": lambda p: _save(p, band_orders(rows.full)),
        "views.npy": lambda p: _save(p, rows.views),
        "view-rows.npy": lambda p: _save(p, rows.view_rows),
        "views-order.npy": lambda p: _save(p, band_orders(rows.views)),
        "keys.npy": lambda p: _save(p, rows.keys),
        "ids.parquet": lambda p: pq.write_table(rows.table, p, row_group_size=ROW_GROUP),
    }
    files = {f"{name}.{part}": _atomic(root / f"{name}.{part}", content[part]) for part in PARTS}
    shard = Shard(name, n, v, files, rows.uncut)
    _write_manifest(root, [*shards, shard], pseudonymised)
    return shard


def _save(path: Path, array: NDArray[Any]) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(array))


def verify(root: str | Path) -> list[str]:
    """Every shard checked against the manifest (SHA-256 of each file, row counts): one line
    per problem, naming the shard; empty when the index is whole."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(root)
    problems = []
    for shard in read_manifest(root)[1]:
        problems.extend(damage(root, shard))
        if not any(p.startswith(f"{shard.name}:") for p in problems):
            try:
                opened = open_shard(root, shard)
                ids = pq.ParquetFile(shard.path(root, "ids.parquet"))
                check_schema(shard, ids.schema_arrow)
                counted = ids.metadata.num_rows
            except KyctriageError as exc:
                problems.append(str(exc))
                continue
            except (OSError, ValueError, pa.ArrowException) as exc:
                problems.append(f"{shard.name}: cannot read its ids: {one_line(exc)}")
                continue
            if counted != shard.rows:
                problems.append(f"{shard.name}: {counted} ids, the manifest says {shard.rows}")
            del opened
    return problems


def damage(root: Path, shard: Shard) -> list[str]:
    """The shard's files that are missing or differ from the manifest's SHA-256 (hashed by
    THREADS threads: hashlib releases the GIL)."""

    def problem(part: str) -> str | None:
        path = shard.path(root, part)
        try:
            whole = _sha256(path) == shard.files.get(path.name)
        except FileNotFoundError:
            return f"{shard.name}: {path.name} is missing"
        except OSError as exc:
            return f"{shard.name}: {path.name} cannot be read: {exc.strerror}"
        return None if whole else f"{shard.name}: {path.name} is damaged (SHA-256 differs)"

    with ThreadPoolExecutor(THREADS) as pool:
        return [p for p in pool.map(problem, PARTS) if p is not None]


@dataclass(frozen=True)
class Opened:
    """One shard's arrays, memory-mapped (pages are read when searched)."""

    shard: Shard
    full: NDArray[np.uint64]
    full_order: NDArray[np.uint32]
    views: NDArray[np.uint64]
    view_rows: NDArray[np.uint32]
    views_order: NDArray[np.uint32]
    keys: NDArray[np.uint64]


def open_shard(root: str | Path, shard: Shard) -> Opened:
    """The shard's arrays, their shapes and types checked against the manifest and the row
    numbers they hold against the rows (a lying manifest, a cut file or arrays that do not
    agree is an error naming the shard, never a short search or an index out of range)."""
    root = Path(root)
    u64, u32 = np.dtype("<u8"), np.dtype("<u4")
    expected = {
        "full.npy": ((shard.rows, 3), u64), "full-order.npy": ((len(BANDS), shard.rows), u32),
        "views.npy": ((shard.views, 3), u64), "view-rows.npy": ((shard.views,), u32),
        "views-order.npy": ((len(BANDS), shard.views), u32), "keys.npy": ((shard.rows, 2), u64),
    }  # fmt: skip
    loaded = {}
    for part, (shape, dtype) in expected.items():
        path = shard.path(root, part)
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise KyctriageError(f"{shard.name}: cannot read {path.name}: {exc}") from None
        if array.shape != shape or array.dtype != dtype:
            raise KyctriageError(
                f"{shard.name}: {path.name} has shape {array.shape} of {array.dtype}, the "
                f"manifest says {shape} of {dtype} (run `kyctriage index verify`)"
            )
        loaded[part] = array
    for part, bound in (("full-order.npy", shard.rows), ("views-order.npy", shard.views),
                        ("view-rows.npy", shard.rows)):  # fmt: skip
        if loaded[part].size and int(loaded[part].max()) >= bound:
            raise KyctriageError(f"{shard.name}: {part} names a row past the shard's {bound}")
    return Opened(shard, *(loaded[part] for part in expected))


def entries_at(root: str | Path, shard: Shard, rows: NDArray[np.intp]) -> list[Entry]:
    """The entries of some rows of a shard, reading only their Parquet row groups (found from
    the file's own row-group sizes, which must add up to the manifest's rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not len(rows):
        return []
    rows = np.unique(rows)
    try:
        ids = pq.ParquetFile(shard.path(Path(root), "ids.parquet"))
        check_schema(shard, ids.schema_arrow)
        meta = ids.metadata
        groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
        starts = np.cumsum([0] + [g.num_rows for g in groups])
        if starts[-1] != shard.rows:
            raise KyctriageError(f"{shard.name}: {starts[-1]} ids, the manifest says {shard.rows}")
        wanted = np.unique(np.searchsorted(starts, rows, side="right") - 1)
        big = [int(i) for i in wanted if groups[i].total_byte_size > MAX_GROUP_BYTES]
        if big:
            raise KyctriageError(
                f"{shard.name}: row group {big[0]} of its ids claims "
                f"{groups[big[0]].total_byte_size} bytes, more than {MAX_GROUP_BYTES}"
            )
        table = ids.read_row_groups(
            wanted.tolist(), columns=[c for c in COLUMNS if c in ids.schema_arrow.names]
        )
        # row numbers within the groups read
        sizes = starts[wanted + 1] - starts[wanted]
        first = np.cumsum(sizes) - sizes  # where each group read starts in the table
        group_of = np.searchsorted(starts, rows, side="right") - 1
        local = first[np.searchsorted(wanted, group_of)] + rows - starts[group_of]
        values = table.take(pa.array(local)).to_pylist()
        del table
        pa.default_memory_pool().release_unused()  # the row groups read, not kept per shard
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise KyctriageError(f"{shard.name}: cannot read its ids: {one_line(exc)}") from None
    out = []
    for value in values:
        try:
            out.append(checked_entry(value))
        except BadInput as exc:
            raise KyctriageError(f"{shard.name}: a row of its ids: {exc}") from None
    return out


def check_schema(shard: Shard, schema: Any) -> None:
    """The ids' columns are those this version writes, of their types (a column may be all
    empty: null); a missing or retyped column is one error, not a KeyError mid-search."""
    import pyarrow as pa

    text: tuple[Any, ...] = (pa.string(), pa.large_string(), pa.null())
    kinds = dict.fromkeys(COLUMNS, text)
    kinds.update({
        "width": (pa.int32(), pa.null()), "height": (pa.int32(), pa.null()),
        "quality": (pa.int16(), pa.null()), "has_exif": (pa.bool_(), pa.null()),
        "size": (pa.int64(), pa.null()),
    })  # fmt: skip
    for name in COLUMNS:
        if name not in schema.names:
            if name == "source":  # where the picture lives: without it, it cannot be re-read
                continue
            raise KyctriageError(f"{shard.name}: its ids have no column {name}")
        found = schema.field(name).type
        if found not in kinds[name]:
            raise KyctriageError(f"{shard.name}: its ids' column {name} holds {found}")


@dataclass(frozen=True)
class Found:
    """What a search of the index found for a leak: the reference entries that match some
    leak image (exact, same pixels or near, upright or in a view), out of `rows` in all."""

    entries: tuple[Entry, ...]
    rows: int
    # per leak row (Arrays order): near rows found but not loaded, beyond its `most` closest
    # in a shard (none where empty)
    beyond: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))


def find(
    root: str | Path, leak: Arrays, most: int | None = None, names: Collection[str] | None = None
) -> Found:
    """Search every shard, one after another (memory: one shard's pages and its candidates),
    for the rows that match a leak image by the rule or the loose rule (search.LOOSE: compare
    proposes those only where it can check them): its sha256 or data hash, its upright
    hashes or one of its views against a row's upright hashes, its upright hashes (and,
    where looked at, cut further or turned back) against a row's view hashes. Compare then
    judges those rows as it judges any reference. With `most`, of a leak image's near rows
    in a shard only the `most` closest are loaded (the rest counted in `beyond`: an archive
    of millions of one template's documents can hold thousands of a scan's look-alikes;
    compare asks for what it checks and shows); identical ones always. With names, only
    those shards (a cluster searches each shard in its own task)."""
    shards = [s for s in read_manifest(root)[1] if names is None or s.name in names]
    n = len(leak.entries)
    rows, kinds = np.nonzero(leak.has_view)
    queries = np.concatenate([leak.full, leak.views[rows, kinds], leak.shown])
    query_of = np.concatenate([np.arange(n), rows, leak.shown_of])  # the leak row of each
    view_queries = np.concatenate([leak.full, leak.shown, leak.more, leak.turned])
    view_query_of = np.concatenate([np.arange(n), leak.shown_of, leak.more_of, leak.turned_of])
    beyond = np.zeros(n, np.int64)
    sha = np.unique(np.array([key64(e.sha256) for e in leak.entries], np.uint64))
    data = np.unique(np.array([key64(e.data_sha256) for e in leak.entries], np.uint64))
    data = data[data != 0]  # 0 stands for a row without a data hash
    out: list[Entry] = []
    for shard in shards:
        # Every file's SHA-256 before a row is trusted (0.2 s CPU per million rows): a damaged
        # or swapped file stops the search instead of giving a plausible short answer.
        problems = damage(Path(root), shard)
        if problems:
            raise KyctriageError(f"{problems[0]} (run `kyctriage index verify {root}`)")
        opened = open_shard(root, shard)
        hit = [_among(opened.keys[:, 0], sha), _among(opened.keys[:, 1], data)]
        q, row, dist = near(queries, opened.full, opened.full_order, THREADS, loose=True)
        vq, view, view_dist = near(
            view_queries, opened.views, opened.views_order, THREADS, loose=True
        )
        kept, over = closest(
            np.concatenate([query_of[q], view_query_of[vq]]),
            np.concatenate([row, opened.view_rows[view].astype(np.intp)]),
            np.concatenate([dist.sum(axis=1), view_dist.sum(axis=1)]), n,
            shard.rows if most is None else most,
        )  # fmt: skip
        beyond += over
        out.extend(entries_at(root, shard, np.concatenate([*hit, kept])))
        # Unmapped before the next shard is mapped: memory holds one shard's pages, not two.
        del opened
    return Found(tuple(out), sum(s.rows for s in shards), beyond)


def closest(
    owner: NDArray[np.intp], row: NDArray[np.intp], dist: NDArray[np.int64], n: int, most: int
) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """Of the (leak row `owner`, shard row `row`, summed distances `dist`) pairs, the rows
    among each leak row's `most` closest distinct rows (ties by row), and per leak row (n) how
    many distinct rows were left beyond them."""
    order = np.lexsort((row, dist, owner))  # by leak row, then distance, then row
    owner, row = owner[order], row[order]
    # a row one leak image met several ways (upright, a view, a shown picture): its closest
    pair = owner.astype(np.int64) * (int(row.max(initial=0)) + 1) + row
    first = np.sort(np.unique(pair, return_index=True)[1])
    owner, row = owner[first], row[first]
    rank = np.arange(len(owner)) - np.searchsorted(owner, np.arange(n))[owner]
    counts = np.bincount(owner, minlength=n)
    return row[rank < most], np.maximum(counts - most, 0).astype(np.int64)


def _among(values: NDArray[np.uint64], wanted: NDArray[np.uint64]) -> NDArray[np.intp]:
    """The positions of values found in `wanted` (sorted): np.isin without sorting a
    shard's million keys (0.16 -> 0.02 s a shard)."""
    if not len(wanted):
        return np.empty(0, np.intp)
    at = np.minimum(np.searchsorted(wanted, values), len(wanted) - 1)
    return np.nonzero(wanted[at] == values)[0]


SHARD_ROWS = 1_000_000
THREADS = min(os.cpu_count() or 1, 4)  # each holds one band's candidates (CHUNK) at a time


def append(
    root: str | Path, items: Sequence[Entry], shard_rows: int = SHARD_ROWS, key: Key | None = None
) -> int:
    """Append the entries as new shards (of at most shard_rows); the old shards stay as they
    are. With a key the ids are pseudonymised (the index must be, under the same key; a new
    one is). Returns how many rows were written."""
    recorded = read_manifest(root)[0].get("pseudonyms") if is_index(root) else None
    if is_index(root):
        pseudonyms.check_key(recorded, key, root)
    elif key is not None:
        recorded = pseudonyms.manifest_entry(key)
    items = sorted(items, key=lambda e: (e.sha256, e.root, e.path))
    source = None
    if key is not None:
        items = [pseudonyms.hidden(e, key) for e in items]
        source = _no_source
    for first in range(0, len(items), shard_rows):
        write_shard(root, rows_of(items[first : first + shard_rows], source), recorded)
    return len(items)


def _no_source(_: Entry) -> str:
    return ""  # a pseudonymised row says nothing of where its picture lives


def build(
    root: str | Path, items: Sequence[Entry], shard_rows: int = SHARD_ROWS, key: Key | None = None
) -> int:
    """A new index: built in a temporary directory beside it and renamed when complete."""
    with building(root, key) as tmp:
        return append(tmp, items, shard_rows, key)


@contextmanager
def building(root: str | Path, key: Key | None = None) -> Iterator[Path]:
    """A temporary directory beside root to write a new index into; renamed to root when the
    block ends normally (an empty index gets its manifest, pseudonymised under key if one is
    given), removed when it fails."""
    root = Path(root)
    if root.exists():
        raise KyctriageError(f"{root} exists; use `index add` to append to it")
    tmp = root.with_name(f".{root.name}.building-{os.getpid()}")
    try:
        tmp.mkdir(parents=True)
        yield tmp
        if not is_index(tmp):
            _write_manifest(tmp, [], pseudonyms.manifest_entry(key) if key else None)
        os.rename(tmp, root)
    finally:
        if tmp.exists():
            for leftover in tmp.iterdir():
                leftover.unlink()
            tmp.rmdir()
