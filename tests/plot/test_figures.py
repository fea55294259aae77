"""Matplotlib figures: the three-panel view and the predicted-class map."""

from __future__ import annotations

import os
import subprocess
import sys
from unittest.mock import patch

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget import palette

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)


@pytest.fixture
def result():
    def model(batch):
        # Logits for three classes: class 0 needs the top-left 8x8 corner bright; covering a
        # quarter of it hands the prediction to class 2.
        corner = batch[:, :8, :8].mean(axis=(1, 2, 3))
        return np.stack([10.0 * corner, np.zeros_like(corner), np.full_like(corner, 9.0)], 1)

    return ow.occlusion_map(
        model, np.ones((16, 16, 3)), patch_size=4, stride=4, baseline="black", progress=False
    )


def test_visualize_accepts_a_result_and_existing_axes(result, tmp_path):
    fig, axes = plt.subplots(1, 3)
    out = ow.visualize(result, result.image, axes=axes, target=0, save_path=tmp_path / "a.png")
    assert out is fig and (tmp_path / "a.png").stat().st_size > 1000
    overlay = axes[2].get_images()
    assert len(overlay) == 2
    np.testing.assert_allclose(overlay[1].get_array(), result.attribution(0))
    fig1, ax = plt.subplots()
    assert ow.visualize(result, result.image, axes=ax) is fig1
    assert len(ax.get_images()) == 2
    plt.close("all")


def test_visualize_rejects_several_maps():
    with pytest.raises(ValueError, match=r"one \(H, W\) attribution map"):
        ow.visualize(np.zeros((2, 8, 8)), np.zeros((8, 8)))


def test_class_map_legend_names_and_counts(result, tmp_path):
    names = ["left", "nothing", "right"]
    fig = ow.plot_class_map(result, labels=names, save_path=tmp_path / "map.png")
    counts = result.class_counts()
    assert counts == {0: 12, 2: 4}
    legend = fig.axes[2].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["left: 12 (unoccluded)", "right: 4"]
    assert "P(left)" in fig.axes[1].get_title() and "low = important" in fig.axes[1].get_title()
    np.testing.assert_allclose(fig.axes[1].get_images()[0].get_array(), result.probability(0))
    assert (tmp_path / "map.png").stat().st_size > 1000
    plt.close("all")


def test_class_map_on_one_axes_and_with_a_dict(result):
    fig, ax = plt.subplots()
    assert ow.plot_class_map(result, labels={2: "right"}, axes=ax) is fig
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["class 0: 12 (unoccluded)", "right: 4"]
    plt.close("all")


def test_class_map_bad_inputs(result):
    with pytest.raises(ValueError, match=r"got 2 labels for a model with 3 classes"):
        ow.plot_class_map(result, labels=["a", "b"])
    with pytest.raises(TypeError, match="must be an OcclusionResult"):
        ow.plot_class_map(np.zeros((3, 3)))
    plt.close("all")


