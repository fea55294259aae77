"""The widget's kernel side (docs/protocol.md): traits, transport, the background sweep, messages.

Models are tiny numpy callables (tests/models_widget.py) on 16x16..32x32 images, so every
sweep takes milliseconds; the slow cases block on an Event instead of sleeping.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers
from models import softmax
from models_widget import IMAGE, NAMES, CountingModel, band_model, corner_model, softmax_model

from occlusion_widget import OcclusionWidget, occlusion_map
from occlusion_widget.traits import array_from_json
from occlusion_widget.widget import Selection, WidgetValueError


@pytest.fixture
def widget() -> OcclusionWidget:
    w = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4, top_k=3)
    assert w.wait(10) == "done"
    yield w
    w.close()


# -- construction and trait validation -------------------------------------------------------


def test_unknown_keyword_arguments_are_named_with_the_allowed_ones() -> None:
    with pytest.raises(TypeError, match=r"'patchsize'.*allowed: .*patch_size"):
        OcclusionWidget(band_model, IMAGE, patchsize=8)
    with pytest.raises(TypeError, match="from_result"):
        OcclusionWidget(None, IMAGE)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patch_size": 64}, "cannot exceed the image size"),
        ({"patch_size": 8, "stride": 16}, "stride .* is larger than patch_size"),
        ({"baseline": "purple"}, "unknown baseline 'purple'"),
        ({"view": "heat"}, "view must be one of"),
        ({"opacity": 1.5}, "opacity must be between 0 and 1"),
        ({"labels": NAMES, "target": 6}, "target 6 is out of range: the model has 6 classes"),
        ({"labels": "klingon"}, "unknown label set"),
    ],
)
def test_bad_values_raise_a_clear_value_error_at_construction(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        OcclusionWidget(band_model, IMAGE, **kwargs)


def test_traits_validate_and_normalise(widget: OcclusionWidget) -> None:
    assert widget.patch_size == [8, 8] and widget.stride == [4, 4]
    assert widget.grid["rows"] == 7 and widget.grid["cols"] == 7
    for name, value in [("view", "heat"), ("opacity", -0.1), ("target", 6), ("top_k", 0)]:
        with pytest.raises(traitlets.TraitError):
            setattr(widget, name, value)
    with pytest.raises(WidgetValueError, match=r"outside the grid of 7 rows x 7 columns"):
        widget.selected = (7, 0)
    with pytest.raises(ValueError, match="baseline must be one of"):
        widget.baseline = "custom"  # no custom fill was given
    widget.selected = (np.int64(2), 3)
    assert widget.selected == [2, 3]
    widget.selected = None
    widget.patch_size = 4
    assert widget.patch_size == [4, 4]
    with pytest.raises(ValueError, match="stride must be positive"):
        widget.stride = [0, 4]
    widget.view = "predicted_class"
    widget.opacity = 0
    assert widget.opacity == 0.0


def test_default_target_is_the_unoccluded_prediction(widget: OcclusionWidget) -> None:
    assert widget.target == widget.result.base_class
    assert widget.labels == NAMES
    assert widget.status == "done" and widget.error == ""
    assert widget.progress["done"] == widget.progress["total"] == 49
    assert widget.progress["eta"] == 0


def test_labels_of_the_wrong_length_are_an_error() -> None:
    result = occlusion_map(band_model, IMAGE, patch_size=8, stride=4, progress=False)
    with pytest.raises(ValueError, match="got 3 labels for a model with 6 classes"):
        OcclusionWidget.from_result(result, labels=["a", "b", "c"])
    # A plain callable's class count is known only once it ran: the widget shows the error.
    w = OcclusionWidget(band_model, IMAGE, labels=["a", "b", "c"], patch_size=8, stride=4)
    assert w.wait(10) == "error"
    assert "got 3 labels for a model with 6 classes" in w.error


def test_labels_that_do_not_fit_a_keras_model_fail_at_construction() -> None:
    import keras

    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    image = np.zeros((16, 16, 3), np.float32)
    with pytest.raises(ValueError, match="got 3 labels for a model with 4 classes"):
        OcclusionWidget(model, image, labels=["a", "b", "c"], patch_size=8, stride=8)
    w = OcclusionWidget(model, image, labels=list("abcd"), patch_size=8, stride=8)
    assert w.wait(30) == "done" and w.labels == list("abcd")


# -- transport -------------------------------------------------------------------------------


def test_arrays_travel_as_binary_buffers_and_round_trip(widget: OcclusionWidget) -> None:
    state = widget.get_state()
    expected = {
        "image": ("uint8", [32, 32, 4]),
        "baseline_image": ("uint8", [32, 32, 4]),
        "base_probabilities": ("float32", [6]),
        "topk_indices": ("int32", [7, 7, 3]),
        "topk_probabilities": ("float32", [7, 7, 3]),
        "target_map": ("float32", [7, 7]),
    }
    for name, (dtype, shape) in expected.items():
        assert (state[name]["dtype"], state[name]["shape"]) == (dtype, shape), name
        np.testing.assert_array_equal(array_from_json(state[name]), getattr(widget, name))
    grid = state["grid"]
    np.testing.assert_array_equal(array_from_json(grid["tops"]), widget.result.tops)
    np.testing.assert_array_equal(array_from_json(grid["lefts"]), widget.result.lefts)
    assert (grid["patch"], grid["stride"]) == ([8, 8], [4, 4])

    plain, paths, buffers = _remove_buffers(state)
    json.dumps(plain)  # everything else is plain JSON
    assert ["grid", "tops", "view"] in paths and ["target_map", "view"] in paths
    assert len(buffers) == len(expected) + 2


def test_topk_is_consistent_with_the_result(widget: OcclusionWidget) -> None:
    result = widget.result
    indices, probs = widget.topk_indices, widget.topk_probabilities
    np.testing.assert_array_equal(indices[..., 0], result.predicted_classes())
    np.testing.assert_array_equal(
        probs, np.take_along_axis(result.probabilities, indices.astype(np.int64), axis=2)
    )
    assert np.all(np.diff(probs, axis=2) <= 0)
    np.testing.assert_array_equal(widget.target_map, result.probability(widget.target))
    np.testing.assert_array_equal(widget.base_probabilities, result.base_probabilities)

    widget.top_k = 10  # more than the 6 classes: clipped, re-sent from the kept probabilities
    assert widget.topk_indices.shape == (7, 7, 6)
    np.testing.assert_array_equal(
        np.sort(widget.topk_indices, axis=2), np.broadcast_to(np.arange(6), (7, 7, 6))
    )


def test_images_are_sent_in_display_rgba() -> None:
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    w = OcclusionWidget(corner_model, gray, patch_size=8, stride=8, baseline="black")
    assert w.wait(10) == "done"
    assert w.image.shape == (16, 16, 4)
    np.testing.assert_array_equal(w.image[..., 1], gray)
    assert np.all(w.image[..., 3] == 255)
    np.testing.assert_array_equal(w.baseline_image[..., :3], 0)


def test_payload_for_224_pixels_729_positions_1000_classes_stays_under_1mb() -> None:
    weights = np.random.default_rng(1).normal(size=(14 * 14 * 3, 1000)).astype(np.float32)

    def imagenet_like(batch: np.ndarray) -> np.ndarray:
        return softmax(batch[:, ::16, ::16].reshape(len(batch), -1) @ weights, axis=1)

    image = np.random.default_rng(2).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    w = OcclusionWidget(imagenet_like, image, labels="imagenet", patch_size=16, stride=8)
    assert w.wait(60) == "done"
    assert w.grid["rows"] * w.grid["cols"] == 729 and len(w.labels) == 1000
    state = w.get_state()
    # The bundled JavaScript is code, sent once per page, not the widget's data.
    for code in ("_esm", "_css"):
        state.pop(code, None)
    plain, _, buffers = _remove_buffers(state)
    size = len(json.dumps(plain)) + sum(memoryview(b).nbytes for b in buffers)
    assert size < 1_000_000, f"state is {size} bytes"


# -- selection -------------------------------------------------------------------------------


def test_selection_describes_the_pinned_cell(widget: OcclusionWidget) -> None:
    assert widget.selection is None
    result = widget.result
    widget.selected = (1, 5)
    sel = widget.selection
    assert isinstance(sel, Selection)
    assert (sel.row, sel.col, sel.box) == (1, 5, (4, 20, 8, 8))
    np.testing.assert_array_equal(sel.occluded_image, result.occluded_image(1, 5))
    assert sel.computed
    assert list(sel.top_probabilities) == sorted(sel.top_probabilities, reverse=True)
    np.testing.assert_array_equal(sel.top_classes, widget.topk_indices[1, 5])
    assert sel.top_names == [NAMES[i] for i in sel.top_classes]
    assert sel.predicted_class == result.predicted_classes()[1, 5]
    assert sel.predicted_name == NAMES[sel.predicted_class]
    assert (sel.base_class, sel.base_name) == (result.base_class, NAMES[result.base_class])
    assert sel.target_drop == pytest.approx(result.sensitivity(widget.target)[1, 5])
    widget.target = 0
    assert widget.selection.target_drop == pytest.approx(result.sensitivity(0)[1, 5])


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
    widget.baseline = "gray"
    widget.baseline = "custom"  # the browser can switch back to it
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


# -- from_result -----------------------------------------------------------------------------


def test_from_result_shows_a_result_without_a_model() -> None:
    result = occlusion_map(band_model, IMAGE, patch_size=8, stride=4, progress=False)
    w = OcclusionWidget.from_result(result, labels=NAMES, target=2, view="probability")
    assert w.status == "done" and w.result is result and w.target == 2
    np.testing.assert_array_equal(w.target_map, result.probability(2))
    np.testing.assert_array_equal(w.topk_indices[..., 0], result.predicted_classes())
    assert (w.patch_size, w.stride, w.baseline) == ([8, 8], [4, 4], "gray")
    w.selected = (0, 0)
    np.testing.assert_array_equal(w.selection.occluded_image, result.occluded_image(0, 0))

    sent: list[dict] = []
    w.send = sent.append  # type: ignore[method-assign]
    before = w.get_state()
    w._on_message(w, {"type": "recompute", "id": 7, "params": {"stride": [8, 8]}}, [])
    assert sent[-1]["id"] == 7 and sent[-1]["ok"] is False and "no model" in sent[-1]["error"]
    assert w.get_state() == before  # the error shows once, in the reply
    with pytest.raises(RuntimeError, match="no model"):
        w.recompute()
    with pytest.raises(TypeError, match="from_result"):
        OcclusionWidget.from_result(result, patch_size=8)


def test_a_widget_from_a_result_has_a_grid_to_hover() -> None:
    # Issue 10, defect 10: from_result never set grid, so the browser could not hit-test.
    result = occlusion_map(band_model, IMAGE, patch_size=8, stride=4, progress=False)
    w = OcclusionWidget.from_result(result, labels=NAMES)
    live = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4)
    assert live.wait(10) == "done"
    state, expected = w.get_state(), live.get_state()
    assert state["grid"]["rows"] == 7 and state["grid"]["cols"] == 7
    for name in ("grid", "image", "baseline_image", "topk_indices", "target_map", "labels"):
        assert state[name] == expected[name], name


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
    w.stride = [8, 8]
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
    import occlusion_widget.topk as topk

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


def test_patch_sizes_the_engine_accepts_the_widget_accepts() -> None:
    w = OcclusionWidget(band_model, IMAGE, patch_size=8.0, stride=(4, 4.0))
    assert (w.patch_size, w.stride) == ([8, 8], [4, 4])
    assert w.wait(10) == "done"
