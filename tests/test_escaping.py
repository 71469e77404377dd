"""One escaping rule for every text an analyst sees (issue 25, items 4-6): every string of a
report, poisoned, leaves no control, bidi, invisible or format character and no formula start
in the terminal summary, the CSVs, the timeline, the HTML page or the manifest."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from kyctriage.cli.main import main
from kyctriage.model import Cluster, Clustering, Member, Report, Thresholds
from kyctriage.render.csv import render_csv, render_timeline, safe_cell
from kyctriage.render.html import render_html
from kyctriage.render.manifest import render_manifest
from kyctriage.render.terminal import print_summary
from kyctriage.render.text import visible
from tests.test_render_html import _island, hostile_report

# The five characters of item 6, a screen clear, a title change, a bare CR before a formula.
POISON = (
    "\x1b]0;owned\x07\x1b[2J\x9b31m\r=2+5*cmd|A0\n"
    "\U000e0041\u00ad\u061c\u206f\ufff9\u202e\u2066\u200b\ufeff\u2028\x7f"
)
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def _unsafe(text: str, allowed: str = "\n") -> list[str]:
    return sorted({
        f"U+{ord(c):04X}" for c in text
        if c not in allowed and (
            unicodedata.category(c) in _UNSAFE_CATEGORIES or 0xE0000 <= ord(c) <= 0xE0FFF
        )
    })  # fmt: skip


def test_every_control_format_and_separator_character_is_escaped() -> None:
    missed = [
        f"U+{cp:04X}" for cp in range(0x110000)
        if unicodedata.category(chr(cp)) in _UNSAFE_CATEGORIES and visible(chr(cp)) == chr(cp)
    ]  # fmt: skip
    assert missed == []
    assert visible("a\U000e0041b\u00adc") == "a\\U000e0041b\\u00adc"
    # The fast path (isprintable) and the regex agree on every code point.
    from kyctriage.render.text import _UNSAFE, _escape

    differ = [cp for cp in range(0x110000) if visible(chr(cp)) != _UNSAFE.sub(_escape, chr(cp))]
    assert differ == []
    assert visible("invoice.jpg") == "invoice.jpg" and visible("Zoë 北京 🙂") == "Zoë 北京 🙂"


def test_five_invisible_variants_no_longer_look_alike() -> None:
    names = [f"invoice{c}.jpg" for c in "\U000e0041\u00ad\u061c\u206f\ufff9"]
    assert len({visible(n) for n in names}) == 5
    assert all(visible(n) != "invoice.jpg" for n in names)


def test_a_spelled_out_escape_cannot_pass_for_the_character() -> None:
    # A name may hold the six letters \u202e; shown as they are, it would read exactly like
    # a name holding the bidi control itself.
    spelled, real = "evil\\u202egpj.exe", "evil\u202egpj.exe"
    assert visible(spelled) != visible(real)
    assert visible(spelled) == "evil\\\\u202egpj.exe" and visible(real) == "evil\\u202egpj.exe"
    assert visible("a\\") != visible("a") and visible("plain.jpg") == "plain.jpg"


def _poison(value: Any, field: str = "") -> Any:
    """Every string of the report with POISON appended (the status, which the saved report's
    loader checks against its few values, kept)."""
    if isinstance(value, str):
        return value if field == "status" else value + POISON
    if isinstance(value, tuple):
        return tuple(_poison(v, field) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _poison(getattr(value, f.name), f.name)
                   for f in dataclasses.fields(value) if f.name != "thumbnail"}  # fmt: skip
        return dataclasses.replace(value, **changes)
    return value


@pytest.fixture(scope="module")
def poisoned() -> Report:
    report = hostile_report()
    first, second = report.records[0], report.records[1]
    members = tuple(
        Member(r.root, r.path, r.sha256 or "", relation, "mirrored", (("phash", 3),), ("crop",))
        for r, relation in ((first, "representative"), (second, "near"))
    )
    cluster = Cluster("c1", "near", members[0], members, first.best_time, first.path)
    thresholds = Thresholds(("phash", "dhash"), 20, 8, ("mirrored",), 6, 64)
    clustering = Clustering(thresholds, (cluster,), 2, 0)
    return _poison(dataclasses.replace(report, clusters=clustering))


def test_poisoned_report_is_complete(poisoned: Report) -> None:
    assert POISON in poisoned.records[0].path and POISON in poisoned.meta.tool_version
    assert poisoned.clusters is not None and POISON in poisoned.clusters.clusters[0].id


def test_terminal_summary_shows_no_raw_control(poisoned: Report) -> None:
    out = io.StringIO()
    print_summary(poisoned, Console(file=out, width=400, color_system=None, emoji=False))
    text = out.getvalue()
    assert "\\u001b" in text  # the poison is there, visibly
    assert _unsafe(text) == []


@pytest.mark.parametrize("render", [render_csv, render_timeline])
def test_csv_and_timeline_leak_no_control_and_no_formula(poisoned: Report, render) -> None:
    text = "".join(render(poisoned))
    assert _unsafe(text) == []
    # A reader that ends rows at CR, LF or both sees no cell starting a formula.
    for line in re.split("[\r\n]", text):
        for cell in next(csv.reader([line]), []):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_html_and_manifest_leak_no_control(poisoned: Report) -> None:
    page = render_html(poisoned)
    assert _unsafe(page, allowed="\n") == []
    # The rows the page's script draws: JSON escapes would hide a raw control from the check
    # above, and the script would put it back in the page.
    island = _island(page)
    assert [s for s in _strings(island) if _unsafe(s, allowed="")] == []
    assert any("\\u001b" in s for s in _strings(island))
    manifest = render_manifest(poisoned, [("r" + POISON, "0" * 64)], ("kyctriage", POISON))
    assert _unsafe(manifest) == []


def test_formula_after_a_carriage_return_is_inert() -> None:
    assert safe_cell("Canon\r=2+5*cmd|A0") == "Canon\\u000d=2+5*cmd|A0"
    assert safe_cell("\r=1+1") == "\\u000d=1+1" and safe_cell("\t@x") == "\\u0009@x"
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("\uff1d1+1").startswith("'")
    assert safe_cell(-5) == "-5"  # a number is not a formula


def test_compare_csvs_are_inert(tmp_path) -> None:
    from tests.hostile import jpeg_bytes

    leak, ref = tmp_path / "leak", tmp_path / "ref"
    for folder in (leak, ref):
        folder.mkdir()
        (folder / "a\r=2+5*cmd|A0.jpg").write_bytes(jpeg_bytes())
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["compare", str(leak), str(ref), "--csv", str(out),
                                       "--leak-csv", str(tmp_path / "l.csv"), "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for path in (out, tmp_path / "l.csv"):
        text = path.read_text()
        assert "\r" not in text and "\\u000d=2+5" in text


def test_report_and_profile_show_print_no_escape(tmp_path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text('[[pipeline]]\nname = "vendor"\nlabel = "V\\u001b]0;owned\\u0007"\n')
    result = CliRunner().invoke(main, ["profile", "show", str(profile)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\\u001b]0;owned" in result.output


@pytest.mark.parametrize("name", ["vendor\n", "vendor\r", "ven\u200bdor"])
def test_a_pipeline_name_with_a_trailing_newline_is_refused(tmp_path, name: str) -> None:
    import json as _json

    profile = tmp_path / "p.toml"
    profile.write_text(f'[[pipeline]]\nname = {_json.dumps(name)}\nlabel = "V"\n')
    result = CliRunner().invoke(main, ["profile", "show", str(profile)])
    assert result.exit_code == 2, result.output
