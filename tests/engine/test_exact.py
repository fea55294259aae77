"""Tiny models whose occlusion maps are known exactly, repeated over several batch sizes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import occlusion_widget as ow
from tests.helpers.engine_helpers import BATCH_SIZES
from tests.helpers.models import Recorder, overlap, region_model, softmax

REGION = (2, 3, 4, 6)  # top, left, height, width


def _hand_sensitivity(tops, lefts, patch):
    area = REGION[2] * REGION[3]
    return np.array([[overlap((t, left, *patch), REGION) / area for left in lefts] for t in tops])


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_region_mean_model_matches_hand_computed_map(batch_size):
    image = np.ones((10, 12, 3), np.float32)
    result = ow.occlusion_map(
        region_model(*REGION),
        image,
        patch_size=(4, 5),
        stride=(3, 2),
        baseline="black",
        batch_size=batch_size,
        progress=False,
    )
    # Hand-laid grid: rows every 3 from 0 to 10-4=6; columns every 2 from 0 to 12-5=7, then a
    # last column flush with the right edge at 7.
    tops, lefts = [0, 3, 6], [0, 2, 4, 6, 7]
    assert result.tops.tolist() == tops and result.lefts.tolist() == lefts
    expected = _hand_sensitivity(tops, lefts, (4, 5))
    np.testing.assert_allclose(result.sensitivity(1), expected, atol=1e-6)
    np.testing.assert_allclose(result.sensitivity(0), -expected, atol=1e-6)
    np.testing.assert_allclose(result.base_probabilities, [0.0, 1.0])
    assert result.complete and result.done == result.total == 15


def test_results_identical_across_batch_sizes():
    rng = np.random.default_rng(1)
    image = rng.uniform(0, 1, (9, 11, 3)).astype(np.float32)
    results = [
        ow.occlusion_map(
            region_model(1, 2, 5, 5),
            image,
            patch_size=3,
            stride=2,
            baseline="mean",
            batch_size=b,
            progress=False,
        )
        for b in BATCH_SIZES
    ]
    for other in results[1:]:
        np.testing.assert_array_equal(other.probabilities, results[0].probabilities)
        np.testing.assert_array_equal(other.base_probabilities, results[0].base_probabilities)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_attribution_is_the_mean_over_covering_windows(batch_size):
    image = np.ones((10, 12), np.float32)
    result = ow.occlusion_map(
        region_model(*REGION),
        image,
        patch_size=(4, 5),
        stride=(3, 2),
        baseline="black",
        batch_size=batch_size,
        progress=False,
    )
    sens = result.sensitivity(1)
    total = np.zeros((10, 12))
    count = np.zeros((10, 12))
    for r, t in enumerate(result.tops):
        for c, left in enumerate(result.lefts):
            total[t : t + 4, left : left + 5] += sens[r, c]
            count[t : t + 4, left : left + 5] += 1
    np.testing.assert_allclose(result.attribution(1), total / count, atol=1e-6)
    # Averaged, not summed: a region-mean model never loses more than its whole probability.
    assert result.attribution(1).max() <= 1.0 + 1e-6


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_model_sees_exactly_the_occluded_images(batch_size):
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    seen = []

    def preprocess(batch):
        seen.append(batch.copy())
        return batch / 255.0

    recorder = Recorder(region_model(0, 0, 8, 8))
    result = ow.occlusion_map(
        recorder,
        image,
        patch_size=4,
        stride=2,
        baseline="gray",
        preprocess=preprocess,
        batch_size=batch_size,
        progress=False,
    )
    raw = np.concatenate(seen)
    # The unoccluded image rides first; positions follow in visiting order.
    np.testing.assert_array_equal(raw[0], image.astype(np.float32))
    cells = ow.engine.grid.make_grid((8, 8), 4, 2).order()
    for i, cell in enumerate(cells):
        r, c = divmod(int(cell), result.cols)
        expected = result.occluded_image(r, c)
        np.testing.assert_array_equal(raw[i + 1], expected)
        top, left, h, w = result.box(r, c)
        assert np.all(expected[top : top + h, left : left + w] == 128.0)
        outside = np.ones((8, 8), bool)
        outside[top : top + h, left : left + w] = False
        np.testing.assert_array_equal(expected[outside], image[outside])
    model_input = np.concatenate(recorder.batches)
    np.testing.assert_allclose(model_input[: len(raw)], raw / 255.0)


def test_base_prediction_is_the_unoccluded_argmax_not_the_last_position():
    # Class 0 wins on the whole image; covering the bottom-right corner (the last position)
    # flips the prediction to class 1. The forum code printed the last iteration's output.
    def model(batch):
        corner = batch[:, 6:, 6:].mean(axis=(1, 2, 3))
        p0 = 0.2 + 0.7 * corner
        return np.stack([p0, 1.0 - p0], axis=1)

    result = ow.occlusion_map(
        model, np.ones((8, 8)), patch_size=2, stride=2, baseline="black", progress=False
    )
    assert result.base_class == 0 == int(np.argmax(result.base_probabilities))
    assert result.predicted_classes()[-1, -1] == 1
    assert result.flips()[-1, -1] and result.flips().sum() == 1
    assert result.class_counts() == {0: 15, 1: 1}
    np.testing.assert_allclose(result.base_probabilities, [0.9, 0.1], atol=1e-6)


def test_sensitivity_peaks_on_the_shape_not_the_background():
    rng = np.random.default_rng(3)
    for top, left in [(4, 20), (18, 6), (22, 22)]:
        image = rng.uniform(0.0, 0.4, (32, 32, 3)).astype(np.float32)
        image[top : top + 6, left : left + 6] = 1.0

        def model(batch):
            # "Is there a bright 6x6 square?": the best 6x6 box mean of the red channel.
            red = batch[..., 0]
            c = np.cumsum(np.cumsum(np.pad(red, ((0, 0), (1, 0), (1, 0))), 1), 2)
            box = c[:, 6:, 6:] - c[:, :-6, 6:] - c[:, 6:, :-6] + c[:, :-6, :-6]
            score = box.reshape(len(batch), -1).max(axis=1) / 36.0
            p = 1.0 / (1.0 + np.exp(-20.0 * (score - 0.7)))
            return np.stack([1.0 - p, p], axis=1)

        result = ow.occlusion_map(
            model, image, patch_size=4, stride=2, baseline="black", progress=False
        )
        assert result.base_class == 1
        attribution = result.attribution(1)
        on_shape = attribution[top : top + 6, left : left + 6]
        mask = np.ones((32, 32), bool)
        mask[max(top - 4, 0) : top + 10, max(left - 4, 0) : left + 10] = False
        assert on_shape.mean() > 0.1
        assert np.abs(attribution[mask]).max() < 1e-3
        peak = np.unravel_index(np.argmax(attribution), attribution.shape)
        assert top <= peak[0] < top + 6 and left <= peak[1] < left + 6


def test_iter_occlusion_streams_coarse_to_fine_into_one_object():
    model = region_model(0, 0, 32, 32)
    results = []
    dones = []
    for partial in ow.iter_occlusion(
        model, np.ones((32, 32)), patch_size=4, stride=2, baseline="black", batch_size=16
    ):
        results.append(partial)
        dones.append(partial.done)
        if not partial.complete:
            assert np.isnan(partial.probabilities[~partial.computed]).all()
            assert (partial.predicted_classes()[~partial.computed] == -1).all()
            assert np.isfinite(partial.probabilities[partial.computed]).all()
    assert all(r is results[0] for r in results)
    assert dones == sorted(dones) and dones[-1] == 225 and results[-1].complete
    order = ow.engine.grid.make_grid((32, 32), 4, 2).order()
    assert sorted(order.tolist()) == list(range(225))
    rows, cols = np.divmod(order[:25], 15)
    # The first 25 positions are every 4th row and column plus the edges: the whole image.
    assert set(rows.tolist()) == set(cols.tolist()) == {0, 4, 8, 12, 14}


def test_cancel_keeps_what_was_computed():
    cancel = threading.Event()
    calls = []

    def progress(done, total):
        calls.append((done, total))
        cancel.set()  # stop after the first batch

    result = ow.occlusion_map(
        region_model(0, 0, 16, 16),
        np.ones((16, 16)),
        patch_size=4,
        stride=2,
        baseline="black",
        batch_size=10,
        progress=progress,
        cancel=cancel,
    )
    assert calls == [(9, 49)]
    assert not result.complete and result.done == 9 and result.total == 49
    assert np.isnan(result.sensitivity(1)[~result.computed]).all()
    assert np.isfinite(result.sensitivity(1)[result.computed]).all()
    assert np.isnan(result.attribution(1)).any() or result.computed.sum() == 49


def test_progress_callable_reports_every_batch():
    calls = []
    ow.occlusion_map(
        region_model(0, 0, 8, 8),
        np.ones((8, 8)),
        patch_size=2,
        stride=2,
        batch_size=5,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(4, 16), (9, 16), (14, 16), (16, 16)]


def test_logits_become_softmax_and_single_sigmoid_becomes_two_classes():
    image = np.ones((4, 4), np.float32)

    def logits(batch):
        m = batch.mean(axis=(1, 2, 3))
        return np.stack([3.0 * m, -2.0 * m, np.zeros_like(m)], axis=1)

    result = ow.occlusion_map(
        logits, image, patch_size=2, stride=2, baseline="black", progress=False
    )
    np.testing.assert_allclose(result.base_probabilities, softmax([3.0, -2.0, 0.0]), rtol=1e-6)
    assert result.output_kind == "softmax"
    forced = ow.occlusion_map(
        logits, image, patch_size=2, stride=2, baseline="black", output="logits", progress=False
    )
    np.testing.assert_allclose(forced.probabilities, result.probabilities)

    def sigmoid(batch):
        return batch.mean(axis=(1, 2, 3))[:, None] * 0.8

    result = ow.occlusion_map(
        sigmoid, image, patch_size=2, stride=2, baseline="black", progress=False
    )
    np.testing.assert_allclose(result.base_probabilities, [0.2, 0.8], atol=1e-6)
    np.testing.assert_allclose(result.probability(1), np.full((2, 2), 0.6), atol=1e-6)
    assert result.num_classes == 2 and result.output_kind == "sigmoid"

    # Scores of 3.0 and -2.0 are no probabilities, whatever output= says (defect 7).
    with pytest.raises(ValueError, match=r"scores from -2 to 3 in batch 1 .*outside \[0, 1\]"):
        ow.occlusion_map(
            logits, image, patch_size=2, stride=2, output="probabilities", progress=False
        )


def test_save_and_load_round_trip(tmp_path):
    result = ow.occlusion_map(
        region_model(*REGION),
        np.ones((10, 12)),
        patch_size=(4, 5),
        stride=(3, 2),
        baseline="black",
        progress=False,
    )
    path = tmp_path / "result.occ"
    result.save(path)
    loaded = ow.OcclusionResult.load(path)
    for name in ("probabilities", "base_probabilities", "computed", "image", "baseline"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(result, name))
    assert loaded.patch_size == (4, 5) and loaded.stride == (3, 2)
    assert loaded.box(2, 4) == result.box(2, 4) == (6, 7, 4, 5)
    assert loaded.value_range == result.value_range and loaded.baseline_name == "black"
    np.testing.assert_allclose(loaded.attribution(1), result.attribution(1))
    with pytest.raises(FileNotFoundError):
        ow.OcclusionResult.load(tmp_path / "missing.npz")


def test_result_attributes_the_widget_reads():
    image = np.linspace(0, 1, 6 * 8 * 3, dtype=np.float32).reshape(6, 8, 3)
    result = ow.occlusion_map(
        region_model(0, 0, 3, 3), image, patch_size=3, stride=3, baseline="gray", progress=False
    )
    assert result.image.dtype == np.float32 and result.image.shape == (6, 8, 3)
    assert result.image_shape == (6, 8, 3) and result.value_range == (0.0, 1.0)
    assert (result.rows, result.cols, result.total) == (2, 3, 6)
    assert result.probabilities.shape == (2, 3, 2) and result.probabilities.dtype == np.float32
    np.testing.assert_array_equal(result.baseline, np.full((6, 8, 3), 0.5, np.float32))
    assert result.box(1, 2) == (3, 5, 3, 3) and result.box(-1, -1) == (3, 5, 3, 3)
    with pytest.raises(IndexError):
        result.box(2, 0)
    assert "2x3 positions" in repr(result)


def _saved(tmp_path):
    result = ow.occlusion_map(
        region_model(*REGION), np.ones((10, 12)), patch_size=4, stride=4, progress=False
    )
    path = tmp_path / "result.npz"
    result.save(path)
    return path


def _rewrite(path, **changes):
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    arrays.update(changes)
    arrays = {key: value for key, value in arrays.items() if value is not None}
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def test_loading_a_damaged_file_names_the_file_and_the_fault(tmp_path):
    """Defect 9: raw BadZipFile / KeyError / JSONDecodeError, or an IndexError much later."""
    path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a truncated download
    with pytest.raises(ValueError, match=r"result.npz' is not a saved occlusion result.*damaged"):
        ow.OcclusionResult.load(path)

    path = _saved(tmp_path)
    _rewrite(path, tops=None)
    with pytest.raises(ValueError, match=r"result.npz'.*lacks the arrays tops"):
        ow.OcclusionResult.load(path)

    path = _saved(tmp_path)
    _rewrite(path, meta=np.array("{not json"))
    with pytest.raises(ValueError, match=r"result.npz'.*damaged \(JSONDecodeError"):
        ow.OcclusionResult.load(path)

    path = _saved(tmp_path)
    _rewrite(path, meta=np.array('{"format_version": 1}'))
    with pytest.raises(
        ValueError, match=r"result.npz'.*metadata lacks value_range, patch_size, stride"
    ):
        ow.OcclusionResult.load(path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"probabilities": np.zeros((3, 2, 2), np.float32)}, r"computed has shape \(3, 3\)"),
        ({"base_probabilities": np.zeros(5, np.float32)}, r"base_probabilities has shape \(5,\)"),
        ({"computed": np.ones((2, 3), bool)}, r"computed has shape \(2, 3\)"),
        ({"image": np.ones((10, 12), np.float32)}, r"image has shape \(10, 12\)"),
        ({"baseline": np.ones((8, 12, 1), np.float32)}, r"baseline has shape \(8, 12, 1\)"),
        ({"tops": np.array([0, 4])}, r"tops/lefts have"),
        ({"lefts": np.array([0, 4, 10])}, r"lefts place 4-pixel patches outside"),
    ],
)
def test_loading_arrays_that_disagree_in_shape_fails_at_once(tmp_path, change, match):
    path = _saved(tmp_path)
    _rewrite(path, **change)
    with pytest.raises(ValueError, match=r"result.npz' is not a valid saved occlusion result: "):
        ow.OcclusionResult.load(path)
    with pytest.raises(ValueError, match=match):
        ow.OcclusionResult.load(path)
