"""The frozen records that flow from the probes to the renderers."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

# Bump on any change to the JSON form of a record or the report; one line per bump.
# 1: first release (foundation: inventory, image, exif, gps, timestamps, hashes).
# 2: xmp holds every property; xmp_history, iptc, makernotes and the merged metadata view.
SCHEMA_VERSION = 2

ExifValue = str | int | float | tuple[int | float, ...]

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_SKIPPED = "skipped"

# Trust levels of a time source, most trusted first.
TRUST_LEVELS = ("high", "medium", "low", "lowest")


@dataclass(frozen=True, slots=True)
class JpegInfo:
    """What the JPEG marker structure says about the encoder."""

    quant_tables: tuple[tuple[int, ...], ...]  # each 64 values in natural (row-major) order
    quality: int | None  # IJG quality whose scaled tables fit best
    quality_exact: bool  # the tables are exactly IJG's tables at that quality
    subsampling: str  # "4:4:4", "4:2:2", "4:2:0", "4:4:0", "4:1:1", "gray" or "other"
    progressive: bool
    markers: tuple[str, ...]  # segment names in file order, e.g. ("SOI", "APP0:JFIF", ...)
    has_jfif: bool
    has_exif: bool
    has_xmp: bool
    has_icc: bool
    has_iptc: bool
    comments: tuple[str, ...]
    trailing_bytes: int  # bytes after EOI (appended data, polyglots)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """Format and geometry, read from the content, never from the file name."""

    format: str  # "JPEG", "PNG", "HEIF", ... as detected from the first bytes
    extension_mismatch: bool
    width: int
    height: int
    mode: str
    orientation: int | None  # EXIF orientation 1-8
    frames: int
    has_thumbnail: bool
    jpeg: JpegInfo | None = None


@dataclass(frozen=True, slots=True)
class Gps:
    latitude: float | None
    longitude: float | None
    altitude: float | None


@dataclass(frozen=True, slots=True)
class Timestamp:
    """One time source; value is ISO 8601, naive unless the source states its offset."""

    source: str  # e.g. "exif:DateTimeOriginal", "filename:telegram", "fs:mtime"
    value: str
    utc_offset: str | None  # "+02:00", or None when the source does not say
    trust: str  # one of TRUST_LEVELS
    raw: str  # the text as found, for the record
    note: str | None = None  # e.g. why a value was judged implausible


@dataclass(frozen=True, slots=True)
class XmpEvent:
    """One xmpMM:History entry: what was done to the picture, with which software, when."""

    action: str | None  # "created", "saved", "converted", "derived", ...
    when: str | None  # as written (ISO 8601, usually with its offset)
    software_agent: str | None
    changed: str | None = None  # the parts changed, e.g. "/" or "/metadata"
    instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class MetadataValue:
    """One tag of the merged view: the value exiftool would print first, and its group as
    `exiftool -G1` names it (IFD0, ExifIFD, GPS, XMP-xmp, IPTC, Canon, Composite, File...)."""

    group: str
    name: str
    value: ExifValue


@dataclass(frozen=True, slots=True)
class ViewHashes:
    """Perceptual hashes of one view of the scan's preview (mirror, rot90, crop92, crop87,
    crop82, cut left/top/right/bottom: a quarter cut from that edge), or of a picture it
    shows inside it (shown: a screenshot's photograph, a page's document; probes/shown.py)."""

    view: str
    phash: str
    dhash: str
    whash: str


@dataclass(frozen=True, slots=True)
class Hashes:
    """Perceptual hashes (imagehash hex strings) and the metadata-free data hash."""

    phash: str
    dhash: str
    whash: str
    colorhash: str
    image_data_sha256: str | None
    views: tuple[ViewHashes, ...] = ()  # the same hashes of transformed views, for matching


@dataclass(frozen=True, slots=True)
class TelegramMessage:
    """The Telegram Desktop export message that carried this file."""

    export: str  # the result.json, relative to the scan root
    chat: str | None
    message_id: int | None
    posted: str  # ISO 8601 UTC, from date_unixtime: the picture existed no later than this
    date_local: str | None  # the export's `date`: the exporting machine's local time, no offset
    sender: str | None
    sender_id: str | None
    forwarded_from: str | None
    kind: str  # "photo" (re-encoded by Telegram) or "file" (sent as a document: original bytes)
    text: str | None = None


@dataclass(frozen=True, slots=True)
class WatermarkCheck:
    """One detector's answer, in the one calibrated form every detector uses."""

    pipeline: str
    detector: str  # "keyed", "logo" or "marker"
    verdict: str  # "present", "absent" or "inconclusive"
    score: float | None
    threshold: float | None
    false_positive_bound: float | None  # P(score >= threshold | no mark)
    expected_marked_score: float | None = None  # what a marked image of this size would score
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FeatureScore:
    feature: str
    weight: float
    match: float  # 0..1
    detail: str


