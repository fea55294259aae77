"""The seed notebook's flow, with only its import line changed."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.models import region_model


def _seed_like_model():
    # Classes 0/1 key on the top-left quarter of an image in [-1, 1], like a preprocessed x.
    def model(batch):
        m = (batch[:, :16, :16].mean(axis=(1, 2, 3)) + 1.0) / 2.0
        return np.stack([m, 1.0 - m], axis=1)

    return model


def test_seed_flow_writes_the_three_panel_png(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    img_array = np.full((32, 32, 3), 255, np.uint8)
    img_array[16:] = 0  # dark pixels too, so x spans [-1, 1] as a real photo does
    x = img_array.astype(np.float32) / 127.5 - 1.0
    x = np.expand_dims(x, axis=0)

    explainer = ow.OcclusionSensitivity(_seed_like_model())
    explanation = explainer.explain(x, targets=0)
    path = tmp_path / "occlusion_demo.png"
    fig = ow.visualize(explanation, img_array, save_path=path)

    assert explanation.shape == (32, 32)
    # Default baseline in model space is the middle of [-1, 1]: 0, i.e. half the class lost
    # per fully covered pixel of the 16x16 region.
    result = explainer.occlusion_map(x)
    np.testing.assert_array_equal(result.baseline, 0.0)
    assert explanation[:16, :16].min() > 0 and np.allclose(explanation[24:, 24:], 0)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["Original image", "Attribution (probability drop)", "Overlay"]
    assert len(fig.axes) == 4  # three panels and the colour bar


def test_several_targets_reuse_one_sweep():
    calls = []

    def model(batch):
        calls.append(len(batch))
        return region_model(0, 0, 8, 8)(batch)

    explainer = ow.OcclusionSensitivity(model, patch_size=4, stride=4)
    x = np.ones((1, 8, 8, 3), np.float32)
    first = explainer.explain(x, targets=1)
    n = len(calls)
    both = explainer.explain(x, targets=[1, 0])
    assert len(calls) == n  # no new sweep for the same x
    assert both.shape == (2, 8, 8)
    np.testing.assert_array_equal(both[0], first)
    np.testing.assert_allclose(both[1], -first)
    explainer.explain(x * 0.5, targets=1)
    assert len(calls) > n  # a different x is swept again
    # explain() never changes the explainer's own settings.
    assert (explainer.patch_size, explainer.stride, explainer.baseline) == (4, 4, "gray")


def test_default_target_is_the_predicted_class():
    explainer = ow.OcclusionSensitivity(region_model(0, 0, 4, 4), patch_size=2, stride=2)
    x = np.ones((8, 8, 3), np.float32)
    np.testing.assert_array_equal(explainer.explain(x), explainer.explain(x, targets=1))


def test_bad_explainer_inputs():
    with pytest.raises(TypeError, match="model must be"):
        ow.OcclusionSensitivity(None)
    explainer = ow.OcclusionSensitivity(region_model(0, 0, 4, 4), patch_size=32)
    with pytest.raises(ValueError, match="cannot exceed the image size"):
        explainer.explain(np.ones((1, 8, 8, 3)), targets=0)
    explainer = ow.OcclusionSensitivity(region_model(0, 0, 4, 4), patch_size=4, stride=4)
    with pytest.raises(ValueError, match="target 7 is out of range"):
        explainer.explain(np.ones((1, 8, 8, 3)), targets=7)


def test_new_weights_or_a_new_model_are_swept_again():
    """Defect 2: the cache ignored the model, so explain(x) returned the old model's map."""
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    weights = np.zeros((16, 2), np.float32)
    weights[:4, 0] = 1.0  # class 0's logit = the top row's sum
    model.layers[-1].set_weights([weights, np.zeros(2, np.float32)])
    x = np.ones((1, 4, 4, 1), np.float32)
    explainer = ow.OcclusionSensitivity(model, patch_size=2, stride=2, baseline="black")
    before = explainer.explain(x, targets=0)
    assert before[:2].min() > 0 and np.all(before[2:] == 0)

    weights = np.zeros((16, 2), np.float32)
    weights[12:, 0] = 1.0  # now the bottom row
    model.layers[-1].set_weights([weights, np.zeros(2, np.float32)])
    after = explainer.explain(x, targets=0)
    assert after[2:].min() > 0 and np.all(after[:2] == 0)

    explainer.model = region_model(0, 0, 2, 2)  # a callable: known by its identity
    swapped = explainer.explain(x, targets=1)
    assert swapped[:2, :2].min() > 0 and np.all(swapped[2:] == 0)


def test_vizualize_is_the_seeds_name_and_says_where_it_saved(tmp_path, capsys):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    path = tmp_path / "occlusion_demo.png"
    ow.vizualize(np.zeros((8, 8)), np.zeros((8, 8, 3), np.uint8), save_path=path)
    assert capsys.readouterr().out == f"Plot saved to {path}\n"
    assert path.read_bytes()[:4] == b"\x89PNG"
    ow.vizualize(np.zeros((8, 8)), np.zeros((8, 8, 3), np.uint8))
    assert capsys.readouterr().out == ""  # no path, nothing said
    from occlusion_widget import compat

    assert "vizualize" in ow.__all__ and ow.vizualize is compat.vizualize


@pytest.mark.parametrize(
    ("targets", "error", "match"),
    [
        (1.7, TypeError, "got 1.7"),  # was class 1, as a (1, H, W) stack
        ([1.7], TypeError, r"class indices \(ints\); got 1.7"),
        (True, TypeError, "got True"),  # was class 1
        ([0, True], TypeError, "got True"),
        (["1"], TypeError, "ow.labels.imagenet"),  # was class 1
        ("cat", TypeError, "got 'cat'"),
        ([], ValueError, "empty list"),  # numpy's "need at least one array to stack"
        ({0, 1}, TypeError, "has no order"),
        ([5], ValueError, "out of range"),
    ],
)
def test_explain_refuses_targets_that_are_no_class_index(targets, error, match):
    explainer = ow.OcclusionSensitivity(_seed_like_model(), patch_size=8, stride=8)
    with pytest.raises(error, match=match):
        explainer.explain(np.zeros((1, 16, 16, 3), np.float32), targets=targets)


def test_explain_takes_numpy_indices():
    explainer = ow.OcclusionSensitivity(_seed_like_model(), patch_size=8, stride=8)
    x = np.zeros((1, 16, 16, 3), np.float32)
    assert explainer.explain(x, targets=np.int64(1)).shape == (16, 16)
    assert explainer.explain(x, targets=np.array([1, 0])).shape == (2, 16, 16)
    assert explainer.explain(x, targets=(np.int32(0),)).shape == (1, 16, 16)
