"""The HTML report in a real headless Chromium: nothing runs or loads, filters and sorts work."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kyctriage.attribution.profile import load_profile
from kyctriage.model import Report
from kyctriage.render.html import render_html
from kyctriage.scanning.options import ScanOptions
from kyctriage.scanning.pipeline import scan
from tests.hostile import jpeg_bytes, make_hostile_tree
from tests.test_render_html import PAYLOADS, hostile_report

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright (the test extra) is not installed"
)

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SAMPLES = Path(__file__).resolve().parent.parent / "samples"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]  # fmt: skip
# The demo timeline of samples/README.md, as a profile of date windows only.
DEMO_PROFILE = """
[[pipeline]]
name = "in-house"
label = "In-house KYC pipeline"
active_from = 2018-03-01

[[pipeline]]
name = "vendor"
label = "Outsourced KYC vendor"
active_from = 2018-01-15
active_to = 2018-02-28
"""


def _chromium() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@dataclass
class Opened:
    page: object
    url: str
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def rows(self) -> list[str]:
        return self.page.locator("#image-rows > tr:not(.detail)").all_inner_texts()

    def column(self, index: int) -> list[str]:
        return self.page.locator(f"#image-rows > tr:not(.detail) > td:nth-child({index})")\
            .all_inner_texts()  # fmt: skip

    def assert_nothing_ran(self) -> None:
        assert self.page.evaluate("typeof window.__pwned") == "undefined"
        assert self.dialogs == []
        assert [u for u in self.requests if u != self.url and not u.startswith("data:")] == []
        assert self.errors == []  # a CSP or Trusted Types violation is logged as an error


@pytest.fixture
def open_report(browser: object, tmp_path: Path) -> Iterator[Callable[[Report, str], Opened]]:
    contexts = []

    def opener(report: Report, name: str) -> Opened:
        target = tmp_path / f"{name}.html"
        target.write_text(render_html(report), encoding="utf-8")
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        opened = Opened(page, target.as_uri())
        page.on("request", lambda r: opened.requests.append(r.url))
        page.on("dialog", lambda d: (opened.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: opened.errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and opened.errors.append(m.text))
        page.goto(opened.url)
        page.wait_for_selector("#image-rows > tr")
        return opened

    yield opener
    for context in contexts:
        context.close()


def _screenshot(opened: Opened, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    opened.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _samples_report(tmp_path: Path) -> Report:
    root = SAMPLES
    if not (SAMPLES / "phone").is_dir():
        root = tmp_path / "stand-in"
        make_hostile_tree(root)
        for i in range(4):
            (root / f"IMG_2018020{i + 1}_120000.jpg").write_bytes(jpeg_bytes())
    profile = tmp_path / "demo.toml"
    profile.write_text(DEMO_PROFILE, encoding="utf-8")
    options = ScanOptions(roots=(str(root),), workers=2, profile=load_profile(profile))
    return scan(options, command=("kyctriage", "scan", str(root), "--profile", "demo.toml"))


def test_samples_report_filters_and_sorts(open_report, tmp_path: Path):
    report = _samples_report(tmp_path)
    opened = open_report(report, "samples")
    page, total = opened.page, len(report.records)
    assert len(opened.rows()) == total
    assert page.locator("#shown").inner_text().startswith(f"Showing 1\u2013{total} of {total}")
    _screenshot(opened, "report-samples")

    vendor = sum(1 for r in report.records if r.verdict and r.verdict.label == "vendor")
    page.select_option("#f-verdict", "vendor")
    verdicts = opened.column(4)
    assert vendor and len(verdicts) == vendor
    assert all(v.splitlines()[0].strip() == "vendor" for v in verdicts)

    page.select_option("#f-verdict", "")
    page.click("th[data-key=t] button")
    assert page.get_attribute("th[data-key=t]", "aria-sort") == "ascending"
    times = [t.splitlines()[0] for t in opened.column(6) if t]
    assert times == sorted(times) and len(times) == sum(1 for r in report.records if r.best_time)
    page.click("th[data-key=t] button")
    times = [t.splitlines()[0] for t in opened.column(6) if t]
    assert times == sorted(times, reverse=True)

    errors = sum(1 for r in report.records if r.status == "error")
    page.select_option("#f-status", "error")
    assert len(opened.rows()) == errors
    page.select_option("#f-status", "")
    page.fill("#f-query", "telegram/")
    # the page's CSP forbids eval, so wait from outside rather than with wait_for_function
    sync_api.expect(page.locator("#shown")).to_contain_text("telegram/")
    paths = opened.column(3)
    assert paths and all("telegram/" in p for p in paths)
    opened.assert_nothing_ran()


def test_hostile_strings_show_as_text_and_nothing_runs(open_report):
    opened = open_report(hostile_report(), "hostile")
    page = opened.page
    opened.assert_nothing_ran()
    assert page.locator("script").count() == 2
    assert page.locator("textarea, iframe, object, embed, [onerror], [onload]").count() == 0
    assert page.locator("#image-rows img").count() == len(PAYLOADS)  # the tampered one dropped
    table = page.locator("#image-table").inner_text()
    for payload in PAYLOADS[:5]:
        assert payload in table
    assert "evil\\u202egpj.exe" in table and "\u202e" not in table
    assert PAYLOADS[0] in page.locator("#facts").inner_text()
    assert f"cannot decode: {PAYLOADS[0]}" in page.locator("#errors").inner_text()

    page.locator("#image-rows button.more").first.click()
    detail = page.locator("#image-rows tr.detail").inner_text()
    assert "telegram message" in detail.lower() and PAYLOADS[0] in detail
    page.fill("#f-query", "<img src=x")
    sync_api.expect(page.locator("#shown")).to_contain_text("<img src=x")
    assert len(opened.rows()) == 2  # its own row and the error row naming every payload
    _screenshot(opened, "report-hostile")
    opened.assert_nothing_ran()


def test_scanned_hostile_tree_runs_nothing(open_report, tmp_path: Path):
    root = tmp_path / "leak"
    make_hostile_tree(root)
    report = scan(ScanOptions(roots=(str(root),), workers=2), command=("kyctriage", "scan"))
    opened = open_report(report, "hostile-tree")
    opened.page.select_option("#f-size", "0")
    assert len(opened.rows()) == len(report.records)
    assert "<img src=x onerror=alert(2)>" in opened.page.locator("#image-table").inner_text()
    opened.assert_nothing_ran()
