"""The incremental plan: which layers run on a region, the region of every tensor, the cost.

Walks a Keras functional graph (a Sequential model through its functional form) once, with the
occluder boxes of every grid position, and decides per node: a rule that maps the input boxes
to an output box (convolutions, pooling, padding, element-wise and merge layers) or the whole
map (anything else, and any layer whose box would cover most of its map). Pure numpy and layer
attributes: no tensor is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from .regions import conv_geometry, conv_interval, fit_interval, union_interval, window_interval
from .threshold import capped_interval, capped_union

__all__ = ["Plan", "Step", "graph_nodes", "layer_rule", "make_plan"]

#: A layer's output switches to the whole map once its box covers this share of the map: past
#: it, gathering the window costs more than the arithmetic it saves (measured in
#: benchmarks/bench_incremental.py).
FULL_SHARE = 0.5

#: Full convolutions (``Conv2D``) and merges keep their box up to ``DENSE_FACTOR`` times that
#: share: a convolution does ``k * k * C_out`` multiply-adds per value its window gathers
#: (hundreds, against 9 for a depthwise one and none for pooling), and a merge's branch that is
#: already on the union box is not gathered at all. Measured on ResNet50, whose 14x14 stage
#: starts at 51% of the map (benchmarks/RESULTS.md section 8, issue 23 item 2).
DENSE_FACTOR = 1.5


@dataclass
class Step:
    """One graph node as the incremental pass runs it."""

    kind: str  # "input", "pointwise", "conv", "pool", "pad", "merge" or "full"
    node: object  # the Keras node (None for "input")
    inputs: list  # tensor ids
    output: int
    slot: int = -1  # output box slot (region steps)
    windows: list = field(default_factory=list)  # (slot, fill) of each input's window
    macs_full: float = 0.0
    macs_run: float = 0.0


@dataclass
class Plan:
    """Everything the incremental forward needs besides the weights and the clean tensors.

    ``offsets[s]`` holds the ``(row, col)`` start of box slot ``s`` for every grid position and
    ``sizes[s]`` its ``(height, width)``; ``regions`` maps a tensor id to its box slot while it
    is kept as a region.
    """

    steps: list
    offsets: list
    sizes: list
    regions: dict
    output: int
    needs_clean: set
    fallbacks: list  # (layer name, reason) where a layer ran on the whole map without a rule

    @property
    def macs_full(self) -> float:
        """Multiply-adds of one full forward pass (convolutions, pooling, dense layers)."""
        return float(sum(s.macs_full for s in self.steps))

    @property
    def flop_fraction(self) -> float:
        """Share of the full pass's multiply-adds that the incremental pass computes."""
        full = self.macs_full
        return float(sum(s.macs_run for s in self.steps)) / full if full else 1.0

    @property
    def incremental_layers(self) -> tuple[int, int]:
        """(layers run on a region, layers in all)."""
        layers = [s for s in self.steps if s.kind != "input"]
        return sum(s.kind != "full" for s in layers), len(layers)


def graph_nodes(model):
    """The model's nodes in an order where every input comes first, and its input/output ids.

    Raises
    ------
    ValueError
        When the model is not a functional or built Sequential Keras model.
    """
    graph = getattr(model, "_functional", None) or model
    by_depth = getattr(graph, "_nodes_by_depth", None)
    if by_depth is None or not getattr(graph, "inputs", None):
        raise ValueError("only functional and built Sequential Keras models have a graph to walk")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise ValueError("the model must have one input and one output")
    nodes = []
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if node.operation is None or node.is_input:
                continue
            nodes.append(node)
    return graph, nodes


def _pair(value: Any) -> tuple[int, ...]:
    if np.isscalar(value):
        return (int(value), int(value))  # type: ignore[arg-type]
    return tuple(int(v) for v in value)


_POINTWISE = (
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Rescaling",
    "Dropout",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
    "Identity",
)
_MERGE = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")


