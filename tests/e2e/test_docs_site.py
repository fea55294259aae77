"""The documentation site in Chromium: opened from disk with the network off, and served.

The site is built here in strict mode (``mkdocs build --strict``; the figures, live maps and
executed notebooks come from ``build/docs-gen/``, which ``make docs-check`` has just made, so
this build takes seconds). A reader opens a guide, hovers the live map, pins a cell and
switches the target: the standalone page in its iframe answers with no kernel. No page of the
site may request anything outside it.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, FrameLocator, Page, expect

from tests.e2e.notebook_page import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
GUIDE = "getting_started.html"
LOCAL = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        pytest.skip("the docs extra is not installed: `make docs` installs it")
    out = tmp_path_factory.mktemp("docs") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    build = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert build.returncode == 0, f"the strict docs build failed:\n{build.stderr[-4000:]}"
    return out


class Reader:
    """A browser context whose every request outside ``allowed`` is refused and recorded."""

    def __init__(self, context: BrowserContext, allowed: tuple[str, ...]) -> None:
        self.context = context
        self.outside: list[str] = []
        self.errors: list[str] = []

        def refuse(route) -> None:
            if route.request.url.startswith(allowed):
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        context.route(re.compile(".*"), refuse)

    def open(self, url: str) -> Page:
        page = self.context.new_page()
        page.on("pageerror", lambda err: self.errors.append(f"{url}: {err}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"{url}: {msg.text}") if msg.type == "error" else None,
        )
        page.goto(url)
        return page


def _reader(browser, request: pytest.FixtureRequest, allowed: tuple[str, ...]) -> Iterator[Reader]:
    # From disk the network is off; served, only the loopback server answers (the router
    # refuses everything else), so loopback must stay reachable.
    offline = not any(a.startswith("http") for a in allowed)
    context = browser.new_context(viewport={"width": 1300, "height": 1000}, offline=offline)
    context.set_default_timeout(20_000)
    reader = Reader(context, allowed)
    try:
        yield reader
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for n, page in enumerate(context.pages):
            page.screenshot(path=str(ARTIFACTS / f"docs-{request.node.name}-{n}.png"))
        context.close()
    assert not reader.outside, f"the site requested outside itself: {reader.outside}"
    assert not reader.errors, f"the site logged errors: {reader.errors}"


@pytest.fixture
def from_disk(browser, request: pytest.FixtureRequest) -> Iterator[Reader]:
    yield from _reader(browser, request, LOCAL)


@pytest.fixture
def served(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def live_map(page: Page) -> FrameLocator:
    frame = page.frame_locator("iframe.ow-live-map").first
    page.locator("iframe.ow-live-map").first.scroll_into_view_if_needed()
    expect(frame.locator('[data-testid="ow-map"]')).to_be_visible()
    return frame


def hover_at(page: Page, frame: FrameLocator, x: float, y: float) -> None:
    """Move the mouse to a fraction (x, y) of the live map's canvas."""
    box = frame.locator('[data-testid="ow-map"]').bounding_box()
    assert box is not None, "the live map is not on screen"
    page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])


def use_the_map(page: Page) -> None:
    """Hover two cells, pin one, switch the target: the page answers each, with no kernel."""
    frame = live_map(page)
    title = frame.locator(".ow-inspector-title")
    hover_at(page, frame, 0.3, 0.3)
    expect(title).to_have_text(re.compile(r"^Row \d+, column \d+$"))
    first = title.inner_text()
    expect(frame.locator('[data-testid="ow-prob-row"]').first).to_be_visible()
    hover_at(page, frame, 0.8, 0.7)
    expect(title).not_to_have_text(first)
    expect(title).to_have_text(re.compile(r"^Row \d+, column \d+$"))
    page.mouse.click(*_point(frame, 0.5, 0.5))
    expect(title).to_contain_text("pinned")
    heading = frame.locator(".ow-map-title")
    before = heading.inner_text()
    menu = frame.locator('[data-testid="ow-target"]')
    other = menu.locator("option").nth(1).get_attribute("value")
    menu.select_option(other)
    expect(heading).not_to_have_text(before)


def _point(frame: FrameLocator, x: float, y: float) -> tuple[float, float]:
    box = frame.locator('[data-testid="ow-map"]').bounding_box()
    assert box is not None
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


def test_a_live_map_in_a_guide_answers_from_disk(site: Path, from_disk: Reader) -> None:
    page = from_disk.open((site / GUIDE).as_uri())
    use_the_map(page)


def test_a_live_map_in_a_guide_answers_when_served(
    browser, site: Path, served: str, request: pytest.FixtureRequest
) -> None:
    for reader in _reader(browser, request, (*LOCAL, served)):
        page = reader.open(served + GUIDE)
        use_the_map(page)


def test_no_page_requests_anything_outside_the_site(site: Path, from_disk: Reader) -> None:
    # 404.html is for a server to send (its links are absolute); the maps load in their guides.
    pages = sorted(
        p
        for p in site.rglob("*.html")
        if "maps" not in p.relative_to(site).parts and p.name != "404.html"
    )
    assert len(pages) >= 20, [p.name for p in pages]
    for path in pages:
        page = from_disk.open(path.as_uri())
        page.wait_for_load_state("load")
        for frame in page.locator("iframe.ow-live-map").all():
            frame.scroll_into_view_if_needed()  # a live map's own page loads too
        page.close()


def test_search_works_from_disk(site: Path, from_disk: Reader) -> None:
    page = from_disk.open((site / "index.html").as_uri())
    page.locator("label.md-search__icon, .md-search__input").first.click()
    # Typed, as a reader does: the theme searches on key presses. From file:// the search
    # worker runs in a frame (docs/js/iframe-worker.js): the results prove it answered.
    page.locator("input.md-search__input").press_sequentially("reveal", delay=30)
    expect(page.locator(".md-search-result__item").first).to_be_visible()
    expect(page.locator(".md-search-result__item a").first).to_have_attribute(
        "href", re.compile(r"^file://.*\.html")
    )


def test_the_site_has_every_notebook_with_its_outputs(site: Path) -> None:
    for name in ("quickstart", "predicted_class_map", "classroom", "dataset_debugging"):
        text = (site / "notebooks" / f"{name}.html").read_text(encoding="utf-8")
        assert "jp-OutputArea-output" in text, f"{name}: no outputs"
        assert 'src="data:image/png;base64,' in text, f"{name}: no figure"
        assert "application/vnd.jupyter.widget" not in text, f"{name}: a widget needs a kernel"
    # The quick start's widget is its standalone page, live in the notebook's page.
    quickstart = (site / "notebooks" / "quickstart.html").read_text(encoding="utf-8")
    assert re.search(r'<iframe class="ow-live-map" src="maps/quickstart-\d+\.html"', quickstart)


def test_live_maps_keep_their_content_security_policy(site: Path) -> None:
    from occlusion_widget.page import _CSP

    maps = sorted(site.glob("**/maps/*.html"))
    assert len(maps) >= 5, [p.name for p in maps]
    meta = f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
    for path in maps:
        assert meta in path.read_text(encoding="utf-8"), f"{path.name} lost its CSP"
    # Every guide that shows a widget embeds one.
    for guide in ("getting_started", "predicted_class_map", "dataset_debugging", "teaching"):
        text = (site / f"{guide}.html").read_text(encoding="utf-8")
        assert '<iframe class="ow-live-map" src="maps/' in text, f"{guide}: no live map"
