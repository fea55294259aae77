"""The widget's current view as a PNG, drawn with matplotlib in the browser's colours.

The colours come from ``data/palettes.json``, the file the browser bundle reads too; the cell
geometry and the colour-bar range mirror ``js/heatmap.ts`` and ``js/scales.ts``, so a saved
figure looks like the widget.
Matplotlib is imported only when a figure is drawn: the widget itself never needs it.
"""

from __future__ import annotations

import json
import math
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

# -- the palettes: one file, read by js/colormap.ts too ---------------------------------------


def _hex(code: str) -> tuple[int, int, int]:
    return (int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16))


_PALETTES = json.loads(files("occlusion_widget").joinpath("data/palettes.json").read_text())
#: Sensitivity, centred on zero: blue (occluding raises the target) -> grey -> red (lowers it).
DIVERGING = tuple(tuple(point) for point in _PALETTES["diverging"])
#: Probability 0..1: viridis sampled at nine points.
SEQUENTIAL = tuple(_hex(code) for code in _PALETTES["sequential"])
#: Predicted classes, by rank of unoccluded probability: Okabe & Ito, then Tol's "muted".
CATEGORICAL = tuple(_hex(code) for code in _PALETTES["categorical"])
OTHER_CLASS = tuple(_PALETTES["other_class"])
#: Opacity of a sensitivity cell whose drop is zero (alphaOf in js/scales.ts).
SENSITIVITY_ALPHA_FLOOR = float(_PALETTES["sensitivity_alpha_floor"])


def sample_ramp(ramp: tuple[tuple[int, int, int], ...], t: np.ndarray) -> np.ndarray:
    """RGB uint8 of a ramp at ``t`` in 0..1 (clamped), as ``sampleRamp`` in colormap.ts.

    Examples
    --------
    >>> sample_ramp(SEQUENTIAL, np.array([0.0, 1.0])).tolist()
    [[68, 1, 84], [253, 231, 37]]
    """
    points = np.asarray(ramp, np.float64)
    last = len(points) - 1
    x = np.clip(np.asarray(t, np.float64), 0.0, 1.0) * last
    i = np.minimum(last - 1, np.floor(x)).astype(np.int64)
    f = (x - i)[..., None]
    # Math.round rounds halves up; numpy's rint would round them to even.
    return np.floor(points[i] + (points[i + 1] - points[i]) * f + 0.5).astype(np.uint8)


def nice_ceil(value: float) -> float:
    """Round a positive magnitude up to two significant digits (``niceCeil``).

    Examples
    --------
    >>> nice_ceil(0.4321)
    0.44
    """
    if not (value > 0) or not math.isfinite(value):
        return 1.0
    step = 10.0 ** (math.floor(math.log10(value)) - 1)
    return round(math.ceil(value / step - 1e-9) * step, 12)


def symmetric_max(values: np.ndarray) -> float:
    """``m`` of the symmetric colour range ``[-m, m]`` covering every finite value.

    Examples
    --------
    >>> symmetric_max(np.array([0.2, -0.31, np.nan]))
    0.31
    """
    finite = np.abs(values[np.isfinite(values)])
    m = float(finite.max()) if finite.size else 0.0
    return nice_ceil(m) if m > 0 else 0.01


def class_ranks(base_probabilities: np.ndarray) -> np.ndarray:
    """Rank of each class by unoccluded probability (ties by index), as ``classRanks``.

    Examples
    --------
    >>> class_ranks(np.array([0.2, 0.5, 0.3])).tolist()
    [2, 0, 1]
    """
    order = np.lexsort((np.arange(base_probabilities.size), -base_probabilities))
    ranks = np.empty(base_probabilities.size, np.int64)
    ranks[order] = np.arange(base_probabilities.size)
    return ranks


# -- js/heatmap.ts -------------------------------------------------------------------------------


def axis_lookup(starts: np.ndarray, size: int, extent: int) -> np.ndarray:
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


