"""Every output path is checked before any work, and written without following a link (issue 25,
items 1 and 3): the evidence, the journal and other reports are never overwritten."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from kyctriage.cli.main import main
from tests.hostile import jpeg_bytes


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    folder = tmp_path / "ev"
    folder.mkdir()
    (folder / "b.jpg").write_bytes(jpeg_bytes())
    return folder


def _run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def _refused(code: int, output: str, *words: str) -> None:
    """Exit 2 with one line naming why, before any file was read."""
    assert code == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("kyctriage: error: "), output
    for word in words:
        assert word in lines[0], output


def test_a_report_named_inside_the_evidence_is_refused(evidence: Path) -> None:
    before = _sha(evidence / "b.jpg")
    code, output = _run("scan", evidence, "--json", evidence / "b.jpg", "-q")
    _refused(code, output, "--json", "inside")
    assert _sha(evidence / "b.jpg") == before
    code, output = _run("scan", evidence, "--html", evidence / "new.html", "-q")
    _refused(code, output, "--html", "inside")
    assert sorted(p.name for p in evidence.iterdir()) == ["b.jpg"]


def test_inside_is_judged_on_resolved_paths(evidence: Path, tmp_path: Path) -> None:
    (tmp_path / "alias").symlink_to(evidence)
    code, output = _run("scan", tmp_path / "alias", "--csv", evidence / "x.csv", "-q")
    _refused(code, output, "inside")
    code, output = _run("scan", evidence, "--csv", tmp_path / "alias" / "x.csv", "-q")
    _refused(code, output, "inside")


def test_a_file_root_is_never_an_output(evidence: Path) -> None:
    photo = evidence / "b.jpg"
    code, output = _run("scan", photo, "--json", photo, "-q")
    _refused(code, output, "--json")


def test_two_outputs_naming_one_file_are_refused(evidence: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.out"
    code, output = _run("scan", evidence, "--json", out, "--csv", out, "-q")
    _refused(code, output, "--csv", "--json", "same file")
    out.write_text("x")
    os.link(out, tmp_path / "hard")
    code, output = _run("scan", evidence, "--json", out, "--csv", tmp_path / "hard", "-q")
    _refused(code, output, "same file")
    assert out.read_text() == "x"


def test_an_output_cannot_be_the_journal_of_another(evidence: Path, tmp_path: Path) -> None:
    journal = tmp_path / "r.json.journal"
    journal.write_text("kept")
    code, output = _run("scan", evidence, "--json", tmp_path / "r.json", "--csv", journal, "-q")
    _refused(code, output, "journal")
    assert journal.read_text() == "kept"
    code, output = _run("report", tmp_path / "none.json", "--html", tmp_path / "a.html",
                        "--csv", tmp_path / "a.html.journal")  # fmt: skip
    assert code == 2


def test_an_existing_link_or_special_file_is_refused(evidence: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("not yours")
    (tmp_path / "link.json").symlink_to(target)
    code, output = _run("scan", evidence, "--json", tmp_path / "link.json", "-q")
    _refused(code, output, "symbolic link")
    assert target.read_text() == "not yours" and (tmp_path / "link.json").is_symlink()
    os.mkfifo(tmp_path / "fifo")
    code, output = _run("scan", evidence, "--html", tmp_path / "fifo", "-q")
    _refused(code, output, "not a regular file")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)
    code, output = _run("scan", evidence, "--html", "/dev/null", "-q")
    _refused(code, output, "not a regular file")


def test_a_journal_that_is_a_link_is_never_followed(evidence: Path, tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    (tmp_path / "r.json.journal").symlink_to(target)
    code, output = _run("scan", evidence, "--json", tmp_path / "r.json", "-q")
    _refused(code, output, "journal", "symbolic link")
    assert target.read_text() == "precious"


def test_the_journal_open_does_not_follow_a_late_link(evidence: Path, tmp_path: Path) -> None:
    """Were the link made after the checks, the journal's own open refuses it."""
    from kyctriage.errors import KyctriageError
    from kyctriage.scanning.journal import Journal

    target = tmp_path / "precious.txt"
    target.write_text("precious")
    (tmp_path / "j").symlink_to(target)
    with pytest.raises(KyctriageError, match="cannot open journal"):
        Journal(tmp_path / "j", {"roots": []}, "2020-01-01T00:00:00", resume=False)
    assert target.read_text() == "precious"


def test_write_atomic_replaces_only_a_regular_file(tmp_path: Path) -> None:
    from kyctriage.cli.outputs import write_atomic
    from kyctriage.errors import KyctriageError

    target = tmp_path / "precious.txt"
    target.write_text("precious")
    (tmp_path / "late").symlink_to(target)
    with pytest.raises(KyctriageError, match="symbolic link"):
        write_atomic(str(tmp_path / "late"), "overwritten")
    assert target.read_text() == "precious" and (tmp_path / "late").is_symlink()
    write_atomic(str(tmp_path / "new.txt"), iter(["a", "b"]))
    assert (tmp_path / "new.txt").read_text() == "ab"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late", "new.txt", "precious.txt"]


