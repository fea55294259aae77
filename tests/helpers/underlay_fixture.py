"""The fixture that ties the browser's underlay (js/state/underlay.ts) to the figures' one.

Pixels of the classroom toy (the triangle of ``ow.demo.sample_image("triangle", seed=9)``: its
dark blue background and its cyan shape) with the grey that
:func:`occlusion_widget.plot._common.underlay` draws under a map. ``js/state/underlay.test.ts``
checks that the browser draws the same greys, and what a map over them looks like;
``tests/plot/test_underlay.py`` checks that the committed file is what this module makes.
Regenerate with::

    python -m tests.helpers.underlay_fixture
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parents[2] / "js" / "fixtures" / "underlay.json"
# (row, col) of toy pixels: background corners and edges, then points inside the shape.
BACKGROUND = [(0, 0), (0, 63), (63, 0), (63, 63), (10, 50), (50, 10), (32, 60)]
SHAPE = [(20, 17), (30, 17), (43, 10)]


def toy():
    from occlusion_widget import demo

    image, box = demo.sample_image("triangle", seed=9)
    return image, box


def make_fixture() -> dict:
    from occlusion_widget.plot._common import underlay

    image, _ = toy()
    points = BACKGROUND + SHAPE
    pixels = np.array([image[r, c, :3] for r, c in points], np.uint8)
    grey = underlay(pixels[None])[0]
    return {
        "background": [pixels[i].tolist() for i in range(len(BACKGROUND))],
        "shape": [pixels[len(BACKGROUND) + i].tolist() for i in range(len(SHAPE))],
        "grey": grey[:, 0].tolist(),
    }


if __name__ == "__main__":
    PATH.write_text(json.dumps(make_fixture()) + "\n")
    print(f"wrote {PATH}")