def cell_colors(
    view: str, result: Any, target: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """RGB per cell, a computed mask, and what the colour bar or legend shows.

    Examples
    --------
    >>> rgb, computed, scale = cell_colors("probability", result, 3)  # doctest: +SKIP
    >>> scale["kind"]  # doctest: +SKIP
    'sequential'
    """
    computed = np.asarray(result.computed, bool)
    probability = result.probabilities[:, :, target].astype(np.float64)
    if view == "predicted_class":
        classes = result.predicted_classes()
        ranks = class_ranks(result.base_probabilities)[np.maximum(classes, 0)]
        palette = np.asarray((*CATEGORICAL, OTHER_CLASS), np.uint8)
        rgb = palette[np.minimum(ranks, len(CATEGORICAL))]
        return rgb, computed, {"kind": "categorical", "classes": classes}
    if view == "probability":
        rgb = sample_ramp(SEQUENTIAL, np.nan_to_num(probability))
        return rgb, computed, {"kind": "sequential", "lo": 0.0, "hi": 1.0}
    sensitivity = float(result.base_probabilities[target]) - probability
    m = symmetric_max(np.where(computed, sensitivity, np.nan))
    rgb = sample_ramp(DIVERGING, (np.nan_to_num(sensitivity) + m) / (2 * m))
    # As in js/scales.ts: a cell is as opaque as its drop is large, so the image shows where
    # occluding changes nothing.
    weight = SENSITIVITY_ALPHA_FLOOR + (1 - SENSITIVITY_ALPHA_FLOOR) * np.minimum(
        1.0, np.abs(np.nan_to_num(sensitivity)) / m
    )
    weight = np.round(255 * weight) / 255
    return rgb, computed, {"kind": "diverging", "lo": -m, "hi": m, "weight": weight}


def compose(
    image: np.ndarray,
    result: Any,
    rgb: np.ndarray,
    computed: np.ndarray,
    opacity: float,
    weight: np.ndarray | None = None,
):
    """The image with the cell colours laid over it at ``opacity``, ``(H, W, 3)`` uint8.

    Cells not computed stay transparent, as in the widget (which hatches them).

    Examples
    --------
    >>> compose(w.image, w.result, rgb, computed, 0.7).shape  # doctest: +SKIP
    (224, 224, 3)
    """
    h, w = image.shape[:2]
    rows = axis_lookup(result.tops, result.patch_size[0], h)
    cols = axis_lookup(result.lefts, result.patch_size[1], w)
    overlay = rgb[rows[:, None], cols[None, :]].astype(np.float64)
    cell_alpha = computed.astype(np.float64) if weight is None else computed * weight
    alpha = opacity * cell_alpha[rows[:, None], cols[None, :]][..., None]
    base = np.asarray(image, np.float64)[..., :3]
    return np.floor(base * (1 - alpha) + overlay * alpha + 0.5).astype(np.uint8)


def save_view(
    path: str | Path,
    *,
    view: str,
    image: np.ndarray,
    result: Any,
    target: int,
    labels: list[str],
    opacity: float,
    selected: list[int] | None = None,
    dpi: int = 150,
) -> Path:
    """Draw the current view (map over image, colour bar or legend) and write a PNG.

    Examples
    --------
    >>> save_view("map.png", view="sensitivity", image=w.image, result=w.result, target=1,
    ...           labels=w.labels, opacity=0.7)  # doctest: +SKIP
    PosixPath('map.png')
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    path = Path(path)
    rgb, computed, scale = cell_colors(view, result, target)
    picture = compose(image, result, rgb, computed, opacity, scale.get("weight"))

    # A Figure without pyplot: no global state, safe from the widget's worker thread too.
    fig = Figure(figsize=(7.2, 5.0), dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(picture, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if selected is not None:
        top, left, ph, pw = result.box(*selected)
        ax.add_patch(
            Rectangle((left - 0.5, top - 0.5), pw, ph, fill=False, edgecolor="white", lw=2)
        )
    name = labels[target] if 0 <= target < len(labels) else f"class {target}"
    titles = {
        "sensitivity": f"Drop in P({name}) when occluded",
        "probability": f"P({name}) with the patch at each position",
        "predicted_class": "Predicted class with the patch at each position",
    }
    title = titles.get(view, view)
    if not result.complete:
        title += f"  ({result.done}/{result.total} positions)"
    ax.set_title(title, fontsize=11)

    if scale["kind"] == "categorical":
        classes = scale["classes"]
        values, counts = np.unique(classes[classes >= 0], return_counts=True)
        order = np.lexsort((values, -counts))
        ranks = class_ranks(result.base_probabilities)
        total = max(1, int(counts.sum()))
        handles = []
        for i in order[:12]:
            cls, count = int(values[i]), int(counts[i])
            colour = CATEGORICAL[ranks[cls]] if ranks[cls] < len(CATEGORICAL) else OTHER_CLASS
            marker = " (unoccluded)" if cls == result.base_class else ""
            label = f"{labels[cls]}{marker}: {count} ({100 * count / total:.0f}%)"
            handles.append(Patch(color=np.asarray(colour) / 255, label=label))
        fig.legend(handles=handles, loc="outside right upper", fontsize=8, title="predicted class")
    else:
        ramp = DIVERGING if scale["kind"] == "diverging" else SEQUENTIAL
        cmap = LinearSegmentedColormap.from_list(view, np.asarray(ramp) / 255.0)
        mappable = matplotlib.cm.ScalarMappable(Normalize(scale["lo"], scale["hi"]), cmap)
        bar = fig.colorbar(mappable, ax=ax, shrink=0.8)
        bar.set_label("probability drop" if view == "sensitivity" else "probability")
    fig.savefig(path, format="png")
    return path
