"""method="incremental" and "auto" on Keras's JAX and torch backends: exact, and chosen.

Keras picks its backend once per process, so each backend runs in a subprocess with
KERAS_BACKEND set (as in test_engine_backends.py); skipped, with the reason, when the framework
is not installed. The models are the small seeded ones of models_incremental (convolutions of
every kind, depthwise and separable, pooling with 'same' padding, zero padding, batch
normalisation with non-trivial statistics, Add / Multiply / Concatenate), compared with the full
sweep at 1e-4 in probabilities (see test_engine_incremental.py for why that tolerance), over
several batch sizes. The auto case replaces the clock, as test_engine_auto.py does, so the
verdict is the same on every machine.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers.engine_helpers import run_on_backend

SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    import occlusion_widget as ow
    from occlusion_widget.engine import auto
    from occlusion_widget.engine.incremental import plan as plan_module
    from tests.helpers.models_incremental import every_rule_model, sequential_model

    assert keras.backend.backend() == BACKEND, keras.backend.backend()
    TOL = 1e-4

    def image(size, seed=0):
        return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)

    def same(model, img, **kw):
        kw = {"progress": False, "baseline": "black", **kw}
        full = ow.occlusion_map(model, img, method="full", **kw)
        inc = ow.occlusion_map(model, img, method="incremental", **kw)
        assert np.ptp(full.probabilities, axis=(0, 1)).max() > 1e-3  # the map moves
        np.testing.assert_allclose(inc.probabilities, full.probabilities, rtol=0, atol=TOL)
        np.testing.assert_allclose(inc.base_probabilities, full.base_probabilities, atol=TOL)
        assert inc.info["method"] == "incremental", inc.info
        assert "batches_run_in_full" not in inc.info, inc.info
        return inc

    every_rule = every_rule_model(32)
    # share 2.0: no layer switches to the whole map, so every rule runs on its box.
    plan_module.FULL_SHARE = 2.0
    for batch_size in (1, 3, 16):
        inc = same(every_rule, image(32), patch_size=8, stride=8, batch_size=batch_size)
        assert inc.info["incremental_layers"] == 16, inc.info
    plan_module.FULL_SHARE = 0.5  # the default switch: later layers on the whole map
    same(every_rule, image(32, 2), patch_size=11, stride=7, batch_size=7, baseline="gray")

    # auto: 1 s per image in full (the clock says so) pays on 121 positions, whatever the
    # backend's set-up (a JAX compilation costs the most: auto.SETUP_SECONDS).
    class FakeClock:
        def __init__(self, step):
            self.now, self.step = 0.0, step
        def __call__(self):
            self.now += self.step
            return self.now

    model = sequential_model(24)
    kw = dict(patch_size=4, stride=2, baseline="black", progress=False, batch_size=8)
    full = ow.occlusion_map(model, image(24), method="full", **kw)
    auto.time.perf_counter = FakeClock(8 * 1.0)
    chosen = ow.occlusion_map(model, image(24), method="auto", **kw)
    assert chosen.info["method"] == "incremental", chosen.info
    # The full sweep above compiled the full pass (torch runs eagerly): the first batch is
    # the one timed.
    assert chosen.info["switched_after"] == 8, chosen.info
    np.testing.assert_allclose(chosen.probabilities, full.probabilities, rtol=0, atol=TOL)
    auto.time.perf_counter = FakeClock(8 * 1e-5)  # 0.01 ms per image: not worth a set-up
    # A model never timed (the one above remembers its full pass's speed: 1 s per image).
    kept = ow.occlusion_map(sequential_model(24), image(24), method="auto", **kw)
    assert kept.info["method"] == "full" and "set-up" in kept.info["reason"], kept.info
    print("INCREMENTAL OK", BACKEND)
    """
)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_incremental_is_exact_and_chosen_by_auto(backend):
    run_on_backend(backend, SCRIPT, f"INCREMENTAL OK {backend}", timeout=600)