@dataclass(frozen=True, slots=True)
class FingerprintMatch:
    pipeline: str
    score: float | None  # None when the features cannot be compared (messenger re-encode)
    features: tuple[FeatureScore, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    evidence: str  # "watermark", "time", "fingerprint", "messenger", "marker"
    text: str
    supports: str | None  # the label this reason argues for, or None when it argues against all


@dataclass(frozen=True, slots=True)
class Verdict:
    label: str  # a pipeline name, "unattributed" or "inconclusive"
    confidence: str  # "high", "medium" or "low"
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class FileRecord:
    """Everything known about one file under a scan root; one per file, always."""

    root: str
    path: str  # relative to root, with "/" separators; escaped if the name is not UTF-8
    status: str  # STATUS_OK, STATUS_ERROR or STATUS_SKIPPED
    size: int | None = None
    mtime: str | None = None  # ISO 8601 UTC
    sha256: str | None = None
    md5: str | None = None
    error: str | None = None  # one line, for error and skipped records
    path_bytes_hex: str | None = None  # the raw name when it is not valid UTF-8
    image: ImageInfo | None = None
    exif: tuple[tuple[str, ExifValue], ...] = ()
    exif_partial: bool = False  # the EXIF block was malformed; what could be read is kept
    gps: Gps | None = None
    xmp: tuple[tuple[str, str], ...] = ()  # every XMP property, "prefix:Name" (struct paths)
    xmp_history: tuple[XmpEvent, ...] = ()
    iptc: tuple[tuple[str, str], ...] = ()  # IPTC-IIM application record, exiftool's names
    makernotes: tuple[tuple[str, ExifValue], ...] = ()  # "Group:Name" (Canon, Apple, ...)
    metadata: tuple[MetadataValue, ...] = ()  # the merged view, as exiftool -n -json picks
    timestamps: tuple[Timestamp, ...] = ()
    best_time: Timestamp | None = None
    hashes: Hashes | None = None
    warnings: tuple[str, ...] = field(default=())
    telegram: TelegramMessage | None = None
    messenger: str | None = None  # e.g. "telegram re-encode": metadata stripped in transit
    watermark: tuple[WatermarkCheck, ...] = ()
    fingerprints: tuple[FingerprintMatch, ...] = ()
    verdict: Verdict | None = None
    thumbnail: str | None = None  # base64 JPEG for reports; pixelated unless asked otherwise

    def exif_value(self, name: str) -> ExifValue | None:
        for key, value in self.exif:
            if key == name:
                return value
        return None


# Clusters of records that show the same photograph.
KIND_EXACT = "exact"  # every member has the same bytes (sha256)
KIND_SAME_PIXELS = "same-pixels"  # same image data (image_data_sha256), metadata differs
KIND_NEAR = "near"  # the same photograph, transformed


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The rule that made the clusters, stated in the output."""

    hashes: tuple[str, ...]  # the kinds summed
    max_sum: int  # bits over all kinds together
    max_one: int  # bits in any one kind
    views: tuple[str, ...]  # views matched besides the upright image
    colour_change: int  # colorhash bits from which "brightness/colour" is named
    max_bucket: int  # index buckets larger than this are skipped (and counted)
    max_checks: int = 0  # candidates a picture is checked against at most, strongest first


@dataclass(frozen=True, slots=True)
class Verification:
    """What decided whether two pictures are one photograph (match/verify.py), for the analyst."""

    verified: bool
    reason: str  # "verified", or why not: "low information", "no geometric fit", ...
    mirrored: bool = False
    inliers: int = 0  # keypoint matches consistent with one similarity (RANSAC)
    overlap: float = 0.0  # share of the smaller picture covered by the other, aligned
    blocks: int = 0  # informative cells (4 x 4 px of the smaller picture) in the overlap
    agreeing: int = 0  # of those, cells whose detail agrees
    differing: int = 0  # of those, cells whose detail plainly differs (a portrait, a name)
    min_correlation: float = 0.0  # the lowest of the cells' correlations
    weakest_region: float = 1.0  # the lowest agreement of any one region (portrait, name...)
    scale: float = 1.0  # the second picture's size relative to the first
    angle: float = 0.0  # degrees, counter-clockwise, the second onto the first
    # a picture compared shown small is compared in colour too: the largest difference of any
    # small cell (chroma levels, after one colour map); None where colour was not compared
    colour_difference: float | None = None
    # verified on a closer look at the picture one side shows inside its frame (a
    # screenshot's photograph at the decode's size, not the working copy's)
    closer: bool = False
    # two pictures at one scale that agree are looked at again in finer detail (each cell at
    # its best of half-pixel shifts): that band's weakest region; None where not looked at
    fine_region: float | None = None
    # a picture compared shown small whose detail agrees is compared in tone too: the
    # largest difference of any small cell of the smoothed grey levels, relative to what a
    # slight misfit leaves there (above MAX_TONE_DIFFERENCE refuses); None where not compared
    tone_difference: float | None = None
    # share of the overlap left out as detail one side adds in one place that the other
    # lacks (a caption, a stamp), the rest judged without it; 0 where nothing was left out
    added: float = 0.0


@dataclass(frozen=True, slots=True)
class Member:
    root: str
    path: str
    sha256: str
    relation: str  # "representative", "identical", "same-pixels" or "near"
    view: str  # how it lines up with the representative: "as is", "mirrored", "cropped", ...
    distances: tuple[tuple[str, int], ...]  # per hash kind, in that view; colorhash as is
    transformations: tuple[str, ...]  # most likely steps from the representative, in order
    linked: bool = True  # False: matched another member, not the representative directly
    verification: Verification | None = None  # a near member's check against the representative


@dataclass(frozen=True, slots=True)
class Cluster:
    id: str  # "c" + the representative's sha256[:16]: same input, same id
    kind: str  # KIND_EXACT, KIND_SAME_PIXELS or KIND_NEAR
    representative: Member
    members: tuple[Member, ...]  # the representative first
    earliest: Timestamp | None  # the earliest best time among the members
    earliest_path: str | None


@dataclass(frozen=True, slots=True)
class Clustering:
    thresholds: Thresholds
    clusters: tuple[Cluster, ...]
    considered: int  # records with perceptual hashes
    crowded_buckets: int  # index buckets skipped as larger than max_bucket
    unchecked: int = 0  # candidate pairs left unchecked past thresholds.max_checks


@dataclass(frozen=True, slots=True)
class ScanMeta:
    """Facts about the run: what was asked, by which version, when."""

    tool_version: str
    command: tuple[str, ...]
    roots: tuple[str, ...]
    started: str
    finished: str
    workers: int
    profile: str | None = None  # the profile file, when attribution was configured
    profile_sha256: str | None = None
    key_fingerprints: tuple[tuple[str, str], ...] = ()  # (pipeline, fingerprint), never the key
    thumbnails: str = "pixelated"  # what the records' thumbnails show: pixelated, full or none


@dataclass(frozen=True, slots=True)
class Report:
    meta: ScanMeta
    records: tuple[FileRecord, ...]
    schema_version: int = SCHEMA_VERSION
    clusters: Clustering | None = None

    def totals(self) -> dict[str, int]:
        """Files seen and their statuses; seen always equals ok + error + skipped."""
        counts = {STATUS_OK: 0, STATUS_ERROR: 0, STATUS_SKIPPED: 0}
        for record in self.records:
            counts[record.status] += 1
        return {"seen": len(self.records), **counts}

    def reasons(self) -> dict[str, int]:
        """Error and skipped records counted by the kind of their reason."""
        counts: dict[str, int] = {}
        for record in self.records:
            if record.status != STATUS_OK:
                key = f"{record.status}: {reason_kind(record.error or '')}"
                counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))


_REASON_KINDS = (
    ("declared size", "decompression-bomb protection"),
    ("symbolic link", "symbolic link, not followed"),
    ("named pipe", "named pipe"),
    ("socket", "socket"),
    ("device file", "device file"),
    ("not an image:", "named like an image, content is not"),
    ("not an image", "not an image"),
    ("cannot decode", "cannot decode"),
    ("timed out", "per-file time limit"),
    ("the worker process", "decoder crashed"),
    ("worker ran out of memory", "memory limit"),
    ("cannot open", "cannot open"),
    ("cannot read", "cannot read"),
    ("cannot list folder", "cannot list folder"),
    ("cannot stat", "cannot stat"),
    ("file of", "larger than --max-file-size"),
    ("internal error", "internal error"),
)


def reason_kind(text: str) -> str:
    """The kind of an error or skip reason, for totals: specifics (names, sizes) left out."""
    return next((kind for prefix, kind in _REASON_KINDS if text.startswith(prefix)), "other")


@functools.cache
def field_names(kind: type) -> tuple[str, ...] | None:
    """The field names of a record type, None for any other type: asked once per type, since
    dataclasses.is_dataclass and fields() per value were a third of a scan's own work in the
    parent process (records are compacted, journaled and written to the report)."""
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(f.name for f in dataclasses.fields(kind))
