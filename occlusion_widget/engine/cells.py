"""Score chosen grid cells in batches, and measure an approximate map against exact passes.

The approximate sweep (:mod:`.approximate`) asks for cells a level at a time rather than in the
grid's visiting order; :class:`CellScorer` builds those batches and scores them through the
sweep's own path (:mod:`.scoring`: one-line :class:`~.model.ModelError`, NaN refused, a halved
batch on out-of-memory). :func:`measure_error` scores a seeded sample exactly and says how far
the map shown is from it.
"""

from __future__ import annotations

import numpy as np

from .batches import OutOfMemory, halve, prepare
from .compose import compose
from .model import to_probabilities
from .scoring import _score

__all__ = ["SAMPLE", "CellScorer", "measure_error"]

#: Positions computed exactly at the end to measure the error (fewer when the grid is smaller).
SAMPLE = 12


class CellScorer:
    """Scores lists of grid cells (and the unoccluded image) with a forward pass, in batches.

    ``scorer(cells, with_base=False) -> (n, K)`` probabilities; ``passes`` counts the images
    scored. Batches hold only the cells asked for (the compiled passes take any batch size),
    except on JAX, whose compiled functions are padded to ``params.batch_size`` to keep one
    compilation.

    Examples
    --------
    >>> from occlusion_widget.engine import make_forward, validate_params
    >>> params = validate_params(np.ones((8, 8)), patch_size=4, stride=4)
    >>> fwd = make_forward(lambda b: np.stack([b.mean((1, 2, 3)), 1 - b.mean((1, 2, 3))], 1))
    >>> score = CellScorer(fwd, params)
    >>> score([0, 3]).shape, score.passes
    ((2, 2), 2)
    """

    def __init__(self, forward, params):
        self.forward, self.params = forward, params
        self.grid = params.grid
        self.kind = params.output
        self.passes = 0
        self.batch_size = params.batch_size  # halved when the model runs out of memory

    def __call__(self, cells, with_base=False):
        grid, pixels, fill = self.grid, self.params.image.pixels, self.params.baseline
        ph, pw = grid.patch_size
        bsz = self.batch_size
        items = ([-1] if with_base else []) + [int(c) for c in cells]
        out = []
        start = 0
        while start < len(items):
            chunk = items[start : start + bsz]
            size = bsz if getattr(self.forward, "backend", None) == "jax" else len(chunk)
            batch = np.repeat(pixels[None], size, axis=0)
            for j, cell in enumerate(chunk):
                if cell >= 0:
                    t, left = grid.tops[cell // grid.cols], grid.lefts[cell % grid.cols]
                    batch[j] = compose(pixels, fill, (t, left, ph, pw), self.params.mode)
            what = _describe(chunk, grid)
            # The sweep's own scoring path: the model's failures become one-line ModelErrors,
            # NaN scores a clear ValueError, out-of-memory a smaller batch.
            try:
                x = prepare(self.forward, batch, what)
                if hasattr(self.forward, "set_cells"):
                    padded = np.zeros(size, np.int64)
                    padded[: len(chunk)] = np.maximum(chunk, 0)
                    self.forward.set_cells(padded)
                scores = _score(self.forward, x, what, len(chunk), self.params.image.value_range)
            except OutOfMemory as oom:
                bsz = self.batch_size = halve(bsz, oom, what, batch.shape)
                continue
            probs, self.kind = to_probabilities(scores[: len(chunk)], self.kind)
            out.append(probs)
            self.passes += len(chunk)
            start += len(chunk)
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _describe(chunk, grid):
    """What a batch of the approximate sweep holds, for error messages."""
    cells = [c for c in chunk if c >= 0]
    parts = ["the unoccluded image"] if len(cells) < len(chunk) else []
    if cells:
        first, last = cells[0], cells[-1]
        where = f"({first // grid.cols}, {first % grid.cols})"
        if len(cells) > 1:
            where += f" ... ({last // grid.cols}, {last % grid.cols})"
        parts.append(f"{len(cells)} position{'s' if len(cells) > 1 else ''} {where}")
    return " and ".join(parts)


def measure_error(probabilities, exact_score, population, sample=SAMPLE) -> dict:
    """Score a seeded sample of ``population`` exactly and compare it with the map.

    Parameters
    ----------
    probabilities : numpy.ndarray
        ``(rows, cols, K)`` the approximate map (left as it is).
    exact_score : callable
        ``exact_score(cells) -> (n, K)`` exact probabilities.
    population : array-like of int
        The approximated cells (flat indices) to sample from.
    sample : int
        Cells to sample (all of them when there are fewer).

    Returns
    -------
    dict
        ``sampled``, ``cells``, ``max_abs``, ``mean_abs``, ``class_agreement``, ``share``.

    Examples
    --------
    >>> truth = np.array([[0.9, 0.1], [0.2, 0.8]], np.float32)
    >>> shown = np.array([[[0.8, 0.2], [0.2, 0.8]]], np.float32)
    >>> e = measure_error(shown, lambda cells: truth[cells], [0, 1])
    >>> e["cells"], round(e["max_abs"], 3), round(e["mean_abs"], 3), e["class_agreement"]
    ([0, 1], 0.1, 0.05, 1.0)
    """
    population = np.asarray(population, np.int64)
    total = probabilities.shape[0] * probabilities.shape[1]
    n = min(int(sample), len(population))
    cells = np.sort(np.random.default_rng(0).choice(population, n, replace=False))
    shown = probabilities.reshape(total, -1)[cells]
    truth = np.asarray(exact_score(cells), np.float32) if n else shown
    diff = np.abs(truth - shown).max(axis=1) if n else np.zeros(0)
    return {
        "sampled": int(n),
        "cells": [int(c) for c in cells],
        "max_abs": float(diff.max()) if n else 0.0,
        "mean_abs": float(diff.mean()) if n else 0.0,
        "class_agreement": float(np.mean(truth.argmax(1) == shown.argmax(1))) if n else 1.0,
        "share": round(len(population) / total, 4),
    }
