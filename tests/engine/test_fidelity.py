"""Deletion and insertion curves (RISE) against curves known by construction.

The models are means of pixel regions, so every point of every curve is a sum of known pixel
values divided by the region's area: tolerances only absorb float32 rounding of such means.
"""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine.baselines import gaussian_blur
from occlusion_widget.engine.fidelity import curve_counts, pixel_order, trapezoid_auc
from tests.helpers.engine_helpers import BATCH_SIZES, Recorder, region_model

# float32 means of <= 64 values in [0, 1]: rounding stays far below 1e-6.
TOL = 1e-6


def _graded_image():
    """A 4x4 image whose 16 pixels are 1/16 .. 16/16 in a fixed shuffled order."""
    values = np.random.default_rng(3).permutation(16) + 1.0
    return (values / 16.0).reshape(4, 4).astype(np.float32)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_curves_of_a_region_model_are_known_by_construction(batch_size):
    # Class 1 = mean of the top two rows (8 pixels). With 1x1 patches and a black baseline the
    # map of a pixel in the region is its value / 8 (all different), outside it is 0. So
    # deletion removes the region's pixels brightest first, then the others (no effect), and
    # insertion adds them back in the same order: each curve point is a partial sum.
    image = _graded_image()
    model = region_model(0, 0, 2, 4)
    result = ow.occlusion_map(
        model, image, patch_size=1, stride=1, baseline="black", progress=False
    )
    curves = ow.fidelity(model, result, steps=16, batch_size=batch_size)

    region = np.sort(image[:2].ravel())[::-1].astype(np.float64)
    removed = np.concatenate([[0.0], np.cumsum(region), np.full(8, region.sum())])
    expected_deletion = (region.sum() - removed) / 8.0
    expected_insertion = removed / 8.0
    np.testing.assert_allclose(curves.fractions, np.arange(17) / 16.0)
    np.testing.assert_allclose(curves.deletion, expected_deletion, atol=TOL)
    np.testing.assert_allclose(curves.insertion, expected_insertion, atol=TOL)
    assert curves.target == 1
    # Trapezoids over 16 equal intervals of width 1/16.
    expected_del_auc = np.sum(expected_deletion[1:] + expected_deletion[:-1]) / 32.0
    assert curves.deletion_auc == pytest.approx(expected_del_auc, abs=TOL)
    assert curves.insertion_auc == pytest.approx(
        np.sum(expected_insertion[1:] + expected_insertion[:-1]) / 32.0, abs=TOL
    )


def test_the_map_ranks_better_than_the_reverse_order():
    # A map that finds what the model needs deletes it first: its deletion AUC is below that of
    # the worst order (least important first), and its insertion AUC above it.
    image = _graded_image()
    model = region_model(0, 0, 2, 4)
    result = ow.occlusion_map(
        model, image, patch_size=1, stride=1, baseline="black", progress=False
    )
    curves = ow.fidelity(model, result, steps=16)
    region = np.sort(image[:2].ravel()).astype(np.float64)  # dimmest first, after 8 zeros
    worst = np.concatenate([np.zeros(9), np.cumsum(region)])
    worst_deletion = (region.sum() - worst) / 8.0
    assert curves.deletion_auc < trapezoid_auc(np.arange(17) / 16, worst_deletion) - 0.2


def test_overlapping_windows_rank_pixels_by_their_coverage_averaged_map():
    result = ow.occlusion_map(
        region_model(0, 0, 2, 2),
        np.ones((4, 4)),
        patch_size=2,
        stride=1,
        baseline="black",
        progress=False,
    )
    attribution = result.attribution(1).ravel()
    order = pixel_order(result, 1)
    assert np.all(np.diff(attribution[order]) <= 0)  # most important first
    # Ties keep raster order, so the order is the same on every machine.
    for value in np.unique(attribution):
        tied = order[attribution[order] == value]
        assert np.all(np.diff(tied) > 0)


def test_reveal_and_occlude_maps_of_a_linear_model_give_the_same_curves():
    image = _graded_image()
    model = region_model(1, 0, 2, 3)
    hidden = ow.occlusion_map(
        model, image, patch_size=2, stride=1, baseline="black", progress=False
    )
    shown = ow.occlusion_map(
        model, image, patch_size=2, stride=1, baseline="black", progress=False, mode="reveal"
    )
    a, b = ow.fidelity(model, hidden, steps=8), ow.fidelity(model, shown, steps=8)
    np.testing.assert_allclose(a.deletion, b.deletion, atol=TOL)
    np.testing.assert_allclose(a.insertion, b.insertion, atol=TOL)


