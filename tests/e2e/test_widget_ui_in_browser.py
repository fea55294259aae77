"""The widget keeps its word on screen (issue 18): no control that can only fail, a probe panel
that never stays on "probing…", a pin set from Python that shows how to undo it, a class search
that finds "golden retriever", and a map that does not move when a note appears.

The toy notebook of widget_page.py (a numpy model, seconds per scenario). Notebook 7 runs the
pin scenario (its keyboard handling is not JupyterLab's) and the no-model one too.
"""

from __future__ import annotations

import re
import textwrap

import pytest
from playwright.sync_api import expect

from tests.e2e.widget_page import (
    KERNEL_HELPERS,
    TOY_PRELUDE,
    TOY_WIDGET,
    cell_point,
    toy_notebook,
    wait_for_status,
)

pytestmark = pytest.mark.e2e

#: The probe panel's status line while an answer is due.
PROBING = "probing…"


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_a_saved_result_without_its_model_switches_its_controls_off_and_says_why(
    open_notebook, app: str
) -> None:
    setup = textwrap.dedent(
        """
        result = ow.occlusion_map(model, image, patch_size=16, stride=8, progress=False)
        calls["n"] = 0
        """
    )
    cell = f"{setup}\nw = ow.OcclusionWidget.from_result(result, labels=LABELS)\nw"
    nb = open_notebook(f"no_model_{app}.ipynb", [TOY_PRELUDE, cell], app=app)
    nb.run_all()
    nb.wait_for_widget()
    nb.kernel.execute(KERNEL_HELPERS)
    wait_for_status(nb, "done")
    reason = nb.by_test_id("ow-kernel-off")
    expect(reason).to_be_visible()
    expect(reason).to_have_text(re.compile(r"^no model to run: .*model="))
    expect(nb.by_test_id("ow-recompute")).to_be_hidden()
    expect(nb.by_test_id("probe-tool")).to_be_disabled()
    for test_id in ("ow-patch-size", "ow-stride", "ow-baseline", "mode"):
        expect(nb.by_test_id(test_id)).to_be_disabled()
    # What needs no model still works: hovering a cell shows it.
    nb.page.mouse.move(*cell_point(nb, 1, 1))
    expect(nb.page.locator(".ow-inspector-title")).to_have_text("Row 1, column 1")
    assert nb.py("calls['n']") == 0
    nb.screenshot(f"no-model-{app}")


