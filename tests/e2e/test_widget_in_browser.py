"""The widget in a real JupyterLab in headless Chromium, driven the way a person drives it.

Each scenario writes a small notebook, runs it from the Run menu, works the widget with the mouse
and keyboard, and checks what a person would check: the pixels of the canvases, the texts of the
inspector and legend, and the kernel's own view of the same state (asked over a second kernel
client, so the notebook under test is never edited).

The model is a plain numpy function with known behaviour, so every scenario runs in seconds: four
colour regions of different sizes, each class scoring how many pixels have its colour. Hiding part
of the red region (the largest) makes green win there, so the predicted-class map has two classes.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from notebook_page import NotebookPage, read_canvas
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

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


def toy_notebook(open_notebook, name: str, widget: str, prelude: str = TOY_PRELUDE) -> NotebookPage:
    """Open a notebook of the toy prelude and one cell that displays ``w``, then run it all."""
    notebook = open_notebook(name, [prelude, f"w = {widget}\nw"])
    notebook.run_all()
    notebook.wait_for_widget()
    return notebook


def wait_for_status(notebook: NotebookPage, status: str, timeout_ms: int = 60_000) -> None:
    """The progress bar says the sweep reached ``status`` (the browser has the final state)."""
    expect(notebook.by_test_id("ow-progress")).to_have_attribute(
        "data-status", status, timeout=timeout_ms
    )


def test_a_notebook_runs_and_the_widget_renders(open_notebook) -> None:
    nb = toy_notebook(
        open_notebook, "renders.ipynb", "ow.OcclusionWidget(model, image, labels=LABELS)"
    )
    wait_for_status(nb, "done")
    assert nb.py("w.status") == "done"
    assert nb.py("[w.result.rows, w.result.cols, w.result.done]") == [7, 7, 49]

    # The map shows the image under a coloured overlay: many distinct colours, not a blank canvas.
    pixels = read_canvas(nb.map)
    assert pixels.width > 0 and pixels.height > 0
    colours = np.unique(pixels.rgba.reshape(-1, 4), axis=0)
    assert len(colours) > 20, "the map canvas looks blank"
    for test_id in ("ow-view", "ow-target", "ow-recompute", "ow-inspector-image"):
        expect(nb.by_test_id(test_id)).to_be_visible()
    expect(nb.by_test_id("ow-error")).to_be_hidden()
    nb.screenshot("renders")
