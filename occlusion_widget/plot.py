"""Matplotlib figures: the seed notebook's three panels and the predicted-class map.

matplotlib is imported inside the functions, so ``import occlusion_widget`` stays light and the
engine never depends on it.
"""

from __future__ import annotations

import numpy as np

from . import labels as _labels
from .engine.images import load_image
from .engine.result import OcclusionResult

__all__ = ["plot_class_map", "visualize"]


def _display_image(image) -> np.ndarray:
    """Raw image of any scale -> ``(H, W, 3)`` or ``(H, W)`` floats in [0, 1] for imshow."""
    raw = load_image(image)
    lo, hi = raw.value_range
    pixels = (raw.pixels - lo) / (hi - lo if hi > lo else 1.0)
    pixels = np.clip(pixels, 0.0, 1.0)
    if pixels.shape[2] == 1:
        return pixels[:, :, 0]
    return pixels[:, :, :3]


def _axes(axes, n, figsize):
    import matplotlib.pyplot as plt

    if axes is None:
        fig, axes = plt.subplots(1, n, figsize=figsize)
        return fig, list(np.atleast_1d(axes))
    axes = list(np.atleast_1d(axes))
    if len(axes) not in (1, n):
        raise ValueError(f"axes must be one Axes or a sequence of {n}; got {len(axes)}")
    return axes[0].figure, axes