def _box(a: tuple[int, int], b: tuple[int, int]) -> str:
    """The probe title of a drag between the centres of image pixels a and b, (x, y) each."""
    left, top = min(a[0], b[0]), min(a[1], b[1])
    width, height = abs(a[0] - b[0]) + 1, abs(a[1] - b[1]) + 1
    return f"Probe · {width} wide × {height} tall box at x={left}, y={top}"


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_ten_drags_never_leave_the_probe_panel_on_probing(open_notebook, app: str) -> None:
    nb = toy_notebook(open_notebook, f"probe_drags_{app}.ipynb", TOY_WIDGET, app=app)
    wait_for_status(nb, "done")
    # The kernel replaces the output's picture once the sweep has ended, and the page swaps the
    # view's content into a new output element then: a drag under way at that moment is cut
    # short. Let that happen first (the picture sent, the page idle, two frames drawn).
    nb.kernel.execute("w._picture.flush(10)")
    nb.wait_for_kernel_idle()
    nb.page.wait_for_function(
        "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
        ".then(() => true)"
    )
    nb.by_test_id("probe-tool").click()

    def at(pixel: tuple[int, int]) -> tuple[float, float]:
        # Read the map's place before each drag: the probe panel appearing after the first
        # answer can scroll the page (Notebook 7 scrolls the whole document).
        nb.map.scroll_into_view_if_needed()
        box = nb.map.bounding_box()
        assert box is not None
        scale = box["width"] / 64
        return box["x"] + (pixel[0] + 0.5) * scale, box["y"] + (pixel[1] + 0.5) * scale

    title = nb.page.locator(".ow-probe-title")
    status = nb.page.locator(".ow-probe-caption")
    for drag in range(10):
        start, end = (4 + drag, 6 + 2 * drag), (30 + 2 * drag, 40 + drag)
        nb.page.mouse.move(*at(start))
        nb.page.mouse.down()
        nb.page.mouse.move(*at(end), steps=4)
        if drag % 2 == 0:
            # The answer to where the drag is now arrives before the button is let go...
            expect(title).to_have_text(_box(start, end))
            expect(status).not_to_have_text(PROBING)
            nb.page.mouse.up()
            nb.wait_for_kernel_idle()
        else:
            # ...or after it.
            nb.page.mouse.up()
            expect(title).to_have_text(_box(start, end))
        # Once the answer for the box on the map is painted, nothing says it is still coming.
        expect(status).to_have_text('"gray" baseline, occlude mode')
        expect(nb.page.locator(".ow-probe-predicted")).to_be_visible()
    nb.screenshot(f"probe-drags-{app}")


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_a_pin_set_from_python_says_so_and_escape_under_the_pointer_unpins(
    open_notebook, app: str
) -> None:
    cell = "w = " + TOY_WIDGET + "\nw.selected = (2, 3)\nw"
    nb = open_notebook(f"pin_from_python_{app}.ipynb", [TOY_PRELUDE, cell], app=app)
    nb.run_all()
    nb.wait_for_widget()
    nb.kernel.execute(KERNEL_HELPERS)
    wait_for_status(nb, "done")
    line = nb.by_test_id("ow-pin-note")
    expect(line).to_have_text("Pinned (2, 3) · Esc or click here to unpin")
    expect(line).to_be_enabled()
    # Hovering another cell leaves the inspector on the pinned one, and the line says why.
    nb.page.mouse.move(*cell_point(nb, 5, 1))
    expect(nb.page.locator(".ow-inspector-title")).to_have_text("Row 2, column 3 · pinned")
    nb.screenshot(f"pinned-from-python-{app}")
    # No click first: the focus is wherever the notebook left it, the pointer is on the map.
    assert nb.page.evaluate("document.activeElement?.dataset?.testid") != "ow-map"
    nb.page.keyboard.press("Escape")
    nb.kernel.wait_for("w.selected", lambda v: v is None, timeout=20)
    expect(line).to_have_text("not pinned · click a cell to pin it")
    # The hovered cell shows at once, and the line's click unpins too.
    nb.page.mouse.move(*cell_point(nb, 5, 2))
    expect(nb.page.locator(".ow-inspector-title")).to_have_text("Row 5, column 2")
    nb.kernel.execute("w.selected = (1, 1)")
    expect(line).to_have_text(re.compile(r"Pinned \(1, 1\)"))
    line.click()
    nb.kernel.wait_for("w.selected", lambda v: v is None, timeout=20)


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_class_search_as_people_type_and_the_map_stays_put_under_a_note(
    open_notebook, app: str
) -> None:
    labels = '["dark_red", "Leaf-Green", "sky_blue", "yellow"]'
    widget = f"ow.OcclusionWidget(model, image, labels={labels})"
    nb = toy_notebook(open_notebook, f"search_{app}.ipynb", widget, app=app)
    wait_for_status(nb, "done")
    search = nb.by_test_id("ow-target-search")
    rows = nb.page.locator(".ow-target-row:not([hidden]) .ow-target-name")
    for typed, found in [
        ("leaf green", "Leaf-Green"),
        ("SKY BLUE", "sky_blue"),
        ("red", "dark_red"),
    ]:
        search.fill(typed)
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(found)
    nb.screenshot(f"search-folded-{app}")
    search.fill("sky blue")
    expect(rows).to_have_count(1)
    nb.by_test_id("ow-target").select_option(value="3")  # yellow
    nb.kernel.wait_for("w.target", lambda v: v == 3, timeout=20)
    expect(search).to_have_value("")

    # A note appears over the map's foot: the map does not move under the pointer.
    before = nb.map.bounding_box()
    nb.kernel.execute('w.set_trait("note", "no 16×16 patch changes P(yellow) by more than 0.001")')
    note = nb.by_test_id("note")
    expect(note).to_be_visible()
    assert nb.map.bounding_box() == before
    nb.screenshot(f"note-over-map-{app}")
