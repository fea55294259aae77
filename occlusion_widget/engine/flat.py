"""The one sentence a map says when it says nothing, and the one threshold it rests on.

A map whose every change is tiny, drawn with its own colour scale, would show noise as
structure; the widget, the standalone page, ``save()`` and every figure say this sentence
instead. It is written once, here: :attr:`OcclusionResult.flat_note`, the widget's ``note`` and
the figures' titles call :func:`flat_note`, and ``js/state/flatnote.ts`` is its twin for the
browser, held to the same sentences by ``js/fixtures/flat_note.json``
(``tests/helpers/flat_note_fixture.py``).

The threshold is ``scale.flat_below`` of ``data/palettes.json``, the file the browser bundle
reads too, so no copy of the number can drift.
"""

from __future__ import annotations

import json
from importlib.resources import files

import numpy as np

__all__ = ["FLAT_BELOW", "flat_note"]

#: A map whose every change is at most this (probability units) says nothing.
FLAT_BELOW = float(
    json.loads(files("occlusion_widget").joinpath("data/palettes.json").read_text())["scale"][
        "flat_below"
    ]
)


def flat_note(sensitivity, patch_size, target_name: str, mode: str = "occlude") -> str | None:
    """The sentence for a map that says nothing, or None when some patch changes the target.

    Parameters
    ----------
    sensitivity : array-like
        The change of the target's probability per position (any shape); NaN where not
        computed yet.
    patch_size : (int, int)
        The patch's height and width in pixels.
    target_name : str
        What P() is of: a class name, or a group's names joined by " + ".
    mode : {"occlude", "reveal"}
        Reveal mode shows the patch alone, and the sentence says so.

    Returns
    -------
    str or None
        None when no position is computed or some change is larger than :data:`FLAT_BELOW`.
        While positions are missing the sentence says how many it rests on.

    Examples
    --------
    >>> flat_note([[0.0004, -0.0002], [np.nan, 0.0]], (8, 8), "sky")
    'no 8×8 patch changes P(sky) by more than 0.001 (so far: 3 of 4 positions computed)'
    >>> print(flat_note([0.2, 0.0], (8, 8), "sky"))
    None
    """
    values = np.asarray(sensitivity, np.float64).ravel()
    finite = np.isfinite(values)
    computed = int(finite.sum())
    if computed == 0 or float(np.abs(values[finite]).max()) > FLAT_BELOW:
        return None
    ph, pw = (int(v) for v in patch_size)
    what = "patch shown alone" if mode == "reveal" else "patch"
    text = f"no {ph}×{pw} {what} changes P({target_name}) by more than {FLAT_BELOW:g}"
    if computed < values.size:
        text += f" (so far: {computed} of {values.size} positions computed)"
    return text
