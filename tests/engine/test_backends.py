"""The same engine code on Keras's JAX and torch backends.

Keras picks its backend once per process, so each backend runs in a subprocess with
KERAS_BACKEND set; skipped (with the reason) when the framework is not installed.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.helpers.engine_helpers import run_on_backend

SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    import occlusion_widget as ow
    from occlusion_widget.engine.model import make_forward
    from tests.helpers.models import dense_logit_model, dense_logit_scores

    assert keras.backend.backend() == BACKEND, keras.backend.backend()
    model = dense_logit_model()  # every output can be written by hand
    assert make_forward(model, batch_shape=(3, 6, 6, 2)).backend == BACKEND
    for batch_size in (1, 2, 3, 64):
        r = ow.occlusion_map(model, np.ones((6, 6, 2), np.float32), patch_size=2,
                             stride=2, baseline="black", batch_size=batch_size,
                             progress=False)
        np.testing.assert_allclose(r.base_probabilities, dense_logit_scores(9.0), rtol=1e-5)
        for row in range(3):
            for col in range(3):
                t, l = 2 * row, 2 * col
                s = 9.0 - max(0, min(t + 2, 3) - t) * max(0, min(l + 2, 3) - l)
                np.testing.assert_allclose(r.probabilities[row, col], dense_logit_scores(s),
                                           rtol=1e-5)
    print("BACKEND OK", BACKEND)
    """
)


# numpy: Keras' inference-only backend (its forward pass once called a misspelt keras.ops
# function and failed on the first batch).
@pytest.mark.parametrize("backend", ["jax", "torch", "numpy"])
def test_keras_backend(backend):
    run_on_backend(backend, SCRIPT, f"BACKEND OK {backend}", timeout=300)
