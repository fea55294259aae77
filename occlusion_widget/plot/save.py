"""The widget's current view as an image file, drawn with matplotlib in the widget's colours.

``OcclusionWidget.save()`` calls :func:`save_view`. It draws on a ``Figure`` with its own Agg
canvas: pyplot and the global backend are never touched, so a notebook's next ``plt.plot`` still
shows, and the widget's worker thread can save too.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from .. import labels as _labels
from .. import palette
from ._common import colormap, display_rgb, flat_note, resolve_target, rgb01, target_maps
from .cells import cell_colors, compose

__all__ = ["FORMATS", "render_view", "save_view"]

#: File suffix -> the format written (matplotlib writes JPEG through Pillow).
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg"}
_TITLES = {
    "sensitivity": "Drop in P({label}) when occluded",
    "probability": "P({label}) with the patch at each position",
    "predicted_class": "Predicted class with the patch at each position",
}


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        allowed = ", ".join(FORMATS)
        named = f"the suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise ValueError(
            f"cannot save the view as {path.name!r}: it has {named}, and the view is written "
            f"in the format its suffix names; use one of {allowed}"
        )
    return FORMATS[suffix]


def save_view(
    path,
    result,
    *,
    view: str,
    target,
    labels,
    selected=None,
    opacity: float = 0.6,
    top_k: int = 5,
    dpi: int = 150,
    scale: str = "auto",
    image=None,
) -> Path:
    """Draw a view of a result (map over image, colour bar or legend) and write it to ``path``.

    Parameters
    ----------
    path : str or Path
        Where to write; the suffix picks the format: .png, .svg, .pdf, .jpg or .jpeg.
    result : OcclusionResult
    view : {"sensitivity", "probability", "predicted_class"}
    target : int, str or list
        The class (index or name), or a list of classes whose probabilities are summed.
    labels : list, dict, "imagenet", "cifar10" or None
        Class names.
    selected : (int, int), optional
        A pinned grid cell ``(row, col)``: its box is outlined, and a side panel shows the
        occluded image and the ``top_k`` classes there.
    opacity : float, default 0.6
        Opacity of the map over the image.
    top_k : int, default 5
        Classes listed for the pinned cell.
    dpi : int, default 150
    scale : {"auto", "fixed"}
        Sensitivity colour range: fit the largest change but never narrower than
        ``±palette.MIN_RANGE`` ("auto"), or -1..1 ("fixed").
    image : array-like, optional
        The image under the map as shown (default: ``result.image`` in its value range).

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        An unknown suffix, view or scale, or a selected cell outside the grid.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> from occlusion_widget.plot import save_view
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           baseline="black", progress=False)
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "view.svg")
    >>> save_view(path, result, view="sensitivity", target=0, labels=None).suffix
    '.svg'
    """
    path = Path(path)
    fmt = _format_of(path)  # before drawing: a wrong suffix fails fast
    fig = render_view(
        result,
        view=view,
        target=target,
        labels=labels,
        selected=selected,
        opacity=opacity,
        top_k=top_k,
        dpi=dpi,
        scale=scale,
        image=image,
    )
    fig.savefig(path, format=fmt, dpi=dpi)
    return path


def render_view(
    result,
    *,
    view: str,
    target,
    labels,
    selected=None,
    opacity: float = 0.6,
    top_k: int = 5,
    dpi: int = 150,
    scale: str = "auto",
    image=None,
):
    """The figure :func:`save_view` writes: a ``Figure`` on its own Agg canvas, not in pyplot.

    Parameters are those of :func:`save_view`, less ``path``.

    Examples
    --------
    >>> fig = render_view(result, view="probability", target=1, labels=["sky", "square", "other"])
    >>> fig.axes[0].get_title()
    'P(square) with the patch at each position'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    palette.check_scale(scale)
    names = _labels.as_list(labels, result.num_classes)
    indices, label = resolve_target(result, target, names)
    if selected is not None:
        selected = _check_cell(result, selected)
    colours = cell_colors(view, result, indices, scale=scale)
    shown = display_rgb(result.image, result.value_range) if image is None else display_rgb(image)
    picture = compose(shown, result, colours["rgb"], opacity, colours["alpha"])

    # A Figure with its own canvas, never pyplot: no global state changes.
    width = 11.0 if selected is not None else 7.2
    fig = Figure(figsize=(width, 5.0), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    if selected is None:
        ax = fig.add_subplot()
    else:
        grid = fig.add_gridspec(2, 2, width_ratios=(2, 1))
        ax = fig.add_subplot(grid[:, 0])
        _draw_pinned(fig, grid, result, selected, names, indices, top_k)
    ax.imshow(picture, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if selected is not None:
        _outline(ax, result.box(*selected))
    title = _TITLES[view].format(label=label)
    if not result.complete:
        title += f"  ({result.done}/{result.total} positions)"
    if view != "predicted_class":
        probability, base = target_maps(result, indices)
        note = flat_note(result, base - probability, label)
        if note:
            title += f"\n{note}"
    if colours["kind"] == "categorical":
        _legend(fig, result, colours["colors"], names)
    else:
        _colorbar(fig, ax, colours, view)
    _fit_title(fig, ax, title, fontsize=11)
    return fig


def _fit_title(fig, ax, title: str, fontsize: float) -> None:
    """Set ``ax``'s title with its lines wrapped at spaces to fit inside the figure.

    matplotlib neither wraps nor shortens a title: one wider than the room it has, centred on
    the map, ran off the figure's edges and was cut (a predicted-class map's title beside its
    legend, a group's long label). The layout moves the map when the title grows, so the fit
    is checked again after each wrap.
    """
    ax.set_title(title, fontsize=fontsize)
    for _ in range(3):
        fig.draw_without_rendering()  # runs the layout: the map's box is where it will be
        renderer = fig.canvas.get_renderer()
        box = ax.get_window_extent(renderer)
        centre = (box.x0 + box.x1) / 2
        margin = 0.02 * fig.bbox.width
        room = 2 * min(centre - fig.bbox.x0, fig.bbox.x1 - centre) - 2 * margin
        if ax.title.get_window_extent(renderer).width <= room:
            return
        measure = partial(_text_width, renderer, ax.title.get_fontproperties())
        ax.set_title(_wrap(title, room, measure), fontsize=fontsize)


def _text_width(renderer, font, text: str) -> float:
    return renderer.get_text_width_height_descent(text, font, ismath=False)[0]


def _wrap(text: str, room: float, width) -> str:
    """``text`` with each line broken at spaces into lines no wider than ``room`` (a word
    wider than that stays whole on its own line)."""
    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and width(candidate) > room:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def _check_cell(result, selected) -> tuple[int, int]:
    try:
        row, col = (int(v) for v in selected)
    except (TypeError, ValueError):
        raise ValueError(f"selected must be a (row, col) grid cell; got {selected!r}") from None
    if not (0 <= row < result.rows and 0 <= col < result.cols):
        raise ValueError(
            f"selected cell {(row, col)} is outside the {result.rows}x{result.cols} grid"
        )
    return row, col


def _outline(ax, box) -> None:
    from matplotlib.patches import Rectangle

    top, left, h, w = box
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), w, h, fill=False, edgecolor="white", lw=2))


