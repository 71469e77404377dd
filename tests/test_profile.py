"""Profiles: a clear error naming the line for every mistake, and paths relative to the file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from kyctriage.aspect import DEFAULT_ASPECT_RATIOS
from kyctriage.attribution.profile import load_profile
from kyctriage.cli.main import main
from kyctriage.errors import UsageError

GOOD = """
[[pipeline]]
name = "in-house"
label = "In-house KYC pipeline"
active_from = 2018-03-01
watermark = { key = "inhouse.key" }

[[pipeline]]
name = "vendor"
label = "Outsourced KYC vendor"
active_from = 2018-01-15
active_to = 2018-02-28
fingerprint = "vendor.fingerprint.json"
marker = { field = "Software", pattern = "^VendorCam" }
"""


def _write(tmp_path, text):
    (tmp_path / "inhouse.key").write_text("demo")
    # A real fingerprint: the profile loads it to check it (issue 25, item 17).
    fingerprint = Path(__file__).parent.parent / "samples" / "vendor.fingerprint.json"
    (tmp_path / "vendor.fingerprint.json").write_bytes(fingerprint.read_bytes())
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def test_good_profile_resolves_paths_relative_to_itself(tmp_path):
    profile = load_profile(_write(tmp_path, GOOD))
    inhouse, vendor = profile.pipelines
    assert inhouse.watermark_key == (tmp_path / "inhouse.key").resolve()
    assert inhouse.active_to is None
    assert vendor.active_from == date(2018, 1, 15) and vendor.active_to == date(2018, 2, 28)
    assert vendor.marker.field == "Software"
    assert len(profile.sha256) == 64


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('label = "Outsourced KYC vendor"', 'colour = "red"'), r"line 10: unknown key 'colour'"),
        (("active_to = 2018-02-28", "active_to = 2018-02-30"), r"line 12"),
        (
            ("active_to = 2018-02-28", 'active_to = "next week"'),
            r"line 12: active_to must be a date",
        ),
        (("active_to = 2018-02-28", "active_to = 2017-02-28"), r"before active_from"),
        (('"vendor.fingerprint.json"', '"missing.json"'), r"line 13: fingerprint: file not found"),
        (  # a name longer than the file system takes (found by fuzz_loaders)
            ('"vendor.fingerprint.json"', '"' + "x" * 300 + '.json"'),
            r"line 13: fingerprint: not a usable file path",
        ),
        (('name = "vendor"', 'name = "in-house"'), r"used twice"),
        (('name = "vendor"', 'name = "inconclusive"'), r"line 9: name 'inconclusive'"),
        (('pattern = "^VendorCam"', 'pattern = "(["'), r"not a valid regular expression"),
        (('[[pipeline]]\nname = "in-house"', '[pipelines]\nname = "x"'), r"unknown top-level key"),
    ],
)
def test_mistakes_are_one_clear_error(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(UsageError, match=message):
        load_profile(_write(tmp_path, GOOD.replace(old, new, 1)))


def test_watermark_aspect_ratios(tmp_path):
    inhouse = load_profile(_write(tmp_path, GOOD)).pipelines[0]
    assert inhouse.watermark_aspects == DEFAULT_ASPECT_RATIOS
    for value, expected in [('"any"', None), ('["4:3", "16:9"]', ((4, 3), (16, 9)))]:
        text = GOOD.replace('key = "inhouse.key"', f'key = "inhouse.key", aspect_ratios = {value}')
        assert load_profile(_write(tmp_path, text)).pipelines[0].watermark_aspects == expected
    shown = CliRunner().invoke(main, ["profile", "show", str(_write(tmp_path, text))])
    assert "watermark (crops of 4:3, 16:9 originals)" in shown.output
    bad = GOOD.replace('key = "inhouse.key"', 'key = "inhouse.key", aspect_ratios = "wide"')
    with pytest.raises(UsageError, match=r"line 6: watermark.aspect_ratios: aspect ratio 'wide'"):
        load_profile(_write(tmp_path, bad))


def test_unreadable_and_empty_profiles(tmp_path):
    with pytest.raises(UsageError, match="cannot read profile"):
        load_profile(tmp_path / "none.toml")
    with pytest.raises(UsageError, match=r"no \[\[pipeline\]\]"):
        load_profile(_write(tmp_path, "# nothing\n"))
