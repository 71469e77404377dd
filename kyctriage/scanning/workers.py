"""A supervised process pool: a worker that crashes or hangs costs one file, not the scan."""

from __future__ import annotations

import ctypes
import faulthandler
import multiprocessing
import os
import resource
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Failed:
    """What became of an item whose worker died or ran out of time."""

    reason: str


def one_thread_for_libraries_loaded_later() -> None:
    """Numerical libraries read these when they load: OpenBLAS then starts no thread of its
    own (one that spins on the other core while the process imports and walks)."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"


def one_thread_per_process() -> None:
    """The pool runs one worker per core; a library's own threads (OpenBLAS's, in the
    watermark's matrix products) would only fight it for the cores and spin. Libraries
    loaded later read the variables, those already loaded (inherited) are told directly.
    A single-process loop over files gains nothing from them either: the products are small,
    and a second OpenBLAS thread doubled `watermark detect`'s CPU for the same wall time."""
    one_thread_for_libraries_loaded_later()
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    threadpool_limits(1)


# glibc's mallopt parameters, and what the workers set them to.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
KEEP_FREED = 64 << 20  # freed memory the heap keeps for the next file, at most
HEAP_BLOCKS_BELOW = 16 << 20  # blocks smaller than this come from the heap, not fresh mmaps


def reuse_freed_memory() -> None:
    """Each file makes the same few arrays of a few hundred KiB (the preview, its luminance, the
    watermark's frames and spectra). glibc hands such freed blocks back to the kernel, and the
    next file's arrays come back as fresh zeroed pages: with a watermark key ~1,400 page faults
    per 12 MP photo, ~3 ms of system time. Kept in the heap, they are reused."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # glibc (and musl); absent on macOS
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, HEAP_BLOCKS_BELOW)
    mallopt(_M_TRIM_THRESHOLD, KEEP_FREED)


def _worker_main(
    func: Callable[[Any], Any], conn: Connection, memory_limit: int | None, parents: Connection
) -> None:  # pragma: no cover - runs in the child
    # The parent's end, inherited by the fork: closed, so that the parent's death (SIGKILL, a
    # Dask worker killed mid-task) ends the recv below instead of leaving this process behind.
    parents.close()
    # A hostile file must not write to the analyst's terminal, and Ctrl-C is the parent's
    # to handle: it stops the pool and keeps the journal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    faulthandler.disable()  # an inherited handler would print the crash to the terminal
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    if memory_limit:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    one_thread_per_process()
    reuse_freed_memory()
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            result = func(item)
        except MemoryError:
            result = Failed("worker ran out of memory (its limit is set by --max-worker-memory)")
        conn.send((result,))  # boxed: a result of None is a result, not a worker gone


class _Worker(Generic[Item]):
    def __init__(self, context: Any, func: Callable[[Item], Any], memory_limit: int | None):
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(func, child, memory_limit, self.conn), daemon=True
        )
        self.process.start()
        child.close()
        self.item: Item | None = None
        self.index = -1
        self.started = 0.0

    def give(self, index: int, item: Item) -> None:
        self.index, self.item, self.started = index, item, time.monotonic()
        self.conn.send(item)

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


def _death_reason(process: Any) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the worker process crashed ({name}) while probing this file"
    return f"the worker process exited (code {code}) while probing this file"


def run_supervised(
    func: Callable[[Item], Result],
    items: Sequence[Item],
    workers: int,
    time_limit: float,
    memory_limit: int | None = None,
) -> Iterator[tuple[int, Result | Failed]]:
    """Yield (index, result) for every item, in completion order. A worker that dies or
    exceeds time_limit on an item is killed and replaced; that item yields Failed."""
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    pool = [_Worker(context, func, memory_limit) for _ in range(min(workers, len(items)))]
    queue = iter(enumerate(items))
    try:
        for worker in pool:
            _feed(worker, queue)
        while any(w.item is not None for w in pool):
            busy = [w for w in pool if w.item is not None]
            soonest = min(w.started for w in busy) + time_limit
            ready = wait(
                [w.conn for w in busy] + [w.process.sentinel for w in busy],
                timeout=max(0.0, soonest - time.monotonic()),
            )
            for position, worker in enumerate(pool):
                if worker.item is None:
                    continue
                got: tuple[Result | Failed] | None = None
                if worker.conn in ready:
                    try:
                        got = worker.conn.recv()
                    except (EOFError, OSError):
                        got = None
                if got is None and (worker.process.sentinel in ready or worker.conn in ready):
                    worker.process.join(timeout=1)
                    got = (Failed(_death_reason(worker.process)),)
                elif got is None and time.monotonic() - worker.started > time_limit:
                    got = (Failed(f"timed out after {time_limit:g} s (per-file time limit)"),)
                if got is None:
                    continue
                (outcome,) = got
                index = worker.index
                worker.item = None
                if isinstance(outcome, Failed) and not outcome.reason.startswith("worker ran out"):
                    worker.stop()
                    worker = pool[position] = _Worker(context, func, memory_limit)
                # Feed first: the worker probes its next file while the caller journals this one.
                _feed(worker, queue)
                yield index, outcome
    finally:
        for worker in pool:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
            worker.stop()


def _feed(worker: _Worker[Item], queue: Iterator[tuple[int, Item]]) -> None:
    for index, item in queue:
        worker.give(index, item)
        return
