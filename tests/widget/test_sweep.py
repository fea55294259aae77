"""The widget's kernel side (docs/protocol.md), what it runs: the background sweep, throttled
updates, cancel and recompute, the browser's messages, and defects of the old shape.

Construction, traits, transport and selection: tests/widget/test_widget_traits.py. Models are tiny
numpy callables (tests/helpers/models_widget.py) on 16x16..32x32 images, so every sweep takes
milliseconds; the slow cases block on an Event instead of sleeping.
"""

from __future__ import annotations

import numpy as np
import pytest

from occlusion_widget import OcclusionWidget, occlusion_map
from tests.helpers.models_widget import IMAGE, NAMES, CountingModel, band_model, softmax_model


@pytest.fixture
def widget() -> OcclusionWidget:
    w = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4, top_k=3)
    assert w.wait(10) == "done"
    yield w
    w.close()


# -- the background sweep --------------------------------------------------------------------


def test_sweep_runs_in_the_background_and_streams_coarse_to_fine() -> None:
    model = CountingModel(block_at=1)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4, batch_size=4)
    # The constructor returned while the model is still blocked in its first call.
    assert model.reached.wait(10)
    assert w.status == "running" and w.result is None
    assert np.isnan(w.target_map).all() and w.target_map.shape == (7, 7)
    w.session.throttle = 0.0  # every batch, so that the count below is deterministic
    maps: list[np.ndarray] = []
    progress: list[int] = []
    w.observe(lambda change: maps.append(change["new"].copy()), names="target_map")
    w.observe(lambda change: progress.append(change["new"]["done"]), names="progress")
    model.release.set()
    assert w.wait(10) == "done"

    assert len(maps) >= 10  # 50 images in batches of 4
    missing = [int(np.isnan(m).sum()) for m in maps]
    assert missing == sorted(missing, reverse=True) and missing[0] < 49 and missing[-1] == 0
    # Coarse to fine: with less than half of the cells done the map already spans the grid.
    partial = [m for m, n in zip(maps, missing, strict=True) if n > 49 / 2][-1]
    assert not np.isnan(partial[0, 0]) and not np.isnan(partial[6, 6])
    expected = occlusion_map(band_model, IMAGE, patch_size=8, stride=4, progress=False)
    np.testing.assert_allclose(maps[-1], expected.probability(w.target), rtol=1e-6)
    assert progress == sorted(progress) and progress[-1] == 49


def test_updates_are_throttled() -> None:
    model = CountingModel()
    w = OcclusionWidget(model, IMAGE, patch_size=4, stride=1, batch_size=1)
    w.session.throttle = 3600.0
    maps: list[np.ndarray] = []
    w.observe(lambda change: maps.append(change["new"]), names="target_map")
    assert w.wait(20) == "done"
    assert model.calls == 29 * 29 + 1
    assert len(maps) <= 3  # the first batch, perhaps one before the interval was set, the final
    assert not np.isnan(maps[-1]).any()


def test_cancel_keeps_what_was_computed() -> None:
    model = CountingModel(block_at=4)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4, batch_size=4)
    assert model.reached.wait(10)
    w.cancel()
    model.release.set()
    assert w.wait(10) == "cancelled"
    result = w.result
    assert 0 < result.done < result.total and not result.complete
    computed = result.computed
    assert w.progress["done"] == result.done
    np.testing.assert_array_equal(~np.isnan(w.target_map), computed)
    np.testing.assert_array_equal(w.topk_indices[..., 0] >= 0, computed)
    np.testing.assert_array_equal(w.target_map[computed], result.probability(w.target)[computed])
    calls = model.calls
    assert calls == 4  # it stopped right after the batch that was running
    w.recompute()  # and a new sweep runs to the end
    assert w.wait(10) == "done" and w.result.complete


def test_recompute_never_waits_for_a_stuck_model_on_the_kernels_thread() -> None:
    # Issue 10, defect 4: recompute joined the old thread without a timeout, on the kernel's
    # main thread, so a stuck model froze the kernel and queued Cancel clicks behind it.
    model = CountingModel(block_at=2)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4, batch_size=4)
    assert model.reached.wait(10)
    w.recompute(patch_size=16, stride=8)
    # It returned while the old sweep's model call is still blocked, and already shows the
    # new grid with nothing computed.
    assert model.inside.is_set() and not model.release.is_set()
    assert w.status == "running" and w.grid["rows"] == 3 and np.isnan(w.target_map).all()
    assert w.target_map.shape == (3, 3) and w.topk_indices.shape[:2] == (3, 3)
    shapes: list[tuple[int, ...]] = []
    w.observe(lambda change: shapes.append(change["new"].shape), names="target_map")
    model.release.set()
    assert w.wait(10) == "done"
    # The replaced sweep's last batch never reached the traits.
    assert set(shapes) <= {(3, 3)}
    assert w.result.rows == 3 and w.progress["done"] == 9


