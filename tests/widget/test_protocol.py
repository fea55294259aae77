"""The widget's phase-2 protocol (docs/protocol.md): cancel never loses a finished map, target
groups, note, mode / value_range / resize / color_scale, probe and export_html messages.

Tiny numpy models (tests/helpers/models_widget.py); slow cases block on an Event, never sleep.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import traitlets

from occlusion_widget import OcclusionWidget, occlusion_map
from occlusion_widget.engine.params import DEFAULTS, SWEEP_PARAMETERS
from occlusion_widget.session import SWEEP_PARAMS
from tests.helpers.models_widget import IMAGE, NAMES, CountingModel, band_model, flat_model


def replies(w: OcclusionWidget) -> list[tuple[dict, list]]:
    sent: list[tuple[dict, list]] = []
    w.send = lambda content, buffers=None: sent.append((content, buffers or []))  # type: ignore[method-assign]
    return sent


# -- cancel never loses a finished map (issue 11, item 7) ------------------------------------


def test_a_cancelled_recompute_goes_back_to_the_finished_map_and_its_parameters() -> None:
    model = CountingModel()
    w = OcclusionWidget(model, IMAGE, labels=NAMES, patch_size=8, stride=8, baseline="black")
    assert w.wait(10) == "done"
    finished, finished_map = w.result, w.target_map.copy()
    finished_state = (w.patch_size, w.stride, w.baseline, w.mode, w.grid["rows"])
    # A fine recompute (29 x 29 positions), held inside its second batch, then cancelled.
    model.block_at, model.calls = 2, 0
    w.recompute(patch_size=4, stride=1, baseline="gray", mode="reveal", batch_size=8)
    assert model.reached.wait(10)
    assert (w.patch_size, w.stride, w.mode, w.grid["rows"]) == ([4, 4], [1, 1], "reveal", 29)
    w.cancel()
    model.release.set()
    assert w.wait(10) == "cancelled"
    # The complete map and everything that describes it are back; nothing is missing.
    assert w.result is finished and w.result.complete
    assert (w.patch_size, w.stride, w.baseline, w.mode, w.grid["rows"]) == finished_state
    np.testing.assert_array_equal(w.target_map, finished_map)
    assert not np.isnan(w.target_map).any() and (w.topk_indices >= 0).all()
    assert w.topk_indices.shape[:2] == (4, 4) and w.progress["done"] == w.progress["total"] == 16
    np.testing.assert_array_equal(w.baseline_image[..., :3], 0)
    # The partial sweep stays reachable.
    partial = w.partial_result
    assert partial is not None and partial.mode == "reveal" and partial.rows == 29
    assert 0 < partial.done < partial.total
    # And the restored parameters are what the next plain recompute runs.
    model.block_at = None
    w.recompute()
    assert w.wait(10) == "done" and w.result.rows == 4 and w.partial_result is None


def test_cancelling_a_recompute_in_its_first_batch_keeps_the_finished_map() -> None:
    model = CountingModel()
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=8)
    assert w.wait(10) == "done"
    finished = w.result
    model.block_at, model.calls = 1, 0
    w.recompute(stride=4)
    assert model.reached.wait(10)
    w.cancel()
    model.release.set()
    assert w.wait(10) == "cancelled"
    assert w.result is finished and w.stride == [8, 8]
    assert not np.isnan(w.target_map).any()


def test_a_cancelled_first_sweep_keeps_showing_what_it_computed() -> None:
    model = CountingModel(block_at=3)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4, batch_size=4)
    assert model.reached.wait(10)
    w.cancel()
    model.release.set()
    assert w.wait(10) == "cancelled"
    assert w.result is w.partial_result and 0 < w.result.done < w.result.total
    assert w.stride == [4, 4] and np.isnan(w.target_map).any()


def test_a_failed_recompute_keeps_the_finished_map_and_its_partial() -> None:
    model = CountingModel()
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=8)
    assert w.wait(10) == "done"
    finished = w.result
    model.calls, model.fail_at = 0, 3  # the third batch of the recompute raises
    w.recompute(stride=4, batch_size=4)
    assert w.wait(10) == "error"
    assert "ZeroDivisionError" in w.error
    assert w.result is finished and w.stride == [8, 8]
    assert not np.isnan(w.target_map).any()
    partial = w.partial_result
    assert partial is not None and partial.rows == 7 and 0 < partial.done < partial.total


# -- one list of sweep parameters, validated once ----------------------------------------------


def test_the_widget_takes_the_engines_sweep_parameters_and_defaults() -> None:
    assert set(SWEEP_PARAMS) == set(SWEEP_PARAMETERS) - {"progress", "cancel"}
    assert all(SWEEP_PARAMS[name] == getattr(DEFAULTS, name) for name in SWEEP_PARAMS)
    w = OcclusionWidget(band_model, IMAGE)
    assert (w.patch_size, w.stride, w.baseline, w.mode) == ([16, 16], [8, 8], "gray", "occlude")
    w.wait(10)


def test_each_sweep_validates_its_parameters_once(monkeypatch) -> None:
    # The session validated at construction, then iter_occlusion validated again in the thread:
    # a "blur" or "noise" fill (and the image) were built twice per sweep.
    import occlusion_widget.engine.params as params

    built: list[str] = []
    real = params.make_baseline

    def counting(*args, **kwargs):
        built.append(str(args[1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(params, "make_baseline", counting)
    w = OcclusionWidget(band_model, IMAGE, patch_size=8, stride=8, baseline="blur")
    assert w.wait(10) == "done"
    assert built == ["blur"]
    w.recompute(stride=4)  # a change validates once more, in the caller's thread
    assert w.wait(10) == "done" and built == ["blur", "blur"]
    w.recompute()  # nothing changed: nothing to validate
    assert w.wait(10) == "done" and len(built) == 2


def test_resize_value_range_and_mode_reach_the_engine_and_the_traits() -> None:
    w = OcclusionWidget(
        band_model,
        IMAGE * 2 - 1,
        resize=(16, 16),
        value_range=(-1, 1),
        mode="reveal",
        patch_size=8,
        stride=8,
        color_scale="fixed",
    )
    assert w.wait(10) == "done"
    assert w.image.shape == (16, 16, 4) and w.result.image.shape == (16, 16, 3)
    assert w.result.value_range == (-1.0, 1.0) and w.result.mode == "reveal"
    assert (w.mode, w.color_scale, w.grid["rows"]) == ("reveal", "fixed", 2)
    # The browser measures a revealed patch's gain against the all-baseline image.
    np.testing.assert_array_equal(w.baseline_probabilities, w.result.baseline_probabilities)
    with pytest.raises(traitlets.TraitError, match="color_scale must be one of 'auto', 'fixed'"):
        w.color_scale = "log"
    with pytest.raises(ValueError, match="mode must be 'occlude'"):
        w.recompute(mode="hide")
    sent = replies(w)
    params = {"patch_size": [8, 8], "stride": [4, 4], "baseline": "black", "mode": "occlude"}
    w._on_message(w, {"type": "recompute", "id": 1, "params": params}, [])
    assert sent[-1][0] == {"type": "reply", "id": 1, "ok": True}
    assert w.wait(10) == "done" and w.mode == "occlude" and w.result.mode == "occlude"
    assert w.baseline_probabilities is None
    assert w.image.shape == (16, 16, 4)  # still the resized image


# -- target groups and the note ----------------------------------------------------------------


@pytest.fixture
def widget() -> OcclusionWidget:
    w = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4, top_k=3)
    assert w.wait(10) == "done"
    yield w
    w.close()


def test_a_target_group_shows_its_summed_probability(widget: OcclusionWidget, tmp_path) -> None:
    result = widget.result
    widget.target = [4, 1]
    assert widget.target == [1, 4]  # a group is sorted, as the browser sends it
    np.testing.assert_allclose(widget.target_map, result.probability([1, 4]), rtol=1e-6)
    widget.target = ["two"]  # a name; a one-class group is that class
    assert widget.target == 2
    np.testing.assert_array_equal(widget.target_map, result.probability(2))
    for bad, match in [
        ([], "empty"),
        ([1, 1], "twice"),
        ([1, 6], "out of range"),
        ("tow", "did you mean 'two'"),
        (1.5, "class index"),
    ]:
        with pytest.raises(traitlets.TraitError, match=match):
            widget.target = bad
    widget.target = [0, 5]
    widget.selected = (3, 2)
    sel = widget.selection
    assert sel.target == [0, 5] and sel.target_name == "zero + five"
    assert sel.target_drop == pytest.approx(result.sensitivity([0, 5])[3, 2], abs=1e-6)
    assert widget.save(tmp_path / "group.png").stat().st_size > 0


def test_the_note_says_when_the_map_says_nothing() -> None:
    w = OcclusionWidget(flat_model, IMAGE, labels=["a", "b", "c"], patch_size=8, stride=8)
    assert w.wait(10) == "done"
    assert w.note == "no 8×8 patch changes P(b) by more than 0.001"
    w.target = [0, 2]
    assert w.note == "no 8×8 patch changes P(a + c) by more than 0.001"
    live = OcclusionWidget(band_model, IMAGE, patch_size=8, stride=8)
    assert live.wait(10) == "done" and live.note == ""


def test_a_note_on_a_partial_map_says_it_rests_on_part_of_it() -> None:
    model = CountingModel(inner=flat_model, block_at=2)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4, batch_size=8)
    assert model.reached.wait(10)
    assert w.note.endswith("(so far: 7 of 49 positions computed)")
    model.release.set()
    assert w.wait(10) == "done" and "so far" not in w.note


# -- probe ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("baseline", "mode"), [("noise", "occlude"), ("blur", "reveal")])
def test_a_probe_on_a_cells_box_equals_the_sweeps_cell(baseline, mode) -> None:
    w = OcclusionWidget(band_model, IMAGE, patch_size=8, stride=4, baseline=baseline, mode=mode)
    assert w.wait(10) == "done"
    for row, col in [(0, 0), (3, 5), (6, 6)]:
        probs = w.probe(w.result.box(row, col))
        # Same fill array, image and model, one image instead of a batch: numpy computes the
        # same float32 sums, so only rounding of the softmax can differ (well under 1e-6).
        np.testing.assert_allclose(probs, w.result.probabilities[row, col], atol=1e-6)


def test_probe_messages_answer_with_the_probabilities_or_a_readable_error(widget) -> None:
    sent = replies(widget)
    widget.target = [0, 1]
    region = {"box": [4, 8, 8, 8]}
    widget._on_message(widget, {"type": "probe", "id": "p1", "region": region}, [])
    reply = sent[-1][0]
    expected = widget.result.probabilities[1, 2]
    assert reply["ok"] is True and reply["id"] == "p1"
    probe = reply["probe"]
    assert probe["region"] == region and len(probe["indices"]) == 3
    assert probe["indices"][0] == probe["predicted"] == int(np.argmax(expected))
    np.testing.assert_allclose(probe["probabilities"], np.sort(expected)[::-1][:3], atol=1e-6)
    assert probe["target_probability"] == pytest.approx(float(expected[[0, 1]].sum()), abs=1e-6)
    json.dumps(reply)  # plain JSON

    mask = np.zeros((32, 32), np.uint8)
    mask[4:12, 8:16] = 1
    widget._on_message(
        widget, {"type": "probe", "id": "p2", "region": {"mask": True}}, [mask.tobytes()]
    )
    assert sent[-1][0]["ok"] is True
    np.testing.assert_allclose(sent[-1][0]["probe"]["probabilities"], probe["probabilities"])

    bad = [
        ({"box": [0, 0, 0, 4]}, [], "has no area"),
        ({"box": [40, 40, 4, 4]}, [], "lies outside the image"),
        ({"mask": True}, [bytes(10)], "the mask has 10 bytes but the swept image is 32x32"),
        ({"circle": 3}, [], "region must be"),
    ]
    for i, (region, buffers, match) in enumerate(bad):
        widget._on_message(widget, {"type": "probe", "id": i, "region": region}, buffers)
        assert sent[-1][0]["ok"] is False and re.search(match, sent[-1][0]["error"]), match
    assert widget.status == "done" and widget.error == ""


def test_a_probe_never_runs_beside_a_sweep() -> None:
    model = CountingModel(block_at=2)
    w = OcclusionWidget(model, IMAGE, patch_size=8, stride=4, batch_size=4)
    assert model.reached.wait(10)
    with pytest.raises(RuntimeError, match="busy with the running sweep"):
        w.probe((0, 0, 8, 8))
    calls = model.calls
    model.release.set()
    assert w.wait(10) == "done" and model.calls == calls + 12 - 1
    result = occlusion_map(band_model, IMAGE, patch_size=8, stride=4, progress=False)
    with pytest.raises(RuntimeError, match="no model to probe"):
        OcclusionWidget.from_result(result).probe((0, 0, 8, 8))


# -- export ----------------------------------------------------------------------------------


def test_export_html_by_message_and_by_method(widget, tmp_path) -> None:
    sent = replies(widget)
    widget._on_message(widget, {"type": "export_html", "id": "e1"}, [])
    reply, buffers = sent[-1]
    assert reply["ok"] is True and reply["filename"] == "occlusion.html"
    assert len(buffers) == 1 and reply["bytes"] == len(buffers[0])
    path = widget.to_html(tmp_path / "w.html", title="bands")
    text = path.read_text(encoding="utf-8")
    state = re.search(r'id="ow-state">(.*?)</script>', text, re.S)
    traits = json.loads(state[1])["traits"]
    assert traits["_kernel"] is False and widget._kernel is True
    assert {"color_scale", "note", "mode"} <= set(traits)
