"""The `kyctriage` console script's process: exit codes, flushed output, one BLAS thread."""

from __future__ import annotations

import atexit
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kyctriage.cli import entry

# Run the console script's entry the way the installed script does, with a hook that reports
# what the process looked like at its end (the exit handlers still run; the teardown does not).
_RUN = """
import atexit, sys

class Teardown:
    def __del__(self):
        print("teardown ran", file=sys.stderr)

keep = Teardown()

@atexit.register
def report():
    from threadpoolctl import threadpool_info
    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    print("blas threads", blas, file=sys.stderr)
    loaded = [name for name in ("rich", "kyctriage.cli.compare", "kyctriage.cli.watermark")
              if name in sys.modules]  # fmt: skip
    print("loaded", loaded, file=sys.stderr)

from kyctriage.cli.entry import run
sys.argv = ["kyctriage", *sys.argv[1:]]
run()
"""


def _kyctriage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=120
    )


def test_a_scan_exits_zero_with_its_report_written(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    done = _kyctriage("scan", str(Path(__file__).parent.parent / "samples" / "misc"), "--json",
                      str(out), "-q")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["records"]
    # numpy's OpenBLAS (and OpenCV's own, loaded for verification) told: one thread each
    blas = re.search(r"blas threads \[([0-9, ]*)\]", done.stderr)
    assert blas is not None and set(blas.group(1).split(", ")) == {"1"}, done.stderr
    assert "teardown ran" not in done.stderr  # left without freeing every object one by one
    # A quiet scan prints nothing and runs no other command: rich and those stay unloaded.
    assert "loaded []" in done.stderr


def test_commands_load_when_named() -> None:
    done = _kyctriage("compare", "--help")
    assert done.returncode == 0 and "Usage: kyctriage compare" in done.stdout
    assert "loaded ['rich', 'kyctriage.cli.compare']" in done.stderr


def test_usage_errors_keep_their_exit_code_and_message() -> None:
    done = _kyctriage("scan", "/no/such/folder")
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    assert "blas threads" in done.stderr  # the exit handlers ran


def test_output_on_a_pipe_is_flushed_whole() -> None:
    done = _kyctriage("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("Usage: kyctriage")
    assert "Exit codes:" in done.stdout
    assert done.stdout.rstrip().endswith("usage error (bad option, missing input)")


_LAZY_HEIF = """
import sys
from kyctriage.probes.decode import decode, sniff
from kyctriage.cli.main import main  # everything a scan imports before its workers start
assert "pillow_heif" not in sys.modules, "pillow-heif loaded before any HEIF file"
data = open(sys.argv[1], "rb").read()
decoded = decode(data, sniff(data), 10**9, 256)
print(sniff(data), decoded.full_size, "pillow_heif" in sys.modules)
"""


def test_pillow_heif_loads_with_the_first_heif_file() -> None:
    heic = Path(__file__).parent.parent / "samples" / "phone" / "IMG_0457.HEIC"
    done = subprocess.run([sys.executable, "-c", _LAZY_HEIF, str(heic)], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "HEIF" and done.stdout.split()[-1] == "True"


def test_without_cpythons_exit_hook_it_exits_the_usual_way(monkeypatch) -> None:
    monkeypatch.delattr(atexit, "_run_exitfuncs")
    with pytest.raises(SystemExit) as exited:
        entry.leave(3)
    assert exited.value.code == 3
