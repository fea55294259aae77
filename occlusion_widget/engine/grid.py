"""Where the occluder windows are: positions, boxes, coverage and the visiting order.

Pure geometry, no model and no pixels, so that the widget can validate parameters and draw the
grid before anything runs (Captum's split between the window generator and the batching loop).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = ["Grid", "axis_starts", "lattice", "levels", "make_grid", "normalize_pair"]


def normalize_pair(value, name: str) -> tuple[int, int]:
    """Turn an int or a ``(height, width)`` pair into two positive ints.

    Parameters
    ----------
    value : int or tuple of two ints
        The size as the user gave it.
    name : str
        The parameter's name, used in the error message.

    Returns
    -------
    tuple of int
        ``(height, width)``.

    Raises
    ------
    TypeError
        When the value is not an integer or a pair of integers.
    ValueError
        When a size is zero or negative, or the pair has the wrong length.

    Examples
    --------
    >>> normalize_pair(16, "patch_size")
    (16, 16)
    >>> normalize_pair((8, 4), "stride")
    (8, 4)
    >>> normalize_pair(8.0, "patch_size")
    (8, 8)
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(np.asarray(value).ravel()) if isinstance(value, np.ndarray) else list(value)
        if len(items) != 2:
            raise ValueError(
                f"{name} must be an int or a (height, width) pair; got {value!r} "
                f"with {len(items)} values"
            )
    else:
        items = [value, value]
    out = []
    for item in items:
        # bool is an int subclass, but patch_size=True is certainly a mistake.
        if isinstance(item, (bool, np.bool_)):
            raise TypeError(f"{name} must be a number of pixels, not a bool; got {item!r}")
        if not isinstance(item, numbers.Integral):
            if not isinstance(item, numbers.Real):
                raise TypeError(
                    f"{name} must be a positive int or a (height, width) pair of positive ints; "
                    f"got {value!r}"
                )
            # 8.0 is fine (it often comes from arithmetic); 8.5 is a mistake.
            if not float(item).is_integer():
                raise TypeError(
                    f"{name} must be a whole number of pixels; got {float(item)!r} "
                    f"(round it, e.g. {name}=round(...))"
                )
            item = int(float(item))
        if int(item) <= 0:
            raise ValueError(f"{name} must be positive (at least 1 pixel); got {int(item)}")
        out.append(int(item))
    return out[0], out[1]


def axis_starts(size: int, patch: int, stride: int) -> np.ndarray:
    """Start offsets of the windows along one axis.

    Windows start every ``stride`` pixels; when the stride does not land exactly on the last
    full window, one more window is added flush with the far edge, so that every pixel is
    covered and every window keeps the full patch size.

    Parameters
    ----------
    size : int
        Image size along the axis.
    patch : int
        Window size along the axis (``1 <= patch <= size``).
    stride : int
        Step between windows (``1 <= stride <= patch``).

    Returns
    -------
    numpy.ndarray
        Sorted int64 start offsets.

    Examples
    --------
    >>> axis_starts(10, 4, 3).tolist()
    [0, 3, 6]
    >>> axis_starts(10, 4, 4).tolist()
    [0, 4, 6]
    """
    starts = np.arange(0, size - patch + 1, stride, dtype=np.int64)
    if starts[-1] != size - patch:
        starts = np.append(starts, size - patch)
    return starts


