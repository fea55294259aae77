"""Widget state in a real JupyterLab: two views of one widget, and reopening a notebook.

Issue 4, item 11: displaying the widget twice gives two views that stay in sync, and reopening
the notebook restores the last state, both while its kernel lives (the page asks the kernel) and
after it is gone (JupyterLab's "save widget state" setting puts the state in the .ipynb).

Same toy model and helpers as ``test_widget_in_browser.py`` (``widget_page.py``): every scenario
runs in seconds.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from playwright.sync_api import Locator, expect

from tests.e2e.jupyter_harness import JupyterServer, wait_until
from tests.e2e.notebook_page import NotebookPage, read_canvas
from tests.e2e.widget_page import (
    CANVAS_CHECKSUM_JS,
    KERNEL_HELPERS,
    LEGEND_ENTRY,
    TOY_PRELUDE,
    TOY_WIDGET,
    cell_point_on,
    toy_notebook,
    wait_for_status,
)

pytestmark = pytest.mark.e2e

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"

# Where a person looks: the pinned cell is named in the inspector's title.
PINNED = (2, 3)
PINNED_TITLE = f"Row {PINNED[0]}, column {PINNED[1]} · pinned"


# -- helpers -----------------------------------------------------------------------------------


def widget_views(nb: NotebookPage) -> Locator:
    """Every rendered view of the widget on the page, in notebook order."""
    return nb.page.locator(".ow-root")


def checksum(canvas: Locator) -> int:
    return int(canvas.evaluate(CANVAS_CHECKSUM_JS))


def settled_checksum(canvas: Locator) -> int:
    """The map's checksum once the frame scheduled by the last event has been drawn."""
    canvas.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return checksum(canvas)


def wait_for_checksum(nb: NotebookPage, canvas: Locator, predicate_js: str, value: int) -> None:
    """Wait until the canvas checksum ``predicate_js`` (``===`` or ``!==``) ``value``."""
    nb.page.wait_for_function(
        f"([canvas, value]) => ({CANVAS_CHECKSUM_JS})(canvas) {predicate_js} value",
        arg=[canvas.element_handle(), value],
        timeout=30_000,
    )


def cell_point(grid: dict, view: Locator, row: int, col: int) -> tuple[float, float]:
    """Page coordinates of the centre of cell (row, col) on ``view``'s map (``_ow_grid()``)."""
    return cell_point_on(grid, view.get_by_test_id("ow-map"), row, col)


def legend(view: Locator) -> list[list]:
    """The legend as a person reads it: [name, count] per entry, in order."""
    shown = []
    for text in view.get_by_test_id("ow-legend-entry").all_inner_texts():
        match = LEGEND_ENTRY.match(" ".join(text.split()))
        assert match, f"unexpected legend entry {text!r}"
        shown.append([match["name"], int(match["count"])])
    return shown


def kernel_counts(nb: NotebookPage) -> list[list]:
    """Python's predicted-class counts, most frequent first: what the legend must say."""
    return nb.py("[[w.labels[k], v] for k, v in w.result.class_counts().items()]")


def explore(nb: NotebookPage, view: Locator) -> None:
    """What a person does before leaving: predicted-class view, target green, a pinned cell."""
    canvas = view.get_by_test_id("ow-map")
    before = checksum(canvas)
    view.get_by_test_id("ow-view").select_option("predicted_class")
    nb.kernel.wait_for("w.view", lambda v: v == "predicted_class", timeout=20)
    wait_for_checksum(nb, canvas, "!==", before)
    view.get_by_test_id("ow-target").select_option("1")  # green
    nb.kernel.wait_for("w.target", lambda v: v == 1, timeout=20)
    # The new target's map has arrived: the badge saying it is loading is gone.
    expect(view.locator(".ow-map-badge")).to_be_hidden()
    nb.page.mouse.click(*cell_point(nb.py("_ow_grid()"), view, *PINNED))
    nb.kernel.wait_for("w.selected", lambda v: v == list(PINNED), timeout=20)
    expect(view.locator(".ow-inspector-title")).to_have_text(PINNED_TITLE)