def layer_rule(layer) -> tuple[str | None, str]:
    """The box rule of a layer: ``(kind, "")``, or ``(None, reason)`` when it has none.

    Examples
    --------
    >>> import keras
    >>> layer_rule(keras.layers.Conv2D(4, 3))
    ('conv', '')
    >>> layer_rule(keras.layers.Flatten())[0] is None
    True
    """
    name = type(layer).__name__
    fmt = getattr(layer, "data_format", "channels_last")
    if fmt not in (None, "channels_last"):
        return None, "channels_first data format"
    if name in _POINTWISE:
        return "pointwise", ""
    if name in ("BatchNormalization", "Softmax", "LayerNormalization", "UnitNormalization"):
        axis = getattr(layer, "axis", -1)
        axes = [axis] if np.isscalar(axis) else list(axis)  # type: ignore[arg-type]
        if axes in ([-1], [3]):
            return "pointwise", ""
        return None, f"normalises over axis {axis}, not only the channels"
    if name in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
        if getattr(layer, "groups", 1) != 1:
            return None, "grouped convolution"
        if layer.padding not in ("valid", "same"):
            return None, f"padding {layer.padding!r}"
        return "conv", ""
    if name in ("MaxPooling2D", "AveragePooling2D"):
        return "pool", ""
    if name == "ZeroPadding2D":
        return "pad", ""
    if name in _MERGE:
        return "merge", ""
    if name == "Concatenate":
        return ("merge", "") if layer.axis in (-1, 3) else (None, "concatenates spatially")
    return None, f"no region rule for {name}"


def _window(layer, kind):
    """(kernel, strides, dilation, padding) of a sliding-window layer, as pairs."""
    if kind == "pool":
        return _pair(layer.pool_size), _pair(layer.strides), (1, 1), layer.padding
    return (
        _pair(layer.kernel_size),
        _pair(layer.strides),
        _pair(layer.dilation_rate),
        layer.padding,
    )


def _macs(layer, kind, in_shape, out_shape):
    """Multiply-adds (comparisons for pooling) per output pixel, and output pixels."""
    name = type(layer).__name__
    pixels = float(np.prod(out_shape[:-1])) if len(out_shape) > 1 else 1.0
    c_in = in_shape[-1] if in_shape else 0
    c_out = out_shape[-1]
    if name == "Conv2D":
        kh, kw = _pair(layer.kernel_size)
        return kh * kw * c_in * c_out, pixels
    if name == "DepthwiseConv2D":
        kh, kw = _pair(layer.kernel_size)
        return kh * kw * c_out, pixels
    if name == "SeparableConv2D":
        kh, kw = _pair(layer.kernel_size)
        mult = getattr(layer, "depth_multiplier", 1)
        return kh * kw * c_in * mult + c_in * mult * c_out, pixels
    if name == "Dense":
        return c_in * c_out, pixels
    if kind == "pool":
        kh, kw = _pair(layer.pool_size)
        return kh * kw * c_out, pixels
    return c_out, pixels  # element-wise and everything else: one op per output value


class _Slots:
    def __init__(self):
        self.offsets, self.sizes = [], []

    def add(self, rows, cols, size):
        self.offsets.append(np.stack([rows, cols], axis=1).astype(np.int32))
        self.sizes.append((int(size[0]), int(size[1])))
        return len(self.offsets) - 1


