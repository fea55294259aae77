"""method="approximate": projective-field thresholding and the drill-down, with measured error.

Small seeded models and tiny images; the speed and the photo figures live in
benchmarks/bench_approximate.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine import DEFAULTS
from occlusion_widget.engine.approximate import approximate_map
from occlusion_widget.engine.incremental.threshold import capped_interval, limit
from occlusion_widget.engine.methods import METHODS, check_method
from occlusion_widget.widget.mirror import note_for
from tests.helpers.models import region_model
from tests.helpers.models_incremental import every_rule_model

KW = dict(patch_size=8, stride=4, progress=False)


@pytest.fixture(scope="module")
def keras_case():
    """A model with every region rule, a seeded 24x24 image, and its exact map."""
    model = every_rule_model(24)
    image = np.random.default_rng(3).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    exact = ow.occlusion_map(model, image, method="full", **KW)
    return model, image, exact


def _true_errors(result, exact, cells):
    shown = result.probabilities.reshape(result.total, -1)[cells]
    truth = exact.probabilities.reshape(exact.total, -1)[cells]
    diff = np.abs(shown - truth).max(axis=1)
    return diff, float(np.mean(shown.argmax(1) == truth.argmax(1)))


def test_thresholding_that_does_not_bind_is_the_exact_map(keras_case):
    # tau < 1 runs the thresholded incremental pass; at 0.999 no map here is long enough for
    # the cap to cut a box, so the map must be the exact one.
    model, image, exact = keras_case
    for tau in (1.0, 0.999):
        result = approximate_map(model, image, tau=tau, tolerance=None, **KW)
        assert result.complete
        np.testing.assert_allclose(result.probabilities, exact.probabilities, atol=1e-5)
        assert result.info["measured_error"]["max_abs"] <= 1e-5


def test_a_binding_cap_changes_the_map_and_measures_its_own_error(keras_case):
    model, image, exact = keras_case
    result = approximate_map(model, image, tau=0.4, tolerance=None, **KW)
    assert result.info["flop_fraction"] < 1
    # The cap is a real approximation here...
    assert np.abs(result.probabilities - exact.probabilities).max() > 1e-3
    # ...and the error the result carries is the true error on the positions it sampled.
    err = result.info["measured_error"]
    cells = np.asarray(err["cells"])
    assert 8 <= err["sampled"] == len(cells) <= 16
    diff, agreement = _true_errors(result, exact, cells)
    assert err["max_abs"] == pytest.approx(diff.max(), abs=1e-6)
    assert err["mean_abs"] == pytest.approx(diff.mean(), abs=1e-6)
    assert err["class_agreement"] == pytest.approx(agreement)
    assert err["share"] == 1.0  # every position went through the capped pass


def test_capped_boxes_stay_under_the_threshold_and_cover_what_fits():
    lo = np.array([0, 3, 10, 20])
    hi = np.array([9, 6, 17, 24])
    start, length = capped_interval(lo, hi, 24, 0.25)
    assert length == limit(24, 0.25) == 6
    assert np.all(start >= 0) and np.all(start + length <= 24)
    fits = hi - lo <= length  # [3, 6) and [20, 24) fit: kept whole
    assert np.all(start[fits] <= lo[fits]) and np.all(start[fits] + length >= hi[fits])


def test_drill_down_computes_where_the_map_changes_and_measures_the_fill():
    model = region_model(8, 8, 12, 12)
    image = np.ones((40, 40))
    kw = dict(patch_size=4, stride=2, baseline="black", progress=False)
    exact = ow.occlusion_map(model, image, method="full", **kw)
    result = approximate_map(model, image, tau=1.0, tolerance=0.5, **kw)
    info = result.info
    estimated = info["estimated"]
    assert result.complete and estimated.any()
    assert info["positions_computed"] < result.total
    computed = ~estimated
    np.testing.assert_allclose(
        result.probabilities[computed], exact.probabilities[computed], atol=1e-6
    )
    # Far from the region the map is flat: only the lattice (every second row and column) is
    # computed there, the other 5 cells of this 3x3 corner are filled.
    assert estimated[-3:, -3:].sum() == 5
    err = info["measured_error"]
    cells = np.asarray(err["cells"])
    assert estimated.ravel()[cells].all()  # it samples what was approximated
    diff, agreement = _true_errors(result, exact, cells)
    assert err["max_abs"] == pytest.approx(diff.max(), abs=1e-6)
    assert err["class_agreement"] == pytest.approx(agreement)
    assert err["share"] == pytest.approx(estimated.mean(), abs=1e-4)


def test_the_measured_error_survives_save_and_load(tmp_path):
    model = region_model(8, 8, 12, 12)
    kw = dict(patch_size=4, stride=2, baseline="black", progress=False)
    result = approximate_map(model, np.ones((40, 40)), tolerance=0.5, **kw)
    path = tmp_path / "approximate.npz"
    result.save(path)
    loaded = ow.OcclusionResult.load(path)
    assert loaded.info["measured_error"] == result.info["measured_error"]
    np.testing.assert_array_equal(loaded.info["estimated"], result.info["estimated"])
    assert loaded.approximation_note() == result.approximation_note()


def test_the_widget_note_and_repr_say_what_was_approximated():
    model = region_model(8, 8, 12, 12)
    kw = dict(patch_size=4, stride=2, baseline="black", progress=False)
    result = ow.occlusion_map(model, np.ones((40, 40)), method="approximate", **kw)
    note = note_for(result, 1, [])
    assert note.startswith("approximate: ")
    assert f"of {result.total} positions computed" in note
    assert "sampled positions the error is at most" in note
    assert "approximate" in repr(result)
    exact = ow.occlusion_map(model, np.ones((40, 40)), **kw)
    assert "approximate" not in note_for(exact, 1, []) + repr(exact)


@pytest.mark.parametrize("tau", [0, -0.5, 1.5, "0.5", True, float("nan")])
def test_a_bad_tau_is_refused_clearly(tau):
    with pytest.raises(ValueError, match=r"tau must be a number in \(0, 1\].*got"):
        approximate_map(region_model(0, 0, 4, 4), np.ones((8, 8)), tau=tau, patch_size=4, stride=4)


def test_a_bad_tolerance_and_a_cap_without_incremental_pass_are_refused():
    model = region_model(0, 0, 4, 4)
    with pytest.raises(ValueError, match=r"tolerance must be None .* or a number > 0"):
        approximate_map(model, np.ones((8, 8)), tolerance=0, patch_size=4, stride=4)
    with pytest.raises(ValueError, match=r"needs the incremental pass.*Use tau=1"):
        approximate_map(model, np.ones((8, 8)), tau=0.5, patch_size=4, stride=4)
    with pytest.raises(ValueError, match="occlusion sweeps only"):
        ow.occlusion_map(
            model, np.ones((8, 8)), patch_size=4, stride=4, method="approximate", mode="reveal"
        )


def test_method_list_default_and_adaptive_deprecation():
    assert "approximate" in METHODS and DEFAULTS.method == "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_method("approximate") == "approximate"  # no warning
    model = region_model(0, 0, 4, 4)
    default = ow.occlusion_map(model, np.ones((16, 16)), patch_size=4, stride=4, progress=False)
    assert default.info["method"] == "full"  # auto never approximates unless asked
    with pytest.warns(DeprecationWarning, match="method='approximate'") as record:
        old = ow.occlusion_map(
            model, np.ones((16, 16)), patch_size=4, stride=4, method="adaptive", progress=False
        )
    assert old.complete and old.info["method"] == "adaptive"  # still works for one release
    assert record[0].filename == __file__  # the warning points at the caller's line


def test_the_widget_marks_the_filled_cells_and_says_approximate() -> None:
    from occlusion_widget import OcclusionWidget
    from tests.helpers.models_widget import NAMES, band_model

    image = np.zeros((32, 32, 3), np.float32)
    image[4:10, 4:10] = 1.0  # a small bright square: the rest of the map is flat
    w = OcclusionWidget(
        band_model, image, labels=NAMES, patch_size=8, stride=1, method="approximate"
    )
    assert w.wait(10) == "done"
    estimated = w.result.info["estimated"]
    assert 0 < int(estimated.sum()) < estimated.size
    np.testing.assert_array_equal(w.estimated, estimated.astype(np.uint8))  # drawn as estimates
    assert "approximate: " in w.note and "error is at most" in w.note
    w.recompute(method="full")
    assert w.wait(10) == "done"
    assert w.estimated is None and "approximate" not in w.note
    w.close()


def _failing_after(calls_ok, good):
    """``good``, until its ``calls_ok + 1``-th call raises."""
    calls = []

    def model(batch):
        calls.append(len(batch))
        if len(calls) > calls_ok:
            raise RuntimeError("device lost")
        return good(batch)

    return model


def test_a_model_failure_is_a_model_error_that_keeps_the_levels_already_filled():
    """The approximate sweep scores through the sweep's own path: a one-line ModelError naming
    the positions, with the levels computed so far as its partial result."""
    good = region_model(8, 8, 12, 12)
    kw = dict(patch_size=4, stride=2, baseline="black", progress=False, batch_size=64)
    image = np.ones((40, 40))
    with pytest.raises(
        ow.ModelError, match=r"the model raised RuntimeError: device lost while"
    ) as info:
        approximate_map(_failing_after(2, good), image, tau=1.0, tolerance=0.5, **kw)
    message = str(info.value)
    assert "position" in message and "\n" not in message
    partial = info.value.partial_result
    assert isinstance(partial, ow.OcclusionResult) and not partial.complete
    exact = ow.occlusion_map(good, image, method="full", **kw)
    lattice = partial.computed & ~partial.info["estimated"]
    assert lattice.any()
    np.testing.assert_allclose(
        partial.probabilities[lattice], exact.probabilities[lattice], atol=1e-6
    )


def test_a_failure_before_any_level_has_no_partial_result():
    kw = dict(patch_size=4, stride=2, progress=False)
    with pytest.raises(ow.ModelError) as info:
        approximate_map(_failing_after(0, region_model(8, 8, 12, 12)), np.ones((40, 40)), **kw)
    assert info.value.partial_result is None


def test_nan_scores_are_refused_as_the_exact_sweep_refuses_them():
    def model(batch):
        return np.full((len(batch), 3), np.nan, np.float32)

    with pytest.raises(ValueError, match=r"the model returned NaN while scoring"):
        approximate_map(model, np.ones((16, 16)), patch_size=4, stride=4, progress=False)


def test_out_of_memory_halves_the_batch_and_keeps_the_answer():
    good = region_model(8, 8, 12, 12)
    calls = []

    def model(batch):
        calls.append(len(batch))
        if len(batch) > 8:
            raise MemoryError("out of memory")
        return good(batch)

    kw = dict(patch_size=4, stride=2, baseline="black", progress=False, tolerance=0.5, tau=1.0)
    result = approximate_map(model, np.ones((40, 40)), batch_size=32, **kw)
    expected = approximate_map(good, np.ones((40, 40)), batch_size=8, **kw)
    assert result.complete and max(c for c in calls[-5:]) <= 8
    np.testing.assert_array_equal(result.probabilities, expected.probabilities)


def test_switches_to_the_incremental_pass_whenever_the_default_exact_sweep_would(monkeypatch):
    # Weighed on its own half of the positions, auto's rule kept the full pass where the default
    # sweep switched; when the incremental pass beats its FLOP share (0.2x the full pass on a
    # photo, not 0.56) that made the approximation slower than the exact answer (1.21x).
    from occlusion_widget.engine import auto
    from occlusion_widget.engine.incremental import forward as incremental_forward
    from occlusion_widget.engine.incremental import make_incremental
    from occlusion_widget.engine.model import make_forward
    from tests.helpers.models_incremental import sequential_model

    image = np.random.default_rng(5).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    kw = dict(patch_size=4, stride=2, baseline="black", progress=False, batch_size=8)
    probe_model = sequential_model(24)
    params = ow.engine.validate_params(image, patch_size=4, stride=2)
    fwd = make_forward(probe_model, batch_shape=(8, 24, 24, 3))
    clean = image.astype(np.float32)
    f = make_incremental(probe_model, fwd, clean, params.grid).plan.flop_fraction
    # A full pass this slow saves 1.3x the set-up on the default's 107 positions left after
    # its two timed batches, and 0.7x on the approximate sweep's own ~57.
    per_image = (auto.SETUP_SECONDS["tensorflow"] / 80 + auto.OVERHEAD_SECONDS) / (1 - f)

    class FakeClock:
        def __init__(self):
            self.now = 0.0

        def __call__(self):
            self.now += 8 * per_image
            return self.now

    results = {}
    for method in ("auto", "approximate"):
        monkeypatch.setattr(incremental_forward, "_LAST", {})  # each pays the trace
        monkeypatch.setattr(auto.time, "perf_counter", FakeClock())
        results[method] = ow.occlusion_map(sequential_model(24), image, method=method, **kw)
    assert results["auto"].info["method"] == "incremental", results["auto"].info
    assert results["approximate"].info["inner"] == "incremental", results["approximate"].info