def expect_restored(view: Locator, counts: list[list]) -> None:
    """``view`` shows the explored state: view, target, pinned cell and legend counts."""
    expect(view.get_by_test_id("ow-view")).to_have_value("predicted_class")
    expect(view.get_by_test_id("ow-target")).to_have_value("1")
    expect(view.locator(".ow-inspector-title")).to_have_text(PINNED_TITLE)
    expect(view.get_by_test_id("ow-progress")).to_have_attribute("data-status", "done")
    expect(view.get_by_test_id("ow-legend-entry")).to_have_count(len(counts))
    assert legend(view) == counts


def save(nb: NotebookPage, done: Callable[[dict], bool]) -> dict:
    """Ctrl+S once the output's picture is up to date; return the file once this save wrote it,
    it satisfies ``done`` and the notebook has stayed unchanged since, so closing asks nothing.

    The widget redraws the picture in its output after a change of view or target, and that
    update marks the notebook changed: a save before it lands leaves a notebook that asks
    "Save your work" on closing. The file must also be newer than before the key press (an
    earlier save may already satisfy ``done``).
    """
    nb.kernel.wait_for("_ow_picture_settled()", lambda v: v is True, timeout=60)
    path = nb.server.notebooks / nb.name
    tab = nb.page.locator(".jp-mod-current.lm-TabBar-tab", has_text=nb.name)
    dirty = re.compile(r"\bjp-mod-dirty\b")
    for _ in range(3):
        before = path.stat().st_mtime_ns
        nb.page.keyboard.press("Control+s")

        def written(before: int = before) -> dict | None:
            if path.stat().st_mtime_ns == before:
                return None
            doc = json.loads(path.read_text())
            return doc if done(doc) else None

        doc = wait_until(written, 30, f"{nb.name} saved")
        # Clean, and still clean a moment later; else an update landed during or just after
        # the save (it may still have been on its way to the page): save again.
        try:
            expect(tab).not_to_have_class(dirty, timeout=5_000)
        except AssertionError:
            continue
        nb.page.wait_for_timeout(500)
        if not dirty.search(tab.get_attribute("class") or ""):
            return doc
    raise AssertionError(f"{nb.name} kept changing after each of 3 saves")


def has_widget_output(doc: dict) -> bool:
    return any(
        WIDGET_VIEW_MIME in out.get("data", {})
        for c in doc["cells"]
        for out in c.get("outputs", [])
    )


# -- scenarios ---------------------------------------------------------------------------------


def test_two_views_of_one_widget_stay_in_sync(open_notebook) -> None:
    nb = open_notebook("two-views.ipynb", [TOY_PRELUDE, f"w = {TOY_WIDGET}\nw", "display(w)"])
    nb.run_all()
    views = widget_views(nb)
    expect(views).to_have_count(2)
    first, second = views.nth(0), views.nth(1)
    for view in (first, second):
        expect(view.get_by_test_id("ow-progress")).to_have_attribute("data-status", "done")
    nb.kernel.execute(KERNEL_HELPERS)
    assert nb.py("w.status") == "done"

    # The view chosen in the first is the second's too: its select and its map follow.
    first_map, second_map = first.get_by_test_id("ow-map"), second.get_by_test_id("ow-map")
    before = checksum(second_map)
    first.get_by_test_id("ow-view").select_option("predicted_class")
    expect(second.get_by_test_id("ow-view")).to_have_value("predicted_class")
    wait_for_checksum(nb, second_map, "!==", before)
    nb.kernel.wait_for("w.view", lambda v: v == "predicted_class", timeout=20)
    # Same data, same view, nothing hovered: the two maps are the same picture.
    assert settled_checksum(second_map) == settled_checksum(first_map)
    counts = kernel_counts(nb)
    assert legend(first) == legend(second) == counts

    # A cell pinned in the second is pinned in the first and in Python.
    before = checksum(first_map)
    nb.page.mouse.click(*cell_point(nb.py("_ow_grid()"), second, *PINNED))
    expect(second.locator(".ow-inspector-title")).to_have_text(PINNED_TITLE)
    expect(first.locator(".ow-inspector-title")).to_have_text(PINNED_TITLE)
    wait_for_checksum(nb, first_map, "!==", before)  # the pinned outline is drawn there too
    nb.kernel.wait_for("w.selected", lambda v: v == list(PINNED), timeout=20)
    assert nb.py("[w.selection.row, w.selection.col]") == list(PINNED)
    # Both titles say pinned, so both inspectors were drawn for it: the same rows and class.
    for test_id in ("ow-prob-row", "ow-predicted-class"):
        shown = [view.get_by_test_id(test_id).all_inner_texts() for view in (first, second)]
        assert shown[0] == shown[1] and shown[0], (test_id, shown)

    # Unpinning in the first (Escape on its map) unpins the second.
    first_map.focus()
    nb.page.keyboard.press("Escape")
    expect(second.locator(".ow-inspector-title")).not_to_contain_text("pinned")
    nb.kernel.wait_for("w.selected", lambda v: v is None, timeout=20)
    nb.screenshot("two-views")


