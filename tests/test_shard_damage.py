"""A damaged or hostile sharded index: one error line, exit 1, no report, never a short search."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from kyctriage.cli.main import main
from kyctriage.match import shards
from kyctriage.match.entries import entries
from tests.test_compare import EXPECTED, records, sides  # noqa: F401 (the fixture)


@pytest.fixture(scope="module")
def built(sides: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:  # noqa: F811
    """A saved scan of the leak and a two-shard index of the reference."""
    leak, ref = sides
    root = tmp_path_factory.mktemp("damage")
    saved = root / "leak.json"
    done = CliRunner().invoke(main, ["scan", str(leak), "--json", str(saved), "--workers", "1",
                                     "-q"])  # fmt: skip
    assert done.exit_code == 0, done.output
    idx = root / "idx"
    ref_entries = entries(records(ref))
    shards.build(idx, ref_entries[:2])
    shards.append(idx, ref_entries[2:])
    return saved, idx


def reseal(idx: Path) -> None:
    """Make the manifest agree with the files as they are now (a crafted index passes the
    SHA-256 checks; only the content checks can catch it)."""
    manifest = json.loads((idx / shards.MANIFEST).read_text())
    for shard in manifest["shards"]:
        for name in shard["files"]:
            shard["files"][name] = hashlib.sha256((idx / name).read_bytes()).hexdigest()
    (idx / shards.MANIFEST).write_text(json.dumps(manifest))


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def lie_rows(idx: Path) -> None:
    manifest = json.loads((idx / shards.MANIFEST).read_text())
    manifest["shards"][0]["rows"] = 7
    (idx / shards.MANIFEST).write_text(json.dumps(manifest))


def lie_sha(idx: Path) -> None:
    manifest = json.loads((idx / shards.MANIFEST).read_text())
    manifest["shards"][1]["files"]["shard-00001.ids.parquet"] = "0" * 64
    (idx / shards.MANIFEST).write_text(json.dumps(manifest))


def ids(idx: Path, change: Callable[[pa.Table], pa.Table], **write: object) -> None:
    path = idx / "shard-00001.ids.parquet"
    pq.write_table(change(pq.read_table(path)), path, **write)  # type: ignore[arg-type]
    reseal(idx)


def npy(idx: Path, part: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    path = idx / f"shard-00001.{part}"
    array = change(np.load(path))
    with open(path, "wb") as f:
        np.save(f, array)
    reseal(idx)


def replace(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    reseal(path.parent)


def path_as_int(t: pa.Table) -> pa.Table:
    return t.set_column(t.schema.get_field_index("path"), "path", pa.array(range(len(t))))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "bit flip": (lambda i: flip(i / "shard-00001.full.npy"),
                 "shard-00001: shard-00001.full.npy is damaged (SHA-256 differs)"),
    "truncated npy": (lambda i: cut(i / "shard-00001.views-order.npy"),
                      "shard-00001: shard-00001.views-order.npy is damaged"),
    "missing file": (lambda i: (i / "shard-00001.keys.npy").unlink(),
                     "shard-00001: shard-00001.keys.npy is missing"),
    "manifest lies about rows": (lie_rows, "shard-00000: shard-00000.full.npy has shape (2, 3)"),
    "manifest lies about a SHA-256": (lie_sha, "shard-00001.ids.parquet is damaged"),
    "ids column of the wrong type": (lambda i: ids(i, path_as_int),
                                     "shard-00001: its ids' column path holds int64"),
    "ids column missing": (lambda i: ids(i, lambda t: t.drop_columns(["views"])),
                           "shard-00001: its ids have no column views"),
    "fewer ids than rows": (lambda i: ids(i, lambda t: t.slice(0, 1)),
                            "shard-00001: 1 ids, the manifest says 3"),
    "ids not Parquet": (lambda i: replace(i / "shard-00001.ids.parquet", b"PAR1" * 3),
                        "shard-00001: cannot read its ids"),
    "hashes as floats": (lambda i: npy(i, "full.npy", lambda a: a.astype(np.float64)),
                         "shard-00001.full.npy has shape (3, 3) of float64"),
    "an order past the rows": (lambda i: npy(i, "full-order.npy", lambda a: a + np.uint32(9)),
                               "shard-00001: full-order.npy names a row past the shard's 3"),
    "view rows past the rows": (lambda i: npy(i, "view-rows.npy", lambda a: a + np.uint32(9)),
                                "shard-00001: view-rows.npy names a row past the shard's 3"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_index_is_one_line_and_no_report(
    built: tuple[Path, Path], tmp_path: Path, case: str
) -> None:
    saved, pristine = built
    idx = tmp_path / "idx"
    shutil.copytree(pristine, idx)
    damage, message = DAMAGE[case]
    damage(idx)
    out = tmp_path / "c.json"
    done = CliRunner().invoke(main, ["compare", str(saved), str(idx), "--json", str(out)])
    assert isinstance(done.exception, SystemExit), done.exception  # not a traceback
    assert done.exit_code == 1, done.output
    assert message in done.output
    assert len(done.output.strip().splitlines()) == 1
    assert not out.exists()  # no partial report
    if case != "manifest lies about rows":  # the rows a manifest states are its own claim
        verified = CliRunner().invoke(main, ["index", "verify", str(idx)])
        assert verified.exit_code == 1 and "shard-00001" in verified.output, verified.output


def test_ids_in_other_row_groups_read_the_same(built: tuple[Path, Path], tmp_path: Path) -> None:
    """Another writer's row groups (here one row each) name the same rows."""
    saved, pristine = built
    idx = tmp_path / "idx"
    shutil.copytree(pristine, idx)
    ids(idx, lambda t: t, row_group_size=1)
    reports = []
    for target in (pristine, idx):
        out = tmp_path / f"{target.name}.json"
        done = CliRunner().invoke(main, ["compare", str(saved), str(target), "--json", str(out)])
        assert done.exit_code == 0, done.output
        data = json.loads(out.read_text())
        reports.append((data["images"], data["affected"]))
    assert reports[0] == reports[1]
    assert {im["path"]: im["status"] for im in reports[0][0]} == EXPECTED


def test_damage_through_the_real_command(built: tuple[Path, Path], tmp_path: Path) -> None:
    saved, pristine = built
    idx = tmp_path / "idx"
    shutil.copytree(pristine, idx)
    flip(idx / "shard-00000.views.npy")
    done = subprocess.run([sys.executable, "-m", "kyctriage", "compare", str(saved), str(idx)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"kyctriage: error: shard-00000: shard-00000.views.npy is damaged (SHA-256 differs) "
        f"(run `kyctriage index verify {idx}`)"
    ]
