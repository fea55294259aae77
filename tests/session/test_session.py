"""The sweep session (occlusion_widget/session/) without any widget: threads, cancel,
replacement, throttling, incremental top-k, and sessions made from saved results."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from occlusion_widget import occlusion_map
from occlusion_widget.session import SweepSession
from occlusion_widget.session.topk import TopK, top_classes
from tests.helpers.models_widget import IMAGE, NAMES, CountingModel, band_model, softmax_model


class Events:
    """``on_update``: records (event, thread, status, progress) of every call."""

    def __init__(self) -> None:
        self.session: SweepSession | None = None
        self.calls: list[tuple[str, threading.Thread, str, dict]] = []

    def __call__(self, event: str) -> None:
        s = self.session
        self.calls.append((event, threading.current_thread(), s.status, s.progress))


def session_with_events(model, **kwargs) -> tuple[SweepSession, Events]:
    events = Events()
    session = SweepSession(model, IMAGE, on_update=events, **kwargs)
    events.session = session
    return session, events


def test_a_sweep_ends_done_with_the_engines_result_and_names() -> None:
    session, events = session_with_events(band_model, labels=NAMES, patch_size=8, stride=4)
    assert session.status == "idle" and session.result is None
    session.start()
    assert session.wait(10) == "done"
    expected = occlusion_map(band_model, IMAGE, patch_size=8, stride=4, progress=False)
    np.testing.assert_array_equal(session.result.probabilities, expected.probabilities)
    assert session.names == NAMES and session.num_classes == 6
    assert session.progress["done"] == session.progress["total"] == 49
    kinds = [event for event, *_ in events.calls]
    assert kinds[0] == "start" and kinds[-1] == "end" and "batch" in kinds
    assert events.calls[-1][2] == "done"


def test_the_image_is_copied_when_the_session_is_made() -> None:
    # Keras preprocess_input changes float32 arrays in place; the sweep must not see that.
    image = IMAGE.copy()
    model = CountingModel(block_at=1)
    session = SweepSession(model, image, patch_size=8, stride=8)
    session.start()
    assert model.reached.wait(10)
    image -= 1000.0  # what `x = preprocess_input(image)` does to the caller's array
    model.release.set()
    assert session.wait(10) == "done"
    np.testing.assert_array_equal(session.result.image, IMAGE)
    # The picture too: within 1 of 255 * value (rounding of a float32 product may differ).
    shown = session.display_image()[..., 0].astype(int)
    assert np.abs(shown - IMAGE[..., 0] * 255).max() <= 1


def test_start_never_waits_for_a_model_that_is_stuck() -> None:
    model = CountingModel(block_at=1)
    session = SweepSession(model, IMAGE, patch_size=8, stride=4, batch_size=4)
    session.start()
    assert model.reached.wait(10)
    session.start(patch_size=16, stride=8)  # would wait for the stuck call if it joined
    # start() returned while the old sweep's model call is still blocked.
    assert model.inside.is_set() and not model.release.is_set()
    assert session.status == "running" and session.grid.rows == 3
    model.release.set()
    assert session.wait(10) == "done"
    assert session.result.rows == 3 and session.result.complete


def test_updates_of_a_replaced_sweep_are_ignored() -> None:
    model = CountingModel(block_at=2)
    session, events = session_with_events(model, patch_size=8, stride=4, batch_size=4)
    session.throttle = 0.0
    session.start()
    assert model.reached.wait(10)
    old_thread = session._run.thread
    session.start(patch_size=16, stride=8)
    replaced_at = len(events.calls)
    model.release.set()
    assert session.wait(10) == "done"
    late = [call for call in events.calls[replaced_at:] if call[1] is old_thread]
    assert late == [], "the replaced sweep still reported"
    assert all(call[3]["total"] == 9 for call in events.calls[replaced_at - 1 :])
    assert old_thread is not None and not old_thread.is_alive()


def test_a_rejected_start_changes_nothing_and_the_running_sweep_goes_on() -> None:
    model = CountingModel(block_at=2)
    session, events = session_with_events(model, patch_size=8, stride=4, batch_size=4)
    session.start()
    assert model.reached.wait(10)
    before = (session.generation, session.params, session.status, len(events.calls))
    with pytest.raises(ValueError, match="cannot exceed the image size"):
        session.start(patch_size=300)
    with pytest.raises(TypeError, match=r"'patchsize' \(did you mean 'patch_size'\?\)"):
        session.start(patchsize=4)
    assert (session.generation, session.params, session.status, len(events.calls)) == before
    model.release.set()
    assert session.wait(10) == "done" and session.error == ""
    assert session.result.rows == 7


def test_cancel_keeps_what_was_computed() -> None:
    model = CountingModel(block_at=3)
    session = SweepSession(model, IMAGE, patch_size=8, stride=4, batch_size=4)
    session.start()
    assert model.reached.wait(10)
    session.cancel()
    model.release.set()
    assert session.wait(10) == "cancelled"
    result = session.result
    assert 0 < result.done < result.total
    assert session.progress["done"] == result.done
    np.testing.assert_array_equal(session.topk_indices[..., 0] >= 0, result.computed)


def test_updates_are_throttled_but_the_first_batch_and_the_end_always_go() -> None:
    session, events = session_with_events(band_model, patch_size=4, stride=1, batch_size=1)
    session.throttle = 3600.0
    session.start()
    assert session.wait(20) == "done"
    assert [event for event, *_ in events.calls] == ["start", "batch", "end"]


def test_a_model_error_and_labels_that_do_not_fit_end_in_status_error() -> None:
    session = SweepSession(CountingModel(fail=True), IMAGE, patch_size=8, stride=4)
    session.start()
    assert session.wait(10) == "error"
    assert session.error.startswith("ModelError: the model raised ZeroDivisionError")
    assert "\n" not in session.error
    session = SweepSession(band_model, IMAGE, labels=["a", "b"], patch_size=8, stride=4)
    session.start()
    assert session.wait(10) == "error"
    assert "got 2 labels for a model with 6 classes" in session.error


def test_a_session_from_a_result_has_its_grid_and_top_k_and_cannot_run() -> None:
    result = occlusion_map(band_model, IMAGE, patch_size=8, stride=4, progress=False)
    session = SweepSession.from_result(result, labels=NAMES, top_k=3)
    assert session.status == "done" and session.result is result and not session.can_run
    assert (session.grid.rows, session.grid.cols) == (7, 7)
    np.testing.assert_array_equal(session.grid.tops, result.tops)
    np.testing.assert_array_equal(session.topk_indices[..., 0], result.predicted_classes())
    assert session.names == NAMES
    # No sweep was timed here: the progress says so instead of "done in 0.0s".
    assert session.progress == {"done": 49, "total": 49, "elapsed": None, "eta": None}
    with pytest.raises(RuntimeError, match="no model"):
        session.start()
    with pytest.raises(ValueError, match="got 2 labels for a model with 6 classes"):
        SweepSession.from_result(result, labels=["a", "b"])


# -- top-k -------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_top_classes_equal_a_stable_full_sort_ties_included(k: int) -> None:
    rng = np.random.default_rng(3)
    # Values on a coarse lattice, so that many rows hold ties, also at the k-th place.
    probs = rng.integers(0, 4, size=(200, 8)).astype(np.float32) / 4
    indices, values = top_classes(probs, k)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(indices, order)
    np.testing.assert_array_equal(values, np.take_along_axis(probs, order, axis=1))
    np.testing.assert_array_equal(indices[:, 0], np.argmax(probs, axis=1))


def test_each_cell_is_ranked_once_over_a_whole_sweep(monkeypatch) -> None:
    import occlusion_widget.session.topk as topk

    ranked: list[int] = []
    real = topk.top_classes

    def counting(probabilities, k):
        ranked.append(len(probabilities))
        return real(probabilities, k)

    monkeypatch.setattr(topk, "top_classes", counting)
    session = SweepSession(softmax_model(50), IMAGE, patch_size=4, stride=1, batch_size=8)
    session.start()
    assert session.wait(30) == "done"
    # 841 positions in 106 batches: every cell ranked exactly once, not once per batch.
    assert sum(ranked) == 29 * 29
    expected = np.argsort(-session.result.probabilities, axis=2, kind="stable")[..., :5]
    np.testing.assert_array_equal(session.topk_indices, expected)


def test_top_k_follows_a_partially_filled_result() -> None:
    result = occlusion_map(band_model, IMAGE, patch_size=8, stride=4, progress=False)
    computed = result.computed.copy()
    result.computed[:] = False
    tracker = TopK(result, 2)
    assert tracker.done == 0 and (tracker.indices == -1).all()
    result.computed[:2] = computed[:2]
    assert tracker.update() == 14 and tracker.done == 14
    assert (tracker.indices[:2] >= 0).all() and (tracker.indices[2:] == -1).all()
    assert np.isnan(tracker.probabilities[2:]).all()


def test_set_top_k_reranks_from_the_kept_probabilities() -> None:
    session = SweepSession(band_model, IMAGE, patch_size=8, stride=4, top_k=2)
    session.start()
    session.wait(10)
    assert session.topk_indices.shape == (7, 7, 2)
    session.set_top_k(10)  # more than the 6 classes: clipped
    assert session.topk_indices.shape == (7, 7, 6)
    np.testing.assert_array_equal(
        np.sort(session.topk_indices, axis=2), np.broadcast_to(np.arange(6), (7, 7, 6))
    )


def test_a_cancelled_sweep_after_a_complete_one_restores_it_with_a_restore_event() -> None:
    model = CountingModel()
    session, events = session_with_events(model, patch_size=8, stride=8)
    session.start()
    assert session.wait(10) == "done"
    complete = session.result
    model.block_at, model.calls = 1, 0
    session.start(stride=4)
    assert model.reached.wait(10)
    session.cancel()
    model.release.set()
    assert session.wait(10) == "cancelled"
    assert events.calls[-1][0] == "restore" and events.calls[-1][2] == "cancelled"
    assert session.result is complete and session.params["stride"] == 8
    assert session.grid.rows == 4 and session.progress["done"] == 16
    # The first batch always runs to the end: it is the partial sweep kept aside.
    partial = session.partial_result
    assert partial.stride == (4, 4) and 0 < partial.done < partial.total
