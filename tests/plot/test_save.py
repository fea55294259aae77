"""save_view: the widget's view written to a file, in the widget's colours, without pyplot."""

from __future__ import annotations

import numpy as np
import pytest

from occlusion_widget import palette
from occlusion_widget.plot import save_view
from occlusion_widget.plot._common import display_rgb
from occlusion_widget.plot.save import render_view
from tests.helpers.models_plot import PATCH, flat, predicting

matplotlib = pytest.importorskip("matplotlib")
import matplotlib.pyplot as plt  # noqa: E402

NAMES = ["a", "b", "c"]
MAGIC = {
    "png": b"\x89PNG\r\n\x1a\n",
    "pdf": b"%PDF",
    "jpg": b"\xff\xd8\xff",
    "jpeg": b"\xff\xd8\xff",
    "PNG": b"\x89PNG\r\n\x1a\n",
}


@pytest.mark.parametrize("suffix", [*MAGIC, "svg"])
def test_each_suffix_writes_its_own_format(tmp_path, suffix):
    path = save_view(
        tmp_path / f"view.{suffix}", flat(0.2), view="sensitivity", target=0, labels=NAMES, dpi=40
    )
    data = path.read_bytes()
    if suffix == "svg":
        assert b"<svg" in data[:400]
    else:
        assert data.startswith(MAGIC[suffix])


@pytest.mark.parametrize("name", ["view.ipynb", "view", "view.gif"])
def test_other_suffixes_are_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf, \.jpg, \.jpeg"):
        save_view(tmp_path / name, flat(0.2), view="sensitivity", target=0, labels=NAMES)
    assert not any(tmp_path.iterdir())


def test_saving_leaves_the_backend_and_pyplot_alone(tmp_path):
    # A notebook's backend is not Agg; after w.save() its next plt.plot must still show.
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        fig = plt.figure()
        numbers = plt.get_fignums()
        save_view(tmp_path / "v.png", flat(0.2), view="probability", target=0, labels=NAMES)
        assert matplotlib.get_backend() == "svg"
        assert plt.get_fignums() == numbers and plt.fignum_exists(fig.number)
    finally:
        plt.close("all")
        matplotlib.use(before)


def _cell_centre(fig, row, col):
    return fig.axes[0].get_images()[0].get_array()[row * PATCH + 2, col * PATCH + 2]


def test_saved_class_colours_are_the_palette_colours_and_distinct():
    # Four shown classes at base ranks 12-15 of 20: ranking over all classes made them one grey.
    base = np.linspace(1.0, 0.1, 20)
    base /= base.sum()
    classes = np.array([[12, 13], [14, 15]])
    result = predicting(classes, base)
    fig = render_view(result, view="predicted_class", target=0, labels=None, opacity=1.0, dpi=40)
    expected = palette.class_colors(result.predicted_classes(), result.base_probabilities)
    seen = [tuple(int(v) for v in _cell_centre(fig, r, c)) for r in range(2) for c in range(2)]
    assert seen == [expected.color(c) for c in classes.ravel()]
    assert len(set(seen)) == 4
    legend = fig.legends[0]
    swatches = [tuple(p.get_facecolor()[:3]) for p in legend.get_patches()]
    assert len(set(swatches)) == 4


def test_flat_maps_say_so_and_are_drawn_on_the_floor_range():
    fig = render_view(flat(0.0005), view="sensitivity", target=0, labels=NAMES, dpi=40)
    assert "no 4×4 patch changes P(a) by more than 0.001" in fig.axes[0].get_title()
    # The colour bar spans the ±0.05 floor, so a 0.0005 change is drawn pale, not full red.
    assert fig.axes[1].get_ylim() == pytest.approx((-palette.MIN_RANGE, palette.MIN_RANGE))
    fig = render_view(flat(0.2), view="probability", target=0, labels=NAMES, dpi=40)
    assert "no 4×4 patch" not in fig.axes[0].get_title()
    fig = render_view(flat(0.2), view="sensitivity", target=0, labels=NAMES, scale="fixed")
    assert fig.axes[1].get_ylim() == pytest.approx((-1.0, 1.0))


def test_a_group_target_is_the_sum_of_its_classes():
    # Covering the centre moves 0.3 from a to b: P(a + b) does not change at all.
    fig = render_view(flat(0.3), view="sensitivity", target=["a", 1], labels=NAMES, dpi=40)
    title = fig.axes[0].get_title()
    assert title.startswith("Drop in P(a + b) when occluded")
    assert "no 4×4 patch changes P(a + b) by more than 0.001" in title


