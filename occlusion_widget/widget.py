"""The Jupyter widget: traits, binary serialisation and the background sweep.

The kernel side of ``docs/protocol.md``. The browser (``js/``, bundled into ``static/``) draws
from the synced traits only, so hovering never waits for the kernel; the kernel runs the sweep
in a thread, so the cell returns at once and a Cancel click is handled while the model runs.
"""

from __future__ import annotations

import numbers
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

from ._version import __version__
from .engine import BASELINE_NAMES, OcclusionResult, iter_occlusion, validate_params
from .labels import as_list, cifar10, imagenet
from .serialize import array_from_json, array_serialization, array_to_json

__all__ = ["OcclusionWidget", "Selection"]

_STATIC = Path(__file__).parent / "static"

VIEWS = ("sensitivity", "probability", "predicted_class")
STATUSES = ("idle", "running", "done", "cancelled", "error")
#: The ``baseline`` trait's value when the fill was given from Python as a number, colour or image.
CUSTOM_BASELINE = "custom"

#: Keyword arguments that ``recompute`` forwards to the engine.
_RECOMPUTE_PARAMS = ("patch_size", "stride", "baseline", "batch_size", "preprocess", "output")
#: The constructor's parameters: the named ones, then the extra keyword arguments it accepts.
_INIT_PARAMS = (
    "model",
    "image",
    "labels",
    "preprocess",
    "patch_size",
    "stride",
    "baseline",
    "target",
    "top_k",
    "batch_size",
    "view",
    "opacity",
    "output",
)


class WidgetValueError(traitlets.TraitError, ValueError):
    """A trait was given a value outside what it allows.

    Both a :class:`traitlets.TraitError` (what traitlets users catch) and a :class:`ValueError`
    (what everyone else catches).

    Examples
    --------
    >>> issubclass(WidgetValueError, ValueError)
    True
    """


def _as_rgba_uint8(image: Any, value_range: tuple[float, float] | None = None) -> np.ndarray:
    """Turn an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image into (H, W, 4) uint8 for a canvas.

    With ``value_range=(lo, hi)``, values map linearly from ``lo..hi`` to ``0..255`` (how the
    engine's raw pixels are shown); without it uint8 passes through and floats in [0, 1] or
    [-1, 1] are rescaled.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"image must have shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); got {array.shape}"
        )
    if value_range is not None:
        lo, hi = float(value_range[0]), float(value_range[1])
        values = array.astype(np.float64)
        # A constant image has no range to stretch; show it mid-grey rather than divide by 0.
        scaled = (values - lo) / (hi - lo) * 255.0 if hi > lo else np.full_like(values, 127.5)
        array = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = array.astype(np.float64)
        lo, hi = float(np.nanmin(array)), float(np.nanmax(array))
        if lo >= 0.0 and hi <= 1.0:
            array = array * 255.0
        elif lo >= -1.0 and hi <= 1.0:
            array = (array + 1.0) * 127.5
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if array.shape[-1] == 3:
        alpha = np.full((*array.shape[:2], 1), 255, dtype=np.uint8)
        array = np.concatenate([array, alpha], axis=-1)
    return np.ascontiguousarray(array)


def _pair(value: Any, name: str) -> list[int]:
    """An int or a (height, width) pair of positive ints -> ``[h, w]``; WidgetValueError else."""
    items = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value, value]
    ok = len(items) == 2 and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) > 0 for v in items
    )
    if not ok:
        raise WidgetValueError(
            f"{name} must be a positive int or a (height, width) pair of positive ints; "
            f"got {value!r}"
        )
    return [int(items[0]), int(items[1])]


def _describe_error(exc: BaseException) -> str:
    """One readable paragraph: the exception's type and message, never a traceback."""
    text = " ".join(str(exc).split())
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    cause = exc.__cause__
    # ModelError already names the model's exception; other wrappers may hide it in the chain.
    if cause is not None and type(cause).__name__ not in message:
        message += f" (caused by {type(cause).__name__}: {' '.join(str(cause).split())})"
    return message


