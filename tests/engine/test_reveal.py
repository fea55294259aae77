"""Reveal mode: keep only the patch, the baseline everywhere else (the dual of occlusion).

Every expected value here is computed by hand from tiny models whose output is a mean of
pixels, so the tolerances only absorb float32 rounding of a mean of at most 64 values.
"""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.engine_helpers import BATCH_SIZES, Recorder, overlap, region_model

# float32 means of <= 64 pixels in [0, 1]: rounding stays far below 1e-6.
TOL = 1e-6


def _two_regions_or(batch):
    """Class 1 = the brighter of two 2x2 corners (top-left, bottom-right): either one suffices."""
    batch = np.asarray(batch)
    a = batch[:, :2, :2].mean(axis=(1, 2, 3))
    b = batch[:, 6:, 6:].mean(axis=(1, 2, 3))
    p = np.maximum(a, b)
    return np.stack([1.0 - p, p], axis=1)


def _left_right_blank(batch):
    """Scores: class 0 = left half's brightness, class 1 = right half's, class 2 = 0.25 always;
    normalised to sum to 1, so a black image predicts class 2."""
    batch = np.asarray(batch)
    w = batch.shape[2]
    left = batch[:, :, : w // 2].mean(axis=(1, 2, 3))
    right = batch[:, :, w // 2 :].mean(axis=(1, 2, 3))
    scores = np.stack([left, right, np.full_like(left, 0.25)], axis=1)
    return scores / scores.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_reveal_of_a_region_model_is_the_overlap_fraction(batch_size):
    region = (2, 2, 4, 4)
    result = ow.occlusion_map(
        region_model(*region),
        np.ones((8, 8), np.float32),
        patch_size=4,
        stride=2,
        baseline="black",
        progress=False,
        batch_size=batch_size,
        mode="reveal",
    )
    assert result.mode == "reveal"
    assert result.complete
    np.testing.assert_allclose(result.baseline_probabilities, [1.0, 0.0], atol=TOL)
    expected = np.array(
        [
            [overlap(result.box(r, c), region) / 16 for c in range(result.cols)]
            for r in range(result.rows)
        ]
    )
    # P(class 1 | only the patch shown) = the share of the region the patch shows...
    np.testing.assert_allclose(result.probability(1), expected, atol=TOL)
    # ...and the sensitivity is the gain over the all-black image (P = 0 there).
    np.testing.assert_allclose(result.sensitivity(1), expected, atol=TOL)


def test_a_linear_model_gives_the_same_map_in_both_modes():
    # The patch's contribution to a mean does not depend on the context it is shown in.
    image = np.random.default_rng(0).uniform(size=(8, 8, 1)).astype(np.float32)
    model = region_model(1, 2, 5, 4)
    kwargs = dict(patch_size=3, stride=2, baseline="gray", progress=False)
    hidden = ow.occlusion_map(model, image, **kwargs)
    shown = ow.occlusion_map(model, image, mode="reveal", **kwargs)
    assert hidden.mode == "occlude" and hidden.baseline_probabilities is None
    np.testing.assert_allclose(shown.sensitivity(1), hidden.sensitivity(1), atol=TOL)


def test_reveal_finds_redundant_evidence_that_occlusion_misses():
    # Either corner alone makes class 1 certain: hiding one changes nothing (occlusion says
    # "nothing matters"), showing one alone is full evidence (reveal finds both corners).
    kwargs = dict(patch_size=2, stride=2, baseline="black", progress=False, batch_size=5)
    image = np.ones((8, 8), np.float32)
    hidden = ow.occlusion_map(_two_regions_or, image, **kwargs)
    shown = ow.occlusion_map(_two_regions_or, image, mode="reveal", **kwargs)
    np.testing.assert_allclose(hidden.sensitivity(1), 0.0, atol=TOL)
    expected = np.zeros((4, 4))
    expected[0, 0] = expected[3, 3] = 1.0
    np.testing.assert_allclose(shown.sensitivity(1), expected, atol=TOL)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_the_model_saw_exactly_what_occluded_image_returns(batch_size):
    image = np.random.default_rng(1).uniform(size=(6, 7, 3)).astype(np.float32)
    recorder = Recorder(region_model(0, 0, 3, 3))
    result = ow.occlusion_map(
        recorder,
        image,
        patch_size=(3, 2),
        stride=(2, 2),
        baseline=(0.1, 0.2, 0.3),
        progress=False,
        batch_size=batch_size,
        mode="reveal",
    )
    seen = np.concatenate(recorder.batches)[: result.total + 2]
    np.testing.assert_array_equal(seen[0], image)  # the unoccluded image is still the base
    np.testing.assert_array_equal(seen[1], result.baseline)  # then the all-baseline image
    order = result.grid.order()
    for item, cell in enumerate(order):
        r, c = divmod(int(cell), result.cols)
        np.testing.assert_array_equal(seen[item + 2], result.occluded_image(r, c))
        top, left, h, w = result.box(r, c)
        inside = np.zeros(image.shape[:2], bool)
        inside[top : top + h, left : left + w] = True
        np.testing.assert_array_equal(seen[item + 2][inside], image[inside])
        np.testing.assert_array_equal(seen[item + 2][~inside], result.baseline[~inside])


def test_the_predicted_class_map_says_which_class_wins_from_the_patch_alone():
    image = np.ones((4, 8), np.float32)
    shown = ow.occlusion_map(
        _left_right_blank,
        image,
        patch_size=4,
        stride=4,
        baseline="black",
        progress=False,
        mode="reveal",
    )
    # The left window alone shows only left-half brightness, the right one only right-half.
    assert shown.predicted_classes().tolist() == [[0, 1]]
    # The black image predicts the blank class: scores (0, 0, 0.25) -> (0, 0, 1).
    np.testing.assert_allclose(shown.baseline_probabilities, [0.0, 0.0, 1.0], atol=TOL)
    # Showing the left half: scores (1, 0, 0.25) -> P(0) = 0.8, a gain of 0.8 over black.
    np.testing.assert_allclose(shown.sensitivity(0), [[0.8, 0.0]], atol=TOL)
    # The blank class loses what the revealed half gains: 0.2 - 1.
    np.testing.assert_allclose(shown.sensitivity(2), [[-0.8, -0.8]], atol=TOL)


def test_streaming_fills_the_baseline_probabilities_when_its_batch_runs():
    partials = []
    for partial in ow.iter_occlusion(
        region_model(0, 0, 2, 2),
        np.ones((4, 4), np.float32),
        patch_size=2,
        stride=2,
        baseline="black",
        batch_size=1,
        mode="reveal",
    ):
        partials.append((partial.done, partial.baseline_probabilities.copy()))
    # Batch 1: the image only (nothing known about the baseline yet); batch 2: the baseline.
    assert partials[0][0] == 0 and np.isnan(partials[0][1]).all()
    assert partials[1][0] == 0
    np.testing.assert_allclose(partials[1][1], [1.0, 0.0])
    assert [done for done, _ in partials[2:]] == [1, 2, 3, 4]


def test_occlude_mode_still_scores_one_whole_image_first():
    recorder = Recorder(region_model(0, 0, 2, 2))
    result = ow.occlusion_map(
        recorder, np.ones((4, 4)), patch_size=2, stride=2, progress=False, batch_size=64
    )
    assert result.mode == "occlude" and result.baseline_probabilities is None
    assert len(recorder.batches) == 1  # 1 + 4 items in one batch of 64 (padded)
    np.testing.assert_array_equal(recorder.batches[0][1], result.occluded_image(0, 0))


def test_mode_and_baseline_probabilities_survive_save_and_load(tmp_path):
    shown = ow.occlusion_map(
        region_model(0, 0, 2, 2),
        np.ones((4, 4)),
        patch_size=2,
        stride=2,
        baseline="black",
        progress=False,
        mode="reveal",
    )
    path = tmp_path / "reveal.npz"
    shown.save(path)
    loaded = ow.OcclusionResult.load(path)
    assert loaded.mode == "reveal"
    np.testing.assert_array_equal(loaded.baseline_probabilities, shown.baseline_probabilities)
    np.testing.assert_array_equal(loaded.sensitivity(1), shown.sensitivity(1))
    np.testing.assert_array_equal(loaded.occluded_image(1, 1), shown.occluded_image(1, 1))


def test_a_file_saved_before_modes_existed_loads_as_occlusion(tmp_path):
    import json

    hidden = ow.occlusion_map(
        region_model(0, 0, 2, 2), np.ones((4, 4)), patch_size=2, stride=2, progress=False
    )
    path = tmp_path / "old.npz"
    hidden.save(path)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["mode"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(path, **arrays)
    loaded = ow.OcclusionResult.load(path)
    assert loaded.mode == "occlude" and loaded.baseline_probabilities is None
    np.testing.assert_array_equal(loaded.sensitivity(1), hidden.sensitivity(1))


@pytest.mark.parametrize("mode", ["hide", "Reveal", None, 1])
def test_an_unknown_mode_is_refused_before_the_model_runs(mode):
    recorder = Recorder(region_model(0, 0, 2, 2))
    with pytest.raises(ValueError, match=r"mode must be 'occlude'.*or 'reveal'"):
        ow.occlusion_map(
            recorder, np.ones((4, 4)), patch_size=2, stride=2, progress=False, mode=mode
        )
    assert recorder.batches == []
