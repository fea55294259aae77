"""method="adaptive": score a coarse grid, refine only where the map changes, measure the error.

A quadtree drill-down over the lattices of :meth:`Grid.order` (every ``2**k``-th row and column
plus the last), decided by :class:`~.refinement.Refinement`, which every exact sweep follows too
(:class:`~.refinement.SweepOrder`): the cells a full or incremental sweep computes first are the
adaptive sweep's, so the map a preview shows early is the adaptive one. The coarse levels, whose
spacing is wider than the patch (in cells), are refined everywhere: a feature of the map is at
least a patch wide, and a coarser lattice can step over it. From then on a block of the lattice
is refined when its corners predict different classes (a boundary of the predicted-class map
runs through it, so it is computed down to every cell), or when the cells computed at its
corners missed the parent block's bilinear interpolation by more than ``tolerance`` of the
largest sensitivity seen so far (the map's own scale, so that a faint map is refined as
carefully as a strong one); any other block is filled by bilinear interpolation, edges
included. At the end, an interpolated cell next to a computed cell of another predicted class is
computed, again until none is left, so the class map's boundaries are never guessed. Last, a
seeded sample of the interpolated cells is computed: the error there, scaled to the share of
interpolated cells, is the result's own error estimate.
"""

from __future__ import annotations

import numpy as np

from .grid import lattice
from .methods import select_forward
from .model import make_forward, to_probabilities
from .refinement import TOLERANCE, Refinement, refine, trusted_step
from .result import OcclusionResult

__all__ = ["TOLERANCE", "drill", "iter_adaptive", "lattice", "refine", "ssim", "trusted_step"]

#: Share of the interpolated cells computed at the end to measure the error (at least 8).
CHECK_SHARE = 0.03


