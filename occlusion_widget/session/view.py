"""What the owner of a :class:`~occlusion_widget.session.SweepSession` reads: the current
sweep's parameters, grid, status, result, progress, top-k arrays and the image to display.

Read-only properties over the session's state; starting, cancelling and the worker thread stay
in :mod:`occlusion_widget.session.sweep_session`. Safe from any thread: each property reads the
current sweep once (a sweep replaced meanwhile never mixes into one answer), and arrays the
worker fills are copied holding the session's lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine import Grid, OcclusionResult, SweepParams
from ..engine.images import to_display_rgba
from .runs import Run

__all__ = ["SessionView"]


class SessionView:
    """The read side of :class:`~occlusion_widget.session.SweepSession` (its base class).

    Examples
    --------
    >>> from occlusion_widget.session import SweepSession
    >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
    >>> session = SweepSession(model, np.ones((8, 8)), patch_size=4, stride=4,
    ...                        labels=["dark", "bright"])
    >>> session.status, session.progress["total"], session.topk_indices.shape
    ('idle', 4, (2, 2, 2))
    """

    # The contract with SweepSession, its one subclass: it sets each of these in __init__ (and
    # from_result), and mypy (make lint) holds both files to these types.
    lock: threading.RLock
    _model: Callable[..., Any] | None  # a Keras model or any callable: batch -> scores
    _params: dict[str, Any]
    _validated: SweepParams
    _display: tuple[np.ndarray, tuple[float, float] | None]
    _generation: int
    _run: Run | None
    _top_k: int
    num_classes: int | None

    # -- what the owner reads ------------------------------------------------------------------

    @property
    def can_run(self) -> bool:
        """Whether there is a model (False for a session made by ``from_result``)."""
        return self._model is not None

    @property
    def params(self) -> dict[str, Any]:
        """The current sweep's parameters as given (see :data:`~.runs.SWEEP_PARAMS`)."""
        run = self._run
        return dict(run.params if run is not None else self._params)

    @property
    def model(self) -> Callable[..., Any] | None:
        """The model the sweeps run (None for a session made by ``from_result``)."""
        return self._model

    @property
    def validated(self) -> SweepParams:
        """The current sweep's validated :class:`~occlusion_widget.engine.params.SweepParams`."""
        run = self._run
        return run.validated if run is not None else self._validated

    @property
    def grid(self) -> Grid:
        """The current sweep's :class:`~occlusion_widget.engine.Grid`."""
        return self.validated.grid

    @property
    def result(self) -> OcclusionResult | None:
        """The current sweep's result, filled in place while it runs (None before a batch)."""
        run = self._run
        return run.result if run is not None else None

    @property
    def status(self) -> str:
        """``"idle"``, ``"running"``, ``"done"``, ``"cancelled"`` or ``"error"``."""
        run = self._run
        return run.status if run is not None else "idle"

    @property
    def error(self) -> str:
        """The current sweep's error as one readable line, ``""`` when none."""
        run = self._run
        return run.error if run is not None else ""

    @property
    def generation(self) -> int:
        """Counts accepted sweeps; an update of an older generation is never delivered."""
        return self._generation

    @property
    def top_k(self) -> int:
        """Classes kept per position (at most the class count)."""
        return self._top_k if self.num_classes is None else min(self._top_k, self.num_classes)

    @property
    def progress(self) -> dict[str, Any]:
        """``{done, total, elapsed, eta}``: positions, seconds so far (None for a result given
        to the session: no sweep was timed), seconds left or None."""
        with self.lock:  # done and total of one sweep
            run = self._run
            if run is None:
                return {"done": 0, "total": int(self.grid.total), "elapsed": 0.0, "eta": None}
            total = int(run.validated.grid.total)
            done = run.topk.done if run.topk is not None else 0
        if run.loaded:
            return {"done": done, "total": total, "elapsed": None, "eta": None}
        elapsed = (run.ended if run.ended is not None else time.monotonic()) - run.started
        eta = elapsed / done * (total - done) if done else None
        return {"done": done, "total": total, "elapsed": elapsed, "eta": eta}

    @property
    def topk_indices(self) -> np.ndarray:
        """``(rows, cols, k)`` int32 top classes per position (a copy); -1 where not computed."""
        with self.lock:  # not torn by a batch the worker is adding
            run = self._run
            if run is None or run.topk is None:
                return np.full((self.grid.rows, self.grid.cols, self.top_k), -1, np.int32)
            return run.topk.indices.copy()

    @property
    def topk_probabilities(self) -> np.ndarray:
        """``(rows, cols, k)`` float32 their probabilities (a copy); NaN where not computed."""
        with self.lock:
            run = self._run
            if run is None or run.topk is None:
                return np.full((self.grid.rows, self.grid.cols, self.top_k), np.nan, np.float32)
            return run.topk.probabilities.copy()

    def display_image(self) -> np.ndarray:
        """The image as ``(H, W, 4)`` uint8 RGBA, mapped from its value range."""
        pixels, value_range = self._display
        return to_display_rgba(pixels, value_range)
