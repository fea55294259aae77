"""The drill-down of ``method="approximate"``: a coarse lattice, then the cells the map needs.

Three levels over the grid's cells:

1. the every-second-row-and-column lattice (:func:`~.grid.lattice`, last row and column
   included) is computed everywhere;
2. the centre of each 2x2-cell block of it (a quincunx with the lattice: half of all cells) is
   computed when the block's corners predict different classes or their watched-class values
   spread by more than ``tolerance / 5`` of the map's scale, else filled;
3. every other cell (one cell from known ones) likewise, with ``tolerance`` itself.

A filled cell gets the inverse-square-distance mean of the known cells around it (its 3x3
neighbourhood), all classes at once. The map's scale is the largest absolute change of the
watched class (the unoccluded image's class) computed so far. The lattice alone cannot reach
SSIM 0.9 on photos (benchmarks/RESULTS.md section 8: the maps carry detail at the stride's
scale), so the centres are held to a finer tolerance than the edges.
"""

from __future__ import annotations

import itertools

import numpy as np

from .grid import lattice

__all__ = ["CENTRE_SHARE", "Drill"]

#: The centres' tolerance as a share of the edges' (a centre's neighbours are two cells away).
CENTRE_SHARE = 0.2


class Drill:
    """The drill-down's state: ``first()``, then ``add()`` the scores of every ``advance()``.

    Attributes
    ----------
    probabilities : numpy.ndarray
        ``(rows, cols, K)``: computed or filled, NaN where not decided yet.
    known, exact : numpy.ndarray
        ``(rows, cols)`` bool: cells with values, and cells computed.

    Examples
    --------
    >>> from occlusion_widget.engine import make_grid
    >>> d = Drill(make_grid((12, 12), 4, 2), tolerance=0.5)
    >>> cells = d.first()
    >>> len(cells), d.grid.total
    (9, 25)
    """

    def __init__(self, grid, tolerance):
        self.grid, self.tolerance = grid, float(tolerance)
        self.probabilities: np.ndarray | None = None
        self.base: np.ndarray | None = None
        self.known = np.zeros((grid.rows, grid.cols), bool)
        self.exact = np.zeros((grid.rows, grid.cols), bool)
        self._level = 0
        self._fill: list = []

    def first(self) -> np.ndarray:
        """The lattice's cells (flat indices)."""
        r, c = lattice(self.grid.rows, 2), lattice(self.grid.cols, 2)
        return (r[:, None] * self.grid.cols + c[None, :]).ravel()

    def add(self, cells, probabilities, base=None) -> None:
        """Record computed cells (and, with the first, the unoccluded image's probabilities),
        then fill the cells of the current level that were not asked for."""
        cells = np.asarray(cells, np.int64)
        if self.probabilities is None:
            assert base is not None
            self.base = np.asarray(base, np.float32)
            k = len(self.base)
            self.probabilities = np.full((self.grid.rows, self.grid.cols, k), np.nan, np.float32)
        flat = self.probabilities.reshape(self.grid.total, -1)
        flat[cells] = probabilities
        self.known.ravel()[cells] = True
        self.exact.ravel()[cells] = True
        for cell, value in self._fill:
            flat[cell] = value
            self.known.ravel()[cell] = True
        self._fill = []

    def advance(self) -> np.ndarray:
        """The cells of the next level that must be computed (empty when the map is done);
        the level's other cells are filled by the next :meth:`add` (or now, when none is
        asked for)."""
        while self._level < 2:
            self._level += 1
            candidates = self._centres() if self._level == 1 else self._rest()
            share = CENTRE_SHARE if self._level == 1 else 1.0
            asked = self._decide(candidates, self.tolerance * share)
            if len(asked):
                return asked
            assert self.probabilities is not None  # first() was scored
            self.add(np.zeros(0, np.int64), np.zeros((0, self.probabilities.shape[2])))
        return np.zeros(0, np.int64)

    def _centres(self):
        grid = self.grid
        r, c = lattice(grid.rows, 2), lattice(grid.cols, 2)
        rows = [a + 1 for a, b in itertools.pairwise(r) if b - a == 2]
        cols = [a + 1 for a, b in itertools.pairwise(c) if b - a == 2]
        return [i * grid.cols + j for i in rows for j in cols]

    def _rest(self):
        return [int(cell) for cell in np.flatnonzero(~self.known.ravel())]

    def _decide(self, candidates, tolerance):
        """Compute a candidate whose known neighbours disagree; queue the others' fills."""
        assert self.probabilities is not None and self.base is not None
        grid, probs = self.grid, self.probabilities
        watched = int(np.argmax(self.base))
        values = probs[..., watched]
        scale = float(np.max(np.abs(self.base[watched] - values[self.exact]), initial=0.0))
        asked, self._fill = [], []
        for cell in candidates:
            i, j = divmod(int(cell), grid.cols)
            rows = slice(max(i - 1, 0), i + 2)
            cols = slice(max(j - 1, 0), j + 2)
            ii, jj = np.nonzero(self.known[rows, cols])
            ii, jj = ii + rows.start, jj + cols.start
            near = probs[ii, jj]
            spread = float(np.ptp(near[:, watched])) if len(near) else np.inf
            same = len(near) and len(set(np.argmax(near, axis=1).tolist())) == 1
            if not same or spread > tolerance * scale:
                asked.append(int(cell))
                continue
            weight = 1.0 / ((ii - i) ** 2 + (jj - j) ** 2)
            self._fill.append((int(cell), (weight[:, None] * near).sum(0) / weight.sum()))
        return np.asarray(asked, np.int64)
