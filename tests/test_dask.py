"""Index builds and searches on a real Dask cluster (LocalCluster: a scheduler and worker
processes) and sources read from a real local S3 server (moto's server mode)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask
import pytest
from click.testing import CliRunner
from distributed import Client, LocalCluster
from moto.server import ThreadedMotoServer

from kyctriage.cli.main import main
from kyctriage.distributed import build, remote
from kyctriage.errors import FileProblem
from kyctriage.match import shards
from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.cluster
BUCKET = "kyc-archive"
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed samples (JPEGs in folders, a PNG, non-images) as a reference archive."""
    folder = tmp_path_factory.mktemp("dask") / "archive"
    shutil.copytree(SAMPLES, folder)
    return folder


@pytest.fixture(scope="module")
def s3(archive: Path) -> Iterator[str]:
    """A moto S3 server holding the archive under s3://kyc-archive/samples; its endpoint and
    credentials in the environment, before the cluster's workers start (they read it too)."""
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = dict(os.environ)
    os.environ.update(S3_ENV, AWS_ENDPOINT_URL=f"http://{host}:{port}")
    import boto3

    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(archive.rglob("*")):
        if path.is_file():
            key = f"samples/{path.relative_to(archive).as_posix()}"
            client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    try:
        yield os.environ["AWS_ENDPOINT_URL"]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        server.stop()


