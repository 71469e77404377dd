"""The synthetic demo set: drawn scenes saved as the files a leaked KYC dump holds."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

from kyctriage.demo.scenes import SCENES, card_image, font, render_scene

if TYPE_CHECKING:
    from kyctriage.watermark import WatermarkKey


@dataclass(frozen=True)
class Shot:
    """What a phone wrote into EXIF when it took one of the scenes."""

    scene: int
    quality: int
    make: str
    model: str
    software: str
    taken: str  # EXIF form, the phone's local time
    subsec: str
    offset: str | None  # OffsetTime*; older phones wrote none
    exposure: tuple[int, int]
    fnumber: tuple[int, int]
    iso: int
    focal: tuple[int, int]
    gps: tuple[int, int, int] | None = None  # latitude, longitude (micro-degrees), altitude (dm)
    gps_utc: str = ""
    orientation: int = 1


# The demo incident: an outsourced vendor ran KYC from 2018-01-15 to 2018-02-28, the in-house
# pipeline from 2018-03-01; A-C fall in the vendor's window, D-F in the in-house era.
SHOTS = {
    "A": Shot(0, 92, "Apple", "iPhone 7", "11.2.1", "2018:01:18 10:15:22", "482", "+01:00",
              (1, 60), (9, 5), 40, (399, 100), (48856614, 2352222, 350), "2018:01:18 09:15:21"),
    "B": Shot(1, 90, "samsung", "SM-G930F", "G930FXXU2ERA2", "2018:02:03 16:44:10", "07", None,
              (1, 50), (17, 10), 100, (420, 100), (-34603722, -58381592, 250),
              "2018:02:03 19:44:09"),
    "C": Shot(2, 90, "HUAWEI", "VTR-L09", "VTR-L09 8.0.0.360(C432)", "2018:02:11 09:58:40",
              "118", "+02:00", (1, 33), (11, 5), 160, (395, 100), orientation=6),
    "D": Shot(3, 88, "Xiaomi", "MI 6", "sagit-user 8.0.0", "2018:07:22 09:12:04", "331",
              "+03:00", (1, 100), (9, 5), 100, (383, 100), (31559012, 35473214, -4130),
              "2018:07:22 06:12:03"),
    "E": Shot(4, 90, "Google", "Pixel 2", "HDR+ 1.0.199571065z", "2018:10:05 18:30:11", "950",
              "-04:00", (1, 120), (9, 5), 64, (444, 100), (40748441, -73985664, 520),
              "2018:10:05 22:30:10"),
    "F": Shot(5, 50, "Apple", "iPhone 8", "12.1.4", "2019:03:14 12:00:05", "713", "+00:00",
              (1, 40), (9, 5), 25, (399, 100), (51500729, -124625, 110), "2019:03:14 12:00:04"),
}  # fmt: skip

# The in-house pipeline (from 2018-03-01) captures at 1280 px, quality 85, with its own app's
# tags, and imprints the watermark; the vendor (2018-01-15 .. 2018-02-28) stored 1024 px at
# quality 75 with 4:2:2 chroma and its capture software's name.
INHOUSE_SHOTS = {
    "G": Shot(
        8,
        85,
        "Exchange",
        "KYC Capture",
        "kyc-capture 4.2",
        "2018:04:12 10:03:55",
        "120",
        "+00:00",
        (1, 60),
        (9, 5),
        100,
        (399, 100),
    ),
    "H": Shot(
        9,
        85,
        "Exchange",
        "KYC Capture",
        "kyc-capture 4.2",
        "2018:09:27 16:41:09",
        "880",
        "+00:00",
        (1, 60),
        (9, 5),
        100,
        (399, 100),
    ),
}
VENDOR_SHOTS = {
    "V": Shot(
        10,
        75,
        "Vendor",
        "VC-1",
        "VendorCapture 3.2",
        "2018:01:29 11:20:31",
        "0",
        None,
        (1, 30),
        (2, 1),
        200,
        (350, 100),
    ),
    "W": Shot(
        11,
        75,
        "Vendor",
        "VC-1",
        "VendorCapture 3.2",
        "2018:02:19 15:07:48",
        "0",
        None,
        (1, 30),
        (2, 1),
        200,
        (350, 100),
    ),
}
# Published with the samples so that anyone can run the demo: never use it for real marks.
DEMO_KEY_FILE = "inhouse-DEMO-KEY-NOT-SECRET.key"
DEMO_KEY_SEED = "kyctriage samples: a public demo watermark key, not a secret"
# The exporting machine's clock for the demo Telegram export: UTC+1 all year.
EXPORT_OFFSET_HOURS = 1

TEXT_NAMED_JPG = (
    "This is not a picture: a text file named .jpg, as leak dumps often hold.\n"
    "Synthetic demo file of kyctriage; no real person or document is shown anywhere.\n"
)


# -- EXIF --------------------------------------------------------------------------------------


def _dms(micro: int) -> tuple[IFDRational, IFDRational, IFDRational]:
    micro = abs(micro)
    minutes = micro % 10**6 * 60
    seconds = minutes % 10**6 * 60
    return (
        IFDRational(micro // 10**6),
        IFDRational(minutes // 10**6),
        IFDRational(seconds // 10**4, 100),
    )


def _add_gps(exif: Image.Exif, shot: Shot) -> None:
    assert shot.gps is not None
    lat, lon, alt = shot.gps
    gps = exif.get_ifd(0x8825)
    gps.update({0: b"\x02\x02\x00\x00", 1: "N" if lat >= 0 else "S", 2: _dms(lat),
                3: "E" if lon >= 0 else "W", 4: _dms(lon), 5: b"\x01" if alt < 0 else b"\x00",
                6: IFDRational(abs(alt), 10), 29: shot.gps_utc[:10]})  # fmt: skip
    gps[7] = tuple(IFDRational(int(part)) for part in shot.gps_utc[11:].split(":"))


def exif_bytes(shot: Shot, size: tuple[int, int], edited: str | None = None) -> bytes:
    """The EXIF block the phone wrote; `edited` gives the dates a later edit put in instead,
    an edit that also dropped sub-seconds, offsets and GPS."""
    stamp = edited or shot.taken
    exif = Image.Exif()
    exif.update({0x010F: shot.make, 0x0110: shot.model, 0x0131: shot.software, 0x0132: stamp,
                 0x0112: shot.orientation, 0x011A: IFDRational(72), 0x011B: IFDRational(72),
                 0x0128: 2})  # fmt: skip
    ifd = exif.get_ifd(0x8769)
    ifd.update({0x9000: b"0231", 0x9003: stamp, 0x9004: stamp, 0x8827: shot.iso,
                0x829A: IFDRational(*shot.exposure), 0x829D: IFDRational(*shot.fnumber),
                0x920A: IFDRational(*shot.focal), 0xA002: size[0], 0xA003: size[1]})  # fmt: skip
    if edited is None:
        ifd.update({0x9290: shot.subsec, 0x9291: shot.subsec, 0x9292: shot.subsec})
        if shot.offset:
            ifd.update({0x9010: shot.offset, 0x9011: shot.offset, 0x9012: shot.offset})
        if shot.gps:
            _add_gps(exif, shot)
    return exif.tobytes()


# -- encoders ----------------------------------------------------------------------------------


def _jpeg(
    picture: Image.Image, quality: int, exif: bytes = b"", progressive: bool = False
) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, exif=exif, progressive=progressive)
    return out.getvalue()


def _without_jfif(data: bytes) -> bytes:
    # Phones put APP1 Exif right after SOI and write no JFIF segment; Pillow always writes one.
    if data[2:4] != b"\xff\xe0":
        return data
    return data[:2] + data[4 + int.from_bytes(data[4:6], "big") :]


def _fit(picture: Image.Image, longest: int) -> Image.Image:
    scale = longest / max(picture.size)
    if scale >= 1:
        return picture
    size = (round(picture.width * scale), round(picture.height * scale))
    return picture.resize(size, Image.Resampling.LANCZOS)


def telegram_copy(picture: Image.Image) -> bytes:
    """As Telegram Desktop saves a photo: longest side 1280, quality 87, progressive, no EXIF."""
    return _jpeg(_fit(picture, 1280), 87, progressive=True)


def _png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def _heic(picture: Image.Image, quality: int, exif: bytes) -> bytes | None:
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        out = io.BytesIO()
        picture.save(out, format="HEIF", quality=quality, exif=exif)
    except Exception:  # no HEIF encoder in this build: the set goes without its HEIC
        return None
    return out.getvalue()


def _screenshot(picture: Image.Image) -> Image.Image:
    """The picture shown full-screen in a phone's gallery app, as a screenshot captures it."""
    screen = Image.new("RGB", (360, 640), (0, 0, 0))
    shown = _fit(picture, 360)
    screen.paste(shown, (0, (640 - shown.height) // 2))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 359, 17), fill=(24, 24, 24))
    draw.text((8, 2), "21:05", font=font(12), fill=(235, 235, 235))
    draw.rectangle((330, 5, 348, 12), outline=(235, 235, 235))
    draw.rectangle((332, 7, 342, 10), fill=(235, 235, 235))
    return screen


def _flat_scan(scene: int) -> Image.Image:
    card = card_image(SCENES[scene], 520)
    page = Image.new("RGBA", (card.width + 40, card.height + 40), (250, 250, 250, 255))
    page.alpha_composite(card, (20, 20))
    return page.convert("RGB")


# -- the set -----------------------------------------------------------------------------------


class _Studio:
    """Draws each scene and encodes each original once, for every file made from them."""

    def __init__(self) -> None:
        self.drawn: dict[str, Image.Image] = {}

    def upright(self, key: str) -> Image.Image:
        if key not in self.drawn:
            self.drawn[key] = render_scene(SCENES[SHOTS[key].scene])
        return self.drawn[key]

    def stored(self, key: str) -> Image.Image:
        """The pixels as the phone stored them: sideways under Orientation 6."""
        if SHOTS[key].orientation == 6:
            return self.upright(key).transpose(Image.Transpose.ROTATE_90)
        return self.upright(key)

    def original(self, key: str, edited: str | None = None) -> bytes:
        stored, shot = self.stored(key), SHOTS[key]
        return _without_jfif(_jpeg(stored, shot.quality, exif_bytes(shot, stored.size, edited)))

    def heic(self, key: str) -> bytes | None:
        stored, shot = self.stored(key), SHOTS[key]
        return _heic(stored, shot.quality, exif_bytes(shot, stored.size))

    def resized(self, key: str, longest: int, quality: int) -> bytes:
        small = _fit(self.stored(key), longest)
        return _without_jfif(_jpeg(small, quality, exif_bytes(SHOTS[key], small.size)))


Entry = tuple[str, bytes | None, str]  # path, content (None: cannot be made here), why


def _originals(studio: _Studio) -> list[Entry]:
    era = {"vendor": "in the vendor's window", "in-house": "in the in-house era"}
    return [
        ("phone/IMG_0131.JPG", studio.original("A"),
         f"iPhone original: full EXIF, OffsetTimeOriginal, SubSec, GPS; {era['vendor']}"),
        ("phone/IMG_20180203_164410.jpg", studio.original("B"),
         f"Samsung original: naive time (no offset), GPS south and west; {era['vendor']}"),
        ("phone/IMG_20180211_095840.jpg", studio.original("C"),
         f"Huawei portrait stored sideways with Orientation 6, no GPS; {era['vendor']}"),
        ("phone/IMG_20180722_091204.jpg", studio.original("D"),
         f"Xiaomi original: GPS altitude below sea level; {era['in-house']}"),
        ("phone/IMG_20181005_183011.jpg", studio.original("E"),
         f"Pixel original: negative UTC offset, GPS west; {era['in-house']}"),
        ("phone/IMG_0457.HEIC", studio.heic("F"),
         f"iPhone HEIC with EXIF and GPS, written by pillow-heif; {era['in-house']}"),
    ]  # fmt: skip


def _telegram(studio: _Studio) -> list[Entry]:
    def post(scene: Image.Image, why: str) -> tuple[bytes, str]:
        return telegram_copy(scene), f"Telegram Desktop export (1280 px, q87, no EXIF): {why}"

    return [
        ("telegram/photo_3@20-01-2018_19-44-08.jpg",
         *post(studio.upright("A"), "phone/IMG_0131.JPG re-encoded")),
        ("telegram/photo_7@05-02-2018_09-12-44.jpg",
         *post(studio.upright("B"), "phone/IMG_20180203_164410.jpg re-encoded")),
        ("telegram/photo_12@11-02-2018_14-03-27.jpg",
         *post(studio.upright("C"), "the Orientation 6 original, turned upright")),
        ("telegram/photo_15@27-02-2018_22-10-51.jpg",
         *post(render_scene(SCENES[6]), "no original here; posted before the in-house era")),
        ("telegram/photo_31@14-08-2018_21-07-02.jpg",
         *post(studio.upright("D"), "phone/IMG_20180722_091204.jpg re-encoded")),
        ("telegram/photo_58@02-04-2019_08-45-19.jpg",
         *post(studio.upright("F"), "phone/IMG_0457.HEIC converted to JPEG")),
    ]  # fmt: skip


def _misc(studio: _Studio) -> list[Entry]:
    cut = studio.original("E")
    return [
        ("misc/IMG_0131_edited.JPG", studio.original("A", edited="2018:03:15 11:20:00"),
         "phone/IMG_0131.JPG with edited EXIF (dates moved into the in-house era, offsets "
         "and GPS gone): same image data, different file"),
        ("misc/IMG_20180203_164410 (1).jpg", studio.original("B"),
         "exact byte duplicate of phone/IMG_20180203_164410.jpg (a second download)"),
        ("misc/IMG_20180722_091204_800.jpg", studio.resized("D", 800, 85),
         "phone/IMG_20180722_091204.jpg resized to 800 px, q85, EXIF kept"),
        ("misc/Screenshot_2018-08-14-21-05-33.png", _png(_screenshot(studio.upright("D"))),
         "PNG screenshot of phone/IMG_20180722_091204.jpg shown in a gallery app"),
        ("misc/passport_scan.jpg", _png(_flat_scan(7)),
         "a PNG named .jpg (extension mismatch): flat scan of a specimen passport page"),
        ("misc/IMG_20181005_183011_cut.jpg", cut[: len(cut) * 2 // 5],
         "truncated JPEG: the first 40% of phone/IMG_20181005_183011.jpg (EXIF whole)"),
        ("misc/readme_first.jpg", TEXT_NAMED_JPG.encode(), "a text file named .jpg"),
        ("misc/empty.jpg", b"", "an empty file named .jpg"),
    ]  # fmt: skip


def demo_key() -> WatermarkKey:
    from kyctriage.watermark import WatermarkKey

    return WatermarkKey(hashlib.sha256(DEMO_KEY_SEED.encode()).digest())


def _pipeline_jpeg(shot: Shot, mark: bool, mirror: bool = False) -> bytes:
    """A picture as the in-house pipeline (marked) or the vendor (not) stored it."""
    from kyctriage.watermark import embed

    picture = render_scene(SCENES[shot.scene])
    if mirror:
        picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    picture = _fit(picture, 1280 if mark else 1024)
    if mark:
        picture = embed(picture, demo_key())
    out = io.BytesIO()
    subsampling = 2 if mark else 1
    picture.save(out, "JPEG", quality=shot.quality, subsampling=subsampling,
                 exif=exif_bytes(shot, picture.size))  # fmt: skip
    return out.getvalue()


def _pipelines() -> list[Entry]:
    g, h = (_pipeline_jpeg(INHOUSE_SHOTS[k], mark=True) for k in "GH")
    v, w = (_pipeline_jpeg(VENDOR_SHOTS[k], mark=False) for k in "VW")
    marked_copy = telegram_copy(Image.open(io.BytesIO(g)).convert("RGB"))
    return [
        ("inhouse/KYC_000123.jpg", g, "in-house pipeline capture (1280 px, q85, kyc-capture "
         "tags) with the demo watermark; 2018-04-12, in the in-house era"),
        ("inhouse/KYC_000518.jpg", h, "in-house pipeline capture with the demo watermark; "
         "2018-09-27"),
        ("vendor/VC1_20180129_112031.jpg", v, "the vendor's encoder (1024 px, q75, 4:2:2, "
         "VendorCapture 3.2), no watermark; 2018-01-29, in the vendor's window"),
        ("vendor/VC1_20180219_150748.jpg", w, "the vendor's encoder, no watermark; 2018-02-19"),
        ("telegram/photo_60@02-04-2019_08-46-30.jpg", marked_copy,
         "Telegram Desktop export (1280 px, q87, no EXIF): inhouse/KYC_000123.jpg re-encoded; "
         "the watermark survives"),
    ]  # fmt: skip


def _export_json(files: list[Entry]) -> bytes:
    """The export's result.json: one message per Telegram photo, dated as its file name says."""
    messages = []
    for path, _, _ in files:
        name = path.rsplit("/", 1)[-1]
        if not path.startswith("telegram/photo_"):
            continue
        number, stamp = name[len("photo_") : -len(".jpg")].split("@")
        local = datetime.strptime(stamp, "%d-%m-%Y_%H-%M-%S")
        utc = local - timedelta(hours=EXPORT_OFFSET_HOURS)
        messages.append({
            "id": int(number), "type": "message", "date": local.isoformat(),
            "date_unixtime": str(int(utc.replace(tzinfo=UTC).timestamp())),
            "from": "kyc_leaks_admin", "from_id": "channel1000000001",
            "photo": name, "width": 1280, "height": 960, "text": "",
        })  # fmt: skip
    messages.sort(key=lambda m: str(m["date_unixtime"]).zfill(12))
    export = {"name": "KYC leaks (demo)", "type": "public_channel", "id": 1000000001,
              "messages": messages}  # fmt: skip
    return (json.dumps(export, indent=1, ensure_ascii=False) + "\n").encode()


def _profile_files() -> list[Entry]:
    """The demo profile, its public demo key and the vendor fingerprint it names. The
    fingerprint is learned from mirrored vendor captures, not from the files it will judge."""
    from kyctriage.attribution import fingerprint
    from kyctriage.scanning.options import ScanOptions
    from kyctriage.scanning.pipeline import scan

    key = f"kyctriage-watermark-key v1\nseed {demo_key().seed.hex()}\n".encode()
    with tempfile.TemporaryDirectory() as folder:
        for name in "VW":
            Path(folder, f"{name}.jpg").write_bytes(
                _pipeline_jpeg(VENDOR_SHOTS[name], mark=False, mirror=True)
            )
        records = scan(ScanOptions(roots=(folder,), in_process=True)).records
        learned = fingerprint.dumps(fingerprint.learn("vendor", records)).encode()
    profile = (
        "# Demo profile for samples/: `kyctriage scan samples --profile samples/profile.toml`.\n"
        f"# {DEMO_KEY_FILE} is a published demo key: anyone can read it; never use it for real.\n\n"
        '[[pipeline]]\nname = "in-house"\nlabel = "In-house KYC pipeline (demo)"\n'
        f'active_from = 2018-03-01\nwatermark = {{ key = "{DEMO_KEY_FILE}", '
        'aspect_ratios = ["4:3"] }  # what its capture writes: bounds the crop search\n\n'
        '[[pipeline]]\nname = "vendor"\nlabel = "Outsourced KYC vendor (demo)"\n'
        "active_from = 2018-01-15\nactive_to = 2018-02-28\n"
        'fingerprint = "vendor.fingerprint.json"\n'
    ).encode()
    return [
        ("profile.toml", profile, "the demo attribution profile (in-house and vendor)"),
        (DEMO_KEY_FILE, key, "the demo in-house watermark key: public, NOT a secret"),
        ("vendor.fingerprint.json", learned, "the vendor's encoder fingerprint, learned by "
         "`kyctriage profile learn` from mirrored vendor captures"),
    ]  # fmt: skip


def entries() -> list[Entry]:
    """Every file of the set with why it is there; content None when it cannot be made here."""
    studio = _Studio()
    files = _originals(studio) + _telegram(studio) + _pipelines() + _misc(studio)
    files.append(("telegram/result.json", _export_json(files),
                  "the Telegram Desktop export's message list (dates of the posts)"))  # fmt: skip
    return files + _profile_files()


def library_versions() -> dict[str, str]:
    """The libraries whose versions decide the bytes of the set."""
    from PIL import __version__ as pillow_version
    from PIL import features

    versions = {"Pillow": pillow_version}
    for name in ("libjpeg_turbo", "zlib", "freetype2"):
        versions[name] = features.version(name) or "none"
    try:
        import pillow_heif
    except ImportError:
        return versions | {"pillow-heif": "none", "libheif": "none"}
    return versions | {
        "pillow-heif": pillow_heif.__version__,
        "libheif": pillow_heif.libheif_version(),
    }


def versions_text() -> str:
    lines = (f"{name} {version}\n" for name, version in library_versions().items())
    return (
        "# The libraries that wrote these bytes; a fresh write equals them with the same ones.\n"
        + "".join(lines)
    )


def readme_text(files: list[tuple[str, bytes, str]]) -> str:
    head = (
        "# samples: the synthetic demo set\n\n"
        "Written by `kyctriage samples samples` (kyctriage/samples.py), deterministically;\n"
        "`VERSIONS` names the libraries that wrote these bytes. Every picture is drawn: stylised\n"
        "people holding documents of Utopia (UTO, the ICAO test state) marked SPECIMEN, with\n"
        "fake names and numbers. No real person, no real document.\n\n"
        "Demo timeline: an outsourced vendor ran KYC from 2018-01-15 to 2018-02-28, the in-house\n"
        "pipeline from 2018-03-01. Telegram file names carry the post time (local, no zone).\n\n"
    )
    lines = [f"- `{path}`: {why}\n" for path, _, why in files]
    lines.append("- `README.md`, `VERSIONS`: this list, and the library versions that wrote it\n")
    return head + "".join(lines)


def write_samples(directory: Path) -> list[Path]:
    """Write the demo set into `directory`; the same library versions give the same bytes."""
    files = [(path, data, why) for path, data, why in entries() if data is not None]
    docs = [("README.md", readme_text(files).encode()), ("VERSIONS", versions_text().encode())]
    written = []
    for relative, data in [(path, data) for path, data, _ in files] + docs:
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return written
