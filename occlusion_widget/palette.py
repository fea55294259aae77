"""One palette for the browser, ``save()`` and every figure: the Python twin of
``js/state/colormap.ts`` and the colour rules of ``js/state/scales.ts``.

The colours live in ``data/palettes.json``, which the browser bundle imports too, so a class, a
probability or a drop has the same colour in the widget, in a saved view and in a figure. This
module is numpy only: it says which colour, never how to draw it. The same file lists the views
a map can show and its colour scales (:data:`VIEWS`, :data:`COLOR_SCALES`), for Python and the
browser alike.

The rules
---------
* **Sensitivity** (``base - occluded``) uses the diverging ramp over ``[-m, m]`` where
  ``m = nice_ceil(max(max |value|, MIN_RANGE))``: a map whose largest change is tiny is drawn
  pale, not in full red and blue (``scale="fixed"`` uses ``m = 1``).
* **Probability** uses the sequential ramp over 0..1.
* **Predicted classes**: see :func:`class_colors`. The classes shown in one map each get their own
  colour, ranked by unoccluded probability; past the palette's size the rarest merge into one
  "other" entry.

Examples
--------
>>> from occlusion_widget import palette
>>> palette.symmetric_max(np.array([0.003, -0.001]))  # a flat map is drawn on the floor range
0.05
>>> palette.class_colors(np.array([[4, 4], [1, -1]]), np.array([0, .1, 0, 0, .8])).named
(4, 1)
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

__all__ = [
    "CATEGORICAL",
    "COLOR_SCALES",
    "DIVERGING",
    "FLAT_BELOW",
    "MIN_RANGE",
    "NOT_COMPUTED",
    "OTHER_CLASS",
    "SENSITIVITY_ALPHA_FLOOR",
    "SEQUENTIAL",
    "VIEWS",
    "ClassColors",
    "check_scale",
    "check_view",
    "class_colors",
    "nice_ceil",
    "sample_ramp",
    "sensitivity_alpha",
    "shared_class_colors",
    "symmetric_max",
]

RGB = tuple[int, int, int]


def _hex(code: str) -> RGB:
    return (int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16))


_PALETTES = json.loads(files("occlusion_widget").joinpath("data/palettes.json").read_text())
#: Sensitivity, centred on zero: blue (occluding raises the target) -> grey -> red (lowers it).
DIVERGING: tuple[RGB, ...] = tuple(tuple(point) for point in _PALETTES["diverging"])
#: Probability 0..1: viridis sampled at nine points.
SEQUENTIAL: tuple[RGB, ...] = tuple(_hex(code) for code in _PALETTES["sequential"])
#: Predicted classes: Okabe & Ito (no black), then Tol's "muted"; 12 distinct colours.
CATEGORICAL: tuple[RGB, ...] = tuple(_hex(code) for code in _PALETTES["categorical"])
#: The one legend entry that gathers the classes past the palette's size.
OTHER_CLASS: RGB = tuple(_PALETTES["other_class"])
#: Cells not computed yet (the widget hatches them; figures leave them transparent).
NOT_COMPUTED: RGB = tuple(_PALETTES["not_computed"])
#: Opacity of a sensitivity cell whose drop is zero (``alphaOf`` in js/state/scales.ts).
SENSITIVITY_ALPHA_FLOOR = float(_PALETTES["sensitivity_alpha_floor"])
#: Smallest half-range of the sensitivity colour scale, in probability units.
MIN_RANGE = float(_PALETTES["scale"]["min_range"])
#: A map whose every change is at most this (probability units) says nothing; titles say so.
FLAT_BELOW = float(_PALETTES["scale"]["flat_below"])

#: What a map can show, the browser's list too: the drop in P(target), P(target) itself, or the
#: class the model predicts with the patch at each position.
VIEWS: tuple[str, ...] = tuple(_PALETTES["views"])
#: How the colours span the values: fit to the map (with the floor above) or the whole range.
COLOR_SCALES: tuple[str, ...] = tuple(_PALETTES["color_scales"])


def check_view(view: str) -> str:
    """Validate a ``view`` argument: one of :data:`VIEWS`.

    Examples
    --------
    >>> check_view("probability")
    'probability'
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(map(repr, VIEWS))}; got {view!r}")
    return view