@contextmanager
def _cluster(workers: int) -> Iterator[LocalCluster]:
    # kyctriage probes each file in a supervised child process: the workers must be allowed
    # children (README, "Archive scale"); a nanny reads this again when it restarts one
    with (
        dask.config.set({"distributed.worker.daemon": False}),
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def cluster(s3: str) -> Iterator[LocalCluster]:
    with _cluster(2) as running:
        yield running


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert not isinstance(result.exception, AssertionError), result.exception
    return result.exit_code, result.stderr


def content(index: Path) -> dict[str, bytes]:
    """Every file of an index by name: equal content means the same index."""
    return {p.name: p.read_bytes() for p in sorted(index.iterdir())}


@pytest.fixture(scope="module")
def local_index(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "ref.idx"
    code, err = cli("index", "build", str(archive), "--sharded", "-o", str(out))
    assert code == 0, err
    return out


def test_the_laptop_path_imports_no_dask(archive: Path, tmp_path: Path) -> None:
    """Without --scheduler nothing of Dask (or fsspec) is imported: the laptop set-up needs
    no cluster extra."""
    out = tmp_path / "ref.idx"
    program = f"""
import sys
from kyctriage.cli.main import main
for args in (["index", "build", {str(archive)!r}, "--sharded", "-o", {str(out)!r}],
             ["compare", {str(archive / "telegram")!r}, {str(out)!r}, "-q"]):
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code == 0, exc.code
loaded = {{name.split(".")[0] for name in sys.modules}}
print(sorted(loaded & {{"dask", "distributed", "fsspec", "s3fs"}}))
"""
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"
    assert shards.is_index(out)


def test_one_worker_two_workers_and_no_cluster_build_the_same_index(
    cluster: LocalCluster, archive: Path, local_index: Path, tmp_path: Path
) -> None:
    two = tmp_path / "two.idx"
    code, err = cli("index", "build", str(archive), "--sharded", "-o", str(two),
                    "--scheduler", cluster.scheduler_address, "--task-files", "4")  # fmt: skip
    assert code == 0, err
    assert "indexed 22 images (9 files without hashes)" in err
    with _cluster(1) as single:
        one = tmp_path / "one.idx"
        code, err = cli("index", "build", str(archive), "--sharded", "-o", str(one),
                        "--scheduler", single.scheduler_address, "--task-files", "7")  # fmt: skip
        assert code == 0, err
    assert content(one) == content(two) == content(local_index)
    assert shards.verify(two) == []


def test_a_cluster_build_reports_the_files_hashed_chunk_by_chunk(
    cluster: LocalCluster, archive: Path, tmp_path: Path
) -> None:
    """What `index build --scheduler` draws as its progress bar: the files hashed after each
    chunk, up to all of them."""
    seen: list[tuple[int, int]] = []
    written, files = build.fill(str(tmp_path / "idx"), str(archive), create=True,
                                scheduler=cluster.scheduler_address, task_files=4,
                                progress=lambda *step: seen.append(step))  # fmt: skip
    assert (written, files) == (22, 31)
    assert [done for done, _ in seen] == [*range(4, 31, 4), 31]
    assert {total for _, total in seen} == {31}


def test_compare_on_the_cluster_gives_the_local_report(
    cluster: LocalCluster, archive: Path, local_index: Path, tmp_path: Path
) -> None:
    reports = {}
    for name, extra in (("local", ()), ("cluster", ("--scheduler", cluster.scheduler_address))):
        out = tmp_path / f"{name}.json"
        code, err = cli("compare", str(archive / "telegram"), str(local_index), "--json",
                        str(out), "-q", *extra)  # fmt: skip
        assert code == 0, err
        data = json.loads(out.read_text())
        del data["meta"]["command"]
        reports[name] = data
    assert reports["cluster"] == reports["local"]
    assert reports["local"]["totals"]["exact"] == 7


def test_index_add_on_the_cluster_appends_a_shard(
    cluster: LocalCluster, archive: Path, local_index: Path, tmp_path: Path
) -> None:
    grown = tmp_path / "grown.idx"
    shutil.copytree(local_index, grown)
    code, err = cli("index", "add", str(archive / "inhouse"), "-o", str(grown),
                    "--scheduler", cluster.scheduler_address)  # fmt: skip
    assert code == 0, err
    names = [s.name for s in shards.read_manifest(grown)[1]]
    assert names == ["shard-00000", "shard-00001"]
    assert all(content(grown)[n] == data for n, data in content(local_index).items()
               if n != "manifest.json")  # fmt: skip
    assert shards.verify(grown) == []


def test_a_worker_killed_mid_build_gives_the_same_index(
    cluster: LocalCluster, archive: Path, local_index: Path, tmp_path: Path
) -> None:
    """One file per task; once a worker is busy, its process is killed (SIGKILL): the
    scheduler runs its task again elsewhere, the nanny starts a new worker, the index is the
    same."""
    out = tmp_path / "killed.idx"
    outcome: list[tuple[int, str]] = []
    with Client(cluster, set_as_default=False) as client:
        pids = client.run(os.getpid)
        thread = threading.Thread(target=lambda: outcome.append(cli(
            "index", "build", str(archive), "--sharded", "-o", str(out),
            "--scheduler", cluster.scheduler_address, "--task-files", "1",
        )))  # fmt: skip
        thread.start()
        victim, deadline = None, time.monotonic() + 60
        while victim is None and time.monotonic() < deadline:
            victim = next((w for w, tasks in client.processing().items() if tasks), None)
            time.sleep(0.01)
        assert victim is not None, "no task ever ran"
        os.kill(pids[victim], signal.SIGKILL)
        thread.join(timeout=120)
        assert not thread.is_alive()
        client.wait_for_workers(2, timeout=60)
        assert victim not in client.scheduler_info()["workers"]
    code, err = outcome[0]
    assert code == 0, err
    assert content(out) == content(local_index)


def test_an_s3_prefix_is_read_by_the_workers_and_indexed_like_the_folder(
    cluster: LocalCluster, s3: str, local_index: Path, tmp_path: Path
) -> None:
    url = f"s3://{BUCKET}/samples"
    built = {}
    for name, extra in (("here", ()), ("cluster", ("--scheduler", cluster.scheduler_address))):
        built[name] = tmp_path / f"{name}.idx"
        code, err = cli("index", "build", url, "--sharded", "-o", str(built[name]), *extra)
        assert code == 0, err
        assert "indexed 22 images (9 files without hashes)" in err
    assert content(built["here"]) == content(built["cluster"])
    # the same rows as the folder's index; only the root (and source) name the bucket
    from_s3, from_folder = content(built["here"]), content(local_index)
    assert [n for n in from_s3 if n.endswith(".npy")] == [n for n in from_folder
                                                            if n.endswith(".npy")]  # fmt: skip
    assert all(from_s3[n] == from_folder[n] for n in from_s3 if n.endswith(".npy"))
    import pyarrow.parquet as pq

    rows = pq.read_table(built["here"] / "shard-00000.ids.parquet").to_pylist()
    folder_rows = pq.read_table(local_index / "shard-00000.ids.parquet").to_pylist()
    assert {r["root"] for r in rows} == {url}
    assert [r["path"] for r in rows] == [r["path"] for r in folder_rows]
    assert rows[0]["source"] == f"{url}/{rows[0]['path']}"


def test_s3_and_cluster_failures_are_one_line_with_their_exit_status(
    s3: str, archive: Path, tmp_path: Path
) -> None:
    out = str(tmp_path / "x.idx")
    cases = [
        (2, f"s3://{BUCKET}/no-such-prefix", "no such bucket, object or prefix"),
        (2, f"s3://{BUCKET}/samples/inhouse/missing.jpg", "no such bucket, object or prefix"),
        (2, "s3://no-such-bucket/samples", "no such bucket, object or prefix"),
        (2, "foo://bucket/x", "Protocol not known: foo"),
    ]
    for status, url, message in cases:
        code, err = cli("index", "build", url, "--sharded", "-o", out)
        assert (code, err.count("\n")) == (status, 1), err
        assert message in err, err
    started = time.monotonic()
    code, err = cli("index", "build", str(archive), "--sharded", "-o", out,
                    "--scheduler", "tcp://127.0.0.1:9")  # fmt: skip
    assert (code, err) == (1, "kyctriage: error: cannot reach the Dask scheduler at "
                           "tcp://127.0.0.1:9 within 5 s\n")  # fmt: skip
    assert time.monotonic() - started < 30
    code, err = cli("compare", str(archive / "telegram"), str(archive), "--scheduler",
                    "tcp://127.0.0.1:9")  # fmt: skip
    assert code == 2 and "the reference must be one" in err
    assert not Path(out).exists()


def test_without_credentials_the_listing_fails_in_one_line(s3: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    none = str(tmp_path / "none")
    env.update(AWS_ENDPOINT_URL=s3, AWS_SHARED_CREDENTIALS_FILE=none, AWS_CONFIG_FILE=none,
               AWS_EC2_METADATA_DISABLED="true")  # fmt: skip
    out = tmp_path / "x.idx"
    done = subprocess.run(
        [sys.executable, "-m", "kyctriage", "index", "build", f"s3://{BUCKET}/samples",
         "--sharded", "-o", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("kyctriage: error: cannot list s3://kyc-archive/samples: ")
    assert "credentials" in done.stderr and done.stderr.count("\n") == 1
    assert not out.exists()


def test_an_object_gone_since_the_listing_is_a_file_error(s3: str) -> None:
    with pytest.raises(FileProblem, match="no such object"):
        remote.read_object(f"s3://{BUCKET}/samples/gone.jpg", 1 << 20)
    sources = remote.list_sources(f"s3://{BUCKET}/samples/inhouse")
    assert [s.root for s in sources] == [f"s3://{BUCKET}/samples/inhouse"] * len(sources)
    assert remote.read_object(sources[0].fs_path, 1 << 30).size > 0
    with pytest.raises(FileProblem, match="exceeds the limit"):
        remote.read_object(sources[0].fs_path, 10)
    assert build.chunks(sources, True, 2)[0].sources == tuple(sources[:2])


def test_compare_verifies_near_matches_on_pictures_read_from_s3(
    archive: Path, s3: str, tmp_path: Path
) -> None:
    """An index whose sources are S3 objects: compare reads each candidate's object (in its
    supervised workers, SHA-256 checked) to verify it; an object gone since the build leaves
    its match an unverified candidate, never a plain near."""
    import boto3

    from kyctriage import api
    from kyctriage.match.compare import Comparison
    from kyctriage.model import Verification

    built = tmp_path / "s3.idx"
    code, err = cli("index", "build", f"s3://{BUCKET}/samples", "--sharded", "-o", str(built))
    assert code == 0, err

    def near(result: Comparison) -> dict[str, Verification | None]:
        return {m.path: m.verification for im in result.images for m in im.matches
                if m.kind in ("near", "unverified-candidate")}  # fmt: skip

    checked = near(api.compare(archive / "telegram", built, workers=1))
    assert checked and all(v is not None and v.verified for v in checked.values())
    gone = sorted(checked)[0]
    client = boto3.client("s3")
    client.delete_object(Bucket=BUCKET, Key=f"samples/{gone}")
    try:
        after = near(api.compare(archive / "telegram", built, workers=1))
    finally:  # the bucket as the module's other tests know it
        client.put_object(Bucket=BUCKET, Key=f"samples/{gone}", Body=(archive / gone).read_bytes())
    assert after.keys() == checked.keys()
    lost = after[gone]
    assert lost is not None and not lost.verified and "reference picture not had" in lost.reason
    assert all(v is not None and v.verified for path, v in after.items() if path != gone)