@dataclass(frozen=True)
class Grid:
    """The occluder positions for one image size, patch size and stride.

    Attributes
    ----------
    image_hw : tuple of int
        ``(height, width)`` of the image.
    patch_size, stride : tuple of int
        ``(height, width)`` of the patch and of the step.
    tops, lefts : numpy.ndarray
        Start row of each grid row and start column of each grid column.

    Examples
    --------
    >>> grid = make_grid((32, 32), 8, 4)
    >>> grid.rows, grid.cols, grid.box(1, 2)
    (7, 7, (4, 8, 8, 8))
    """

    image_hw: tuple[int, int]
    patch_size: tuple[int, int]
    stride: tuple[int, int]
    tops: np.ndarray
    lefts: np.ndarray

    @property
    def rows(self) -> int:
        """Number of grid rows."""
        return int(self.tops.size)

    @property
    def cols(self) -> int:
        """Number of grid columns."""
        return int(self.lefts.size)

    @property
    def total(self) -> int:
        """Number of positions, ``rows * cols``."""
        return self.rows * self.cols

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of the patch at grid cell ``(row, col)``.

        Examples
        --------
        >>> make_grid((10, 10), 4, 3).box(2, 0)
        (6, 0, 4, 4)
        """
        row, col = _check_cell(row, col, self.rows, self.cols)
        return (int(self.tops[row]), int(self.lefts[col]), *self.patch_size)

    def coverage(self) -> np.ndarray:
        """How many windows cover each pixel, an ``(H, W)`` int array (never 0).

        Examples
        --------
        >>> int(make_grid((4, 4), 2, 2).coverage().max())
        1
        """
        h, w = self.image_hw
        ph, pw = self.patch_size
        row_cov = np.zeros(h + 1, np.int64)
        np.add.at(row_cov, self.tops, 1)
        np.add.at(row_cov, self.tops + ph, -1)
        col_cov = np.zeros(w + 1, np.int64)
        np.add.at(col_cov, self.lefts, 1)
        np.add.at(col_cov, self.lefts + pw, -1)
        # A window covers a pixel when both its row span and its column span do, so the 2-D
        # count is the outer product of the 1-D counts.
        return np.outer(np.cumsum(row_cov)[:h], np.cumsum(col_cov)[:w])

    def window_mean(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """``(H, W)`` float32: at each pixel, the mean of ``values`` over the valid windows
        covering it (NaN where none does).

        Parameters
        ----------
        values : numpy.ndarray
            ``(rows, cols)``, one value per window.
        valid : numpy.ndarray
            ``(rows, cols)`` bool, which windows count.

        Examples
        --------
        >>> grid = make_grid((3, 3), 2, 1)
        >>> grid.window_mean(np.array([[4.0, 0.0], [0.0, 0.0]]), np.ones((2, 2), bool))[0]
        array([4., 2., 0.], dtype=float32)
        """
        values = np.where(valid, values, 0.0).astype(np.float64)
        h, w = self.image_hw
        ph, pw = self.patch_size
        total = np.zeros((h + 1, w + 1))
        count = np.zeros((h + 1, w + 1))
        # A 2-D difference array: +v at the window's top-left, -v past its other corners,
        # then two cumulative sums paint every window in O(positions + pixels).
        tops, lefts = np.meshgrid(self.tops, self.lefts, indexing="ij")
        for dy, dx, sign in ((0, 0, 1), (ph, 0, -1), (0, pw, -1), (ph, pw, 1)):
            np.add.at(total, (tops + dy, lefts + dx), sign * values)
            np.add.at(count, (tops + dy, lefts + dx), sign * valid)
        total = total.cumsum(0).cumsum(1)[:h, :w]
        count = np.rint(count.cumsum(0).cumsum(1)[:h, :w])
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return out.astype(np.float32)

    def order(self) -> np.ndarray:
        """Flat cell indices (``row * cols + col``) in coarse-to-fine visiting order.

        The lattices of :func:`levels`: every ``2**k``-th row and column first (plus the edge
        row and column), then the cells that halve the spacing, down to every cell, so that a
        partial result already spans the whole image. ``method="adaptive"`` visits the same
        lattices but skips the cells it can interpolate; an exact sweep starts from this order
        and moves the adaptive drill-down's cells forward as it learns which they are
        (:class:`~.refinement.SweepOrder`). Each cell appears exactly once; row-major within a
        level.

        Examples
        --------
        >>> make_grid((5, 5), 1, 1).order()[:4].tolist()
        [0, 2, 4, 10]
        """
        level = np.full((self.rows, self.cols), -1, np.int64)
        for lvl, step in enumerate(levels(self.rows, self.cols)):
            sel = np.zeros_like(level, bool)
            sel[np.ix_(lattice(self.rows, step), lattice(self.cols, step))] = True
            level[sel & (level < 0)] = lvl
        return np.argsort(level.ravel(), kind="stable")


def lattice(n: int, step: int) -> np.ndarray:
    """Indices ``0, step, 2 * step, ...`` along an axis of ``n`` cells, and the last one.

    Examples
    --------
    >>> lattice(10, 4).tolist()
    [0, 4, 8, 9]
    """
    idx = np.arange(0, n, step)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def levels(rows: int, cols: int) -> list[int]:
    """The lattice spacings of the coarse-to-fine order, coarsest first, ending at 1.

    The coarsest is the largest power of two at most half the longer side, so that the first
    level already has a few cells along it.

    Examples
    --------
    >>> levels(29, 29)
    [8, 4, 2, 1]
    >>> levels(1, 1)
    [1]
    """
    step = 1
    while step * 2 <= max(rows, cols) // 2:
        step *= 2
    out = [step]
    while out[-1] > 1:
        out.append(out[-1] // 2)
    return out


def _check_cell(row, col, rows, cols):
    for name, value, size in (("row", row, rows), ("col", col, cols)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an int; got {value!r}")
        if not -size <= int(value) < size:
            raise IndexError(f"{name} {value} is out of range for a grid of {rows} x {cols}")
    return int(row) % rows, int(col) % cols


def make_grid(image_hw, patch_size=16, stride=8) -> Grid:
    """Lay out the occluder windows over an image.

    Parameters
    ----------
    image_hw : tuple of int
        ``(height, width)`` of the image (extra trailing dimensions are ignored).
    patch_size : int or tuple of int
        Occluder size, ``(height, width)``; an int means a square.
    stride : int or tuple of int
        Step between windows; must not exceed the patch size, or pixels would be skipped.

    Returns
    -------
    Grid

    Raises
    ------
    ValueError
        A size that is zero or negative, a patch larger than the image, or a stride larger than
        the patch. The message says what was given and what is allowed.

    Examples
    --------
    >>> grid = make_grid((224, 224), 16, 8)
    >>> grid.rows, grid.cols
    (27, 27)
    """
    h, w = int(image_hw[0]), int(image_hw[1])
    ph, pw = normalize_pair(patch_size, "patch_size")
    sh, sw = normalize_pair(stride, "stride")
    if ph > h or pw > w:
        raise ValueError(
            f"patch_size {(ph, pw)} (height, width) cannot exceed the image size {(h, w)}; "
            f"use a patch of at most {(h, w)}"
        )
    if sh > ph or sw > pw:
        raise ValueError(
            f"stride {(sh, sw)} is larger than patch_size {(ph, pw)}: the windows would leave "
            f"uncovered gaps; use a stride no larger than the patch"
        )
    return Grid(
        image_hw=(h, w),
        patch_size=(ph, pw),
        stride=(sh, sw),
        tops=axis_starts(h, ph, sh),
        lefts=axis_starts(w, pw, sw),
    )
