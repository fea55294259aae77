"""The picture beside the live widget: what a saved notebook shows where no kernel runs.

Issue 18, item 1: GitHub, nbconvert and VS Code without a kernel showed only
``OcclusionWidget(...)``. The widget's output now carries the finished map as ``image/png``
beside the widget view, in an output with a display id that is updated when the sweep ends and
when the target or view changes. IPython's ``display`` and ``update_display`` are recorded
here; ``tests/test_notebook_picture.py`` runs a real kernel.
"""

from __future__ import annotations

import base64
import io
import threading

import numpy as np
import pytest
from PIL import Image

from occlusion_widget import OcclusionWidget
from occlusion_widget.widget import picture
from tests.helpers.models_widget import IMAGE, NAMES, CountingModel, band_model

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class Outputs:
    """IPython's display and update_display, recorded: the bundles a notebook would keep."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[tuple[str, dict, str]] = []  # (kind, data, display_id)

    def display(self, data, *, raw, metadata=None, display_id=None) -> None:
        assert raw
        with self.lock:
            self.sent.append(("display", data, display_id))

    def update_display(self, data, *, display_id, raw, metadata=None) -> None:
        assert raw
        with self.lock:
            self.sent.append(("update", data, display_id))

    def shown(self, display_id: str) -> dict:
        """What a notebook shows for ``display_id`` now: the last bundle sent for it."""
        with self.lock:
            return [data for _, data, shown_id in self.sent if shown_id == display_id][-1]


@pytest.fixture
def outputs(monkeypatch) -> Outputs:
    import IPython.display

    recorded = Outputs()
    monkeypatch.setattr(IPython.display, "display", recorded.display)
    monkeypatch.setattr(IPython.display, "update_display", recorded.update_display)
    return recorded


@pytest.fixture
def renders(monkeypatch) -> list[dict]:
    """Every picture drawn, by the state it was drawn for."""
    drawn: list[dict] = []
    real = picture.render_png

    def counting(result, state, dpi=picture.DPI):
        drawn.append(dict(state))
        return real(result, state, dpi)

    monkeypatch.setattr(picture, "render_png", counting)
    return drawn


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def picture_of(data: dict) -> np.ndarray:
    assert "image/png" in data, f"no picture in the output: {sorted(data)}"
    return pixels(base64.b64decode(data["image/png"]))


def saved(w: OcclusionWidget, tmp_path, name: str) -> np.ndarray:
    """The current view as ``w.save()`` writes it, at the picture's resolution."""
    return pixels(w.save(tmp_path / name, dpi=picture.DPI).read_bytes())


def test_the_output_ends_with_the_finished_map_beside_the_widget(outputs, tmp_path) -> None:
    model = CountingModel(block_at=2)
    w = OcclusionWidget(model, IMAGE, labels=NAMES, patch_size=8, stride=4, batch_size=4)
    try:
        assert model.reached.wait(10)
        w._ipython_display_()  # what a cell ending in `w` does
        kind, first, display_id = outputs.sent[0]
        # The map is not finished: the widget, and a sentence instead of a half-drawn picture.
        assert kind == "display" and WIDGET_VIEW in first and "image/png" not in first
        assert "still being computed" in first["text/plain"]
        model.release.set()
        assert w.wait(10) == "done"
        # The sweep ended: the same output now holds the widget and the finished map.
        shown = outputs.shown(display_id)
        assert shown[WIDGET_VIEW] == first[WIDGET_VIEW]
        np.testing.assert_array_equal(picture_of(shown), saved(w, tmp_path, "done.png"))
    finally:
        w.close()


def test_a_new_target_or_view_is_drawn_once_when_the_changes_stop(
    outputs, renders, tmp_path
) -> None:
    w = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4)
    try:
        assert w.wait(10) == "done"
        w._ipython_display_()
        display_id = outputs.sent[0][2]
        before = len(renders)
        # A person trying targets and views: four changes in a row, then a pause.
        w.target, w.view, w.target, w.view = 2, "probability", 3, "sensitivity"
        w.color_scale = "fixed"
        w.wait(10)  # returns once the pending picture is sent
        assert len(renders) == before + 1, "drew a picture for each change"
        assert renders[-1]["target"] == 3 and renders[-1]["view"] == "sensitivity"
        np.testing.assert_array_equal(
            picture_of(outputs.shown(display_id)), saved(w, tmp_path, "three.png")
        )
        # Pinning a cell changes the live view only: the picture shows the map, no redraw.
        w.selected = (1, 1)
        w.wait(10)
        assert len(renders) == before + 1
    finally:
        w.close()


def test_a_widget_nobody_displayed_draws_no_picture(outputs, renders) -> None:
    w = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4)
    try:
        assert w.wait(10) == "done"
        w.target = 2
        w.wait(10)
        assert renders == [] and outputs.sent == []
    finally:
        w.close()


def test_a_saved_result_is_drawn_at_once_and_a_closed_widget_keeps_its_picture(
    outputs, tmp_path
) -> None:
    live = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4)
    assert live.wait(10) == "done"
    w = OcclusionWidget.from_result(live.result, labels=NAMES, target=1)
    live.close()
    expected = saved(w, tmp_path, "result.png")
    data, _ = w._repr_mimebundle_()
    assert WIDGET_VIEW in data
    np.testing.assert_array_equal(picture_of(data), expected)
    w.close()
    # Closed: no model for a view any more, but the picture still says what the map was.
    w._ipython_display_()
    _, data, _ = outputs.sent[-1]
    assert WIDGET_VIEW not in data
    np.testing.assert_array_equal(picture_of(data), expected)


def test_a_recompute_keeps_the_last_map_until_its_own_is_finished(outputs, tmp_path) -> None:
    model = CountingModel()
    w = OcclusionWidget(model, IMAGE, labels=NAMES, patch_size=8, stride=4, batch_size=4)
    try:
        assert w.wait(10) == "done"
        w._ipython_display_()
        display_id = outputs.sent[0][2]
        first = saved(w, tmp_path, "first.png")
        model.block_at, model.calls = 3, 0
        w.recompute(stride=8)
        assert model.reached.wait(10)
        w.target = 2  # changed mid-sweep: nothing to draw yet, the finished map stays
        w._picture.changed(0.0)
        w._picture.flush(10)
        np.testing.assert_array_equal(picture_of(outputs.shown(display_id)), first)
        model.release.set()
        assert w.wait(10) == "done"
        np.testing.assert_array_equal(
            picture_of(outputs.shown(display_id)), saved(w, tmp_path, "second.png")
        )
    finally:
        model.release.set()
        w.close()


def test_waiting_while_holding_the_session_lock_does_not_hang(outputs) -> None:
    # A trait observer runs holding the session's lock (the sweep's updates set traits); if it
    # calls w.wait(), waiting for the picture's timer, which needs that lock, would never end.
    w = OcclusionWidget(band_model, IMAGE, labels=NAMES, patch_size=8, stride=4)
    try:
        assert w.wait(10) == "done"
        w._ipython_display_()
        w.target = 3
        returned = threading.Event()

        def observer() -> None:
            with w.session.lock:
                w._picture.changed(0.0)
                w._picture.flush()
            returned.set()

        threading.Thread(target=observer, daemon=True).start()
        assert returned.wait(10), "flush waited for a timer blocked on the lock its caller holds"
        w.wait(10)
        assert outputs.sent[-1][0] == "update"
    finally:
        w.close()
