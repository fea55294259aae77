"""What every figure shares: the image as shown, the target (one class or a group), the colour
maps built from the palette, honest titles for maps that say nothing, and detached figures."""

from __future__ import annotations

import difflib
import numbers
import os
from pathlib import Path

import numpy as np

from .. import palette
from ..engine.flat import flat_note as _flat_note
from ..engine.images import to_display_rgba
from ..engine.paths import checked_output_path


def display_rgb(image, value_range=None) -> np.ndarray:
    """``(H, W, 3)`` uint8 of a raw image: the engine's one display function
    (:func:`~occlusion_widget.engine.images.to_display_rgba`, which the browser's canvas gets
    too) without its alpha channel."""
    return np.ascontiguousarray(to_display_rgba(image, value_range)[..., :3])


def underlay(rgb) -> np.ndarray:
    """``(H, W, 3)`` uint8: the image as drawn under a map, in light grey.

    A map's colours must not be confused with the image's: over a dark blue background the
    diverging map's blue half would vanish, and the background itself would read as "occluding
    raises it". So the image under a map keeps only its luminance (as Captum's
    ``blended_heat_map`` draws it), lifted into 64..255 so that the ramps' dark ends still stand
    out. Integer arithmetic, the same in ``js/state/underlay.ts``, so the widget, ``save()`` and
    every figure draw the same greys.

    Examples
    --------
    >>> underlay(np.array([[[69, 100, 168], [255, 255, 255]]], np.uint8)).tolist()
    [[[138, 138, 138], [255, 255, 255]]]
    """
    pixels = np.asarray(rgb)[..., :3].astype(np.int64)
    luma = 299 * pixels[..., 0] + 587 * pixels[..., 1] + 114 * pixels[..., 2]  # 0..255000
    grey = (3 * luma + 256000 + 2000) // 4000  # 64 + 3/4 of the luminance, rounded
    return np.repeat(grey[..., None], 3, axis=-1).astype(np.uint8)


def new_figure(figsize):
    """A pyplot figure that a notebook shows exactly once.

    Jupyter's inline backend draws every figure pyplot holds at the end of a cell, and IPython
    drew the returned figure a second time as the cell's value (the seed notebook showed each
    figure twice). The figure stays in pyplot, as ``plt.subplots`` would leave it, so a figure
    made in a loop or followed by ``plt.show()`` still shows; its own ``_ipython_display_``
    draws it and takes it out of pyplot, so whichever comes first (the cell's value, the
    inline backend's end-of-cell drawing, or ``display(fig)``) is the only one that draws it.
    No global setting changes.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize)
    fig._ipython_display_ = lambda: _display_once(fig)
    return fig


def _display_once(fig) -> None:
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)  # drawn now: not again when the cell ends
    display(Image(buffer.getvalue()))


def checked_save_path(save_path):
    """``save_path`` checked before anything is drawn: None, a file object, or a Path whose
    folder exists and that is no folder itself (matplotlib wrote ``<folder>.png`` beside it)."""
    if save_path is None or hasattr(save_path, "write"):
        return save_path
    if not isinstance(save_path, (str, os.PathLike)):
        raise TypeError(
            f"save_path must be a file path (str or Path), a file object or None; "
            f"got {type(save_path).__name__}"
        )
    return checked_output_path(save_path, "the figure", "figure.png")


def save_figure(fig, path) -> None:
    """Write ``fig`` to a path from :func:`checked_save_path`: in the format its suffix names,
    and as PNG under exactly that name when it has none (matplotlib added ``.png`` to it, so
    ``os.devnull`` became a file ``/dev/null.png``)."""
    if path is None:
        return
    fmt = "png" if isinstance(path, Path) and not path.suffix else None
    fig.savefig(path, bbox_inches="tight", dpi=100, format=fmt)


def resolve_target(result, target, names) -> tuple[tuple[int, ...], str]:
    """``target`` (None, an index, a name, or a list of them) -> class indices and a label.

    A group's label is its names joined by " + ": its probability is their sum.
    """
    if target is None:
        indices = (result.base_class,)
    elif isinstance(target, (list, tuple)) or (isinstance(target, np.ndarray) and target.ndim == 1):
        if len(target) == 0:
            raise ValueError("target is an empty list; give one class or a list of classes")
        indices = tuple(dict.fromkeys(_one_class(result, t, names) for t in target))
    else:
        indices = (_one_class(result, target, names),)
    return indices, " + ".join(names[i] for i in indices)


def _one_class(result, target, names) -> int:
    if isinstance(target, np.generic):
        target = target.item()
    if isinstance(target, str):
        if target in names:
            return names.index(target)
        close = difflib.get_close_matches(target, names, n=3)
        advice = (
            f"did you mean {', '.join(map(repr, close))}?"
            if close
            else ("pass labels= to name the classes, or give the class index")
        )
        raise ValueError(f"no class is named {target!r}; {advice}")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(
            f"target must be a class index, a class name or a list of them; got {target!r}"
        )
    return result._target(int(target))


def target_maps(result, indices) -> tuple[np.ndarray, float]:
    """``(rows, cols)`` probability of the target (a group's probabilities summed), and what a
    patch's effect is measured against: the unoccluded image's probability, or in reveal mode
    the all-baseline image's (so ``base - probability`` is minus the patch's gain there)."""
    idx = list(indices)
    probability = result.probabilities[:, :, idx].astype(np.float64).sum(axis=2)
    probability[~np.asarray(result.computed, bool)] = np.nan
    reference = result.base_probabilities
    if getattr(result, "mode", "occlude") == "reveal":
        reference = result.baseline_probabilities
    base = float(np.asarray(reference, np.float64)[idx].sum())
    return probability, base


def flat_note(result, sensitivity, label) -> str | None:
    """The sentence a title needs when no computed position changes the target noticeably:
    the engine's one sentence (:func:`~occlusion_widget.engine.flat.flat_note`), as the widget
    says it. ``sensitivity`` is NaN where not computed."""
    return _flat_note(sensitivity, result.patch_size, label, getattr(result, "mode", "occlude"))


def colormap(kind: str, name: str | None = None):
    """The palette's diverging or sequential ramp as a matplotlib colour map (or a named one)."""
    import matplotlib
    from matplotlib.colors import LinearSegmentedColormap

    if name is not None:
        return matplotlib.colormaps[name]
    ramp = palette.DIVERGING if kind == "diverging" else palette.SEQUENTIAL
    return LinearSegmentedColormap.from_list(f"occlusion_{kind}", np.asarray(ramp) / 255.0)


def rgb01(colour) -> tuple[float, float, float]:
    """0..255 RGB -> matplotlib's 0..1 floats."""
    return tuple(c / 255.0 for c in colour)
