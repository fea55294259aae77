"""``method="auto"``: run in full until the sweep's own timing shows the incremental pass pays.

The incremental pass computes a share ``f`` of the full pass's multiply-adds (its plan says
which), but it costs a trace of its compiled function (seconds, once per model, image size,
patch and stride) and a few gathers per layer and batch that the multiply-add count leaves out.
On a small model the gathers cost more than the arithmetic they save: the shipped demo model
sweeps 225 positions in 0.06 s in full and 0.4 s incrementally. So ``"auto"`` starts in full,
times the sweep's second batch (the first compiles the full pass; when an earlier sweep compiled
it already, or the backend runs eagerly as torch does, the first batch) and switches only when

    remaining * (t * (1 - f) - OVERHEAD) > SETUP

where ``t`` is the full pass's measured seconds per image and ``remaining`` the images still to
score. The set-up is measured per backend (``benchmarks/bench_methods.py``): TensorFlow traces
the function, JAX compiles it with XLA, torch runs it eagerly and pays only the clean pass and
the plan. The other constants were measured on TensorFlow on a 2-core CPU (MobileNetV2, VGG16,
ResNet50 and the demo model; ``benchmarks/bench_auto.py``); the result is the same either way,
only the time differs.
"""

from __future__ import annotations

import time
import weakref

__all__ = ["AutoForward", "incremental_pays"]

# The full pass's measured seconds per image, per model and prepared batch shape: a later sweep
# of the same model at that shape (a widget recompute with another baseline, target or stride)
# decides before its first batch instead of timing one in full again.
_SPEED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _remembered(model, shape):
    try:
        return _SPEED.get(model, {}).get(tuple(shape))
    except TypeError:  # an unhashable model: nothing remembered
        return None


def _remember(model, shape, seconds_per_image):
    try:
        _SPEED.setdefault(model, {})[tuple(shape)] = seconds_per_image
    except TypeError:
        pass


#: Seconds to build the incremental function the first time, per Keras backend, on a 2-core
#: CPU (``bench_methods.py --setup-only``, quiet): TensorFlow traces and optimises it (2.1-2.4 s
#: VGG16, 2.4-2.8 s MobileNetV2, 4.1-4.6 s ResNet50), JAX compiles it with XLA (11.7 s
#: MobileNetV2), torch runs it eagerly and pays only the clean pass and the plan (0.2 s) ...
SETUP_SECONDS = {"tensorflow": 3.0, "jax": 12.0, "torch": 0.5}
#: ... and when the compiled function of the previous sweep is reused (same model, image size,
#: patch and stride): the clean pass and the plan only.
CACHED_SETUP_SECONDS = 0.2
#: Seconds per image the incremental pass spends beyond its share of the arithmetic (gathers,
#: rebasing boxes); what makes it slower than the full pass on a tiny model.
OVERHEAD_SECONDS = 3e-4
#: The largest share of the full pass's multiply-adds worth computing incrementally.
MAX_FRACTION = 0.7


def incremental_pays(remaining, seconds_per_image, flop_fraction, cached=False, backend=None):
    """Whether switching to the incremental pass saves time, and why (a sentence).

    Parameters
    ----------
    remaining : int
        Images still to score.
    seconds_per_image : float
        The full pass's measured time per image.
    flop_fraction : float or None
        The plan's share of the full pass's multiply-adds; None before there is a plan (then
        the best case, 0, is assumed: whether it could pay at all).
    cached : bool
        Whether the compiled incremental function can be reused.
    backend : str, optional
        The Keras backend (its set-up differs: :data:`SETUP_SECONDS`); TensorFlow by default.

    Returns
    -------
    pays : bool
    reason : str

    Examples
    --------
    >>> incremental_pays(2745, 0.0087, 0.56)[0]  # MobileNetV2, stride 4, on a 2-core CPU
    True
    >>> incremental_pays(132, 0.0087, 0.56)  # the same at stride 16
    (False, 'the incremental pass would save about 0.5 s, less than its set-up (about 3.0 s)')
    """
    f = 0.0 if flop_fraction is None else float(flop_fraction)
    first = SETUP_SECONDS.get(backend or "tensorflow", max(SETUP_SECONDS.values()))
    setup = min(CACHED_SETUP_SECONDS, first) if cached else first
    if f > MAX_FRACTION:
        return False, (
            f"the incremental pass would still compute {f:.0%} of the multiply-adds (more than "
            f"{MAX_FRACTION:.0%})"
        )
    saving = remaining * (seconds_per_image * (1.0 - f) - OVERHEAD_SECONDS)
    if saving <= setup:
        return False, (
            f"the incremental pass would save about {max(saving, 0.0):.1f} s, less than its "
            f"set-up (about {setup:.1f} s)"
        )
    return True, f"saves about {saving:.1f} s on the remaining {remaining} images"


