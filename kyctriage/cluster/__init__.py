"""Clusters of records that show the same photograph: exact copies, same pixels, near duplicates."""

from ..model import (
    KIND_EXACT,
    KIND_NEAR,
    KIND_SAME_PIXELS,
    Cluster,
    Clustering,
    Member,
    Thresholds,
    ViewHashes,
)
from .build import COLOUR_CHANGE, THRESHOLDS, cluster
from .search import MAX_ONE, MAX_SUM, VIEWS

__all__ = [
    "COLOUR_CHANGE",
    "KIND_EXACT",
    "KIND_NEAR",
    "KIND_SAME_PIXELS",
    "MAX_ONE",
    "MAX_SUM",
    "THRESHOLDS",
    "VIEWS",
    "Cluster",
    "Clustering",
    "Member",
    "Thresholds",
    "ViewHashes",
    "cluster",
]
