"""Fill strategies: every baseline becomes one ``(H, W, C)`` float32 image in raw pixel space.

Occluding a window is then a plain copy of the baseline's pixels into the window's box, the
same operation for every strategy, so the sweep never needs to know which one was chosen.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["BASELINE_NAMES", "NOISE_SEED", "describe_baseline", "make_baseline"]

#: Named baselines accepted as strings.
BASELINE_NAMES = ("gray", "black", "white", "mean", "blur", "noise")

#: Seed of the ``"noise"`` baseline, fixed so that two sweeps of the same image agree.
NOISE_SEED = 0


def make_baseline(
    pixels: np.ndarray,
    baseline="gray",
    value_range: tuple[float, float] = (0.0, 1.0),
    integer: bool = False,
    patch_size: tuple[int, int] = (16, 16),
) -> np.ndarray:
    """Build the fill image for an occlusion sweep.

    Parameters
    ----------
    pixels : numpy.ndarray
        The ``(H, W, C)`` float32 raw image.
    baseline : str, float, tuple or array-like
        ``"gray"``: the middle of ``value_range`` (128 for uint8 input, 0.5 for [0, 1], 0 for
        [-1, 1]); ``"black"`` / ``"white"``: the low / high end of ``value_range``;
        ``"mean"``: the image's per-channel mean; ``"blur"``: a Gaussian blur of the image
        (sigma = a quarter of the larger patch side), so the patch keeps the colours but loses
        the detail; ``"noise"``: uniform noise over ``value_range`` with a fixed seed; a number;
        a colour tuple with one value per channel; or a whole image of the same shape.
    value_range : tuple of float
        The image's ``(lo, hi)`` display range.
    integer : bool
        Whether the image came as integers; the gray fill is rounded then (127.5 -> 128).
    patch_size : tuple of int
        The patch ``(height, width)``, used for the blur radius.

    Returns
    -------
    numpy.ndarray
        ``(H, W, C)`` float32.

    Raises
    ------
    ValueError
        An unknown name, a colour with the wrong number of channels, an image of the wrong
        shape, or non-finite values.
    TypeError
        A value of an unsupported type.

    Examples
    --------
    >>> img = np.zeros((4, 4, 3), np.float32)
    >>> make_baseline(img, "gray", (0.0, 255.0), integer=True)[0, 0].tolist()
    [128.0, 128.0, 128.0]
    >>> make_baseline(img, (1, 2, 3))[0, 0].tolist()
    [1.0, 2.0, 3.0]
    """
    h, w, c = pixels.shape
    lo, hi = float(value_range[0]), float(value_range[1])
    if isinstance(baseline, str):
        name = baseline.lower()
        if name in ("grey", "gray"):
            mid = (lo + hi) / 2.0
            fill = np.floor(mid + 0.5) if integer else mid
            return np.full((h, w, c), fill, np.float32)
        if name == "black":
            return np.full((h, w, c), lo, np.float32)
        if name == "white":
            return np.full((h, w, c), hi, np.float32)
        if name == "mean":
            mean = pixels.reshape(-1, c).mean(axis=0, dtype=np.float64)
            return np.broadcast_to(mean.astype(np.float32), (h, w, c)).copy()
        if name == "blur":
            sigma = max(1.0, max(patch_size) / 4.0)
            return gaussian_blur(pixels, sigma)
        if name == "noise":
            rng = np.random.default_rng(NOISE_SEED)
            return rng.uniform(lo, hi, size=(h, w, c)).astype(np.float32)
        raise ValueError(
            f"unknown baseline {baseline!r}; use one of {', '.join(map(repr, BASELINE_NAMES))}, "
            f"a number, a colour tuple of {c} values, or an image of shape {(h, w, c)}"
        )
    if isinstance(baseline, bool) or baseline is None:
        raise TypeError(
            f"baseline must be a name, a number, a colour tuple or an image; got {baseline!r}"
        )
    if isinstance(baseline, numbers.Real):
        out = np.full((h, w, c), float(baseline), np.float32)
        return _check_finite(out, baseline)
    try:
        arr = np.asarray(baseline, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"baseline must be a name, a number, a colour tuple or an image; "
            f"got {type(baseline).__name__}"
        ) from exc
    if arr.ndim == 1:
        if arr.size not in (1, c):
            raise ValueError(
                f"a colour baseline needs one value per channel: {c} for this image; "
                f"got {arr.size} values {tuple(arr.tolist())}"
            )
        out = np.broadcast_to(arr, (h, w, c)).astype(np.float32)
        return _check_finite(out, baseline)
    if arr.ndim == 2 and c == 1:
        arr = arr[:, :, None]
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.shape != (h, w, c):
        raise ValueError(
            f"a baseline image must have the image's shape {(h, w, c)}; got shape {arr.shape}"
        )
    return _check_finite(np.ascontiguousarray(arr, np.float32), "the baseline image")


def describe_baseline(baseline) -> str:
    """A short, JSON-friendly description of a baseline, kept in saved results.

    Examples
    --------
    >>> describe_baseline("gray"), describe_baseline((1, 2, 3))
    ('gray', 'colour (1, 2, 3)')
    """
    if isinstance(baseline, str):
        return baseline.lower()
    if isinstance(baseline, numbers.Real):
        return f"value {baseline}"
    arr = np.asarray(baseline)
    if arr.ndim == 1:
        return f"colour {tuple(arr.tolist())}"
    return f"image {arr.shape}"


def gaussian_blur(pixels: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an ``(H, W, C)`` image with reflected edges (numpy only).

    Examples
    --------
    >>> gaussian_blur(np.ones((5, 5, 1), np.float32), 1.0).round(5).max()
    np.float32(1.0)
    """
    radius = max(1, round(3.0 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    out = pixels.astype(np.float64)
    for axis in (0, 1):
        n = out.shape[axis]
        # Reflect-padding keeps the borders at the right brightness; symmetric mode works
        # even when the radius exceeds the image size.
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="symmetric") if n > 0 else out
        acc = np.zeros_like(out)
        for i, weight in enumerate(kernel):
            sl = [slice(None)] * 3
            sl[axis] = slice(i, i + n)
            acc += weight * padded[tuple(sl)]
        out = acc
    return out.astype(np.float32)


def _check_finite(out: np.ndarray, given) -> np.ndarray:
    if not np.all(np.isfinite(out)):
        raise ValueError(f"baseline must be finite; got {given!r}")
    return out
