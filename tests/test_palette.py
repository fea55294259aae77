"""The one palette: the file the browser bundle reads, the colour rules, the honest scale floor."""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pytest

from occlusion_widget import palette


def test_the_palette_file_keeps_the_keys_the_browser_reads():
    data = json.loads(files("occlusion_widget").joinpath("data/palettes.json").read_text())
    # js/state/colormap.ts reads these keys; js/state/scales.ts reads scale.min_range for the floor.
    for key in ("diverging", "sequential", "categorical", "other_class", "not_computed"):
        assert key in data
    assert data["sensitivity_alpha_floor"] == palette.SENSITIVITY_ALPHA_FLOOR
    assert data["scale"]["min_range"] == palette.MIN_RANGE == 0.05
    assert data["scale"]["flat_below"] == palette.FLAT_BELOW


def test_ramps_match_the_browser_control_points():
    # The same control points as js/state/colormap.ts: the ends of viridis, the neutral diverging
    # middle.
    assert palette.sample_ramp(palette.SEQUENTIAL, np.array([0.0, 1.0])).tolist() == [
        [68, 1, 84],
        [253, 231, 37],
    ]
    assert palette.sample_ramp(palette.DIVERGING, np.array([0.5])).tolist() == [[236, 236, 236]]


def test_every_class_colour_is_distinct_from_the_others_and_from_other():
    colours = [*palette.CATEGORICAL, palette.OTHER_CLASS, palette.NOT_COMPUTED]
    assert len(set(colours)) == len(colours)


def test_shown_classes_far_down_the_base_ranking_still_get_distinct_colours():
    # The MobileNetV2 case: two classes predicted in the map sit at base ranks 15 and 20 of
    # 1000; ranking over all classes gave both the "other" grey.
    base = np.linspace(1.0, 0.0, 1000)
    classes = np.array([[0, 0, 15], [20, 20, -1]])
    colors = palette.class_colors(classes, base)
    shown = [colors.color(c) for c in (0, 15, 20)]
    assert len(set(shown)) == 3 and palette.OTHER_CLASS not in shown
    # Ranked by base probability among the shown classes: the unoccluded prediction first.
    assert colors.named == (0, 15, 20)
    assert shown == list(palette.CATEGORICAL[:3])


def test_colour_order_follows_base_probability_not_frequency():
    # The CIFAR case: "ship" (class 8) is predicted most often but "cat" (3) is more probable.
    base = np.zeros(10)
    base[3], base[8] = 0.6, 0.3
    classes = np.array([8, 8, 8, 3])
    colors = palette.class_colors(classes, base)
    assert colors.color(3) == palette.CATEGORICAL[0] and colors.color(8) == palette.CATEGORICAL[1]
    # The legend is ordered by count, as in the widget.
    assert [entry[0] for entry in colors.legend()] == [(8,), (3,)]


def test_more_classes_than_colours_merge_the_rarest_into_one_other_entry():
    n = len(palette.CATEGORICAL) + 3
    counts = np.arange(n, 0, -1)  # class i appears n - i times
    classes = np.repeat(np.arange(n), counts)
    base = np.full(n, 1.0 / n)
    colors = palette.class_colors(classes, base)
    assert colors.named == tuple(range(len(palette.CATEGORICAL)))
    assert colors.other == (n - 3, n - 2, n - 1)
    legend = colors.legend()
    assert len(legend) == len(palette.CATEGORICAL) + 1
    # No two legend entries share a colour; the merged classes share the one "other" entry.
    assert len({entry[2] for entry in legend}) == len(legend)
    assert legend[-1] == ((n - 3, n - 2, n - 1), 3 + 2 + 1, palette.OTHER_CLASS)


def test_fewer_slots_and_bad_slots():
    colors = palette.class_colors(np.array([0, 0, 0, 1, 1, 2]), np.array([0.1, 0.5, 0.4]), slots=2)
    assert colors.named == (1, 0) and colors.other == (2,)
    with pytest.raises(ValueError, match=r"slots must be 1 to 12.*got 13"):
        palette.class_colors(np.array([0]), np.array([1.0]), slots=13)


def test_cells_not_computed_are_not_a_class():
    colors = palette.class_colors(np.array([-1, -1, 2]), np.array([0.2, 0.3, 0.5]))
    assert colors.counts == {2: 1}
    rgb = colors.rgb(np.array([-1, 2]))
    assert rgb[0].tolist() == list(palette.NOT_COMPUTED)
    assert rgb[1].tolist() == list(palette.CATEGORICAL[0])


def test_colour_range_has_an_honest_floor():
    # Noise of 0.003 is drawn on the ±0.05 range (pale), not stretched to full red and blue.
    assert palette.symmetric_max(np.array([0.003, -0.002, np.nan])) == palette.MIN_RANGE
    assert palette.symmetric_max(np.array([0.2, -0.31])) == 0.31
    assert palette.symmetric_max(np.array([np.nan])) == palette.MIN_RANGE
    assert palette.symmetric_max(np.array([0.2]), scale="fixed") == 1.0
    with pytest.raises(ValueError, match=r"scale must be 'auto'.*or 'fixed'.*got 'log'"):
        palette.symmetric_max(np.array([0.2]), scale="log")


def test_sensitivity_opacity_grows_with_the_change():
    alpha = palette.sensitivity_alpha(np.array([0.0, 0.01, 0.05, -0.05, 1.0]), 0.05)
    assert alpha[0] == pytest.approx(palette.SENSITIVITY_ALPHA_FLOOR, abs=1 / 255)
    assert alpha[2] == alpha[3] == alpha[4] == 1.0
    assert alpha[0] < alpha[1] < alpha[2]