def test_the_engine_never_imports_matplotlib():
    code = (
        "import sys, occlusion_widget.engine as e, occlusion_widget.compat, "
        "occlusion_widget.labels; "
        "assert 'matplotlib' not in sys.modules, 'engine imported matplotlib'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- one palette, honest scales, groups, shown once ------------------------------------------


def test_class_map_colours_are_the_widget_colours():
    # The CIFAR case: class 8 is predicted most often, class 3 is more probable unoccluded.
    # Colouring by frequency made 8 the first colour here and the second in the widget.
    from tests.helpers.models_plot import PATCH, predicting

    base = np.full(10, 0.01)
    base[3], base[8] = 0.6, 0.32
    classes = np.array([[8, 8], [8, 3]])
    result = predicting(classes, base)
    fig = ow.plot_class_map(result)
    expected = palette.class_colors(result.predicted_classes(), result.base_probabilities)
    assert expected.color(3) == palette.CATEGORICAL[0]
    legend = fig.axes[2].get_legend()
    names = [t.get_text().split(":")[0] for t in legend.get_texts()]
    swatches = [tuple(round(255 * v) for v in p.get_facecolor()[:3]) for p in legend.get_patches()]
    assert names == ["class 8", "class 3"]
    assert swatches == [expected.color(8), expected.color(3)]
    layer = fig.axes[2].get_images()[1].get_array()
    for (row, col), cls in np.ndenumerate(classes):
        assert tuple(layer[row * PATCH + 2, col * PATCH + 2, :3]) == expected.color(cls)


def test_side_by_side_class_maps_can_share_one_colour_per_class():
    # An occlusion map that flips to class 1 and a reveal map that flips to class 2: coloured
    # alone, both second classes get the second colour; sharing, every class has its own.
    from tests.helpers.models_plot import predicting

    base = np.array([0.6, 0.3, 0.1])
    a = predicting(np.array([[0, 1], [0, 0]]), base)
    b = predicting(np.array([[0, 2], [2, 0]]), base)

    def swatches(fig):
        legend = fig.axes[2].get_legend()
        names = [t.get_text().split(":")[0] for t in legend.get_texts()]
        colours = [tuple(p.get_facecolor()[:3]) for p in legend.get_patches()]
        return dict(zip(names, colours, strict=True))

    alone = swatches(ow.plot_class_map(a)), swatches(ow.plot_class_map(b))
    assert alone[0]["class 1"] == alone[1]["class 2"]
    shared = (
        swatches(ow.plot_class_map(a, same_colors_as=b)),
        swatches(ow.plot_class_map(b, same_colors_as=[a])),
    )
    assert shared[0]["class 1"] != shared[1]["class 2"]
    assert shared[0]["class 0"] == shared[1]["class 0"]
    assert shared[0]["class 1"] == alone[0]["class 1"]  # ranked by base: 0, 1, 2
    # Counts stay each map's own.
    texts = [
        t.get_text()
        for t in ow.plot_class_map(b, same_colors_as=a).axes[2].get_legend().get_texts()
    ]
    assert texts == ["class 0: 2 (unoccluded)", "class 2: 2"]
    with pytest.raises(TypeError, match="same_colors_as must be an OcclusionResult"):
        ow.plot_class_map(a, same_colors_as="b")
    plt.close("all")


def test_class_map_with_more_classes_than_colours_has_one_other_entry():
    from tests.helpers.models_plot import predicting

    classes = np.arange(16).reshape(4, 4)
    classes[0, :3] = 0  # 14 classes shown: class 0 on 4 cells, 13 more on one cell each
    base = np.linspace(1.0, 0.1, 16)
    fig = ow.plot_class_map(predicting(classes, base / base.sum()))
    legend = fig.axes[2].get_legend()
    swatches = [tuple(p.get_facecolor()) for p in legend.get_patches()]
    assert len(swatches) == len(palette.CATEGORICAL) + 1
    assert len(set(swatches)) == len(swatches)
    assert legend.get_texts()[-1].get_text() == "other classes (2): 2"


def test_a_figure_is_drawn_once_then_leaves_pyplot(result):
    # Jupyter's inline backend draws every figure pyplot holds at the end of a cell, and the
    # returned figure was drawn again as the cell's value: the seed notebook showed it twice.
    fig = ow.visualize(result, result.image)
    assert plt.fignum_exists(fig.number)  # the inline backend draws it, in loops too
    shown: list = []
    with patch("IPython.display.display", side_effect=shown.append):
        fig._ipython_display_()  # the cell's value, or the inline backend's own drawing
    assert len(shown) == 1 and shown[0].data[:4] == b"\x89PNG"
    assert not plt.fignum_exists(fig.number)  # so the end of the cell does not draw it again
    assert len(fig.axes) == 4 and len(ow.plot_class_map(result).axes) == 4
    plt.close("all")


def test_flat_maps_say_so_and_use_the_floor_range():
    from tests.helpers.models_plot import flat

    fig = ow.visualize(flat(0.0005), flat(0.0005).image, labels=["yurt", "b", "c"])
    assert fig.texts[0].get_text() == "no 4×4 patch changes P(yurt) by more than 0.001"
    assert fig.axes[1].get_images()[0].get_clim() == (-0.05, 0.05)
    fig = ow.visualize(flat(0.01), flat(0.01).image, scale="fixed")
    assert not fig.texts and fig.axes[1].get_images()[0].get_clim() == (-1.0, 1.0)
    fig = ow.plot_class_map(flat(0.0005), labels=["yurt", "b", "c"])
    assert "no 4×4 patch changes P(yurt)" in fig.axes[1].get_title()
    fig = ow.visualize(np.full((8, 8), 0.0002), np.zeros((8, 8)), title="seed")
    assert fig.texts[0].get_text().startswith("seed\nno pixel's attribution is larger than")


def test_group_targets_sum_the_classes():
    from tests.helpers.models_plot import flat

    result = flat(0.3)
    names = ["cat", "dog", "fox"]
    fig = ow.visualize(result, result.image, target=["cat", 1], labels=names)
    assert fig.axes[1].get_title() == "Attribution: drop in P(cat + dog)"
    np.testing.assert_allclose(  # float32 sums of two maps: exact to float32 rounding
        fig.axes[1].get_images()[0].get_array(),
        result.attribution(0) + result.attribution(1),
        atol=1e-6,
    )
    assert "no 4×4 patch changes P(cat + dog)" in fig.texts[0].get_text()
    fig = ow.plot_class_map(result, target=[0, 2], labels=names)
    assert fig.axes[1].get_title().startswith("P(cat + fox) with the patch here")
    np.testing.assert_allclose(
        fig.axes[1].get_images()[0].get_array(),
        result.probability(0) + result.probability(2),
        atol=1e-6,
    )


def test_bad_targets_say_what_to_do(result):
    with pytest.raises(ValueError, match=r"no class is named 'lefft'; did you mean 'left'"):
        ow.plot_class_map(result, target="lefft", labels=["left", "nothing", "right"])
    with pytest.raises(ValueError, match="target is an empty list"):
        ow.visualize(result, result.image, target=[])
    with pytest.raises(ValueError, match="out of range"):
        ow.visualize(result, result.image, target=[0, 7])


def test_in_jupyter_a_figure_shows_once_and_save_keeps_plt_working(tmp_path, monkeypatch):
    # The real thing: a kernel with Jupyter's default inline backend runs the seed's pattern.
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    root = subprocess.run(  # the kernel imports this checkout, not an installed copy
        [
            sys.executable,
            "-c",
            "import occlusion_widget, os; print(os.path.dirname("
            "os.path.dirname(occlusion_widget.__file__)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )
    # Jupyter's default backend, whatever this shell chose (MPLBACKEND=Agg shows no image).
    monkeypatch.delenv("MPLBACKEND", raising=False)
    cells = [
        "import numpy as np, occlusion_widget as ow\now.visualize(np.eye(8), np.zeros((8, 8)))",
        "for k in range(2):\n    ow.visualize(np.eye(8), np.zeros((8, 8)))",
        "model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)\n"
        "r = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4, progress=False)\n"
        f"ow.plot.save_view({str(tmp_path / 'v.png')!r}, r, view='sensitivity', target=0,"
        " labels=None);",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2]);",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    images = [sum("image/png" in o.get("data", {}) for o in c.outputs) for c in nb.cells]
    assert images == [1, 2, 0, 1]


def test_reveal_figures_say_what_the_model_saw_and_colour_gain_as_evidence():
    # In reveal mode the model sees only the patch: titles must not say "low = important", and
    # the map is the patch's gain over the all-baseline image (red where the patch is evidence).
    def corner(batch):  # class 1 = brightness of the top-left 4x4 corner
        p = np.asarray(batch)[:, :4, :4].mean(axis=(1, 2, 3))
        return np.stack([1 - p, p], axis=1)

    shown = ow.occlusion_map(
        corner,
        np.ones((8, 8)),
        patch_size=4,
        stride=4,
        baseline="black",
        progress=False,
        mode="reveal",
    )
    fig = ow.plot_class_map(shown, target=1)
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert "only the patch shown" in titles and "low = important" not in titles
    fig = ow.visualize(shown, shown.image, target=1)
    assert "gain in P(" in fig.axes[1].get_title()
    from occlusion_widget.plot.cells import cell_colors

    colours = cell_colors("sensitivity", shown, [1])
    assert colours["rgb"][0, 0, 0] > colours["rgb"][0, 0, 2]  # the corner patch: red, a gain
    plt.close("all")
