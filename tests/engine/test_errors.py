"""Every bad input gets a clear ValueError or TypeError that says what was given."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine import validate_params
from occlusion_widget.engine.approximate import approximate_map
from tests.helpers.models import region_model, softmax

IMAGE = np.ones((16, 16, 3), np.float32)
MODEL = region_model(0, 0, 4, 4)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"patch_size": 0}, ValueError, r"patch_size must be positive.*got 0"),
        ({"patch_size": -4}, ValueError, r"patch_size must be positive"),
        ({"patch_size": (4, 0)}, ValueError, r"patch_size must be positive"),
        ({"patch_size": 17}, ValueError, r"patch_size \(17, 17\).*cannot exceed the image size"),
        ({"patch_size": (4, 20)}, ValueError, r"cannot exceed the image size \(16, 16\)"),
        ({"patch_size": 2.5}, TypeError, r"patch_size must be a whole number of pixels"),
        ({"patch_size": True}, TypeError, r"patch_size"),
        ({"patch_size": "8"}, TypeError, r"patch_size"),
        ({"patch_size": (1, 2, 3)}, ValueError, r"\(height, width\) pair.*3 values"),
        ({"stride": 0}, ValueError, r"stride must be positive"),
        ({"stride": 9, "patch_size": 8}, ValueError, r"stride \(9, 9\) is larger than patch_size"),
        ({"stride": None}, TypeError, r"stride"),
        ({"baseline": "purple"}, ValueError, r"unknown baseline 'purple'.*'gray'"),
        ({"baseline": (1, 2)}, ValueError, r"one value per channel: 3.*got 2"),
        ({"baseline": np.zeros((8, 8, 3))}, ValueError, r"image's shape \(16, 16, 3\)"),
        ({"baseline": float("nan")}, ValueError, r"baseline must be finite"),
        ({"baseline": None}, TypeError, r"baseline must be"),
        ({"baseline": object()}, TypeError, r"baseline must be"),
        ({"output": "softmax"}, ValueError, r"output must be one of 'auto'"),
        ({"output": None}, ValueError, r"output must be one of"),
        ({"batch_size": 0}, ValueError, r"batch_size must be at least 1; got 0"),
        ({"batch_size": 2.0}, TypeError, r"batch_size must be a positive int"),
        ({"preprocess": "scale"}, TypeError, r"preprocess must be callable"),
        ({"progress": "yes"}, TypeError, r"progress must be True, False or a callable"),
        ({"cancel": True}, TypeError, r"cancel must be a threading.Event"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        validate_params(IMAGE, **kwargs)
    # The sweep raises the same before touching the model.
    calls = []
    with pytest.raises(error, match=match):
        ow.occlusion_map(lambda b: calls.append(b) or MODEL(b), IMAGE, **kwargs)
    assert calls == []


@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        (None, TypeError, r"got None"),
        (np.zeros((2, 8, 8, 3)), ValueError, r"batch of 2"),
        (np.zeros((1, 1, 8, 8, 3)), ValueError, r"must have shape \(H, W\)"),
        (np.zeros(8), ValueError, r"must have shape \(H, W\)"),
        (np.zeros((3, 32, 32)), ValueError, r"looks channels-first"),
        (np.zeros((0, 8, 3)), ValueError, r"empty"),
        (np.full((8, 8), np.nan), ValueError, r"NaN or infinite"),
        (np.zeros((8, 8), bool), TypeError, r"dtype bool"),
        ("no/such/file.png", ValueError, r"does not exist"),
        ([[1, 2], [3]], TypeError, r"image must"),
        (np.zeros((8, 8), complex), TypeError, r"complex"),
    ],
)
def test_bad_images(image, error, match):
    with pytest.raises(error, match=match):
        ow.occlusion_map(MODEL, image, patch_size=2, stride=2, progress=False)


def test_model_not_callable():
    with pytest.raises(TypeError, match=r"model must be a keras.Model or a callable"):
        ow.occlusion_map("mobilenet", IMAGE, patch_size=4, stride=4, progress=False)


def test_nan_from_the_model_is_a_value_error_naming_it():
    def model(batch):
        out = MODEL(batch)
        out[-1] = np.nan
        return out

    with pytest.raises(ValueError, match=r"the model returned NaN while scoring"):
        ow.occlusion_map(model, IMAGE, patch_size=4, stride=4, batch_size=4, progress=False)


def test_exception_in_the_model_is_chained_and_names_the_positions():
    def model(batch):
        if batch.shape[0] and np.any(batch[:, 12:, 12:] == 0.5):
            raise ValueError("shapes (3,) and (4,) not aligned")
        return MODEL(batch)

    with pytest.raises(ow.ModelError) as info:
        ow.occlusion_map(model, IMAGE, patch_size=4, stride=4, batch_size=8, progress=False)
    message = str(info.value)
    assert message.startswith("the model raised ValueError: shapes (3,) and (4,) not aligned")
    assert (
        "while scoring" in message
        and "of 16" in message
        and "batch shape (8, 16, 16, 3)" in message
    )
    assert isinstance(info.value.__cause__, ValueError)
    assert isinstance(info.value, RuntimeError)


def test_exception_in_preprocess_says_preprocess():
    def preprocess(batch):
        raise KeyError("mean")

    with pytest.raises(ow.ModelError, match=r"^preprocess raised KeyError"):
        ow.occlusion_map(
            MODEL, IMAGE, patch_size=4, stride=4, preprocess=preprocess, progress=False
        )


def test_nan_from_preprocess_is_refused_even_when_the_model_hides_it():
    # A compiled model can turn NaN inputs into finite scores (TensorFlow's ReLU does): the
    # scores' own check would pass and the sweep would report a plausible, wrong map.
    def model(batch):
        return MODEL(np.nan_to_num(batch, nan=0.0))

    def preprocess(batch):
        with np.errstate(invalid="ignore"):
            return np.sqrt(batch - 0.75)  # NaN under the grey patch

    with pytest.raises(ValueError, match=r"preprocess returned NaN \(\d+ of \d+ values"):
        ow.occlusion_map(
            model, IMAGE, patch_size=4, stride=4, preprocess=preprocess, progress=False
        )


def test_preprocess_that_returns_nothing_is_told_to_return_the_batch():
    def preprocess(batch):
        batch -= 0.5  # in place, but forgets to return it

    with pytest.raises(ValueError, match=r"preprocess returned None.*`return batch`"):
        ow.occlusion_map(
            MODEL, IMAGE, patch_size=4, stride=4, preprocess=preprocess, progress=False
        )


def test_a_model_that_returns_nothing_is_not_told_about_segmentation():
    with pytest.raises(ValueError, match=r"the model returned None") as info:
        ow.occlusion_map(lambda b: None, IMAGE, patch_size=4, stride=4, progress=False)
    assert "Segmentation" not in str(info.value)


def test_a_keras_builder_or_a_class_instead_of_a_model_is_told_to_build_it_first():
    import keras

    with pytest.raises(TypeError, match=r"call it first, e.g. model = keras.applications.Mob"):
        ow.occlusion_map(keras.applications.MobileNetV2, IMAGE, progress=False)
    with pytest.raises(TypeError, match=r"model is the class Sequential, not a model"):
        ow.OcclusionWidget(keras.Sequential, IMAGE, patch_size=4, stride=4)


def test_a_model_with_no_class_scores_is_refused_in_words():
    with pytest.raises(ValueError, match=r"no class scores \(shape \(\d+, 0\)\)"):
        ow.occlusion_map(
            lambda b: np.zeros((len(b), 0)), IMAGE, patch_size=4, stride=4, progress=False
        )


def test_a_file_that_is_not_an_image_names_the_path(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(ValueError, match=r"notes.png' is not an image Pillow can read"):
        ow.occlusion_map(MODEL, path, patch_size=4, stride=4, progress=False)


def test_approximate_map_names_a_mistyped_keyword_not_an_internal_function():
    with pytest.raises(TypeError, match=r"^approximate_map\(\) got .*did you mean 'patch_size'"):
        approximate_map(MODEL, IMAGE, patchsize=4)


@pytest.mark.parametrize(
    ("output", "match"),
    [
        (lambda b: [MODEL(b), MODEL(b)], r"2 outputs"),
        (lambda b: {"a": MODEL(b), "b": MODEL(b)}, r"2 outputs"),
        (lambda b: np.zeros((len(b), 4, 4, 2)), r"one score vector per image"),
        (lambda b: np.zeros((1, 3)), r"returned 1 score rows for a batch of"),
    ],
)
def test_wrong_model_outputs(output, match):
    with pytest.raises(ValueError, match=match):
        ow.occlusion_map(output, IMAGE, patch_size=4, stride=4, batch_size=4, progress=False)


def test_bad_targets():
    result = ow.occlusion_map(MODEL, IMAGE, patch_size=4, stride=4, progress=False)
    with pytest.raises(ValueError, match=r"target 2 is out of range: the model has 2 classes"):
        result.sensitivity(2)
    with pytest.raises(ValueError, match=r"out of range"):
        result.attribution(-1)
    with pytest.raises(TypeError, match=r"target must be a class index"):
        result.probability("cat")


def _calibrated_then(scores_later):
    """Probabilities for the first batch (which holds the unoccluded image), then
    ``scores_later`` for every row of every later batch."""
    first = []

    def model(batch):
        out = MODEL(batch)
        if first:
            out = np.full_like(out, scores_later)
        first.append(True)
        return out

    return model


def test_every_batch_is_checked_against_the_output_kind():
    # Batch 1 looks like probabilities, batch 2 has scores of 3.0: not stored as probabilities.
    model = _calibrated_then(3.0)
    with pytest.raises(
        ValueError,
        match=r"scores from 3 to 3 in batch 2 \(positions 3-6 of 16.*output='auto' read them "
        r"as probabilities.*output='logits'",
    ):
        ow.occlusion_map(model, IMAGE, patch_size=4, stride=4, batch_size=4, progress=False)


@pytest.mark.parametrize("bad", [-0.1, 1.1])
def test_declared_probabilities_outside_0_1_are_refused(bad):
    def model(batch):
        out = MODEL(batch)
        out[:, 0] = bad
        return out

    with pytest.raises(ValueError, match=rf"scores from .*{bad}.* in batch 1 .*outside \[0, 1\]"):
        ow.occlusion_map(
            model, IMAGE, patch_size=4, stride=4, output="probabilities", progress=False
        )


def test_float32_rounding_past_0_and_1_is_tolerated():
    # Within PROBABILITY_TOLERANCE (1e-3): float32 softmax rounding, clipped into [0, 1].
    def model(batch):
        out = MODEL(batch).astype(np.float32)
        return np.clip(out * 1.0005 - 0.0002, -0.0005, 1.0005)

    result = ow.occlusion_map(
        model, IMAGE, patch_size=4, stride=4, output="probabilities", progress=False
    )
    assert np.nanmin(result.probabilities) >= 0 and np.nanmax(result.probabilities) <= 1


def test_a_model_error_keeps_the_positions_already_scored():
    calls = []

    def model(batch):
        calls.append(len(batch))
        if len(calls) == 4:  # the last of 4 batches
            raise RuntimeError("device lost")
        return MODEL(batch)

    with pytest.raises(ow.ModelError, match="device lost") as info:
        ow.occlusion_map(model, IMAGE, patch_size=4, stride=4, batch_size=5, progress=False)
    partial = info.value.partial_result
    assert isinstance(partial, ow.OcclusionResult)
    # Batches of 5 items: the unoccluded image + 4 positions, then 5, 5, and the failing 2.
    assert partial.done == 14 and not partial.complete
    assert np.isfinite(partial.probabilities[partial.computed]).all()
    assert np.isnan(partial.probabilities[~partial.computed]).all()
    expected = ow.occlusion_map(MODEL, IMAGE, patch_size=4, stride=4, progress=False)
    np.testing.assert_array_equal(
        partial.probabilities[partial.computed], expected.probabilities[partial.computed]
    )


def test_a_first_batch_failure_has_no_partial_result():
    def model(batch):
        raise RuntimeError("broken")

    with pytest.raises(ow.ModelError) as info:
        ow.occlusion_map(model, IMAGE, patch_size=4, stride=4, progress=False)
    assert info.value.partial_result is None


def test_logits_declared_for_a_model_that_ends_in_a_softmax_is_warned_about():
    # A softmax over probabilities flattened them without a word (0.996 became 0.47).
    def model(batch):
        return softmax(8.0 * np.asarray(MODEL(batch)))

    with pytest.warns(UserWarning, match=r"output='logits' but every row .* flattens them"):
        ow.occlusion_map(model, IMAGE, patch_size=4, stride=4, output="logits", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ow.occlusion_map(model, IMAGE, patch_size=4, stride=4, progress=False)  # "auto"