def test_reopening_with_the_kernel_alive_restores_the_last_state(
    open_notebook, jupyter: JupyterServer
) -> None:
    nb = toy_notebook(open_notebook, "reopen-live.ipynb", TOY_WIDGET)
    wait_for_status(nb, "done")
    view = widget_views(nb).first
    explore(nb, view)
    counts = kernel_counts(nb)
    expect_restored(view, counts)
    calls = nb.py("calls['n']")
    kernel_id = jupyter.kernel_id_for(nb.name)
    nb.page.mouse.move(1, 1)  # off the map: no hover outline in the picture
    picture = settled_checksum(view.get_by_test_id("ow-map"))

    # Saved (outputs only: widget-state saving is off), then the tab closed; the kernel lives on.
    doc = save(nb, has_widget_output)
    assert "widgets" not in doc["metadata"], "widget state was saved with saveState off"
    tab = nb.page.locator(".jp-mod-current.lm-TabBar-tab", has_text=nb.name)
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    expect(nb.page.locator(".jp-Notebook")).to_have_count(0)
    assert jupyter.kernel_id_for(nb.name) == kernel_id

    # Reopened from the file browser in the same page: a new widget manager asks the kernel.
    nb.page.locator(".jp-DirListing-item", has_text=nb.name).dblclick()
    view = widget_views(nb).first
    expect(view).to_be_visible(timeout=60_000)
    expect_restored(view, counts)
    wait_for_checksum(nb, view.get_by_test_id("ow-map"), "===", picture)

    # Reloaded page, reopened: the same again.
    nb.open()
    view = widget_views(nb).first
    expect(view).to_be_visible(timeout=60_000)
    expect_restored(view, counts)
    wait_for_checksum(nb, view.get_by_test_id("ow-map"), "===", picture)

    # Nothing ran again: the same kernel, the model not called, the cells not re-executed.
    assert jupyter.kernel_id_for(nb.name) == kernel_id
    assert nb.py("calls['n']") == calls, "reopening ran the model again"
    assert nb.py("[w.view, w.target, w.selected]") == ["predicted_class", 1, list(PINNED)]
    prompts = nb.page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
    assert [p.strip() for p in prompts] == ["[1]:", "[2]:"], prompts
    # And the reopened view is live: moving the pinned cell reaches Python.
    view.get_by_test_id("ow-map").focus()
    nb.page.keyboard.press("ArrowRight")
    nb.kernel.wait_for("w.selected", lambda v: v == [PINNED[0], PINNED[1] + 1], timeout=20)
    nb.screenshot("reopen-live")


@pytest.fixture
def widget_state_saving(jupyter: JupyterServer) -> Iterator[None]:
    """JupyterLab's "Save Jupyter widget state in notebooks" on, for one test.

    A user setting of @jupyter-widgets/jupyterlab-manager, written through the settings API into
    the session's private user-settings folder; read by each page at load.
    """
    path = f"/lab/api/settings/{WIDGETS_PLUGIN}"
    jupyter.api("PUT", path, {"raw": json.dumps({"saveState": True})})
    assert jupyter.api("GET", path)["settings"] == {"saveState": True}
    try:
        yield
    finally:
        jupyter.api("PUT", path, {"raw": "{}"}, default=None)


