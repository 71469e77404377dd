"""The scan's worker pool: every file comes back exactly once, as the in-process scan makes it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan
from kyctriage.scanning.workers import run_supervised


def _write_set(folder):
    names = []
    for i in range(9):
        out = io.BytesIO()
        Image.new("RGB", (96 + 8 * i, 64), (20 * i, 100, 200 - 10 * i)).save(out, "JPEG")
        (folder / f"img_{i}.jpg").write_bytes(out.getvalue())
        names.append(f"img_{i}.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (folder / "notes.txt").write_text("a note")
    return sorted([*names, "broken.jpg", "notes.txt"])


@pytest.mark.parametrize("workers", [1, 2])
def test_every_record_exactly_once_and_as_made_in_process(tmp_path, workers):
    names = _write_set(tmp_path)
    pooled = scan(ScanOptions(roots=(str(tmp_path),), workers=workers))
    alone = scan(ScanOptions(roots=(str(tmp_path),), in_process=True))
    assert [r.path for r in pooled.records] == names
    assert pooled.records == alone.records


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_pool_yields_each_index_once(workers):
    items = list(range(25))
    results = list(run_supervised(_square, items, workers=workers, time_limit=30))
    assert sorted(index for index, _ in results) == items
    assert all(value == index * index for index, value in results)


def test_pool_stopped_early_stops_its_workers():
    results = run_supervised(_square, list(range(10)), workers=2, time_limit=30)
    assert next(results)[1] in (0, 1)
    results.close()  # the feed-ahead item is dropped with the workers, nothing hangs


def _square(item: int) -> int:
    return item * item
