"""The incremental forward pass as the sweep sees it, and the choice between methods.

:func:`make_incremental` runs the model once on the unoccluded image, keeping every tensor a
region step reads, plans the boxes for every grid position and compiles one function for the
batch on the model's Keras backend (TensorFlow, JAX or torch: :mod:`.backends`). The sweep then
feeds it the same prepared batches as the full forward pass, and says which grid positions they
hold (:meth:`IncrementalForward.set_cells`).
"""

from __future__ import annotations

import weakref

import numpy as np

from . import plan as plan_module
from .backends import BACKENDS, compile_runner, no_grad, scores_to_numpy, to_tensor
from .plan import graph_nodes, make_plan

__all__ = [
    "IncrementalForward",
    "Unsupported",
    "estimate_fraction",
    "is_cached",
    "make_incremental",
]


class Unsupported(Exception):
    """The model or backend has no incremental pass (the message says why)."""


class IncrementalForward:
    """A forward pass that computes, per layer, only the region the occluder can change.

    Same interface as :class:`~occlusion_widget.engine.model.Forward` (``prepare``, ``run``,
    ``backend``, ``accelerator``), plus :meth:`set_cells` and :attr:`info`.
    """

    def __init__(self, base, plan, fn, cleans, clean_input):
        self._base = base
        self.backend = base.backend
        self.accelerator = base.accelerator
        self.preprocess = base.preprocess
        self.plan = plan
        self._fn = fn
        self._cleans = cleans
        self._clean_input = clean_input
        self._cells = None
        self.batches_full = 0  # batches that preprocess made non-local (run in full)
        done, total = plan.incremental_layers
        self.info = {
            "method": "incremental",
            "flop_fraction": round(plan.flop_fraction, 4),
            "incremental_layers": done,
            "layers": total,
            "fallback_layers": [f"{name}: {why}" for name, why in plan.fallbacks],
        }

    def prepare(self, batch):
        """Preprocess a raw batch (the full forward pass's own step)."""
        return self._base.prepare(batch)

    def set_cells(self, cells):
        """Say directly which grid cell (flat index) each item of the next batch holds
        (unoccluded items may name any cell: their pixels equal the clean image's)."""
        self._cells = np.asarray(cells, np.int64)

    def run(self, x):
        """Score a prepared batch whose positions :meth:`set_cells` gave."""
        if self._cells is None or len(self._cells) != len(x) or not self._local(x):
            self.batches_full += 1
            self.info["batches_run_in_full"] = self.batches_full
            return self._base.run(x)
        offsets = np.stack([off[self._cells] for off in self.plan.offsets], axis=1)
        self._cells = None
        to = self.backend
        y = self._fn(to_tensor(to, np.asarray(x, np.float32)), to_tensor(to, offsets), self._cleans)
        return scores_to_numpy(y)

    def _local(self, x):
        """Whether each prepared image equals the unoccluded one outside its patch (a
        preprocess that works per pixel); otherwise the regions would not be exact."""
        off = self.plan.offsets[0][self._cells]
        ph, pw = self.plan.sizes[0]
        # One elementwise compare and one flat any(): a reduction over the 3-channel axis, or a
        # fancy-indexed clear of the patches, costs 20x more (33 ms a batch of 32 at 224x224).
        differs = x != self._clean_input
        for item, (top, left) in enumerate(off):
            differs[item, top : top + ph, left : left + pw] = False
        return not differs.any()


# The last compiled pass, so a second sweep of the same model and grid (another baseline, a
# widget recompute) skips the trace. Only one: the function holds the model's graph, so a cache
# keyed by models would keep every model alive.
_LAST: dict = {}


def _clean_pass(nodes, graph, x):
    """Every tensor of the graph for the unoccluded image (eager, batch of one)."""
    values = {id(graph.inputs[0]): x}
    for node in nodes:
        args, kwargs = node.arguments.fill_in(values)
        outs = node.operation(*args, **kwargs)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        for t, y in zip(node.outputs, outs, strict=False):
            values[id(t)] = y
    return values


def _cache_key(shape, grid, full_share, tau=1.0):
    import keras

    return (keras.backend.backend(), tuple(shape), grid.patch_size, grid.stride, full_share, tau)


