"""The toy notebook the widget's browser tests share, and how they read and drive the widget.

The toy model (``TOY_PRELUDE``) is a plain numpy function with known behaviour: four colour
regions of different sizes, each class scoring how many pixels have its colour. ``KERNEL_HELPERS``
asks the kernel what Python computed, for a test to compare with what the page shows;
:func:`cell_point_on` finds a cell on a map canvas and :func:`expect_inspector_shows` checks the
inspector against Python. Used by test_widget_in_browser.py, test_widget_state.py and
test_gallery_in_browser.py.
"""

from __future__ import annotations

import re
import textwrap

from playwright.sync_api import Locator, expect

from tests.e2e.notebook_page import NotebookPage

TOY_PRELUDE = textwrap.dedent(
    """
    import time
    import numpy as np
    import occlusion_widget as ow

    LABELS = ["red", "green", "blue", "yellow"]
    COLOURS = np.array([[220, 30, 30], [30, 200, 30], [30, 30, 220], [220, 220, 30]], np.float32)
    image = np.zeros((64, 64, 3), np.uint8)
    image[:36, :32] = COLOURS[0]   # 1152 red pixels: the unoccluded prediction
    image[:34, 32:] = COLOURS[1]   # 1088 green
    image[36:, :32] = COLOURS[2]   # 896 blue
    image[34:, 32:] = COLOURS[3]   # 960 yellow
    noise = np.random.default_rng(0).integers(-10, 11, image.shape)
    image = np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8)

    calls = {"n": 0, "fail_after": None}
    delay = {"s": 0.0}

    def model(batch):
        calls["n"] += 1
        if calls["fail_after"] is not None and calls["n"] > calls["fail_after"]:
            raise RuntimeError("sensor unplugged: cannot score this batch")
        if delay["s"]:
            time.sleep(delay["s"])
        x = np.asarray(batch, np.float32)
        distance = np.linalg.norm(x[..., None, :] - COLOURS, axis=-1)
        z = (distance < 60).sum(axis=(1, 2)).astype(np.float32) / 64.0
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    """
).strip()


TOY_WIDGET = "ow.OcclusionWidget(model, image, labels=LABELS)"

# Defined in the kernel through the side door: what Python computed, for the tests to compare.
KERNEL_HELPERS = textwrap.dedent(
    """
    def _ow_cell(r, c):
        result = w.result
        p = result.probabilities[r, c]
        order = sorted(range(len(p)), key=lambda i: (-float(p[i]), i))[: w.top_k]
        return {
            "names": [w.labels[i] for i in order],
            "p": [float(p[i]) for i in order],
            "base": [float(result.base_probabilities[i]) for i in order],
            "predicted": w.labels[order[0]],
            "box": [int(v) for v in result.box(r, c)],
            "computed": bool(result.computed[r, c]),
        }

    def _ow_grid():
        g = w.grid
        return {
            "rows": int(g["rows"]),
            "cols": int(g["cols"]),
            "tops": [int(t) for t in g["tops"]],
            "lefts": [int(v) for v in g["lefts"]],
            "patch": [int(v) for v in g["patch"]],
            "height": int(w.image.shape[0]),
            "width": int(w.image.shape[1]),
        }

    def _ow_picture_settled():
        # The output's picture shows the current view and no redraw is pending (a redraw
        # replaces the output, which marks the notebook changed: after a save, closing asks).
        picture = w._picture
        timer = picture._timer
        if timer is not None and timer.is_alive():
            return False
        return picture._draw(picture._look()[1])[0] == picture._sent_key
    """
)

CANVAS_CHECKSUM_JS = """
(canvas) => {
  const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let h = 0;
  for (let i = 0; i < d.length; i += 4) {
    h = (Math.imul(h, 31) + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) >>> 0;
  }
  return h;
}
"""


def toy_notebook(
    open_notebook, name: str, widget: str, setup: str = "", app: str = "lab"
) -> NotebookPage:
    """Open a notebook of the toy prelude and one cell that displays ``w``, then run it all
    (in JupyterLab, or ``app="notebook"`` for Notebook 7)."""
    cell = f"{setup}\nw = {widget}\nw".strip()
    notebook = open_notebook(name, [TOY_PRELUDE, cell], app=app)
    notebook.run_all()
    notebook.wait_for_widget()
    notebook.kernel.execute(KERNEL_HELPERS)
    return notebook


def wait_for_status(notebook: NotebookPage, status: str, timeout_ms: int = 60_000) -> None:
    """The progress bar says the sweep reached ``status`` (the browser has the final state)."""
    expect(notebook.by_test_id("ow-progress")).to_have_attribute(
        "data-status", status, timeout=timeout_ms
    )


def cell_point(notebook: NotebookPage, row: int, col: int) -> tuple[float, float]:
    """Page coordinates of the centre of cell (row, col)'s patch on the map."""
    return cell_point_on(notebook.py("_ow_grid()"), notebook.map, row, col)


def cell_point_on(grid: dict, canvas: Locator, row: int, col: int) -> tuple[float, float]:
    """Page coordinates of the centre of cell (row, col)'s patch on a map ``canvas``, given the
    kernel's ``_ow_grid()``."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None, "the map is not on screen"
    x = grid["lefts"][col] + grid["patch"][1] / 2
    y = grid["tops"][row] + grid["patch"][0] / 2
    return (
        box["x"] + x / grid["width"] * box["width"],
        box["y"] + y / grid["height"] * box["height"],
    )


def map_checksum(notebook: NotebookPage) -> int:
    return int(notebook.map.evaluate(CANVAS_CHECKSUM_JS))


def wait_for_map_change(notebook: NotebookPage, before: int, timeout_ms: int = 30_000) -> None:
    notebook.page.wait_for_function(
        f"([canvas, before]) => ({CANVAS_CHECKSUM_JS})(canvas) !== before",
        arg=[notebook.map.element_handle(), before],
        timeout=timeout_ms,
    )


def expect_inspector_shows(notebook: NotebookPage, row: int, col: int) -> dict:
    """The inspector's rows and predicted class are Python's for cell (row, col); returns them."""
    cell = notebook.py(f"_ow_cell({row}, {col})")
    assert cell["computed"], f"cell ({row}, {col}) was not computed"
    expected = [
        re.compile(rf"^\s*{re.escape(name)}\s*{p:.3f} \(unoccluded {base:.3f}\)\s*$")
        for name, p, base in zip(cell["names"], cell["p"], cell["base"], strict=True)
    ]
    expect(notebook.by_test_id("ow-prob-row")).to_have_text(expected)
    predicted = notebook.by_test_id("ow-predicted-class")
    expect(predicted).to_contain_text(f"Predicted: {cell['predicted']}")
    return cell


#: One entry of the predicted-class legend: name, count, percentage and any mark after them.
LEGEND_ENTRY = re.compile(r"^\s*(?P<name>.+?)\s*(?P<count>\d+) · (?P<percent>[\d.]+)%(?P<rest>.*)$")
