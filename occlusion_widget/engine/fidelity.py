"""Deletion and insertion curves: does the map's ranking of pixels match what the model needs?

The RISE definitions (Petsiuk et al., 2018). Deletion starts from the image and replaces the
pixels the map calls most important first with the baseline; a map that finds what the model
needs makes the target's probability fall fast (a low area under the curve). Insertion starts
from the baseline and puts the image's pixels back, most important first; a good map makes the
probability rise fast (a high area). RISE inserts into a blurred image; here both curves use the
result's own baseline unless told otherwise (``insertion_baseline="blur"`` gives RISE's).

Images are built and scored a batch at a time through the same compiled forward pass as the
sweep, so memory stays at one batch whatever ``steps`` is.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from .baselines import describe_baseline, make_baseline
from .batches import OutOfMemory as _OutOfMemory
from .batches import halve as _halve
from .batches import prepare
from .model import make_forward, to_probabilities
from .params import auto_batch_size
from .result import OcclusionResult
from .scoring import _score

__all__ = ["FidelityCurves", "curve_counts", "fidelity", "pixel_order", "trapezoid_auc"]

#: Default number of steps: the curve has ``steps + 1`` points, fractions 0, 1/steps, ..., 1.
DEFAULT_STEPS = 50
#: How far the curve's first point may be from the sweep's own score of the image before we
#: warn that the model or preprocess differs from the sweep's (probabilities; compiled and
#: eager runs of one model agree to ~1e-6, a forgotten preprocess moves them by far more).
BASE_MISMATCH = 1e-3


@dataclass(frozen=True)
class FidelityCurves:
    """Deletion and insertion curves of one map, and their areas.

    Attributes
    ----------
    fractions : numpy.ndarray
        ``(n,)`` fraction of the pixels removed (deletion) or added (insertion), 0 to 1.
    deletion, insertion : numpy.ndarray
        ``(n,)`` probability of ``target`` at each fraction.
    deletion_auc, insertion_auc : float
        Areas under the curves (trapezoid rule over ``fractions``). Lower deletion and higher
        insertion mean the map ranks the pixels the model needs first.
    target : int
        The class whose probability is followed.
    baseline_name, insertion_baseline_name : str
        What replaced the deleted pixels, and what the insertion curve starts from.

    Examples
    --------
    >>> curves = FidelityCurves(np.array([0.0, 1.0]), np.array([1.0, 0.0]),
    ...                         np.array([0.0, 1.0]), 0.5, 0.5, 1, "black", "black")
    >>> curves.deletion_auc
    0.5
    """

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    deletion_auc: float
    insertion_auc: float
    target: int
    baseline_name: str
    insertion_baseline_name: str

    def __repr__(self) -> str:
        return (
            f"FidelityCurves(target {self.target}, {self.fractions.size} points, deletion AUC "
            f"{self.deletion_auc:.4f}, insertion AUC {self.insertion_auc:.4f}, baseline "
            f"{self.baseline_name!r}, insertion from {self.insertion_baseline_name!r})"
        )


def pixel_order(result: OcclusionResult, target=None) -> np.ndarray:
    """Flat pixel indices (``row * W + col``), most important for ``target`` first.

    Importance is :meth:`OcclusionResult.attribution`, the map averaged over the windows that
    cover each pixel (positive = the region speaks for the class, in occlude and reveal mode
    alike). Ties keep raster order (a stable sort), so the order is the same on any machine.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> def model(batch):  # class 1 = brightness of the top-left 2x2 corner
    ...     p = batch[:, :2, :2].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> result = ow.occlusion_map(model, np.ones((4, 4)), patch_size=2, stride=2,
    ...                           baseline="black", progress=False)
    >>> pixel_order(result, 1)[:4].tolist()
    [0, 1, 4, 5]
    """
    importance = result.attribution(target).astype(np.float64).ravel()
    if not np.all(np.isfinite(importance)):
        raise ValueError(
            f"the result is not complete ({result.done} of {result.total} positions computed); "
            f"fidelity curves need the whole map. Let the sweep finish (or rerun it) first"
        )
    return np.argsort(-importance, kind="stable")


def curve_counts(n_pixels: int, steps: int) -> np.ndarray:
    """Pixels changed at each point of a curve: ``floor(i * n_pixels / steps)``, i = 0..steps.

    More steps than pixels would repeat points, so ``steps`` is capped at ``n_pixels``.

    Examples
    --------
    >>> curve_counts(10, 4).tolist()
    [0, 2, 5, 7, 10]
    >>> curve_counts(3, 50).tolist()
    [0, 1, 2, 3]
    """
    steps = min(int(steps), int(n_pixels))
    return (np.arange(steps + 1, dtype=np.int64) * n_pixels) // steps


def trapezoid_auc(fractions, values) -> float:
    """Area under a curve by the trapezoid rule.

    Examples
    --------
    >>> trapezoid_auc([0.0, 0.5, 1.0], [1.0, 0.0, 0.0])
    0.25
    """
    x = np.asarray(fractions, np.float64)
    y = np.asarray(values, np.float64)
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def fidelity(
    model,
    result: OcclusionResult,
    *,
    preprocess=None,
    steps=DEFAULT_STEPS,
    target=None,
    baseline=None,
    insertion_baseline=None,
    batch_size=None,
    output=None,
) -> FidelityCurves:
    """Deletion and insertion curves of a result's map, with their areas (RISE).

    Parameters
    ----------
    model : keras.Model or callable
        The model the sweep ran (any Keras backend, or a callable batch -> scores).
    result : OcclusionResult
        A complete result; its map ranks the pixels (see :func:`pixel_order`).
    preprocess : callable, optional
        The sweep's preprocess, applied to every raw-space image before the model.
    steps : int, default 50
        Intervals on each curve: ``steps + 1`` points at fractions 0, 1/steps, ..., 1, point i
        changing ``floor(i * H * W / steps)`` pixels (all channels of a pixel together).
    target : int, optional
        The class followed; the result's :attr:`~OcclusionResult.base_class` by default.
    baseline : str, number, tuple or array, optional
        What deleted pixels become; the result's own baseline by default.
    insertion_baseline : str, number, tuple or array, optional
        What the insertion curve starts from; ``baseline`` by default (RISE uses ``"blur"``).
    batch_size : int, optional
        Images per model call; automatic when None (as for the sweep).
    output : {"auto", "probabilities", "logits"}, optional
        How to read the scores; by default as the sweep read them.

    Returns
    -------
    FidelityCurves

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> def model(batch):  # class 1 = brightness of the top-left 2x2 corner
    ...     p = batch[:, :2, :2].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> result = ow.occlusion_map(model, np.ones((4, 4)), patch_size=2, stride=2,
    ...                           baseline="black", progress=False)
    >>> curves = ow.fidelity(model, result, steps=4)
    >>> curves.deletion.tolist(), curves.insertion.tolist()
    ([1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0, 1.0])
    """
    if not isinstance(result, OcclusionResult):
        raise TypeError(
            f"result must be an OcclusionResult (from occlusion_map); got {type(result).__name__}"
        )
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be a positive int (intervals on the curve); got {steps!r}")
    if isinstance(target, (list, tuple, set, frozenset, np.ndarray)):
        raise TypeError(
            f"fidelity follows one class: target must be a class index (int) or None; got "
            f"{target!r}. Run it once per class of a group"
        )
    t = result._target(target)
    order = pixel_order(result, t)
    image = np.asarray(result.image, np.float32)
    h, w = image.shape[:2]
    fill, fill_name = _resolve_baseline(result, baseline)
    start_fill, start_name = fill, fill_name
    if insertion_baseline is not None:
        start_fill, start_name = _resolve_baseline(result, insertion_baseline)
    counts = curve_counts(h * w, int(steps))
    # Deletion items first (image -> baseline), then insertion items (start fill -> image).
    plans = [(image, fill, k) for k in counts] + [(start_fill, image, k) for k in counts]
    kind = output or result.output_kind or "auto"
    probs = _score_all(model, preprocess, plans, order, batch_size, kind)[:, t]
    n = counts.size
    deletion, insertion = probs[:n], probs[n:]
    fractions = counts / float(h * w)
    if abs(float(deletion[0]) - float(result.base_probabilities[t])) > BASE_MISMATCH:
        warnings.warn(
            f"the model gives class {t} probability {float(deletion[0]):.4f} for the unchanged "
            f"image, but the sweep recorded {float(result.base_probabilities[t]):.4f}: pass "
            f"the same model and preprocess as the sweep",
            UserWarning,
            stacklevel=2,
        )
    return FidelityCurves(
        fractions=fractions,
        deletion=deletion,
        insertion=insertion,
        deletion_auc=trapezoid_auc(fractions, deletion),
        insertion_auc=trapezoid_auc(fractions, insertion),
        target=t,
        baseline_name=fill_name,
        insertion_baseline_name=start_name,
    )


def _resolve_baseline(result, baseline):
    if baseline is None:
        return np.asarray(result.baseline, np.float32), result.baseline_name
    image = np.asarray(result.image, np.float32)
    # The sweep rounds the gray of integer images (127.5 -> 128); a uint8 range with whole
    # pixel values is the integer case.
    integer = result.value_range == (0.0, 255.0) and bool(np.all(image == np.round(image)))
    fill = make_baseline(image, baseline, result.value_range, integer, result.patch_size)
    return fill, describe_baseline(baseline)


def _score_all(model, preprocess, plans, order, batch_size, kind):
    """Probabilities for every planned image ``(start, end, k)``: ``start`` with its ``k``
    first pixels in ``order`` taken from ``end``; one batch in memory at a time."""
    h, w, c = plans[0][0].shape
    n_items = len(plans)
    auto = batch_size is None
    if auto:
        bsz = auto_batch_size(n_items, h * w * c * 4)
    elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise TypeError(f"batch_size must be a positive int or None; got {batch_size!r}")
    elif batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size}")
    else:
        bsz = int(batch_size)
    forward = make_forward(model, preprocess, batch_shape=(bsz, h, w, c))
    if auto:
        bsz = auto_batch_size(n_items, h * w * c * 4, forward.accelerator, forward.backend)
    out = []
    start = 0
    buffer = np.empty((bsz, h, w, c), np.float32)
    while start < n_items:
        stop = min(start + bsz, n_items)
        buffer = buffer[:bsz]  # smaller after an out-of-memory halving
        # The last batch is padded with copies of the image (finite and cheap), so a model
        # compiled for a fixed batch size sees that size.
        buffer[:] = plans[0][0]
        flat = buffer.reshape(bsz, h * w, c)
        for i, (begin, end, k) in enumerate(plans[start:stop]):
            flat[i] = begin.reshape(h * w, c)
            idx = order[:k]
            flat[i, idx] = end.reshape(h * w, c)[idx]
        what = f"fidelity curve images {start}-{stop - 1} of {n_items}"
        try:
            x = prepare(forward, buffer, what)
            scores = _score(forward, x, what, stop - start)
        except _OutOfMemory as oom:
            bsz = _halve(bsz, oom, what, buffer.shape)
            continue
        probs, kind = to_probabilities(scores[: stop - start], kind)
        out.append(probs)
        start = stop
    return np.concatenate(out, axis=0)