def _declared_num_classes(model: Any) -> int | None:
    """The class count a single-output Keras model declares, or None when it cannot be known
    before the model runs (plain callables, several outputs, an unknown last dimension)."""
    try:
        shape = model.output_shape
    except Exception:  # plain callables, and Keras models that were never built
        return None
    if not isinstance(shape, tuple) or not shape or not isinstance(shape[-1], int):
        return None
    # One sigmoid unit is read as two classes, [1 - p, p], as the engine does.
    return 2 if shape[-1] == 1 else shape[-1]


def _check_labels(labels: Any) -> Any:
    """Resolve named label sets and check the container before the class count is known."""
    if isinstance(labels, str):
        named = {"imagenet": imagenet, "cifar10": cifar10, "cifar-10": cifar10}
        if labels.lower() not in named:
            raise ValueError(
                f"unknown label set {labels!r}; use 'imagenet', 'cifar10', a list or a dict"
            )
        return named[labels.lower()]()
    if labels is None or isinstance(labels, dict):
        return labels
    if hasattr(labels, "tolist"):
        labels = labels.tolist()
    if not isinstance(labels, (list, tuple)):
        raise TypeError(
            f"labels must be a list of class names, a dict {{index: name}}, 'imagenet', "
            f"'cifar10' or None; got {type(labels).__name__}"
        )
    return [str(name) for name in labels]


