"""The group summary (dataset/summaries.py) gives exactly the per-image summary's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.dataset.summaries import summarize_many
from occlusion_widget.dataset.summary import summarize


def results(n, rows, cols, k, seed):
    """Complete results with random probabilities; some positions copy the base (ties) and
    some images never flip, so every branch of the summary is taken."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        logits = rng.normal(0, 1 + 2 * (i % 3), (rows, cols, k))
        probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        base = probs[0, 0].copy()
        if i % 4 == 1:  # no flips at all
            probs[..., int(np.argmax(base))] += 5.0
            probs /= probs.sum(-1, keepdims=True)
        if i % 4 == 2:  # tied classes among the flips
            probs[: rows // 2] = probs[rows - 1, cols - 1]
        grid = ow.engine.make_grid((4 * rows + 4, 4 * cols + 4), 8, 4)
        result = ow.OcclusionResult(
            probabilities=probs.astype(np.float32),
            base_probabilities=base.astype(np.float32),
            computed=np.ones((rows, cols), bool),
            image=np.zeros((4 * rows + 4, 4 * cols + 4, 1), np.float32),
            baseline=np.zeros((4 * rows + 4, 4 * cols + 4, 1), np.float32),
            value_range=(0, 1),
            patch_size=(8, 8),
            stride=(4, 4),
            tops=grid.tops,
            lefts=grid.lefts,
        )
        out.append(result)
    return out


def same(a, b):
    return a == b or (isinstance(a, float) and a != a and b != b)


@pytest.mark.parametrize(("rows", "cols", "k"), [(3, 3, 10), (1, 5, 2), (7, 4, 3), (16, 17, 12)])
def test_group_summary_equals_the_per_image_summary(rows, cols, k):
    group = results(9, rows, cols, k, seed=rows * cols + k)
    labels = [i % (k + 1) - 1 for i in range(9)]  # -1 (unknown) and every class
    rows_many = summarize_many(
        np.stack([r.probabilities for r in group]),
        np.stack([r.base_probabilities for r in group]),
        labels,
        group[0].tops,
        group[0].lefts,
    )
    for result, label, row in zip(group, labels, rows_many, strict=True):
        expected = summarize(result, label)
        assert row.keys() == expected.keys()
        for name, value in expected.items():
            assert same(row[name], value), (name, row[name], value)
