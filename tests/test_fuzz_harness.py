"""The fuzz target without atheris: every seed and a fixed set of mutations of them pass the
harness's checks (no exception but FileProblem, no escaping warning, a JSON round trip that
loads back equal). Inputs that atheris found go here as mutations of the seeds they came from."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.fuzz.harness import check_one, write_seeds


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    folder = tmp_path_factory.mktemp("seeds")
    assert write_seeds(folder) >= 40
    return [p.read_bytes() for p in sorted(folder.iterdir())]


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """What libFuzzer does most: flip bytes, cut the tail, repeat a stretch."""
    out = bytearray(data[:16384])
    for _ in range(rng.randint(1, 6)):
        if not out:
            break
        choice = rng.random()
        at = rng.randrange(len(out))
        if choice < 0.6:
            out[at] = rng.randrange(256)
        elif choice < 0.8:
            del out[at:]
        else:
            out[at:at] = out[at : at + rng.randint(1, 64)] * rng.randint(1, 8)
    return bytes(out)


def test_every_seed_passes(seeds: list[bytes]) -> None:
    records = [check_one(data) for data in seeds]
    assert sum(r is not None and r.status == "ok" for r in records) >= 20


def test_mutated_seeds_pass(seeds: list[bytes]) -> None:
    rng = random.Random(20261125)
    jpegs = [s for s in seeds if s.startswith(b"\xff\xd8") and len(s) < 200_000]
    for _ in range(400):
        check_one(_mutate(rng.choice(jpegs), rng))


def test_metadata_parsers_on_mutated_blocks(seeds: list[bytes]) -> None:
    """The metadata target (tests/fuzz/metadata.py) on the real files' XMP, IPTC and EXIF
    blocks and on mutations of them and of the hand-made packets of tests/test_xmp_iptc.py."""
    from tests.fuzz.metadata import check_metadata, metadata_seeds
    from tests.test_xmp_iptc import PACKET

    from .conftest import DATA

    files = sorted(p for p in (DATA / "exif").rglob("*") if p.is_file())
    blocks = metadata_seeds(files) + [PACKET]
    assert len(blocks) > 40
    rng = random.Random(20261204)
    for block in blocks:
        check_metadata(block)
    for _ in range(600):
        check_metadata(_mutate(rng.choice(blocks), rng))


def test_metadata_entry_gives_each_parser_its_own_inputs() -> None:
    """The atheris entry's first byte picks the parser: every seed reaches every parser."""
    from tests.fuzz.metadata import PARSERS, check_one, one_seeds
    from tests.test_xmp_iptc import PACKET

    seeds = one_seeds([PACKET, b"MM\x00*\x00\x00\x00\x08"])
    assert sorted({s[0] for s in seeds}) == list(range(len(PARSERS)))
    assert {s[1:] for s in seeds} == {PACKET, b"MM\x00*\x00\x00\x00\x08"}
    for data in (*seeds, b"", b"\xff"):
        check_one(data)


def test_loader_seeds_and_their_mutations_pass() -> None:
    """The loaders' target (tests/fuzz/fuzz_loaders.py) without atheris: every seed, and
    mutations of them, is loaded or refused in one line; nothing else escapes."""
    from tests.fuzz.loaders import check_loader, loader_seeds

    seeds = loader_seeds()
    assert len(seeds) >= 12
    rng = random.Random(20261204)
    for data in seeds:
        check_loader(data)
    for _ in range(600):
        seed = rng.choice(seeds)
        check_loader(seed[:1] + _mutate(seed[1:], rng))


@pytest.mark.parametrize("name", ["loaders-index-nomem.bin", "loaders-index-not-utf8.bin"])
def test_loader_inputs_atheris_found(name: str) -> None:
    """Indexes whose corrupt records made SQLite raise MemoryError and UnicodeDecodeError."""
    from tests.fuzz.loaders import check_loader

    check_loader((Path(__file__).parent / "data" / "fuzz" / name).read_bytes())


def test_metadata_input_atheris_found_reads_in_bounded_time() -> None:
    """A 715-byte block whose maker note claims a field of 8 million values: exifread read
    each value past the end as 0, one call each (2 s per maker, 14 s instrumented). Now cut to
    what the data holds; the check bounds each parser's CPU time."""
    import time

    from kyctriage.probes import makernotes
    from tests.fuzz.metadata import check_one

    data = (
        Path(__file__).parent / "data" / "fuzz" / "metadata-makernote-8m-values.bin"
    ).read_bytes()
    started = time.process_time()
    for make in ("Canon", "NIKON", "FUJIFILM"):
        makernotes.read_makernotes(data[1:], make)
    assert time.process_time() - started < 1.0
    check_one(data)


def test_the_seeds_reach_the_closer_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The screenshot seed (under the runs' 16 KiB max_len) shows a photograph: the target
    decodes it again closer (decode.closer), so mutations of it fuzz that decode too, and
    each of those mutations still passes."""
    from kyctriage.probes import decode
    from tests.fuzz.harness import _screen

    real = decode.closer
    calls: list[int] = []

    def counted(data: bytes, fmt: str, size: int) -> object:
        calls.append(len(data))
        return real(data, fmt, size)

    monkeypatch.setattr(decode, "closer", counted)
    screen = _screen()
    assert len(screen) < 16384
    assert check_one(screen) is not None and calls
    rng = random.Random(3)
    for _ in range(20):
        check_one(_mutate(screen, rng))