def test_a_model_that_raises_reaches_status_and_error() -> None:
    model = CountingModel(fail=True)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4)
    assert w.wait(10) == "error"
    assert w.error.startswith("ModelError: the model raised ZeroDivisionError")
    assert "Traceback" not in w.error and "\n" not in w.error
    model.fail = False  # fixed: the same widget recomputes
    w.recompute()
    assert w.wait(10) == "done" and w.error == "" and w.result.complete


def test_a_rejected_recompute_changes_no_trait(widget: OcclusionWidget) -> None:
    # Issue 10, defect 3: a rejected recompute set status "error" over a finished map.
    before = widget.get_state()
    result = widget.result
    with pytest.raises(ValueError, match="cannot exceed the image size"):
        widget.recompute(patch_size=99)
    with pytest.raises(TypeError, match=r"'patchsize'.*allowed: patch_size"):
        widget.recompute(patchsize=4)
    assert widget.get_state() == before
    assert widget.result is result and widget.status == "done" and widget.error == ""
    widget.recompute(patch_size=16, stride=8, baseline="black")
    assert widget.wait(10) == "done" and widget.error == ""
    assert (widget.patch_size, widget.baseline, widget.grid["rows"]) == ([16, 16], "black", 3)
    np.testing.assert_array_equal(widget.baseline_image[..., :3], 0)


def test_a_rejected_recompute_during_a_sweep_leaves_the_sweep_running() -> None:
    model = CountingModel(block_at=2)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4, batch_size=4)
    sent: list[dict] = []
    w.send = sent.append  # type: ignore[method-assign]
    assert model.reached.wait(10)
    statuses: list[str] = []
    w.observe(lambda change: statuses.append(change["new"]), names="status")
    message = {"type": "recompute", "id": 1, "params": {"patch_size": [300, 300]}}
    w._on_message(w, message, [])
    assert sent == [
        {
            "type": "reply",
            "id": 1,
            "ok": False,
            "error": sent[0]["error"],
        }
    ]
    assert "cannot exceed the image size" in sent[0]["error"]
    assert (w.status, w.error, w.patch_size) == ("running", "", [8, 8])
    model.release.set()
    assert w.wait(10) == "done"
    assert statuses == ["done"] and w.error == "" and w.progress["done"] == 49


def test_a_custom_baseline_is_offered_as_custom(widget: OcclusionWidget) -> None:
    widget.recompute(baseline=(1.0, 0.0, 0.0))
    assert widget.wait(10) == "done"
    assert widget.baseline == "custom" and "custom" in widget.baseline_options
    np.testing.assert_array_equal(widget.baseline_image[0, 0], [255, 0, 0, 255])
    widget.set_trait("baseline", "gray")  # as the browser's sweep form writes it
    widget.set_trait("baseline", "custom")  # the browser can switch back to it
    widget.recompute()
    assert widget.wait(10) == "done"
    np.testing.assert_array_equal(widget.result.baseline[0, 0], [1.0, 0.0, 0.0])


def test_switching_target_sends_a_new_map_without_calling_the_model() -> None:
    model = CountingModel()
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4)
    assert w.wait(10) == "done"
    calls = model.calls
    maps: list[np.ndarray] = []
    w.observe(lambda change: maps.append(change["new"]), names="target_map")
    for target in range(6):
        w.target = target
        np.testing.assert_array_equal(w.target_map, w.result.probability(target))
    assert model.calls == calls
    assert len(maps) >= 5


# -- messages --------------------------------------------------------------------------------


