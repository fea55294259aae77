"""The notebook figures: the seed notebook's three panels and the predicted-class map.

Colours come from :mod:`occlusion_widget.palette`, so a figure matches the widget beside it.
Figures stay in pyplot but show once in a notebook (see ``_common.new_figure``):
in Jupyter a figure shows once, as the cell's value; ``save_path`` or ``fig.savefig`` write it.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import labels as _labels
from .. import palette
from ..engine.images import load_image
from ..engine.result import OcclusionResult
from ._common import (
    checked_save_path,
    colormap,
    display_rgb,
    flat_note,
    new_figure,
    resolve_target,
    rgb01,
    save_figure,
    target_maps,
    underlay,
)
from .cells import cell_rgba

__all__ = ["plot_class_map", "visualize"]


def _axes(axes, n, figsize):
    if axes is None:
        fig = new_figure(figsize)
        return fig, list(np.atleast_1d(fig.subplots(1, n)))
    axes = list(np.atleast_1d(axes))
    if len(axes) not in (1, n):
        raise ValueError(f"axes must be one Axes or a sequence of {n}; got {len(axes)}")
    return axes[0].figure, axes


def _check_alpha(alpha) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ValueError(
            f"alpha must be a number from 0 (no map over the image) to 1 (opaque where the "
            f"change is largest); got {alpha!r}"
        )


def visualize(
    explanation,
    image,
    save_path=None,
    target=None,
    axes=None,
    cmap=None,
    alpha=0.5,
    title=None,
    *,
    labels=None,
    scale="auto",
):
    """Draw the seed notebook's three panels: image, attribution map (colour bar), overlay.

    The overlay draws the image in grey under the map, as the widget does, so that none of the
    image's colours can pass for a map colour (a blue sky is not "occluding raises it").

    Parameters
    ----------
    explanation : numpy.ndarray or OcclusionResult
        An ``(H, W)`` attribution map (what ``OcclusionSensitivity.explain`` returns), or a
        result, whose per-pixel attribution for ``target`` is drawn.
    image : array-like
        The image to show (any scale: uint8, [0, 1], [-1, 1] ...).
    save_path : str or path, optional
        Where to write the figure: the suffix names the format (PNG when there is none); its
        folder must exist.
    target : int, str or list, optional
        With a result: the class (index or name), or a list of classes whose probabilities are
        summed ("P(A + B)"). Default: the unoccluded prediction. An array explanation is one
        class's map already: ``target`` and ``labels`` are refused with it.
    axes : matplotlib Axes or sequence of three, optional
        Draw into existing axes; a single Axes gets the overlay panel only.
    cmap : str, optional
        A matplotlib colour map name; default: the widget's diverging palette (red = the region
        supports the class, blue = covering it raises the class).
    alpha : float, default 0.5
        Opacity of the map in the overlay where the change is largest; smaller changes are
        drawn fainter, as in the widget.
    title : str, optional
        Figure title.
    labels : list, dict, "imagenet", "cifar10" or None
        Class names, for a target given by name and for the title.
    scale : {"auto", "fixed"}
        "auto": the colour range fits the largest change but is never narrower than
        ``±palette.MIN_RANGE``, so noise looks faint; "fixed": -1..1.

    Returns
    -------
    matplotlib.figure.Figure
        A pyplot figure that a notebook shows once, also when it is the cell's value.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> fig = ow.visualize(np.zeros((8, 8)), np.ones((8, 8, 3)))
    >>> fig.texts[0].get_text()
    "no pixel's attribution is larger than 0.001: occluding changes nothing here"
    """
    palette.check_scale(scale)
    _check_alpha(alpha)
    path = checked_save_path(save_path)
    note = None
    if isinstance(explanation, OcclusionResult):
        names = _labels.as_list(labels, explanation.num_classes)
        indices, label = resolve_target(explanation, target, names)
        attribution = sum(explanation.attribution(i).astype(np.float64) for i in indices)
        probability, base = target_maps(explanation, indices)
        note = flat_note(explanation, base - probability, label)
        panel_title = (
            f"Attribution: gain in P({label}), only the patch shown"
            if explanation.mode == "reveal"
            else f"Attribution: drop in P({label})"
        )
    else:
        if target is not None or labels is not None:
            given = " and ".join(
                n for n, v in (("target", target), ("labels", labels)) if v is not None
            )
            raise ValueError(
                f"{given} choose and name a class of an OcclusionResult, but explanation is "
                f"an array: one class's map already, drawn as it is. Pass the result "
                f"(ow.occlusion_map(...), or explainer.occlusion_map(x)) to choose the class"
            )
        attribution = np.asarray(explanation, dtype=np.float64)
        if attribution.ndim == 3 and attribution.shape[0] == 1:
            attribution = attribution[0]
        if attribution.ndim != 2:
            raise ValueError(
                f"explanation must be one (H, W) attribution map or an OcclusionResult; got "
                f"shape {attribution.shape} (pass explanation[i] for one of several targets)"
            )
        panel_title = "Attribution (probability drop)"
        finite = np.abs(attribution[np.isfinite(attribution)])
        if finite.size and finite.max() <= palette.FLAT_BELOW:
            note = (
                f"no pixel's attribution is larger than {palette.FLAT_BELOW:g}: "
                "occluding changes nothing here"
            )
    raw = load_image(image)
    shown = display_rgb(raw.pixels, raw.value_range)
    h, w = shown.shape[:2]
    extent = (0, w, h, 0)  # stretch the map over the image even if the sizes differ
    m = palette.symmetric_max(attribution, scale=scale)
    kwargs = {"cmap": colormap("diverging", cmap), "vmin": -m, "vmax": m, "extent": extent}
    fig, axes = _axes(axes, 3, (15, 5))
    if len(axes) == 3:
        axes[0].imshow(shown)
        axes[0].set_title("Original image")
        mappable = axes[1].imshow(attribution, **kwargs)
        axes[1].set_title(panel_title)
        fig.colorbar(mappable, ax=axes[1], fraction=0.046, pad=0.04)
    overlay_ax = axes[-1]
    # In grey under the map, as in the widget: no colour of the image passes for a map colour.
    overlay_ax.imshow(underlay(shown) if alpha > 0 else shown, extent=extent)
    # Faint where little changes, as in the widget, so noise does not look like evidence.
    weight = alpha * palette.sensitivity_alpha(attribution, m)
    overlay_ax.imshow(attribution, alpha=weight, **kwargs)
    overlay_ax.set_title("Overlay")
    for ax in axes:
        ax.axis("off")
    heading = "\n".join(part for part in (title, note) if part)
    if heading:
        fig.suptitle(heading)
    save_figure(fig, path)
    return fig


def plot_class_map(
    result,
    target=None,
    labels=None,
    axes=None,
    save_path=None,
    max_legend=None,
    cmap=None,
    same_colors_as=None,
):
    """Image, target-probability map and predicted-class map with a legend of names and counts.

    The probability map shows the target's probability with the patch at each position: low
    (dark) means the covered region mattered, as in the classic Kaggle figure. The class map
    colours every position by the class the model predicted with the patch there, in the colours
    the widget gives those classes (:func:`occlusion_widget.palette.class_colors`).

    Parameters
    ----------
    result : OcclusionResult
    target : int, str or list, optional
        Class for the probability map (index or name), or a list of classes whose
        probabilities are summed. Default: the unoccluded prediction.
    labels : list, dict, "imagenet", "cifar10" or None
        Class names; a list must have one name per class.
    axes : matplotlib Axes or sequence of three, optional
        Draw into existing axes; a single Axes gets the class map only.
    save_path : str or path, optional
        Where to write the figure, as for :func:`visualize`.
    max_legend : int, optional
        Most classes with a colour of their own (at most 12, the palette's size, the default);
        the rarest of the rest share one "other classes" entry.
    cmap : str, optional
        Colour map name of the probability panel; default: the widget's (viridis).
    same_colors_as : OcclusionResult or list of them, optional
        Other sweeps of the image drawn beside this one (a reveal sweep, another patch size):
        the class colours are chosen over all their classes, so that one colour means one class
        in every panel (:func:`occlusion_widget.palette.shared_class_colors`). Pass each panel
        the others.

    Returns
    -------
    matplotlib.figure.Figure
        A pyplot figure that a notebook shows once, also when it is the cell's value.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           baseline="black", progress=False)
    >>> fig = ow.plot_class_map(result, labels=["bright", "dark"])
    >>> [t.get_text() for t in fig.axes[2].get_legend().get_texts()]
    ['bright: 4 (unoccluded)']
    """
    from matplotlib.patches import Patch

    if not isinstance(result, OcclusionResult):
        raise TypeError(f"result must be an OcclusionResult; got {type(result).__name__}")
    path = checked_save_path(save_path)
    names = _labels.as_list(labels, result.num_classes)
    indices, label = resolve_target(result, target, names)
    colors = _class_colors(result, same_colors_as, max_legend)
    shown = display_rgb(result.image, result.value_range)
    h, w = shown.shape[:2]
    extent = (0, w, h, 0)
    fig, axes = _axes(axes, 3, (16, 5))
    if len(axes) == 3:
        axes[0].imshow(shown)
        axes[0].set_title(
            f"Image: {names[result.base_class]} "
            f"({result.base_probabilities[result.base_class]:.2f})"
        )
        probability, base = target_maps(result, indices)
        prob = axes[1].imshow(
            probability, cmap=colormap("sequential", cmap), vmin=0.0, vmax=1.0, extent=extent
        )
        heading = (
            f"P({label}) with only the patch shown\n(high = the patch alone is evidence)"
            if result.mode == "reveal"
            else f"P({label}) with the patch here\n(low = important)"
        )
        note = flat_note(result, base - probability, label)
        axes[1].set_title(heading + (f"\n{note}" if note else ""))
        fig.colorbar(prob, ax=axes[1], fraction=0.046, pad=0.04)

    ax = axes[-1]
    ax.imshow(underlay(shown))
    ax.imshow(cell_rgba(result, colors.rgb(result.predicted_classes())), interpolation="nearest")
    handles = []
    for classes, count, colour in colors.legend():
        if len(classes) == 1 and classes[0] in colors.named:
            mark = " (unoccluded)" if classes[0] == result.base_class else ""
            text = f"{names[classes[0]]}: {count}{mark}"
        else:
            text = f"other classes ({len(classes)}): {count}"
        handles.append(Patch(color=rgb01(colour), label=text))
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize="small",
        title="predicted class: positions",
    )
    ax.set_title(
        "Predicted class with only the patch shown"
        if result.mode == "reveal"
        else "Predicted class with the patch here"
    )
    for a in axes:
        a.axis("off")
    save_figure(fig, path)
    return fig


def _class_colors(result, others, slots):
    """The class map's colours: its own, or chosen together with ``others``' classes."""
    limit = len(palette.CATEGORICAL)
    if slots is not None and (
        isinstance(slots, bool)
        or not isinstance(slots, numbers.Integral)
        or not 1 <= slots <= limit
    ):
        raise ValueError(
            f"max_legend must be a whole number of classes from 1 to {limit} (the palette's "
            f"distinct colours) or None; got {slots!r}"
        )
    classes = result.predicted_classes()
    if others is None:
        return palette.class_colors(classes, result.base_probabilities, slots=slots)
    try:  # one result, or any iterable of them; anything else is refused below, by its type
        others = [others] if isinstance(others, (OcclusionResult, str, dict)) else list(others)
    except TypeError:
        others = [others]
    for other in others:
        if not isinstance(other, OcclusionResult):
            raise TypeError(
                f"same_colors_as must be an OcclusionResult or a list of them; got "
                f"{type(other).__name__}"
            )
        if other.num_classes != result.num_classes:
            raise ValueError(
                f"same_colors_as: a sweep with {other.num_classes} classes cannot share class "
                f"colours with one of {result.num_classes}; pass sweeps of the same model"
            )
    together = [other.predicted_classes() for other in others]
    return palette.shared_class_colors(classes, together, result.base_probabilities, slots=slots)
