"""One list of views and colour scales, in ``data/palettes.json`` beside the palette.

The browser reads the same file (``js/state/sync.ts``; ``js/state/sync.test.ts`` holds it to
it), so a view named in Python is a view the widget can draw, and each check says the same list.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files

import numpy as np
import pytest
import traitlets

import occlusion_widget as ow
from occlusion_widget import palette
from occlusion_widget.plot.cells import cell_colors
from occlusion_widget.widget.export import page_html

FILE = json.loads(files("occlusion_widget").joinpath("data/palettes.json").read_text())
VIEWS_SAID = "view must be one of 'sensitivity', 'probability', 'predicted_class'; got 'heat'"


def _model(batch):
    p = np.asarray(batch)[:, :4, :4].mean(axis=(1, 2, 3))
    return np.stack([p, 1.0 - p], axis=1)


@pytest.fixture(scope="module")
def widget():
    image = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    result = ow.occlusion_map(_model, image, patch_size=4, stride=4, progress=False)
    w = ow.OcclusionWidget.from_result(result)
    yield w
    w.close()


def test_python_reads_the_views_and_scales_from_the_palette_file():
    assert FILE["views"] == ["sensitivity", "probability", "predicted_class"]
    assert palette.VIEWS == tuple(FILE["views"])
    assert palette.COLOR_SCALES == tuple(FILE["color_scales"])


def test_the_widget_offers_exactly_the_listed_views_and_scales(widget):
    for view in palette.VIEWS:
        widget.view = view
    for scale in palette.COLOR_SCALES:
        widget.color_scale = scale
    with pytest.raises(traitlets.TraitError, match=re.escape(VIEWS_SAID)):
        widget.view = "heat"
    with pytest.raises(traitlets.TraitError, match="color_scale must be one of 'auto', 'fixed'"):
        widget.color_scale = "log"


def test_every_view_check_names_the_same_list(widget):
    # The figures, the standalone page and the widget refuse a view in the same words.
    with pytest.raises(ValueError, match=re.escape(VIEWS_SAID)):
        cell_colors("heat", widget.result, (0,))
    with pytest.raises(ValueError, match=re.escape(VIEWS_SAID)):
        page_html(widget, view="heat")
    with pytest.raises(ValueError, match=re.escape(VIEWS_SAID)):
        palette.check_view("heat")


def test_the_page_leaves_hiding_kernel_controls_to_the_widget(widget):
    # The widget hides Recompute / Cancel itself when `_kernel` is false (js/widget/sweepform.ts):
    # the page's own CSS only lays out the page, so no second rule can disagree with the widget.
    text = page_html(widget)
    css = re.search(r"<style>(.*?)</style>", text, re.S)
    assert css is not None
    assert "ow-recompute" not in css[1]
    assert "ow-cancel" not in css[1]
    assert "display: none" not in css[1]
