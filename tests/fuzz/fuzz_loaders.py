#!/usr/bin/env python3
"""Atheris entry point for the loaders: python tests/fuzz/fuzz_loaders.py [CORPUS] [flags]."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

# Our code only (the loaders, the record schema, the renderers a saved report reaches).
with atheris.instrument_imports(include=["kyctriage", "tests.fuzz"]):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.fuzz.loaders import check_loader, write_loader_seeds


def test_one_input(data: bytes) -> None:
    check_loader(data)


def main() -> None:
    args = sys.argv[1:]
    if not any(not a.startswith("-") for a in args):
        corpus = Path(tempfile.mkdtemp(prefix="kyctriage-fuzz-loaders-corpus-"))
        print(f"seed corpus: {write_loader_seeds(corpus)} files in {corpus}", file=sys.stderr)
        args.append(str(corpus))
    atheris.Setup([sys.argv[0], *args], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
