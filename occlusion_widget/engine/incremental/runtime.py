"""Run a :class:`~.plan.Plan` on a batch, on any Keras backend: region tensors, windows, maps.

A tensor kept as a region is a ``(B, h, w, C)`` batch of boxes, box ``b`` starting at the
position's own offset. A layer with a window reads its input box from the clean tensor of the
unoccluded image with the occluded region pasted in (both gathered with per-item indices, so the
batch stays one tensor of fixed shape), and zeros (or -inf for max pooling) outside the map:
exactly the padding the whole-map layer sees, but only at the map's true borders.

Written once on ``keras.ops`` (the same graph or kernels as the framework's own ops once traced
or jitted), except the per-item gather :func:`_take`: ``keras.ops`` has no batched 2-D gather,
and ``take_along_axis`` needs its indices broadcast to the whole ``(B, h, w, C)`` window (an
int tensor as large as the data, built and read for every window of every layer). TensorFlow
gathers with ``tf.gather(batch_dims=1)``; JAX and torch index natively (one advanced-indexing
gather each).
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_runner"]


def _ops():
    import keras

    return keras.ops


def _indices(off, size):
    ops = _ops()
    return off[:, None] + ops.arange(size, dtype=off.dtype)[None, :]


def _take(t, rows, cols, batched):
    """``t[b, rows[b]][:, cols[b]]`` for every item (``t`` shared by the batch when not batched)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        t = tf.gather(t, rows, axis=1, batch_dims=1) if batched else tf.gather(t[0], rows, axis=0)
        return tf.gather(t, cols, axis=2, batch_dims=1)
    if batched:  # JAX and torch: one advanced-indexing gather
        items = _ops().arange(rows.shape[0], dtype=rows.dtype)
        return t[items[:, None, None], rows[:, :, None], cols[:, None, :]]
    return t[0][rows[:, :, None], cols[:, None, :]]


def _window(clean, patch, p_off, p_size, w_off, w_size, fill, inside):
    """The ``w_size`` window at ``w_off`` of (clean with ``patch`` pasted at ``p_off``).

    Returns the window and, when it can leave the map, a float mask of the in-map values.
    """
    ops = _ops()
    h, w = int(clean.shape[1]), int(clean.shape[2])
    rows, cols = _indices(w_off[:, 0], w_size[0]), _indices(w_off[:, 1], w_size[1])
    pr, pc = rows - p_off[:, :1], cols - p_off[:, 1:]
    in_patch = ops.logical_and(
        ops.logical_and(pr >= 0, pr < p_size[0])[:, :, None, None],
        ops.logical_and(pc >= 0, pc < p_size[1])[:, None, :, None],
    )
    pasted = _take(patch, ops.clip(pr, 0, p_size[0] - 1), ops.clip(pc, 0, p_size[1] - 1), True)
    if inside:
        base, mask = _take(clean, rows, cols, False), None
    else:
        base = _take(clean, ops.clip(rows, 0, h - 1), ops.clip(cols, 0, w - 1), False)
        in_map = ops.logical_and(
            ops.logical_and(rows >= 0, rows < h)[:, :, None, None],
            ops.logical_and(cols >= 0, cols < w)[:, None, :, None],
        )
        base = ops.where(in_map, base, ops.cast(fill, base.dtype))
        mask = ops.cast(in_map, base.dtype)
    return ops.where(in_patch, pasted, base), mask


