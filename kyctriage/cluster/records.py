"""The frozen records of clustering: thresholds, members, clusters."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Timestamp

KIND_EXACT = "exact"  # every member has the same bytes (sha256)
KIND_SAME_PIXELS = "same-pixels"  # same image data (image_data_sha256), metadata differs
KIND_NEAR = "near"  # the same photograph, transformed


@dataclass(frozen=True)
class ViewHashes:
    """Perceptual hashes of one view of the scan's preview (mirror, rot90, crop92, crop87)."""

    view: str
    phash: str
    dhash: str
    whash: str


@dataclass(frozen=True)
class Thresholds:
    """The rule that made the clusters, stated in the output."""

    hashes: tuple[str, ...]  # the kinds summed
    max_sum: int  # bits over all kinds together
    max_one: int  # bits in any one kind
    views: tuple[str, ...]  # views matched besides the upright image
    colour_change: int  # colorhash bits from which "brightness/colour" is named
    max_bucket: int  # index buckets larger than this are skipped (and counted)


@dataclass(frozen=True)
class Member:
    root: str
    path: str
    sha256: str
    relation: str  # "representative", "identical", "same-pixels" or "near"
    view: str  # how it lines up with the representative: "as is", "mirrored", "cropped", ...
    distances: tuple[tuple[str, int], ...]  # per hash kind, in that view; colorhash as is
    transformations: tuple[str, ...]  # most likely steps from the representative, in order
    linked: bool = True  # False: matched another member, not the representative directly


@dataclass(frozen=True)
class Cluster:
    id: str  # "c" + the representative's sha256[:16]: same input, same id
    kind: str  # KIND_EXACT, KIND_SAME_PIXELS or KIND_NEAR
    representative: Member
    members: tuple[Member, ...]  # the representative first
    earliest: Timestamp | None  # the earliest best time among the members
    earliest_path: str | None


@dataclass(frozen=True)
class Clustering:
    thresholds: Thresholds
    clusters: tuple[Cluster, ...]
    considered: int  # records with perceptual hashes
    crowded_buckets: int  # index buckets skipped as larger than max_bucket
