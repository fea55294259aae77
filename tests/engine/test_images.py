"""Everything users call an image: arrays, batches of one, PIL images, paths, value ranges."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from occlusion_widget.engine.images import load_image, value_range_of


def test_arrays_pil_and_paths_agree(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    path = tmp_path / "img.png"
    Image.fromarray(pixels).save(path)
    for source in (pixels, pixels[None], Image.fromarray(pixels), path, str(path)):
        raw = load_image(source)
        np.testing.assert_array_equal(raw.pixels, pixels.astype(np.float32))
        assert raw.value_range == (0.0, 255.0) and raw.integer
        assert raw.pixels.dtype == np.float32


def test_a_phone_photo_is_read_upright_as_viewers_show_it(tmp_path):
    # A 2x3 photo stored landscape with EXIF orientation 6 ("rotate 90 clockwise to view"):
    # viewers show it portrait, 3 high and 2 wide, with the stored left column on top.
    stored = np.zeros((2, 3, 3), np.uint8)
    stored[:, 0] = 255  # the stored left column is white
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = 6
    path = tmp_path / "phone.png"
    img.save(path, exif=exif)
    upright = load_image(path).pixels
    assert upright.shape == (3, 2, 3)
    np.testing.assert_array_equal(upright[0], np.full((2, 3), 255.0))  # on top
    np.testing.assert_array_equal(upright[1:], 0.0)
    # An image object is taken as it is, as the caller holds it.
    with Image.open(path) as opened:
        assert load_image(opened).pixels.shape == (2, 3, 3)


def test_palette_images_become_rgb():
    img = Image.new("P", (4, 3))
    assert load_image(img).pixels.shape == (3, 4, 3)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([0, 3], np.uint8), (0.0, 255.0)),
        (np.array([0, 3], np.uint16), (0.0, 65535.0)),
        (np.array([0.0, 1.0]), (0.0, 1.0)),
        (np.array([-1.0, 0.5]), (-1.0, 1.0)),
        (np.array([0, 200], np.int32), (0.0, 255.0)),
        (np.array([3.0, 113.4], np.float32), (0.0, 255.0)),  # a dark photo as float32
        (np.array([0.0, 1.5]), (0.0, 255.0)),
    ],
)
def test_value_range(values, expected):
    assert value_range_of(values) == expected


@pytest.mark.parametrize("values", [np.array([-3.0, 250.0]), np.array([0.0, 256.0])])
def test_values_in_no_nominal_range_ask_for_value_range(values):
    with pytest.raises(ValueError, match=r"pass|value_range=\("):
        value_range_of(values)


def test_grayscale_gets_a_channel_axis():
    raw = load_image(np.zeros((3, 4)))
    assert raw.pixels.shape == (3, 4, 1) and raw.squeeze_channel


def test_a_0_1_image_that_overshoots_1_is_warned_about_not_silently_read_as_0_255():
    # Read as [0, 255], a grey patch is 127.5: about 125x the brightest pixel of the image.
    image = np.linspace(0.0, 1.02, 48, dtype=np.float32).reshape(4, 4, 3)
    with pytest.warns(UserWarning, match=r"just past 1, so it is read in \[0, 255\].*np.clip"):
        raw = load_image(image)
    assert raw.value_range == (0.0, 255.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image(np.clip(image, 0, 1))  # clipped: [0, 1], no warning
        load_image(image, value_range=(0, 255))  # said so: no warning
        load_image(image * 100)  # a dark [0, 255] photo is not a [0, 1] one
