"""The live occluder's engine: one model call on a hand-drawn region, exact to the model."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine.probe import probe, region_mask
from occlusion_widget.session.probing import region_from_message
from tests.helpers.engine_helpers import Recorder, overlap, region_model

REGION = (2, 3, 4, 5)  # the pixels the region model scores: 20 of them


@pytest.mark.parametrize(
    "box", [(0, 0, 2, 2), (2, 3, 4, 5), (4, 6, 4, 4), (0, 0, 12, 12), (10, 10, 2, 2)]
)
def test_a_black_box_removes_exactly_its_overlap_with_the_scored_region(box):
    model = region_model(*REGION)
    out = probe(model, np.ones((12, 12, 3)), box, baseline="black")
    expected = 1.0 - overlap(box, REGION) / 20.0
    # The model's mean over 20 values of 0 or 1 is exact in float32 up to one rounding.
    assert out.probabilities[1] == pytest.approx(expected, abs=1e-6)
    assert out.probabilities[0] == pytest.approx(1.0 - expected, abs=1e-6)


def test_reveal_keeps_only_the_region():
    model = region_model(*REGION)
    box = (0, 0, 4, 6)  # overlaps the scored region by 2 x 3 = 6 pixels
    out = probe(model, np.ones((12, 12)), box, baseline="black", mode="reveal")
    assert out.probabilities[1] == pytest.approx(6 / 20, abs=1e-6)
    assert out.mode == "reveal"
    assert np.all(out.image[out.mask] == 1.0) and np.all(out.image[~out.mask] == 0.0)


def test_a_painted_mask_is_filled_pixel_by_pixel():
    model = region_model(*REGION)
    mask = np.zeros((12, 12), bool)
    mask[2, 3] = mask[5, 7] = mask[0, 0] = True  # two pixels inside the scored region
    out = probe(model, np.ones((12, 12)), mask, baseline="black")
    assert out.probabilities[1] == pytest.approx(18 / 20, abs=1e-6)
    assert np.array_equal(out.mask, mask)


def test_the_image_fed_is_what_the_model_received_and_the_gray_fill_is_the_sweeps():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (12, 12, 3)).astype(np.uint8)
    recorder = Recorder(region_model(*REGION))
    out = probe(recorder, image, (1, 2, 3, 4))
    assert len(recorder.batches) == 1, "a probe is one model call"
    assert np.array_equal(recorder.batches[0][0], out.image)
    assert np.all(out.image[1:4, 2:6] == 128.0), "uint8 gray is 128, as in the sweep"
    assert np.array_equal(out.image[~out.mask], image[~out.mask].astype(np.float32))


@pytest.mark.parametrize("mode", ["occlude", "reveal"])
@pytest.mark.parametrize("baseline", ["gray", "black", "mean", "noise"])
def test_a_probe_on_a_grid_cell_equals_the_sweeps_answer_there(baseline, mode):
    rng = np.random.default_rng(1)
    image = rng.random((16, 16, 3)).astype(np.float32)
    # Scaled so each logit is a sum of 768 products near 0.3: float32 rounding is then ~1e-8.
    weights = (rng.random((16 * 16 * 3, 4)) / 768).astype(np.float32)

    def model(batch):
        return np.asarray(batch).reshape(len(batch), -1) @ weights

    result = ow.occlusion_map(
        model, image, patch_size=6, stride=5, baseline=baseline, mode=mode, progress=False
    )
    for row, col in [(0, 0), (1, 2), (2, 1)]:
        out = probe(model, image, result.box(row, col), baseline=baseline, mode=mode)
        assert np.array_equal(out.image, result.occluded_image(row, col))
        # Same pixels, same model, but a batch of one against the sweep's larger batch: BLAS
        # may sum the 768 products in another order (a few 1e-8 on logits near 0.3), which
        # softmax passes on at most unchanged; 1e-6 leaves room without hiding a wrong fill.
        np.testing.assert_allclose(out.probabilities, result.probabilities[row, col], atol=1e-6)


def test_value_range_decides_what_gray_means():
    out = probe(region_model(0, 0, 2, 2), np.full((4, 4), 0.25), (0, 0, 1, 1), value_range=(0, 2))
    assert out.image[0, 0, 0] == 1.0


def test_preprocess_runs_after_the_fill():
    seen = []

    def preprocess(batch):
        seen.append(batch.copy())
        return batch / 255.0

    out = probe(
        region_model(0, 0, 2, 2),
        np.full((4, 4), 255, np.uint8),
        (0, 0, 2, 2),
        baseline="black",
        preprocess=preprocess,
    )
    assert seen[0][0, 0, 0, 0] == 0.0 and seen[0][0, 3, 3, 0] == 255.0
    assert out.probabilities[1] == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize(
    ("region", "error", "match"),
    [
        ((0, 0, 2), ValueError, r"4 ints; got 3 values"),
        ((0, 0, 0, 2), ValueError, r"has no area"),
        ((20, 20, 2, 2), ValueError, r"outside the image of height 8 and width 8"),
        ((0.5, 0, 2, 2), TypeError, r"needs 4 ints"),
        (np.zeros((8, 8), bool), ValueError, r"mask region is empty"),
        (np.ones((4, 8), bool), ValueError, r"height and width \(8, 8\); got shape \(4, 8\)"),
        (np.full((8, 8), 0.5), ValueError, r"boolean \(or 0/1\)"),
        (7, TypeError, r"box or an \(H, W\) boolean mask; got int"),
    ],
)
def test_bad_regions_say_what_is_allowed(region, error, match):
    with pytest.raises(error, match=match):
        probe(region_model(0, 0, 2, 2), np.ones((8, 8)), region)


def test_a_box_past_the_edge_is_clipped():
    assert region_mask((-2, 6, 4, 10), (8, 8)).sum() == 2 * 2


def test_bad_mode_output_and_model_errors():
    model = region_model(0, 0, 2, 2)
    with pytest.raises(ValueError, match=r"mode must be 'occlude'.*got 'hide'"):
        probe(model, np.ones((4, 4)), (0, 0, 1, 1), mode="hide")
    with pytest.raises(ValueError, match=r"output must be one of"):
        probe(model, np.ones((4, 4)), (0, 0, 1, 1), output="scores")

    def broken(batch):
        raise KeyError("sensor unplugged")

    with pytest.raises(ow.ModelError, match=r"KeyError: 'sensor unplugged' while scoring"):
        probe(broken, np.ones((4, 4)), (0, 0, 1, 1))


def test_equals_the_keras_model_called_on_the_filled_image():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12, 10, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(5, activation="softmax"),
        ]
    )
    image = np.random.default_rng(2).integers(0, 256, (12, 10, 3)).astype(np.uint8)
    mask = np.zeros((12, 10), bool)
    mask[3:9, 2:5] = True
    mask[0, :] = True

    def preprocess(batch):
        return batch / 255.0

    out = probe(model, image, mask, baseline="gray", preprocess=preprocess)
    filled = image.astype(np.float32)
    filled[mask] = 128.0
    expected = keras.ops.convert_to_numpy(model(preprocess(filled[None]), training=False))[0]
    # The probe runs the model compiled (tf.function) and the reference runs it eagerly: the
    # same float32 kernels, but the graph may fuse or reorder sums, which moves a probability
    # near 0.2 by a few ulps (~1e-8 each); 1e-6 is far below any difference a person reads.
    np.testing.assert_allclose(out.probabilities, expected, atol=1e-6)
    assert np.array_equal(out.image, filled)


def test_a_one_channel_mask_is_taken_as_the_mask_it_holds():
    """Issue 19 item 10: an (H, W, 1) mask was taken for a box."""
    model = region_model(0, 0, 4, 4)
    mask = np.zeros((12, 12), bool)
    mask[1:3, 2:9] = True
    flat = probe(model, np.ones((12, 12, 3)), mask, baseline="black")
    deep = probe(model, np.ones((12, 12, 3)), mask[:, :, None], baseline="black")
    assert np.array_equal(deep.mask, mask)
    np.testing.assert_array_equal(deep.probabilities, flat.probabilities)


@pytest.mark.parametrize(
    ("region", "error", "says"),
    [
        # A colour mask, a flattened mask, a nested list of rows, a list of arrays.
        (np.ones((224, 224, 3), bool), ValueError, ["(224, 224, 3)", "bool", "(H, W, 1)"]),
        (np.ones(224 * 224, np.uint8), ValueError, ["4 ints", "(50176,)", "uint8"]),
        ([[1] * 224] * 100, ValueError, ["(224, 224)", "(100, 224)"]),
        ([np.ones(224)] * 5, ValueError, ["(224, 224)", "(5, 224)", "float64"]),
        (list(range(50_000)), ValueError, ["4 ints", "50000 values", "list of 50000 items"]),
        (["x" * 100_000] * 4, TypeError, ["4 ints", "list of 4 items"]),
        (np.full((224, 224), 0.5), ValueError, ["boolean (or 0/1)", "float64"]),
        ({"box": [1, 2, 3, 4]}, ValueError, ["4 ints", "dict"]),
    ],
)
def test_a_wrong_region_gets_a_short_error_saying_what_was_given(region, error, says):
    """The ValueError for a 224x224x3 mask was 1.5 MB: it held the whole array's repr."""
    with pytest.raises(error) as caught:
        probe(region_model(0, 0, 2, 2), np.ones((224, 224)), region)
    message = str(caught.value)
    assert len(message) < 300, message[:300]
    for part in says:
        assert part in message, (part, message)


def test_a_wrong_region_message_from_the_browser_is_short():
    huge = {"circle": list(range(100_000))}
    with pytest.raises(ValueError) as caught:
        region_from_message(huge, [], (8, 8))
    assert len(str(caught.value)) < 300 and "dict" in str(caught.value)
    with pytest.raises(ValueError) as caught:
        region_from_message({"box": "x" * 100_000}, [], (8, 8))
    assert len(str(caught.value)) < 300 and "str" in str(caught.value)
