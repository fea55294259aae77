"""The advice in an error fits the mistake actually made: channels, size, value range, outputs."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import occlusion_widget as ow
from tests.helpers.models import region_model

keras = pytest.importorskip("keras")


def _model(shape):
    return keras.Sequential(
        [keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")]
    )


def _sweep(model, image, **kwargs):
    return ow.occlusion_map(model, image, patch_size=4, stride=4, progress=False, **kwargs)


def test_a_grey_image_for_an_rgb_model_is_told_about_channels():
    with pytest.raises(ValueError) as info:
        _sweep(_model((8, 8, 3)), np.ones((8, 8), np.float32))
    message = str(info.value)
    assert "channels differ (1 given, 3 expected)" in message
    assert "np.repeat(img[..., None], 3, -1)" in message
    assert "Resize" not in message and "resize" not in message


def test_an_rgb_image_for_a_grey_model_is_told_about_channels():
    for shape in ((8, 8, 1), (8, 8)):  # with and without a declared channel axis
        with pytest.raises(ValueError) as info:
            _sweep(_model(shape), np.ones((8, 8, 3), np.float32))
        message = str(info.value)
        assert "channels differ (3 given, 1 expected)" in message, message
        assert "img.mean(-1, keepdims=True)" in message and "resize" not in message.lower()


def test_an_rgba_png_is_told_to_convert_to_rgb(tmp_path):
    path = tmp_path / "logo.png"
    Image.new("RGBA", (8, 8), (10, 20, 30, 255)).save(path)
    with pytest.raises(ValueError) as info:
        _sweep(_model((8, 8, 3)), path)
    message = str(info.value)
    assert "channels differ (4 given, 3 expected)" in message
    assert 'Image.open(path).convert("RGB")' in message and "resize" not in message.lower()


def test_a_photo_of_the_wrong_size_names_the_size_and_the_fixes():
    with pytest.raises(ValueError) as info:
        _sweep(_model((12, 16, 3)), np.ones((8, 8, 3), np.float32))
    message = str(info.value)
    assert "the model takes 12 x 16 images" in message
    assert "keras.utils.load_img(path, target_size=(12, 16))" in message
    assert "resize=True" in message


def test_resize_true_resizes_to_the_models_input_and_keeps_the_resized_image():
    photo = np.zeros((24, 32, 3), np.uint8)
    photo[:, 16:] = 255  # right half white
    model = _model((12, 16, 3))
    result = _sweep(model, photo, resize=True)
    assert result.image.shape == (12, 16, 3) and result.image_shape == (12, 16, 3)
    assert (result.rows, result.cols) == (3, 4)
    # Antialiased and kept in range: the halves stay black and white away from the edge.
    assert result.image[:, :4].max() == 0 and result.image[:, 12:].min() == 255
    assert result.value_range == (0.0, 255.0)
    explicit = _sweep(region_model(0, 0, 4, 4), photo / 255.0, resize=(12, 16))
    assert explicit.image.shape == (12, 16, 3)
    with pytest.raises(TypeError, match=r"resize=True .* pass model="):
        ow.engine.validate_params(photo, resize=True)
    with pytest.raises(ValueError, match=r"declares its input size"):
        _sweep(region_model(0, 0, 4, 4), photo, resize=True)


def test_explainer_takes_resize():
    model = _model((12, 16, 3))
    explainer = ow.OcclusionSensitivity(model, patch_size=4, stride=4, resize=True)
    assert explainer.explain(np.zeros((1, 24, 32, 3), np.float32), targets=0).shape == (12, 16)


def test_nan_scores_report_the_value_range_not_the_dtype():
    def model(batch):
        return np.full((len(batch), 2), np.nan)

    with pytest.raises(ValueError) as info:
        _sweep(model, np.full((8, 8, 3), 200, np.uint8))
    message = str(info.value)
    assert "read as spanning [0, 255]" in message and "ranged from [128, 200]" in message
    assert "float32" not in message


def test_a_list_of_lists_is_rows_of_scores_not_outputs():
    def model(batch):
        p = np.asarray(batch).mean(axis=(1, 2, 3))
        return [[float(v), 1.0 - float(v)] for v in p]  # 8 rows for a batch of 8

    result = _sweep(model, np.ones((8, 8, 3), np.float32), batch_size=8)
    assert result.num_classes == 2 and result.base_probabilities.tolist() == [1.0, 0.0]
