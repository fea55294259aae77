"""A notebook open in the browser (JupyterLab or Notebook 7), run the way a person runs it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.e2e.jupyter_harness import JupyterServer, Kernel, wait_until

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# Budgets for a shared 2-core machine: a kernel importing TensorFlow can take half a minute.
PAGE_TIMEOUT_MS = 60_000
RUN_TIMEOUT_MS = 180_000

# A test reads the canvas pixels through this, never through a screenshot.
READ_CANVAS_JS = """
(canvas) => {
  const ctx = canvas.getContext("2d");
  const {width, height} = canvas;
  return {width, height, data: Array.from(ctx.getImageData(0, 0, width, height).data)};
}
"""


class CanvasPixels:
    """RGBA pixels read from a canvas in the page."""

    def __init__(self, width: int, height: int, data: list[int]) -> None:
        import numpy as np

        self.width, self.height = width, height
        self.rgba = np.asarray(data, dtype=np.uint8).reshape(height, width, 4)


def read_canvas(locator: Locator) -> CanvasPixels:
    raw = locator.evaluate(READ_CANVAS_JS)
    return CanvasPixels(raw["width"], raw["height"], raw["data"])


class NotebookPage:
    """One notebook opened in a page, plus a side door into its kernel."""

    def __init__(self, page: Page, server: JupyterServer, name: str, app: str = "lab") -> None:
        self.page, self.server, self.name, self.app = page, server, name, app
        self._kernel: Kernel | None = None

    # -- opening and running -------------------------------------------------------------------

    def open(self) -> NotebookPage:
        if self.app == "lab":
            # `reset`: start from an empty workspace, not with the last test's tabs restored.
            url = f"{self.server.base}/lab/tree/{self.name}?reset&token={self.server.token}"
        else:
            url = self.server.url(f"/notebooks/{self.name}")
        self.page.goto(url)
        expect(self.page.locator(".jp-Notebook").first).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        self.wait_for_kernel_idle()
        return self

    def wait_for_kernel_idle(self, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
        """The page is connected to a started kernel that is not running anything.

        The page's indicator alone says "idle" before a kernel exists, and running cells then
        opens a kernel chooser; so first ask the server that the page's socket is connected.
        """

        def connected() -> bool:
            kernel_id = self.server.kernel_id_for(self.name)
            kernel = self.server.api("GET", f"/api/kernels/{kernel_id}")
            return kernel["connections"] > 0 and kernel["execution_state"] == "idle"

        wait_until(connected, timeout_ms / 1000, f"the page's kernel for {self.name}")
        indicator = self.page.locator(".jp-Notebook-ExecutionIndicator").first
        expect(indicator).to_have_attribute("data-status", "idle", timeout=timeout_ms)

    def run_all(self, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """Run > Run All Cells from the menu bar, then wait until every code cell has run."""
        self.page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Run").click()
        run_all = self.page.locator(
            '.lm-Menu-item[data-command="runmenu:run-all"],'
            ' .lm-Menu-item[data-command="notebook:run-all-cells"]'
        )
        run_all.first.click()
        self.wait_for_cells_done(timeout_ms)

    def wait_for_cells_done(self, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """Every code cell shows an execution count, or a cell failed (then raise with its text)."""
        state = self.page.wait_for_function(
            """() => {
              // Lab renders a raised exception as stderr text holding the traceback.
              const error = [...document.querySelectorAll(
                '.jp-Notebook [data-mime-type="application/vnd.jupyter.stderr"]')]
                .find(out => out.textContent.includes('Traceback (most recent call last)'));
              if (error) return {error: error.textContent};
              const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
                .map(cell => cell.querySelector('.jp-InputPrompt')?.textContent ?? '');
              const done = prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p));
              return done ? {error: null} : false;
            }""",
            timeout=timeout_ms,
            polling=200,
        ).json_value()
        if state["error"]:
            raise AssertionError(f"a notebook cell raised:\n{state['error'][-3000:]}")
        self.wait_for_kernel_idle(timeout_ms)

    # -- the widget ----------------------------------------------------------------------------

    def by_test_id(self, test_id: str) -> Locator:
        return self.page.get_by_test_id(test_id)

    @property
    def map(self) -> Locator:
        return self.by_test_id("ow-map").first

    def wait_for_widget(self, timeout_ms: int = PAGE_TIMEOUT_MS) -> Locator:
        expect(self.map).to_be_visible(timeout=timeout_ms)
        # Drawn, not only inserted: the canvas has the image's size.
        wait_until(lambda: self.map.evaluate("c => c.width > 0 && c.height > 0"), 30, "a drawn map")
        return self.map

    def screenshot(self, name: str) -> Path:
        """Save the widget's output area (or the page, before there is a widget) as an artefact."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        output = self.page.locator(".jp-OutputArea-output", has=self.by_test_id("ow-map")).first
        if output.count() and output.is_visible():
            output.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path))
        return path

    # -- the kernel ----------------------------------------------------------------------------

    @property
    def kernel(self) -> Kernel:
        if self._kernel is None:
            kernel_id = wait_until(
                lambda: self.server.kernel_id_for(self.name), 30, f"a kernel for {self.name}"
            )
            connection = self.server.runtime_dir / f"kernel-{kernel_id}.json"
            wait_until(connection.is_file, 30, f"{connection.name}")
            self._kernel = Kernel(connection)
        return self._kernel

    def py(self, expression: str, timeout: float = 60.0) -> Any:
        """A JSON-able Python expression evaluated in the notebook's kernel."""
        return self.kernel.value(expression, timeout)

    def close(self) -> None:
        if self._kernel is not None:
            self._kernel.close()
            self._kernel = None


def safe_name(nodeid: str) -> str:
    """A file name from a pytest node id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")