def test_report_outputs_may_not_overwrite_the_saved_scan(evidence: Path, tmp_path: Path) -> None:
    saved = tmp_path / "r.json"
    assert _run("scan", evidence, "--json", saved, "-q")[0] == 0
    before = _sha(saved)
    code, output = _run("report", saved, "--csv", saved, "-q")
    _refused(code, output, "--csv", "input")
    code, output = _run("report", saved, "--html", evidence / "r.html", "-q")
    _refused(code, output, "inside")
    assert _sha(saved) == before


def test_compare_outputs_are_checked_first(evidence: Path, tmp_path: Path) -> None:
    saved = tmp_path / "r.json"
    assert _run("scan", evidence, "--json", saved, "-q")[0] == 0
    before = _sha(saved)
    code, output = _run("compare", evidence, saved, "--json", saved, "-q")
    _refused(code, output, "--json")
    code, output = _run("compare", evidence, saved, "--csv", evidence / "a.csv",
                        "--leak-csv", tmp_path / "b.csv", "-q")  # fmt: skip
    _refused(code, output, "--csv", "inside")
    assert _sha(saved) == before and not (tmp_path / "b.csv").exists()


def test_index_profile_and_watermark_outputs_are_checked(evidence: Path, tmp_path: Path) -> None:
    code, output = _run("index", "build", evidence, "-o", evidence / "ref.db")
    _refused(code, output, "inside")
    code, output = _run("profile", "learn", evidence, "--name", "v", "-o", evidence / "f.json")
    _refused(code, output, "inside")
    key = tmp_path / "k.key"
    assert _run("watermark", "keygen", key)[0] == 0
    code, output = _run("watermark", "detect", "--key", key, evidence, "--json",
                        evidence / "d.json")  # fmt: skip
    _refused(code, output, "inside")
    (tmp_path / "marked").symlink_to(tmp_path / "elsewhere")
    code, output = _run("watermark", "embed", "--key", key, evidence, tmp_path / "marked")
    _refused(code, output, "symbolic link")
    assert sorted(p.name for p in evidence.iterdir()) == ["b.jpg"]


def test_good_outputs_are_written_once_each(evidence: Path, tmp_path: Path) -> None:
    outs = {opt: tmp_path / f"r{opt.replace('-', '.')}" for opt in
            ("--json", "--csv", "--timeline", "--html", "--manifest")}  # fmt: skip
    args = [a for opt, path in outs.items() for a in (opt, path)]
    code, output = _run("scan", evidence, *args)
    assert code == 0, output
    assert sorted(output.count(f"written: {p}") for p in outs.values()) == [1] * 5
    assert json.loads(outs["--json"].read_text())["totals"]["seen"] == 1
    assert not list(tmp_path.glob(".*.tmp"))


def test_compare_leaves_the_index_and_its_pending_wal_as_they_were(
    evidence: Path, tmp_path: Path
) -> None:
    """Item 2: the reference is opened read-only and immutable; a -wal beside it (a writer that
    stopped mid-way) is neither replayed into the index nor deleted."""
    import shutil
    import sqlite3

    built = tmp_path / "built.db"
    assert _run("index", "build", evidence, "-o", built)[0] == 0
    writer = sqlite3.connect(built)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO meta VALUES ('pending', 'x')")
    writer.commit()
    ref = tmp_path / "ref.db"
    shutil.copy(built, ref)  # as a crash would leave them: the index and its pending -wal
    shutil.copy(f"{built}-wal", f"{ref}-wal")
    writer.close()
    before = {p.name: _sha(p) for p in (ref, Path(f"{ref}-wal"))}
    code, output = _run("compare", evidence, ref, "--json", tmp_path / "c.json", "-q")
    assert code == 0, output
    assert {p.name: _sha(p) for p in (ref, Path(f"{ref}-wal"))} == before
    assert sorted(p.name for p in tmp_path.glob("ref.db*")) == ["ref.db", "ref.db-wal"]


def test_the_manifest_never_waits_on_a_fifo(tmp_path):
    """The saved scan is hashed for the manifest after it was loaded; one swapped for a FIFO
    in between is an error, not a hang."""
    import os

    import pytest

    from kyctriage.render.manifest import file_sha256

    fifo = tmp_path / "saved.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        file_sha256(str(fifo))
    (tmp_path / "r.json").write_bytes(b"{}")
    assert file_sha256(str(tmp_path / "r.json")).startswith("44136fa3")
