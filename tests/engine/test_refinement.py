"""Every exact sweep visits the adaptive drill-down's cells first, so the map a preview shows
early is the adaptive one; the browser's preview replays the drill-down (js/state/preview.ts)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import occlusion_widget as ow
from occlusion_widget.engine.grid import make_grid
from occlusion_widget.engine.refinement import Refinement, SweepOrder
from tests.helpers.models import region_model
from tests.helpers.preview_fixture import PATH, analytic_map, make_fixture


def _drill_cells(grid, probabilities, base):
    """The cells the adaptive drill-down computes (before its error sample), in order, and how
    many times it asked for more."""
    flat = probabilities.reshape(grid.total, -1)
    ref = Refinement(grid)
    cells = ref.first()
    ref.add(cells, flat[cells], base=base)
    asked = 1
    while len(cells := ref.advance()):
        ref.add(cells, flat[cells])
        asked += 1
    return np.flatnonzero(ref.exact), asked


@pytest.mark.parametrize("batch_size", [1, 8])
def test_an_exact_sweep_computes_the_drill_downs_cells_first(batch_size):
    # A small object in a 48 x 48 image: the drill-down computes a third of the 41 x 41 cells.
    model = region_model(20, 20, 8, 8)
    image = np.ones((48, 48, 3), np.float32)
    kw = dict(patch_size=8, stride=1, baseline="black")
    done_when = np.full(41 * 41, -1)
    result = None
    for result in ow.iter_occlusion(model, image, method="full", batch_size=batch_size, **kw):
        new = result.computed.ravel() & (done_when < 0)
        done_when[new] = result.done
    assert result is not None and result.complete
    cells, asked = _drill_cells(result.grid, result.probabilities, result.base_probabilities)
    assert len(cells) < result.total / 2
    # Each time the drill-down asks for more, the rest of the batch that answered it holds
    # other cells (from the rest of the coarse-to-fine order): at most that late.
    assert done_when[cells].max() <= len(cells) + batch_size * asked


def test_the_order_is_a_permutation_and_moves_only_what_no_batch_was_built_from():
    grid = make_grid((48, 48), 8, 2)
    p = np.zeros((grid.total, 2), np.float32)
    p[:, 0] = 1.0
    p[grid.total // 2] = [0.0, 1.0]  # one cell of another class: the drill-down goes there
    order = SweepOrder(grid)
    built = 3  # batches of 2: one scored, the next already built
    for start in range(0, grid.total, 2):
        before = order.order.copy()
        cells = order.order[start : start + 2]
        order.record(cells, p[cells], min(start + 2 + built, grid.total), base=p[0] * 0 + [1, 0])
        assert np.array_equal(order.order[: start + 2 + built], before[: start + 2 + built])
    assert sorted(order.order.tolist()) == list(range(grid.total))
    assert not np.array_equal(order.order, grid.order())
    # The cells around the odd one out come before the far corner's finest cells.
    pos = np.empty(grid.total, int)
    pos[order.order] = np.arange(grid.total)
    assert pos[grid.total // 2 + 1] < pos[grid.total - 2]


def test_an_interpolated_block_holds_no_computed_cell_but_its_corners():
    # What lets the browser replay the drill-down from the computed cells alone.
    grid = make_grid((64, 64), 8, 2)
    p = analytic_map(grid).reshape(grid.total, -1)
    ref = Refinement(grid)
    cells = ref.first()
    ref.add(cells, p[cells], base=np.array([0.9, 0.05, 0.05]))
    interpolated = []
    while ref.in_levels:
        before = ref.known.copy()
        cells = ref.next_level()
        ref.add(cells, p[cells])
        filled = ref.known & ~before & ~ref.exact
        interpolated.append(filled.sum())
    assert sum(interpolated) > grid.total / 2
    exact = ref.exact
    for r0, r1, c0, c1 in _interpolated_blocks(ref):
        inside = exact[r0 : r1 + 1, c0 : c1 + 1].copy()
        inside[[0, 0, -1, -1], [0, -1, 0, -1]] = False
        assert not inside.any()


def _interpolated_blocks(ref):
    """Re-run the drill-down recording the blocks it interpolates."""
    from occlusion_widget.engine import refinement

    blocks = []
    original = refinement.refine

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        blocks.extend(out[1])
        return out

    grid = ref.grid
    p = analytic_map(grid).reshape(grid.total, -1)
    refinement.refine = spy
    try:
        again = Refinement(grid)
        cells = again.first()
        again.add(cells, p[cells], base=np.array([0.9, 0.05, 0.05]))
        while again.in_levels:
            cells = again.next_level()
            again.add(cells, p[cells])
    finally:
        refinement.refine = original
    assert np.array_equal(again.exact, ref.exact) and blocks
    return blocks


def test_the_browser_preview_fixture_is_current():
    # js/state/preview.test.ts checks the browser's preview against this file; regenerate it with
    # `python -m tests.helpers.preview_fixture` when the drill-down changes.
    committed, made = json.loads(PATH.read_text()), make_fixture()
    # The masks and classes exactly; the values to float32 rounding (1e-6 is far below what
    # the browser test distinguishes, 1e-5).
    for key in ("grid", "computed", "target", "adaptive_class", "exact_class"):
        assert committed[key] == made[key], key
    np.testing.assert_allclose(committed["adaptive"], made["adaptive"], rtol=0, atol=1e-6)