def test_the_pinned_cell_shows_its_occluded_image_and_top_k():
    result = flat(0.3)
    fig = render_view(
        result, view="predicted_class", target=0, labels=NAMES, selected=(1, 1), top_k=2
    )
    _, occluded, bars = fig.axes
    np.testing.assert_array_equal(
        occluded.get_images()[0].get_array(), display_rgb(result.occluded_image(1, 1))
    )
    assert "row 1, column 1" in occluded.get_title()
    # Covering the centre: a drops from 0.6 to 0.3, b rises from 0.3 to 0.6; most probable first.
    assert [t.get_text() for t in bars.get_yticklabels()] == ["b", "a"]
    widths = sorted(round(p.get_width(), 6) for p in bars.patches)
    assert widths == [0.3, 0.6]


def test_a_pinned_cell_not_computed_yet_says_so_and_bad_cells_are_refused():
    from tests.helpers.models_plot import result_from

    computed = np.array([[True, False]])
    result = result_from(np.full((1, 2, 3), 1 / 3), [0.5, 0.3, 0.2], computed)
    fig = render_view(result, view="probability", target=0, labels=NAMES, selected=(0, 1))
    assert fig.axes[2].texts[0].get_text() == "not computed yet"
    with pytest.raises(ValueError, match=r"selected cell \(3, 0\) is outside the 1x2 grid"):
        render_view(result, view="probability", target=0, labels=NAMES, selected=(3, 0))


def test_cells_cover_pixels_as_the_browser_paints_them():
    from occlusion_widget.plot.cells import axis_lookup

    # Nearest patch centre per pixel (centres 2, 5, 8); pixels 3 and 6 are halfway between two
    # centres and go to the earlier window, as in js/widget/heatmap.ts.
    assert axis_lookup(np.array([0, 3, 6]), 4, 10).tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_sensitivity_lets_the_image_through_where_nothing_changes():
    from occlusion_widget.plot.cells import cell_colors

    result = flat(0.2)
    colours = cell_colors("sensitivity", result, (0,))
    # The one changed cell is (nearly) opaque: the range is its drop rounded up to two digits,
    # 0.20 or 0.21 depending on float32 rounding of 0.6 - 0.4, so at least 0.2/0.21 of the way.
    assert colours["alpha"][1, 1] >= 0.2 + 0.8 * 0.2 / 0.21 - 1 / 255
    # Every other cell sits at the floor opacity.
    others = np.delete(colours["alpha"].ravel(), 4)
    assert np.all(np.abs(others - palette.SENSITIVITY_ALPHA_FLOOR) <= 0.5 / 255)


LONG = ["a class whose name runs on and on", "another quite long class name", "short"]


@pytest.mark.parametrize(
    ("view", "target", "labels"),
    [
        ("predicted_class", 0, LONG),  # the map beside its legend: a narrow column
        ("sensitivity", [0, 1, 2], LONG),  # a group's long label, and the flat-map note
        ("probability", [0, 1], LONG),
    ],
)
def test_every_word_of_a_saved_picture_is_inside_it(view, target, labels):
    # Issue 18, item 10: the predicted-class title ran past the figure's left edge and a
    # group's title past both; matplotlib cuts text at the edge without a sign.
    result = predicting([[0, 1], [2, 0]], [0.5, 0.3, 0.2]) if view == "predicted_class" else None
    result = result or flat(0.0005)
    fig = render_view(result, view=view, target=target, labels=labels, dpi=60)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
    # Tick labels outside a colour bar's range exist but are not drawn: only drawn ones count.
    texts = [t for t in texts if page.overlaps(t.get_window_extent(renderer))]
    assert texts
    for text in texts:
        box = text.get_window_extent(renderer)
        inside = box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5
        inside = inside and box.y0 >= page.y0 - 0.5 and box.y1 <= page.y1 + 0.5
        assert inside, f"{text.get_text()!r} at {box.extents} is cut by the figure {page.extents}"
    # Wrapped, not shortened: the whole sentence is there, with no ellipsis.
    title = " ".join(fig.axes[0].get_title().split())
    assert "…" not in title and "..." not in title
    if view == "predicted_class":
        assert title == "Predicted class with the patch at each position"
    else:
        names = " + ".join(labels[i] for i in (target if isinstance(target, list) else [target]))
        assert f"P({names})" in title
