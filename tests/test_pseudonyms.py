"""Pseudonymised sharded indexes: no names in their bytes, the key checked, reveal by its holder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kyctriage.cli.main import main
from kyctriage.match import pseudonyms, shards
from tests.test_compare import EXPECTED, sides  # noqa: F401 (the fixture)

NAMES = ("john_smith_passport", "maria_garcia_selfie", "li_wei_id_card", "anna_k", "o_brien")


@pytest.fixture(scope="module")
def named(sides: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """The reference set under customers' names (a folder per customer)."""
    _, ref = sides
    root = tmp_path_factory.mktemp("kyc") / "customers"
    for name, source in zip(NAMES, sorted(ref.glob("*.jpg")), strict=True):
        (root / name).mkdir(parents=True)
        shutil.copy(source, root / name / f"{name}.jpg")
    return root


def key_file(folder: Path, size: int = 32, fill: bytes = b"k") -> Path:
    path = folder / f"key-{size}-{fill.hex()}"
    path.write_bytes(fill * size)
    return path


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kyctriage", *map(str, args)],
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_pseudonymised_index_holds_no_names_and_reveal_names_them(
    sides: tuple[Path, Path], named: Path, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    leak, _ = sides
    key, idx, plain = key_file(tmp_path), tmp_path / "idx", tmp_path / "plain"
    runner = CliRunner()
    for target, extra in ((idx, ["--pseudonymize", str(key)]), (plain, [])):
        done = runner.invoke(main, ["index", "build", str(named), "-o", str(target), "--sharded",
                                    "--workers", "1", *extra])  # fmt: skip
        assert done.exit_code == 0, done.output
    # names are in the plain index's bytes (the check can see them) and nowhere in the other
    secret = key.read_bytes()
    for folder, holds in ((plain, True), (idx, False)):
        data = b"".join(p.read_bytes() for p in sorted(folder.iterdir()))
        for word in (*NAMES, named.name, str(named)):
            assert (word.encode() in data) is holds, (folder.name, word)
        assert secret not in data and secret.hex().encode() not in data
    manifest = json.loads((idx / shards.MANIFEST).read_text())
    assert manifest["pseudonyms"] == {
        "scheme": "hmac-sha256",
        "key_fingerprint": pseudonyms.load_key(key).fingerprint(),
    }
    # compare works on pseudonyms: the same statuses, the matches named by HMAC only
    out, out_plain = tmp_path / "c.json", tmp_path / "p.json"
    # (no pictures to verify a near candidate on: it stays a candidate, exit 3)
    for target, report, code in ((idx, out, 3), (plain, out_plain, 0)):
        done = runner.invoke(main, ["compare", str(leak), str(target), "--json", str(report),
                                    "--workers", "1"])  # fmt: skip
        assert done.exit_code == code, done.output
    data, data_plain = json.loads(out.read_text()), json.loads(out_plain.read_text())
    assert {im["path"]: im["status"] for im in data_plain["images"]} == EXPECTED
    assert {im["path"]: im["status"] for im in data["images"]} == {
        **EXPECTED,
        "small_c.jpg": "unverified-candidate",
    }
    assert {a["root"] for a in data["affected"]} == {pseudonyms.ROOT}
    assert not any(n in out.read_text() for n in NAMES)
    # the key holder names them from its own list (`find DIR -type f`)
    listing = tmp_path / "names.txt"
    listing.write_text("".join(f"{p}\n" for p in sorted(named.rglob("*.jpg"))) + "other/x.jpg\n")
    done = cli("index", "reveal", idx, out, "--key", key, "--names", listing)
    assert done.returncode == 0, done.stderr
    rows = [line.split(",") for line in done.stdout.splitlines()[1:]]
    expected = {os.path.join(a["root"], a["path"]) for a in data_plain["affected"]}
    assert {r[1] for r in rows} == expected
    assert f"named {len(expected)} of {len(expected)} affected records" in done.stderr
    # the wrong key is refused, not an empty mapping
    wrong = cli("index", "reveal", idx, out, "--key", key_file(tmp_path, fill=b"x"),
                "--names", listing)  # fmt: skip
    assert wrong.returncode == 2 and "the key does not match" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_adding_to_a_pseudonymised_index_needs_its_key(named: Path, tmp_path: Path) -> None:
    key, idx, plain = key_file(tmp_path), tmp_path / "idx", tmp_path / "plain"
    runner = CliRunner()
    build = ["index", "build", str(named), "--sharded", "--workers", "1"]
    assert runner.invoke(main, [*build, "-o", str(idx), "--pseudonymize", str(key)]).exit_code == 0
    assert runner.invoke(main, [*build, "-o", str(plain)]).exit_code == 0
    add = ["index", "add", str(named), "--workers", "1", "-o"]
    refused = {
        "is pseudonymised; give its key": [*add, str(idx)],
        "the key does not match": [*add, str(idx), "--pseudonymize",
                                   str(key_file(tmp_path, fill=b"z"))],
        "stores names, not pseudonyms": [*add, str(plain), "--pseudonymize", str(key)],
        "--pseudonymize needs a sharded index": [*build[:3], "-o", str(tmp_path / "i.db"),
                                                 "--pseudonymize", str(key)],
    }  # fmt: skip
    for message, args in refused.items():
        done = runner.invoke(main, args)
        assert done.exit_code == 2 and message in done.output, (message, done.output)
    assert len(shards.read_manifest(idx)[1]) == 1  # nothing was added
    done = runner.invoke(main, [*add, str(idx), "--pseudonymize", str(key)])
    assert done.exit_code == 0, done.output
    assert [s.rows for s in shards.read_manifest(idx)[1]] == [5, 5]


def test_key_file_problems_are_one_line(named: Path, tmp_path: Path) -> None:
    short = key_file(tmp_path, size=16)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases = {
        str(tmp_path / "missing"): "No such file",
        str(short): "holds 16 bytes; a key needs at least 32",
        str(fifo): "not a regular file",
    }
    for path, message in cases.items():
        done = cli("index", "build", named, "-o", tmp_path / "idx", "--sharded",
                   "--pseudonymize", path)  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert message in done.stderr and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "idx").exists()


def test_the_cluster_build_path_pseudonymises_too(named: Path, tmp_path: Path) -> None:
    """distributed.build.fill (what --scheduler and URL sources run) under the key: the same
    rows as a local pseudonymised build, no names."""
    from kyctriage.distributed import build

    key = pseudonyms.load_key(key_file(tmp_path))
    idx = tmp_path / "cluster.idx"
    written, files = build.fill(str(idx), str(named), create=True, workers=1, key=key)
    assert (written, files) == (5, 5)
    assert shards.read_manifest(idx)[0]["pseudonyms"]["key_fingerprint"] == key.fingerprint()
    data = b"".join(p.read_bytes() for p in sorted(idx.iterdir()))
    assert not any(n.encode() in data for n in NAMES)
    stored = {e.path for e in shards.entries_at(idx, shards.read_manifest(idx)[1][0],
                                                 np.arange(5))}  # fmt: skip
    assert stored == {key.pseudonym(str(p)) for p in named.rglob("*.jpg")}
