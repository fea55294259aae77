"""The one image -> display function (engine/images.py ``to_display_rgba``): what the browser,
save() and the figures show for raw pixels of any scale."""

from __future__ import annotations

import numpy as np
import pytest

from occlusion_widget.engine.images import to_display_rgba


def test_rgb_uint8_passes_through_with_an_opaque_alpha_channel() -> None:
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    rgba = to_display_rgba(image)
    assert rgba.shape == (5, 7, 4) and rgba.dtype == np.uint8 and rgba.flags.c_contiguous
    assert np.array_equal(rgba[..., :3], image)
    assert np.all(rgba[..., 3] == 255)


@pytest.mark.parametrize("shape", [(4, 6), (4, 6, 1)])
def test_grayscale_is_repeated_into_rgb(shape: tuple[int, ...]) -> None:
    image = np.arange(24, dtype=np.uint8).reshape(shape)
    rgba = to_display_rgba(image)
    assert rgba.shape == (4, 6, 4)
    assert np.array_equal(rgba[..., 0], rgba[..., 2])
    assert np.array_equal(rgba[..., 1], image.reshape(4, 6))


def test_float_images_in_unit_and_symmetric_ranges_map_to_0_255() -> None:
    unit = np.array([[[0.0, 0.5, 1.0]]], dtype=np.float32)
    assert to_display_rgba(unit)[0, 0, :3].tolist() == [0, 128, 255]
    symmetric = np.array([[[-1.0, 0.0, 1.0]]], dtype=np.float32)
    assert to_display_rgba(symmetric)[0, 0, :3].tolist() == [0, 128, 255]


def test_a_given_value_range_maps_linearly_and_clips() -> None:
    pixels = np.array([[[-10.0, 0.0, 127.5, 255.0, 300.0]]]).reshape(1, 5, 1)
    shown = to_display_rgba(pixels, value_range=(0.0, 255.0))[0, :, 0]
    assert shown.tolist() == [0, 0, 128, 255, 255]
    # A constant image has no range to stretch: mid-grey, not a division by zero.
    assert to_display_rgba(np.ones((2, 2)), value_range=(1.0, 1.0))[0, 0, 0] == 128


def test_bad_shape_says_what_is_allowed() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\).*got \(2, 3, 5\)"):
        to_display_rgba(np.zeros((2, 3, 5)))
