"""The probabilities at every occluder position, and everything people derive from them."""

from __future__ import annotations

import numpy as np

from .compose import compose
from .flat import flat_note
from .grid import Grid
from .result_classes import ClassesMixin

__all__ = ["OcclusionResult"]


class OcclusionResult(ClassesMixin):
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
    mode : str
        ``"occlude"`` (each image hid the patch) or ``"reveal"`` (each image showed only the
        patch, the baseline everywhere else). Files saved before modes existed load as
        ``"occlude"``.
    baseline_probabilities : numpy.ndarray or None
        ``(K,)`` float32, the probabilities for the all-baseline image (scored in reveal mode,
        NaN until its batch has run; None in occlude mode).

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
        mode="occlude",
        baseline_probabilities=None,
    ):
        self.probabilities = probabilities
        self.base_probabilities = np.asarray(base_probabilities, np.float32)
        self.computed = computed
        self.image = image
        self.baseline = baseline
        self.value_range = (float(value_range[0]), float(value_range[1]))
        # The positions: rows, cols, boxes and coverage are the grid's, not re-derived here.
        self.grid = Grid(
            (int(image.shape[0]), int(image.shape[1])),
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
        if mode not in ("occlude", "reveal"):
            raise ValueError(f"mode must be 'occlude' or 'reveal'; got {mode!r}")
        self.mode = mode
        if baseline_probabilities is None and mode == "reveal":
            baseline_probabilities = np.full(self.base_probabilities.shape, np.nan)
        if baseline_probabilities is not None:
            baseline_probabilities = np.array(baseline_probabilities, np.float32)
        self.baseline_probabilities = baseline_probabilities
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
        h, w, c = (int(s) for s in self.image.shape)
        return h, w, c

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
        mode = "reveal mode, " if self.mode == "reveal" else ""
        return (
            f"OcclusionResult({self.rows}x{self.cols} positions, {self.num_classes} classes, "
            f"image {self.image_shape}, patch {self.patch_size}, stride {self.stride}, "
            f"baseline {self.baseline_name!r}, {mode}{self.done}/{self.total} done"
            f"{', approximate' if self.approximation_note() else ''})"
        )

    def approximation_note(self) -> str | None:
        """What an approximate sweep (``method="approximate"``) approximated, and the error it
        measured on its exactly computed sample; None for an exact result.

        Examples
        --------
        >>> print(result.approximation_note())
        None
        """
        from .methods import approximation_note

        return approximation_note(self.info, self.total)

    # -- geometry ----------------------------------------------------------------------------

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of the patch at grid cell ``(row, col)``.

        Examples
        --------
        >>> result.box(0, 1)
        (0, 4, 8, 8)
        """
        return self.grid.box(row, col)

    def occluded_image(self, row: int, col: int) -> np.ndarray:
        """The exact raw-space ``(H, W, C)`` image that was fed to ``preprocess`` at a position.

        In occlude mode the image with the patch filled by the baseline; in reveal mode the
        baseline with only the patch showing the image.

        Examples
        --------
        >>> result.occluded_image(0, 0)[:, :, 0].mean()
        np.float32(0.75)
        """
        return compose(self.image, self.baseline, self.box(row, col), self.mode)

    # -- per-class maps ----------------------------------------------------------------------

    def base_probability(self, target=None) -> float:
        """The unoccluded image's probability of ``target`` (a group's summed).

        Examples
        --------
        >>> round(result.base_probability([1, 2]), 3)
        0.9
        """
        return float(self.base_probabilities[list(self.classes_of(target))].sum())

    def probability(self, target=None) -> np.ndarray:
        """``(rows, cols)`` probability of ``target`` with the patch at each position.

        Low values mark regions the class needs (the classic Kaggle heat map). ``target``
        defaults to :attr:`base_class`; a group's probabilities are summed.

        Examples
        --------
        >>> result.probability(1).round(2)
        array([[0. , 0.4, 0.8],
               [0.4, 0.6, 0.8],
               [0.8, 0.8, 0.8]], dtype=float32)
        """
        classes = self.classes_of(target)
        if len(classes) == 1:
            return self.probabilities[:, :, classes[0]].copy()
        return self.probabilities[:, :, list(classes)].sum(axis=2)

    def sensitivity(self, target=None) -> np.ndarray:
        """``(rows, cols)`` how much the patch adds to ``target``'s probability.

        Both modes measure the patch's own contribution, the probability with the patch's
        pixels minus the probability with the baseline in their place, in two contexts:

        - occlude: ``base - occluded``, the drop when the patch is hidden from the whole image;
        - reveal: ``revealed - baseline_probabilities``, the gain when only the patch is shown
          over the all-baseline image: positive means the patch alone is evidence for the class.

        So positive always means "this region speaks for the class", and a model that adds up
        its evidence linearly gives the same map in both modes. NaN where not computed. A group's
        probabilities are summed first.

        Examples
        --------
        >>> import occlusion_widget as ow
        >>> def model(batch):  # class 1 = brightness of the top-left 4x4 corner
        ...     p = batch[:, :4, :4].mean(axis=(1, 2, 3))
        ...     return np.stack([1 - p, p], axis=1)
        >>> shown = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
        ...                          baseline="black", progress=False, mode="reveal")
        >>> shown.sensitivity(1).tolist()
        [[1.0, 0.0], [0.0, 0.0]]
        """
        probability = self.probability(target)
        if self.mode == "reveal":
            empty = float(self.baseline_probabilities[list(self.classes_of(target))].sum())
            return (probability - np.float32(empty)).astype(np.float32)
        return (np.float32(self.base_probability(target)) - probability).astype(np.float32)

    def max_drop(self, target=None) -> float:
        """The largest drop of ``target``'s probability over the computed positions (NaN
        when none is computed; negative when every patch raised it).

        Examples
        --------
        >>> round(result.max_drop(1), 3), round(result.max_drop(0), 3)
        (0.8, 0.0)
        """
        values = self.sensitivity(target)[self.computed]
        values = values[np.isfinite(values)]
        return float(values.max()) if values.size else float("nan")

    def flat_note(self, target=None, labels=None) -> str | None:
        """The sentence to show when the map says nothing: no computed patch changes the
        target's probability (up or down) by more than :data:`~.flat.FLAT_BELOW`; None
        otherwise. One function writes it for every view (:func:`.flat.flat_note`).

        Examples
        --------
        >>> print(result.flat_note(1))
        None
        >>> result.flat_note(0, labels=["sky", "square", "other"])
        'no 8×8 patch changes P(sky) by more than 0.001'
        """
        values = np.where(self.computed, self.sensitivity(target), np.nan)
        return flat_note(values, self.patch_size, self.target_name(target, labels), self.mode)

    def attribution(self, target=None) -> np.ndarray:
        """``(H, W)`` per-pixel attribution: the mean sensitivity of the windows covering it.

        Overlapping windows are averaged, as Captum's ``Occlusion`` does. Only computed
        windows count; a pixel no computed window covers is NaN.

        Examples
        --------
        >>> result.attribution(1).shape
        (16, 16)
        """
        sens = self.sensitivity(target).astype(np.float64)
        return self.grid.window_mean(sens, self.computed & np.isfinite(sens))

    # -- persistence -------------------------------------------------------------------------

    def save(self, path) -> None:
        """Write the arrays and parameters to one ``.npz`` file (reload with :meth:`load`).

        Examples
        --------
        >>> import os, tempfile
        >>> result.save(os.path.join(tempfile.mkdtemp(), "elephant_occlusion.npz"))
        """
        from .storage import save_result

        save_result(self, path)

    @classmethod
    def load(cls, path) -> OcclusionResult:
        """Read a result written by :meth:`save`; the model is not needed.

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ValueError
            The file is no saved result, is damaged, or its arrays disagree in shape; the
            message names the file and what is wrong.

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "result.npz")
        >>> result.save(path)
        >>> OcclusionResult.load(path).total
        9
        """
        from .storage import load_result

        return load_result(path, cls)
