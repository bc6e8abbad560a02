"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``, driven by Playwright from
PyPI; ``.ci/run`` installs both) opens the file with no network and no script, and the verdict matrix,
the claim answers and a per-CPU sequence diagram must be laid out on the page (visible, with a size),
and a verdict's link must take the reader to its diagram. Every sequence diagram must fit the page's
width, with each box's text inside its box. A screenshot of each goes under ``out/screenshots/``.
Skipped, saying why, only where no Chromium or no Playwright can be installed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the full tier only (make test-all): it starts Chromium
pytestmark = pytest.mark.slow
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
    # the small report runs a few cells: a claim shows its answer, or says what this run did not run
    first = claims.first.inner_text()
    assert "Necessary?" in first or "Not answered by this run" in first, first[:300]
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


# For each sequence diagram: how far it reaches past the page's content box (px, <= 0 when it fits),
# and every line of a box's text that runs past its box (the SVG is flat: a box, then its lines).
FIT = """svgs => svgs.map(svg => {
    const page = document.body.getBoundingClientRect();
    const r = svg.getBoundingClientRect();
    const out = [];
    let box = null;
    for (const e of svg.children) {
        if (e.tagName === 'rect') { box = e.getBBox(); continue; }
        if (e.tagName !== 'text' || box === null || e.getBBox().x < box.x) continue;
        const t = e.getBBox();
        if (t.x + t.width > box.x + box.width + 0.5) out.push(e.textContent);
    }
    return {past: r.right - Math.min(page.right, document.documentElement.clientWidth), width: r.width,
            overflow: out};
})"""


def test_every_sequence_diagram_fits_its_page(page, small_report):
    """The diagrams used to be wider than the page (1880 px in 1400: two lanes off-screen, user-space
    steps looking like empty rows) and to cut their boxes' text; each row now shows the values changed
    and the state that breaks the invariant in red."""
    page.goto((small_report / "report" / "index.html").resolve().as_uri())
    diagrams = page.locator("svg.seq")
    assert diagrams.count() >= 5
    fits = diagrams.evaluate_all(FIT)
    assert [f["past"] for f in fits if f["past"] > 0] == []
    assert [f["overflow"] for f in fits if f["overflow"]] == []
    widest = max(range(len(fits)), key=lambda k: fits[k]["width"])
    wide = diagrams.nth(widest)
    assert "\u2192" in (wide.text_content() or "")  # values: old→new (an SVG has no inner_text)
    wide.screenshot(path=str(SHOTS / "report-diagram-widest.png"))
    broken = page.locator('svg.seq rect[fill="#fde8e8"]')
    assert broken.count() >= 1  # a safety counterexample's last state stands out
