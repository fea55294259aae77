"""The widget's kernel side (docs/protocol.md), what it holds: construction, trait validation,
the binary transport, the selection and widgets made from a saved result.

The background sweep, recompute, cancel and the browser's messages: tests/widget/test_sweep.py.
Models are tiny numpy callables (tests/helpers/models_widget.py) on 16x16..32x32 images, so every
sweep takes milliseconds.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

from occlusion_widget import OcclusionWidget, occlusion_map
from occlusion_widget.widget import Selection, WidgetValueError
from occlusion_widget.widget.traits import array_from_json
from tests.helpers.models import softmax
from tests.helpers.models_widget import IMAGE, NAMES, band_model, corner_model


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
    # The sweep form's traits, as the browser writes them (ipywidgets' set_state).
    with pytest.raises(ValueError, match="baseline must be one of"):
        widget.set_trait("baseline", "custom")  # no custom fill was given
    widget.selected = (np.int64(2), 3)
    assert widget.selected == [2, 3]
    widget.selected = None
    widget.set_trait("patch_size", 4)
    assert widget.patch_size == [4, 4]
    with pytest.raises(ValueError, match="stride must be positive"):
        widget.set_trait("stride", [0, 4])
    widget.view = "predicted_class"
    widget.opacity = 0
    assert widget.opacity == 0.0


@pytest.mark.parametrize(
    ("name", "value", "advice"),
    [
        ("stride", [100, 100], r"w\.recompute\(stride=\.\.\.\)"),
        ("patch_size", 8, r"w\.recompute\(patch_size=\.\.\.\)"),
        ("mode", "reveal", r"w\.recompute\(mode=\.\.\.\)"),
        ("baseline", "black", r"w\.recompute\(baseline=\.\.\.\)"),
        ("labels", ["only-one"], r"labels=\.\.\."),
        ("status", "running", r"w\.cancel\(\)"),
        ("image", np.zeros((5, 5, 4), np.uint8), r"another widget"),
        ("target_map", np.zeros((7, 7), np.float32), r"w\.recompute"),
    ],
)
def test_traits_the_kernel_owns_refuse_python_writes_and_say_what_to_do(
    widget: OcclusionWidget, name, value, advice
) -> None:
    # Such a write was accepted before, and the widget then contradicted its own map: a
    # stride of 100 over a stride-4 grid, one label for six classes (`selection` raised a bare
    # IndexError), a "running" status that `wait()` returned at once.
    before = getattr(widget, name)
    with pytest.raises(AttributeError, match=rf"{name} cannot be set from Python: .*{advice}"):
        setattr(widget, name, value)
    after = getattr(widget, name)
    assert after == before if not isinstance(before, np.ndarray) else after is before
    assert widget.wait(1) == "done"
    assert widget.grid["rows"] == 7 and widget.selection is None


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


def test_a_target_out_of_range_for_a_callable_waits_for_one_in_range() -> None:
    # A callable's class count is known only after its first batch: the sweep goes on (it
    # keeps every class), says why no map shows, and a target in range shows the whole map.
    w = OcclusionWidget(band_model, IMAGE, target=7, patch_size=8, stride=4)
    assert w.wait(10) == "done"
    assert "target 7 is out of range: the model has 6 classes" in w.error
    assert w.result is not None and w.result.complete
    assert not np.isfinite(w.target_map).any()
    with pytest.raises(RuntimeError, match=r"nothing to save: target 7 is out of range"):
        w.save("never-written.png")
    w.target = 2
    assert w.error == "" and w.status == "done"
    np.testing.assert_array_equal(w.target_map, w.result.probability(2).astype(np.float32))


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


def test_patch_sizes_the_engine_accepts_the_widget_accepts() -> None:
    w = OcclusionWidget(band_model, IMAGE, patch_size=8.0, stride=(4, 4.0))
    assert (w.patch_size, w.stride) == ([8, 8], [4, 4])
    assert w.wait(10) == "done"


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


def test_an_observer_that_raises_does_not_leave_the_widget_half_updated(caplog) -> None:
    # A user's observer raising inside the kernel's update stopped it half-way: recompute()
    # raised although its sweep had started, the status trait said "done" while the session
    # ran, and the sweep itself then failed with the error never shown.
    w = OcclusionWidget(band_model, IMAGE, patch_size=8, stride=8)
    assert w.wait(10) == "done"

    def broken(change) -> None:
        raise RuntimeError("observer bug")

    w.observe(broken, "target_map")
    with caplog.at_level("ERROR", logger="occlusion_widget.widget"):
        w.recompute(stride=4)  # does not raise
        assert w.wait(10) == "done"
    assert w.error == "" and w.session.status == "done"
    assert w.stride == [4, 4] and (w.grid["rows"], w.grid["cols"]) == (7, 7)
    assert w.target_map.shape == (7, 7) and np.isfinite(w.target_map).all()
    assert "an observer of the widget's 'target_map' trait raised" in caplog.text
