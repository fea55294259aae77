"""What the figures do with arguments a user gets wrong: each is refused before anything is
drawn or written, with a message that names what was given and what to give instead."""

from __future__ import annotations

import os

import numpy as np
import pytest

import occlusion_widget as ow

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)


def _model(batch):
    m = np.asarray(batch).mean(axis=(1, 2, 3))
    return np.stack([m, 1.0 - m], axis=1)


@pytest.fixture
def result():
    image = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    return ow.occlusion_map(_model, image, patch_size=4, stride=4, progress=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _draw(kind, result, **kwargs):
    if kind == "visualize":
        return ow.visualize(result, result.image, **kwargs)
    return ow.plot_class_map(result, **kwargs)


@pytest.mark.parametrize("kind", ["visualize", "plot_class_map"])
def test_a_folder_as_save_path_is_refused_not_written_beside_it(kind, result, tmp_path):
    folder = tmp_path / "figures"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder; give a file in it"):
        _draw(kind, result, save_path=folder)
    assert sorted(os.listdir(tmp_path)) == ["figures"]  # matplotlib wrote figures.png


@pytest.mark.parametrize("kind", ["visualize", "plot_class_map"])
def test_a_missing_folder_is_named(kind, result, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"the folder .*missing' does not exist"):
        _draw(kind, result, save_path=tmp_path / "missing" / "a.png")


def test_a_path_without_suffix_gets_a_png_under_that_very_name(result, tmp_path, capsys):
    path = tmp_path / "plot"
    ow.vizualize(result, result.image, save_path=str(path))
    assert capsys.readouterr().out == f"Plot saved to {path}\n"
    assert sorted(os.listdir(tmp_path)) == ["plot"]  # was plot.png, not what was printed
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_path_of_another_type_is_a_type_error(result):
    with pytest.raises(TypeError, match="save_path must be a file path"):
        ow.visualize(result, result.image, save_path=3)


@pytest.mark.parametrize(
    ("options", "named"),
    [({"target": 1}, "target"), ({"labels": ["a", "b"]}, "labels"), ({"target": "a"}, "target")],
)
def test_an_array_explanation_refuses_a_target_it_cannot_honour(result, options, named):
    # The array is one class's map: target=1 drew it unchanged, with no word that class 1
    # was not what the figure showed.
    with pytest.raises(ValueError, match=f"^{named} choose .* explanation is an array"):
        ow.visualize(result.attribution(0), result.image, **options)


@pytest.mark.parametrize("alpha", [-0.5, 1.5, float("nan"), "0.5", True, None])
def test_alpha_outside_0_to_1_is_named(result, alpha):
    with pytest.raises(ValueError, match=r"alpha must be a number from 0 .* to 1 .*; got"):
        ow.visualize(result, result.image, alpha=alpha)


@pytest.mark.parametrize("alpha", [0, 1, np.float32(0.25)])
def test_alpha_at_its_bounds_is_drawn(result, alpha):
    ow.visualize(result, result.image, alpha=alpha)


@pytest.mark.parametrize("max_legend", [0, 13, 1.5, "3", True])
def test_max_legend_must_be_a_count_the_palette_has(result, max_legend):
    # 1.5 and "3" were taken (as 1 and 3 colours); 0 and 13 were refused as "slots".
    with pytest.raises(ValueError, match=r"max_legend must be a whole number .* 1 to 12"):
        ow.plot_class_map(result, max_legend=max_legend)


def test_max_legend_takes_numpy_counts(result):
    fig = ow.plot_class_map(result, max_legend=np.int64(1))
    assert len(fig.axes[2].get_legend().get_texts()) >= 1


@pytest.mark.parametrize("others", [5, "result", {"a": 1}])
def test_same_colors_as_of_another_type_is_named(result, others):
    with pytest.raises(TypeError, match="same_colors_as must be an OcclusionResult or a list"):
        ow.plot_class_map(result, same_colors_as=others)


def test_same_colors_as_takes_any_iterable_of_results(result):
    ow.plot_class_map(result, same_colors_as=(r for r in [result]))


def test_palette_slots_refuse_what_is_no_whole_number():
    with pytest.raises(TypeError, match="slots must be a whole number"):
        ow.palette.class_colors([0, 1], [0.6, 0.4], slots=1.5)