def test_insertion_can_start_from_a_blurred_image_as_in_rise():
    image = _graded_image()
    model = region_model(0, 0, 4, 4)
    result = ow.occlusion_map(
        model, image, patch_size=2, stride=2, baseline="black", progress=False
    )
    curves = ow.fidelity(model, result, steps=4, insertion_baseline="blur")
    assert curves.baseline_name == "black" and curves.insertion_baseline_name == "blur"
    blurred = gaussian_blur(image[:, :, None], sigma=1.0)  # a quarter of the 2-pixel patch -> 1
    assert curves.insertion[0] == pytest.approx(float(blurred.mean()), abs=TOL)
    assert curves.insertion[-1] == pytest.approx(float(image.mean()), abs=TOL)
    assert curves.deletion[-1] == pytest.approx(0.0, abs=TOL)  # deletion still ends black


def test_images_stream_in_batches_of_the_given_size():
    recorder = Recorder(region_model(0, 0, 2, 2))
    result = ow.occlusion_map(
        recorder, np.ones((4, 4)), patch_size=2, stride=2, baseline="black", progress=False
    )
    recorder.batches.clear()
    ow.fidelity(recorder, result, steps=4, batch_size=3)
    # 2 curves x 5 points = 10 images: 4 model calls of exactly 3 images (the last padded).
    assert [len(b) for b in recorder.batches] == [3, 3, 3, 3]
    seen = np.concatenate(recorder.batches)
    np.testing.assert_array_equal(seen[0], result.image)  # deletion starts from the image
    np.testing.assert_array_equal(seen[4], result.baseline)  # ...and ends at the baseline
    np.testing.assert_array_equal(seen[5], result.baseline)  # insertion starts there
    np.testing.assert_array_equal(seen[9], result.image)


def test_curve_counts_cover_zero_to_all_pixels():
    assert curve_counts(64, 16).tolist() == list(range(0, 65, 4))
    assert curve_counts(10, 3).tolist() == [0, 3, 6, 10]
    assert curve_counts(2, 50).tolist() == [0, 1, 2]


def test_a_partial_result_is_refused_with_advice():
    partial = next(
        iter(
            ow.iter_occlusion(
                region_model(0, 0, 2, 2), np.ones((4, 4)), patch_size=1, stride=1, batch_size=2
            )
        )
    )
    with pytest.raises(ValueError, match=r"not complete .*1 of 16.*Let the sweep finish"):
        ow.fidelity(region_model(0, 0, 2, 2), partial)


@pytest.mark.parametrize("steps", [0, -3, 2.5, True])
def test_bad_steps_are_refused(steps):
    result = ow.occlusion_map(
        region_model(0, 0, 2, 2), np.ones((4, 4)), patch_size=2, stride=2, progress=False
    )
    with pytest.raises(ValueError, match="steps must be a positive int"):
        ow.fidelity(region_model(0, 0, 2, 2), result, steps=steps)


def test_a_different_preprocess_than_the_sweep_is_warned_about():
    model = region_model(0, 0, 2, 2)
    result = ow.occlusion_map(
        model,
        np.ones((4, 4)),
        patch_size=2,
        stride=2,
        baseline="black",
        preprocess=lambda b: b / 2,
        progress=False,
    )
    with pytest.warns(UserWarning, match="same model and preprocess"):
        ow.fidelity(model, result, steps=2)


def test_a_group_target_is_refused_by_what_fidelity_takes():
    # The message said "or a group of them (list, tuple or set of ints)" while refusing one.
    def model(batch):
        m = np.asarray(batch).mean(axis=(1, 2, 3))
        return np.stack([m, 1.0 - m], axis=1)

    result = ow.occlusion_map(model, np.ones((4, 4)), patch_size=2, stride=2, progress=False)
    with pytest.raises(TypeError, match=r"fidelity follows one class: .* got \[0, 1\]"):
        ow.fidelity(model, result, steps=2, target=[0, 1])
