"""Fidelity curves checked against an independent implementation (Xplique's Deletion and
Insertion) and through a Keras model.

Xplique is a benchmark peer: it lives in benchmarks/.peers (``python -m benchmarks.bench_peers
--install``), never in the project's environment. It runs in a subprocess so that its imports
(TensorFlow, tf-keras) cannot change this process; the test is skipped, with the reason, when
the peer is not installed or does not import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import occlusion_widget as ow

PEERS = Path(__file__).resolve().parents[2] / "benchmarks" / ".peers"

# The same numpy model on both sides: class 1 = sigmoid of a fixed weighted sum, a nonlinear
# model whose occlusion map has no ties (checked below), so any correct sort ranks pixels alike.
MODEL_SOURCE = textwrap.dedent(
    """
    import numpy as np

    WEIGHTS = np.random.default_rng(7).normal(size=(6, 6, 1)).astype(np.float32)

    def model(batch):
        z = (np.asarray(batch, np.float32) * WEIGHTS).sum(axis=(1, 2, 3)) - 0.5
        p = 1.0 / (1.0 + np.exp(-z))
        return np.stack([1.0 - p, p], axis=1).astype(np.float32)
    """
)

XPLIQUE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    try:
        from xplique.metrics import Deletion, Insertion
    except Exception as exc:
        print("UNAVAILABLE " + type(exc).__name__ + ": " + str(exc)[:200])
        raise SystemExit(0)
    {model}
    data = json.load(sys.stdin)
    x = np.array(data["image"], np.float32)[None]
    explanation = np.array(data["attribution"], np.float32)[None]
    targets = np.array([[0.0, 1.0]], np.float32)
    out = {{}}
    for name, metric in (("deletion", Deletion), ("insertion", Insertion)):
        m = metric(model, x, targets, batch_size=8, baseline_mode=0.0, steps=data["steps"])
        out[name] = [float(v) for v in m.detailed_evaluate(explanation).values()]
        out[name + "_auc"] = float(m.evaluate(explanation))
    print("RESULT " + json.dumps(out))
    """
)


def _model():
    namespace: dict = {}
    exec(MODEL_SOURCE, namespace)  # the very source the peer's subprocess runs
    return namespace["model"]


def test_curves_and_areas_match_xplique():
    if not (PEERS / "xplique").is_dir():
        pytest.skip(
            "Xplique is not installed in benchmarks/.peers (python -m benchmarks.bench_peers "
            "--install)"
        )
    model = _model()
    image = np.random.default_rng(8).uniform(size=(6, 6, 1)).astype(np.float32)
    result = ow.occlusion_map(
        model, image, patch_size=2, stride=1, baseline="black", progress=False
    )
    attribution = result.attribution(1)
    gaps = np.diff(np.sort(attribution.ravel().astype(np.float64)))
    # Both sides rank the very same float32 values, so only exact ties could order them
    # differently; the closest two here are ~1e-6 apart, far above float32 noise of this map.
    assert gaps.min() > 1e-7, "the check needs a map without ties (orders would differ)"
    steps = 12  # 36 pixels: 3 per step, the same counts in both implementations
    ours = ow.fidelity(model, result, steps=steps, target=1)

    script = XPLIQUE_SCRIPT.format(model=MODEL_SOURCE)
    payload = json.dumps(
        {"image": image.tolist(), "attribution": attribution.tolist(), "steps": steps}
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    # The peers come first on the subprocess's path (their pins, not the project's).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PEERS), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=payload,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    lines = proc.stdout.splitlines()
    unavailable = [line for line in lines if line.startswith("UNAVAILABLE")]
    if unavailable:
        pytest.skip(f"Xplique does not import: {unavailable[0][12:]}")
    found = [line for line in lines if line.startswith("RESULT ")]
    assert proc.returncode == 0 and found, proc.stderr[-2000:]
    theirs = json.loads(found[0][7:])
    # Both run the same float32 numpy model on the same images: only summation order differs.
    np.testing.assert_allclose(ours.deletion, theirs["deletion"], atol=1e-6)
    np.testing.assert_allclose(ours.insertion, theirs["insertion"], atol=1e-6)
    assert ours.deletion_auc == pytest.approx(theirs["deletion_auc"], abs=1e-6)
    assert ours.insertion_auc == pytest.approx(theirs["insertion_auc"], abs=1e-6)


def test_a_keras_model_gives_the_hand_computed_curves():
    keras = pytest.importorskip("keras")
    # logit1 = sum of the top-left 2x2 pixels, logit0 = 0: P(1) = sigmoid(sum) by hand.
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    weights = np.zeros((4, 4, 1, 2), np.float32)
    weights[:2, :2, 0, 1] = 1.0
    model.layers[-1].set_weights([weights.reshape(16, 2), np.zeros(2, np.float32)])
    image = np.ones((4, 4, 1), np.float32)
    result = ow.occlusion_map(
        model, image, patch_size=2, stride=2, baseline="black", progress=False
    )
    assert result.output_kind == "softmax"
    curves = ow.fidelity(model, result, steps=16, batch_size=5)
    # Deletion removes the corner's 4 pixels first: the sum goes 4, 3, 2, 1, 0, then stays 0.
    sums = np.concatenate([[4.0, 3.0, 2.0, 1.0], np.zeros(13)])
    expected = 1.0 / (1.0 + np.exp(-sums))
    # float32 softmax of logits <= 4: relative error ~1e-7; 1e-6 leaves room for TF's kernels.
    np.testing.assert_allclose(curves.deletion, expected, atol=1e-6)
    # Insertion puts them back first: 0, 1, 2, 3, 4, then stays 4.
    added = np.concatenate([[0.0, 1.0, 2.0, 3.0], np.full(13, 4.0)])
    np.testing.assert_allclose(curves.insertion, 1.0 / (1.0 + np.exp(-added)), atol=1e-6)
