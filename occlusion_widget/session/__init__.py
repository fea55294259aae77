"""The session: sweeps of one model on one image in a background thread, with no traitlets.

:class:`SweepSession` starts, cancels and replaces sweeps (:mod:`.sweep_session`); its owner
reads the current sweep through :class:`~.view.SessionView`. Beside it: one sweep's bookkeeping
(:mod:`.runs`), the top-k classes per position (:mod:`.topk`), a pinned cell
(:mod:`.selection`), the checks on what callers pass (:mod:`.checks`) and the probe of a
hand-drawn region with the shown sweep's inputs (:mod:`.probing`). The widget
(:mod:`occlusion_widget.widget`) mirrors a session into synced traits; nothing here imports it.
"""

from .runs import STATUSES, SWEEP_PARAMS, OnUpdate
from .selection import Selection
from .sweep_session import SweepSession
from .view import SessionView

__all__ = ["STATUSES", "SWEEP_PARAMS", "OnUpdate", "Selection", "SessionView", "SweepSession"]
