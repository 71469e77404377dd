"""The supervised pool: crashes and hangs cost one item each; every item gets an answer."""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from kyctriage.scanning.workers import Failed, run_supervised


def _probe(item: str) -> str:
    if item == "crash":
        os.abort()  # what a segfault in a C decoder looks like from outside
    if item == "exit":
        os._exit(3)
    if item == "hang":
        time.sleep(60)
    if item == "hog":
        bytearray(2 * 1024**3)  # beyond the memory limit below
    return item.upper()


def test_every_item_is_answered_despite_crashes_and_hangs():
    items = ["a", "crash", "b", "hang", "c", "exit", "d", "hog", "e"]
    started = time.monotonic()
    results = dict(run_supervised(_probe, items, workers=2, time_limit=1.5,
                                  memory_limit=1024**3))  # fmt: skip
    assert time.monotonic() - started < 20
    assert sorted(results) == list(range(len(items)))
    for index, item in enumerate(items):
        if item in "abcde":
            assert results[index] == item.upper()
    assert "crashed (SIGABRT)" in results[1].reason
    assert "timed out after 1.5 s" in results[3].reason
    assert "exited (code 3)" in results[5].reason
    assert isinstance(results[7], Failed) and "out of memory" in results[7].reason


def _nothing(item: int) -> int | None:
    return None if item % 2 else item


def test_a_result_of_none_is_a_result_not_a_dead_worker():
    """A picture that cannot be had is None (recheck, a resumed scan's looks): answered as
    None, not as a worker that died (which cost a second's wait and a new process each)."""
    got = dict(run_supervised(_nothing, list(range(8)), 2, 30.0))
    assert got == {i: None if i % 2 else i for i in range(8)}


def test_empty_input():
    assert list(run_supervised(_probe, [], workers=2, time_limit=1)) == []


def _blas_threads(_: int) -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


def test_workers_run_blas_on_one_thread():
    assert np.ones(1) @ np.ones(1) == 1  # OpenBLAS loaded in the parent, inherited by the fork
    with threadpool_limits(2):
        results = dict(run_supervised(_blas_threads, [0, 1], 2, 30.0))
    assert results[0] and all(threads == [1] * len(threads) for threads in results.values())


def _page_faults_of_a_churn(_: int) -> list[int]:
    """Minor page faults of each round of making and dropping eight 1 MiB arrays, as a file's
    previews and spectra are made and dropped."""
    import resource

    faults = []
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        arrays = [np.ones((512, 512), dtype=np.float32) for _ in range(8)]
        del arrays
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return faults


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_workers_reuse_freed_memory_instead_of_faulting_in_fresh_pages():
    """glibc gives 8 MiB freed at the heap's top back to the kernel (2,000 faults a round here
    without the worker's mallopt); the worker keeps it for the next file's arrays."""
    (faults,) = dict(run_supervised(_page_faults_of_a_churn, [0], 1, 30.0)).values()
    assert sum(faults[1:]) < 200, faults


def test_a_worker_ends_when_its_parent_is_killed(tmp_path):
    """A parent killed mid-run (SIGKILL: a Dask worker killed mid-task, kill -9 on a scan)
    leaves no probe process behind: its worker sees the pipe close and exits."""
    import signal
    import subprocess

    program = """
import os, sys, time
from kyctriage.scanning.workers import run_supervised
results = run_supervised(lambda _: os.getpid(), [1, 2, 3], 1, 60)
print(next(results)[1], flush=True)
time.sleep(60)
"""
    with subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True,
                          cwd=os.path.dirname(os.path.dirname(__file__))) as parent:  # fmt: skip
        child = int(parent.stdout.readline())
        os.kill(parent.pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{child}/stat") as stat:
                if stat.read().split(") ")[1].startswith("Z"):
                    break  # exited; its new parent has not reaped it yet
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError("the worker outlived its parent")
