"""Hand-made occlusion results for the figure tests: exact maps, no model, no float noise."""

from __future__ import annotations

import numpy as np

from occlusion_widget import OcclusionResult

PATCH = 4


def result_from(probabilities, base, computed=None) -> OcclusionResult:
    """An OcclusionResult with these ``(rows, cols, K)`` probabilities on a 4x4-patch grid."""
    probabilities = np.asarray(probabilities, np.float32)
    rows, cols, _ = probabilities.shape
    image = np.linspace(0, 1, rows * PATCH * cols * PATCH * 3, dtype=np.float32)
    image = image.reshape(rows * PATCH, cols * PATCH, 3)
    if computed is None:
        computed = np.ones((rows, cols), bool)
    probabilities = np.where(computed[..., None], probabilities, np.nan).astype(np.float32)
    return OcclusionResult(
        probabilities=probabilities,
        base_probabilities=np.asarray(base, np.float32),
        computed=computed,
        image=image,
        baseline=np.zeros_like(image),
        value_range=(0.0, 1.0),
        patch_size=(PATCH, PATCH),
        stride=(PATCH, PATCH),
        tops=np.arange(rows) * PATCH,
        lefts=np.arange(cols) * PATCH,
        baseline_name="black",
    )


def predicting(classes, base) -> OcclusionResult:
    """A result whose predicted class at each cell is ``classes[row, col]``."""
    classes = np.asarray(classes)
    base = np.asarray(base, np.float64)
    probabilities = np.broadcast_to(0.1 * base, (*classes.shape, base.size)).copy()
    rows, cols = np.indices(classes.shape)
    probabilities[rows, cols, classes] += 0.9
    return result_from(probabilities, base)


def flat(drop: float, num_classes: int = 3) -> OcclusionResult:
    """A 3x3 result where covering the centre lowers class 0 by ``drop`` and nothing else moves."""
    base = np.array([0.6, 0.3, 0.1][:num_classes])
    probabilities = np.broadcast_to(base, (3, 3, num_classes)).copy()
    probabilities[1, 1, 0] -= drop
    probabilities[1, 1, 1] += drop
    return result_from(probabilities, base)
