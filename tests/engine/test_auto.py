"""method="auto": full until the sweep's own timing shows the incremental pass pays.

The decision rests on a measured time; these tests replace the clock, so that the verdict is the
same on any machine, and check the rule itself on numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":
    # JAX and torch: tests/engine/incremental/test_backends.py, in subprocesses.
    pytest.skip("these tests run on TensorFlow", allow_module_level=True)

import occlusion_widget as ow  # noqa: E402
from occlusion_widget import demo  # noqa: E402
from occlusion_widget.engine import auto  # noqa: E402
from occlusion_widget.engine.auto import incremental_pays  # noqa: E402
from tests.helpers.models_incremental import sequential_model  # noqa: E402


class FakeClock:
    """``time.perf_counter`` for the auto module: each call moves on by ``step`` seconds, so
    every timed batch takes ``step`` seconds."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


@pytest.fixture(autouse=True)
def _no_remembered_speed(monkeypatch):
    """Each test starts with no full-pass speed remembered: a model shared with another test
    (the demo model) must not decide on a time that test measured on this machine's clock."""
    import weakref

    monkeypatch.setattr(auto, "_SPEED", weakref.WeakKeyDictionary())


def _image(size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_the_rule_weighs_the_time_saved_against_the_set_up():
    # MobileNetV2 on a 2-core CPU: 8.7 ms per image in full, the plan computes 56 %.
    assert incremental_pays(2745, 0.0087, 0.56)[0]  # stride 4: ~10 s saved
    pays, why = incremental_pays(132, 0.0087, 0.56)  # stride 16: ~0.5 s saved
    assert not pays and "set-up" in why
    assert incremental_pays(132, 0.0087, 0.56, cached=True)[0]  # the trace is reused
    # A tiny model: the gathers cost more than the arithmetic saved, however many positions.
    assert not incremental_pays(10**6, 0.0001, 0.3)[0]
    pays, why = incremental_pays(2745, 0.0087, 0.85)
    assert not pays and "85%" in why


def test_the_set_up_is_the_backends_own():
    # At 20 ms per image the pass saves about 1.7 s on 196 positions, 6.2 s on 729 and 24 s on
    # 2809: torch (eager, no trace) pays back on the fewest, a JAX compilation on the most.
    def pays(positions, backend):
        return incremental_pays(positions, 0.02, 0.56, backend=backend)[0]

    assert pays(196, "torch") and not pays(196, "tensorflow") and not pays(196, "jax")
    assert pays(729, "tensorflow") and not pays(729, "jax")
    assert pays(2809, "jax")
    assert incremental_pays(729, 0.02, 0.56, backend="jax", cached=True)[0]
    assert (
        incremental_pays(196, 0.02, 0.56)[1]
        == incremental_pays(196, 0.02, 0.56, backend="tensorflow")[1]
    )  # TensorFlow's by default


def test_a_slow_model_switches_after_the_second_batch_and_stays_exact(monkeypatch):
    image = _image(24)
    kw = dict(patch_size=4, stride=2, baseline="black", progress=False, batch_size=8)
    full = ow.occlusion_map(sequential_model(24), image, method="full", **kw)  # 121 positions
    monkeypatch.setattr(auto.time, "perf_counter", FakeClock(8 * 0.05))  # 50 ms per image
    # The same weights in a model never swept: its first batch compiles the full pass.
    result = ow.occlusion_map(sequential_model(24), image, method="auto", **kw)
    assert result.info["method"] == "incremental"
    assert result.info["switched_after"] == 16  # two batches of 8 in full
    assert "saves about" in result.info["reason"]
    # Exact either way (float32 summation order differs: see test_engine_incremental).
    np.testing.assert_allclose(result.probabilities, full.probabilities, rtol=0, atol=1e-4)


def test_a_full_pass_compiled_by_an_earlier_sweep_is_timed_on_the_first_batch(monkeypatch):
    # The first batch of a cold sweep includes the trace, so auto times the second; once an
    # earlier sweep compiled the full pass, the first batch's time is the steady one, and a
    # second full batch would only be time not saved.
    model, image = sequential_model(24), _image(24)
    kw = dict(patch_size=4, stride=2, baseline="black", progress=False, batch_size=8)
    full = ow.occlusion_map(model, image, method="full", **kw)
    monkeypatch.setattr(auto.time, "perf_counter", FakeClock(8 * 0.05))
    result = ow.occlusion_map(model, image, method="auto", **kw)
    assert result.info["method"] == "incremental", result.info
    assert result.info["switched_after"] == 8  # one batch of 8 in full
    np.testing.assert_allclose(result.probabilities, full.probabilities, rtol=0, atol=1e-4)


def test_a_fast_model_stays_in_full_and_says_why(monkeypatch):
    model = sequential_model(24)
    monkeypatch.setattr(auto.time, "perf_counter", FakeClock(8 * 1e-4))  # 0.1 ms per image
    result = ow.occlusion_map(
        model, _image(24), patch_size=4, stride=2, progress=False, batch_size=8
    )
    assert result.info["method"] == "full"
    assert "less than its set-up" in result.info["reason"]


def test_the_demo_model_is_swept_in_full_by_default(monkeypatch):
    # The classroom model: 225 positions take 0.06 s in full and 0.4 s incrementally (most of
    # it the trace). Its real speed on this machine's class: ~0.15 ms per image.
    monkeypatch.setattr(auto.time, "perf_counter", FakeClock(16 * 1.5e-4))
    image, _ = demo.sample_image("triangle", seed=0)
    result = ow.occlusion_map(
        demo.load_model(), image, patch_size=8, stride=4, progress=False, batch_size=16
    )
    assert result.info["method"] == "full" and "set-up" in result.info["reason"]


def test_few_positions_and_plain_callables_never_consider_it():
    model = sequential_model(24)
    image = _image(24)
    few = ow.occlusion_map(model, image, patch_size=8, stride=8, progress=False)  # 9 positions
    assert few.info["method"] == "full" and "too few" in few.info["reason"]
    plain = ow.occlusion_map(
        lambda b: b.mean(axis=(1, 2)), image, patch_size=4, stride=2, progress=False
    )
    assert plain.info["method"] == "full" and "plain callable" in plain.info["reason"]


def test_a_plan_that_would_not_pay_is_never_built(monkeypatch):
    # Whether the pass pays depends on the plan's FLOP share, which the graph's own shapes give;
    # building the pass runs the model once layer by layer (seconds on JAX), and auto used to
    # build it only to find that it would not pay.
    from occlusion_widget.engine.incremental import estimate_fraction, make_incremental
    from occlusion_widget.engine.incremental import forward as forward_module
    from occlusion_widget.engine.model import make_forward

    image = _image(24)
    kw = dict(patch_size=4, stride=2, baseline="black", progress=False, batch_size=8)
    params = ow.engine.validate_params(image, **{k: kw[k] for k in ("patch_size", "stride")})
    probe = sequential_model(24)
    fwd = make_forward(probe, batch_shape=(8, 24, 24, 3))
    built = make_incremental(probe, fwd, image.astype(np.float32), params.grid).plan
    estimated = estimate_fraction(probe, (24, 24, 3), params.grid)
    assert estimated == pytest.approx(built.flop_fraction)
    # 107 positions left after two timed batches: at this speed the pass would pay if it were
    # free (share 0) but not at the plan's share.
    per_image = 1.1 * (auto.SETUP_SECONDS["tensorflow"] / 107 + auto.OVERHEAD_SECONDS)
    assert not incremental_pays(107, per_image, estimated)[0]
    clean_passes = []
    real = forward_module._clean_pass
    monkeypatch.setattr(
        forward_module, "_clean_pass", lambda *a: clean_passes.append(1) or real(*a)
    )
    monkeypatch.setattr(auto.time, "perf_counter", FakeClock(8 * per_image))
    result = ow.occlusion_map(sequential_model(24), image, method="auto", **kw)
    assert result.info["method"] == "full" and "set-up" in result.info["reason"], result.info
    assert clean_passes == []


def test_a_second_sweep_of_the_model_decides_before_its_first_batch(monkeypatch):
    # A widget recompute (another baseline, target or stride) sweeps the same model at the same
    # batch shape: the full pass's speed is known, so no batch needs to run in full to time it.
    model, image = sequential_model(24), _image(24)
    kw = dict(patch_size=4, stride=2, progress=False, batch_size=8)
    full = ow.occlusion_map(model, image, method="full", baseline="black", **kw)
    monkeypatch.setattr(auto.time, "perf_counter", FakeClock(8 * 0.05))  # 50 ms per image
    first = ow.occlusion_map(model, image, method="auto", baseline="black", **kw)
    assert first.info["switched_after"] == 8, first.info
    second = ow.occlusion_map(model, image, method="auto", baseline="black", **kw)
    assert second.info["switched_after"] == 0, second.info
    assert "from the last sweep" in second.info["reason"]
    np.testing.assert_allclose(second.probabilities, full.probabilities, rtol=0, atol=1e-4)
    # The clock now says the model is fast, but nothing is timed: the decision stands.
    monkeypatch.setattr(auto.time, "perf_counter", FakeClock(8 * 1e-6))
    other = ow.occlusion_map(
        model,
        image,
        method="auto",
        baseline="white",
        patch_size=5,
        stride=2,
        progress=False,
        batch_size=8,
    )  # another patch size: another plan and trace, the same full pass
    assert other.info["method"] == "incremental", other.info
    assert other.info["switched_after"] == 0, other.info