def make_plan(model, shapes, tops, lefts, patch_size, full_share=FULL_SHARE, tau=1.0) -> Plan:
    """Plan the incremental pass for every occluder position.

    Parameters
    ----------
    model : keras.Model
        Functional or built Sequential.
    shapes : dict
        Tensor id -> concrete shape of that tensor for one image (from a clean pass).
    tops, lefts : numpy.ndarray
        Patch start row and column per position, flattened over the grid (``N`` each).
    patch_size : tuple of int
    full_share : float
        A box covering at least this share of its map switches that layer to the whole map
        (``DENSE_FACTOR`` times it for ``Conv2D`` and merge layers).
    tau : float
        Projective-field threshold (:mod:`.threshold`): below 1, a box is at most this share of
        its map's height and width, and the plan is approximate.

    Returns
    -------
    Plan
    """
    graph, nodes = graph_nodes(model)
    slots = _Slots()
    regions = {}  # tensor id -> slot
    steps, needs_clean, fallbacks = [], set(), []
    in_id = id(graph.inputs[0])
    if len(shapes[in_id]) == 4:
        slot = slots.add(np.asarray(tops), np.asarray(lefts), patch_size)
        regions[in_id] = slot
        steps.append(Step("input", None, [], in_id, slot))
    for node in nodes:
        layer = node.operation
        ins = [id(t) for t in node.input_tensors]
        outs = [id(t) for t in node.outputs]
        out = outs[0]
        kind, reason = layer_rule(layer)
        out_shape = shapes[out]
        in_shape = shapes[ins[0]] if ins else ()
        per_pixel, pixels = _macs(layer, kind, in_shape, out_shape)
        step = Step("full", node, ins, out, macs_full=per_pixel * pixels)
        region_in = ins and all(i in regions for i in ins)
        if kind is not None and region_in and len(outs) == 1 and len(out_shape) == 4:
            planned = _plan_region(kind, layer, ins, out_shape, shapes, regions, slots, tau)
            if planned is not None:
                slot, windows = planned
                h, w = slots.sizes[slot]
                dense = kind == "merge" or type(layer).__name__ == "Conv2D"
                share = full_share * DENSE_FACTOR if dense else full_share
                if kind in ("pointwise", "pad") or h * w < share * out_shape[1] * out_shape[2]:
                    step.kind, step.slot, step.windows = kind, slot, windows
                    step.macs_run = per_pixel * pixels * h * w / (out_shape[1] * out_shape[2])
                    regions[out] = slot
                    if windows:
                        needs_clean.update(ins)
                    steps.append(step)
                    continue
        if kind is None and region_in:
            fallbacks.append((layer.name, reason))
        step.macs_run = step.macs_full
        needs_clean.update(i for i in ins if i in regions)
        steps.append(step)
    return Plan(
        steps, slots.offsets, slots.sizes, regions, id(graph.outputs[0]), needs_clean, fallbacks
    )


def _plan_region(kind, layer, ins, out_shape, shapes, regions, slots, tau=1.0):
    """The output slot and the input windows of a region step, or None when it has none."""
    if kind == "pointwise":
        return regions[ins[0]], []
    if kind == "pad":
        (pt, _), (pl, _) = layer.padding
        src = regions[ins[0]]
        off = slots.offsets[src]
        return slots.add(off[:, 0] + pt, off[:, 1] + pl, slots.sizes[src]), []
    if kind == "merge":
        if len({tuple(shapes[i][1:3]) for i in ins}) != 1:
            return None  # broadcasting over space: no common map
        n = out_shape[1:3]
        union = union_interval if tau >= 1 else partial(capped_union, tau=tau)
        axes = [
            union(
                [slots.offsets[regions[i]][:, a] for i in ins],
                [slots.sizes[regions[i]][a] for i in ins],
                n[a],
            )
            for a in (0, 1)
        ]
        slot = slots.add(axes[0][0], axes[1][0], (axes[0][1], axes[1][1]))
        return slot, [(slot, 0.0)] * len(ins)
    # conv / pool: the output box from the input box, then the input window it reads.
    src = regions[ins[0]]
    kernel, strides, dilation, padding = _window(layer, kind)
    starts, lengths, wins, wlens = [], [], [], []
    for a in (0, 1):
        n_in = shapes[ins[0]][1 + a]
        n_out, pad = conv_geometry(n_in, kernel[a], strides[a], dilation[a], padding)
        if n_out != out_shape[1 + a]:
            return None  # a padding rule this code does not know: be safe
        lo, hi = conv_interval(
            slots.offsets[src][:, a],
            slots.sizes[src][a],
            n_out,
            kernel[a],
            strides[a],
            dilation[a],
            pad,
        )
        if tau >= 1:
            start, length = fit_interval(lo, hi, n_out)
        else:
            start, length = capped_interval(lo, hi, n_out, tau)
        win, wlen = window_interval(start, length, kernel[a], strides[a], dilation[a], pad)
        starts.append(start)
        lengths.append(length)
        wins.append(win)
        wlens.append(wlen)
    slot = slots.add(starts[0], starts[1], lengths)
    win_slot = slots.add(wins[0], wins[1], wlens)
    fill = -np.inf if type(layer).__name__ == "MaxPooling2D" else 0.0
    return slot, [(win_slot, fill)]