def _draw_pinned(fig, grid, result, cell, names, indices, top_k) -> None:
    """The pinned cell as the widget's inspector shows it: occluded image, then the top-k."""
    row, col = cell
    image_ax = fig.add_subplot(grid[0, 1])
    image_ax.imshow(display_rgb(result.occluded_image(row, col), result.value_range))
    _outline(image_ax, result.box(row, col))
    image_ax.set_xticks([])
    image_ax.set_yticks([])
    image_ax.set_title(f"Occluded at row {row}, column {col}", fontsize=10)
    bars = fig.add_subplot(grid[1, 1])
    bars.set_xlim(0, 1)
    if not result.computed[row, col]:
        bars.text(0.5, 0.5, "not computed yet", ha="center", va="center")
        bars.set_axis_off()
        return
    probabilities = np.asarray(result.probabilities[row, col], np.float64)
    k = max(1, min(int(top_k), probabilities.size))
    top = np.lexsort((np.arange(probabilities.size), -probabilities))[:k]
    y = np.arange(k)[::-1]
    target_colour = rgb01(palette.DIVERGING[-1])
    colours = [target_colour if c in indices else (0.45, 0.45, 0.45) for c in top]
    bars.barh(y, probabilities[top], color=colours)
    # The unoccluded probability of each class as a tick, so the change reads at a glance.
    bars.scatter(result.base_probabilities[top], y, marker="|", s=200, color="black", zorder=3)
    bars.set_yticks(y, [names[c] for c in top], fontsize=8)
    bars.set_xlabel("probability (| = unoccluded)", fontsize=8)
    bars.set_title(f"Top {k} with the patch here", fontsize=10)


def _legend(fig, result, colors, names) -> None:
    from matplotlib.patches import Patch

    total = max(1, sum(colors.counts.values()))
    handles = []
    for classes, count, colour in colors.legend():
        if classes[0] in colors.named:
            marker = " (unoccluded)" if classes[0] == result.base_class else ""
            text = f"{names[classes[0]]}{marker}"
        else:
            text = f"other classes ({len(classes)})"
        label = f"{text}: {count} ({100 * count / total:.0f}%)"
        handles.append(Patch(color=rgb01(colour), label=label))
    fig.legend(handles=handles, loc="outside right upper", fontsize=8, title="predicted class")


def _colorbar(fig, ax, colours, view) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    mappable = ScalarMappable(Normalize(colours["lo"], colours["hi"]), colormap(colours["kind"]))
    bar = fig.colorbar(mappable, ax=ax, shrink=0.8)
    bar.set_label("probability drop" if view == "sensitivity" else "probability")
