"""method="adaptive": score a coarse grid, refine only where the map changes, measure the error.

A quadtree drill-down over the lattices of :meth:`Grid.order` (every ``2**k``-th row and column
plus the last), so that a full sweep's preview and the adaptive sweep show the same coarse map
first. The coarse levels, whose spacing is wider than half the patch (in cells), are refined
everywhere: a feature of the map is at least a patch wide, and a coarser lattice can step over
it. From then on a block of the lattice is refined when its corners predict different classes
(a boundary of the predicted-class map runs through it, so it is computed down to every cell),
or when the cells computed at its corners missed the parent block's bilinear interpolation by
more than ``tolerance`` of the largest sensitivity seen so far (the map's own scale, so that a
faint map is refined as carefully as a strong one); any other block is filled by bilinear
interpolation. At the end, an interpolated cell next to a computed cell of another predicted
class is computed, again until none is left, so the class map's boundaries are never guessed.
Last, a seeded sample of the interpolated cells is computed: the error there, scaled to the
share of interpolated cells, is the result's own error estimate.
"""

from __future__ import annotations

import itertools

import numpy as np

from .grid import lattice, levels
from .methods import select_forward
from .model import make_forward, to_probabilities
from .result import OcclusionResult

__all__ = ["lattice", "refine", "ssim"]

#: A block is interpolated when its corners missed their parent's interpolation by at most
#: this share of the largest absolute sensitivity seen so far.
TOLERANCE = 0.15
#: Share of the interpolated cells computed at the end to measure the error (at least 8).
CHECK_SHARE = 0.03


