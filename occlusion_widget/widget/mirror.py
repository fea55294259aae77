"""The session mirrored into the widget's synced traits: what a sweep's start, batches, end and
restore change in what the browser draws.

:class:`Mirror` is the widget's ``on_update`` callback (see
:data:`~occlusion_widget.session.OnUpdate`); it runs holding the session's lock, often in the
session's worker thread. The widget itself only declares, validates and observes traits.
The mirror writes with ``set_trait``: a user's assignment to these traits is refused
(:data:`~occlusion_widget.widget.synced.KERNEL_OWNED`).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ..engine import BASELINE_NAMES, OcclusionResult
from ..engine.images import to_display_rgba
from .traits import grid_state

__all__ = ["CUSTOM_BASELINE", "Mirror", "note_for", "target_map"]

LOGGER = logging.getLogger("occlusion_widget.widget")

#: The ``baseline`` trait's value when the fill was given from Python as a number, colour or image.
CUSTOM_BASELINE = "custom"


def target_map(result: OcclusionResult, target: Any) -> np.ndarray:
    """``(rows, cols)`` float32 probability of ``target`` (a group's summed); NaN where not
    computed.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           progress=False)
    >>> target_map(result, [0, 1]).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    return np.asarray(result.probability(target), np.float32)


def note_for(result: OcclusionResult, target: Any, labels: Any) -> str:
    """The ``note`` trait: the engine's sentence when the map says nothing
    (:meth:`OcclusionResult.flat_note`, which also says how many positions a partial map's
    sentence rests on) and what an approximate sweep approximated
    (:meth:`OcclusionResult.approximation_note`), ``""`` when neither applies.

    Examples
    --------
    >>> import occlusion_widget as ow
    >>> flat = lambda b: np.tile([[0.25, 0.75]], (len(b), 1))
    >>> result = ow.occlusion_map(flat, np.ones((8, 8)), patch_size=4, stride=4,
    ...                           progress=False)
    >>> note_for(result, 1, ["a", "b"])
    'no 4×4 patch changes P(b) by more than 0.001'
    """
    flat = result.flat_note(target, labels=list(labels) or None)
    return "; ".join(n for n in (flat, result.approximation_note()) if n)


