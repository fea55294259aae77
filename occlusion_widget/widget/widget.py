"""The Jupyter widget: OcclusionWidget owns a session and reacts to the browser.

The kernel side of ``docs/protocol.md``. A :class:`~occlusion_widget.session.SweepSession` runs
the sweeps; :mod:`~occlusion_widget.widget.mirror` mirrors it into the synced traits (declared in
:mod:`~occlusion_widget.widget.synced`, from the session's worker thread, throttled),
:mod:`~occlusion_widget.widget.messages` answers the browser's requests and the base class
:class:`~occlusion_widget.widget.outputs.Outputs` holds what is read out (selection, save,
probe, page). The browser draws from the synced traits only, so hovering never waits for the
kernel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import traitlets

from ..engine import OcclusionResult
from ..session import SWEEP_PARAMS, SweepSession
from ..session.checks import check_model, reject_unknown
from ..session.selection import Selection
from . import messages
from .deprecated import positional_deprecated
from .mirror import CUSTOM_BASELINE, Mirror
from .outputs import Outputs
from .picture import Picture
from .traits import WidgetValueError

__all__ = ["OcclusionWidget", "Selection", "WidgetValueError"]

#: What a widget without a model says where Recompute and Probe would be.
NO_MODEL = "no model to run: this shows a saved result (pass model= to recompute or probe)"


class OcclusionWidget(Outputs):
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
    target : int, str or list, optional
        The class the map explains (an index or a label), or a group of classes whose
        probabilities are summed (e.g. the three ImageNet elephants); the unoccluded
        prediction by default.
    top_k : int
        How many classes the inspector lists per position.
    view : {"sensitivity", "probability", "predicted_class"}
    opacity : float
        Map opacity over the image, 0..1.
    color_scale : {"auto", "fixed"}
        ``"auto"`` scales the colours to the map; ``"fixed"`` uses -1..1 (or 0..1).
    caption : str
        A line shown above the widget, naming what it shows (``""``: none).
    session : SweepSession, optional
        A session to show instead of ``model`` and ``image`` (what :meth:`from_result` does).
    **params
        The sweep parameters, keyword only, with the engine's defaults
        (:data:`~occlusion_widget.engine.params.DEFAULTS`): ``patch_size`` and ``stride``
        (int or pair, 16 and 8), ``baseline`` (``"gray"``, ``"black"``, ``"white"``,
        ``"mean"``, ``"blur"``, ``"noise"``, or a value, colour or image, shown as
        ``"custom"``), ``mode`` (``"occlude"`` or ``"reveal"``), ``preprocess`` (applied to
        each occluded batch), ``output`` (``"auto"``, ``"probabilities"``, ``"logits"``),
        ``batch_size``, ``value_range`` (the image's ``(lo, hi)``) and ``resize`` (``True``
        for the model's input size, or ``(height, width)``; the widget shows the resized
        image).

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

    _esm = Path(__file__).parent.parent / "static" / "widget.js"

    def __init__(
        self,
        model: Any = None,
        image: Any = None,
        *,
        labels: Any = None,
        target: Any = None,
        top_k: int = 5,
        view: str = "sensitivity",
        opacity: float = 0.7,
        color_scale: str = "auto",
        caption: str = "",
        session: SweepSession | None = None,
        **params: Any,
    ) -> None:
        reject_unknown(params, "OcclusionWidget()", list(SWEEP_PARAMS))
        if session is None:
            hint = "; to show a saved result use OcclusionWidget.from_result" * (model is None)
            check_model(model, hint)
            session = SweepSession(model, image, labels=labels, top_k=top_k, **params)
        elif model is not None or image is not None or labels is not None or params:
            raise TypeError("pass either a session, or a model and an image with parameters")
        self._session = session
        self._mirror = Mirror(self, session)
        self._picture = Picture(self)
        super().__init__(
            image=session.display_image(),
            labels=session.names or [],
            top_k=top_k,
            target=target,
            view=view,
            opacity=opacity,
            color_scale=color_scale,
            caption=caption,
            _no_model="" if session.can_run else NO_MODEL,
            **self._mirror.param_state(),
        )
        self.on_msg(self._on_message)
        session.on_update = self._on_update
        with session.lock:
            # A session that already shows a result (from_result, with or without a model)
            # is shown as it is: only a session that never ran starts a sweep.
            if session.can_run and session.status == "idle":
                session.start()
            else:
                self._on_update("end")

    @classmethod
    @positional_deprecated
    def from_result(
        cls,
        result: OcclusionResult,
        *,
        image: Any = None,
        labels: Any = None,
        top_k: int = 5,
        model: Any = None,
        preprocess: Any = None,
        output: str = "auto",
        caption: str = "",
        **display: Any,
    ) -> OcclusionWidget:
        """Show a computed (or loaded) result; nothing runs until you ask. Without ``model``,
        Recompute and Probe are switched off and say why.

        Parameters
        ----------
        result : OcclusionResult
            From :func:`occlusion_map`, :func:`iter_occlusion` or :meth:`OcclusionResult.load`.
        image : array-like, optional
            The image to display instead of ``result.image`` (same height and width).
        labels : list of str or dict, optional
            Class names, one per class of the result.
        top_k : int
        model, preprocess, output : optional
            The model that computed ``result``, its preprocess and how its scores are read
            (``"auto"``, ``"probabilities"``, ``"logits"``): Recompute and Probe then run it.
        caption : str
            A line above the widget naming what it shows.
        **display
            ``target``, ``view``, ``opacity``, ``color_scale``.

        Returns
        -------
        OcclusionWidget
            With status ``"done"`` (``"cancelled"`` for a partial result).

        Examples
        --------
        >>> import tempfile
        >>> import occlusion_widget as ow
        >>> with tempfile.TemporaryDirectory() as folder:  # a sweep saved, then loaded
        ...     result.save(f"{folder}/square.npz")
        ...     saved = ow.OcclusionResult.load(f"{folder}/square.npz")
        >>> shown = ow.OcclusionWidget.from_result(saved, labels=["sky", "square", "other"])
        >>> shown.status, shown.labels[shown.target]
        ('done', 'square')
        """
        reject_unknown(display, "from_result()", ["target", "view", "opacity", "color_scale"])
        session = SweepSession.from_result(
            result,
            labels=labels,
            top_k=top_k,
            image=image,
            model=model,
            preprocess=preprocess,
            output=output,
        )
        return cls(session=session, top_k=top_k, caption=caption, **display)

    # -- reacting to the browser ---------------------------------------------------------------

    @property
    def _class_count(self) -> int | None:
        """The class count once known (the ``target`` trait checks its range against it)."""
        session = getattr(self, "_session", None)
        return session.num_classes if session is not None else None

    @traitlets.observe("target")
    def _on_target(self, change: Any) -> None:
        # Switching target is instant: every class probability is kept, only one map is sent.
        with self._session.lock:
            self._mirror.retarget()
        self._on_look(change)

    @traitlets.observe("view", "color_scale", "opacity")
    def _on_look(self, change: Any) -> None:
        # getattr: traits are set in __init__ before the picture exists.
        if getattr(self, "_picture", None) is not None:
            self._picture.changed()

    def _on_update(self, event: str) -> None:
        """The session's ``on_update``: traits follow at once; the picture when a sweep ends."""
        self._mirror.update(event)
        if event in ("end", "restore"):
            self._picture.changed(0.0)

    @traitlets.observe("top_k")
    def _on_top_k(self, change: Any) -> None:
        with self._session.lock:
            self._session.set_top_k(change["new"])
            self._mirror.set("topk_indices", self._session.topk_indices)
            self._mirror.set("topk_probabilities", self._session.topk_probabilities)

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        """Answer the browser's requests (see :mod:`occlusion_widget.widget.messages`)."""
        messages.handle(self, content, buffers)

    # -- public API ----------------------------------------------------------------------------

    @property
    def result(self) -> OcclusionResult | None:
        """The shown :class:`OcclusionResult`, filled in place while a sweep runs (None before).

        After a cancelled or failed recompute this is the last complete result again (see
        :attr:`partial_result`).

        Examples
        --------
        >>> w.result.sensitivity().shape  # a 3 x 3 grid of patch positions
        (3, 3)
        """
        return self._session.result

    @property
    def partial_result(self) -> OcclusionResult | None:
        """The latest sweep's result when it ended unfinished (cancelled or failed), else None.

        A cancelled recompute goes back to the last complete :attr:`result` and its
        parameters; before any sweep completed, the partial result is also :attr:`result`.

        Examples
        --------
        >>> w.partial_result is None  # the toy sweep finished (see :meth:`cancel`)
        True
        """
        return self._session.partial_result

    @property
    def session(self) -> SweepSession:
        """The :class:`~occlusion_widget.session.SweepSession` that runs this widget's sweeps."""
        return self._session

    def recompute(self, **params: Any) -> None:
        """Cancel the running sweep and start a new one; returns at once.

        The parameters are checked first: a rejected recompute raises and changes nothing (the
        running or finished sweep and every trait stay as they were). Safe from any thread:
        when several threads recompute at once, the last request accepted wins, and sweeps
        never run together.

        Parameters
        ----------
        **params
            Any sweep parameter (see the class): ``patch_size``, ``stride``, ``baseline``,
            ``mode``, ``batch_size``, ``preprocess``, ``output``, ``value_range``, ``resize``;
            the others keep their current values. ``baseline="custom"`` reuses the last
            custom fill given from Python.

        Raises
        ------
        TypeError, ValueError
            An unknown parameter or a bad value.
        RuntimeError
            The widget was made by :meth:`from_result` without a model.

        Examples
        --------
        >>> w.recompute(patch_size=4, stride=4, baseline="blur")
        >>> w.wait(), w.result.sensitivity().shape
        ('done', (4, 4))
        """
        if isinstance(params.get("baseline"), str) and params["baseline"] == CUSTOM_BASELINE:
            if self._mirror.custom_baseline is None:
                raise ValueError("no custom baseline was given; pass an array, value or colour")
            params["baseline"] = self._mirror.custom_baseline
        self._session.start(**params)

    def cancel(self) -> None:
        """Stop the running sweep after its current batch.

        A cancelled recompute goes back to the last complete map and its parameters (the
        partial sweep stays in :attr:`partial_result`); a cancelled first sweep keeps what
        was computed.

        Examples
        --------
        >>> import threading
        >>> go = threading.Event()
        >>> def model(batch):  # class 1 = brightness of the top-left corner, once `go` is set
        ...     go.wait(10)
        ...     p = batch[:, :8, :8].mean(axis=(1, 2, 3))
        ...     return np.stack([1 - p, p], axis=1)
        >>> held = OcclusionWidget(model, np.ones((16, 16)), patch_size=8, stride=4, batch_size=1)
        >>> held.cancel(); go.set(); held.wait()  # asked during the first batch
        'cancelled'
        >>> held.partial_result.done, held.partial_result.total
        (0, 9)
        """
        # getattr: ipywidgets calls close() from __del__, even when __init__ raised early.
        session = getattr(self, "_session", None)
        if session is not None:
            session.cancel()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the sweep ends (or ``timeout`` seconds pass); return :attr:`status`.

        A displayed widget's picture of the finished map (see
        :mod:`occlusion_widget.widget.picture`) is in its outputs when this returns.

        Examples
        --------
        >>> w.wait()
        'done'
        """
        self._session.wait(timeout)
        # The shown outputs' picture of the finished map is sent before this returns.
        self._picture.flush(timeout)
        return self.status

    def close(self) -> None:
        """Stop the sweep and close the widget.

        Examples
        --------
        >>> w.close()
        >>> w.comm is None
        True
        """
        self.cancel()
        picture = getattr(self, "_picture", None)
        if picture is not None:
            picture.stop()
        super().close()
