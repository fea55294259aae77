"""What the model is shown: an image and its fill, composed over a region by the mode.

Occlude pastes the fill over the region of the image (the sweep hides a patch); reveal is the
dual, pasting the image's region into the fill (the sweep shows only a patch). One rule for
every place that builds such an image: the sweep's batches (:mod:`.batches`, many patches at
once through :func:`roles`), a result's :meth:`~.result.OcclusionResult.occluded_image` and the
probe of a hand-drawn region (:mod:`.probe`), so the three always agree.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MODES", "check_mode", "compose", "roles"]

#: ``"occlude"`` hides the region; ``"reveal"`` shows only the region.
MODES = ("occlude", "reveal")


def check_mode(mode) -> str:
    """``mode`` if it is one of :data:`MODES`, else a ValueError that says what each means.

    Examples
    --------
    >>> check_mode("reveal")
    'reveal'
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(
            f"mode must be 'occlude' (hide the region) or 'reveal' (show only the region); "
            f"got {mode!r}"
        )
    return mode


def roles(image: np.ndarray, fill: np.ndarray, mode: str = "occlude"):
    """``(canvas, patch)``: the picture a region is pasted into, and the one it is cut from.

    Occlude pastes ``fill`` into ``image``; reveal pastes ``image`` into ``fill``.

    Examples
    --------
    >>> canvas, patch = roles(np.ones((2, 2)), np.zeros((2, 2)), "reveal")
    >>> canvas.tolist(), patch.tolist()
    ([[0.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]])
    """
    return (fill, image) if check_mode(mode) == "reveal" else (image, fill)


def compose(image: np.ndarray, fill: np.ndarray, region, mode: str = "occlude") -> np.ndarray:
    """The image the model is shown: ``fill`` over ``region`` of ``image`` (occlude), or only
    ``region`` of ``image`` over ``fill`` (reveal), as a new float32 array.

    Parameters
    ----------
    image, fill : numpy.ndarray
        ``(H, W, C)`` raw-space image and fill image of the same shape.
    region : tuple of int or numpy.ndarray
        A ``(top, left, height, width)`` box inside the image, or an ``(H, W)`` boolean mask.
    mode : {"occlude", "reveal"}

    Returns
    -------
    numpy.ndarray
        ``(H, W, C)`` float32.

    Examples
    --------
    >>> image, fill = np.ones((2, 3, 1)), np.zeros((2, 3, 1))
    >>> compose(image, fill, (0, 1, 2, 1))[:, :, 0].tolist()
    [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]]
    >>> compose(image, fill, (0, 1, 2, 1), mode="reveal")[:, :, 0].tolist()
    [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    """
    canvas, patch = roles(image, fill, mode)
    out = np.array(canvas, dtype=np.float32, copy=True)
    if isinstance(region, np.ndarray) and region.dtype == bool:
        out[region] = patch[region]
    else:
        top, left, h, w = (int(v) for v in region)
        out[top : top + h, left : left + w] = patch[top : top + h, left : left + w]
    return out