def check_scale(scale: str) -> str:
    """Validate a ``scale`` argument: ``"auto"`` or ``"fixed"`` (:data:`COLOR_SCALES`).

    Examples
    --------
    >>> check_scale("fixed")
    'fixed'
    """
    if scale not in COLOR_SCALES:
        raise ValueError(
            f"scale must be 'auto' (fit the largest change, never narrower than ±{MIN_RANGE}) "
            f"or 'fixed' (sensitivity -1..1, probability 0..1); got {scale!r}"
        )
    return scale


def sample_ramp(ramp, t) -> np.ndarray:
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


def symmetric_max(values, *, scale: str = "auto") -> float:
    """``m`` of the sensitivity colour range ``[-m, m]``.

    ``"auto"``: the largest finite ``|value|`` rounded up, but never below :data:`MIN_RANGE`, so
    noise is drawn pale. ``"fixed"``: 1, the whole probability range.

    Examples
    --------
    >>> symmetric_max(np.array([0.2, -0.31, np.nan]))
    0.31
    >>> symmetric_max(np.array([0.2]), scale="fixed")
    1.0
    """
    if check_scale(scale) == "fixed":
        return 1.0
    values = np.asarray(values, np.float64)
    finite = np.abs(values[np.isfinite(values)])
    m = float(finite.max()) if finite.size else 0.0
    return nice_ceil(max(m, MIN_RANGE))


def sensitivity_alpha(values, m: float) -> np.ndarray:
    """Opacity 0..1 of sensitivity cells: as opaque as the change is large (``alphaOf``).

    Rounded to 1/255 steps as the canvas stores it, so figures and the widget agree.

    Examples
    --------
    >>> sensitivity_alpha(np.array([0.0, 0.05, 0.5]), 0.1).tolist()
    [0.2, 0.6, 1.0]
    """
    magnitude = np.minimum(1.0, np.abs(np.nan_to_num(np.asarray(values, np.float64))) / m)
    alpha = SENSITIVITY_ALPHA_FLOOR + (1 - SENSITIVITY_ALPHA_FLOOR) * magnitude
    return np.floor(255 * alpha + 0.5) / 255


@dataclass(frozen=True)
class ClassColors:
    """The colours of the classes shown in one predicted-class map.

    Attributes
    ----------
    counts : dict of int to int
        Every shown class -> its number of cells, most frequent first (ties by index).
    named : tuple of int
        The classes with a colour of their own, in colour order: ``CATEGORICAL[i]`` is
        ``named[i]``'s colour.
    other : tuple of int
        The classes merged into one "other" entry (colour :data:`OTHER_CLASS`), most frequent
        first; empty when the palette has a colour for every shown class.

    Examples
    --------
    >>> colors = class_colors(np.array([3, 3, 0]), np.array([.5, 0, 0, .2]))
    >>> colors.color(0), colors.color(3)
    ((230, 159, 0), (86, 180, 233))
    >>> [(entry[0], entry[1]) for entry in colors.legend()]
    [((3,), 2), ((0,), 1)]
    """

    counts: dict[int, int]
    named: tuple[int, ...]
    other: tuple[int, ...]

    def color(self, cls: int) -> RGB:
        """RGB of a shown class (an unshown class gets :data:`OTHER_CLASS`)."""
        cls = int(cls)
        return CATEGORICAL[self.named.index(cls)] if cls in self.named else OTHER_CLASS

    def legend(self) -> list[tuple[tuple[int, ...], int, RGB]]:
        """``(classes, cells, colour)`` per legend entry: one per named class, most frequent
        first (ties by index), then one "other" entry gathering :attr:`other`, if any."""
        entries = [
            ((cls,), n, self.color(cls)) for cls, n in self.counts.items() if cls in self.named
        ]
        if self.other:
            entries.append((self.other, sum(self.counts[c] for c in self.other), OTHER_CLASS))
        return entries

    def rgb(self, classes) -> np.ndarray:
        """``classes.shape + (3,)`` uint8 colours; cells not computed (-1) get NOT_COMPUTED."""
        classes = np.asarray(classes, np.int64)
        table = {cls: self.color(cls) for cls in self.counts}
        out = np.empty((*classes.shape, 3), np.uint8)
        out[...] = NOT_COMPUTED
        for cls, colour in table.items():
            out[classes == cls] = colour
        return out


