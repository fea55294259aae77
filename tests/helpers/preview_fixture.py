"""The fixture that ties the browser's preview (js/state/preview.ts) to ``method="adaptive"``.

An analytic three-class map on a 29 x 29 grid goes through the adaptive drill-down's lattice
levels (engine/refinement.py); the fixture holds the computed cells, their values, and the
values adaptive filled in everywhere else. ``js/state/preview.test.ts`` checks that the preview of
the computed cells alone reproduces the filled map; ``tests/engine/test_refinement.py`` checks that
the committed file is what this module makes. Regenerate with::

    python -m tests.helpers.preview_fixture
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PATH = Path(__file__).resolve().parents[2] / "js" / "fixtures" / "adaptive_preview.json"


def analytic_map(grid):
    """``(rows, cols, 3)`` probabilities: class 0 everywhere, dented by a round object (the
    patch over it makes class 1 win) and by a corner region (class 2 creeps in there)."""
    y = grid.tops[:, None] + grid.patch_size[0] / 2
    x = grid.lefts[None, :] + grid.patch_size[1] / 2
    # Rational functions only: +, *, / are correctly rounded everywhere, where exp may differ
    # in the last bit between CPUs (numpy picks SIMD code by CPU), so the fixture is the same
    # on any machine.
    obj = 1.0 / (1.0 + ((y - 26.0) ** 2 + (x - 34.0) ** 2) / 30.0) ** 2
    corner = np.clip((x + y - 80.0) / 30.0, 0.0, 1.0)
    p1 = 0.05 + 0.7 * obj
    p2 = 0.05 + 0.5 * corner
    p = np.stack([1.0 - p1 - p2, p1, p2], -1)
    return p.astype(np.float32)


def make_fixture() -> dict:
    from occlusion_widget.engine.grid import make_grid
    from occlusion_widget.engine.refinement import Refinement

    grid = make_grid((64, 64), 8, 2)
    p = analytic_map(grid).reshape(grid.total, -1)
    base = np.array([0.9, 0.05, 0.05], np.float32)
    ref = Refinement(grid)
    cells = ref.first()
    ref.add(cells, p[cells], base=base)
    while ref.in_levels:
        cells = ref.next_level()
        ref.add(cells, p[cells])
    assert ref.probabilities is not None
    filled = ref.probabilities.reshape(grid.total, -1)
    return {
        "grid": {
            "rows": int(grid.rows),
            "cols": int(grid.cols),
            "tops": grid.tops.tolist(),
            "lefts": grid.lefts.tolist(),
        },
        "computed": ref.exact.ravel().astype(int).tolist(),
        "target": int(ref.target),
        # The watched class's probability: computed where computed, adaptive's fill elsewhere.
        "adaptive": [float(v) for v in filled[:, ref.target]],
        "adaptive_class": filled.argmax(1).tolist(),
        "exact_class": p.argmax(1).tolist(),
    }


if __name__ == "__main__":
    PATH.write_text(json.dumps(make_fixture()) + "\n")
    print(f"wrote {PATH}")
