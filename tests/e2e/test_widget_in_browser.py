"""The widget in a real JupyterLab in headless Chromium, driven the way a person drives it.

Each scenario writes a small notebook, runs it from the Run menu, works the widget with the mouse
and keyboard, and checks what a person would check: the pixels of the canvases, the texts of the
inspector and legend, and the kernel's own view of the same state (asked over a second kernel
client, so the notebook under test is never edited).

The model is a plain numpy function with known behaviour, so every scenario runs in seconds: four
colour regions of different sizes, each class scoring how many pixels have its colour. Hiding part
of the red region (the largest) makes green win there, so the predicted-class map has two classes.
The toy notebook and the helpers that read the page are in widget_page.py.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e.notebook_page import read_canvas
from tests.e2e.widget_page import (
    LEGEND_ENTRY,
    TOY_WIDGET,
    cell_point,
    expect_inspector_shows,
    map_checksum,
    toy_notebook,
    wait_for_map_change,
    wait_for_status,
)

pytestmark = pytest.mark.e2e


def test_a_notebook_runs_and_the_widget_renders(open_notebook) -> None:
    nb = toy_notebook(open_notebook, "renders.ipynb", TOY_WIDGET)
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


def test_hover_shows_the_occluded_image_and_pythons_probabilities(open_notebook) -> None:
    nb = toy_notebook(open_notebook, "hover.ipynb", TOY_WIDGET)
    wait_for_status(nb, "done")
    # A cell where hiding the patch changes the prediction: the interesting kind to inspect.
    row, col = nb.py(
        "[[int(r), int(c)] for r, c in zip(*np.nonzero("
        "w.result.predicted_classes() != w.result.base_class))][0]"
    )
    nb.page.mouse.move(*cell_point(nb, row, col))
    cell = expect_inspector_shows(nb, row, col)
    assert cell["predicted"] != "red", "the chosen cell should flip the prediction"

    # The inspector's canvas is the image at its own size, with the baseline inside the box.
    shown = read_canvas(nb.by_test_id("ow-inspector-image"))
    fed = np.asarray(nb.py(f"w.result.occluded_image({row}, {col}).tolist()"), dtype=np.int64)
    original = np.asarray(nb.py("image.tolist()"), dtype=np.int64)
    assert (shown.height, shown.width) == fed.shape[:2]
    rgb = shown.rgba[..., :3].astype(np.int64)
    assert np.abs(rgb - fed).max() <= 1, "the inspector differs from the image the model saw"
    top, left, height, width = cell["box"]
    inside = np.zeros(fed.shape[:2], bool)
    inside[top : top + height, left : left + width] = True
    assert np.all(np.abs(rgb[inside] - 128) <= 1), "the box is not the gray baseline"
    assert np.array_equal(rgb[~inside], original[~inside]), "outside the box is not the image"
    assert np.all(shown.rgba[..., 3] == 255)
    nb.screenshot("hover")


def test_a_widget_from_a_saved_result_is_drawn_and_hovered(open_notebook) -> None:
    # Issue 10, defect 10: a widget made by from_result had no grid, so it could not be hovered.
    setup = textwrap.dedent(
        """
        computed = ow.occlusion_map(model, image, patch_size=16, stride=8, progress=False)
        computed.save("saved_result.npz")
        result = ow.OcclusionResult.load("saved_result.npz")
        calls["n"] = 0
        """
    )
    nb = toy_notebook(
        open_notebook,
        "from_result.ipynb",
        "ow.OcclusionWidget.from_result(result, labels=LABELS, image=image)",
        setup=setup,
    )
    wait_for_status(nb, "done")
    assert nb.py("[w.grid['rows'], w.grid['cols'], calls['n']]") == [7, 7, 0]
    colours = np.unique(read_canvas(nb.map).rgba.reshape(-1, 4), axis=0)
    assert len(colours) > 20, "the map canvas looks blank"

    row, col = nb.py(
        "[[int(r), int(c)] for r, c in zip(*np.nonzero("
        "w.result.predicted_classes() != w.result.base_class))][0]"
    )
    nb.page.mouse.move(*cell_point(nb, row, col))
    cell = expect_inspector_shows(nb, row, col)
    assert cell["predicted"] != "red", "the chosen cell should flip the prediction"
    shown = read_canvas(nb.by_test_id("ow-inspector-image"))
    fed = np.asarray(nb.py(f"w.result.occluded_image({row}, {col}).tolist()"), dtype=np.int64)
    assert np.abs(shown.rgba[..., :3].astype(np.int64) - fed).max() <= 1
    assert nb.py("calls['n']") == 0, "a widget of a saved result ran the model"
    nb.screenshot("from-result-hover")


def test_click_pins_arrows_move_escape_unpins_and_python_follows(open_notebook) -> None:
    nb = toy_notebook(open_notebook, "pin.ipynb", TOY_WIDGET)
    wait_for_status(nb, "done")
    nb.page.mouse.click(*cell_point(nb, 2, 2))
    nb.kernel.wait_for("w.selected", lambda v: v == [2, 2], timeout=20)
    assert nb.py("[w.selection.row, w.selection.col]") == [2, 2]

    # Pinned: hovering elsewhere leaves the inspector on the pinned cell.
    nb.page.mouse.move(*cell_point(nb, 5, 0))
    expect_inspector_shows(nb, 2, 2)

    nb.page.keyboard.press("ArrowRight")
    nb.kernel.wait_for("w.selected", lambda v: v == [2, 3], timeout=20)
    nb.page.keyboard.press("ArrowDown")
    nb.kernel.wait_for("w.selected", lambda v: v == [3, 3], timeout=20)
    expect_inspector_shows(nb, 3, 3)
    nb.screenshot("pinned")

    nb.page.keyboard.press("Escape")
    nb.kernel.wait_for("w.selected", lambda v: v is None, timeout=20)
    assert nb.py("w.selection is None") is True
    # The notebook around the widget did not take the keys (no cell was added or moved).
    expect(nb.page.locator(".jp-Notebook .jp-Cell")).to_have_count(2)


def test_switching_target_redraws_the_map_without_a_new_sweep(open_notebook) -> None:
    nb = toy_notebook(open_notebook, "target.ipynb", TOY_WIDGET)
    wait_for_status(nb, "done")
    calls = nb.py("calls['n']")
    before = map_checksum(nb)
    target = nb.by_test_id("ow-target")
    expect(target).to_have_value("0")
    target.select_option("1")  # green
    nb.kernel.wait_for("w.target", lambda v: v == 1, timeout=20)
    wait_for_map_change(nb, before)
    expect(target).to_have_value("1")
    assert nb.py("calls['n']") == calls, "switching target ran the model again"
    assert nb.py("w.status") == "done"
    # The browser now holds green's probabilities at every position.
    assert nb.py("bool(np.allclose(w.target_map, w.result.probabilities[:, :, 1], equal_nan=True))")
    nb.screenshot("target-green")


def test_predicted_class_legend_counts_equal_class_counts(open_notebook) -> None:
    nb = toy_notebook(open_notebook, "legend.ipynb", TOY_WIDGET)
    wait_for_status(nb, "done")
    before = map_checksum(nb)
    nb.by_test_id("ow-view").select_option("predicted_class")
    nb.kernel.wait_for("w.view", lambda v: v == "predicted_class", timeout=20)
    wait_for_map_change(nb, before)

    counts = nb.py("[[w.labels[k], v] for k, v in w.result.class_counts().items()]")
    assert len(counts) >= 2, "the toy should predict more than one class across positions"
    entries = nb.by_test_id("ow-legend-entry")
    expect(entries).to_have_count(len(counts))
    total = sum(count for _, count in counts)
    shown = []
    for text in entries.all_inner_texts():
        match = LEGEND_ENTRY.match(" ".join(text.split()))
        assert match, f"unexpected legend entry {text!r}"
        shown.append(match)
    assert [[m["name"], int(m["count"])] for m in shown] == counts
    for match, (_, count) in zip(shown, counts, strict=True):
        assert abs(float(match["percent"]) - 100 * count / total) <= 0.051
    # The unoccluded prediction is marked.
    assert [m["name"] for m in shown if "unoccluded" in m["rest"]] == ["red"]
    nb.screenshot("legend")


RECORD_PROGRESS_JS = """
(el) => {
  window.__owProgress = [];
  const record = () => window.__owProgress.push([el.dataset.status, el.textContent]);
  record();
  new MutationObserver(record).observe(
    el, {attributes: true, childList: true, subtree: true, characterData: true});
}
"""


def test_recompute_shows_progress_and_cancel_goes_back_to_the_finished_map(open_notebook) -> None:
    nb = toy_notebook(
        open_notebook,
        "recompute.ipynb",
        "ow.OcclusionWidget(model, image, labels=LABELS, batch_size=4)",
    )
    wait_for_status(nb, "done")
    progress = nb.by_test_id("ow-progress")

    # A new stride: the bar runs through partial counts and ends done, on a 4 x 4 grid.
    nb.kernel.execute('delay["s"] = 0.3')
    progress.evaluate(RECORD_PROGRESS_JS)
    nb.by_test_id("ow-stride").fill("16")
    nb.by_test_id("ow-recompute").click()
    # The bar said "done" before the click too: first see the new sweep start.
    nb.page.wait_for_function(
        "window.__owProgress.some(([status]) => status === 'running')", timeout=30_000
    )
    wait_for_status(nb, "done")
    expect(progress).to_contain_text("16/16 positions")
    seen = nb.page.evaluate("window.__owProgress")
    partial = [text for status, text in seen if status == "running" and "/16 positions" in text]
    assert any(not text.startswith("16/16") for text in partial), f"no progress was shown: {seen}"
    assert nb.py("[w.stride, w.result.rows, w.result.cols, w.result.complete]") == [
        [16, 16],
        4,
        4,
        True,
    ]

    # A long sweep (625 positions, ~40 s): Cancel stops it; the finished 4 x 4 map comes back
    # (issue 11, item 7: a cancel never loses a finished map) and the partial sweep is kept.
    nb.kernel.execute('delay["s"] = 0.25')
    nb.by_test_id("ow-stride").fill("2")
    nb.by_test_id("ow-recompute").click()
    wait_for_status(nb, "running")
    nb.kernel.wait_for("w.progress['done']", lambda done: done >= 8, timeout=60)
    expect(nb.by_test_id("ow-cancel")).to_be_enabled()
    nb.by_test_id("ow-cancel").click()
    wait_for_status(nb, "cancelled", timeout_ms=20_000)
    state = nb.py(
        "[w.status, w.stride, w.result.done, w.result.total, int(np.isfinite(w.target_map).sum()),"
        " w.partial_result.done, w.partial_result.total]"
    )
    status, stride, done, total, finite, partial_done, partial_total = state
    assert status == "cancelled" and stride == [16, 16]
    assert done == total == finite == 16, "the finished map was not restored"
    assert partial_total == 625 and 0 < partial_done < partial_total, state
    expect(progress).to_contain_text("16/16 positions")
    nb.screenshot("cancelled")


def test_a_model_that_raises_shows_its_error_and_the_widget_stays_usable(open_notebook) -> None:
    nb = toy_notebook(
        open_notebook,
        "error.ipynb",
        "ow.OcclusionWidget(model, image, labels=LABELS, batch_size=4)",
        setup='calls["fail_after"] = 3',
    )
    wait_for_status(nb, "error")
    error = nb.by_test_id("ow-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("sensor unplugged: cannot score this batch")
    assert nb.py("w.status") == "error"
    assert "sensor unplugged" in nb.py("w.error")
    nb.screenshot("error")

    # Still usable: the view switches and redraws, and a computed cell can be inspected.
    before = map_checksum(nb)
    nb.by_test_id("ow-view").select_option("probability")
    nb.kernel.wait_for("w.view", lambda v: v == "probability", timeout=20)
    wait_for_map_change(nb, before)
    row, col = nb.py("[int(v) for v in np.argwhere(w.result.computed)[0]]")
    nb.page.mouse.move(*cell_point(nb, row, col))
    expect_inspector_shows(nb, row, col)


def test_a_label_with_html_is_shown_as_text_and_runs_nothing(open_notebook) -> None:
    label = "<img src=x onerror=window.__owx=1>"
    nb = toy_notebook(
        open_notebook,
        "escaping.ipynb",
        "ow.OcclusionWidget(model, image, labels=[EVIL, *LABELS[1:]])",
        setup=f"EVIL = {label!r}",
    )
    wait_for_status(nb, "done")
    nb.by_test_id("ow-view").select_option("predicted_class")
    nb.page.mouse.move(*cell_point(nb, 0, 0))

    # The name shows literally wherever class names appear.
    expect(nb.by_test_id("ow-predicted-class")).to_contain_text(label)
    expect(nb.by_test_id("ow-legend-entry").first).to_contain_text(label)
    expect(nb.by_test_id("ow-prob-row").filter(has_text=label)).to_have_count(1)
    expect(nb.by_test_id("ow-target").locator("option").first).to_contain_text(label)
    # And nothing was parsed as HTML or run.
    assert nb.page.locator(".jp-OutputArea-output img").count() == 0
    assert nb.page.locator("img[src='x']").count() == 0
    assert nb.page.evaluate("typeof window.__owx") == "undefined"
    nb.screenshot("escaping")
