"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``, driven by Playwright from
PyPI; ``.ci/run`` installs both) opens the file with no network and no script, and the verdict matrix,
the claim answers and a per-CPU sequence diagram must be laid out on the page (visible, with a size),
and a verdict's link must take the reader to its diagram. A screenshot of each goes under
``out/screenshots/``. Skipped, saying why, only where no Chromium or no Playwright can be installed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "out" / "screenshots"
CHROMIUM_FLAGS = [
    # as root with no display and a closed network (see the machine notes): no sandbox, no GPU, and no
    # background connections that the network would refuse
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def page():
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_FLAGS)
        ctx = browser.new_context(
            java_script_enabled=False, offline=True, viewport={"width": 1400, "height": 900}
        )
        yield ctx.new_page()
        browser.close()


def test_the_report_renders_in_chromium(page, small_report):
    url = (small_report / "report" / "index.html").resolve().as_uri()
    page.goto(url)
    SHOTS.mkdir(parents=True, exist_ok=True)

    table = page.locator("#verdicts table").first
    assert table.is_visible() and table.locator("tr").count() >= 3
    box = table.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 50

    claims = page.locator("#claims .claim")
    assert claims.count() >= 10
    assert "Necessary?" in claims.first.inner_text()
    claims.first.screenshot(path=str(SHOTS / "report-claim.png"))

    diagram = page.locator("svg.seq").first
    assert diagram.is_visible()
    box = diagram.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert diagram.locator("text").count() > 10

    # a violated verdict's link scrolls to its diagram
    link = page.locator('#verdicts a[href^="#t-timer_no_cancelling_counter-"]').first
    target = link.get_attribute("href")
    link.click()
    assert page.url.endswith(target)
    trace = page.locator(target)
    assert trace.locator("svg.seq").is_visible()
    top = trace.bounding_box()
    assert top is not None and -2 <= top["y"] < 900  # at the top of the viewport after the jump
    page.screenshot(path=str(SHOTS / "report-diagram.png"))
    assert (SHOTS / "report-diagram.png").stat().st_size > 10_000
