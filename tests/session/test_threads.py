"""The widget and its session used from several threads at once (issue 19, items 8 and 9):
no sweep thread dies, the model never runs twice at once, the last request wins and nothing
stays ``"running"``.

The verdicts do not rest on timing: every loop is bounded, and what is checked (no thread
error, at most one model call at a time, the final state) holds whatever the interleaving.
The model pauses a millisecond per call only to give the old races room to show.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from occlusion_widget import OcclusionWidget
from tests.helpers.models_widget import IMAGE, NAMES, band_model

#: (patch_size, stride) pairs the threads ask for; each is a different grid of IMAGE (32x32).
GRIDS = [(8, 8), (8, 4), (16, 8), (4, 4), (16, 16), (12, 4)]


class OverlapModel:
    """``band_model`` that records how many of its calls ever ran at once.

    With ``hold_probes``, a call from any thread but a sweep's waits (at most that many seconds)
    until a sweep calls the model too: the moment a probe and a sweep would overlap.
    """

    def __init__(self, pause: float = 0.0, hold_probes: float = 0.0) -> None:
        self.pause = pause
        self.hold_probes = hold_probes
        self.probing = threading.Event()
        self.sweep_called = threading.Event()
        self._lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.calls = 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
        try:
            if threading.current_thread().name == "occlusion-sweep":
                self.sweep_called.set()
            elif self.hold_probes:
                self.probing.set()
                self.sweep_called.wait(self.hold_probes)
            if self.pause:
                time.sleep(self.pause)
            return band_model(batch)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every exception that ends a thread (a sweep worker's included), as 'Type: message'."""
    errors: list[str] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        errors.append(f"{args.exc_type.__name__}: {args.exc_value}")

    monkeypatch.setattr(threading, "excepthook", hook)
    return errors


def run_threads(count: int, target) -> None:
    """Run ``target(i)`` in ``count`` threads that start together; join them all."""
    barrier = threading.Barrier(count)

    def body(i: int) -> None:
        barrier.wait()
        target(i)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def accepted_requests(w: OcclusionWidget) -> list[tuple[int, int]]:
    """(patch_size, stride) of every sweep the session accepted, in the order it did."""
    accepted: list[tuple[int, int]] = []
    mirror = w.session.on_update

    def spy(event: str) -> None:
        if event == "start":  # called holding the session's lock, as the sweep is accepted
            params = w.session.params
            accepted.append((params["patch_size"], params["stride"]))
        mirror(event)

    w.session.on_update = spy
    return accepted


def test_recompute_from_four_threads_runs_one_sweep_at_a_time_and_the_last_wins(
    thread_errors,
) -> None:
    model = OverlapModel(pause=0.0005)
    w = OcclusionWidget(model, IMAGE, labels=NAMES, patch_size=8, stride=8, batch_size=8)
    assert w.wait(30) == "done"
    accepted = accepted_requests(w)
    raised: list[str] = []

    for round_ in range(12):

        def requests(i: int, round_: int = round_) -> None:
            for j in range(3):
                patch, stride = GRIDS[(i + j + round_) % len(GRIDS)]
                try:
                    w.recompute(patch_size=patch, stride=stride)
                except Exception as exc:  # any error is the defect
                    raised.append(repr(exc))

        run_threads(4, requests)
        # Bounded by the timeout only so that a defect fails instead of hanging the suite.
        assert w.wait(30) == "done", f"round {round_}: stuck {w.status!r}"
        patch, stride = accepted[-1]
        assert w.session.params["patch_size"] == patch and w.session.params["stride"] == stride
        result = w.result
        assert result is not None and result.complete
        assert result.patch_size == (patch, patch) and result.stride == (stride, stride)
        assert w.patch_size == [patch, patch] and w.stride == [stride, stride]
        assert w.grid["rows"] == result.rows and w.status == "done" and w.error == ""
    assert raised == [] and thread_errors == []
    assert model.most == 1, "two sweeps called the model at once"


def test_every_public_method_is_safe_from_any_thread(thread_errors, tmp_path) -> None:
    model = OverlapModel(pause=0.0005)
    w = OcclusionWidget(model, IMAGE, labels=NAMES, patch_size=8, stride=8, batch_size=8)
    assert w.wait(30) == "done"
    unexpected: list[str] = []
    seen: list[tuple] = []

    def use(i: int) -> None:
        for j in range(12):
            step = (i + j) % 7
            try:
                if step == 0:
                    patch, stride = GRIDS[(i * 3 + j) % len(GRIDS)]
                    w.recompute(patch_size=patch, stride=stride)
                elif step == 1:
                    w.cancel()
                elif step == 2:
                    w.wait(0.01)
                    seen.append((w.session.progress, w.session.topk_probabilities, w.selection))
                elif step == 3:
                    w.top_k = 1 + (i + j) % 4
                elif step == 4:
                    w.target = (i + j) % len(NAMES)
                elif step == 5:
                    w.probe((0, 0, 8, 8))
                else:
                    w.wait(30)
                    w.to_html(tmp_path / f"page_{i}_{j}.html")
            except RuntimeError as exc:
                # Refused clearly: a probe beside a running sweep, a page before a batch.
                if not any(text in str(exc) for text in ("busy with the running", "no result yet")):
                    unexpected.append(repr(exc))
            except Exception as exc:  # any other error is the defect
                unexpected.append(repr(exc))

    run_threads(4, use)
    w.recompute(patch_size=8, stride=4)
    assert w.wait(30) == "done"
    assert w.result is not None and w.result.complete and w.result.stride == (4, 4)
    assert unexpected == [] and thread_errors == []
    assert model.most == 1


def test_a_probe_and_a_sweep_never_call_the_model_at_once(thread_errors) -> None:
    """Issue 19 item 9: a thread probing beside one recomputing overlapped 20 of 322 calls."""
    model = OverlapModel(pause=0.001)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4, batch_size=8)
    assert w.wait(30) == "done"
    stop = threading.Event()
    unexpected: list[str] = []
    answered = 0

    def probing() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                w.probe((0, 0, 8, 8))
                answered += 1
            except RuntimeError as exc:
                if "busy with the running sweep" not in str(exc):
                    unexpected.append(repr(exc))

    prober = threading.Thread(target=probing)
    prober.start()
    try:
        for i in range(6):
            w.recompute(stride=4 if i % 2 else 8)
            assert w.wait(30) == "done"
    finally:
        stop.set()
        prober.join()
    assert unexpected == [] and thread_errors == []
    assert model.most == 1, "a probe and a sweep called the model at once"


def test_a_sweep_started_during_a_probe_waits_for_the_probe(thread_errors) -> None:
    """The same overlap made certain: a recompute lands while the probe's model call runs."""
    model = OverlapModel(hold_probes=0.3)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=8)
    assert w.wait(30) == "done"
    model.sweep_called.clear()
    answers: list[np.ndarray] = []
    prober = threading.Thread(target=lambda: answers.append(w.probe((0, 0, 8, 8))))
    prober.start()
    assert model.probing.wait(30)
    w.recompute(stride=4)  # returns at once; its sweep must not call the model yet
    prober.join()
    assert w.wait(30) == "done" and w.result.stride == (4, 4)
    assert len(answers) == 1 and thread_errors == []
    assert model.most == 1, "the sweep called the model while the probe's call ran"
