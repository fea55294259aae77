"""method="adaptive": score a coarse grid, refine only where the map changes, measure the error.

A quadtree drill-down over the grid's coarse-to-fine lattices (every ``2**k``-th row and column
plus the last, as in :meth:`Grid.order`). Every block of the coarsest lattice is refined once;
from then on a block is filled by bilinear interpolation when its corners predict one class and
the interpolation of its parent block missed the cells it computed by at most ``tolerance`` of
the coarse map's range (the unoccluded image's class probability); otherwise it is refined.
Blocks whose corners predict different classes are always refined, and at the end every
interpolated cell next to a cell of another predicted class is computed too, until none is
left: the class map's boundaries are never guessed. Last, a seeded sample of the interpolated
cells is computed, and the difference there is the result's own error estimate.
"""

from __future__ import annotations

import itertools

import numpy as np

from .methods import select_forward
from .model import make_forward, to_probabilities
from .result import OcclusionResult

__all__ = ["lattice", "refine", "ssim"]

#: Corners closer than this share of the coarse map's probability range count as agreeing.
TOLERANCE = 0.1
#: Share of the interpolated cells computed at the end to measure the error (at least 4).
CHECK_SHARE = 0.03


def lattice(n: int, step: int) -> np.ndarray:
    """Indices ``0, step, 2 * step, ...`` and the last one, ``n - 1``.

    Examples
    --------
    >>> lattice(10, 4).tolist()
    [0, 4, 8, 9]
    """
    idx = np.arange(0, n, step)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def _first_step(rows, cols):
    step = 1
    while step * 2 <= max(rows, cols) // 2:
        step *= 2
    return step


