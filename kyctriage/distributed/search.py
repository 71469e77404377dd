"""A sharded index searched on a cluster: one task per shard, the leak's hashes sent to every
worker once, the rows found merged in manifest order (what shards.find returns here)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from kyctriage.match import shards
from kyctriage.match.entries import Arrays

if TYPE_CHECKING:
    from distributed import Client


def _search_shard(root: str, name: str, leak: Arrays, most: int | None) -> shards.Found:
    return shards.find(root, leak, most, names={name})


def finder(client: Client) -> Callable[[str, Arrays, int | None], shards.Found]:
    """shards.find on the cluster; the index must be at the same path on every worker (a
    shared filesystem), since workers read their shards themselves."""
    from kyctriage.distributed.cluster import outcome

    def find(root: str, leak: Arrays, most: int | None = None) -> shards.Found:
        names = [s.name for s in shards.read_manifest(root)[1]]
        path = os.path.abspath(root)
        [sent] = client.scatter([leak], broadcast=True, hash=False)
        futures = [client.submit(_search_shard, path, name, sent, most, pure=False)
                   for name in names]  # fmt: skip
        found = [
            outcome(future, f"searching {name}")
            for name, future in zip(names, futures, strict=True)
        ]
        rows = tuple(e for part in found for e in part.entries)
        beyond = sum((part.beyond for part in found), np.zeros(len(leak), np.int64))
        return shards.Found(rows, sum(part.rows for part in found), beyond)

    return find
