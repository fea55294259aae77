"""A sweep in a background thread, with cancel and throttled updates; no traitlets, no UI.

:class:`SweepSession` owns one model, one image (copied at construction) and the validated
sweep parameters, runs each sweep in a worker thread and tells its owner about progress through
one ``on_update(event)`` callback. The widget is such an owner; tests drive a session directly.

Threads: every public method may be called from any thread, and the last request wins.
:meth:`SweepSession.start` never waits on the model. It cancels the running sweep and starts the
next one at once; the new worker thread (not the caller's) waits for the old one to stop, so the
kernel's main thread never blocks on a stuck model. A sweep is accepted, and its worker started,
in one step under :attr:`SweepSession.lock`, so each worker waits for the one it replaces.
Every model call (a sweep's batch or a probe) holds :attr:`SweepSession.model_lock`: the model
is never called twice at once. Every sweep has a generation number; updates from a replaced
sweep are dropped.

What the owner reads (status, result, progress, top-k arrays, the display image) is
:class:`~occlusion_widget.session.view.SessionView`, in its own module.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

from .. import labels as _labels
from ..engine import BASELINE_NAMES, OcclusionResult, validate_params
from ..engine.sweep import run_sweep
from .checks import (
    check_model,
    check_top_k,
    declared_num_classes,
    describe_error,
    display_instead,
    own_copy,
    reject_unknown,
)
from .runs import STATUSES, SWEEP_PARAMS, OnUpdate, Run
from .topk import TopK
from .view import SessionView

__all__ = ["STATUSES", "SWEEP_PARAMS", "OnUpdate", "SweepSession"]


class SweepSession(SessionView):
    """Runs occlusion sweeps of one model on one image in a background thread.

    Parameters
    ----------
    model : keras.Model or callable
        As for :func:`~occlusion_widget.occlusion_map`.
    image : array-like, PIL.Image.Image or path
        Copied now: later changes to the caller's array do not reach the sweep.
    labels : list, dict, str or None
        Class names (see :func:`occlusion_widget.labels.as_list`), resolved once the model's
        class count is known.
    top_k : int
        Classes kept per position in :attr:`topk_indices` / :attr:`topk_probabilities`.
    on_update : callable, optional
        ``on_update(event)``, see :data:`OnUpdate`; may be set later as an attribute.
    throttle : float
        Least seconds between two ``"batch"`` updates (the first batch and the end always go).
    **params
        The sweep parameters, keyword only: ``patch_size``, ``stride``, ``baseline``,
        ``mode``, ``preprocess``, ``output``, ``batch_size``, ``value_range``, ``resize``
        (:data:`SWEEP_PARAMS`); validated once here, and once per changed recompute.

    Raises
    ------
    TypeError, ValueError
        A bad parameter, an unknown keyword, or labels that do not fit a Keras model's
        declared class count; nothing runs.

    Examples
    --------
    >>> def model(batch):  # class 1 = brightness of the top-left corner
    ...     p = batch[:, :8, :8].mean(axis=(1, 2, 3))
    ...     return np.stack([1 - p, p], axis=1)
    >>> session = SweepSession(model, np.ones((16, 16)), patch_size=8, stride=8,
    ...                        baseline="black", labels=["dark", "bright"])
    >>> session.start()
    >>> session.wait(10), session.names, session.topk_indices[..., 0].tolist()
    ('done', ['dark', 'bright'], [[0, 1], [1, 1]])
    """

    def __init__(
        self,
        model: Any,
        image: Any,
        *,
        labels: Any = None,
        top_k: int = 5,
        on_update: OnUpdate | None = None,
        throttle: float = 0.1,
        **params: Any,
    ) -> None:
        reject_unknown(params, "SweepSession()", SWEEP_PARAMS)
        if model is not None:
            check_model(model)
        #: Guards the session's state; held while an update is delivered.
        self.lock = threading.RLock()
        #: Held around every call of the model: each batch of a sweep and each probe. Never
        #: taken while holding :attr:`lock` by the session itself.
        self.model_lock = threading.Lock()
        self.on_update = on_update
        self.throttle = float(throttle)
        self._model = model
        self._image = own_copy(image)
        self._labels = _labels.resolve(labels)
        self._top_k = check_top_k(top_k)
        self._params = {**SWEEP_PARAMS, **params}
        self._validated = validate_params(self._image, model=model, **self._params)
        raw = self._validated.image
        self._display = (raw.pixels, raw.value_range)
        self.names: list[str] | None = None
        # Until the model has run, a list of names tells the class count too (the first batch
        # checks that the two agree).
        self.num_classes: int | None = len(self._labels) if isinstance(self._labels, list) else None
        declared = declared_num_classes(model)
        if declared is not None:
            # A Keras model says its class count: check the labels now, not in the thread.
            self.names = _labels.as_list(self._labels, declared)
            self.num_classes = declared
        self._generation = 0
        self._run: Run | None = None
        # The last sweep that finished every position: a cancelled or failed sweep goes back
        # to it, so cancelling a recompute never loses a finished map.
        self._complete: Run | None = None
        #: The result of the latest sweep that ended without finishing (cancelled or failed),
        #: kept when the session went back to the last complete one; None after a complete one.
        self.partial_result: OcclusionResult | None = None

    @classmethod
    def from_result(
        cls,
        result: OcclusionResult,
        *,
        labels: Any = None,
        top_k: int = 5,
        image: Any = None,
        model: Any = None,
        preprocess: Any = None,
        output: str = "auto",
    ) -> SweepSession:
        """A session that shows a computed (or loaded) result; it runs nothing until started.

        Parameters
        ----------
        result : OcclusionResult
        labels : list, dict, str or None
            One name per class of the result.
        top_k : int
        image : array-like, optional
            Shown instead of ``result.image`` (same height and width), e.g. the uint8 photo.
        model : keras.Model or callable, optional
            The model that made ``result``: with it the session can recompute and probe;
            without it, :meth:`start` refuses.
        preprocess : callable, optional
        output : {"auto", "probabilities", "logits"}
            As for the sweep that made ``result``.

        Examples
        --------
        >>> import occlusion_widget as ow
        >>> model = lambda b: np.stack([b.mean(axis=(1, 2, 3)), 1 - b.mean(axis=(1, 2, 3))], 1)
        >>> result = ow.occlusion_map(model, np.ones((8, 8)), patch_size=4, stride=4,
        ...                           progress=False)
        >>> session = SweepSession.from_result(result)
        >>> session.status, session.grid.rows, session.names
        ('done', 2, ['class 0', 'class 1'])
        """
        if not isinstance(result, OcclusionResult):
            raise TypeError(f"result must be an OcclusionResult; got {type(result).__name__}")
        named = result.baseline_name in BASELINE_NAMES
        session = cls(
            model,
            result.image,
            labels=labels,
            top_k=top_k,
            preprocess=preprocess,
            output=output,
            patch_size=result.patch_size,
            stride=result.stride,
            # A custom fill is kept as the image it was, so it can be shown and reused.
            baseline=result.baseline_name if named else result.baseline,
            value_range=result.value_range,
            mode=result.mode,
        )
        session.names = _labels.as_list(session._labels, result.num_classes)
        session.num_classes = result.num_classes
        session._display = (result.image, result.value_range)
        if image is not None:
            session._display = (display_instead(image, result.image_shape), None)
        run = Run.shown(result, session._params, session._validated, top_k)
        session._run = run
        if result.complete:
            session._complete = run
        else:
            session.partial_result = result
        return session

    # -- what the owner does -------------------------------------------------------------------

    def start(self, **changes: Any) -> None:
        """Validate, then cancel the running sweep and start a new one; never waits.

        Parameters
        ----------
        **changes
            Sweep parameters to change (:data:`SWEEP_PARAMS`); the others keep their values.

        Raises
        ------
        TypeError, ValueError
            A bad or unknown parameter: nothing changes, the running sweep goes on.
        RuntimeError
            The session has no model (made by :meth:`from_result`).
        """
        reject_unknown(changes, "recompute()", SWEEP_PARAMS)
        if self._model is None:
            raise RuntimeError(
                "this widget shows a saved result and has no model to run; pass model= to "
                "OcclusionWidget.from_result (or open_dataset) to recompute"
            )
        while True:
            with self.lock:
                base, validated = self._params, self._validated
            params = {**base, **changes}
            if changes:  # outside the lock: validating may be slow, sweeps go on meanwhile
                validated = validate_params(self._image, model=self._model, **params)
            with self.lock:
                if self._params is not base:
                    # Another start (or a restore) changed the parameters meanwhile: apply
                    # these changes to the new ones, so the last request wins whole.
                    continue
                self._accept(params, validated)
                return

    def _accept(self, params: dict[str, Any], validated: Any) -> None:
        """Replace the current sweep by a new one and start its worker (holding the lock).

        The worker is started before anyone can see the new run, so a later start always
        finds a started thread to wait for, and no run is left without one.
        """
        previous = self._run
        if previous is not None:
            previous.cancel.set()
        self._generation += 1
        run = Run(generation=self._generation, params=params, validated=validated)
        waits_for = previous.thread if previous is not None else None
        run.thread = threading.Thread(
            target=self._work, args=(run, waits_for), name="occlusion-sweep", daemon=True
        )
        # The worker takes the lock for its first update: "start" below is delivered first.
        run.thread.start()
        self._params, self._validated = params, validated
        self._display = (validated.image.pixels, validated.image.value_range)
        self._run = run
        self._notify("start")

    def cancel(self) -> None:
        """Ask the running sweep to stop after its current batch (status ``"cancelled"``)."""
        with self.lock:
            run = self._run
            if run is not None:
                run.cancel.set()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the current sweep ends (or ``timeout`` seconds pass); return the status.

        A sweep started meanwhile (from another thread) is waited for too.

        Examples
        --------
        >>> session.start(stride=8)
        >>> session.wait(10)
        'done'
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self._run
            thread = run.thread if run is not None else None
            if thread is None or thread is threading.current_thread():
                break  # nothing to wait for, or asked by the sweep's own update
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
            if thread.is_alive():
                break  # timed out
            current = self._run
            # A restore keeps the ended worker's thread: that sweep is over too.
            if current is run or current is None or current.thread is thread:
                break
        return self.status

    def set_top_k(self, k: int) -> None:
        """Keep ``k`` classes per position from now on; recomputed from the kept probabilities."""
        k = check_top_k(k)
        with self.lock:
            self._top_k = k
            run = self._run
            if run is not None and run.result is not None:
                run.topk = TopK(run.result, k)

    # -- the worker thread ---------------------------------------------------------------------

    def _work(self, run: Run, previous: threading.Thread | None) -> None:
        # The previous sweep was cancelled; it stops after its current batch. Waiting here, not
        # in start(), keeps the caller's thread free and the model used by one sweep at a time.
        if previous is not None:
            previous.join()
        status, error = "cancelled", ""
        try:
            if not run.cancel.is_set():  # else replaced or cancelled before it began
                status, error = self._sweep(run)
        except BaseException as exc:  # whatever happens, the run ends with a final status
            status, error = "error", describe_error(exc)
            raise
        finally:
            self._finish(run, status, error)  # a replaced run's end is recorded, not shown

    def _sweep(self, run: Run) -> tuple[str, str]:
        """Run the sweep; its final ``(status, error)``."""
        status, error = "cancelled", ""
        # Validated once, in start(): only this run's cancel flag is added.
        sweep = run_sweep(self._model, replace(run.validated, cancel=run.cancel))
        try:
            while True:
                # One batch (one model call) at a time under the model lock: a probe waits
                # for it, and it waits for a probe.
                with self.model_lock:
                    result = next(sweep, None)
                if result is None:
                    break
                if not self._take_batch(run, result):
                    break  # replaced: a newer sweep is shown
                if result.complete:
                    status = "done"
                if run.cancel.is_set():
                    break
        except Exception as exc:  # the owner shows it; the kernel must survive
            # A ModelError's partial_result is run.result itself: the work done stays there.
            status, error = "error", describe_error(exc)
        finally:
            with self.model_lock:
                sweep.close()
        return status, error

    def _take_batch(self, run: Run, result: OcclusionResult) -> bool:
        """Take what this batch added; False when the run was replaced."""
        # The first batch tells the class count: the names must fit it before anything shows.
        names = _labels.as_list(self._labels, result.num_classes) if run.result is None else None
        with self.lock:
            if run.generation != self._generation:
                return False
            if run.topk is None:
                self.names, self.num_classes = names, result.num_classes
                run.result, run.topk = result, TopK(result, self._top_k)
            else:
                # Only the cells this batch added are ranked: a batch costs the same at the end
                # of a sweep as at its start.
                run.topk.update()
            now = time.monotonic()
            if now - run.last_update >= self.throttle:
                run.last_update = now
                self._notify("batch")
        return True

    def _finish(self, run: Run, status: str, error: str) -> None:
        with self.lock:
            run.status, run.error, run.ended = status, error, time.monotonic()
            if run.generation != self._generation:
                return
            if status == "done":
                self._complete, self.partial_result = run, None
            else:
                self.partial_result = run.result
            complete = self._complete
            if status == "done" or complete is None:
                self._notify("end")
                return
            # Go back to the last complete sweep, with this one's status and error: the
            # finished map, its parameters and grid are never replaced by a partial one.
            self._params, self._validated = complete.params, complete.validated
            self._display = (complete.validated.image.pixels, complete.validated.image.value_range)
            back = replace(complete, status=status, error=error, generation=run.generation)
            assert complete.result is not None  # a complete run has its result
            back.thread, back.topk = run.thread, TopK(complete.result, self._top_k)
            self._run = back
            self._notify("restore")

    def _notify(self, event: str) -> None:
        if self.on_update is not None:
            self.on_update(event)
