"""The shipped notebooks, opened the way people open them: here the quickstart in Notebook 7."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.jupyter_harness import REPO

pytestmark = pytest.mark.e2e

QUICKSTART = REPO / "notebooks" / "quickstart.ipynb"


def test_notebook_7_runs_the_quickstart_and_the_widget_renders(open_notebook, assets: Path):
    # `assets` skips without the shared ImageNet weights: the real MobileNetV2 run is the point.
    nb = open_notebook("quickstart.ipynb", source=QUICKSTART, app="notebook")
    # Notebook 7's own page, not JupyterLab's.
    assert "/notebooks/quickstart.ipynb" in nb.page.url
    expect(nb.page.locator("#jp-MainMenu")).to_be_visible()
    nb.run_all(timeout_ms=420_000)
    nb.wait_for_widget()
    expect(nb.by_test_id("ow-progress")).to_have_attribute("data-status", "done")

    assert nb.py("USING_IMAGENET") is True, "the quickstart fell back to the demo model"
    # Run All ends where the text does: the three elephants as one target, with the cell where
    # hiding the photo lowers their summed probability most pinned.
    state = nb.py(
        "[w.status, w.result.total, w.labels[w.result.base_class], w.selected is not None,"
        " w.target == sorted(elephants)]"
    )
    assert state == ["done", 169, "African_elephant", True, True], state
    title = nb.page.locator(".ow-map-title").first
    expect(title).to_have_attribute("title", re.compile(r"P\(\w+ \+ \w+ \+ \w+\)"))
    expect(nb.by_test_id("ow-predicted-class")).not_to_be_empty()
    nb.map.scroll_into_view_if_needed()
    nb.screenshot("notebook7-quickstart")