class _Scorer:
    """Scores lists of cells (and the unoccluded image) in batches, with the sweep's forward."""

    def __init__(self, forward, params):
        self.forward, self.params = forward, params
        self.grid = params.grid
        self.kind = params.output
        self.passes = 0

    def __call__(self, cells, with_base=False):
        grid, pixels, fill = self.grid, self.params.image.pixels, self.params.baseline
        ph, pw = grid.patch_size
        bsz = self.params.batch_size
        items = ([-1] if with_base else []) + [int(c) for c in cells]
        out = []
        for start in range(0, len(items), bsz):
            chunk = items[start : start + bsz]
            batch = np.repeat(pixels[None], bsz, axis=0)
            for j, cell in enumerate(chunk):
                if cell >= 0:
                    t, left = grid.tops[cell // grid.cols], grid.lefts[cell % grid.cols]
                    batch[j, t : t + ph, left : left + pw] = fill[t : t + ph, left : left + pw]
            x = self.forward.prepare(batch)
            if hasattr(self.forward, "set_cells"):
                padded = np.zeros(bsz, np.int64)
                padded[: len(chunk)] = np.maximum(chunk, 0)
                self.forward.set_cells(padded)
            probs, self.kind = to_probabilities(self.forward.run(x)[: len(chunk)], self.kind)
            out.append(probs)
            self.passes += len(chunk)
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def iter_adaptive(model, params, preprocess, progress=False, cancel=None, tolerance=None):
    """The adaptive sweep behind ``iter_occlusion(..., method="adaptive")``; yields the result
    after every level (NaN where nothing is known yet), the last one complete.

    ``result.info`` holds ``positions_computed``, ``passes_saved`` (the full sweep's passes
    over these, the unoccluded image included in both), ``estimated`` (the interpolated cells)
    and ``error_estimate`` (see :func:`_measure_error`).
    """
    grid = params.grid
    pixels = params.image.pixels
    h, w, c = pixels.shape
    bsz = params.batch_size
    forward = make_forward(model, preprocess, batch_shape=(bsz, h, w, c))
    forward, inner = select_forward("auto", model, forward, pixels, grid)
    info = {"method": "adaptive", "inner": inner.get("method", "full")}
    score = _Scorer(forward, params)
    result = None
    for probabilities, base, known, _exact in drill(score, grid, tolerance, cancel, info):
        if result is None:
            result = OcclusionResult(
                probabilities=probabilities,
                base_probabilities=base,
                computed=np.zeros((grid.rows, grid.cols), bool),
                image=pixels,
                baseline=params.baseline,
                value_range=params.image.value_range,
                patch_size=grid.patch_size,
                stride=grid.stride,
                tops=grid.tops,
                lefts=grid.lefts,
                baseline_name=params.baseline_name,
                output_kind=score.kind,
            )
            result.info = info
        result.probabilities = probabilities
        result.computed[...] = known
        info["inner"] = inner.get("method", "full")  # "auto" may switch on the way
        if callable(progress) and not isinstance(progress, bool):
            progress(int(known.sum()), grid.total)
        yield result


def drill(score, grid, tolerance=None, cancel=None, info=None):
    """The drill-down itself (:class:`~.refinement.Refinement`), on any
    ``score(cells, with_base=False) -> (n, K)`` that counts its ``passes``; yields
    ``(probabilities, base, known, exact)`` after every step (the arrays are updated in
    place), and fills ``info``.

    The exact map is never looked at: only the cells it chooses are scored.
    """
    info = {} if info is None else info
    ref = Refinement(grid, TOLERANCE if tolerance is None else tolerance)
    cells = ref.first()
    got = score(cells, with_base=True)
    ref.add(cells, got[1:], base=got[0])
    assert ref.probabilities is not None and ref.base is not None
    _report(info, ref.known, ref.exact, score)
    yield ref.probabilities, ref.base, ref.known, ref.exact
    while len(cells := ref.advance()):
        if cancel is not None and cancel.is_set():
            return
        ref.add(cells, score(cells))
        _report(info, ref.known, ref.exact, score)
        yield ref.probabilities, ref.base, ref.known, ref.exact
    _measure_error(ref.probabilities, ref.exact, score, info)
    _report(info, ref.known, ref.exact, score)
    yield ref.probabilities, ref.base, ref.known, ref.exact


def _measure_error(probabilities, exact, score, info):
    """Compute a seeded sample of the interpolated cells and record the error found there.

    ``info["error_estimate"]``: ``sampled`` (cells), ``mean_abs`` (the mean absolute error of
    the largest-error class per cell, over the whole map: the sample's mean times the share of
    cells left interpolated), ``mean_abs_interpolated`` (the sample's mean itself),
    ``max_abs`` (the sample's largest) and ``class_disagreement`` (share of the whole map's
    cells whose predicted class is estimated wrong, scaled the same way). The sampled cells
    are kept computed.
    """
    rows, cols, k = probabilities.shape
    estimated = np.flatnonzero(~exact.ravel())
    errors = {
        "sampled": 0,
        "mean_abs": 0.0,
        "mean_abs_interpolated": 0.0,
        "max_abs": 0.0,
        "class_disagreement": 0.0,
    }
    if len(estimated):
        n = min(len(estimated), max(8, int(np.ceil(CHECK_SHARE * len(estimated)))))
        sample = np.sort(np.random.default_rng(0).choice(estimated, n, replace=False))
        flat = probabilities.reshape(rows * cols, k)
        guess = flat[sample].copy()
        truth = score(sample)
        flat[sample] = truth
        exact.ravel()[sample] = True
        diff = np.abs(truth - guess).max(axis=1)
        share = (len(estimated) - n) / (rows * cols)  # cells still interpolated
        errors = {
            "sampled": int(n),
            "mean_abs": float(diff.mean() * share),
            "mean_abs_interpolated": float(diff.mean()),
            "max_abs": float(diff.max()),
            "class_disagreement": float(np.mean(truth.argmax(1) != guess.argmax(1)) * share),
        }
    info["error_estimate"] = errors


def _report(info, known, exact, score):
    total = known.size
    info["positions_computed"] = int(exact.sum())
    info["passes_saved"] = round((total + 1) / max(1, score.passes), 3)
    info["estimated"] = known & ~exact


def ssim(a, b, data_range=None, window=7) -> float:
    """Mean structural similarity of two 2-D maps (uniform ``window`` x ``window`` windows,
    the usual constants), to compare an adaptive map with the exact one.

    Examples
    --------
    >>> m = np.arange(64.0).reshape(8, 8)
    >>> round(ssim(m, m), 6)
    1.0
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if data_range is None:
        data_range = max(float(np.ptp(a)), 1e-12)
    win = min(window, *a.shape)

    def mean(x):
        s = np.cumsum(np.cumsum(np.pad(x, ((1, 0), (1, 0))), 0), 1)
        return (s[win:, win:] - s[:-win, win:] - s[win:, :-win] + s[:-win, :-win]) / win**2

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ma, mb = mean(a), mean(b)
    va, vb, cov = mean(a * a) - ma**2, mean(b * b) - mb**2, mean(a * b) - ma * mb
    num = (2 * ma * mb + c1) * (2 * cov + c2)
    return float(np.mean(num / ((ma**2 + mb**2 + c1) * (va + vb + c2))))
