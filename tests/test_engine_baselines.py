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
        (np.array([[-120.0, 30.0], [0.0, 5.0]]), -45.0, -120.0, 30.0),
    ],
)
def test_named_fills_follow_the_images_scale(image, gray, black, white):
    assert np.all(_fill(image, "gray", 1) == gray)
    assert np.all(_fill(image, "grey", 1) == gray)
    assert np.all(_fill(image, "black", 1) == black)
    assert np.all(_fill(image, "white", 1) == white)


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

    result = ow.occlusion_map(model, image, 3, 3, custom, progress=False)
    occluded = result.occluded_image(1, 0)
    np.testing.assert_array_equal(occluded[3:6, 0:3], custom[3:6, 0:3])
    assert np.all(occluded[:3] == 0) and np.all(occluded[3:, 3:] == 0)
    np.testing.assert_array_equal(result.baseline, custom)
