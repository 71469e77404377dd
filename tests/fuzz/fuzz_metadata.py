#!/usr/bin/env python3
"""Atheris entry point of the metadata parsers: python tests/fuzz/fuzz_metadata.py [CORPUS_DIR]
[libFuzzer flags]. Without a corpus, one is seeded from the test data and the shared corpus."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["kyctriage", "tests.fuzz"]):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.fuzz.metadata import check_one, metadata_seeds, one_seeds

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = (ROOT / "tests" / "data", ROOT.parent / "shared" / "corpus" / "exif-samples")


def main() -> None:
    args = sys.argv[1:]
    if not any(not a.startswith("-") for a in args):
        corpus = Path(tempfile.mkdtemp(prefix="kyctriage-fuzz-meta-"))
        files = [p for f in FOLDERS if f.is_dir() for p in sorted(f.rglob("*")) if p.is_file()]
        for index, seed in enumerate(one_seeds(metadata_seeds(files))):
            (corpus / f"seed-{index}").write_bytes(seed)
        print(f"seed corpus: {corpus}", file=sys.stderr)
        args.append(str(corpus))
    atheris.Setup([sys.argv[0], *args], check_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