def is_cached(model, clean_shape, grid, full_share=None) -> bool:
    """Whether :func:`make_incremental` would reuse the last compiled function (same model,
    preprocessed image shape ``(H, W, C)``, patch and stride): no trace to pay."""
    if full_share is None:
        full_share = plan_module.FULL_SHARE
    cached = _LAST.get("model")
    key = _cache_key((1, *clean_shape), grid, full_share)
    return cached is not None and cached() is model and _LAST.get("key") == key


def _positions(grid):
    """Every position's top and left, in the grid's flat order."""
    cells = np.arange(grid.total)
    return grid.tops[cells // grid.cols], grid.lefts[cells % grid.cols]


def estimate_fraction(model, clean_shape, grid, full_share=None) -> float | None:
    """The plan's share of the full pass's multiply-adds, from the graph's own shapes: no model
    run, no clean pass (which costs 0.25 s on MobileNetV2 on TensorFlow, seconds eagerly on
    JAX). None when the graph does not fix every shape (an input of any size) or has no graph
    to walk: then only building the pass says.

    ``auto`` asks this before it builds the pass, so a model whose plan would not pay costs it
    nothing.
    """
    if full_share is None:
        full_share = plan_module.FULL_SHARE
    try:
        graph, nodes = graph_nodes(model)
    except ValueError:
        return None
    shapes = {}
    for t in [graph.inputs[0], *(out for node in nodes for out in node.outputs)]:
        dims = tuple(getattr(t, "shape", ()) or ())[1:]
        if not dims or any(d is None for d in dims):
            return None
        shapes[id(t)] = (1, *(int(d) for d in dims))
    if shapes[id(graph.inputs[0])][1:] != tuple(clean_shape):
        return None
    tops, lefts = _positions(grid)
    return float(make_plan(model, shapes, tops, lefts, grid.patch_size, full_share).flop_fraction)


def make_incremental(model, base, clean_prepared, grid, full_share=None, tau=1.0):
    """Build the incremental forward pass for one model, image size and grid.

    Parameters
    ----------
    model : keras.Model
    base : Forward
        The model's full forward pass (for ``prepare`` and for batches it must run in full).
    clean_prepared : numpy.ndarray
        ``(H, W, C)`` unoccluded image after preprocess.
    grid : Grid
    full_share : float, optional
        A layer whose box would cover this share of its map runs on the whole map
        (default :data:`~.plan.FULL_SHARE`, read at call time).
    tau : float, default 1.0
        Projective-field threshold (:mod:`.threshold`); below 1 the pass is approximate.

    Returns
    -------
    IncrementalForward

    Raises
    ------
    Unsupported
        Not a Keras model on TensorFlow, JAX or torch, a preprocess that changes the image
        size, or a model without a graph to walk.
    """
    if full_share is None:
        full_share = plan_module.FULL_SHARE
    if base.backend not in BACKENDS:
        raise Unsupported(
            f"the incremental pass runs on TensorFlow, JAX and torch; this model runs on "
            f"{base.backend}"
        )

    h, w = grid.image_hw
    if clean_prepared.ndim != 3 or clean_prepared.shape[:2] != (h, w):
        raise Unsupported(
            f"preprocess changes the image shape to {clean_prepared.shape}; the occluder boxes "
            f"need the model to see the image at its own size {(h, w)}"
        )
    try:
        graph, nodes = graph_nodes(model)
    except ValueError as exc:
        raise Unsupported(str(exc)) from None
    x = to_tensor(base.backend, clean_prepared[None].astype(np.float32))
    with no_grad(base.backend):
        values = _clean_pass(nodes, graph, x)
    shapes = {tid: tuple(int(s) for s in v.shape) for tid, v in values.items()}
    tops, lefts = _positions(grid)
    plan = make_plan(model, shapes, tops, lefts, grid.patch_size, full_share, tau)
    clean_ids = sorted(plan.needs_clean)
    cleans = [values[tid] for tid in clean_ids]
    key = _cache_key(shapes[id(graph.inputs[0])], grid, full_share, tau)
    cached = _LAST.get("model")
    fn = (
        _LAST.get("fn")
        if cached is not None and cached() is model and _LAST["key"] == key
        else None
    )
    if fn is None:
        from .runtime import make_runner

        run = make_runner(plan, shapes, clean_ids)
        x_spec = (h, w, clean_prepared.shape[2])
        fn = compile_runner(base.backend, run, model, x_spec, len(plan.offsets), cleans)
        _LAST.clear()
        _LAST.update(model=weakref.ref(model), key=key, fn=fn)
    return IncrementalForward(base, plan, fn, cleans, clean_prepared.astype(np.float32))
