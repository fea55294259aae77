"""One sweep's bookkeeping for :class:`~occlusion_widget.session.SweepSession`, and the lists
the session and the widget share: the sweep parameters, the statuses, the update events."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engine import OcclusionResult
from ..engine.params import DEFAULTS, SweepParams
from .topk import TopK

__all__ = ["STATUSES", "SWEEP_PARAMS", "OnUpdate", "Run"]

#: The sweep parameters with their defaults, read from the engine's one list
#: (:data:`~occlusion_widget.engine.params.DEFAULTS`): what the widget, ``recompute`` and the
#: session accept. ``progress`` and ``cancel`` are the session's own business.
SWEEP_PARAMS: dict[str, Any] = {
    name: value for name, value in DEFAULTS.as_dict().items() if name not in ("progress", "cancel")
}
STATUSES = ("idle", "running", "done", "cancelled", "error")

#: ``on_update(event)``: ``"start"`` (a sweep was accepted: new parameters and grid, nothing
#: computed yet; called in the caller's thread), ``"batch"`` (throttled partial results),
#: ``"end"`` (status is final) and ``"restore"`` (a sweep was cancelled or failed after an
#: earlier one completed: the session went back to that complete sweep, its parameters, grid
#: and result, with the final status of the one that did not finish). All but ``"start"`` are
#: called in the worker thread, always holding :attr:`SweepSession.lock`. An exception raised
#: by it on a batch stops that sweep with status ``"error"``.
OnUpdate = Callable[[str], None]


@dataclass
class Run:
    """One sweep: its parameters, thread, cancel flag, partial result and top-k so far."""

    generation: int
    params: dict[str, Any]
    validated: SweepParams  # the checked parameters
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    #: A result given to the session (loaded, or from another session): no sweep was timed.
    loaded: bool = False
    thread: threading.Thread | None = None
    result: OcclusionResult | None = None
    topk: TopK | None = None
    status: str = "running"
    error: str = ""
    last_update: float = float("-inf")

    @classmethod
    def shown(
        cls, result: OcclusionResult, params: dict[str, Any], validated: SweepParams, k: int
    ) -> Run:
        """A run that holds a result given to a session: done, or cancelled when partial.

        Examples
        --------
        >>> import numpy as np, occlusion_widget as ow
        >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
        >>> r = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4, progress=False)
        >>> Run.shown(r, {}, None, 1).status
        'done'
        """
        run = cls(generation=0, params=params, validated=validated, loaded=True)
        run.status = "done" if result.complete else "cancelled"
        run.result, run.topk = result, TopK(result, k)
        return run
