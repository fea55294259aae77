"""One sentence, one threshold: what every view says when a map says nothing.

The engine writes the sentence (engine/flat.py); the result, the widget's ``note``, the figures'
titles and ``save()`` all say it word for word, and the browser's twin (js/state/flatnote.ts) is
held to it by the fixture this file keeps current.
"""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget import palette
from occlusion_widget.engine.flat import FLAT_BELOW, flat_note
from occlusion_widget.plot.save import render_view
from occlusion_widget.widget.mirror import note_for
from tests.helpers.flat_note_fixture import PATH, make_fixture
from tests.helpers.models_plot import result_from

pytest.importorskip("matplotlib")

NAMES = ["yurt", "tent", "other"]


def test_the_committed_fixture_is_what_the_engine_says() -> None:
    # The browser's sentences are checked against this file (js/state/flatnote.test.ts).
    assert json.loads(PATH.read_text(encoding="utf-8")) == make_fixture()


def test_there_is_one_threshold() -> None:
    assert FLAT_BELOW == palette.FLAT_BELOW
    assert "threshold" not in inspect.signature(ow.OcclusionResult.flat_note).parameters


def _nearly_flat(mode: str = "occlude", computed=None):
    base = np.array([0.6, 0.3, 0.1])
    probabilities = np.broadcast_to(base, (3, 3, 3)).copy()
    probabilities[1, 1, 0] -= 0.0005
    probabilities[1, 1, 1] += 0.0005
    result = result_from(probabilities, base, computed)
    if mode == "reveal":
        result.mode = "reveal"
        result.baseline_probabilities = base.astype(np.float32)
    return result


def _titles(fig) -> str:
    texts = [t.get_text() for t in fig.texts] + [a.get_title() for a in fig.axes]
    return "\n".join(texts)


@pytest.mark.parametrize(
    ("mode", "partial", "expected"),
    [
        ("occlude", False, "no 4×4 patch changes P(yurt) by more than 0.001"),
        ("reveal", False, "no 4×4 patch shown alone changes P(yurt) by more than 0.001"),
        (
            "occlude",
            True,
            "no 4×4 patch changes P(yurt) by more than 0.001 (so far: 8 of 9 positions computed)",
        ),
    ],
)
def test_every_view_says_the_same_sentence(mode, partial, expected) -> None:
    computed = np.ones((3, 3), bool)
    if partial:
        computed[2, 2] = False
    result = _nearly_flat(mode, computed)
    assert result.flat_note(0, labels=NAMES) == expected
    assert note_for(result, 0, NAMES) == expected  # the widget's `note` trait
    assert expected in _titles(ow.visualize(result, result.image, target=0, labels=NAMES))
    assert expected in _titles(ow.plot_class_map(result, target=0, labels=NAMES))
    figure = render_view(result, view="sensitivity", target=0, labels=NAMES, dpi=40)
    assert expected in _titles(figure)  # what w.save() writes


def test_a_group_is_named_by_its_labels_in_the_figure() -> None:
    result = _nearly_flat()
    fig = ow.visualize(result, result.image, target=[0, 1], labels=NAMES)
    assert "P(yurt + tent)" in _titles(fig)
    assert "class 0" not in _titles(fig)


def test_the_sentence_says_nothing_while_a_change_is_larger() -> None:
    assert flat_note([0.0, -2 * FLAT_BELOW], (4, 4), "yurt") is None
    assert flat_note([np.nan, np.nan], (4, 4), "yurt") is None
    assert flat_note([0.0, -FLAT_BELOW], (4, 4), "yurt") is not None