def class_colors(classes, base_probabilities, *, slots: int | None = None) -> ClassColors:
    """Colour the classes predicted in one map: distinct colours, ranked by base probability.

    The rule (``js/state/scales.ts`` must do the same):

    1. The shown classes are the distinct values of ``classes`` that are ``>= 0`` (``-1`` marks
       cells not computed yet).
    2. If there are more than ``slots`` (default: the palette's 12 colours), the ``slots`` most
       frequent keep a colour of their own (ties: higher base probability, then lower index) and
       the rest merge into one "other" entry drawn in :data:`OTHER_CLASS`, which is in no slot.
    3. The classes that keep a colour are ordered by unoccluded (base) probability, highest
       first, ties by lower index; the i-th gets ``CATEGORICAL[i]``. The unoccluded prediction,
       when shown, is therefore always the first colour.

    So no two legend entries share a colour, and a class has the same colour in the widget,
    in ``save()`` and in every figure of the same map.

    Parameters
    ----------
    classes : array-like of int
        Predicted class per cell, -1 where not computed.
    base_probabilities : array-like
        ``(K,)`` probabilities of the unoccluded image.
    slots : int, optional
        Colours available, 1 to ``len(CATEGORICAL)``.

    Returns
    -------
    ClassColors

    Examples
    --------
    >>> colors = class_colors(np.arange(14), np.linspace(1, 0, 14))
    >>> len(colors.named), colors.other
    (12, (12, 13))
    """
    limit = len(CATEGORICAL)
    if slots is None:
        slots = limit
    elif isinstance(slots, bool) or not isinstance(slots, numbers.Integral):
        raise TypeError(f"slots must be a whole number from 1 to {limit}; got {slots!r}")
    slots = int(slots)
    if not 1 <= slots <= limit:
        raise ValueError(
            f"slots must be 1 to {limit}: the palette has {limit} distinct colours; got {slots}"
        )
    base = np.asarray(base_probabilities, np.float32).ravel()
    flat = np.asarray(classes, np.int64).ravel()
    values, counts = np.unique(flat[flat >= 0], return_counts=True)
    if values.size and values[-1] >= base.size:
        raise ValueError(
            f"class {int(values[-1])} has no base probability: got {base.size} probabilities"
        )
    by_count = np.lexsort((values, -base[values], -counts))
    kept = values[by_count[:slots]]
    other = tuple(int(c) for c in values[by_count[slots:]])
    named = tuple(int(c) for c in kept[np.lexsort((kept, -base[kept]))])
    by_frequency = np.lexsort((values, -counts))
    ordered = {int(values[i]): int(counts[i]) for i in by_frequency}
    return ClassColors(counts=ordered, named=named, other=other)


def shared_class_colors(classes, together, base_probabilities, *, slots=None) -> ClassColors:
    """:func:`class_colors` for one map drawn beside others: the colours are chosen over the
    classes of all of them (``together``, e.g. an occlusion map and a reveal map of the same
    image), so a class has one colour in every panel; counts and legend are this map's.

    Examples
    --------
    >>> base = np.array([.6, .3, .1])
    >>> a, b = np.array([0, 1]), np.array([0, 2])
    >>> class_colors(a, base).color(1) == class_colors(b, base).color(2)  # alone: clash
    True
    >>> shared = [shared_class_colors(m, [a, b], base) for m in (a, b)]
    >>> shared[0].color(1) == shared[1].color(2), shared[0].color(0) == shared[1].color(0)
    (False, True)
    """
    every = np.concatenate([np.asarray(m, np.int64).ravel() for m in [classes, *together]])
    joint = class_colors(every, base_probabilities, slots=slots)
    own = class_colors(classes, base_probabilities, slots=slots)
    other = tuple(c for c in own.counts if c not in joint.named)
    return ClassColors(counts=own.counts, named=joint.named, other=other)
