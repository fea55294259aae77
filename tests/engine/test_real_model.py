"""The real thing: MobileNetV2 with ImageNet weights on the Keras elephant photo.

Uses the shared offline assets (``../shared/assets`` or ``$OCCLUSION_WIDGET_ASSETS``) and skips
when they are absent. One coarse sweep (patch 56, stride 28: 49 positions) keeps it to seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.engine_helpers import shared_assets

pytestmark = pytest.mark.slow

ASSETS = shared_assets()
ELEPHANT = 386  # African_elephant


def _require_assets():
    if ASSETS is None:
        pytest.skip(
            "shared assets not found (../shared/assets or $OCCLUSION_WIDGET_ASSETS): "
            "the real-model test needs MobileNetV2's ImageNet weights and elephant.jpg"
        )
    weights = (
        ASSETS
        / "keras_home"
        / "models"
        / ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5")
    )
    photo = ASSETS / "images" / "elephant.jpg"
    for path in (weights, photo):
        if not path.is_file():
            pytest.skip(f"missing shared asset {path}")
    return weights, photo


@pytest.fixture(scope="module")
def mobilenet():
    weights, photo = _require_assets()
    keras = pytest.importorskip("keras")
    from PIL import Image

    # The same file KERAS_HOME=<assets>/keras_home makes weights="imagenet" load; passing the
    # path works even when Keras was imported before KERAS_HOME could be set in this process.
    model = keras.applications.MobileNetV2(weights=str(weights))
    img_array = np.array(Image.open(photo).convert("RGB").resize((224, 224)))
    return model, img_array


def test_elephant_top_class_and_attribution_on_the_elephant(mobilenet):
    keras = pytest.importorskip("keras")
    model, img_array = mobilenet
    result = ow.occlusion_map(
        model,
        img_array,
        patch_size=56,
        stride=28,
        baseline="gray",
        preprocess=keras.applications.mobilenet_v2.preprocess_input,
        progress=False,
    )
    assert result.complete and (result.rows, result.cols) == (7, 7)
    assert result.base_class == ELEPHANT
    assert ow.labels.imagenet()[result.base_class] == "African_elephant"
    top3 = np.argsort(result.base_probabilities)[::-1][:3].tolist()
    assert ELEPHANT in top3 and 101 in top3  # tusker is a close second
    # The photo: sky along the top, the elephant in the middle columns, its head and tusks
    # around rows 40-110, columns 90-170.
    elephant = (slice(40, 200), slice(70, 180))
    head = (slice(40, 110), slice(90, 170))
    sky = (slice(0, 25), slice(None))
    # This model is sure it sees an elephant wherever a 56-pixel patch goes: occluding only
    # moves probability between African_elephant and tusker. Hiding the head and tusks takes
    # probability from tusker (positive attribution) and gives it to African_elephant
    # (negative), so what the model looks at shows in the size of the attribution, not its sign.
    magnitude = np.abs(result.attribution(ELEPHANT))
    assert magnitude[elephant].mean() > 1.2 * magnitude[sky].mean()
    tusker = result.attribution(101)
    assert tusker[head].mean() > 0.05
    assert tusker[head].mean() > 2 * abs(tusker[sky].mean())
    assert (
        result.sensitivity(ELEPHANT)[1:3, 3:6].max() < 0 < result.sensitivity(101)[1:3, 3:6].min()
    )
    np.testing.assert_allclose(
        result.sensitivity(ELEPHANT)[1:3, 3:6], -result.sensitivity(101)[1:3, 3:6], atol=0.03
    )


def test_seed_notebook_flow_with_the_real_model(mobilenet, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    model, img_array = mobilenet
    x = img_array.astype(np.float32)
    x = x / 127.5 - 1.0
    x = np.expand_dims(x, axis=0)
    preds = np.asarray(model(x, training=False))
    top_indices = np.argsort(preds[0])[-3:][::-1]
    target_class = top_indices[0]

    explainer = ow.OcclusionSensitivity(model, patch_size=56, stride=28)
    explanation = explainer.explain(x, targets=target_class)
    path = tmp_path / "occlusion_demo.png"
    ow.visualize(explanation, img_array, save_path=path)

    assert target_class == ELEPHANT
    assert explanation.shape == (224, 224)
    assert explainer.occlusion_map(x).value_range == (-1.0, 1.0)
    assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000
    second = explainer.explain(x, targets=top_indices[1])
    assert second.shape == (224, 224) and not np.allclose(second, explanation)