def refine(probabilities, known, step, error, limit):
    """One drill-down level: which cells to compute next and which blocks to interpolate.

    The refinement order of ``method="adaptive"`` as a function, for a preview that wants to
    visit cells in the same order. A block of the ``step`` lattice is interpolated when its
    four corners predict the same class and the interpolation error measured one level up
    (``error``) is within ``limit``; otherwise the next lattice's cells inside it are computed.

    Parameters
    ----------
    probabilities : numpy.ndarray
        ``(rows, cols, K)``, valid where ``known``.
    known : numpy.ndarray
        ``(rows, cols)`` bool: computed (or already interpolated) cells; every cell of the
        ``step`` lattice must be known.
    step : int
        The current lattice spacing (the next level has ``step // 2``).
    error : numpy.ndarray
        ``(rows, cols)`` interpolation error measured around each cell (``inf``: not measured).
    limit : float
        The largest error that lets a block be interpolated.

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
            corners = probabilities[[r0, r0, r1, r1], [c0, c1, c0, c1]]
            same_class = len(set(np.argmax(corners, axis=1).tolist())) == 1
            if same_class and error[r0 : r1 + 1, c0 : c1 + 1].max() <= limit:
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

    ``result.info`` holds ``positions_computed``, ``passes_saved`` (full sweep's passes over
    these), ``estimated`` (the interpolated cells), and ``error_estimate``: the mean and max
    absolute probability error and the predicted-class disagreement, measured on a seeded
    sample of interpolated cells that were computed at the end.
    """
    if tolerance is None:
        tolerance = TOLERANCE
    grid = params.grid
    pixels = params.image.pixels
    h, w, c = pixels.shape
    bsz = params.batch_size
    forward = make_forward(model, preprocess, batch_shape=(bsz, h, w, c))
    forward, info = select_forward("auto", model, forward, pixels, grid)
    info = {"method": "adaptive", "inner": info.get("method", "full")}
    score = _Scorer(forward, params)
    rows, cols = grid.rows, grid.cols
    step = _first_step(rows, cols)
    lr, lc = np.meshgrid(lattice(rows, step), lattice(cols, step), indexing="ij")
    cells = np.sort(np.ravel_multi_index((lr.ravel(), lc.ravel()), (rows, cols)))
    probs = score(cells, with_base=True)
    base, probs = probs[0], probs[1:]
    result = OcclusionResult(
        probabilities=np.full((rows, cols, probs.shape[1]), np.nan, np.float32),
        base_probabilities=base,
        computed=np.zeros((rows, cols), bool),
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
    flat_p = result.probabilities.reshape(-1, result.num_classes)
    flat_p[cells] = probs
    exact = np.zeros((rows, cols), bool)
    exact.ravel()[cells] = True
    known = exact.copy()
    # Watch the unoccluded image's class: its sensitivity is the map people read.
    target = int(np.argmax(base))
    scale = float(np.ptp(probs[:, target]))
    _report(progress, result, known, exact, score, info)
    yield result
    limit = tolerance * max(scale, 1e-6)
    error = np.full((rows, cols), np.inf)  # nothing measured yet: the first level refines all
    while step >= 2 and not known.all():
        if cancel is not None and cancel.is_set():
            return
        compute, interpolate, refined = refine(result.probabilities, known, step, error, limit)
        for r0, r1, c0, c1 in interpolate:
            sub = ~known[r0 : r1 + 1, c0 : c1 + 1]
            fill = _bilinear(result.probabilities, (r0, r1, c0, c1), grid.tops, grid.lefts)
            result.probabilities[r0 : r1 + 1, c0 : c1 + 1][sub] = fill[sub]
            known[r0 : r1 + 1, c0 : c1 + 1] |= sub
        if len(compute):
            flat_p[compute] = score(compute)
            exact.ravel()[compute] = True
            known.ravel()[compute] = True
        # How far the new cells are from what the block's corners predicted: the error an
        # interpolation of the block's sub-blocks would make, roughly.
        for r0, r1, c0, c1 in refined:
            guess = _bilinear(result.probabilities, (r0, r1, c0, c1), grid.tops, grid.lefts)
            got = result.probabilities[r0 : r1 + 1, c0 : c1 + 1]
            miss = np.abs(got[..., target] - guess[..., target])
            new = exact[r0 : r1 + 1, c0 : c1 + 1]
            error[r0 : r1 + 1, c0 : c1 + 1] = float(miss[new].max()) if new.any() else np.inf
        step //= 2
        _report(progress, result, known, exact, score, info)
        yield result
    _close_boundaries(result, exact, score)
    _measure_error(result, exact, score, info)
    _report(progress, result, known, exact, score, info)
    yield result


def _close_boundaries(result, exact, score):
    """Compute every interpolated cell that sits on a boundary of the predicted-class map,
    until no boundary touches an interpolated cell (each round can move a boundary)."""
    flat = result.probabilities.reshape(-1, result.num_classes)
    while True:
        cls = result.probabilities.argmax(-1)
        on = np.zeros(cls.shape, bool)
        rows, cols = cls[1:] != cls[:-1], cls[:, 1:] != cls[:, :-1]
        on[1:] |= rows
        on[:-1] |= rows
        on[:, 1:] |= cols
        on[:, :-1] |= cols
        todo = np.flatnonzero((on & ~exact).ravel())
        if not len(todo):
            return
        flat[todo] = score(todo)
        exact.ravel()[todo] = True


def _measure_error(result, exact, score, info):
    """Compute a seeded sample of the interpolated cells: the error there is the estimate."""
    estimated = np.flatnonzero(~exact.ravel())
    errors = {"sampled": 0, "mean_abs": 0.0, "max_abs": 0.0, "class_disagreement": 0.0}
    if len(estimated):
        n = min(len(estimated), max(4, int(np.ceil(CHECK_SHARE * len(estimated)))))
        sample = np.sort(np.random.default_rng(0).choice(estimated, n, replace=False))
        flat = result.probabilities.reshape(-1, result.num_classes)
        guess = flat[sample].copy()
        truth = score(sample)
        flat[sample] = truth
        exact.ravel()[sample] = True
        diff = np.abs(truth - guess).max(axis=1)
        errors = {
            "sampled": int(n),
            "mean_abs": float(diff.mean()),
            "max_abs": float(diff.max()),
            "class_disagreement": float(np.mean(truth.argmax(1) != guess.argmax(1))),
        }
    info["error_estimate"] = errors


def _report(progress, result, known, exact, score, info):
    result.computed[...] = known
    total = result.rows * result.cols
    info["positions_computed"] = int(exact.sum())
    info["passes_saved"] = round(total / max(1, score.passes), 3)
    info["estimated"] = known & ~exact
    if callable(progress) and not isinstance(progress, bool):
        progress(int(known.sum()), total)


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
