"""One protocol for every mark detector (the keyed mark, the logo, the metadata marker): each
looks at one file's evidence and answers a WatermarkResult."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from kyctriage.aspect import DEFAULT_ASPECT_RATIOS, AspectRatios

if TYPE_CHECKING:
    from collections.abc import Callable

    from PIL import Image

    from kyctriage.model import FileRecord
    from kyctriage.watermark.keys import WatermarkKey
    from kyctriage.watermark.logo import LogoTemplate
    from kyctriage.watermark.marker import MarkerSpec
    from kyctriage.watermark.result import WatermarkResult


@dataclass(frozen=True)
class Evidence:
    """What a detector may look at for one file: the scan's one upright RGB preview (with the
    image's own upright size), or the record's metadata, whichever it needs."""

    preview: Image.Image | None = None
    upright_size: tuple[int, int] | None = None
    record: FileRecord | None = None
    crop_search: bool = True  # the keyed mark's search for crops, when its fast test fails
    # The decode at its own (larger) scale, upright, made on demand: where a picture inside a
    # screenshot is too small in the preview, the keyed mark looks at it there.
    larger: Callable[[], Image.Image] | None = None


class Detector(Protocol):
    """needs_pixels: runs in the scan's worker on the preview; otherwise in the attribution
    stage on the finished record's metadata."""

    @property
    def needs_pixels(self) -> bool: ...

    def detect(self, evidence: Evidence) -> WatermarkResult: ...


@dataclass(frozen=True)
class KeyedMark:
    """The in-house spread-spectrum mark, found with its key."""

    key: WatermarkKey
    aspects: AspectRatios | None = DEFAULT_ASPECT_RATIOS  # the originals' ratios; None: any
    needs_pixels: bool = True

    def detect(self, evidence: Evidence) -> WatermarkResult:
        from kyctriage.watermark.detect import detect

        assert evidence.preview is not None
        return detect(evidence.preview, self.key, evidence.upright_size, evidence.crop_search,
                      self.aspects, evidence.larger)  # fmt: skip


@dataclass(frozen=True)
class Logo:
    """A visible logo, found by correlation with its template."""

    template: LogoTemplate
    needs_pixels: bool = True

    def detect(self, evidence: Evidence) -> WatermarkResult:
        from kyctriage.watermark.logo import detect_logo

        assert evidence.preview is not None
        return detect_logo(evidence.preview, self.template)


@dataclass(frozen=True)
class Marker:
    """A metadata stamp (EXIF, XMP or JPEG comment matching a pattern)."""

    spec: MarkerSpec
    needs_pixels: bool = False

    def detect(self, evidence: Evidence) -> WatermarkResult:
        from kyctriage.watermark.marker import detect_marker

        assert evidence.record is not None
        return detect_marker(evidence.record, self.spec)
