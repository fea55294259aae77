"""Many images in shared batches (engine/multi.py, engine/packed.py): every image's result is
exactly the one-image sweep's, whatever the batch size and however batches straddle images; a
bad image is that image's error only."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from occlusion_widget.engine import ModelError, iter_occlusion_maps, occlusion_map, occlusion_maps
from tests.helpers.models import Recorder

RNG = np.random.default_rng(7)
IMAGES = RNG.uniform(0, 1, (6, 12, 10, 3)).astype(np.float32)
# 12x10, patch (4, 4) stride (4, 3): 3 x 3 positions + the unoccluded image = 10 items, so
# batches of 3, 7 or 16 straddle image boundaries.
PARAMS = dict(patch_size=(4, 4), stride=(4, 3), baseline="black")


def logit_model(batch):
    """Three deterministic logits from a coarse view of the image, summed per row (a matrix
    product's last bits change with the number of rows: the engine is exact, so is this)."""
    batch = np.asarray(batch)
    x = batch[:, ::2, ::2].reshape(len(batch), -1)
    w = np.linspace(-1, 1, x.shape[1] * 3, dtype=np.float32).reshape(-1, 3)
    return (x[:, :, None] * w[None]).sum(axis=1)


def assert_same(result, single):
    np.testing.assert_array_equal(result.probabilities, single.probabilities)
    np.testing.assert_array_equal(result.base_probabilities, single.base_probabilities)
    np.testing.assert_array_equal(result.computed, single.computed)
    np.testing.assert_array_equal(result.image, single.image)
    np.testing.assert_array_equal(result.baseline, single.baseline)
    assert result.output_kind == single.output_kind
    assert result.info == single.info
    assert result.mode == single.mode and result.complete
    if single.baseline_probabilities is not None:
        np.testing.assert_array_equal(result.baseline_probabilities, single.baseline_probabilities)


def singles(images, model=logit_model, **params):
    return [occlusion_map(model, image, progress=False, **params) for image in images]


@pytest.mark.parametrize("batch_size", [1, 3, 7, 10, 16, 64, None])
@pytest.mark.parametrize("count", [1, 2, 5])
def test_each_image_is_exactly_the_one_image_sweep(batch_size, count):
    images = IMAGES[:count]
    results = occlusion_maps(logit_model, list(images), batch_size=batch_size, **PARAMS)
    assert len(results) == count
    for result, single in zip(results, singles(images, **PARAMS), strict=True):
        assert_same(result, single)


@pytest.mark.parametrize("baseline", ["mean", "blur", "gray"])
@pytest.mark.parametrize("mode", ["occlude", "reveal"])
def test_per_image_baselines_and_reveal_mode(baseline, mode):
    # "mean" and "blur" fill each image with its own baseline; reveal scores two whole images.
    params = dict(PARAMS, baseline=baseline, mode=mode)
    results = occlusion_maps(logit_model, list(IMAGES[:4]), batch_size=7, **params)
    for result, single in zip(results, singles(IMAGES[:4], **params), strict=True):
        assert_same(result, single)


def test_positions_of_several_images_share_each_call():
    recorder = Recorder(logit_model)
    occlusion_maps(recorder, list(IMAGES), batch_size=16, **PARAMS)
    # 6 images x 10 items = 60 inputs: 4 calls of 16, not 6 x ceil(10 / 16) = 6 calls.
    assert [len(b) for b in recorder.batches] == [16, 16, 16, 16]
    # The second call holds the end of image 1 and the start of image 2, as the one-image
    # sweep builds them (item 0 of image 2 is its unoccluded image).
    np.testing.assert_array_equal(recorder.batches[1][4], IMAGES[2])


def test_sizes_change_between_runs():
    other = RNG.uniform(0, 1, (8, 8, 3)).astype(np.float32)
    images = [IMAGES[0], other, other * 0.5, IMAGES[1]]
    results = occlusion_maps(logit_model, images, batch_size=5, **PARAMS)
    for result, single in zip(results, singles(images, **PARAMS), strict=True):
        assert_same(result, single)


@pytest.mark.parametrize("batch_size", [2, 3, 7, 16])
def test_a_bad_image_is_its_own_error_and_the_others_are_unaffected(batch_size):
    images = list(IMAGES[:5])
    images[1] = np.ones((2, 2, 3), np.float32)  # smaller than the patch: invalid on its own
    images[3] = IMAGES[3].copy()
    images[3][0, 0, 0] = 7.0  # the model returns NaN for this image only

    def model(batch):
        scores = logit_model(batch)
        scores[np.asarray(batch)[:, 0, 0, 0] == 7.0] = np.nan
        return scores

    outcomes = list(
        iter_occlusion_maps(model, images, batch_size=batch_size, errors="return", **PARAMS)
    )
    assert isinstance(outcomes[1], ValueError) and "cannot exceed" in str(outcomes[1])
    assert isinstance(outcomes[3], ValueError) and "NaN" in str(outcomes[3])
    for i in (0, 2, 4):
        assert_same(outcomes[i], occlusion_map(logit_model, images[i], progress=False, **PARAMS))
    with pytest.raises(ValueError, match="cannot exceed"):
        occlusion_maps(model, images, batch_size=7, **PARAMS)


@pytest.mark.parametrize("batch_size", [3, 16, 64])
def test_a_failing_batch_is_charged_only_to_the_image_that_fails_alone(batch_size):
    marked = IMAGES[2].copy()
    marked[5, 5, 0] = 0.5  # no other image has it (and black occludes to 0)

    def model(batch):  # raises for any batch that holds image 2's unoccluded pixels
        if (np.asarray(batch)[:, 5, 5, 0] == 0.5).any():
            raise RuntimeError("cannot score this one")
        return logit_model(batch)

    images = [IMAGES[0], IMAGES[1], marked, IMAGES[3]]
    outcomes = list(
        iter_occlusion_maps(model, images, batch_size=batch_size, errors="return", **PARAMS)
    )
    assert isinstance(outcomes[2], ModelError) and "cannot score this one" in str(outcomes[2])
    for i in (0, 1, 3):
        assert_same(outcomes[i], occlusion_map(logit_model, images[i], progress=False, **PARAMS))


def test_out_of_memory_halves_the_batch_and_keeps_the_answer():
    def model(batch):
        if len(batch) > 4:
            raise MemoryError("too big")
        return logit_model(batch)

    results = occlusion_maps(model, list(IMAGES[:3]), batch_size=32, **PARAMS)
    for result, single in zip(results, singles(IMAGES[:3], **PARAMS), strict=True):
        assert_same(result, single)


def test_images_are_read_as_the_batches_need_them():
    read, seen = [], []

    def images():
        for i, image in enumerate(IMAGES):
            read.append(i)
            yield image

    for result in iter_occlusion_maps(logit_model, images(), batch_size=10, **PARAMS):
        seen.append(len(read))
        assert result.complete
    # Image i's result comes before image i + 2 is read: memory does not grow with the count.
    assert seen == [min(i + 1, 6) for i in range(1, 7)], seen


def test_progress_counts_images_and_cancel_stops_between_batches():
    calls, cancel = [], threading.Event()

    def progress(done, total):
        calls.append((done, total))
        if done == 2:
            cancel.set()

    results = list(
        iter_occlusion_maps(
            logit_model, list(IMAGES), batch_size=10, progress=progress, cancel=cancel, **PARAMS
        )
    )
    assert calls == [(1, 6), (2, 6)]
    assert len(results) == 2 and all(r.complete for r in results)


def test_bad_errors_mode_says_what_is_allowed():
    with pytest.raises(ValueError, match="errors must be 'raise' or 'return'; got 'skip'"):
        next(iter_occlusion_maps(logit_model, list(IMAGES), errors="skip"))


def test_keras_model_matches_the_one_image_sweep():
    pytest.importorskip("keras")
    from tests.helpers.models_dataset import images as seeded_images
    from tests.helpers.models_dataset import tiny_keras_model

    model = tiny_keras_model(size=12)
    images = list(seeded_images(5, size=12))
    results = occlusion_maps(model, images, batch_size=7, patch_size=4, stride=4)
    for result, image in zip(results, images, strict=True):
        single = occlusion_map(model, image, patch_size=4, stride=4, progress=False)
        # A framework's kernels may round differently with other batch sizes: float noise.
        np.testing.assert_allclose(result.probabilities, single.probabilities, atol=1e-5)
        np.testing.assert_allclose(result.base_probabilities, single.base_probabilities, atol=1e-5)
        assert result.info == single.info and result.output_kind == single.output_kind