class AutoForward:
    """A forward pass that runs in full, times its second batch (its first when the full pass
    is warm: ``full.warm``; none when an earlier sweep of the model timed it at this batch
    shape), and from then on runs incrementally when :func:`incremental_pays` says so.

    Same interface as the full :class:`~.model.Forward` plus ``set_cells`` (which grid cell
    each row of the next batch holds) and ``info``, a dict updated in place when it decides
    (the result's ``info``).

    Parameters
    ----------
    full : Forward
    build : callable
        ``build() -> IncrementalForward``; may raise ``Unsupported``.
    total : int
        Images the sweep will score (an upper bound is fine).
    cached : bool
        Whether the compiled incremental function can be reused.
    note : str
        Appended to the reason it gives (what the images it weighs are).
    estimate : callable, optional
        ``estimate() -> float or None``: the plan's FLOP share without building the pass
        (:func:`~.incremental.estimate_fraction`), so that a plan that would not pay is never
        built (building runs the model once, layer by layer).
    model : keras.Model, optional
        Whose full pass it times: the time is remembered per model and batch shape, and a later
        sweep at that shape decides before its first batch.
    """

    def __init__(self, full, build, total, cached=False, note="", estimate=None, model=None):
        self.full = full
        self.backend, self.accelerator = full.backend, full.accelerator
        self.preprocess = full.preprocess
        self._build, self._total, self._cached, self._note = build, total, cached, note
        self._estimate, self._model = estimate, model
        self._active = full
        self._cells = None
        self._runs = self._images = 0
        # The first call compiles the full pass unless an earlier one did (or it is eager).
        self._timed_run = 1 if getattr(full, "warm", False) else 2
        which = "first" if self._timed_run == 1 else "second"
        self.info: dict = {"method": "full", "reason": f"deciding after timing the {which} batch"}

    def prepare(self, batch):
        return self.full.prepare(batch)

    def set_cells(self, cells):
        self._cells = cells

    def run(self, x):
        if self._active is not self.full:
            self._active.set_cells(self._cells)
            out = self._active.run(x)
            self.info.update(self._active.info)  # e.g. batches it had to run in full
            return out
        if self._runs == 0 and self._model is not None:
            known = _remembered(self._model, x.shape)
            if known is not None:  # timed by an earlier sweep: decide now, time nothing
                self._timed_run = 0
                self._decide(known, self._total, " (the full pass's speed from the last sweep)")
                if self._active is not self.full:
                    return self.run(x)
        start = time.perf_counter()
        out = self.full.run(x)
        seconds = time.perf_counter() - start
        self._runs += 1
        self._images += len(x)
        if self._runs == self._timed_run:
            per_image = seconds / max(len(x), 1)
            if self._model is not None:
                _remember(self._model, x.shape, per_image)
            self._decide(per_image, max(self._total - self._images, 0))
        return out

    def _decide(self, seconds_per_image, remaining, how=""):
        from .incremental import Unsupported

        backend = self.backend
        pays, reason = incremental_pays(remaining, seconds_per_image, None, self._cached, backend)
        fraction = self._estimate() if pays and self._estimate is not None else None
        if fraction is not None:
            pays, reason = incremental_pays(
                remaining, seconds_per_image, fraction, self._cached, backend
            )
        if pays:
            try:
                candidate = self._build()
            except Unsupported as exc:
                pays, reason = False, str(exc)
            else:
                fraction = candidate.plan.flop_fraction
                pays, reason = incremental_pays(
                    remaining, seconds_per_image, fraction, self._cached, backend
                )
        if pays:
            self._active = candidate
            self.info.clear()
            self.info.update(candidate.info)
            self.info["switched_after"] = self._images
        self.info["reason"] = reason + how + self._note