def _topk(probabilities: np.ndarray, computed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(indices int32, probabilities float32)`` of the k most probable classes per cell.

    Ties go to the lower class index, as ``numpy.argmax`` does, so ``indices[..., 0]`` equals
    :meth:`OcclusionResult.predicted_classes`. Cells not computed get -1 and NaN.
    """
    rows, cols, num_classes = probabilities.shape
    k = min(k, num_classes)
    indices = np.full((rows, cols, k), -1, np.int32)
    values = np.full((rows, cols, k), np.nan, np.float32)
    cells = np.flatnonzero(computed)
    if cells.size:
        flat = probabilities.reshape(-1, num_classes)[cells]
        order = np.argsort(-flat, axis=1, kind="stable")[:, :k]
        indices.reshape(-1, k)[cells] = order
        values.reshape(-1, k)[cells] = np.take_along_axis(flat, order, axis=1)
    return indices, values


class _Array(traitlets.TraitType):
    """A numpy array trait of a fixed dtype and number of dimensions (None allowed)."""

    default_value = None
    allow_none = True

    def __init__(self, dtype: str, ndim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dtype = np.dtype(dtype)
        self.ndim = ndim
        self.info_text = f"a {ndim}-d {self.dtype} array or None"

    def validate(self, obj: Any, value: Any) -> np.ndarray | None:
        if value is None:
            return None
        array = np.asarray(value)
        if array.ndim != self.ndim:
            raise WidgetValueError(
                f"{self.name} must be a {self.ndim}-d array; got shape {array.shape}"
            )
        return np.ascontiguousarray(array, dtype=self.dtype)


class _Pair(traitlets.TraitType):
    """``[height, width]`` of positive ints; an int ``n`` is taken as ``[n, n]``."""

    info_text = "a positive int or a (height, width) pair of positive ints"

    def validate(self, obj: Any, value: Any) -> list[int]:
        return _pair(value, self.name)


def _grid_to_json(grid: dict[str, Any] | None, widget: Any = None) -> dict[str, Any] | None:
    if grid is None:
        return None
    return {**grid, "tops": array_to_json(grid["tops"]), "lefts": array_to_json(grid["lefts"])}


def _grid_from_json(value: dict[str, Any] | None, widget: Any = None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        **value,
        "tops": array_from_json(value["tops"]),
        "lefts": array_from_json(value["lefts"]),
    }


@dataclass(frozen=True)
class Selection:
    """What the model saw and said at the selected grid cell.

    Attributes
    ----------
    row, col : int
        The grid cell.
    box : tuple of int
        ``(top, left, height, width)`` of the patch in image pixels.
    occluded_image : numpy.ndarray
        The exact raw-space ``(H, W, C)`` image fed to ``preprocess`` at this position.
    computed : bool
        Whether this position has been scored (False while a sweep has not reached it).
    top_classes, top_probabilities : numpy.ndarray
        The top-k classes at this position, most probable first, and their probabilities.
    top_names : list of str
        Their names.
    predicted_class, predicted_name
        The most probable class here (-1 and ``""`` when not computed).
    base_class, base_name
        The unoccluded image's prediction.
    target, target_name
        The class the map explains.
    target_probability, base_target_probability : float
        P(target) with this patch occluded, and without occlusion.
    target_drop : float
        ``base_target_probability - target_probability``: positive when hiding this patch hurt.

    Examples
    --------
    >>> w.selected = (2, 3)  # doctest: +SKIP
    >>> w.selection.predicted_name, round(w.selection.target_drop, 3)  # doctest: +SKIP
    ('tabby cat', 0.412)
    """

    row: int
    col: int
    box: tuple[int, int, int, int]
    occluded_image: np.ndarray = field(repr=False)
    computed: bool
    top_classes: np.ndarray
    top_probabilities: np.ndarray
    top_names: list[str]
    predicted_class: int
    predicted_name: str
    base_class: int
    base_name: str
    target: int
    target_name: str
    target_probability: float
    base_target_probability: float
    target_drop: float

    @property
    def flipped(self) -> bool:
        """Whether the prediction here differs from the unoccluded prediction."""
        return self.computed and self.predicted_class != self.base_class


@dataclass
class _Sweep:
    """One background run: its thread, its cancel flag and its throttling clock."""

    cancel: threading.Event
    started: float
    thread: threading.Thread | None = None
    last_push: float = 0.0


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
    labels : list of str or dict, optional
        One name per class, or ``{index: name}``; ``class i`` where missing.
    preprocess : callable, optional
        Applied to each occluded batch before the model.
    patch_size, stride : int or (int, int)
        Occluder size and step in pixels.
    baseline : str, number, tuple or array
        The patch fill: ``"gray"``, ``"black"``, ``"white"``, ``"mean"``, ``"blur"``,
        ``"noise"``, or a value, colour or image (shown as ``"custom"``).
    target : int, optional
        The class the map explains; the unoccluded prediction by default.
    top_k : int
        How many classes the inspector lists per position.
    batch_size : int, optional
        Images per model call (automatic when None).
    **kwargs
        ``view`` (one of ``"sensitivity"``, ``"probability"``, ``"predicted_class"``),
        ``opacity`` (0..1) and ``output`` (``"auto"``, ``"probabilities"``, ``"logits"``).

    Raises
    ------
    TypeError
        An unknown keyword argument, or a value of the wrong type.
    ValueError
        A bad value (patch larger than the image, stride larger than the patch, unknown
        baseline, target out of range, ...).

    Examples
    --------
    >>> import numpy as np
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

    _esm = _STATIC / "widget.js"
    _version = traitlets.Unicode(__version__).tag(sync=True)

    # -- py -> js: what the views draw ---------------------------------------------------------
    image = _Array("uint8", 3).tag(sync=True, **array_serialization)
    baseline_image = _Array("uint8", 3).tag(sync=True, **array_serialization)
    grid = traitlets.Dict(allow_none=True, default_value=None).tag(
        sync=True, to_json=_grid_to_json, from_json=_grid_from_json
    )
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    base_probabilities = _Array("float32", 1).tag(sync=True, **array_serialization)
    topk_indices = _Array("int32", 3).tag(sync=True, **array_serialization)
    topk_probabilities = _Array("float32", 3).tag(sync=True, **array_serialization)
    target_map = _Array("float32", 2).tag(sync=True, **array_serialization)
    baseline_options = traitlets.List(traitlets.Unicode(), list(BASELINE_NAMES)).tag(sync=True)
    top_k = traitlets.Int(5).tag(sync=True)
    status = traitlets.Enum(STATUSES, "idle").tag(sync=True)
    progress = traitlets.Dict(
        {"done": 0, "total": 0, "elapsed": 0.0, "eta": None},
        per_key_traits={"done": traitlets.Int(), "total": traitlets.Int()},
    ).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    # -- both ways: what the person chooses ----------------------------------------------------
    target = traitlets.Int(None, allow_none=True).tag(sync=True)
    view = traitlets.Unicode("sensitivity").tag(sync=True)
    selected = traitlets.List(traitlets.Int(), None, allow_none=True, minlen=2, maxlen=2).tag(
        sync=True
    )
    opacity = traitlets.Float(0.7).tag(sync=True)
    patch_size = _Pair([16, 16]).tag(sync=True)
    stride = _Pair([8, 8]).tag(sync=True)
    baseline = traitlets.Unicode("gray").tag(sync=True)

    #: Seconds between two partial updates sent to the browser (the final one always goes).
    update_interval = 0.125

    def __init__(
        self,
        model: Any,
        image: Any,
        labels: Any = None,
        preprocess: Any = None,
        patch_size: Any = 16,
        stride: Any = 8,
        baseline: Any = "gray",
        target: int | None = None,
        top_k: int = 5,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        _reject_unknown(kwargs, "OcclusionWidget()", _INIT_PARAMS)
        output = kwargs.pop("output", "auto")
        if not callable(model):
            hint = (
                "; to show a saved result use OcclusionWidget.from_result" if model is None else ""
            )
            raise TypeError(
                f"model must be a keras.Model or a callable batch -> scores; "
                f"got {type(model).__name__}{hint}"
            )
        params = validate_params(
            image,
            patch_size=patch_size,
            stride=stride,
            baseline=baseline,
            output=output,
            batch_size=batch_size,
            preprocess=preprocess,
        )
        labels = _check_labels(labels)
        declared = _declared_num_classes(model)
        if declared is not None and labels is not None:
            as_list(labels, declared)  # a Keras model says its class count: check labels now
        num_classes = len(labels) if isinstance(labels, list) else None
        self._init_state(labels, num_classes)
        self._model = model
        self._image = image
        self._preprocess = preprocess
        self._output = output
        self._batch_size = batch_size
        super().__init__(
            image=_as_rgba_uint8(params.image.pixels, params.image.value_range),
            top_k=top_k,
            target=target,
            **self._param_traits(params, baseline),
            **kwargs,
        )
        self._set_grid(params.grid)
        self.on_msg(self._on_custom_msg)
        self._start()

    def _init_state(self, labels: Any, num_classes: int | None) -> None:
        # Everything the worker thread shares with the kernel's main thread is guarded by this
        # lock; re-entrant because trait observers run inside guarded updates.
        self._lock = threading.RLock()
        self._labels_given = labels
        self._num_classes = num_classes
        self._result: OcclusionResult | None = None
        self._sweep: _Sweep | None = None
        self._custom_baseline: Any = None

    @classmethod
    def from_result(
        cls, result: OcclusionResult, image: Any = None, labels: Any = None, **kwargs: Any
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
        **kwargs
            ``target``, ``top_k``, ``view``, ``opacity``.

        Returns
        -------
        OcclusionWidget
            With status ``"done"`` (``"cancelled"`` for a partial result). Recompute reports
            in the widget that there is no model.

        Examples
        --------
        >>> import occlusion_widget as ow
        >>> result = ow.OcclusionResult.load("cat.npz")  # doctest: +SKIP
        >>> ow.OcclusionWidget.from_result(result, labels=ow.labels.imagenet())  # doctest: +SKIP
        """
        if not isinstance(result, OcclusionResult):
            raise TypeError(f"result must be an OcclusionResult; got {type(result).__name__}")
        allowed = {"target", "top_k", "view", "opacity"}
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise TypeError(
                f"from_result() got unexpected keyword argument(s) {', '.join(unknown)}; "
                f"allowed: result, image, labels, {', '.join(sorted(allowed))}"
            )
        names = as_list(_check_labels(labels), result.num_classes)
        target = kwargs.pop("target", None)
        if target is not None:
            result._target(target)  # raises the engine's clear out-of-range message
        display = result.image if image is None else image
        if image is not None and np.asarray(image).shape[:2] != result.image_shape[:2]:
            raise ValueError(
                f"image has shape {np.asarray(image).shape} but the result was computed on an "
                f"image of height and width {result.image_shape[:2]}"
            )
        self = cls.__new__(cls)
        self._init_state(names, result.num_classes)
        self._model = None
        self._image = result.image
        self._preprocess = None
        self._output = "auto"
        self._batch_size = None
        named = result.baseline_name in BASELINE_NAMES
        # A saved custom fill is kept so the dropdown can show it as "custom".
        self._custom_baseline = None if named else result.baseline
        value_range = None if image is not None else result.value_range
        anywidget.AnyWidget.__init__(
            self,
            image=_as_rgba_uint8(display, value_range),
            patch_size=list(result.patch_size),
            stride=list(result.stride),
            baseline_options=list(BASELINE_NAMES) + ([] if named else [CUSTOM_BASELINE]),
            baseline=result.baseline_name if named else CUSTOM_BASELINE,
            target=target,
            **kwargs,
        )
        self.on_msg(self._on_custom_msg)
        with self._lock:
            self._result = result
            self._adopt(result)
            self._push(result, started=time.monotonic())
            self.status = "done" if result.complete else "cancelled"
        return self

    # -- trait validation ----------------------------------------------------------------------

    @traitlets.validate("view")
    def _valid_view(self, proposal: Any) -> str:
        if proposal.value not in VIEWS:
            raise WidgetValueError(
                f"view must be one of {', '.join(map(repr, VIEWS))}; got {proposal.value!r}"
            )
        return proposal.value

    @traitlets.validate("opacity")
    def _valid_opacity(self, proposal: Any) -> float:
        value = float(proposal.value)
        if not 0.0 <= value <= 1.0:
            raise WidgetValueError(f"opacity must be between 0 and 1; got {proposal.value!r}")
        return value

    @traitlets.validate("top_k")
    def _valid_top_k(self, proposal: Any) -> int:
        if proposal.value < 1:
            raise WidgetValueError(f"top_k must be at least 1; got {proposal.value!r}")
        return proposal.value

    @traitlets.validate("baseline")
    def _valid_baseline(self, proposal: Any) -> str:
        if proposal.value not in self.baseline_options:
            raise WidgetValueError(
                f"baseline must be one of {', '.join(map(repr, self.baseline_options))}; got "
                f"{proposal.value!r} (pass an array or colour to recompute(baseline=...) for "
                f"a custom fill)"
            )
        return proposal.value

    @traitlets.validate("target")
    def _valid_target(self, proposal: Any) -> int | None:
        value = proposal.value
        if value is None:
            return None
        if value < 0 or (self._num_classes is not None and value >= self._num_classes):
            known = (
                f"the model has {self._num_classes} classes (0 to {self._num_classes - 1})"
                if self._num_classes is not None
                else "class indices start at 0"
            )
            raise WidgetValueError(f"target {value} is out of range: {known}")
        return value

    @traitlets.validate("selected")
    def _valid_selected(self, proposal: Any) -> list[int] | None:
        value = proposal.value
        if value is None:
            return None
        row, col = (int(v) for v in value)
        grid = self.grid
        if grid is not None and not (0 <= row < grid["rows"] and 0 <= col < grid["cols"]):
            raise WidgetValueError(
                f"selected {(row, col)} is outside the grid of {grid['rows']} rows x "
                f"{grid['cols']} columns; use (row, col) with 0 <= row < {grid['rows']} and "
                f"0 <= col < {grid['cols']}, or None"
            )
        return [row, col]

    # -- reacting to the browser ---------------------------------------------------------------

    @traitlets.observe("target")
    def _on_target(self, change: Any) -> None:
        # Switching target is instant: every class probability is kept, only one map is sent.
        # A running sweep may be writing its next batch into the same array; a cell read then is
        # NaN or final, and the worker's next push sends the map again anyway.
        with self._lock:
            if self._result is not None and change["new"] is not None:
                self.target_map = self._result.probabilities[:, :, change["new"]]

    @traitlets.observe("top_k")
    def _on_top_k(self, change: Any) -> None:
        with self._lock:
            if self._result is not None:
                self._send_topk(self._result)

    def _on_custom_msg(self, widget: Any, content: Any, buffers: Any) -> None:
        """Answer ``{type: "recompute" | "cancel", id}`` with ``{type: "reply", id, ok}``."""
        if not isinstance(content, dict):
            return
        kind, msg_id = content.get("type"), content.get("id")
        reply: dict[str, Any] = {"type": "reply", "id": msg_id, "ok": True}
        try:
            if kind == "recompute":
                self.recompute()
            elif kind == "cancel":
                self.cancel()
            else:
                raise ValueError(f"unknown message type {kind!r}; expected 'recompute' or 'cancel'")
        except Exception as exc:  # every failure goes back to the browser as text
            reply.update(ok=False, error=_describe_error(exc))
        self.send(reply)

    # -- public API ----------------------------------------------------------------------------

    @property
    def result(self) -> OcclusionResult | None:
        """The :class:`OcclusionResult`, filled in place while a sweep runs (None before).

        Examples
        --------
        >>> w.wait(); w.result.sensitivity().shape  # doctest: +SKIP
        (27, 27)
        """
        return self._result

    @property
    def selection(self) -> Selection | None:
        """The pinned cell's :class:`Selection`, or None when nothing is selected.

        Examples
        --------
        >>> w.selected = (0, 0)  # doctest: +SKIP
        >>> w.selection.top_names[:2]  # doctest: +SKIP
        ['tabby cat', 'tiger cat']
        """
        with self._lock:
            result, selected = self._result, self.selected
            if result is None or selected is None or self.target is None:
                return None
            row, col = selected
            if not (0 <= row < result.rows and 0 <= col < result.cols):
                return None
            names = self.labels
            computed = bool(result.computed[row, col])
            target = int(self.target)
            if computed:
                top_classes, top_probs = _topk(
                    result.probabilities[row : row + 1, col : col + 1],
                    np.ones((1, 1), bool),
                    self.top_k,
                )
                top_classes, top_probs = top_classes[0, 0], top_probs[0, 0]
                predicted = int(top_classes[0])
            else:
                top_classes = np.zeros(0, np.int32)
                top_probs = np.zeros(0, np.float32)
                predicted = -1
            p_target = float(result.probabilities[row, col, target])
            p_base = float(result.base_probabilities[target])
            return Selection(
                row=row,
                col=col,
                box=result.box(row, col),
                occluded_image=result.occluded_image(row, col),
                computed=computed,
                top_classes=top_classes,
                top_probabilities=top_probs,
                top_names=[names[i] for i in top_classes],
                predicted_class=predicted,
                predicted_name=names[predicted] if predicted >= 0 else "",
                base_class=result.base_class,
                base_name=names[result.base_class],
                target=target,
                target_name=names[target],
                target_probability=p_target,
                base_target_probability=p_base,
                target_drop=p_base - p_target,
            )

    def recompute(self, **params: Any) -> None:
        """Run a new sweep in the background, after cancelling the one that is running.

        Parameters
        ----------
        **params
            Any of ``patch_size``, ``stride``, ``baseline``, ``batch_size``, ``preprocess``,
            ``output``; the others keep their current values.

        Raises
        ------
        TypeError
            An unknown parameter name or a value of the wrong type.
        ValueError
            A bad value. The message also shows in the widget (``status == "error"``) and the
            last result stays on screen.
        RuntimeError
            The widget was made by :meth:`from_result` and has no model.

        Examples
        --------
        >>> w.recompute(patch_size=32, stride=16, baseline="blur")  # doctest: +SKIP
        >>> w.wait()  # doctest: +SKIP
        'done'
        """
        _reject_unknown(params, "recompute()", _RECOMPUTE_PARAMS)
        try:
            if self._model is None:
                raise RuntimeError(
                    "this widget shows a saved result and has no model to run; create it with "
                    "OcclusionWidget(model, image, ...) to recompute"
                )
            baseline = params.get("baseline", self._current_baseline())
            sweep_params = validate_params(
                self._image,
                patch_size=params.get("patch_size", self.patch_size),
                stride=params.get("stride", self.stride),
                baseline=baseline,
                output=params.get("output", self._output),
                batch_size=params.get("batch_size", self._batch_size),
                preprocess=params.get("preprocess", self._preprocess),
            )
        except Exception as exc:
            # Shown in the widget as well: the person may be looking at it, not at the cell.
            with self._lock:
                self.error = _describe_error(exc)
                self.status = "error"
            raise
        self._stop()
        self._preprocess = params.get("preprocess", self._preprocess)
        self._output = params.get("output", self._output)
        self._batch_size = params.get("batch_size", self._batch_size)
        with self._lock:
            for name, value in self._param_traits(sweep_params, baseline).items():
                setattr(self, name, value)
            self._set_grid(sweep_params.grid)
        self._start()

    def cancel(self) -> None:
        """Stop the running sweep soon; what was computed stays (status ``"cancelled"``).

        Examples
        --------
        >>> w.cancel(); w.wait()  # doctest: +SKIP
        'cancelled'
        """
        # getattr: ipywidgets calls close() from __del__, even when __init__ raised early.
        sweep = getattr(self, "_sweep", None)
        if sweep is not None:
            sweep.cancel.set()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the sweep ends (or ``timeout`` seconds pass); return :attr:`status`.

        Examples
        --------
        >>> w.wait()  # doctest: +SKIP
        'done'
        """
        sweep = self._sweep
        if sweep is not None and sweep.thread is not None:
            sweep.thread.join(timeout)
        return self.status

    def save(self, path: str | Path, dpi: int = 150) -> Path:
        """Write the current view as a PNG drawn with matplotlib in the browser's colours.

        Parameters
        ----------
        path : str or Path
            Where to write the PNG.
        dpi : int
            Resolution of the figure.

        Returns
        -------
        Path

        Examples
        --------
        >>> w.save("cat_sensitivity.png")  # doctest: +SKIP
        PosixPath('cat_sensitivity.png')
        """
        from .plot import save_view

        with self._lock:
            result = self._result
            if result is None or self.target is None:
                raise RuntimeError("nothing to save yet: no batch has finished; try w.wait()")
            return save_view(
                path,
                view=self.view,
                image=self.image,
                result=result,
                target=int(self.target),
                labels=list(self.labels),
                opacity=self.opacity,
                selected=self.selected,
                dpi=dpi,
            )

    def close(self) -> None:
        """Stop the sweep and close the widget.

        Examples
        --------
        >>> w.close()  # doctest: +SKIP
        """
        self.cancel()
        super().close()

    # -- the sweep -----------------------------------------------------------------------------

    def _current_baseline(self) -> Any:
        # The trait names a fill; a custom value, colour or image lives only in Python.
        if self.baseline == CUSTOM_BASELINE:
            return self._custom_baseline
        return self.baseline

    def _param_traits(self, params: Any, baseline: Any) -> dict[str, Any]:
        """The synced traits that describe validated sweep parameters."""
        if not isinstance(baseline, str):
            self._custom_baseline = baseline
        has_custom = self._custom_baseline is not None
        return {
            "patch_size": list(params.grid.patch_size),
            "stride": list(params.grid.stride),
            "baseline_options": list(BASELINE_NAMES) + ([CUSTOM_BASELINE] if has_custom else []),
            "baseline": _baseline_name(baseline),
        }

    def _set_grid(self, grid: Any) -> None:
        self.grid = {
            "rows": grid.rows,
            "cols": grid.cols,
            "patch": list(grid.patch_size),
            "stride": list(grid.stride),
            "tops": np.asarray(grid.tops, np.int32),
            "lefts": np.asarray(grid.lefts, np.int32),
        }
        if self.selected is not None and not (
            self.selected[0] < grid.rows and self.selected[1] < grid.cols
        ):
            self.selected = None

    def _stop(self) -> None:
        """Cancel the running sweep and wait for its thread (never while holding the lock)."""
        sweep = self._sweep
        if sweep is None:
            return
        sweep.cancel.set()
        if sweep.thread is not None and sweep.thread is not threading.current_thread():
            sweep.thread.join()

    def _start(self) -> None:
        sweep = _Sweep(cancel=threading.Event(), started=time.monotonic())
        grid = self.grid
        k = self.top_k if self._num_classes is None else min(self.top_k, self._num_classes)
        with self._lock:
            self._sweep = sweep
            self._result = None
            self.error = ""
            self.status = "running"
            total = grid["rows"] * grid["cols"]
            self.progress = {"done": 0, "total": total, "elapsed": 0.0, "eta": None}
            # Until the first batch lands every cell is drawn as "not computed".
            self.target_map = np.full((grid["rows"], grid["cols"]), np.nan, np.float32)
            self.topk_indices = np.full((grid["rows"], grid["cols"], k), -1, np.int32)
            self.topk_probabilities = np.full((grid["rows"], grid["cols"], k), np.nan)
        sweep.thread = threading.Thread(
            target=self._run, args=(sweep,), name="occlusion-sweep", daemon=True
        )
        sweep.thread.start()

    def _run(self, sweep: _Sweep) -> None:
        """The worker thread: stream batches into traits, throttled, then a final update."""
        result = None
        sweep_iter = iter_occlusion(
            self._model,
            self._image,
            patch_size=self.patch_size,
            stride=self.stride,
            baseline=self._current_baseline(),
            preprocess=self._preprocess,
            output=self._output,
            batch_size=self._batch_size,
            progress=False,
            cancel=sweep.cancel,
        )
        try:
            # A generator: nothing runs (not even validation) until the first next() in here.
            for result in sweep_iter:
                with self._lock:
                    if sweep is not self._sweep:
                        return
                    if self._result is None:
                        self._adopt(result)
                    self._result = result
                    now = time.monotonic()
                    if result.complete or now - sweep.last_push >= self.update_interval:
                        self._push(result, sweep.started)
                        sweep.last_push = now
                if sweep.cancel.is_set():
                    break
        except Exception as exc:  # the widget shows it; the kernel must survive
            with self._lock:
                if sweep is self._sweep:
                    if result is not None and self._result is result:
                        self._push(result, sweep.started)
                    self.error = _describe_error(exc)
                    self.status = "error"
            return
        finally:
            sweep_iter.close()
        with self._lock:
            if sweep is not self._sweep:
                return
            if result is not None:
                self._push(result, sweep.started)
            self.status = "done" if result is not None and result.complete else "cancelled"

    def _adopt(self, result: OcclusionResult) -> None:
        """Take what the first batch tells: the class count, names, baseline and target."""
        names = as_list(self._labels_given, result.num_classes)
        self._num_classes = result.num_classes
        if self.target is not None and self.target >= result.num_classes:
            raise ValueError(
                f"target {self.target} is out of range: the model has {result.num_classes} "
                f"classes (0 to {result.num_classes - 1})"
            )
        self.labels = names
        self.base_probabilities = result.base_probabilities
        self.baseline_image = _as_rgba_uint8(result.baseline, result.value_range)
        if self.target is None:
            self.target = result.base_class

    def _push(self, result: OcclusionResult, started: float) -> None:
        """Send the partial (or final) result: maps, top-k and progress."""
        elapsed = time.monotonic() - started
        done, total = result.done, result.total
        eta = elapsed / done * (total - done) if done else None
        self.target_map = result.probabilities[:, :, self.target]
        self._send_topk(result)
        self.progress = {"done": done, "total": total, "elapsed": elapsed, "eta": eta}

    def _send_topk(self, result: OcclusionResult) -> None:
        indices, values = _topk(result.probabilities, result.computed, self.top_k)
        self.topk_indices = indices
        self.topk_probabilities = values


def _baseline_name(baseline: Any) -> str:
    """The ``baseline`` trait's value: a fill's name, or ``"custom"`` for a value or array."""
    if not isinstance(baseline, str):
        return CUSTOM_BASELINE
    name = baseline.lower()
    return "gray" if name == "grey" else name


def _reject_unknown(kwargs: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(
            f"{where} got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(allowed)}"
        )
