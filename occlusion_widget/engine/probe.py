"""One model call on one hand-drawn occlusion: the engine side of the widget's live occluder.

The person drags a box or paints a mask; the kernel fills that region with the baseline (or, in
reveal mode, keeps only that region and fills the rest) and runs the model once. The answer is
exact: the same raw-space fill, preprocess and probability conversion as the sweep, so a probe
on a grid cell's box returns that cell's probabilities.
"""

from __future__ import annotations

import numbers
import reprlib
from dataclasses import dataclass

import numpy as np

from .baselines import describe_baseline, make_baseline
from .batches import OutOfMemory, halve, prepare
from .compose import check_mode, compose
from .images import check_value_range, load_image
from .model import OUTPUT_KINDS, check_scores, make_forward, to_probabilities
from .scoring import _score

__all__ = ["ProbeResult", "describe_region", "probe", "region_mask"]


@dataclass(frozen=True)
class ProbeResult:
    """What the model said about one probed image.

    Attributes
    ----------
    probabilities : numpy.ndarray
        ``(K,)`` float32 class probabilities for the probed image.
    image : numpy.ndarray
        ``(H, W, C)`` float32: the exact raw-space image fed to ``preprocess`` (then the model).
    mask : numpy.ndarray
        ``(H, W)`` bool: the region that was occluded (or, in reveal mode, kept).
    output_kind : str
        How the model's scores were read (``"probabilities"``, ``"softmax"``, ...).
    mode : str
        ``"occlude"`` or ``"reveal"``.
    baseline_name : str
        A short description of the fill.

    Examples
    --------
    >>> model = lambda b: np.stack([1 - b.mean(axis=(1, 2, 3)), b.mean(axis=(1, 2, 3))], 1)
    >>> r = probe(model, np.ones((4, 4)), (0, 0, 2, 4), baseline="black")
    >>> r.probabilities.tolist(), int(r.mask.sum())
    ([0.5, 0.5], 8)
    """

    probabilities: np.ndarray
    image: np.ndarray
    mask: np.ndarray
    output_kind: str
    mode: str
    baseline_name: str

    @property
    def predicted_class(self) -> int:
        """The most probable class (ties to the lower index, as ``numpy.argmax``)."""
        return int(np.argmax(self.probabilities))


def region_mask(region, shape: tuple[int, int]) -> np.ndarray:
    """Turn a ``(top, left, height, width)`` box or an ``(H, W)`` boolean mask into a mask.

    A box may reach past the image edge (it is clipped, as a drag past the canvas would be), but
    it must overlap the image and have a positive height and width. An ``(H, W, 1)`` mask (one
    channel, as image tools often give) is taken as the ``(H, W)`` mask it holds.

    Parameters
    ----------
    region : tuple of int or array-like of bool
        The box, or the mask itself.
    shape : tuple of int
        ``(H, W)`` of the image.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` bool.

    Raises
    ------
    ValueError, TypeError
        A box of the wrong length, size or type, a mask of the wrong shape, or an empty region;
        the message describes what was given in a line (never the whole array).

    Examples
    --------
    >>> region_mask((1, 1, 2, 2), (4, 4)).astype(int).tolist()
    [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    >>> region_mask(np.ones((2, 2, 1), bool), (2, 2)).shape
    (2, 2)
    """
    h, w = int(shape[0]), int(shape[1])
    if (isinstance(region, np.ndarray) and region.ndim != 1) or _looks_like_mask(region):
        return _as_mask(region, h, w)
    try:
        items = list(region)
    except TypeError:
        raise TypeError(
            f"region must be a (top, left, height, width) box or an (H, W) boolean mask; got "
            f"{describe_region(region)}"
        ) from None
    if len(items) != 4:
        raise ValueError(
            f"a box region is (top, left, height, width): 4 ints; got {len(items)} values: "
            f"{describe_region(region)} (a mask is an (H, W) or (H, W, 1) array, not flat)"
        )
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"a box region needs 4 ints (top, left, height, width); got "
                f"{describe_region(region)}"
            )
    top, left, bh, bw = (int(v) for v in items)
    if bh <= 0 or bw <= 0:
        raise ValueError(f"the box {tuple(items)} has no area: height and width must be >= 1")
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + bh, h), min(left + bw, w)
    if y0 >= y1 or x0 >= x1:
        raise ValueError(
            f"the box (top, left, height, width) = {tuple(items)} lies outside the image of "
            f"height {h} and width {w}"
        )
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def describe_region(region) -> str:
    """A region as one short phrase for an error: an array's shape and dtype, never its values.

    Examples
    --------
    >>> describe_region(np.zeros((224, 224, 3), np.uint8))
    'an array of shape (224, 224, 3) and dtype uint8'
    >>> describe_region((0, 0, 2))
    '(0, 0, 2)'
    >>> describe_region([[0] * 100] * 100)
    'a list of 100 items'
    """
    if isinstance(region, np.ndarray):
        return f"an array of shape {region.shape} and dtype {region.dtype}"
    if isinstance(region, (list, tuple)):
        if len(region) <= 8 and all(isinstance(v, (numbers.Number, str)) for v in region):
            text = repr(tuple(region) if isinstance(region, tuple) else region)
            if len(text) <= 80:
                return text
        return f"a {type(region).__name__} of {len(region)} items"
    return f"{type(region).__name__} {_SHORT.repr(region)}"


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def _as_mask(region, h: int, w: int) -> np.ndarray:
    """An array-like mask as ``(H, W)`` bool, or a short error saying what it is."""
    given = describe_region(region)
    try:
        mask = np.asarray(region)
    except ValueError:  # ragged nested lists
        raise ValueError(
            f"a mask region must be an (H, W) boolean array of the image's height and width "
            f"{(h, w)}; got {given} that is not rectangular"
        ) from None
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]  # one channel: the (H, W) mask it holds
    if mask.shape != (h, w):
        raise ValueError(
            f"a mask region must have the image's height and width {(h, w)}; got shape "
            f"{np.shape(region)} and dtype {mask.dtype}. Allowed: (H, W) or (H, W, 1)"
        )
    if mask.dtype != bool:
        if mask.dtype.kind not in "biuf" or not np.isin(mask, (0, 1)).all():
            raise ValueError(
                f"a mask region must be boolean (or 0/1); got {given} with values other than "
                f"0 and 1. Use mask > threshold to make one"
            )
        mask = mask.astype(bool)
    if not mask.any():
        raise ValueError("the mask region is empty: mark at least one pixel")
    return np.ascontiguousarray(mask)


