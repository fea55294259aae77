"""The fixture that ties the browser's flat-map sentence (js/state/flatnote.ts) to the engine's.

Each case is a sensitivity map (``null`` where not computed), a patch size, a target's name and
a mode, with the sentence :func:`occlusion_widget.engine.flat.flat_note` writes for it (``""``
for None). ``js/state/flatnote.test.ts`` checks that the browser writes the same sentence for every
case; ``tests/engine/test_flat_note.py`` checks that the committed file is what this module makes.
Regenerate with::

    python -m tests.helpers.flat_note_fixture
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parents[2] / "js" / "fixtures" / "flat_note.json"

NAN = float("nan")
# (what the case shows, sensitivity, patch size, target name, mode)
CASES = [
    ("flat, complete", [[0.0004, -0.0009], [0.0, 0.001]], (8, 8), "sky", "occlude"),
    ("one change above the threshold", [[0.0004, -0.0011], [0.0, 0.0]], (8, 8), "sky", "occlude"),
    ("a strong negative change", [[-0.4, 0.0], [0.0, 0.0]], (16, 16), "sky", "occlude"),
    ("flat so far", [[0.0002, NAN, NAN], [NAN, 0.0, NAN]], (12, 4), "tusker", "occlude"),
    ("nothing computed", [[NAN, NAN], [NAN, NAN]], (8, 8), "sky", "occlude"),
    ("reveal mode", [[0.0, 0.0005]], (16, 16), "triangle", "reveal"),
    (
        "a group's names",
        [[0.0001, 0.0002]],
        (32, 32),
        "African_elephant + tusker + Indian_elephant",
        "occlude",
    ),
    ("a class without a label", [[0.0]], (4, 6), "class 2", "occlude"),
]


def make_fixture() -> dict:
    from occlusion_widget.engine.flat import FLAT_BELOW, flat_note

    cases = []
    for what, values, patch, name, mode in CASES:
        array = np.asarray(values, np.float64)
        cases.append(
            {
                "what": what,
                "sensitivity": [None if np.isnan(v) else v for v in array.ravel().tolist()],
                "patch": list(patch),
                "name": name,
                "mode": mode,
                "sentence": flat_note(array, patch, name, mode) or "",
            }
        )
    return {"flat_below": FLAT_BELOW, "cases": cases}


if __name__ == "__main__":
    PATH.write_text(json.dumps(make_fixture(), ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {PATH}")
