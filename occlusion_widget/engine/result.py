"""The probabilities at every occluder position, and everything people derive from them."""

from __future__ import annotations

import json
import numbers
import os

import numpy as np

from .grid import Grid

__all__ = ["OcclusionResult"]

_FORMAT_VERSION = 1


class OcclusionResult:
    """Class probabilities for every occluder position of one image.

    Built by :func:`occlusion_map` / :func:`iter_occlusion`; while a sweep streams, the same
    object is filled in place and ``probabilities`` holds NaN where nothing was computed yet.

    Attributes
    ----------
    probabilities : numpy.ndarray
        ``(rows, cols, K)`` float32, the class probabilities with the patch at each position.
    base_probabilities : numpy.ndarray
        ``(K,)`` float32, the probabilities for the unoccluded image.
    computed : numpy.ndarray
        ``(rows, cols)`` bool, which positions have been scored.
    image, baseline : numpy.ndarray
        ``(H, W, C)`` float32 raw-space image as occluded, and the fill image.
    value_range : tuple of float
        ``(lo, hi)`` display range of the raw image.
    patch_size, stride : tuple of int
        ``(height, width)``.
    tops, lefts : numpy.ndarray
        Start row / column of each grid row / column.
    baseline_name, output_kind : str
        How the baseline was described, and how the scores were read (``"probabilities"``,
        ``"softmax"``, ``"sigmoid"``, ``"sigmoid_logit"``).

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           baseline="black", progress=False)
    >>> result.rows, result.cols, result.complete
    (2, 2, True)
    >>> float(result.sensitivity(0)[0, 0])
    0.25
    """

    def __init__(
        self,
        *,
        probabilities,
        base_probabilities,
        computed,
        image,
        baseline,
        value_range,
        patch_size,
        stride,
        tops,
        lefts,
        baseline_name="",
        output_kind="",
    ):
        self.probabilities = probabilities
        self.base_probabilities = np.asarray(base_probabilities, np.float32)
        self.computed = computed
        self.image = image
        self.baseline = baseline
        self.value_range = (float(value_range[0]), float(value_range[1]))
        # The positions: rows, cols, boxes and coverage are the grid's, not re-derived here.
        self.grid = Grid(
            tuple(int(s) for s in image.shape[:2]),
            (int(patch_size[0]), int(patch_size[1])),
            (int(stride[0]), int(stride[1])),
            np.asarray(tops, np.int64),
            np.asarray(lefts, np.int64),
        )
        self.patch_size = self.grid.patch_size
        self.stride = self.grid.stride
        self.tops = self.grid.tops
        self.lefts = self.grid.lefts
        self.baseline_name = baseline_name
        self.output_kind = output_kind
        # How the sweep computed the positions (method, incremental share, adaptive error).
        self.info = {}

    # -- shape and progress ------------------------------------------------------------------

    @property
    def rows(self) -> int:
        """Number of grid rows."""
        return self.grid.rows

    @property
    def cols(self) -> int:
        """Number of grid columns."""
        return self.grid.cols

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, C)`` of :attr:`image`."""
        return tuple(int(s) for s in self.image.shape)

    @property
    def num_classes(self) -> int:
        """``K``, the number of classes (2 for a single sigmoid output)."""
        return int(self.base_probabilities.shape[0])

    @property
    def base_class(self) -> int:
        """The unoccluded image's predicted class, the argmax of :attr:`base_probabilities`."""
        return int(np.argmax(self.base_probabilities))

    @property
    def total(self) -> int:
        """Number of positions, ``rows * cols``."""
        return self.grid.total

    @property
    def done(self) -> int:
        """Number of positions computed so far."""
        return int(np.count_nonzero(self.computed))

    @property
    def complete(self) -> bool:
        """Whether every position has been computed."""
        return self.done == self.total

    def __repr__(self) -> str:
        return (
            f"OcclusionResult({self.rows}x{self.cols} positions, {self.num_classes} classes, "
            f"image {self.image_shape}, patch {self.patch_size}, stride {self.stride}, "
            f"baseline {self.baseline_name!r}, {self.done}/{self.total} done)"
        )

    # -- geometry ----------------------------------------------------------------------------

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of the patch at grid cell ``(row, col)``.

        Examples
        --------
        >>> result.box(0, 1)  # doctest: +SKIP
        (0, 8, 16, 16)
        """
        return self.grid.box(row, col)

    def occluded_image(self, row: int, col: int) -> np.ndarray:
        """The exact raw-space ``(H, W, C)`` image that was fed to ``preprocess`` at a position.

        Examples
        --------
        >>> result.occluded_image(0, 0).shape  # doctest: +SKIP
        (224, 224, 3)
        """
        top, left, h, w = self.box(row, col)
        out = self.image.copy()
        out[top : top + h, left : left + w] = self.baseline[top : top + h, left : left + w]
        return out

    # -- per-class maps ----------------------------------------------------------------------

    def _target(self, target) -> int:
        if target is None:
            return self.base_class
        if isinstance(target, bool) or not isinstance(target, numbers.Integral):
            raise TypeError(f"target must be a class index (int); got {target!r}")
        if not 0 <= int(target) < self.num_classes:
            raise ValueError(
                f"target {target} is out of range: the model has {self.num_classes} classes "
                f"(0 to {self.num_classes - 1})"
            )
        return int(target)

    def probability(self, target=None) -> np.ndarray:
        """``(rows, cols)`` probability of ``target`` with the patch at each position.

        Low values mark regions the class needs (the classic Kaggle heat map). ``target``
        defaults to :attr:`base_class`.

        Examples
        --------
        >>> result.probability(386).shape  # doctest: +SKIP
        (27, 27)
        """
        return self.probabilities[:, :, self._target(target)].copy()

    def sensitivity(self, target=None) -> np.ndarray:
        """``(rows, cols)`` drop in ``target``'s probability: ``base - occluded``.

        Positive means the covered region mattered for the class; NaN where not computed.

        Examples
        --------
        >>> result.sensitivity().max()  # doctest: +SKIP
        0.71
        """
        t = self._target(target)
        return self.base_probabilities[t] - self.probabilities[:, :, t]

    def attribution(self, target=None) -> np.ndarray:
        """``(H, W)`` per-pixel attribution: the mean sensitivity of the windows covering it.

        Overlapping windows are averaged, as Captum's ``Occlusion`` does. Only computed
        windows count; a pixel no computed window covers is NaN.

        Examples
        --------
        >>> result.attribution(386).shape  # doctest: +SKIP
        (224, 224)
        """
        sens = self.sensitivity(target).astype(np.float64)
        ok = self.computed & np.isfinite(sens)
        values = np.where(ok, sens, 0.0)
        h, w = self.image.shape[:2]
        ph, pw = self.patch_size
        total = np.zeros((h + 1, w + 1))
        count = np.zeros((h + 1, w + 1))
        # A 2-D difference array: +v at the window's top-left, -v past its other corners,
        # then two cumulative sums paint every window in O(positions + pixels).
        tops, lefts = np.meshgrid(self.tops, self.lefts, indexing="ij")
        for dy, dx, sign in ((0, 0, 1), (ph, 0, -1), (0, pw, -1), (ph, pw, 1)):
            np.add.at(total, (tops + dy, lefts + dx), sign * values)
            np.add.at(count, (tops + dy, lefts + dx), sign * ok)
        total = total.cumsum(0).cumsum(1)[:h, :w]
        count = np.rint(count.cumsum(0).cumsum(1)[:h, :w])
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return out.astype(np.float32)

    # -- predicted classes -------------------------------------------------------------------

    def predicted_classes(self) -> np.ndarray:
        """``(rows, cols)`` int argmax class at each position, -1 where not computed.

        Examples
        --------
        >>> result.predicted_classes()[0, 0]  # doctest: +SKIP
        386
        """
        filled = np.where(np.isfinite(self.probabilities), self.probabilities, -np.inf)
        classes = np.argmax(filled, axis=2).astype(np.int64)
        classes[~self.computed] = -1
        return classes

    def class_counts(self) -> dict[int, int]:
        """Class -> number of computed positions predicting it, most frequent first.

        Ties are ordered by class index.

        Examples
        --------
        >>> result.class_counts()  # doctest: +SKIP
        {386: 700, 101: 29}
        """
        classes = self.predicted_classes()
        values, counts = np.unique(classes[classes >= 0], return_counts=True)
        order = np.lexsort((values, -counts))
        return {int(values[i]): int(counts[i]) for i in order}

    def flips(self) -> np.ndarray:
        """``(rows, cols)`` bool: computed positions whose predicted class differs from
        :attr:`base_class`.

        Examples
        --------
        >>> int(result.flips().sum())  # doctest: +SKIP
        29
        """
        return self.computed & (self.predicted_classes() != self.base_class)

    # -- persistence -------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the arrays and parameters to one ``.npz`` file (reload with :meth:`load`).

        Examples
        --------
        >>> result.save("elephant_occlusion.npz")  # doctest: +SKIP
        """
        meta = {
            "format_version": _FORMAT_VERSION,
            "value_range": list(self.value_range),
            "patch_size": list(self.patch_size),
            "stride": list(self.stride),
            "baseline_name": self.baseline_name,
            "output_kind": self.output_kind,
        }
        with open(path, "wb") as fh:  # an open file stops numpy from appending ".npz"
            np.savez_compressed(
                fh,
                probabilities=self.probabilities,
                base_probabilities=self.base_probabilities,
                computed=self.computed,
                image=self.image,
                baseline=self.baseline,
                tops=self.tops,
                lefts=self.lefts,
                meta=np.array(json.dumps(meta)),
            )

    @classmethod
    def load(cls, path) -> OcclusionResult:
        """Read a result written by :meth:`save`; the model is not needed.

        Examples
        --------
        >>> import occlusion_widget as ow
        >>> result = ow.OcclusionResult.load("elephant_occlusion.npz")  # doctest: +SKIP
        """
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no saved occlusion result at {os.fspath(path)!r}")
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format_version", 0) > _FORMAT_VERSION:
                raise ValueError(
                    f"{os.fspath(path)!r} was saved by a newer occlusion_widget "
                    f"(format {meta['format_version']}); upgrade to read it"
                )
            return cls(
                probabilities=data["probabilities"],
                base_probabilities=data["base_probabilities"],
                computed=data["computed"],
                image=data["image"],
                baseline=data["baseline"],
                tops=data["tops"],
                lefts=data["lefts"],
                value_range=tuple(meta["value_range"]),
                patch_size=tuple(meta["patch_size"]),
                stride=tuple(meta["stride"]),
                baseline_name=meta.get("baseline_name", ""),
                output_kind=meta.get("output_kind", ""),
            )