class Mirror:
    """Keeps one widget's traits in step with its session.

    Attributes
    ----------
    adopted : OcclusionResult or None
        The result whose names and base probabilities the traits show.
    custom_baseline
        The last fill given from Python as a value, colour or image (``"custom"``).

    Examples
    --------
    >>> w._mirror.adopted is w.result  # the finished sweep's names and numbers are shown
    True
    """

    def __init__(self, widget: Any, session: Any) -> None:
        self.widget, self.session = widget, session
        self.custom_baseline: Any = None
        self.adopted: OcclusionResult | None = None
        # A result whose first batch refused the target (out of range) is not shown until the
        # target changes; its sweep goes on (every class is kept), and the error says why.
        self.refused: OcclusionResult | None = None
        self.target_error = ""

    def param_state(self) -> dict[str, Any]:
        """The traits that describe the session's current sweep parameters and grid."""
        params = self.session.params
        baseline = params["baseline"]
        if not isinstance(baseline, str):
            self.custom_baseline = baseline
        name = baseline.lower().replace("grey", "gray") if isinstance(baseline, str) else None
        custom = [CUSTOM_BASELINE] if self.custom_baseline is not None else []
        grid = self.session.grid
        return {
            "grid": grid_state(grid),
            "patch_size": list(grid.patch_size),
            "stride": list(grid.stride),
            "baseline_options": list(BASELINE_NAMES) + custom,
            "baseline": name or CUSTOM_BASELINE,
            "mode": self.session.validated.mode,
        }

    def set(self, name: str, value: Any) -> None:
        """Write one trait. An observer of it that raises (a user's own) is logged, not passed
        on: the sweep and the other traits must not stop half-way through an update."""
        try:
            self.widget.set_trait(name, value)
        except Exception:
            LOGGER.exception("an observer of the widget's %r trait raised", name)

    def update(self, event: str) -> None:
        """The session's ``on_update``: mirror it into traits (holding the session's lock)."""
        w, session = self.widget, self.session
        if event in ("start", "restore"):
            self._show_params()
            self.adopted, self.refused, self.target_error = None, None, ""
            if event == "start":
                rows, cols = w.grid["rows"], w.grid["cols"]
                self.set("target_map", np.full((rows, cols), np.nan, np.float32))
                self.set("note", "")
                self.set("topk_indices", session.topk_indices)
                self.set("topk_probabilities", session.topk_probabilities)
        result = session.result
        if result is not None and result is not self.adopted and result is not self.refused:
            self.adopt(result)
        if self.adopted is not None and w.target is not None:
            self.show_target()
            self.set("topk_indices", session.topk_indices)
            self.set("topk_probabilities", session.topk_probabilities)
        self.show_estimated()
        self.set("progress", session.progress)
        self.set("error", session.error or self.target_error)
        self.set("status", session.status)

    def retarget(self) -> None:
        """The target changed: show it, and show a result it was refused for (holding the
        session's lock)."""
        if self.refused is not None and self.refused is self.session.result:
            self.refused, self.target_error = None, ""
            self.update("batch")
        elif self.adopted is not None and self.adopted is self.session.result:
            self.show_target()

    def show_target(self) -> None:
        """Send the target's map and note (switching target never calls the model)."""
        w, result = self.widget, self.adopted
        if result is not None and w.target is not None:
            self.set("target_map", target_map(result, w.target))
            self.set("note", note_for(result, w.target, w.labels))
        if result is not None:
            empty = result.baseline_probabilities
            if empty is None and w.baseline_probabilities is not None:
                self.set("baseline_probabilities", None)
            elif empty is not None and (
                w.baseline_probabilities is None
                or not np.array_equal(empty, w.baseline_probabilities, equal_nan=True)
            ):
                self.set("baseline_probabilities", empty.copy())

    def show_estimated(self) -> None:
        """Send which cells ``method="approximate"`` filled in (None for an exact sweep)."""
        w, result = self.widget, self.adopted
        mask = None if result is None else result.info.get("estimated")
        if result is None or mask is None or np.shape(mask) != (result.rows, result.cols):
            if w.estimated is not None:
                self.set("estimated", None)
            return
        mask = np.asarray(mask, np.uint8)
        if w.estimated is None or not np.array_equal(mask, w.estimated):
            self.set("estimated", mask)

    def adopt(self, result: OcclusionResult) -> None:
        """Take what a sweep's first batch tells: class names, base probabilities, target."""
        w = self.widget
        self.adopted = None
        target = w.target
        classes = target if isinstance(target, list) else [target]
        if target is not None and max(classes) >= result.num_classes:
            # Only a callable's class count is unknown before its first batch. The sweep goes
            # on: a target in range shows its map with nothing recomputed.
            self.refused = result
            self.target_error = (
                f"ValueError: target {target} is out of range: the model has "
                f"{result.num_classes} classes (0 to {result.num_classes - 1}); set a target "
                f"in range (w.target = ...) to show the map"
            )
            return
        self.refused, self.target_error = None, ""
        names = self.session.names
        if names is not None and w.labels != names:
            self.set("labels", names)
        self.set("base_probabilities", result.base_probabilities)
        self.set("baseline_image", to_display_rgba(result.baseline, result.value_range))
        self.adopted = result
        if w.target is None:
            self.set("target", result.base_class)

    def _show_params(self) -> None:
        w = self.widget
        state = self.param_state()
        self.set("baseline_options", state.pop("baseline_options"))
        self.set("grid", state.pop("grid"))
        if w.selected is not None and not (
            w.selected[0] < w.grid["rows"] and w.selected[1] < w.grid["cols"]
        ):
            self.set("selected", None)
        for name, value in state.items():
            self.set(name, value)
        image = self.session.display_image()
        if image.shape != w.image.shape or not np.array_equal(image, w.image):
            self.set("image", image)  # a recompute with another resize or value range
