"""The probe and the sweep share one scoring path and one composition (issue 21, item 3).

The probe used to write its own model-error text, its own NaN check and its own occlude/reveal
composition beside the sweep's: a model that failed said different things in the widget's
Probe and its Recompute, and a fault only one of them checked (a wrong row count, a
probability past 1) passed silently through the other.
"""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine.batches import BatchBuilder
from occlusion_widget.engine.compose import compose
from occlusion_widget.engine.grid import make_grid
from occlusion_widget.engine.probe import probe

IMAGE = np.arange(8 * 8 * 3, dtype=np.float32).reshape(8, 8, 3) / (8 * 8 * 3)


def brightness(batch):
    p = batch.mean(axis=(1, 2, 3))
    return np.stack([1 - p, p], axis=1)


def nan_scores(batch):
    return np.full((len(batch), 2), np.nan, np.float32)


def test_nan_scores_say_the_same_in_the_probe_as_in_the_sweep():
    with pytest.raises(ValueError) as swept:
        ow.occlusion_map(nan_scores, IMAGE, patch_size=4, stride=4, progress=False)
    with pytest.raises(ValueError) as probed:
        probe(nan_scores, IMAGE, (0, 0, 4, 4))
    for caught in (swept, probed):
        assert "the model returned NaN while scoring" in str(caught.value)
        assert "the image was read as spanning [0, 1]" in str(caught.value)
    assert "while scoring the probed image" in str(probed.value)


def test_the_probe_rejects_a_model_that_returns_the_wrong_number_of_rows():
    def two_rows(batch):
        return np.tile(brightness(batch), (2, 1))

    with pytest.raises(ValueError, match=r"returned 2 score rows for a batch of 1 images"):
        probe(two_rows, IMAGE, (0, 0, 4, 4))


def test_a_failing_preprocess_says_the_same_in_the_probe_as_in_the_sweep():
    def preprocess(batch):
        raise RuntimeError("lens cap on")

    with pytest.raises(ow.ModelError) as swept:
        ow.occlusion_map(
            brightness, IMAGE, patch_size=4, stride=4, preprocess=preprocess, progress=False
        )
    with pytest.raises(ow.ModelError) as probed:
        probe(brightness, IMAGE, (0, 0, 4, 4), preprocess=preprocess)
    for caught in (swept, probed):
        assert "preprocess raised RuntimeError: lens cap on while scoring" in str(caught.value)


def test_the_probe_holds_probabilities_to_the_same_range_as_the_sweep():
    def past_one(batch):
        return np.tile(np.array([[-0.5, 1.5]], np.float32), (len(batch), 1))

    with pytest.raises(ValueError, match="probabilit") as swept:
        ow.occlusion_map(
            past_one, IMAGE, patch_size=4, stride=4, output="probabilities", progress=False
        )
    with pytest.raises(ValueError, match="probabilit") as probed:
        probe(past_one, IMAGE, (0, 0, 4, 4), output="probabilities")
    assert type(swept.value) is type(probed.value)


@pytest.mark.parametrize("mode", ["occlude", "reveal"])
def test_batches_results_and_the_probe_compose_one_image(mode):
    result = ow.occlusion_map(
        brightness, IMAGE, patch_size=4, stride=2, baseline="black", mode=mode, progress=False
    )
    grid = make_grid(IMAGE.shape, 4, 2)
    builder = BatchBuilder(IMAGE, result.baseline, grid, grid.total + 2, mode=mode)
    buffer = np.empty((grid.total + 2, *IMAGE.shape), np.float32)
    builder.fill_rows(buffer, 0)
    lead = len(builder.leads)
    for item, cell in enumerate(builder.order):
        row, col = divmod(int(cell), grid.cols)
        box = result.box(row, col)
        expected = compose(IMAGE, result.baseline, box, mode)
        np.testing.assert_array_equal(result.occluded_image(row, col), expected)
        np.testing.assert_array_equal(buffer[lead + item], expected)
        probed = probe(brightness, IMAGE, box, baseline=result.baseline, mode=mode)
        np.testing.assert_array_equal(probed.image, expected)
