#!/usr/bin/env python3
"""Atheris entry point: python tests/fuzz/fuzz_probe.py [CORPUS_DIR] [libFuzzer flags]."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

# Our code only: instrumenting exifread and Pillow doubles the cost of an execution.
with atheris.instrument_imports(include=["kyctriage", "tests.fuzz"]):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.fuzz.harness import check_one, write_seeds


def test_one_input(data: bytes) -> None:
    check_one(data)


def main() -> None:
    args = sys.argv[1:]
    if not any(not a.startswith("-") for a in args):
        # No corpus named: seed a temporary one so that a bare run starts from real files.
        corpus = Path(tempfile.mkdtemp(prefix="kyctriage-fuzz-"))
        print(f"seed corpus: {write_seeds(corpus)} files in {corpus}", file=sys.stderr)
        args.append(str(corpus))
    atheris.Setup([sys.argv[0], *args], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
