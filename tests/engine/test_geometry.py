"""Where the windows go: coverage, full-size patches, edges, rectangles, grayscale."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine.grid import axis_starts, make_grid
from tests.helpers.models import region_model

CASES = [
    # image (H, W), patch, stride
    ((224, 224), 16, 8),
    ((10, 10), 4, 3),
    ((10, 10), 4, 4),
    ((7, 13), (3, 5), (2, 4)),
    ((32, 48), (8, 4), (8, 1)),
    ((5, 9), (5, 9), 1),  # patch as large as the image
    ((6, 6), 1, 1),
]


@pytest.mark.parametrize(("hw", "patch", "stride"), CASES)
def test_every_pixel_covered_and_every_patch_full_size(hw, patch, stride):
    grid = make_grid(hw, patch, stride)
    ph, pw = grid.patch_size
    covered = np.zeros(hw, int)
    for r in range(grid.rows):
        for c in range(grid.cols):
            top, left, h, w = grid.box(r, c)
            assert (h, w) == (ph, pw)
            assert 0 <= top and top + h <= hw[0] and 0 <= left and left + w <= hw[1]
            covered[top : top + h, left : left + w] += 1
    assert covered.min() >= 1
    np.testing.assert_array_equal(grid.coverage(), covered)
    # The last row and column sit flush with the bottom and right edges.
    assert grid.tops[-1] + ph == hw[0] and grid.lefts[-1] + pw == hw[1]
    assert np.all(np.diff(grid.tops) > 0) and np.all(np.diff(grid.tops) <= grid.stride[0])


def test_axis_starts_by_hand():
    assert axis_starts(224, 16, 8).size == 27
    assert axis_starts(10, 4, 3).tolist() == [0, 3, 6]
    assert axis_starts(10, 4, 4).tolist() == [0, 4, 6]  # extra flush window at 6
    assert axis_starts(5, 5, 1).tolist() == [0]
    assert axis_starts(13, 5, 4).tolist() == [0, 4, 8]


def test_non_square_rectangular_result_geometry():
    result = ow.occlusion_map(
        region_model(0, 0, 2, 2),
        np.ones((7, 13, 3)),
        patch_size=(3, 5),
        stride=(2, 4),
        progress=False,
    )
    assert (result.rows, result.cols) == (3, 3)
    assert result.tops.tolist() == [0, 2, 4] and result.lefts.tolist() == [0, 4, 8]
    assert result.box(2, 2) == (4, 8, 3, 5)
    assert result.attribution(1).shape == (7, 13)


@pytest.mark.parametrize("shape", [(9, 7), (9, 7, 1)])
def test_grayscale_images(shape):
    image = np.full(shape, 200, np.uint8)
    seen = []

    def model(batch):
        seen.append(batch.shape)
        return region_model(0, 0, 9, 7)(batch / 255.0)

    result = ow.occlusion_map(
        model, image, patch_size=3, stride=2, baseline="black", progress=False
    )
    assert seen[0][1:] == (9, 7, 1)
    assert result.image_shape == (9, 7, 1) and result.value_range == (0.0, 255.0)
    assert result.occluded_image(0, 0).shape == (9, 7, 1)
    assert result.attribution(1).shape == (9, 7)


def test_patch_as_large_as_the_image_is_one_position():
    result = ow.occlusion_map(
        region_model(0, 0, 4, 4),
        np.ones((4, 6)),
        patch_size=(4, 6),
        stride=2,
        baseline="black",
        progress=False,
    )
    assert (result.rows, result.cols) == (1, 1)
    np.testing.assert_allclose(result.sensitivity(1), [[1.0]])
    np.testing.assert_allclose(result.attribution(1), np.ones((4, 6)))


def test_visiting_order_is_a_permutation_coarse_first():
    grid = make_grid((64, 64), 4, 2)
    order = grid.order()
    assert sorted(order.tolist()) == list(range(grid.total))
    rows, cols = np.divmod(order, grid.cols)
    first_level = (rows % 8 == 0) | (rows == grid.rows - 1)
    first_level &= (cols % 8 == 0) | (cols == grid.cols - 1)
    n0 = int(first_level.sum())
    assert first_level[:n0].all() and not first_level[n0:].any()
