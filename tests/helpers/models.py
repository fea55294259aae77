"""Tiny models with hand-computed answers, shared by the tests and the benchmarks.

Import as ``from tests.helpers.models import ...`` (from the repository root, as pytest and
``python -m benchmarks.<name>`` run).
Every model here is deterministic and trains nothing.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Recorder",
    "dense_logit_model",
    "dense_logit_scores",
    "overlap",
    "region_model",
    "softmax",
]


def softmax(z, axis=-1):
    """Row-wise softmax, shifted by the row maximum so large logits do not overflow."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def region_model(top, left, height, width):
    """Class 1 = mean of a pixel region (image in [0, 1]), class 0 = its complement.

    Occluding with black removes exactly ``overlap / region area`` of class 1's probability, so
    every sensitivity is known by hand.
    """

    def model(batch):
        batch = np.asarray(batch)
        p = batch[:, top : top + height, left : left + width].mean(axis=(1, 2, 3))
        return np.stack([1.0 - p, p], axis=1)

    return model


def overlap(a, b):
    """Overlap area of two (top, left, height, width) boxes."""
    dy = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    dx = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(dy, 0) * max(dx, 0)


class Recorder:
    """A callable model that keeps every batch it was given (to check what the model saw)."""

    def __init__(self, model):
        self.model = model
        self.batches = []

    def __call__(self, batch):
        self.batches.append(np.array(batch, copy=True))
        return self.model(batch)


def dense_logit_model():
    """A Keras model on ``(6, 6, 2)`` images whose every output can be written by hand:
    logit0 = the sum of the top-left 3x3 pixels of channel 0, logit1 = 0.5, logit2 = -logit0/2.
    """
    import keras

    model = keras.Sequential(
        [keras.Input((6, 6, 2)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    weights = np.zeros((6, 6, 2, 3), np.float32)
    weights[:3, :3, 0, 0] = 1.0
    weights[:3, :3, 0, 2] = -0.5
    model.layers[-1].set_weights([weights.reshape(72, 3), np.array([0, 0.5, 0], np.float32)])
    return model


def dense_logit_scores(corner_sum):
    """The probabilities :func:`dense_logit_model` gives when its 3x3 corner sums to
    ``corner_sum``."""
    return softmax(np.array([corner_sum, 0.5, -corner_sum / 2]))
