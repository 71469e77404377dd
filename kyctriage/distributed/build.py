"""Index builds in tasks: the sorted source list cut into chunks, each hashed by a worker with
a scan's own per-file code, the shards written here in chunk order (the same input gives the
same index whatever the number of workers, and whichever worker died on the way)."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from kyctriage.errors import KyctriageError
from kyctriage.match import shards
from kyctriage.match.entries import Entry, entries
from kyctriage.match.pseudonyms import Key
from kyctriage.scanning import read
from kyctriage.scanning.ingest import Source, walk_root
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import probe_source
from kyctriage.scanning.workers import Failed, run_supervised

if TYPE_CHECKING:
    from distributed import Client, Future

TASK_FILES = 256  # files per task: seconds of work for 12 MP photos, and many tasks per worker
DAEMON_HINT = (
    "a Dask worker cannot start kyctriage's supervised probe processes (daemonic worker): "
    "start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False"
)


@dataclass(frozen=True)
class Chunk:
    number: int
    sources: tuple[Source, ...]
    remote: bool  # fsspec URLs (read with remote.read_object), else local paths
    reference: datetime  # the scan's reference time, the same for every task


@dataclass(frozen=True)
class Hashed:
    """A chunk's index rows (files without perceptual hashes have none), sorted."""

    number: int
    entries: tuple[Entry, ...]
    files: int


def sources_of(location: str) -> tuple[list[Source], bool]:
    """The sorted source list of a folder (walked as a scan walks it; paths made absolute for
    workers elsewhere on a shared filesystem) or of an fsspec URL; and whether it is remote."""
    from kyctriage.distributed import remote

    if remote.is_url(location):
        return remote.list_sources(location), True
    defaults = ScanOptions(roots=(location,))  # a Telegram export parsed under a scan's limits
    found = walk_root(location, (defaults.file_time_limit, defaults.worker_memory_limit))
    return [replace(s, fs_path=os.path.abspath(s.fs_path)) if s.fs_path else s
            for s in found], False  # fmt: skip


def chunks(sources: list[Source], remote: bool, task_files: int = TASK_FILES) -> list[Chunk]:
    """The deterministic split: consecutive runs of task_files sources in sorted order."""
    reference = datetime.now(UTC).replace(tzinfo=None)
    return [Chunk(n, tuple(sources[first : first + task_files]), remote, reference)
            for n, first in enumerate(range(0, len(sources), task_files))]  # fmt: skip


def hash_chunk(chunk: Chunk, workers: int = 1) -> Hashed:
    """Probe a chunk's files as a scan does, each in a supervised child process (a file that
    crashes or hangs a decoder costs that file, not the worker), and keep their index rows."""
    if multiprocessing.current_process().daemon:
        raise KyctriageError(DAEMON_HINT)
    reader: Callable[[str, int], read.FileBytes] | None = None  # the scan's own local read
    if chunk.remote:
        from kyctriage.distributed.remote import read_object

        reader = read_object
    # thumbnails are not index rows: not made
    options = ScanOptions(roots=(), workers=workers, thumbnails="none")
    probe = partial(probe_source, options=options, reference=chunk.reference, read_bytes=reader)
    records = [record for _, record in run_supervised(
        probe, chunk.sources, options.worker_count, options.file_time_limit,
        options.worker_memory_limit,
    ) if not isinstance(record, Failed)]  # fmt: skip
    made = sorted(entries(records), key=lambda e: (e.sha256, e.root, e.path))
    return Hashed(chunk.number, tuple(made), len(chunk.sources))


def _here(todo: list[Chunk], workers: int) -> Iterator[Hashed]:
    """Without a cluster (URL sources on one machine): the chunks one after another, each
    over the local pool of worker processes."""
    for chunk in todo:
        yield hash_chunk(chunk, workers)


def _on_cluster(client: Client, todo: list[Chunk]) -> Iterator[Hashed]:
    """The chunks as tasks, at most a window of them queued ahead, results in chunk order. A
    worker that dies takes its running tasks with it; the scheduler runs them again elsewhere."""
    from kyctriage.distributed.cluster import outcome

    window = max(8, 4 * sum(client.nthreads().values()))
    queue = iter(todo)
    running: deque[tuple[Chunk, Future[Hashed]]] = deque()

    def submit() -> None:
        for chunk in queue:
            running.append((chunk, client.submit(hash_chunk, chunk, pure=False)))
            return

    for _ in range(window):
        submit()
    while running:
        chunk, future = running.popleft()
        first, last = chunk.sources[0].path, chunk.sources[-1].path
        hashed = outcome(future, f"hashing chunk {chunk.number} ({first} .. {last})")
        future.release()
        submit()
        yield hashed


def write(
    root: Path, hashed: Iterable[Hashed], shard_rows: int, key: Key | None = None
) -> tuple[int, int]:
    """Append the rows as shards of shard_rows, in chunk order (each shard sorted, as
    `index build` sorts; pseudonymised under key if given); returns (rows written, files
    seen)."""
    pending: list[Entry] = []
    written = files = 0
    for part in hashed:
        files += part.files
        pending.extend(part.entries)
        while len(pending) >= shard_rows:
            written += shards.append(root, pending[:shard_rows], shard_rows, key)
            del pending[:shard_rows]
    if pending:
        written += shards.append(root, pending, shard_rows, key)
    return written, files


def fill(
    output: str,
    location: str,
    *,
    create: bool,
    scheduler: str | None = None,
    workers: int = 0,
    task_files: int = TASK_FILES,
    shard_rows: int = shards.SHARD_ROWS,
    key: Key | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Build (create) or append to the sharded index at output from a folder or URL, on the
    cluster at scheduler or here; returns (rows written, files seen). A new index appears
    only when complete; an appended shard only when whole. progress(files hashed, files):
    after each chunk."""
    with ExitStack() as stack:  # closed in reverse: the index is complete before the client goes
        client = None
        if scheduler is not None:
            from kyctriage.distributed.cluster import connected

            client = stack.enter_context(connected(scheduler))  # an unreachable one fails first
        sources, remote = sources_of(location)
        todo = chunks(sources, remote, task_files)
        root = stack.enter_context(shards.building(output, key)) if create else Path(output)
        if client is None:
            hashed = _here(todo, workers or (os.cpu_count() or 1))
        else:
            hashed = _on_cluster(client, todo)
        return write(root, _counted(hashed, len(sources), progress), shard_rows, key)


def _counted(
    hashed: Iterable[Hashed], total: int, progress: Callable[[int, int], None] | None
) -> Iterator[Hashed]:
    """The chunks as they come, the files hashed so far reported after each."""
    done = 0
    for part in hashed:
        done += part.files
        if progress is not None:
            progress(done, total)
        yield part
