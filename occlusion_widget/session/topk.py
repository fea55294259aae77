"""The k most probable classes at every grid cell, kept up to date batch by batch.

A sweep fills its result a batch at a time; :class:`TopK` ranks only the cells each batch adds,
so keeping the inspector's top-k current costs O(cells x K) over a whole sweep, not the
O(batches x cells x K log K) of ranking every cell again after every batch.
"""

from __future__ import annotations

import numpy as np

from ..engine import OcclusionResult

__all__ = ["ARGMAX_PASSES_UP_TO", "TopK", "top_classes"]

#: Up to this k, top-k takes k argmax passes (O(k K) per row); beyond it, a stable sort.
ARGMAX_PASSES_UP_TO = 32


def top_classes(probabilities: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most probable classes of each row, most probable first.

    Ties go to the lower class index, as :func:`numpy.argmax` does, so column 0 equals the
    argmax. Costs O(n k K) for k up to :data:`ARGMAX_PASSES_UP_TO`, not a sort of all K classes.

    Parameters
    ----------
    probabilities : numpy.ndarray
        ``(n, K)`` finite probabilities.
    k : int
        How many classes per row (at most K are returned).

    Returns
    -------
    indices : numpy.ndarray
        ``(n, min(k, K))`` int32.
    values : numpy.ndarray
        ``(n, min(k, K))`` float32.

    Examples
    --------
    >>> idx, p = top_classes(np.array([[0.125, 0.25, 0.25, 0.25]]), 2)
    >>> idx.tolist(), p.tolist()
    ([[1, 2]], [[0.25, 0.25]])
    """
    probs = np.asarray(probabilities)
    n, num_classes = probs.shape
    k = min(int(k), num_classes)
    if k > ARGMAX_PASSES_UP_TO or k == num_classes:
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    else:
        # k passes of argmax, each taking the largest value left: argmax returns the first of
        # equal values, which is the tie rule itself. A partition would need extra work for
        # ties, and is slow on rows full of equal values (a confident softmax over 21,843
        # classes is mostly exact zeros).
        left = np.array(probs, copy=True)
        order = np.empty((n, k), np.int64)
        rows = np.arange(n)
        for place in range(k):
            order[:, place] = np.argmax(left, axis=1)
            left[rows, order[:, place]] = -np.inf
    values = np.take_along_axis(probs, order, axis=1)
    return order.astype(np.int32), values.astype(np.float32)


class TopK:
    """Top-k classes and probabilities per cell of one (possibly still filling) result.

    Parameters
    ----------
    result : OcclusionResult
        Read, never changed; the sweep may go on filling it.
    k : int
        Classes per cell (at most the class count).

    Attributes
    ----------
    indices : numpy.ndarray
        ``(rows, cols, k)`` int32, most probable first; -1 where not ranked yet.
    probabilities : numpy.ndarray
        ``(rows, cols, k)`` float32; NaN where not ranked yet.
    done : int
        Cells ranked so far.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           baseline="black", progress=False)
    >>> TopK(result, 1).indices[..., 0].tolist()
    [[0, 0], [0, 0]]
    """

    def __init__(self, result: OcclusionResult, k: int) -> None:
        self.result = result
        self.k = min(int(k), result.num_classes)
        shape = (result.rows, result.cols, self.k)
        self.indices = np.full(shape, -1, np.int32)
        self.probabilities = np.full(shape, np.nan, np.float32)
        self._seen = np.zeros(result.rows * result.cols, bool)
        self.done = 0
        self.update()

    def update(self) -> int:
        """Rank the cells computed since the last call; return how many there were.

        Examples
        --------
        >>> topk = TopK(result, 1)  # ranks every cell computed so far
        >>> topk.update(), topk.done
        (0, 9)
        """
        # The engine writes a cell's probabilities before marking it computed, so a cell read
        # as computed here has its final values.
        new = np.flatnonzero(self.result.computed.reshape(-1) & ~self._seen)
        if new.size:
            flat = self.result.probabilities.reshape(-1, self.result.num_classes)
            indices, values = top_classes(flat[new], self.k)
            self.indices.reshape(-1, self.k)[new] = indices
            self.probabilities.reshape(-1, self.k)[new] = values
            self._seen[new] = True
            self.done += int(new.size)
        return int(new.size)
