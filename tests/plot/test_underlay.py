"""A map reads right on any image: the image under a map is grey, in save(), the figures and
the browser (js/state/underlay.ts, held to the same greys by the fixture this file keeps current).

Measured on the classroom toy, whose dark blue background is the diverging map's blue: a tip
model makes hiding the triangle's tip raise P(square), so the tip's cells are strongly negative
(blue) and the background's cells change nothing.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.plot.save import render_view
from tests.helpers.underlay_fixture import PATH, make_fixture, toy

pytest.importorskip("matplotlib")

NAMES = ["circle", "square", "triangle", "cross"]
BACKGROUND = (4, 58)  # a pixel of the toy's background, far from the triangle


def saturation(rgb) -> float:
    rgb = np.asarray(rgb, np.float64)[:3]
    return float((rgb.max() - rgb.min()) / max(rgb.max(), 1.0))


def distance(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a, np.float64)[:3] - np.asarray(b, np.float64)[:3]))


@pytest.fixture(scope="module")
def tip_result():
    image, box = toy()
    top, left, _, width = (int(v) for v in box)
    tip = (slice(top, top + 13), slice(left, left + width))
    shown = float((image[tip][..., 1] > 150).sum())

    def model(batch):
        # P(triangle) = the share of the tip's cyan pixels still visible; hiding the tip moves
        # that probability to square.
        visible = (np.asarray(batch)[:, tip[0], tip[1], 1] > 150).sum(axis=(1, 2)) / shown
        square, triangle = 0.85 - 0.8 * visible, 0.1 + 0.8 * visible
        return np.stack([np.full_like(visible, 0.05), square, triangle, 0 * visible], 1)

    return ow.occlusion_map(model, image, patch_size=16, stride=4, progress=False)


def _tip_pixel(result):
    """The centre pixel of the most negative cell for square: the tip hidden."""
    sensitivity = result.sensitivity(1)
    row, col = np.unravel_index(np.nanargmin(sensitivity), sensitivity.shape)
    top, left, height, width = result.box(int(row), int(col))
    assert sensitivity[row, col] < -0.3  # strongly negative: the tip matters
    return top + height // 2, left + width // 2


def test_the_committed_fixture_is_what_the_figures_draw():
    # The browser's greys are checked against this file (js/state/underlay.test.ts).
    assert json.loads(PATH.read_text(encoding="utf-8")) == make_fixture()


@pytest.mark.parametrize("opacity", [0.2, 0.6, 1.0])
def test_saved_view_background_reads_as_no_change(tip_result, opacity):
    figure = render_view(
        tip_result, view="sensitivity", target=1, labels=NAMES, opacity=opacity, dpi=40
    )
    picture = figure.axes[0].images[0].get_array()
    background = picture[BACKGROUND]
    # The image's blue would read as "occluding raises it": under the map it is grey.
    assert saturation(background) < 0.1, background
    if opacity >= 0.6:
        tip = picture[_tip_pixel(tip_result)]
        assert distance(tip, background) > 50, (tip, background)
        assert int(tip[2]) - int(tip[0]) > 40, tip  # it still reads blue


def _rendered(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())


def _pixel_at(buffer, ax, row, col):
    x, y = ax.transData.transform((col + 0.5, row + 0.5))
    return buffer[round(float(buffer.shape[0] - y)), round(float(x))]


@pytest.mark.parametrize("alpha", [0.5, 1.0])
def test_figure_overlay_background_reads_as_no_change(tip_result, alpha):
    fig = ow.visualize(tip_result, tip_result.image, target=1, labels=NAMES, alpha=alpha)
    buffer = _rendered(fig)
    overlay = fig.axes[2]
    background = _pixel_at(buffer, overlay, *BACKGROUND)
    assert saturation(background) < 0.1, background
    tip = _pixel_at(buffer, overlay, *_tip_pixel(tip_result))
    assert distance(tip, background) > 40, (tip, background)


def test_class_map_and_compare_draw_the_image_in_grey(tip_result):
    fig = ow.plot_class_map(tip_result, labels=NAMES)
    under = np.asarray(fig.axes[2].images[0].get_array())
    assert (under[..., 0] == under[..., 1]).all() and (under[..., 1] == under[..., 2]).all()
    image, _ = toy()
    cmp = ow.compare(
        lambda b: np.stack([b.mean(axis=(1, 2, 3)) / 255, 1 - b.mean(axis=(1, 2, 3)) / 255], 1),
        image,
        baselines=["black"],
        patch_sizes=[32],
        steps=2,
    )
    under = np.asarray(cmp.figure().axes[0].images[0].get_array())
    assert under.ndim == 3 and (under[..., 0] == under[..., 2]).all()
