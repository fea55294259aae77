"""The Jupyter widget: an anywidget whose frontend (``js/``) is bundled into ``static/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from ._version import __version__
from .serialize import array_serialization

_STATIC = Path(__file__).parent / "static"


def _as_rgba_uint8(image: Any) -> np.ndarray:
    """Turn an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image into (H, W, 4) uint8 for a canvas."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"image must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {array.shape}"
        )
    if array.dtype != np.uint8:
        array = array.astype(np.float64)
        lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
        if lo >= 0.0 and hi <= 1.0:
            array = array * 255.0
        elif lo >= -1.0 and hi <= 1.0:
            array = (array + 1.0) * 127.5
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if array.shape[-1] == 3:
        alpha = np.full((*array.shape[:2], 1), 255, dtype=np.uint8)
        array = np.concatenate([array, alpha], axis=-1)
    return np.ascontiguousarray(array)


class OcclusionWidget(anywidget.AnyWidget):
    """Show an image in a notebook cell, drawn on a canvas from a binary buffer.

    Parameters
    ----------
    image : array_like
        (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); uint8, or floats in [0, 1] or [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> w = OcclusionWidget(np.zeros((32, 32, 3), dtype=np.uint8))
    >>> w.image.shape
    (32, 32, 4)
    """

    _esm = _STATIC / "widget.js"
    _version = traitlets.Unicode(__version__).tag(sync=True)
    image = traitlets.Any(None).tag(sync=True, **array_serialization)

    def __init__(self, image: Any, **kwargs: Any) -> None:
        super().__init__(image=_as_rgba_uint8(image), **kwargs)