def decode_buffer(model_state: dict, name: str) -> np.ndarray:
    """Decode the trait ``name`` of a saved widget model from its base64 binary buffer."""
    state = model_state["state"][name]
    (buffer,) = [b for b in model_state["buffers"] if b["path"][0] == name]
    assert buffer["encoding"] == "base64"
    data = np.frombuffer(base64.b64decode(buffer["data"]), dtype=np.dtype(state["dtype"]))
    return data.reshape(state["shape"])


def test_reopening_from_the_saved_notebook_without_its_kernel(
    open_notebook, jupyter: JupyterServer, widget_state_saving: None
) -> None:
    nb = toy_notebook(open_notebook, "reopen-saved.ipynb", TOY_WIDGET)
    wait_for_status(nb, "done")
    view = widget_views(nb).first
    explore(nb, view)
    counts = kernel_counts(nb)
    model_id = nb.py("w.model_id")
    grid = nb.py("_ow_grid()")
    corner = nb.py("_ow_cell(0, 0)")
    target_map = np.asarray(nb.py("np.nan_to_num(w.target_map, nan=-1).tolist()"), np.float32)
    nb.page.mouse.move(1, 1)
    picture = settled_checksum(view.get_by_test_id("ow-map"))

    # Ctrl+S writes the widget's state, binary arrays included, into the notebook's metadata.
    def saved_state(doc: dict) -> bool:
        models = doc["metadata"].get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})
        state = models.get(model_id, {}).get("state", {})
        return state.get("selected") == list(PINNED) and has_widget_output(doc)

    doc = save(nb, saved_state)
    # Issue 18: beside the widget, the output keeps a picture for places with no widget state.
    outputs = [
        o for c in doc["cells"] for o in c.get("outputs", []) if WIDGET_VIEW_MIME in o["data"]
    ]
    assert all("image/png" in o["data"] for o in outputs), "no picture beside the widget"
    saved = doc["metadata"]["widgets"][WIDGET_STATE_MIME]["state"][model_id]
    assert saved["state"]["view"] == "predicted_class" and saved["state"]["target"] == 1
    arrays = {"image", "baseline_image", "base_probabilities", "target_map", "topk_indices"}
    assert arrays <= {b["path"][0] for b in saved["buffers"]}, "arrays not saved as buffers"
    assert not isinstance(saved["state"]["target_map"].get("view"), list), "a JSON list"
    assert np.array_equal(np.nan_to_num(decode_buffer(saved, "target_map"), nan=-1), target_map), (
        "the saved target map is not the kernel's"
    )

    # The kernel is shut down (REST API); the page is reloaded and the notebook reopened.
    nb.close()
    jupyter.shutdown_kernels()
    wait_until(lambda: not jupyter.api("GET", "/api/kernels"), 30, "no kernel left")
    nb.open()

    # The widget is drawn from the saved state: same picture, legend, view, target, pin.
    view = widget_views(nb).first
    expect(view).to_be_visible(timeout=60_000)
    expect_restored(view, counts)
    canvas = view.get_by_test_id("ow-map")
    wait_for_checksum(nb, canvas, "===", picture)
    colours = np.unique(read_canvas(canvas).rgba.reshape(-1, 4), axis=0)
    assert len(colours) > 20, "the map canvas looks blank"
    # Hover needs no kernel: unpinned, the corner cell shows what Python had computed there.
    canvas.focus()
    nb.page.keyboard.press("Escape")
    expect(view.locator(".ow-inspector-title")).to_have_text("Unoccluded image")
    nb.page.mouse.move(*cell_point(grid, view, 0, 0))
    expect(view.locator(".ow-inspector-title")).to_have_text("Row 0, column 0")
    expect(view.get_by_test_id("ow-prob-row")).to_have_text(
        [
            re.compile(rf"^\s*{re.escape(name)}\s*{p:.3f} \(unoccluded {base:.3f}\)\s*$")
            for name, p, base in zip(corner["names"], corner["p"], corner["base"], strict=True)
        ]
    )
    expect(view.get_by_test_id("ow-predicted-class")).to_contain_text(corner["predicted"])
    # JupyterLab started a fresh kernel for the notebook: it never ran a cell, has no widget.
    assert nb.py("'w' in globals() or 'calls' in globals()") is False
    nb.screenshot("reopen-saved")
