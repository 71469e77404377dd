"""Index build on a Dask cluster: 1 and 2 local workers, and a worker killed mid-build.

    python bench/cluster_build.py                      # 200 12 MP JPEGs, 16 files a task
    python bench/cluster_build.py --count 400 --rounds 3

The files are scan_speed.py's phone-size JPEGs (4000 x 3000, real camera EXIF; generated once
into its cache). Each round builds the same sharded index with `kyctriage.distributed.build.fill`
on a LocalCluster of 1 worker, then of 2 (worker processes of one thread each, started before
the clock), and once more with 2 workers while one worker process is killed (SIGKILL) after the
first chunk is done. It reports wall time, the CPU of the workers and their probe processes
(getrusage on each worker, itself and its reaped children) and of this process, the load
average, and whether every index is byte-identical to the 1-worker one. The machine is shared:
read the ratio from rounds run side by side, and the load beside it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import dask
from distributed import Client, LocalCluster

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from scan_speed import CACHE, DEFAULT_EXIF_SOURCE, generate  # noqa: E402

from kyctriage.distributed.build import fill  # noqa: E402


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def workers_cpu(client: Client) -> float:
    return sum(client.run(_cpu).values())


def content(index: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(index.iterdir())}


def one_build(
    workers: int, folder: Path, out: Path, task_files: int, kill: bool
) -> tuple[float, float, float, int]:
    """(wall s, workers' CPU s, this process's CPU s, rows) of one build."""
    with (
        dask.config.set({"distributed.worker.daemon": False}),
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        pids = client.run(os.getpid)
        before, own = workers_cpu(client), time.process_time()
        killer = None
        if kill:

            def kill_one() -> None:
                while not any(client.processing().values()):
                    time.sleep(0.01)
                time.sleep(1.0)  # a chunk or so in: the victim is mid-task
                busy = next((w for w, tasks in client.processing().items() if tasks), None)
                if busy is None:
                    print("  the build ended before a worker could be killed", file=sys.stderr)
                    return
                os.kill(pids[busy], signal.SIGKILL)
                print(f"  killed worker {busy} (pid {pids[busy]})", file=sys.stderr)

            killer = threading.Thread(target=kill_one)
            killer.start()
        started = time.perf_counter()
        rows, _ = fill(str(out), str(folder), create=True, scheduler=cluster.scheduler_address,
                       task_files=task_files)  # fmt: skip
        wall = time.perf_counter() - started
        if killer is not None:
            killer.join()
        # a killed worker's CPU is lost with it: the survivors' is a lower bound then
        client.wait_for_workers(workers, timeout=60)
        cpu = workers_cpu(client) - before if not kill else float("nan")
        return wall, cpu, time.process_time() - own, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--task-files", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    folder = CACHE / f"n{args.count}"
    generate(folder, args.count, DEFAULT_EXIF_SOURCE, os.cpu_count() or 1)
    for extra in folder.iterdir():  # the stamp file is not a photo of the archive
        if extra.suffix != ".jpg":
            print(f"note: {extra.name} is in the folder (a file without hashes)", file=sys.stderr)
    scratch = Path(tempfile.mkdtemp(prefix="kyctriage-cluster-bench-"))
    walls: dict[int, list[float]] = {1: [], 2: []}
    cpus: dict[int, list[float]] = {1: [], 2: []}
    reference = None
    try:
        for round_no in range(args.rounds):
            for workers in (1, 2):
                out = scratch / f"r{round_no}-w{workers}.idx"
                load = os.getloadavg()[0]
                wall, cpu, own, rows = one_build(workers, folder, out, args.task_files, False)
                walls[workers].append(wall)
                cpus[workers].append(cpu)
                got = content(out)
                reference = reference or got
                print(f"round {round_no} workers {workers}: {wall:.1f} s wall, workers' CPU "
                      f"{cpu:.1f} s ({1000 * cpu / args.count:.0f} ms/image), parent CPU "
                      f"{own:.1f} s, rows {rows}, load {load:.1f}, identical to the first: "
                      f"{got == reference}")  # fmt: skip
                shutil.rmtree(out)
        out = scratch / "killed.idx"
        load = os.getloadavg()[0]
        wall, _, own, rows = one_build(2, folder, out, args.task_files, True)
        print(f"killed-worker run, 2 workers: {wall:.1f} s wall, rows {rows}, load {load:.1f}, "
              f"identical to the first: {content(out) == reference}")  # fmt: skip
        one, two = statistics.median(walls[1]), statistics.median(walls[2])
        print(f"median wall: 1 worker {one:.1f} s, 2 workers {two:.1f} s: {one / two:.2f}x; "
              f"workers' CPU median {statistics.median(cpus[1]):.1f} s vs "
              f"{statistics.median(cpus[2]):.1f} s; {os.cpu_count()} cores, "
              f"load now {os.getloadavg()[0]:.1f}")  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