def _slide(layer, x, mask):
    """The layer on a window that already holds its padding: 'valid' arithmetic."""
    import keras

    name = type(layer).__name__
    strides = tuple(np.broadcast_to(layer.strides, 2))
    if name in ("MaxPooling2D", "AveragePooling2D"):
        size = tuple(np.broadcast_to(layer.pool_size, 2))
        if name == "MaxPooling2D":
            return keras.ops.max_pool(x, size, strides, "valid")
        y = keras.ops.average_pool(x, size, strides, "valid")
        if mask is not None and layer.padding == "same":
            # 'same' average pooling divides by the in-map values only, not the window size.
            y = y / keras.ops.average_pool(mask, size, strides, "valid")
        return y
    dilation = tuple(np.broadcast_to(layer.dilation_rate, 2))
    if name == "Conv2D":
        y = keras.ops.conv(x, layer.kernel, strides, "valid", dilation_rate=dilation)
    elif name == "DepthwiseConv2D":
        y = keras.ops.depthwise_conv(x, layer.kernel, strides, "valid", dilation_rate=dilation)
    else:
        y = keras.ops.separable_conv(
            x,
            layer.depthwise_kernel,
            layer.pointwise_kernel,
            strides=strides,
            padding="valid",
            dilation_rate=dilation,
        )
    if layer.use_bias:
        y = y + layer.bias
    return layer.activation(y) if layer.activation is not None else y


def _inside(offsets, size, shape):
    """Whether a window slot stays inside the map at every position (no padding to build)."""
    off = np.asarray(offsets)
    return bool(
        off.min() >= 0
        and off[:, 0].max() + size[0] <= shape[1]
        and off[:, 1].max() + size[1] <= shape[2]
    )


def make_runner(plan, shapes, clean_ids):
    """A function ``(x, offsets, cleans) -> scores`` that runs the plan (trace it once).

    Parameters
    ----------
    plan : Plan
    shapes : dict
        Tensor id -> shape for one image.
    clean_ids : list of int
        The tensor ids whose clean values come in ``cleans``, in that order.
    """
    ops = _ops()
    order = {tid: k for k, tid in enumerate(clean_ids)}
    slot_of: dict = {}  # tensor id -> box slot, for the region tensors
    inside = {}
    for step in plan.steps:
        for slot, _ in step.windows:
            src = shapes[step.inputs[0]]
            inside[slot] = _inside(plan.offsets[slot], plan.sizes[slot], src)

    def run(x, offsets, cleans):
        regions: dict = {}
        full: dict = {}

        def to_full(tid):
            if tid not in full:
                slot = slot_of[tid]
                clean = cleans[order[tid]]
                zero = ops.zeros_like(offsets[:, slot])
                h, w = int(clean.shape[1]), int(clean.shape[2])
                full[tid], _ = _window(
                    clean,
                    regions[tid],
                    offsets[:, slot],
                    plan.sizes[slot],
                    zero,
                    (h, w),
                    0.0,
                    True,
                )
            return full[tid]

        for step in plan.steps:
            node = step.node
            if step.kind == "input":
                slot_of[step.output] = step.slot
                rows = _indices(offsets[:, step.slot, 0], plan.sizes[step.slot][0])
                cols = _indices(offsets[:, step.slot, 1], plan.sizes[step.slot][1])
                regions[step.output] = _take(x, rows, cols, True)
                full[step.output] = x
                continue
            if step.kind == "full":
                values = {tid: to_full(tid) for tid in step.inputs}
                args, kwargs = node.arguments.fill_in(values)
                outs = node.operation(*args, **kwargs)
                outs = outs if isinstance(outs, (list, tuple)) else [outs]
                for t, y in zip(node.outputs, outs, strict=False):
                    full[id(t)] = y
                continue
            slot_of[step.output] = step.slot
            if step.kind == "pointwise":
                y = node.operation(regions[step.inputs[0]])
            elif step.kind == "pad":
                y = regions[step.inputs[0]]
            else:
                wins = []
                for tid, (w_slot, fill) in zip(step.inputs, step.windows, strict=True):
                    src = slot_of[tid]
                    wins.append(
                        _window(
                            cleans[order[tid]],
                            regions[tid],
                            offsets[:, src],
                            plan.sizes[src],
                            offsets[:, w_slot],
                            plan.sizes[w_slot],
                            fill,
                            inside[w_slot],
                        )
                    )
                if step.kind == "merge":
                    y = node.operation([w for w, _ in wins])
                else:
                    y = _slide(node.operation, *wins[0])
            regions[step.output] = y
        return to_full(plan.output) if plan.output in regions else full[plan.output]

    return run
