"""The first widget: an image from Python drawn on a canvas through a binary buffer."""

from __future__ import annotations

import numpy as np
import pytest

from occlusion_widget.widget import _as_rgba_uint8


def test_rgb_uint8_gets_an_opaque_alpha_channel() -> None:
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    rgba = _as_rgba_uint8(image)
    assert rgba.shape == (5, 7, 4) and rgba.dtype == np.uint8
    assert np.array_equal(rgba[..., :3], image)
    assert np.all(rgba[..., 3] == 255)


@pytest.mark.parametrize("shape", [(4, 6), (4, 6, 1)])
def test_grayscale_is_repeated_into_rgb(shape: tuple[int, ...]) -> None:
    image = np.arange(24, dtype=np.uint8).reshape(shape)
    rgba = _as_rgba_uint8(image)
    assert rgba.shape == (4, 6, 4)
    assert np.array_equal(rgba[..., 0], rgba[..., 2])
    assert np.array_equal(rgba[..., 1], image.reshape(4, 6))


def test_float_images_in_unit_and_symmetric_ranges_map_to_0_255() -> None:
    unit = np.array([[[0.0, 0.5, 1.0]]], dtype=np.float32)
    assert _as_rgba_uint8(unit)[0, 0, :3].tolist() == [0, 128, 255]
    symmetric = np.array([[[-1.0, 0.0, 1.0]]], dtype=np.float32)
    assert _as_rgba_uint8(symmetric)[0, 0, :3].tolist() == [0, 128, 255]


def test_bad_shape_says_what_is_allowed() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\).*got \(2, 3, 5\)"):
        _as_rgba_uint8(np.zeros((2, 3, 5)))
