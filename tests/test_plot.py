"""Matplotlib figures: the three-panel view and the predicted-class map."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import occlusion_widget as ow

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
