"""Grid cells -> pixels, the way ``js/widget/heatmap.ts`` paints them: each pixel takes the colour
of the window whose centre is nearest, so figures and saved views have the widget's geometry."""

from __future__ import annotations

import numpy as np

from .. import palette
from ._common import target_maps, underlay

__all__ = ["axis_lookup", "cell_colors", "cell_rgba", "compose"]


def axis_lookup(starts, size: int, extent: int) -> np.ndarray:
    """Per pixel along one axis, the window whose centre is nearest (ties: the earlier one).

    Examples
    --------
    >>> axis_lookup(np.array([0, 2, 4]), 4, 8).tolist()
    [0, 0, 0, 1, 1, 2, 2, 2]
    """
    centres = np.asarray(starts, np.float64) + size / 2.0
    pixels = np.arange(extent) + 0.5
    # argmin returns the first of equal distances: the earlier window, like the JS loop.
    return np.argmin(np.abs(pixels[:, None] - centres[None, :]), axis=1)


def _pixels(result, per_cell: np.ndarray) -> np.ndarray:
    h, w = result.image.shape[:2]
    rows = axis_lookup(result.tops, result.patch_size[0], h)
    cols = axis_lookup(result.lefts, result.patch_size[1], w)
    return per_cell[rows[:, None], cols[None, :]]


def cell_rgba(result, rgb: np.ndarray, alpha=None) -> np.ndarray:
    """``(H, W, 4)`` uint8 of per-cell colours; cells not computed are transparent.

    Examples
    --------
    >>> cell_rgba(result, np.zeros((3, 3, 3), np.uint8)).shape  # result: 3 x 3 cells, 16 x 16 px
    (16, 16, 4)
    """
    weight = np.ones(rgb.shape[:2]) if alpha is None else np.asarray(alpha, np.float64)
    weight = np.where(np.asarray(result.computed, bool), weight, 0.0)
    a = np.floor(255 * weight + 0.5).astype(np.uint8)[..., None]
    return _pixels(result, np.concatenate([np.asarray(rgb, np.uint8), a], axis=-1))


def cell_colors(view: str, result, indices, *, scale: str = "auto") -> dict:
    """RGB and opacity per cell for a widget view, and what its colour bar or legend shows.

    ``indices`` is the target: one class or a group whose probabilities are summed.

    Examples
    --------
    >>> cell_colors("probability", result, (1,))["kind"]
    'sequential'
    """
    palette.check_view(view)
    computed = np.asarray(result.computed, bool)
    if view == "predicted_class":
        classes = result.predicted_classes()
        colors = palette.class_colors(classes, result.base_probabilities)
        return {
            "kind": "categorical",
            "rgb": colors.rgb(classes),
            "alpha": None,
            "colors": colors,
            "computed": computed,
        }
    probability, base = target_maps(result, indices)
    if view == "probability":
        rgb = palette.sample_ramp(palette.SEQUENTIAL, np.nan_to_num(probability))
        return {
            "kind": "sequential",
            "rgb": rgb,
            "alpha": None,
            "lo": 0.0,
            "hi": 1.0,
            "computed": computed,
        }
    # Reveal mode measures a patch's gain over the all-baseline image: red = evidence, as in
    # occlude mode and in the browser.
    sensitivity = probability - base if result.mode == "reveal" else base - probability
    m = palette.symmetric_max(np.where(computed, sensitivity, np.nan), scale=scale)
    rgb = palette.sample_ramp(palette.DIVERGING, (np.nan_to_num(sensitivity) + m) / (2 * m))
    return {
        "kind": "diverging",
        "rgb": rgb,
        "alpha": palette.sensitivity_alpha(sensitivity, m),
        "lo": -m,
        "hi": m,
        "sensitivity": sensitivity,
        "computed": computed,
    }


def compose(image: np.ndarray, result, rgb, opacity: float, alpha=None) -> np.ndarray:
    """The image with the cell colours laid over it at ``opacity``, ``(H, W, 3)`` uint8.

    Under a map (``opacity > 0``) the image is drawn in grey (:func:`._common.underlay`), as in
    the widget, so none of its colours passes for a map colour; at opacity 0 it keeps its own.
    Cells not computed stay transparent, as in the widget (which hatches them).

    Examples
    --------
    >>> colours = cell_colors("sensitivity", result, (1,))
    >>> compose(result.image, result, colours["rgb"], 0.7, colours["alpha"]).shape
    (16, 16, 3)
    """
    layer = cell_rgba(result, rgb, alpha).astype(np.float64)
    weight = opacity * layer[..., 3:] / 255.0
    base = np.asarray(underlay(image) if opacity > 0 else image, np.float64)[..., :3]
    return np.floor(base * (1 - weight) + layer[..., :3] * weight + 0.5).astype(np.uint8)
