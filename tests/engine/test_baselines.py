"""Fill values in raw pixel space, per input scale."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine import validate_params
from occlusion_widget.engine.baselines import gaussian_blur


def _fill(image, baseline, patch=4):
    return validate_params(image, patch_size=patch, stride=patch, baseline=baseline).baseline


@pytest.mark.parametrize(
    ("image", "gray", "black", "white"),
    [
        (np.array([[0, 255], [10, 20]], np.uint8), 128.0, 0.0, 255.0),
        (np.array([[0.1, 0.9], [0.2, 0.3]], np.float32), 0.5, 0.0, 1.0),
        (np.array([[-0.7, 0.9], [0.2, 0.3]], np.float32), 0.0, -1.0, 1.0),
        # A dark photo as float32 (keras.utils.img_to_array): still the [0, 255] scale, not its
        # own min and max (which gave gray 56.7 and white 113.4).
        (np.array([[0.0, 113.4], [10.0, 20.0]], np.float32), 127.5, 0.0, 255.0),
        (np.array([[3.0, 113.4], [10.0, 20.0]], np.float64), 127.5, 0.0, 255.0),
        (np.array([[0, 113], [10, 20]], np.int64), 128.0, 0.0, 255.0),
    ],
)
def test_named_fills_follow_the_images_scale(image, gray, black, white):
    assert np.all(_fill(image, "gray", 1) == gray)
    assert np.all(_fill(image, "grey", 1) == gray)
    assert np.all(_fill(image, "black", 1) == black)
    assert np.all(_fill(image, "white", 1) == white)


def test_value_range_sets_what_the_named_fills_mean():
    image = np.array([[-120.0, 30.0], [0.0, 5.0]])
    with pytest.raises(ValueError, match=r"run from -120 to 30.*value_range=\(-120, 30\)"):
        _fill(image, "gray", 1)
    params = validate_params(image, patch_size=1, stride=1, value_range=(-128, 128))
    assert params.image.value_range == (-128.0, 128.0)
    assert np.all(params.baseline == 0.0)
    white = validate_params(
        image, patch_size=1, stride=1, baseline="white", value_range=(-128, 128)
    )
    assert np.all(white.baseline == 128.0)
    # A range that does not hold the pixels is a mistake, said at once.
    with pytest.raises(ValueError, match=r"outside value_range=\(0.0, 1.0\)"):
        validate_params(image, patch_size=1, stride=1, value_range=(0, 1))
    with pytest.raises(ValueError, match=r"low < high"):
        validate_params(image, patch_size=1, stride=1, value_range=(5, 5))
    with pytest.raises(TypeError, match=r"value_range must be a \(low, high\) pair"):
        validate_params(image, patch_size=1, stride=1, value_range="0-255")
    # The result keeps the range, and the compat explainer takes it too.
    model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), -b.mean(axis=(1, 2, 3))], 1)  # noqa: E731
    result = ow.occlusion_map(
        model, image, patch_size=1, stride=1, value_range=(-128, 128), progress=False
    )
    assert result.value_range == (-128.0, 128.0)
    explainer = ow.OcclusionSensitivity(model, patch_size=1, stride=1, value_range=(-128, 128))
    assert explainer.occlusion_map(image).value_range == (-128.0, 128.0)


def test_mean_is_per_channel():
    image = np.zeros((4, 4, 3), np.float32)
    image[..., 1] = 0.5
    image[:2, :, 2] = 1.0
    fill = _fill(image, "mean")
    np.testing.assert_allclose(fill[0, 0], [0.0, 0.5, 0.5])
    assert fill.shape == (4, 4, 3)


def test_blur_smooths_but_keeps_a_constant_image():
    np.testing.assert_allclose(_fill(np.full((8, 8, 3), 0.3), "blur"), 0.3, atol=1e-6)
    image = np.zeros((16, 16, 1), np.float32)
    image[8, 8] = 1.0
    blurred = gaussian_blur(image, 1.5)
    assert blurred[8, 8, 0] < 0.2 and blurred[8, 9, 0] > 0.0
    np.testing.assert_allclose(blurred.sum(), 1.0, atol=1e-4)


def test_noise_is_seeded_and_inside_the_range():
    image = np.random.default_rng(5).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    first, second = _fill(image, "noise"), _fill(image, "noise")
    np.testing.assert_array_equal(first, second)
    assert first.min() >= 0 and first.max() <= 255 and first.std() > 30


def test_numbers_colours_and_images():
    image = np.zeros((4, 4, 3), np.uint8)
    assert np.all(_fill(image, 7) == 7) and np.all(_fill(image, 2.5) == 2.5)
    np.testing.assert_array_equal(_fill(image, (1, 2, 3))[3, 3], [1, 2, 3])
    np.testing.assert_array_equal(_fill(image, [9])[0, 0], [9, 9, 9])
    custom = np.arange(48, dtype=np.float32).reshape(4, 4, 3)
    np.testing.assert_array_equal(_fill(image, custom), custom)
    gray2d = np.zeros((4, 4), np.float32)
    np.testing.assert_array_equal(_fill(gray2d, np.eye(4))[..., 0], np.eye(4))


def test_occluding_copies_the_baseline_pixels_into_the_box():
    image = np.zeros((6, 6, 3), np.float32)
    custom = np.random.default_rng(0).uniform(size=(6, 6, 3)).astype(np.float32)

    def model(batch):
        return np.tile([[0.5, 0.5]], (len(batch), 1))

    result = ow.occlusion_map(model, image, patch_size=3, stride=3, baseline=custom, progress=False)
    occluded = result.occluded_image(1, 0)
    np.testing.assert_array_equal(occluded[3:6, 0:3], custom[3:6, 0:3])
    assert np.all(occluded[:3] == 0) and np.all(occluded[3:, 3:] == 0)
    np.testing.assert_array_equal(result.baseline, custom)