def visualize(
    explanation,
    image,
    save_path=None,
    target=None,
    axes=None,
    cmap="RdBu_r",
    alpha=0.5,
    title=None,
):
    """Draw the seed notebook's three panels: image, attribution map (colour bar), overlay.

    Parameters
    ----------
    explanation : numpy.ndarray or OcclusionResult
        An ``(H, W)`` attribution map (what ``OcclusionSensitivity.explain`` returns), or a
        result, whose :meth:`~OcclusionResult.attribution` for ``target`` is drawn.
    image : array-like
        The image to show (any scale: uint8, [0, 1], [-1, 1] ...).
    save_path : str or path, optional
        Where to write the figure (PNG by extension).
    target : int, optional
        The class, when ``explanation`` is a result (default: its predicted class).
    axes : matplotlib Axes or sequence of three, optional
        Draw into existing axes; a single Axes gets the overlay panel only.
    cmap : str, default "RdBu_r"
        Diverging colour map, centred on 0: red = the region supports the class.
    alpha : float, default 0.5
        Opacity of the map in the overlay.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = ow.visualize(explanation, img_array, save_path="occlusion_demo.png")  # doctest: +SKIP
    """
    if isinstance(explanation, OcclusionResult):
        attribution = explanation.attribution(target)
    else:
        attribution = np.asarray(explanation, dtype=np.float32)
        if attribution.ndim == 3 and attribution.shape[0] == 1:
            attribution = attribution[0]
        if attribution.ndim != 2:
            raise ValueError(
                f"explanation must be one (H, W) attribution map or an OcclusionResult; got "
                f"shape {attribution.shape} (pass explanation[i] for one of several targets)"
            )
    shown = _display_image(image)
    h, w = shown.shape[:2]
    extent = (0, w, h, 0)  # stretch the map over the image even if the sizes differ
    finite = attribution[np.isfinite(attribution)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    limit = limit or 1.0
    kwargs = {"cmap": cmap, "vmin": -limit, "vmax": limit, "extent": extent}
    fig, axes = _axes(axes, 3, (15, 5))
    gray = "gray" if shown.ndim == 2 else None
    if len(axes) == 3:
        axes[0].imshow(shown, cmap=gray)
        axes[0].set_title("Original image")
        mappable = axes[1].imshow(attribution, **kwargs)
        axes[1].set_title("Attribution (probability drop)")
        fig.colorbar(mappable, ax=axes[1], fraction=0.046, pad=0.04)
    overlay_ax = axes[-1]
    overlay_ax.imshow(shown, cmap=gray, extent=extent)
    overlay_ax.imshow(attribution, alpha=alpha, **kwargs)
    overlay_ax.set_title("Overlay")
    for ax in axes:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    if save_path is not None:
        fig.savefig(save_path, bbox_inches="tight", dpi=100)
    return fig


def plot_class_map(
    result,
    target=None,
    labels=None,
    axes=None,
    save_path=None,
    max_legend=10,
    cmap="viridis",
):
    """Image, target-probability map and predicted-class map with a legend of names and counts.

    The probability map shows the target's probability with the patch at each position: low
    (dark) means the covered region mattered, as in the classic Kaggle figure. The class map
    colours every position by the class the model predicted with the patch there.

    Parameters
    ----------
    result : OcclusionResult
    target : int, optional
        Class for the probability map (default: the unoccluded prediction).
    labels : list, dict, "imagenet", "cifar10" or None
        Class names; a list must have one name per class.
    axes : matplotlib Axes or sequence of three, optional
        Draw into existing axes; a single Axes gets the class map only.
    save_path : str or path, optional
    max_legend : int, default 10
        Most classes named in the legend (the most frequent); the rest are grouped.
    cmap : str, default "viridis"
        Colour map of the probability panel.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = ow.plot_class_map(result, labels=ow.labels.cifar10())  # doctest: +SKIP
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if not isinstance(result, OcclusionResult):
        raise TypeError(f"result must be an OcclusionResult; got {type(result).__name__}")
    names = _labels.as_list(labels, result.num_classes)
    target = result._target(target)
    shown = _display_image(result.image)
    h, w = shown.shape[:2]
    extent = (0, w, h, 0)
    fig, axes = _axes(axes, 3, (16, 5))
    gray = "gray" if shown.ndim == 2 else None
    if len(axes) == 3:
        axes[0].imshow(shown, cmap=gray)
        axes[0].set_title(
            f"Image: {names[result.base_class]} "
            f"({result.base_probabilities[result.base_class]:.2f})"
        )
        prob = axes[1].imshow(
            result.probability(target), cmap=cmap, vmin=0.0, vmax=1.0, extent=extent
        )
        axes[1].set_title(f"P({names[target]}) with the patch here\n(low = important)")
        fig.colorbar(prob, ax=axes[1], fraction=0.046, pad=0.04)

    counts = result.class_counts()
    ranked = list(counts)[:max_legend]
    classes = result.predicted_classes()
    # Categorical colours: rank 0..n-1 for the named classes, n for "other", masked = not done.
    codes = np.full(classes.shape, len(ranked), float)
    for rank, cls in enumerate(ranked):
        codes[classes == cls] = rank
    codes[classes < 0] = np.nan
    palette = [_category_colour(i) for i in range(len(ranked))] + [(0.6, 0.6, 0.6, 1.0)]
    ax = axes[-1]
    ax.imshow(
        np.ma.masked_invalid(codes),
        cmap=ListedColormap(palette),
        vmin=-0.5,
        vmax=len(ranked) + 0.5,
        extent=extent,
        interpolation="nearest",
    )
    handles = []
    for rank, cls in enumerate(ranked):
        mark = " (unoccluded)" if cls == result.base_class else ""
        handles.append(Patch(color=palette[rank], label=f"{names[cls]}: {counts[cls]}{mark}"))
    rest = sum(counts[c] for c in list(counts)[max_legend:])
    if rest:
        handles.append(Patch(color=palette[-1], label=f"other classes: {rest}"))
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize="small",
        title="predicted class: positions",
    )
    ax.set_title("Predicted class with the patch here")
    for a in axes:
        a.axis("off")
    if save_path is not None:
        fig.savefig(save_path, bbox_inches="tight", dpi=100)
    return fig


def _category_colour(i):
    import matplotlib

    # tab10 first; beyond ten classes the light tab20 shades, which tab10 does not contain.
    if i < 10:
        return matplotlib.colormaps["tab10"](i)
    return matplotlib.colormaps["tab20"]((2 * (i - 10) + 1) % 20)