def test_custom_messages_get_a_reply_with_the_same_id() -> None:
    model = CountingModel(block_at=2)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4, batch_size=4)
    sent: list[dict] = []
    w.send = sent.append  # type: ignore[method-assign]
    assert model.reached.wait(10)
    w._on_message(w, {"type": "cancel", "id": "a1"}, [])
    assert sent == [{"type": "reply", "id": "a1", "ok": True}]
    model.release.set()
    assert w.wait(10) == "cancelled"

    # The parameters travel in the message; the traits follow once they are accepted.
    params = {"patch_size": [16, 16], "stride": [8, 8], "baseline": "black"}
    w._on_message(w, {"type": "recompute", "id": "a2", "params": params}, [])
    assert sent[-1] == {"type": "reply", "id": "a2", "ok": True}
    assert (w.patch_size, w.stride, w.baseline) == ([16, 16], [8, 8], "black")
    assert w.wait(10) == "done" and w.result.rows == 3

    w._on_message(w, {"type": "recompute", "id": "a3", "params": {"preprocess": "x"}}, [])
    assert sent[-1]["ok"] is False and "allowed: patch_size, stride, baseline" in sent[-1]["error"]
    w._on_message(w, {"type": "explode", "id": "a4"}, [])
    assert sent[-1]["ok"] is False and "unknown message type 'explode'" in sent[-1]["error"]
    assert w.status == "done" and w.error == ""


def test_a_recompute_message_without_params_uses_the_traits() -> None:
    # Frontends built before the params field wrote the traits, then sent a bare recompute.
    w = OcclusionWidget(band_model, IMAGE, patch_size=8, stride=4)
    assert w.wait(10) == "done"
    sent: list[dict] = []
    w.send = sent.append  # type: ignore[method-assign]
    w.set_state({"stride": [8, 8]})  # the browser's write, as ipywidgets applies it
    w._on_message(w, {"type": "recompute", "id": 1}, [])
    assert sent[-1]["ok"] is True
    assert w.wait(10) == "done" and w.result.rows == 4


# -- defects of the old shape ------------------------------------------------------------------


def test_the_image_is_copied_at_construction() -> None:
    # Issue 10, defect 1: Keras preprocess_input changes float32 arrays in place; the sweep
    # read the caller's array in its thread and ran on the changed pixels.
    image = IMAGE.copy()
    model = CountingModel(block_at=1)
    w = OcclusionWidget(model, image, patch_size=8, stride=8)
    assert model.reached.wait(10)
    image -= 1000.0  # what `x = preprocess_input(image)` does to the caller's array
    model.release.set()
    assert w.wait(10) == "done"
    np.testing.assert_array_equal(w.result.image, IMAGE)
    expected = occlusion_map(model.inner, IMAGE, patch_size=8, stride=8, progress=False)
    np.testing.assert_allclose(w.result.probabilities, expected.probabilities, rtol=1e-6)


def test_each_cell_is_ranked_once_per_sweep(monkeypatch) -> None:
    # Issue 10, defect 5: after every batch the widget re-sorted all K probabilities at every
    # cell computed so far, so its cost grew with the square of the positions.
    import occlusion_widget.session.topk as topk

    ranked: list[int] = []
    real = topk.top_classes

    def counting(probabilities, k):
        ranked.append(len(probabilities))
        return real(probabilities, k)

    monkeypatch.setattr(topk, "top_classes", counting)
    w = OcclusionWidget(softmax_model(40), IMAGE, patch_size=4, stride=1, batch_size=8)
    w.session.throttle = 0.0
    assert w.wait(30) == "done"
    assert sum(ranked) == 29 * 29
    expected = np.argsort(-w.result.probabilities, axis=2, kind="stable")[..., :5]
    np.testing.assert_array_equal(w.topk_indices, expected)


def test_an_adaptive_sweep_tells_the_browser_which_cells_it_interpolated() -> None:
    # The map of an adaptive sweep has values everywhere; the browser must not present the
    # interpolated ones as what the model said (docs/protocol.md, `estimated`).
    image = np.zeros((32, 32, 3), np.float32)
    image[4:10, 4:10] = 1.0  # a small bright square: the rest of the map is flat
    w = OcclusionWidget(band_model, image, labels=NAMES, patch_size=8, stride=1, method="adaptive")
    assert w.wait(10) == "done"
    estimated = w.result.info["estimated"]
    assert w.estimated is not None and w.estimated.dtype == np.uint8
    np.testing.assert_array_equal(w.estimated, estimated.astype(np.uint8))
    assert 0 < int(w.estimated.sum()) < w.estimated.size
    assert np.isfinite(w.target_map).all()  # the values themselves still travel
    w.recompute(method="full")
    assert w.wait(10) == "done"
    assert w.estimated is None  # an exact sweep: nothing interpolated
    w.close()