def _looks_like_mask(region) -> bool:
    # A nested list of rows is a mask; a flat list of four numbers is a box.
    if isinstance(region, (list, tuple)) and region:
        return isinstance(region[0], (list, tuple, np.ndarray))
    return False


def probe(
    model,
    image,
    region,
    *,
    baseline="gray",
    preprocess=None,
    value_range=None,
    output="auto",
    mode="occlude",
) -> ProbeResult:
    """Run the model once on the image with one region occluded (or, in reveal mode, kept).

    Parameters
    ----------
    model : keras.Model or callable
        As for :func:`~occlusion_widget.engine.sweep.occlusion_map`.
    image : array-like, PIL.Image.Image or path
        The raw image (before ``preprocess``).
    region : tuple of int or array-like of bool
        A ``(top, left, height, width)`` box or an ``(H, W)`` (or ``(H, W, 1)``) boolean mask.
    baseline : str, number, tuple or array
        The fill, as for the sweep. ``"blur"`` uses the region's bounding box as the patch size
        (pass the sweep's baseline image, ``result.baseline``, to reuse a sweep's exact fill).
    preprocess : callable, optional
        Applied to the probed raw image (as a batch of one) before the model.
    value_range : (float, float), optional
        The image's raw ``(lo, hi)`` range; guessed from the dtype and values when None. It
        decides what ``"gray"``, ``"black"``, ``"white"`` and ``"noise"`` mean.
    output : {"auto", "probabilities", "logits"}
        What the model returns.
    mode : {"occlude", "reveal"}
        ``"occlude"`` fills the region with the baseline; ``"reveal"`` fills everything but
        the region.

    Returns
    -------
    ProbeResult

    Raises
    ------
    ValueError, TypeError
        A bad region, baseline, mode or output, with advice.
    ModelError
        The model raised; the message names the model's exception.

    Examples
    --------
    >>> def model(batch):  # class 1 = brightness of the top-left 2x2 corner
    ...     p = batch[:, :2, :2].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> probe(model, np.ones((4, 4)), (0, 0, 1, 2), baseline="black").probabilities.tolist()
    [0.5, 0.5]
    >>> probe(model, np.ones((4, 4)), (0, 0, 1, 2), baseline="black",
    ...       mode="reveal").probabilities.tolist()
    [0.5, 0.5]
    """
    check_mode(mode)
    if not isinstance(output, str) or output not in OUTPUT_KINDS:
        raise ValueError(
            f"output must be one of {', '.join(map(repr, OUTPUT_KINDS))}; got {output!r}"
        )
    raw = load_image(image)
    pixels = raw.pixels
    h, w, c = pixels.shape
    mask = region_mask(region, (h, w))
    lo_hi = raw.value_range if value_range is None else check_value_range(value_range)
    rows, cols = np.nonzero(mask)
    bbox = (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1))
    fill = make_baseline(pixels, baseline, lo_hi, raw.integer, bbox)
    fed = compose(pixels, fill, mask, mode)
    # The same compiled forward as a sweep of this image (model.py caches it per model and
    # input shape), so a probe after a sweep pays no new trace; and the sweep's scoring: the
    # same one-line errors for preprocess and model, the same check for NaN scores.
    forward = make_forward(model, preprocess, batch_shape=(1, h, w, c))
    what = "the probed image"
    batch = fed[None].copy()  # preprocess may work in place; the result keeps `fed`
    try:
        x = prepare(forward, batch, what)
        scores = _score(forward, x, what, 1, lo_hi)
    except OutOfMemory as oom:
        # A batch of one cannot be halved: halve() raises the sweep's out-of-memory ModelError.
        halve(1, oom, what, batch.shape)
        raise
    probs, kind = to_probabilities(scores, output)
    check_scores(scores, kind, what, output == "auto")
    return ProbeResult(
        probabilities=probs[0].copy(),
        image=fed,
        mask=mask,
        output_kind=kind,
        mode=mode,
        baseline_name=describe_baseline(baseline),
    )
