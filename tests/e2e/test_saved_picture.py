"""The picture beside the widget, in a real JupyterLab: saved, shared and reopened notebooks.

Issue 18, item 1: a notebook saved after Run All carried nothing but the widget's model id, so
GitHub, nbconvert and VS Code showed ``OcclusionWidget(...)`` and JupyterLab, reopened without
the kernel, "Error displaying widget: model not found". Now the output also holds the finished
map as ``image/png``, replaced by display id when the sweep ends or the target changes; the live
view keeps its content across those updates (``js/widget/keep_view.ts``).
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.jupyter_harness import JupyterServer, wait_until
from tests.e2e.notebook_page import ARTIFACTS, NotebookPage
from tests.e2e.widget_page import TOY_PRELUDE, TOY_WIDGET, toy_notebook, wait_for_status

pytestmark = pytest.mark.e2e

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def widget_output(doc: dict) -> dict:
    (output,) = [
        out for c in doc["cells"] for out in c.get("outputs", []) if WIDGET_VIEW_MIME in out["data"]
    ]
    return output


def saved_until(nb: NotebookPage, done) -> dict:
    """Ctrl+S until the file on disk satisfies ``done`` (an update may land after a save)."""
    path = nb.server.notebooks / nb.name

    def attempt() -> dict | None:
        nb.page.keyboard.press("Control+s")
        doc = json.loads(path.read_text())  # this save's, or the last one's
        return doc if done(doc) else None

    return wait_until(attempt, 30, f"{nb.name} saved with the picture", interval=0.5)


def test_a_saved_notebook_carries_the_finished_map_and_shows_it_without_a_kernel(
    open_notebook, jupyter: JupyterServer
) -> None:
    nb = toy_notebook(open_notebook, "picture.ipynb", TOY_WIDGET)
    wait_for_status(nb, "done")
    view = nb.page.locator(".ow-root")
    expect(view).to_have_count(1)
    view.evaluate("root => { root.dataset.owProbe = 'the view first drawn'; }")
    # What a person does after Run All: another target and view, picked in the widget.
    view.get_by_test_id("ow-view").select_option("probability")
    nb.kernel.wait_for("w.view", lambda v: v == "probability", timeout=20)
    view.get_by_test_id("ow-target").select_option("1")  # green
    nb.kernel.wait_for("w.target", lambda v: v == 1, timeout=20)
    # The map as the kernel draws it now (nothing pinned, so save() draws only the map).
    nb.kernel.execute("w.save('expected.png', dpi=100)")
    expected = pixels((jupyter.notebooks / "expected.png").read_bytes())

    def shows_the_final_map(doc: dict) -> bool:
        png = widget_output(doc)["data"].get("image/png")
        if png is None:
            return False
        shown = pixels(base64.b64decode(png))
        return shown.shape == expected.shape and bool(np.array_equal(shown, expected))

    doc = saved_until(nb, shows_the_final_map)
    assert "widgets" not in doc["metadata"], "widget state was saved with saveState off"
    # The output was replaced twice (sweep end, new target and view); the live view was not
    # drawn again: the same element, with what the person had on screen.
    expect(nb.page.locator(".ow-root")).to_have_count(1)
    assert view.evaluate("root => root.dataset.owProbe") == "the view first drawn"
    expect(view.get_by_test_id("ow-target")).to_have_value("1")
    nb.screenshot("picture-live")

    # Shared: the same notebook from someone else (JupyterLab does not trust it), no kernel
    # state for its widget: JupyterLab draws the picture the output carries.
    doc["metadata"]["shared_by"] = "a colleague"
    (jupyter.notebooks / "shared.ipynb").write_text(json.dumps(doc))
    nb.close()
    jupyter.shutdown_kernels()
    shared = NotebookPage(nb.page, jupyter, "shared.ipynb").open()
    picture = shared.page.locator(".jp-OutputArea-output img[src^='data:image/png']")
    expect(picture).to_have_count(1, timeout=60_000)
    expect(picture).to_be_visible()
    shown = picture.evaluate(
        "img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])"
    )
    assert shown == [expected.shape[1], expected.shape[0]]
    expect(shared.page.get_by_text("Error displaying widget")).to_have_count(0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    picture.screenshot(path=str(ARTIFACTS / "picture-shared.png"))
    shared.close()


def test_notebook_7_saves_the_picture_and_keeps_the_live_view(open_notebook) -> None:
    nb = open_notebook("picture-nb7.ipynb", [TOY_PRELUDE, f"w = {TOY_WIDGET}\nw"], app="notebook")
    nb.run_all()
    nb.wait_for_widget()
    wait_for_status(nb, "done")
    view = nb.page.locator(".ow-root")
    view.evaluate("root => { root.dataset.owProbe = 'the view first drawn'; }")
    view.get_by_test_id("ow-target").select_option("1")
    nb.kernel.wait_for("w.target", lambda v: v == 1, timeout=20)
    nb.kernel.execute("w.wait(); w.save('expected-nb7.png', dpi=100)")
    expected = pixels((nb.server.notebooks / "expected-nb7.png").read_bytes())

    def shows_the_final_map(doc: dict) -> bool:
        png = widget_output(doc)["data"].get("image/png")
        return png is not None and bool(np.array_equal(pixels(base64.b64decode(png)), expected))

    saved_until(nb, shows_the_final_map)
    expect(nb.page.locator(".ow-root")).to_have_count(1)
    assert view.evaluate("root => root.dataset.owProbe") == "the view first drawn"
    nb.screenshot("picture-notebook7")
