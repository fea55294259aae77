"""Fixtures for the real-browser tests: one JupyterLab server and one Chromium per session.

Every test gets a fresh browser context and page. When a test fails, its last screenshot, the
browser console and the tail of the server log are kept under ``tests/e2e/artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.jupyter_harness import ASSETS, CHROMIUM, CHROMIUM_ARGS, JupyterServer
from tests.e2e.notebook_page import ARTIFACTS, NotebookPage, safe_name

# Several engineers share two cores here: give web-first assertions room to breathe.
expect.set_options(timeout=15_000)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    # Keep each phase's report on the item so that fixture teardown knows whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(item: pytest.Item) -> bool:
    return any(
        getattr(getattr(item, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}; `make chromium` installs Debian's package "
            "(set OW_CHROMIUM to use another binary). Never let Playwright download a browser."
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = JupyterServer(tmp_path_factory.mktemp("jupyter-e2e"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[object]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, jupyter: JupyterServer, request: pytest.FixtureRequest) -> Iterator[object]:
    name = safe_name(request.node.nodeid)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob(f"{name}*"):
        stale.unlink()

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    console: list[str] = []
    outside: list[str] = []
    page = context.new_page()
    page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda err: console.append(f"[pageerror] {err}"))

    def note_request(req) -> None:
        if not req.url.startswith((jupyter.base, "data:", "blob:", "about:")):
            outside.append(req.url)

    page.on("request", note_request)
    try:
        yield page
    finally:
        if _failed(request.node):
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}.failed.png"), full_page=True)
            except Exception as err:  # the page may be gone; the logs still matter
                console.append(f"[harness] no screenshot: {err!r}")
            log = "\n".join(console)
            if outside:
                log += "\n\nrequests outside the server:\n" + "\n".join(outside)
            log += "\n\njupyter server log (tail):\n" + jupyter.log_tail(80)
            (ARTIFACTS / f"{name}.console.log").write_text(log)
        context.close()
    # Nothing may leave the machine: a request to the internet is a bug here.
    assert not outside, f"the page requested outside the server: {outside}"


@pytest.fixture
def open_notebook(page, jupyter: JupyterServer) -> Iterator[Callable[..., NotebookPage]]:
    """Write a notebook of ``cells`` (or copy ``source``), open it in ``app``, return the page."""
    opened: list[NotebookPage] = []

    def open_(
        name: str,
        cells: list[str] | None = None,
        *,
        source: Path | None = None,
        app: str = "lab",
    ) -> NotebookPage:
        if source is not None:
            jupyter.copy_notebook(source, name)
        else:
            jupyter.write_notebook(name, cells or [])
        notebook = NotebookPage(page, jupyter, name, app=app)
        opened.append(notebook)
        return notebook.open()

    yield open_
    for notebook in opened:
        notebook.close()
    jupyter.shutdown_kernels()


@pytest.fixture(scope="session")
def assets() -> Path:
    if not (ASSETS / "keras_home").is_dir():
        pytest.skip(f"no shared assets at {ASSETS} (ImageNet weights for MobileNetV2)")
    return ASSETS


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Leave no empty artefacts folder behind when nothing was written.
    if ARTIFACTS.is_dir() and not any(ARTIFACTS.iterdir()):
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
