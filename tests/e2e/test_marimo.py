"""The widget in a marimo app (anywidget's marimo host), in headless Chromium.

`marimo run` serves tests/e2e/marimo_app.py on a loopback port; the page must draw the widget,
and hovering a cell must show Python's probabilities in the inspector. Nothing may leave the
machine: requests outside the server are refused and fail the test.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

import occlusion_widget as ow
from tests.e2e.jupyter_harness import REPO, wait_until
from tests.e2e.notebook_page import ARTIFACTS
from tests.e2e.toy_colours import LABELS, toy_image, toy_model

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
APP = HERE / "marimo_app.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def marimo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("marimo", reason="marimo is not installed (pip install -e '.[dev]')")
    port = _free_port()
    home = tmp_path_factory.mktemp("marimo-home")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        "MARIMO_SKIP_UPDATE_CHECK": "1",
        # marimo keeps its config and state under the home folder: a private one per run.
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    log = (home / "marimo.log").open("w")
    cmd = [sys.executable, "-m", "marimo", "run", str(APP), "--headless", "--no-token"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-sandbox"]
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            if server.poll() is not None:
                raise RuntimeError(f"marimo exited: {(home / 'marimo.log').read_text()[-2000:]}")
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", port)) == 0

        wait_until(up, timeout=90, what="marimo to listen")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def page(browser, marimo_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    context.set_default_timeout(60_000)
    outside: list[str] = []

    def refuse(route) -> None:
        outside.append(route.request.url)
        route.abort()

    local = re.compile(rf"^(?!{re.escape(marimo_url)}|ws://127\.0\.0\.1|data:|blob:|about:).*")
    context.route(local, refuse)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(marimo_url)
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"marimo-{request.node.name}.png"), full_page=True)
        context.close()
    assert not outside, f"the marimo page requested outside the server: {outside}"
    assert not errors, f"the page raised: {errors}"


def by_id(page: Page, test_id: str) -> Locator:
    # Playwright's CSS locators pierce the open shadow roots marimo renders widgets into.
    return page.locator(f'[data-testid="{test_id}"]')


def test_the_widget_renders_in_marimo_and_hover_shows_pythons_numbers(page: Page) -> None:
    result = ow.occlusion_map(toy_model, toy_image(), progress=False)
    canvas = by_id(page, "ow-map")
    expect(canvas).to_be_visible(timeout=90_000)
    expect(by_id(page, "ow-progress")).to_have_attribute("data-status", "done")

    # A cell where hiding the patch flips the prediction.
    row, col = (int(v) for v in np.argwhere(result.predicted_classes() != result.base_class)[0])
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    top, left, height, width = result.box(row, col)
    page.mouse.move(
        box["x"] + (left + width / 2) / 64 * box["width"],
        box["y"] + (top + height / 2) / 64 * box["height"],
    )
    p = result.probabilities[row, col]
    order = sorted(range(len(p)), key=lambda i: (-float(p[i]), i))
    base = result.base_probabilities
    expect(by_id(page, "ow-prob-row")).to_have_text(
        [
            re.compile(rf"^\s*{LABELS[i]}\s*{p[i]:.3f} \(unoccluded {base[i]:.3f}\)\s*$")
            for i in order
        ]
    )
    expect(by_id(page, "ow-predicted-class")).to_contain_text(f"Predicted: {LABELS[order[0]]}")
    assert LABELS[order[0]] != "red", "the chosen cell should flip the prediction"
