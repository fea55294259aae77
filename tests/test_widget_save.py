"""w.save(): the current view drawn with matplotlib in the browser's colours."""

from __future__ import annotations

import numpy as np
import pytest
from models_widget import IMAGE, NAMES, band_model

from occlusion_widget import OcclusionWidget


@pytest.fixture
def widget() -> OcclusionWidget:
    w = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4, top_k=3)
    assert w.wait(10) == "done"
    yield w
    w.close()


# -- save ------------------------------------------------------------------------------------


@pytest.mark.parametrize("view", ["sensitivity", "probability", "predicted_class"])
def test_save_writes_a_png_of_the_current_view(widget: OcclusionWidget, tmp_path, view) -> None:
    widget.view = view
    widget.selected = (3, 3)
    path = widget.save(tmp_path / f"{view}.png", dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_saved_colours_follow_the_browser_ramps(widget: OcclusionWidget) -> None:
    from occlusion_widget import _widget_plot as plot

    # The same control points as js/colormap.ts: the ends of viridis and of the diverging map.
    assert plot.sample_ramp(plot.SEQUENTIAL, np.array([0.0, 1.0])).tolist() == [
        [68, 1, 84],
        [253, 231, 37],
    ]
    assert plot.sample_ramp(plot.DIVERGING, np.array([0.5])).tolist() == [[236, 236, 236]]
    # Nearest patch centre per pixel (centres 2, 5, 8); pixels 3 and 6 are halfway between two
    # centres and go to the earlier window, as in js/heatmap.ts.
    assert plot.axis_lookup(np.array([0, 3, 6]), 4, 10).tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    rgb, computed, scale = plot.cell_colors("probability", widget.result, widget.target)
    assert scale["kind"] == "sequential"
    p = widget.result.probability(widget.target)
    np.testing.assert_array_equal(rgb, plot.sample_ramp(plot.SEQUENTIAL, p))
    picture = plot.compose(widget.image, widget.result, rgb, computed, 1.0)
    np.testing.assert_array_equal(picture[0, 0], rgb[0, 0])
    np.testing.assert_array_equal(picture[31, 31], rgb[6, 6])


def test_saved_sensitivity_lets_the_image_through_where_nothing_changes(widget) -> None:
    from occlusion_widget import _widget_plot as plot

    _, _, scale = plot.cell_colors("sensitivity", widget.result, widget.target)
    drop = np.abs(widget.result.sensitivity(widget.target))
    weight = scale["weight"]
    assert weight.shape == drop.shape
    # Larger drops are more opaque; the largest is (about) opaque, no drop is at the floor.
    assert weight[np.unravel_index(np.argmax(drop), drop.shape)] > 0.98
    order = np.argsort(drop, axis=None)
    assert np.all(np.diff(weight.ravel()[order]) >= -1e-12)
    assert weight.min() >= plot.SENSITIVITY_ALPHA_FLOOR - 1e-9
