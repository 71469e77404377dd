"""The terminal summary shows attacker-controlled strings as inert text."""

from __future__ import annotations

import io

from rich.console import Console

from kyctriage.model import Cluster, Clustering, FileRecord, Member, Report, ScanMeta, Thresholds
from kyctriage.render.terminal import inert, print_summary

HOSTILE = [
    "[bold red]fake[/bold red] [/bold]",
    "[link=https://evil.invalid]click[/link]",
    ":warning: :smile:",
    "\x1b[31mred\x1b[0m\x1b]8;;https://evil.invalid\x07link\x1b]8;;\x07",
    "bell\x07nul\x00del\x7fcsi\x9b",
    "evil\u202egnp.exe",
]


def test_inert_escapes_controls_and_bidi():
    assert inert("a\x1bb").plain == "a\\u001bb"
    assert inert("x\u202ey").plain == "x\\u202ey"
    assert inert("[bold]x[/bold]").plain == "[bold]x[/bold]"


def test_summary_prints_hostile_strings_verbatim_and_inert():
    records = tuple(
        FileRecord(root="r", path=name, status="error", error=name, exif=(("Make", name),))
        for name in HOSTILE
    )
    meta = ScanMeta("0", ("kyctriage",), ("r",), "2026-01-01T00:00:00+00:00", "x", 1)
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system="truecolor")
    print_summary(Report(meta=meta, records=records), console)
    text = out.getvalue()
    # Our own styling emits CSI sequences; none of the attacker's ESC/OSC/BEL bytes survive.
    assert "\x1b]8;;https://evil.invalid" not in text
    assert "\x07" not in text and "\x00" not in text and "\u202e" not in text
    assert "[bold red]fake[/bold red]" in text
    assert "[link=https://evil.invalid]" in text
    assert ":warning:" in text and "\u26a0" not in text


def test_summary_says_when_no_watermark_check_was_configured():
    meta = ScanMeta("0", ("kyctriage",), ("r",), "2026-01-01T00:00:00+00:00", "x", 1)
    out = io.StringIO()
    print_summary(Report(meta=meta, records=()), Console(file=out, width=200))
    assert "watermark: no check configured" in out.getvalue()


def _summary_of_one_cluster(unchecked: int) -> str:
    """The terminal summary of a scan with one near cluster of two files (rule: phash +
    dhash, at most 16 checks a picture), its whitespace folded (the caption wraps)."""
    meta = ScanMeta("0", ("kyctriage",), ("r",), "2026-01-01T00:00:00+00:00", "x", 1)
    members = tuple(
        Member("r", name, "0" * 64, relation, "as is", (("phash", 3),), ())
        for name, relation in (("a.jpg", "representative"), ("b.jpg", "near"))
    )
    cluster = Cluster("c1", "near", members[0], members, None, None)
    rule = Thresholds(("phash", "dhash"), 20, 8, ("mirror",), 3, 24, max_checks=16)
    clustering = Clustering(rule, (cluster,), 2, 0, unchecked=unchecked)
    out = io.StringIO()
    print_summary(Report(meta=meta, records=(), clusters=clustering),
                  Console(file=out, width=400))  # fmt: skip
    return " ".join(out.getvalue().split())


def test_summary_says_how_many_candidate_pairs_were_left_unchecked():
    """A scan whose pictures had more candidates than the checks they are given says so,
    with the rule; one that checked every candidate says nothing of it."""
    for unchecked, said in ((4, True), (0, False)):
        text = _summary_of_one_cluster(unchecked)
        said_so = "4 weaker candidate pairs left unchecked (at most 16 checks a picture)"
        assert (said_so in text) is said
        assert "Same photograph" in text


def test_cluster_caption_says_the_hashes_only_propose():
    """The global hashes only propose candidates; the caption must not read as if they decided."""
    text = _summary_of_one_cluster(0)
    assert "candidates proposed when phash + dhash differ by <= 20 bits" in text
    assert "joins only through a verified match" in text
