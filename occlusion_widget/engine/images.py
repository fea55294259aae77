"""Turn whatever the user calls an image into one ``(H, W, C)`` float32 array and its range.

Occlusion happens in this raw pixel space, before any ``preprocess``, so the fill values mean
what the user sees (tf-explain fills 127.5 whatever the scale of the data; we do not).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "NOMINAL_RANGES",
    "RawImage",
    "load_image",
    "resize_image",
    "to_display_rgba",
    "value_range_of",
]


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


#: The nominal ranges a float image is read in, narrowest first.
NOMINAL_RANGES = ((0.0, 1.0), (-1.0, 1.0), (0.0, 255.0))


def value_range_of(array: np.ndarray) -> tuple[float, float]:
    """The range raw pixel values are meant to span: what "gray", "black" and "white" mean.

    ``(0, 255)`` for uint8 and ``(0, max)`` for other unsigned integer types. Other images get
    the narrowest nominal range that holds every value: [0, 1], then [-1, 1] (signed values),
    then [0, 255] (a photo as float32, as ``keras.utils.img_to_array`` gives it). A dark photo
    is still read in [0, 255], never in its own min and max.

    Raises
    ------
    ValueError
        When no nominal range holds the values: pass ``value_range=(lo, hi)`` then.

    Examples
    --------
    >>> value_range_of(np.array([0.2, 0.7]))
    (0.0, 1.0)
    >>> value_range_of(np.array([-0.5, 0.7]))
    (-1.0, 1.0)
    >>> value_range_of(np.array([3.0, 113.0], np.float32))
    (0.0, 255.0)
    """
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return (0.0, 255.0)
    if np.issubdtype(array.dtype, np.unsignedinteger):
        return (0.0, float(np.iinfo(array.dtype).max))
    lo, hi = float(np.min(array)), float(np.max(array))
    for nominal in NOMINAL_RANGES:
        if nominal[0] <= lo and hi <= nominal[1]:
            return nominal
    raise ValueError(
        f"the image's values run from {lo:.4g} to {hi:.4g}, outside the ranges an image is "
        f"read in ([0, 1], [-1, 1], [0, 255]), so "
        f'"gray", "black" and "white" would mean nothing sure. Say what range the pixels are '
        f"meant to span, e.g. value_range=({math.floor(lo):g}, {math.ceil(hi):g}) (or occlude "
        f"the raw photo and pass the normalisation as preprocess=)"
    )


def check_value_range(value_range) -> tuple[float, float]:
    """Validate a user's ``value_range=(lo, hi)``: two finite numbers with ``lo < hi``.

    Examples
    --------
    >>> check_value_range((0, 255))
    (0.0, 255.0)
    """
    try:
        lo, hi = (float(v) for v in value_range)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"value_range must be a (low, high) pair of numbers or None; got {value_range!r}"
        ) from exc
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"value_range must be finite with low < high; got {value_range!r}")
    return lo, hi


def load_image(image, value_range=None) -> RawImage:
    """Normalise an image to ``(H, W, C)`` float32 and work out its value range.

    Parameters
    ----------
    image : array-like, PIL.Image.Image, str or os.PathLike
        ``(H, W)``, ``(H, W, C)`` or a batch of one ``(1, H, W, C)``; uint8, other integers
        or floats; tensors that convert with ``numpy.asarray`` work too. A path is opened with
        Pillow and turned upright as photo viewers show it (its EXIF orientation: a phone
        photo is not swept on its side); a PIL image or an array is taken as it is.
    value_range : tuple of float, optional
        ``(lo, hi)`` the pixels are meant to span; by default :func:`value_range_of`.

    Returns
    -------
    RawImage

    Raises
    ------
    TypeError
        For values that are not images (None, strings that are not files, bool or complex data).
    ValueError
        For a wrong shape (a batch of several images, channels-first data, empty axes),
        non-finite pixels, or values in no nominal range (without ``value_range``).

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
    pixels = np.ascontiguousarray(array, dtype=np.float32)
    if not np.all(np.isfinite(pixels)):
        raise ValueError("image contains NaN or infinite values")
    if value_range is None:
        value_range = value_range_of(array)
        _warn_overshoot(pixels, value_range, integer)
    else:
        value_range = check_value_range(value_range)
        lo, hi = float(pixels.min()), float(pixels.max())
        if lo < value_range[0] or hi > value_range[1]:
            raise ValueError(
                f"the image's values run from {lo:.4g} to {hi:.4g}, outside value_range="
                f"{value_range}; give the range the pixels are meant to span"
            )
    return RawImage(pixels, value_range, bool(integer), squeeze)


#: A float image whose largest value is past 1 but at most this is more likely a [0, 1] image
#: that overshoots (a resize rings past its ends) than a [0, 255] image that dark.
OVERSHOOT_MAX = 1.5


def _warn_overshoot(pixels, value_range, integer) -> None:
    hi = float(pixels.max())
    if integer or value_range != (0.0, 255.0) or not 1.0 < hi <= OVERSHOOT_MAX:
        return
    warnings.warn(
        f"the image's values run from {float(pixels.min()):.3g} to {hi:.3g}: just past 1, so "
        f'it is read in [0, 255] and "gray" fills 127.5. If it is a [0, 1] image whose values '
        f"overshoot (a resize can ring past 1), clip it first: np.clip(image, 0, 1); if it is "
        f"meant as [0, 255], pass value_range=(0, 255) to say so",
        UserWarning,
        stacklevel=4,
    )


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
    try:
        from PIL import ImageOps

        with Image.open(path) as img:
            img.load()
            return ImageOps.exif_transpose(img)  # a copy, turned when its EXIF says so
    except (OSError, SyntaxError, ValueError) as exc:  # PIL's UnidentifiedImageError is OSError
        raise ValueError(
            f"image path {os.fspath(path)!r} is not an image Pillow can read "
            f"({type(exc).__name__}: {exc}); give a PNG, JPEG or another format Pillow opens, "
            f"or an array"
        ) from exc


def resize_image(raw: RawImage, size: tuple[int, int]) -> RawImage:
    """Resize to ``(height, width)`` with Pillow's antialiased Lanczos filter, per channel.

    Values stay inside the image's value range (Lanczos rings a little past sharp edges), and
    an integer image stays whole numbers.

    Examples
    --------
    >>> raw = load_image(np.full((40, 60, 3), 200, np.uint8))
    >>> small = resize_image(raw, (20, 30))
    >>> small.pixels.shape, float(small.pixels.max()), small.value_range
    ((20, 30, 3), 200.0, (0.0, 255.0))
    """
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow is a dependency
        raise ImportError("resize= needs Pillow: pip install pillow") from exc
    h, w = int(size[0]), int(size[1])
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(raw.pixels[:, :, i])).resize(
                (w, h), Image.Resampling.LANCZOS
            )
        )
        for i in range(raw.pixels.shape[2])
    ]
    pixels = np.stack(channels, axis=2).astype(np.float32)
    lo, hi = raw.value_range
    np.clip(pixels, lo, hi, out=pixels)
    if raw.integer:
        np.rint(pixels, out=pixels)
    return replace(raw, pixels=np.ascontiguousarray(pixels))


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
