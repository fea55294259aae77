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

    assert keras.backend.backend() == BACKEND, keras.backend.backend()
    # logit0 = sum of the top-left 3x3 pixels, logit1 = 0.5, logit2 = -sum/2 (hand-computable).
    model = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    w = np.zeros((6, 6, 2, 3), np.float32)
    w[:3, :3, 0, 0] = 1.0
    w[:3, :3, 0, 2] = -0.5
    model.layers[-1].set_weights([w.reshape(72, 3), np.array([0, 0.5, 0], np.float32)])

    def softmax(z):
        e = np.exp(z - z.max())
        return e / e.sum()

    assert make_forward(model, batch_shape=(3, 6, 6, 2)).backend == BACKEND
    for batch_size in (1, 2, 3, 64):
        r = ow.occlusion_map(model, np.ones((6, 6, 2), np.float32), patch_size=2,
                             stride=2, baseline="black", batch_size=batch_size,
                             progress=False)
        np.testing.assert_allclose(r.base_probabilities, softmax(np.array([9.0, 0.5, -4.5])),
                                   rtol=1e-5)
        for row in range(3):
            for col in range(3):
                t, l = 2 * row, 2 * col
                s = 9.0 - max(0, min(t + 2, 3) - t) * max(0, min(l + 2, 3) - l)
                np.testing.assert_allclose(r.probabilities[row, col],
                                           softmax(np.array([s, 0.5, -s / 2])), rtol=1e-5)
    print("BACKEND OK", BACKEND)
    """
)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_keras_backend(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed: pip install {backend} to test that backend")
    env = dict(os.environ, KERAS_BACKEND=backend)
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    code = f"BACKEND = {backend!r}\n" + SCRIPT
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"BACKEND OK {backend}" in proc.stdout
