"""Targets: one class or a group whose probabilities are summed; the largest drop; the
sentence for a map that says nothing."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.engine_helpers import BATCH_SIZES


def _three_class_model(batch):
    # class 1 = 0.8 x brightness of the top-left 4x4 block, class 0 always 0.1, class 2 the rest.
    square = 0.8 * np.asarray(batch)[:, :4, :4].mean(axis=(1, 2, 3))
    return np.stack([np.full_like(square, 0.1), square, 0.9 - square], axis=1)


@pytest.fixture(scope="module", params=BATCH_SIZES)
def result(request):
    return ow.occlusion_map(
        _three_class_model,
        np.ones((8, 8)),
        patch_size=4,
        stride=4,
        baseline="black",
        batch_size=request.param,
        progress=False,
    )


def test_a_group_sums_its_classes_probabilities(result):
    np.testing.assert_allclose(
        result.probability([0, 1]), result.probability(0) + result.probability(1)
    )
    # Hiding the block moves its 0.8 from class 1 to class 2: the group {1, 2} never moves.
    # (Tolerance: float32 sums of 0.8 and 0.1-ish values, a few ulps.)
    np.testing.assert_allclose(result.sensitivity((1, 2)), 0.0, atol=1e-6)
    np.testing.assert_allclose(result.attribution({1, 2}), 0.0, atol=1e-6)
    assert result.base_probability([0, 1]) == pytest.approx(0.9)
    expected = np.array([[0.8, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(result.sensitivity([1]), expected, atol=1e-6)
    np.testing.assert_allclose(result.sensitivity([0, 1]), expected, atol=1e-6)
    np.testing.assert_array_equal(result.probability([1]), result.probability(1))


def test_groups_are_checked(result):
    with pytest.raises(ValueError, match=r"at least one class"):
        result.probability([])
    with pytest.raises(ValueError, match=r"lists a class twice: \[1, 1\]"):
        result.sensitivity([1, 1])
    with pytest.raises(ValueError, match=r"target 7 is out of range"):
        result.attribution([1, 7])
    with pytest.raises(TypeError, match=r"or a group of them"):
        result.probability("tusker")
    assert result.classes_of({2, 0}) == (0, 2) and result.classes_of(np.array([2, 0])) == (2, 0)
    assert result.target_name([1, 2], labels=["sky", "square", "rest"]) == "square + rest"


def test_max_drop_is_the_largest_drop_over_computed_positions(result):
    assert result.max_drop(1) == pytest.approx(0.8)
    assert result.max_drop() == pytest.approx(0.8)  # the predicted class
    assert result.max_drop(0) == 0.0
    assert result.max_drop(2) == pytest.approx(0.0, abs=1e-6)  # it only ever rises


def test_flat_note_says_when_no_patch_changes_the_target(result):
    labels = ["sky", "square", "rest"]
    assert result.flat_note(1, labels=labels) is None
    assert result.flat_note(0, labels=labels) == ("no 4×4 patch changes P(sky) by more than 0.001")
    assert result.flat_note([1, 2], labels=labels) == (
        "no 4×4 patch changes P(square + rest) by more than 0.001"
    )
    assert result.flat_note(0) == "no 4×4 patch changes P(class 0) by more than 0.001"
    # A rise counts as a change too: class 2 gains 0.8 where the block is hidden.
    assert result.flat_note(2) is None


def test_a_partial_result_reports_only_what_was_computed():
    sweep = ow.iter_occlusion(
        _three_class_model, np.ones((8, 8)), patch_size=4, stride=2, baseline="black", batch_size=2
    )
    partial = next(sweep)
    sweep.close()
    assert partial.done == 1
    assert np.isfinite(partial.max_drop(1))


def test_target_name_reads_labels_as_every_figure_does():
    # "imagenet" named class 0 by the set's first letter, a dict failed with KeyError and a
    # list of the wrong length was taken: the title named a class the model does not have.
    result = ow.occlusion_map(
        _three_class_model, np.ones((8, 8)), patch_size=4, stride=4, progress=False
    )
    assert result.target_name(1, labels={1: "square"}) == "square"
    assert result.target_name(0, labels={1: "square"}) == "class 0"
    assert result.target_name([0, 2], labels=("sky", "square", "other")) == "sky + other"
    with pytest.raises(ValueError, match="1000 labels for a model with 3 classes"):
        result.target_name(0, labels="imagenet")
    with pytest.raises(ValueError, match="2 labels for a model with 3 classes"):
        result.target_name(0, labels=["sky", "square"])
    with pytest.raises(ValueError, match="1000 labels"):
        result.flat_note(0, labels="imagenet")
