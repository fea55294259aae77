"""Turn whatever the user calls an image into one ``(H, W, C)`` float32 array and its range.

Occlusion happens in this raw pixel space, before any ``preprocess``, so the fill values mean
what the user sees (tf-explain fills 127.5 whatever the scale of the data; we do not).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

__all__ = ["RawImage", "load_image", "to_display_rgba", "value_range_of"]


@dataclass(frozen=True)
class RawImage:
    """An image normalised for the sweep.

    Attributes
    ----------
    pixels : numpy.ndarray
        ``(H, W, C)`` float32, the raw values as given (not rescaled).
    value_range : tuple of float
        ``(lo, hi)`` display range, see :func:`value_range_of`.
    integer : bool
        Whether the input had an integer dtype (the gray fill is then a whole number).
    squeeze_channel : bool
        Whether the input was ``(H, W)`` (grayscale without a channel axis).

    Examples
    --------
    >>> raw = load_image(np.zeros((4, 5), np.uint8))
    >>> raw.pixels.shape, raw.value_range
    ((4, 5, 1), (0.0, 255.0))
    """

    pixels: np.ndarray
    value_range: tuple[float, float]
    integer: bool
    squeeze_channel: bool


def value_range_of(array: np.ndarray) -> tuple[float, float]:
    """The display range of raw pixel values.

    ``(0, 255)`` for uint8, ``(0, max)`` for other unsigned integer types, ``(0, 1)`` for values
    inside [0, 1], ``(-1, 1)`` for values inside [-1, 1], otherwise ``(min, max)``.

    Examples
    --------
    >>> value_range_of(np.array([0.2, 0.7]))
    (0.0, 1.0)
    >>> value_range_of(np.array([-0.5, 0.7]))
    (-1.0, 1.0)
    """
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return (0.0, 255.0)
    if np.issubdtype(array.dtype, np.unsignedinteger):
        return (0.0, float(np.iinfo(array.dtype).max))
    lo, hi = float(np.min(array)), float(np.max(array))
    if lo >= 0.0 and hi <= 1.0:
        return (0.0, 1.0)
    if lo >= -1.0 and hi <= 1.0:
        return (-1.0, 1.0)
    return (lo, hi)


def load_image(image) -> RawImage:
    """Normalise an image to ``(H, W, C)`` float32 and work out its value range.

    Parameters
    ----------
    image : array-like, PIL.Image.Image, str or os.PathLike
        ``(H, W)``, ``(H, W, C)`` or a batch of one ``(1, H, W, C)``; uint8, other integers
        or floats; tensors that convert with ``numpy.asarray`` work too. A path is opened with
        Pillow.

    Returns
    -------
    RawImage

    Raises
    ------
    TypeError
        For values that are not images (None, strings that are not files, bool or complex data).
    ValueError
        For a wrong shape (a batch of several images, channels-first data, empty axes) or
        non-finite pixels.

    Examples
    --------
    >>> load_image(np.ones((1, 8, 8, 3), np.float32)).pixels.shape
    (8, 8, 3)
    """
    if isinstance(image, (str, os.PathLike)):
        image = _open_path(image)
    if _is_pil(image):
        # Palette, CMYK and other modes have no meaningful per-pixel numbers; RGB does.
        if image.mode not in ("L", "RGB", "RGBA", "I", "F", "I;16"):
            image = image.convert("RGB")
        image = np.asarray(image)
    if image is None:
        raise TypeError("image must be an array, a PIL image or a file path; got None")
    if hasattr(image, "detach") and hasattr(image, "cpu"):  # a torch tensor
        image = image.detach().cpu().numpy()
    try:
        array = np.asarray(image)
    except Exception as exc:  # any conversion failure means "not an image"
        raise TypeError(
            f"image must be an array, a PIL image or a file path; got {type(image).__name__}"
        ) from exc
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(
            f"image must hold numbers; got an array of dtype {array.dtype} "
            f"(a ragged list, or a string that is not an existing file?)"
        )
    if array.dtype == bool or np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"image must be real-valued integers or floats; got dtype {array.dtype}")

    shape = array.shape
    squeeze = False
    if array.ndim == 4:
        if shape[0] != 1:
            raise ValueError(
                f"image must be one image; got a batch of {shape[0]} with shape {shape}. "
                f"Pass image[i] for one of them"
            )
        array = array[0]
    if array.ndim == 2:
        array = array[:, :, None]
        squeeze = True
    if array.ndim != 3:
        raise ValueError(
            f"image must have shape (H, W), (H, W, C) or (1, H, W, C); got shape {shape}"
        )
    h, w, c = array.shape
    if min(h, w, c) == 0:
        raise ValueError(f"image is empty: shape {shape}")
    if c > 4 and h <= 4:
        raise ValueError(
            f"image shape {shape} looks channels-first; the engine expects channels last "
            f"(H, W, C). Use np.moveaxis(image, 0, -1)"
        )
    integer = np.issubdtype(array.dtype, np.integer)
    value_range = value_range_of(array)
    pixels = np.ascontiguousarray(array, dtype=np.float32)
    if not np.all(np.isfinite(pixels)):
        raise ValueError("image contains NaN or infinite values")
    return RawImage(pixels, value_range, bool(integer), squeeze)


def _is_pil(obj) -> bool:
    try:
        from PIL import Image
    except ImportError:  # Pillow is optional for array users
        return False
    return isinstance(obj, Image.Image)


def _open_path(path):
    if not os.path.isfile(path):
        raise ValueError(f"image path {os.fspath(path)!r} does not exist or is not a file")
    try:
        from PIL import Image
    except ImportError as exc:
        raise ImportError("opening an image from a path needs Pillow: pip install pillow") from exc
    with Image.open(path) as img:
        img.load()
        return img.copy()


def to_display_rgba(image, value_range=None) -> np.ndarray:
    """The one image -> display function: ``(H, W, 4)`` uint8 RGBA for a canvas or a figure.

    Values map linearly from ``value_range = (lo, hi)`` to ``0..255`` and are clipped, so the
    browser, ``save()`` and every figure show raw pixels the same way. Without a range, the
    range of :func:`value_range_of` is used (uint8 passes through unchanged). Grayscale is
    repeated into RGB; a missing alpha channel is opaque.

    Parameters
    ----------
    image : array-like
        ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``, any real dtype.
    value_range : (float, float), optional
        The raw values shown as black and white.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 4)`` uint8, C-contiguous.

    Raises
    ------
    ValueError
        Any other shape.

    Examples
    --------
    >>> to_display_rgba(np.array([[0.0, 0.5, 1.0]]))[0, :, 0].tolist()
    [0, 128, 255]
    >>> to_display_rgba(np.zeros((2, 2, 3)), value_range=(-1.0, 1.0))[0, 0].tolist()
    [128, 128, 128, 255]
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"image must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) to be shown; "
            f"got {array.shape}"
        )
    if value_range is None and array.dtype == np.uint8:
        display = array
    else:
        lo, hi = value_range if value_range is not None else value_range_of(array)
        lo, hi = float(lo), float(hi)
        values = array.astype(np.float64)
        # A constant image has no range to stretch: show it mid-grey rather than divide by 0.
        scaled = (values - lo) / (hi - lo) * 255.0 if hi > lo else np.full_like(values, 127.5)
        display = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if display.shape[-1] == 1:
        display = np.repeat(display, 3, axis=-1)
    if display.shape[-1] == 3:
        alpha = np.full((*display.shape[:2], 1), 255, dtype=np.uint8)
        display = np.concatenate([display, alpha], axis=-1)
    return np.ascontiguousarray(display)
