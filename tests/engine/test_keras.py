"""Keras models through the compiled forward pass (TensorFlow backend, the default)."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.engine_helpers import BATCH_SIZES
from tests.helpers.models import dense_logit_model, dense_logit_scores

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_hand_computed_keras_model(batch_size):
    model = dense_logit_model()
    image = np.ones((6, 6, 2), np.float32)
    result = ow.occlusion_map(
        model,
        image,
        patch_size=2,
        stride=2,
        baseline="black",
        batch_size=batch_size,
        progress=False,
    )
    assert result.output_kind == "softmax"
    np.testing.assert_allclose(result.base_probabilities, dense_logit_scores(9.0), rtol=1e-5)
    # Each 2x2 patch at (r, c) removes its overlap with the 3x3 corner from the sum.
    for r in range(3):
        for c in range(3):
            top, left = 2 * r, 2 * c
            inside = max(0, min(top + 2, 3) - top) * max(0, min(left + 2, 3) - left)
            s = 9.0 - inside
            expected = dense_logit_scores(s)
            np.testing.assert_allclose(result.probabilities[r, c], expected, rtol=1e-5)


def test_matches_a_direct_call_and_does_not_depend_on_batching():
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12, 10, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )
    image = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    results = [
        ow.occlusion_map(
            model,
            image,
            patch_size=(4, 3),
            stride=2,
            baseline="mean",
            preprocess=lambda b: b / 255.0,
            batch_size=b,
            progress=False,
        )
        for b in BATCH_SIZES
    ]
    for other in results[1:]:
        np.testing.assert_allclose(other.probabilities, results[0].probabilities, atol=1e-6)
    result = results[0]
    assert result.output_kind == "probabilities"
    direct = (
        np.stack(
            [result.occluded_image(r, c) for r in range(result.rows) for c in range(result.cols)]
        )
        / 255.0
    )
    expected = keras.ops.convert_to_numpy(model(direct, training=False))
    np.testing.assert_allclose(result.probabilities.reshape(-1, 5), expected, atol=1e-6)
    base = keras.ops.convert_to_numpy(model(image[None] / 255.0))[0]
    np.testing.assert_allclose(result.base_probabilities, base, atol=1e-6)


class _TraceCounter(keras.layers.Layer):
    traces = 0

    def call(self, x):
        # Python in call() runs once per trace under tf.function, every call in eager mode.
        type(self).traces += 1
        return x


def test_one_trace_for_the_whole_sweep_including_the_padded_last_batch():
    model = keras.Sequential(
        [keras.Input((8, 8, 1)), _TraceCounter(), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    _TraceCounter.traces = 0
    result = ow.occlusion_map(
        model, np.ones((8, 8)), patch_size=4, stride=2, batch_size=3, progress=False
    )
    assert result.total == 9  # 10 images in 4 batches of 3: the last one padded
    assert _TraceCounter.traces == 1
    # A second sweep of the same model and image size (another baseline, another batch size)
    # reuses the compiled function.
    ow.occlusion_map(
        model,
        np.ones((8, 8)),
        patch_size=2,
        stride=1,
        baseline="black",
        batch_size=5,
        progress=False,
    )
    assert _TraceCounter.traces == 1


def test_wrong_image_size_for_the_model():
    model = dense_logit_model()
    with pytest.raises(
        ValueError,
        match=r"shape \(\d+, 7, 7, 2\) but the model expects "
        r"\(None, 6, 6, 2\)",
    ):
        ow.occlusion_map(model, np.ones((7, 7, 2)), patch_size=2, stride=2, progress=False)


def test_several_outputs_is_a_clear_error():
    inputs = keras.Input((4, 4, 1))
    flat = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(2)(flat), keras.layers.Dense(3)(flat)])
    with pytest.raises(ValueError, match=r"2 outputs.*keras.Model\(model.inputs"):
        ow.occlusion_map(model, np.ones((4, 4)), patch_size=2, stride=2, progress=False)


def test_grayscale_model_without_channel_axis():
    model = keras.Sequential(
        [keras.Input((5, 5)), keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")]
    )
    result = ow.occlusion_map(
        model, np.ones((5, 5), np.float32), patch_size=2, stride=1, progress=False
    )
    assert result.num_classes == 2 and result.output_kind == "sigmoid"
    np.testing.assert_allclose(result.base_probabilities.sum(), 1.0, rtol=1e-6)


class _AssertDark(keras.layers.Layer):
    def call(self, x):
        import tensorflow as tf

        # Fails at run time inside the compiled graph, where TF's own message is a long trace.
        tf.debugging.assert_less(tf.reduce_max(x), 0.5, message="pixel too bright")
        return x


def test_model_errors_inside_the_compiled_graph_are_wrapped():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("this case is about the TensorFlow graph's errors")
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), _AssertDark(), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    with pytest.raises(ow.ModelError) as info:
        ow.occlusion_map(
            model, np.ones((4, 4)), patch_size=2, stride=2, baseline="black", progress=False
        )
    message = str(info.value)
    assert message.startswith("the model raised InvalidArgumentError:")
    assert "pixel too bright" in message and "while scoring the unoccluded image" in message
    assert len(message) < 700 and "\n" not in message
    assert type(info.value.__cause__).__name__ == "InvalidArgumentError"
