"""Do two revisions write the same reports? Scans samples/ (with and without its profile) and the
shared camera corpus with the code of each revision and compares every report file, timing
fields scrubbed.

    python bench/same_reports.py REV            # REV (a commit) against the working tree
    python bench/same_reports.py REV --other B  # two commits

Each revision runs from a temporary git worktree of this repository, as `python -m kyctriage` in
that folder, so nothing needs installing. Exit status 0 when every report is the same.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "exif-samples"

# (name, scan arguments relative to the repository) of each scan.
SCANS = (
    ("samples", ["samples"]),
    ("samples-profile", ["samples", "--profile", "samples/profile.toml"]),
    ("corpus", [str(CORPUS)]),
)
OUTPUTS = ("json", "csv", "timeline", "html", "manifest")

# Fields that name the moment or the machine of a run, not its findings.
_VOLATILE = re.compile(
    r'("(?:started|finished)": )"[^"]*"'
    r"|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?\+00:00)(?= *(?:UTC)?</)"
)


def _scrub(name: str, text: str, out: Path, checkout: Path) -> str:
    text = text.replace(str(out), "OUT").replace(str(checkout), "CHECKOUT")
    if name.endswith(".json"):
        data = json.loads(text)
        for volatile in ("started", "finished", "command"):
            data["meta"].pop(volatile, None)
        return json.dumps(data, sort_keys=True, indent=1)
    if name.endswith(".manifest"):
        # The report files' hashes carry their times (checked through the reports themselves).
        kept = [line for line in text.splitlines() if "OUT/" not in line]
        return "\n".join(line for line in kept if not line.startswith("# scan started:"))
    return _VOLATILE.sub(lambda m: (m.group(1) or "") + '"T"', text)


def run_reports(checkout: Path, out: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, args in SCANS:
        files = {kind: out / f"{name}.{kind}" for kind in OUTPUTS}
        command = [sys.executable, "-m", "kyctriage", "scan", *args, "-q", "--workers", "2"]
        for kind, path in files.items():
            command += [f"--{kind}", str(path)]
        subprocess.run(command, cwd=checkout, check=True, capture_output=True)
        for path in files.values():
            found[path.name] = _scrub(path.name, path.read_text(encoding="utf-8"), out, checkout)
    return found


def _worktree(rev: str, folder: Path) -> Path:
    target = folder / rev.replace("/", "_")
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(target), rev],
        check=True,
        capture_output=True,
    )
    # The samples are read from the checkout under test: give them the times of this one's, so
    # that file times (a time source) do not differ between checkouts.
    for mine in (REPO / "samples").rglob("*"):
        twin = target / mine.relative_to(REPO)
        if twin.exists() and not mine.is_symlink():
            stat = mine.stat()
            os.utime(twin, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the revision to compare against")
    parser.add_argument("--other", help="a second revision instead of the working tree")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="same-reports-") as tmp:
        folder = Path(tmp)
        trees = []
        try:
            left = _worktree(args.rev, folder)
            trees.append(left)
            right = REPO
            if args.other:
                right = _worktree(args.other, folder)
                trees.append(right)
            (folder / "a").mkdir()
            (folder / "b").mkdir()
            before = run_reports(left, folder / "a")
            after = run_reports(right, folder / "b")
        finally:
            for tree in trees:
                subprocess.run(
                    ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                    capture_output=True,
                )
    differ = sorted(name for name in before if before[name] != after.get(name))
    for name in sorted(before):
        print(f"{'DIFFERS' if name in differ else 'same   '}  {name}")
    for name in differ[:3]:
        lines = difflib.unified_diff(
            before[name].splitlines(),
            after.get(name, "").splitlines(),
            "before",
            "after",
            n=0,
            lineterm="",
        )
        print(f"--- {name}:", *list(lines)[:12], sep="\n")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
