"""The drill-down order of ``method="adaptive"``, as a state machine any sweep can follow.

:class:`Refinement` decides which cells to compute next from the cells computed so far: the
coarsest lattice of :func:`~.grid.levels` first, then, level by level, the next lattice's
cells inside the blocks worth refining (:func:`refine`), then the interpolated cells next to a
computed cell of another predicted class, until none is left. It never looks at a cell it has
not been given, and it accepts cells it did not ask for (a full sweep computes them anyway).

Two sweeps follow it:

* ``method="adaptive"`` (:mod:`.adaptive`) computes only the cells it asks for and
  interpolates the rest;
* every exact sweep (``"full"``, ``"incremental"``) visits its cells in the same order first
  (:class:`SweepOrder`), then the rest, so the map a preview shows early is the adaptive one.
"""

from __future__ import annotations

import itertools

import numpy as np

from .grid import lattice, levels

__all__ = ["TOLERANCE", "Refinement", "SweepOrder", "bilinear", "refine", "trusted_step"]

#: A block is interpolated when its corners missed their parent's interpolation by at most
#: this share of the largest absolute sensitivity seen so far.
TOLERANCE = 0.15


def refine(probabilities, known, step, miss, limit, forced=False):
    """One drill-down level: which cells to compute next and which blocks to interpolate.

    A block of the ``step`` lattice is refined (the next lattice's cells inside it are
    computed) when ``forced``, when its four corners predict different classes, or when the
    largest ``miss`` measured at its corners exceeds ``limit`` (a block with no measured corner
    is refined); otherwise it is interpolated.

    Parameters
    ----------
    probabilities : numpy.ndarray
        ``(rows, cols, K)`` probabilities, or ``(rows, cols)`` predicted classes; valid where
        ``known``.
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
    classes = np.asarray(probabilities)
    if classes.ndim == 3:
        classes = classes.argmax(-1)
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
            same_class = len(set(classes[rr, cc].tolist())) == 1
            measured = miss[rr, cc][~np.isnan(miss[rr, cc])]
            if not forced and same_class and len(measured) and measured.max() <= limit:
                interpolate.append(block)
                continue
            refined.append(block)
            rs = r_next[(r_next >= r0) & (r_next <= r1)]
            cs = c_next[(c_next >= c0) & (c_next <= c1)]
            want[np.ix_(rs, cs)] = True
    return np.flatnonzero(want & ~known), interpolate, refined


def bilinear(probabilities, block, tops, lefts):
    """Bilinear interpolation over a block from its corners, in pixel coordinates (the last,
    flush row or column of a grid is nearer its neighbour than the stride).

    Examples
    --------
    >>> p = np.zeros((3, 3, 1)); p[0, 2] = p[2, 2] = 1
    >>> bilinear(p, (0, 2, 0, 2), np.array([0, 4, 8]), np.array([0, 4, 6]))[1, :, 0].tolist()
    [0.0, 0.6666666666666666, 1.0]
    """
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


class Refinement:
    """The adaptive drill-down's state: what is computed, what is interpolated, what next.

    Call :meth:`first` for the coarsest lattice, :meth:`add` with every batch of computed
    cells (the unoccluded image's probabilities with the first, as ``base``), and
    :meth:`advance` when the cells it asked for are in (:attr:`waiting` is False): it returns
    the next cells to compute, empty when the drill-down is over. ``exact`` marks the computed
    cells and ``known`` the computed or interpolated ones; ``classes`` and ``watched`` (the
    unoccluded image's class's probability) hold their values. With ``keep=True``,
    ``probabilities`` holds every class's (NaN where unknown); a sweep that keeps its own
    result passes ``keep=False`` and pays for two maps only.

    Examples
    --------
    >>> from occlusion_widget.engine.grid import make_grid
    >>> grid = make_grid((64, 64), 8, 2)
    >>> ref = Refinement(grid)
    >>> first = ref.first()
    >>> flat = np.ones((grid.total, 2)) * [0.9, 0.1]  # a model that sees nothing
    >>> ref.add(first, flat[first], base=np.array([0.9, 0.1]))
    >>> while len(cells := ref.advance()):
    ...     ref.add(cells, flat[cells])
    >>> int(ref.exact.sum()), grid.total, bool(ref.known.all())
    (67, 841, True)
    """

    def __init__(self, grid, tolerance=None, keep=True):
        self.grid = grid
        self.tolerance = TOLERANCE if tolerance is None else tolerance
        self.keep = keep
        rows, cols = grid.rows, grid.cols
        self.steps = levels(rows, cols)
        self.trust = trusted_step(grid)
        self.level = 0  # index into steps of the lattice whose cells were asked for last
        self.exact = np.zeros((rows, cols), bool)
        self.known = np.zeros((rows, cols), bool)
        self.classes = np.full((rows, cols), -1, np.int64)
        self.watched = np.full((rows, cols), np.nan, np.float32)
        self.miss = np.full((rows, cols), np.nan)
        self._added = np.zeros((rows, cols), bool)  # computed since the last advance()
        self.probabilities: np.ndarray | None = None
        self.base: np.ndarray | None = None
        self.target = 0
        self.asked = np.zeros(0, np.int64)
        self.refined: list[tuple[int, int, int, int]] = []
        self.finished = False

    def first(self) -> np.ndarray:
        """Flat indices of the coarsest lattice (a prefix of :meth:`Grid.order`)."""
        rows, cols, step = self.grid.rows, self.grid.cols, self.steps[0]
        mask = np.zeros((rows, cols), bool)
        mask[np.ix_(lattice(rows, step), lattice(cols, step))] = True
        self.asked = np.flatnonzero(mask)
        return self.asked

    def add(self, cells, probabilities, base=None) -> None:
        """Record computed cells (any cells, asked for or not): ``(n,)`` flat indices and
        their ``(n, K)`` probabilities."""
        if base is not None:
            self.base = np.asarray(base)
            # The unoccluded image's class: its map is the one people read.
            self.target = int(np.argmax(self.base))
        cells = np.asarray(cells, np.int64)
        if not len(cells):
            return
        probabilities = np.asarray(probabilities)
        if self.keep:
            if self.probabilities is None:
                shape = (self.grid.rows, self.grid.cols, probabilities.shape[-1])
                self.probabilities = np.full(shape, np.nan, np.float32)
            self.probabilities.reshape(-1, probabilities.shape[-1])[cells] = probabilities
        self.classes.ravel()[cells] = np.argmax(probabilities, axis=1)
        self.watched.ravel()[cells] = probabilities[:, self.target]
        for mask in (self.exact, self.known, self._added):
            mask.ravel()[cells] = True

    @property
    def waiting(self) -> bool:
        """Whether some cell asked for is not computed yet."""
        return not self.exact.ravel()[self.asked].all()

    def advance(self) -> np.ndarray:
        """The next cells to compute (flat indices, none computed yet); empty once done."""
        while not self.finished:
            if self.in_levels:
                cells = self.next_level()
            else:
                cells = self._boundaries()
                if not len(cells):
                    self.finished = True
            if len(cells):
                self.asked = cells
                return cells
        self.asked = np.zeros(0, np.int64)
        return self.asked

    @property
    def in_levels(self) -> bool:
        """Whether a lattice level is still to be decided (before the boundary rounds)."""
        return self.level < len(self.steps) - 1

    def next_level(self) -> np.ndarray:
        """Decide the next lattice level: interpolate the blocks that may be, and return the
        cells to compute in the others (maybe none). :meth:`advance` calls it."""
        assert self.base is not None, "add() the first lattice, with base, first"
        self._measure_misses()
        step = self.steps[self.level]
        # The map's own scale: the largest change of the watched class seen so far.
        scale = float(np.abs(self.base[self.target] - self.watched[self.exact]).max(initial=0.0))
        limit = self.tolerance * max(scale, 1e-6)
        compute, interpolate, refined = refine(
            self.classes, self.known, step, self.miss, limit, forced=step > self.trust
        )
        for block in interpolate:
            self._interpolate(block)
        self.refined = refined
        self.level += 1
        # An edge shared with an interpolated block is interpolated too (bilinear along an
        # edge depends on its two corners only, so both blocks agree on it): an interpolated
        # block never holds a computed cell but its corners, which lets a preview replay the
        # drill-down from the computed cells alone (js/state/preview.ts).
        return compute[~self.known.ravel()[compute]]

    def _interpolate(self, block) -> None:
        grid, (r0, r1, c0, c1) = self.grid, block
        rows, cols = slice(r0, r1 + 1), slice(c0, c1 + 1)
        sub = ~self.known[rows, cols]
        if self.probabilities is not None:
            fill = bilinear(self.probabilities, block, grid.tops, grid.lefts)
            self.probabilities[rows, cols][sub] = fill[sub]
            self.classes[rows, cols][sub] = fill[sub].argmax(-1)
            self.watched[rows, cols][sub] = fill[sub][:, self.target]
        else:
            # The corners share a class (else the block is refined), and so does any mix.
            fill = bilinear(self.watched[..., None], block, grid.tops, grid.lefts)[..., 0]
            self.watched[rows, cols][sub] = fill[sub]
            self.classes[rows, cols][sub] = self.classes[r0, c0]
        self.known[rows, cols] |= sub

    def _measure_misses(self) -> None:
        """How far each new cell of the blocks refined last is from what the block's corners
        predicted: the cells computed since the last :meth:`advance` on the finer lattice
        (and, in a full sweep, cells computed there earlier than asked)."""
        grid = self.grid
        if self.refined:
            step = self.steps[self.level - 1]
            half = max(step // 2, 1)
            old = np.zeros_like(self.exact)
            old[np.ix_(lattice(grid.rows, step), lattice(grid.cols, step))] = True
            fine = np.zeros_like(self.exact)
            fine[np.ix_(lattice(grid.rows, half), lattice(grid.cols, half))] = True
            new = fine & ~old & self.exact & (self._added | np.isnan(self.miss))
            for block in self.refined:
                r0, r1, c0, c1 = block
                guess = bilinear(self.watched[..., None], block, grid.tops, grid.lefts)[..., 0]
                here = self.watched[r0 : r1 + 1, c0 : c1 + 1]
                inside = new[r0 : r1 + 1, c0 : c1 + 1]
                self.miss[r0 : r1 + 1, c0 : c1 + 1][inside] = np.abs(here - guess)[inside]
        self.refined = []
        self._added[...] = False

    def _boundaries(self) -> np.ndarray:
        """Interpolated cells next to a computed cell of another predicted class.

        Interpolated cells never border each other across a class change (a block's corners
        share one class, and so does every convex mix of them), so a boundary always has a
        computed cell on one side: this follows the real boundaries only.
        """
        self._measure_misses()
        cls, exact = self.classes, self.exact
        todo = np.zeros_like(exact)
        for axis in (0, 1):
            lo, hi = [slice(None)] * 2, [slice(None)] * 2
            lo[axis], hi[axis] = slice(1, None), slice(None, -1)
            a, b = tuple(lo), tuple(hi)
            differs = cls[a] != cls[b]
            todo[a] |= differs & exact[b]
            todo[b] |= differs & exact[a]
        return np.flatnonzero((todo & ~exact & self.known).ravel())


class SweepOrder:
    """An exact sweep's visiting order that follows :class:`Refinement` first.

    It owns ``order`` (flat cell indices, every cell once), rewriting only the part after
    ``frozen`` (entries already handed to a batch): each time the cells the drill-down asked
    for are all computed, it moves the next ones to the front of the rest. Once the
    drill-down is over, the rest follows in :meth:`Grid.order`'s coarse-to-fine order.

    Examples
    --------
    >>> from occlusion_widget.engine.grid import make_grid
    >>> grid = make_grid((16, 16), 4, 2)
    >>> order = SweepOrder(grid)
    >>> sorted(order.order.tolist()) == list(range(grid.total))
    True
    """

    def __init__(self, grid, tolerance=None):
        self.refinement = Refinement(grid, tolerance, keep=False)
        first = self.refinement.first()
        rest = grid.order()
        self.order = np.concatenate([first, rest[~np.isin(rest, first)]])
        #: ``order[:decided]`` will not move: the cells asked for so far end there. A sweep
        #: builds a batch ahead only from this part, so that it does not fill the batch after
        #: a request with cells the next request would not have chosen.
        self.decided = len(first)

    def record(self, cells, probabilities, frozen, base=None) -> None:
        """Record a computed batch; ``order[:frozen]`` was handed to batches already."""
        ref = self.refinement
        ref.add(cells, probabilities, base=base)
        if not ref.finished and not ref.waiting:
            asked = ref.advance()
            tail = self.order[frozen:]
            first = np.isin(tail, asked)
            tail[:] = np.concatenate([tail[first], tail[~first]])  # a stable move to the front
            # Asked cells already handed to a batch (before frozen) arrive with it.
            self.decided = frozen + int(first.sum())
        if ref.finished:
            self.decided = len(self.order)
