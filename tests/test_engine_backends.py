"""The same engine code on Keras's JAX and torch backends.

Keras picks its backend once per process, so each backend runs in a subprocess with
KERAS_BACKEND set; skipped (with the reason) when the framework is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import numpy as np, keras
    import occlusion_widget as ow
    from occlusion_widget.engine.model import make_forward
    from models import dense_logit_model, dense_logit_scores

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


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_backend(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed: pip install {backend} to test that backend")
    env = dict(os.environ, KERAS_BACKEND=backend)
    root = Path(__file__).resolve().parents[1]
    # The package under test and tests/ (for the shared models module) come first.
    paths = [str(root), str(root / "tests"), env.get("PYTHONPATH")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    code = f"BACKEND = {backend!r}\n" + SCRIPT
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"BACKEND OK {backend}" in proc.stdout