def refine(probabilities, known, step, miss, limit, forced=False):
    """One drill-down level: which cells to compute next and which blocks to interpolate.

    The refinement order of ``method="adaptive"`` as a function. A block of the ``step``
    lattice is refined (the next lattice's cells inside it are computed) when ``forced``,
    when its four corners predict different classes, or when the largest ``miss`` measured at
    its corners exceeds ``limit`` (a block with no measured corner is refined); otherwise it is
    interpolated.

    Parameters
    ----------
    probabilities : numpy.ndarray
        ``(rows, cols, K)``, valid where ``known``.
    known : numpy.ndarray
        ``(rows, cols)`` bool: computed (or already interpolated) cells; every cell of the
        ``step`` lattice must be known.
    step : int
        The current lattice spacing (the next level has ``step // 2``).
    miss : numpy.ndarray
        ``(rows, cols)``: how far each computed cell was from the interpolation of the block
        it was computed in (NaN: not measured).
    limit : float
        The largest miss that lets a block be interpolated.
    forced : bool
        Refine every block (the coarse levels).

    Returns
    -------
    compute : numpy.ndarray
        Flat indices of the next lattice's cells inside refined blocks, not yet known.
    interpolate, refined : list of tuple
        ``(r0, r1, c0, c1)`` lattice blocks to interpolate, and blocks refined.

    Examples
    --------
    >>> p = np.zeros((5, 5, 2)); p[..., 0] = 1; p[4, 4] = [0, 1]
    >>> known = np.zeros((5, 5), bool); known[::2, ::2] = True
    >>> compute, interpolate, refined = refine(p, known, 2, np.zeros((5, 5)), 0.1)
    >>> sorted(compute.tolist()), len(interpolate), refined
    ([13, 17, 18, 19, 23], 3, [(2, 4, 2, 4)])
    """
    rows, cols = known.shape
    r_lat, c_lat = lattice(rows, step), lattice(cols, step)
    half = max(step // 2, 1)
    r_next, c_next = lattice(rows, half), lattice(cols, half)
    want = np.zeros((rows, cols), bool)
    interpolate, refined = [], []
    for r0, r1 in itertools.pairwise(r_lat):
        for c0, c1 in itertools.pairwise(c_lat):
            if known[r0 : r1 + 1, c0 : c1 + 1].all():
                continue
            block = (int(r0), int(r1), int(c0), int(c1))
            rr, cc = [r0, r0, r1, r1], [c0, c1, c0, c1]
            same_class = len(set(np.argmax(probabilities[rr, cc], axis=1).tolist())) == 1
            measured = miss[rr, cc][~np.isnan(miss[rr, cc])]
            if not forced and same_class and len(measured) and measured.max() <= limit:
                interpolate.append(block)
                continue
            refined.append(block)
            rs = r_next[(r_next >= r0) & (r_next <= r1)]
            cs = c_next[(c_next >= c0) & (c_next <= c1)]
            want[np.ix_(rs, cs)] = True
    return np.flatnonzero(want & ~known), interpolate, refined


def _bilinear(probabilities, block, tops, lefts):
    """Bilinear interpolation over a block from its corners (in pixel coordinates)."""
    r0, r1, c0, c1 = block
    ty = (tops[r0 : r1 + 1] - tops[r0]) / max(tops[r1] - tops[r0], 1)
    tx = (lefts[c0 : c1 + 1] - lefts[c0]) / max(lefts[c1] - lefts[c0], 1)
    ty, tx = ty[:, None, None], tx[None, :, None]
    p = probabilities
    return (
        (1 - ty) * (1 - tx) * p[r0, c0]
        + (1 - ty) * tx * p[r0, c1]
        + ty * (1 - tx) * p[r1, c0]
        + ty * tx * p[r1, c1]
    )


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
        if callable(progress) and not isinstance(progress, bool):
            progress(int(known.sum()), grid.total)
        yield result


def trusted_step(grid) -> int:
    """The widest lattice spacing whose blocks may be interpolated: the patch, in cells (a
    map's features are about a patch wide), at least 1.

    Examples
    --------
    >>> from occlusion_widget.engine.grid import make_grid
    >>> trusted_step(make_grid((224, 224), 16, 4)), trusted_step(make_grid((32, 32), 8, 1))
    (4, 8)
    """
    cells = min(p // s for p, s in zip(grid.patch_size, grid.stride, strict=True))
    return max(1, int(cells))


def drill(score, grid, tolerance=None, cancel=None, info=None):
    """The drill-down itself, on any ``score(cells, with_base=False) -> (n, K)`` that counts
    its ``passes``; yields ``(probabilities, base, known, exact)`` after every level (the
    arrays are updated in place), and fills ``info``.

    The exact map is never looked at: only the cells it chooses are scored.
    """
    tolerance = TOLERANCE if tolerance is None else tolerance
    info = {} if info is None else info
    rows, cols = grid.rows, grid.cols
    steps = levels(rows, cols)
    trust = trusted_step(grid)
    first = np.zeros((rows, cols), bool)
    first[np.ix_(lattice(rows, steps[0]), lattice(cols, steps[0]))] = True
    cells = np.flatnonzero(first)
    got = score(cells, with_base=True)
    base = got[0]
    probabilities = np.full((rows, cols, got.shape[1]), np.nan, np.float32)
    flat = probabilities.reshape(rows * cols, -1)
    flat[cells] = got[1:]
    exact, known = first.copy(), first.copy()
    target = int(np.argmax(base))  # the unoccluded image's class: its map is the one people read
    miss = np.full((rows, cols), np.nan)
    _report(info, known, exact, score)
    yield probabilities, base, known, exact
    for step in steps[:-1]:
        if cancel is not None and cancel.is_set():
            return
        # The map's own scale: the largest change of the watched class seen so far.
        scale = float(np.abs(base[target] - flat[exact.ravel(), target]).max())
        limit = tolerance * max(scale, 1e-6)
        compute, interpolate, refined = refine(
            probabilities, known, step, miss, limit, forced=step > trust
        )
        for block in interpolate:
            r0, r1, c0, c1 = block
            sub = ~known[r0 : r1 + 1, c0 : c1 + 1]
            fill = _bilinear(probabilities, block, grid.tops, grid.lefts)
            probabilities[r0 : r1 + 1, c0 : c1 + 1][sub] = fill[sub]
            known[r0 : r1 + 1, c0 : c1 + 1] |= sub
        if len(compute):
            flat[compute] = score(compute)
            exact.ravel()[compute] = True
            known.ravel()[compute] = True
        # How far each new cell is from what its block's corners predicted.
        fresh = np.zeros((rows, cols), bool)
        fresh.ravel()[compute] = True
        for block in refined:
            r0, r1, c0, c1 = block
            guess = _bilinear(probabilities, block, grid.tops, grid.lefts)[..., target]
            here = probabilities[r0 : r1 + 1, c0 : c1 + 1, target]
            new = fresh[r0 : r1 + 1, c0 : c1 + 1]
            miss[r0 : r1 + 1, c0 : c1 + 1][new] = np.abs(here - guess)[new]
        _report(info, known, exact, score)
        yield probabilities, base, known, exact
    _close_boundaries(probabilities, exact, score)
    _measure_error(probabilities, exact, score, info)
    _report(info, known, exact, score)
    yield probabilities, base, known, exact


def _close_boundaries(probabilities, exact, score):
    """Compute every interpolated cell next to a computed cell of another predicted class,
    until none is left (a computed cell can reveal that the boundary goes on).

    Interpolated cells never border each other across a class change (a block's corners share
    one class, and so does every convex mix of them), so a boundary always has a computed
    cell on one side: this follows the real boundaries only.
    """
    rows, cols, k = probabilities.shape
    flat = probabilities.reshape(rows * cols, k)
    while True:
        cls = probabilities.argmax(-1)
        todo = np.zeros((rows, cols), bool)
        for axis in (0, 1):
            lo, hi = [slice(None)] * 2, [slice(None)] * 2
            lo[axis], hi[axis] = slice(1, None), slice(None, -1)
            a, b = tuple(lo), tuple(hi)
            differs = cls[a] != cls[b]
            todo[a] |= differs & exact[b]
            todo[b] |= differs & exact[a]
        todo = np.flatnonzero((todo & ~exact).ravel())
        if not len(todo):
            return
        flat[todo] = score(todo)
        exact.ravel()[todo] = True


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
