"""The traits :class:`~occlusion_widget.widget.OcclusionWidget` syncs with the browser.

Their meaning is ``docs/protocol.md``; the widget class adds the observers, the session and the
methods. Kept apart so that the widget module holds behaviour, not declarations.
"""

from __future__ import annotations

import anywidget
import traitlets

from .._version import __version__
from ..engine import BASELINE_NAMES
from ..engine.params import SWEEP_MODES
from ..palette import COLOR_SCALES, VIEWS
from ..session.runs import STATUSES
from .owned import KernelOwned, KernelOwnedError
from .traits import (
    Array,
    Cell,
    Choice,
    Count,
    Fraction,
    Pair,
    Target,
    array_serialization,
    grid_serialization,
)

__all__ = ["COLOR_SCALES", "KERNEL_OWNED", "VIEWS", "KernelOwnedError", "WidgetTraits"]

_RESULT = "it shows the sweep's result: read it, or start another sweep with w.recompute(...)"
_PARAM = "it shows the current sweep's {0}: change it with w.recompute({0}=...)"

#: The traits only the kernel writes (``py -> js`` in docs/protocol.md), and what to do instead.
#: The browser's writes (ipywidgets' ``set_state``) and the kernel's own (``set_trait``) pass.
KERNEL_OWNED = {
    **{name: _PARAM.format(name) for name in ("patch_size", "stride", "baseline", "mode")},
    **{
        name: _RESULT
        for name in (
            "grid",
            "base_probabilities",
            "baseline_probabilities",
            "topk_indices",
            "topk_probabilities",
            "target_map",
            "estimated",
            "baseline_image",
            "note",
        )
    },
    "image": "it shows the swept image: make another widget for another image",
    "labels": "the class names are given when the widget is made (labels=...)",
    "status": "the sweep sets it: use w.recompute(), w.cancel() and w.wait()",
    "progress": "the sweep sets it: use w.recompute(), w.cancel() and w.wait()",
    "error": "the sweep sets it: use w.recompute(), w.cancel() and w.wait()",
}


class WidgetTraits(KernelOwned, anywidget.AnyWidget):
    """The synced state of an occlusion widget, and nothing else.

    Examples
    --------
    >>> "target_map" in WidgetTraits.class_trait_names(sync=True)
    True
    """

    _version = traitlets.Unicode(__version__).tag(sync=True)

    # -- py -> js: what the views draw ---------------------------------------------------------
    image = Array("uint8", 3).tag(sync=True, **array_serialization)
    baseline_image = Array("uint8", 3).tag(sync=True, **array_serialization)
    grid = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True, **grid_serialization)
    # Names come from labels.as_list, all str: no per-element check (21,843 of them for some).
    labels = traitlets.List().tag(sync=True)
    base_probabilities = Array("float32", 1).tag(sync=True, **array_serialization)
    # Reveal mode: the all-baseline image's probabilities (what a patch's gain is measured
    # against); None in occlude mode.
    baseline_probabilities = Array("float32", 1).tag(sync=True, **array_serialization)
    topk_indices = Array("int32", 3).tag(sync=True, **array_serialization)
    topk_probabilities = Array("float32", 3).tag(sync=True, **array_serialization)
    target_map = Array("float32", 2).tag(sync=True, **array_serialization)
    # method="approximate": 1 where the map's values are estimated, not computed; else None.
    estimated = Array("uint8", 2).tag(sync=True, **array_serialization)
    baseline_options = traitlets.List(traitlets.Unicode(), list(BASELINE_NAMES)).tag(sync=True)
    top_k = Count(5).tag(sync=True)
    status = traitlets.Enum(STATUSES, "idle").tag(sync=True)
    progress = traitlets.Dict({"done": 0, "total": 0, "elapsed": 0.0, "eta": None}).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    # The current sweep's parameters; the browser asks for new ones in a recompute message.
    patch_size = Pair([16, 16]).tag(sync=True)
    stride = Pair([8, 8]).tag(sync=True)
    baseline = Choice(
        default_value="gray",
        choices_from="baseline_options",
        advice=" (pass an array or colour to recompute(baseline=...) for a custom fill)",
    ).tag(sync=True)
    mode = Choice(SWEEP_MODES, "occlude", advice=" (change it with recompute(mode=...))").tag(
        sync=True
    )
    # Why the map says nothing (e.g. no patch changes the target), or "".
    note = traitlets.Unicode("").tag(sync=True)
    # False on the standalone page: kernel-only controls are switched off there.
    _kernel = traitlets.Bool(True).tag(sync=True)
    # Why Recompute and Probe are off (a saved result without its model); "" with a model.
    _no_model = traitlets.Unicode("").tag(sync=True)
    # A line above the widget naming what it shows (the gallery names the image it opened).
    caption = traitlets.Unicode("").tag(sync=True)

    #: Refused from Python once the widget is made (:class:`~.owned.KernelOwned`).
    _kernel_owned = KERNEL_OWNED

    # -- both ways: what the person chooses ----------------------------------------------------
    target = Target(count_from="_class_count").tag(sync=True)
    view = Choice(VIEWS, "sensitivity").tag(sync=True)
    selected = Cell().tag(sync=True)
    opacity = Fraction(0.7).tag(sync=True)
    color_scale = Choice(COLOR_SCALES, "auto").tag(sync=True)
