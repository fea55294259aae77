"""The Jupyter widget: synced traits, their validators and observers, and the messages.

The kernel side of ``docs/protocol.md``. A :class:`~occlusion_widget.session.SweepSession` runs
the sweeps; the widget only mirrors the session into synced traits (from the session's worker
thread, throttled) and turns the browser's requests into session calls. The browser draws from
the synced traits only, so hovering never waits for the kernel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from ._version import __version__
from .checks import describe_error, reject_unknown
from .engine import BASELINE_NAMES, OcclusionResult
from .engine.images import to_display_rgba
from .selection import Selection, select
from .session import STATUSES, SWEEP_PARAMS, SweepSession
from .traits import (
    Array,
    Cell,
    Choice,
    Count,
    Fraction,
    Pair,
    WidgetValueError,
    array_serialization,
    grid_serialization,
    grid_state,
)

__all__ = ["OcclusionWidget", "Selection", "WidgetValueError"]

VIEWS = ("sensitivity", "probability", "predicted_class")
#: The ``baseline`` trait's value when the fill was given from Python as a number, colour or image.
CUSTOM_BASELINE = "custom"
#: What a ``recompute`` message from the browser may change.
BROWSER_PARAMS = ("patch_size", "stride", "baseline")


class OcclusionWidget(anywidget.AnyWidget):
    """Occlusion maps you can hover: what the model saw and said with each patch hidden.

    The sweep starts at once in a background thread; the map fills in coarse to fine while the
    cell has already returned. Hover a cell to see the occluded image the model received, its
    top-k classes and the drop in the target's probability; click to pin it (``w.selection``).

    Parameters
    ----------
    model : keras.Model or callable
        A Keras 3 model or a callable: float32 batch ``(N, H, W, C)`` -> ``(N, K)`` scores.
    image : array-like, PIL.Image.Image or path
        ``(H, W)`` or ``(H, W, C)``, uint8 or float, in raw pixel space (before ``preprocess``).
        Copied: changing the array afterwards changes neither the sweep nor the picture.
    labels : list of str, dict or str, optional
        One name per class, ``{index: name}``, ``"imagenet"`` or ``"cifar10"``.
    target : int, optional
        The class the map explains; the unoccluded prediction by default.
    top_k : int
        How many classes the inspector lists per position.
    view : {"sensitivity", "probability", "predicted_class"}
    opacity : float
        Map opacity over the image, 0..1.
    session : SweepSession, optional
        A session to show instead of ``model`` and ``image`` (what :meth:`from_result` does).
    **params
        The sweep parameters, keyword only: ``patch_size`` and ``stride`` (int or pair,
        default 16 and 8), ``baseline`` (``"gray"``, ``"black"``, ``"white"``, ``"mean"``,
        ``"blur"``, ``"noise"``, or a value, colour or image, shown as ``"custom"``),
        ``preprocess`` (applied to each occluded batch), ``output`` (``"auto"``,
        ``"probabilities"``, ``"logits"``) and ``batch_size``.

    Raises
    ------
    TypeError
        An unknown keyword argument, or a value of the wrong type.
    ValueError
        A bad value (patch larger than the image, stride larger than the patch, unknown
        baseline, target out of range, ...).

    Examples
    --------
    >>> def model(batch):  # class 1 = brightness of the top-left corner
    ...     p = batch[:, :8, :8].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> w = OcclusionWidget(model, np.ones((16, 16)), patch_size=8, stride=4,
    ...                     baseline="black", labels=["dark", "bright"])
    >>> w.wait()
    'done'
    >>> w.labels[w.target], float(w.target_map[0, 0])
    ('bright', 0.0)
    """

    _esm = Path(__file__).parent / "static" / "widget.js"
    _version = traitlets.Unicode(__version__).tag(sync=True)

    # -- py -> js: what the views draw ---------------------------------------------------------
    image = Array("uint8", 3).tag(sync=True, **array_serialization)
    baseline_image = Array("uint8", 3).tag(sync=True, **array_serialization)
    grid = traitlets.Dict(allow_none=True, default_value=None).tag(sync=True, **grid_serialization)
    # Names come from labels.as_list, all str: no per-element check (21,843 of them for some).
    labels = traitlets.List().tag(sync=True)
    base_probabilities = Array("float32", 1).tag(sync=True, **array_serialization)
    topk_indices = Array("int32", 3).tag(sync=True, **array_serialization)
    topk_probabilities = Array("float32", 3).tag(sync=True, **array_serialization)
    target_map = Array("float32", 2).tag(sync=True, **array_serialization)
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

    # -- both ways: what the person chooses ----------------------------------------------------
    target = traitlets.Int(None, allow_none=True).tag(sync=True)
    view = Choice(VIEWS, "sensitivity").tag(sync=True)
    selected = Cell().tag(sync=True)
    opacity = Fraction(0.7).tag(sync=True)

    def __init__(
        self,
        model: Any = None,
        image: Any = None,
        *,
        labels: Any = None,
        target: int | None = None,
        top_k: int = 5,
        view: str = "sensitivity",
        opacity: float = 0.7,
        session: SweepSession | None = None,
        **params: Any,
    ) -> None:
        reject_unknown(params, "OcclusionWidget()", list(SWEEP_PARAMS))
        if session is None:
            if not callable(model):
                hint = "; to show a saved result use OcclusionWidget.from_result" * (model is None)
                raise TypeError(
                    f"model must be a keras.Model or a callable batch -> scores; "
                    f"got {type(model).__name__}{hint}"
                )
            session = SweepSession(model, image, labels=labels, top_k=top_k, **params)
        elif model is not None or image is not None or labels is not None or params:
            raise TypeError("pass either a session, or a model and an image with parameters")
        self._session = session
        self._custom_baseline: Any = None
        # The result whose names and base probabilities the traits show; one whose first batch
        # was refused (a target out of range) is not tried again when its sweep ends.
        self._adopted: OcclusionResult | None = None
        self._refused: OcclusionResult | None = None
        super().__init__(
            image=session.display_image(),
            top_k=top_k,
            target=target,
            view=view,
            opacity=opacity,
            **self._param_state(),
        )
        self.on_msg(self._on_message)
        session.on_update = self._on_session_update
        with session.lock:
            if session.can_run:
                session.start()
            else:
                self._on_session_update("end")

    @classmethod
    def from_result(
        cls,
        result: OcclusionResult,
        *,
        image: Any = None,
        labels: Any = None,
        top_k: int = 5,
        **display: Any,
    ) -> OcclusionWidget:
        """Show a computed (or loaded) result; no model is needed, nothing runs.

        Parameters
        ----------
        result : OcclusionResult
            From :func:`occlusion_map`, :func:`iter_occlusion` or :meth:`OcclusionResult.load`.
        image : array-like, optional
            The image to display instead of ``result.image`` (same height and width).
        labels : list of str or dict, optional
            Class names, one per class of the result.
        top_k : int
        **display
            ``target``, ``view``, ``opacity``.

        Returns
        -------
        OcclusionWidget
            With status ``"done"`` (``"cancelled"`` for a partial result).

        Examples
        --------
        >>> import occlusion_widget as ow
        >>> result = ow.OcclusionResult.load("cat.npz")  # doctest: +SKIP
        >>> ow.OcclusionWidget.from_result(result, labels="imagenet")  # doctest: +SKIP
        """
        reject_unknown(display, "from_result()", ["target", "view", "opacity"])
        session = SweepSession.from_result(result, labels=labels, top_k=top_k, image=image)
        return cls(session=session, top_k=top_k, **display)

    # -- trait validation ----------------------------------------------------------------------

    @traitlets.validate("target")
    def _valid_target(self, proposal: Any) -> int | None:
        value, count = proposal.value, self._session.num_classes
        if value is not None and (value < 0 or (count is not None and value >= count)):
            known = f"the model has {count} classes (0 to {count - 1})" if count else "must be >= 0"
            raise WidgetValueError(f"target {value} is out of range: {known}")
        return value

    # -- reacting to the browser ---------------------------------------------------------------

    @traitlets.observe("target")
    def _on_target(self, change: Any) -> None:
        # Switching target is instant: every class probability is kept, only one map is sent.
        with self._session.lock:
            result = self._session.result
            if result is not None and change["new"] is not None and self._adopted is result:
                self.target_map = result.probabilities[:, :, change["new"]]

    @traitlets.observe("top_k")
    def _on_top_k(self, change: Any) -> None:
        with self._session.lock:
            self._session.set_top_k(change["new"])
            self.topk_indices = self._session.topk_indices
            self.topk_probabilities = self._session.topk_probabilities

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        """Answer ``{type: "recompute" | "cancel", id}`` with ``{type: "reply", id, ok}``."""
        if not isinstance(content, dict):
            return
        kind, msg_id = content.get("type"), content.get("id")
        reply: dict[str, Any] = {"type": "reply", "id": msg_id, "ok": True}
        try:
            if kind == "recompute":
                params = content.get("params")
                if params is None:  # a frontend older than the params field wrote the traits
                    params = {"patch_size": self.patch_size, "stride": self.stride}
                    params["baseline"] = self.baseline
                if not isinstance(params, dict):
                    raise TypeError(f"recompute params must be an object; got {params!r}")
                reject_unknown(params, "the recompute message", BROWSER_PARAMS)
                self.recompute(**params)
            elif kind == "cancel":
                self.cancel()
            else:
                raise ValueError(f"unknown message type {kind!r}; expected 'recompute' or 'cancel'")
        except Exception as exc:  # the reply is the one place the browser shows it
            reply.update(ok=False, error=describe_error(exc))
        self.send(reply)

    # -- mirroring the session -----------------------------------------------------------------

    def _param_state(self) -> dict[str, Any]:
        """The traits that describe the session's current sweep parameters and grid."""
        baseline = self._session.params["baseline"]
        if not isinstance(baseline, str):
            self._custom_baseline = baseline
        name = baseline.lower().replace("grey", "gray") if isinstance(baseline, str) else None
        custom = [CUSTOM_BASELINE] if self._custom_baseline is not None else []
        grid = self._session.grid
        return {
            "grid": grid_state(grid),
            "patch_size": list(grid.patch_size),
            "stride": list(grid.stride),
            "baseline_options": list(BASELINE_NAMES) + custom,
            "baseline": name or CUSTOM_BASELINE,
        }

    def _on_session_update(self, event: str) -> None:
        """Mirror the session into traits (holding the session's lock, often in its thread)."""
        session = self._session
        if event == "start":
            state = self._param_state()
            self.baseline_options = state.pop("baseline_options")
            self.grid = state.pop("grid")
            if self.selected is not None and not (
                self.selected[0] < self.grid["rows"] and self.selected[1] < self.grid["cols"]
            ):
                self.selected = None
            for name, value in state.items():
                setattr(self, name, value)
            rows, cols = self.grid["rows"], self.grid["cols"]
            self._adopted = None
            self.target_map = np.full((rows, cols), np.nan, np.float32)
            self.topk_indices = session.topk_indices
            self.topk_probabilities = session.topk_probabilities
        result = session.result
        if result is not None and result is not self._adopted and result is not self._refused:
            self._adopt(result)
        if self._adopted is not None and self.target is not None:
            self.target_map = result.probabilities[:, :, self.target]
            self.topk_indices = session.topk_indices
            self.topk_probabilities = session.topk_probabilities
        self.progress = session.progress
        self.error = session.error
        self.status = session.status

    def _adopt(self, result: OcclusionResult) -> None:
        """Take what a sweep's first batch tells: class names, base probabilities, target."""
        self._adopted = None
        if self.target is not None and self.target >= result.num_classes:
            self._refused = result
            raise ValueError(
                f"target {self.target} is out of range: the model has {result.num_classes} "
                f"classes (0 to {result.num_classes - 1})"
            )
        if self._session.names is not None and self.labels != self._session.names:
            self.labels = self._session.names
        self.base_probabilities = result.base_probabilities
        self.baseline_image = to_display_rgba(result.baseline, result.value_range)
        self._adopted = result
        if self.target is None:
            self.target = result.base_class

    # -- public API ----------------------------------------------------------------------------

    @property
    def result(self) -> OcclusionResult | None:
        """The :class:`OcclusionResult`, filled in place while a sweep runs (None before).

        Examples
        --------
        >>> w.wait(); w.result.sensitivity().shape  # doctest: +SKIP
        (27, 27)
        """
        return self._session.result

    @property
    def selection(self) -> Selection | None:
        """The pinned cell's :class:`Selection`, or None when nothing is selected.

        Examples
        --------
        >>> w.selected = (0, 0)  # doctest: +SKIP
        >>> w.selection.top_names[:2]  # doctest: +SKIP
        ['tabby cat', 'tiger cat']
        """
        with self._session.lock:
            result, selected = self._adopted, self.selected
            if result is None or selected is None or self.target is None:
                return None
            names, k = list(self.labels), self.top_k
            return select(result, *selected, target=int(self.target), names=names, top_k=k)

    @property
    def session(self) -> SweepSession:
        """The :class:`~occlusion_widget.session.SweepSession` that runs this widget's sweeps."""
        return self._session

    def recompute(self, **params: Any) -> None:
        """Cancel the running sweep and start a new one; returns at once.

        The parameters are checked first: a rejected recompute raises and changes nothing (the
        running or finished sweep and every trait stay as they were).

        Parameters
        ----------
        **params
            Any of ``patch_size``, ``stride``, ``baseline``, ``batch_size``, ``preprocess``,
            ``output``; the others keep their current values. ``baseline="custom"`` reuses the
            last custom fill given from Python.

        Raises
        ------
        TypeError, ValueError
            An unknown parameter or a bad value.
        RuntimeError
            The widget was made by :meth:`from_result` and has no model.

        Examples
        --------
        >>> w.recompute(patch_size=32, stride=16, baseline="blur")  # doctest: +SKIP
        >>> w.wait()  # doctest: +SKIP
        'done'
        """
        if params.get("baseline") == CUSTOM_BASELINE:
            if self._custom_baseline is None:
                raise ValueError("no custom baseline was given; pass an array, value or colour")
            params["baseline"] = self._custom_baseline
        self._session.start(**params)

    def cancel(self) -> None:
        """Stop the running sweep after its current batch; what was computed stays.

        Examples
        --------
        >>> w.cancel(); w.wait()  # doctest: +SKIP
        'cancelled'
        """
        # getattr: ipywidgets calls close() from __del__, even when __init__ raised early.
        session = getattr(self, "_session", None)
        if session is not None:
            session.cancel()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the sweep ends (or ``timeout`` seconds pass); return :attr:`status`.

        Examples
        --------
        >>> w.wait()  # doctest: +SKIP
        'done'
        """
        self._session.wait(timeout)
        return self.status

    def save(self, path: str | Path, dpi: int = 150) -> Path:
        """Write the current view as a picture drawn with matplotlib in the browser's colours.

        Examples
        --------
        >>> w.save("cat_sensitivity.png")  # doctest: +SKIP
        PosixPath('cat_sensitivity.png')
        """
        from .plot import save_view

        with self._session.lock:
            result = self._adopted
            if result is None or self.target is None:
                raise RuntimeError("nothing to save yet: no batch has finished; try w.wait()")
            state = {"view": self.view, "target": int(self.target), "labels": list(self.labels)}
            state.update(opacity=self.opacity, selected=self.selected, top_k=self.top_k)
        return save_view(path, result=result, dpi=dpi, **state)

    def close(self) -> None:
        """Stop the sweep and close the widget.

        Examples
        --------
        >>> w.close()  # doctest: +SKIP
        """
        self.cancel()
        super().close()
