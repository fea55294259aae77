"""Run a :class:`~.plan.Plan` on a batch, on any Keras backend: region tensors, windows, maps.

A tensor kept as a region is a ``(B, h, w, C)`` batch of boxes, box ``b`` starting at the
position's own offset. A layer with a window reads its input box from the clean tensor of the
unoccluded image with the occluded region pasted in (both gathered with per-item indices, so the
batch stays one tensor of fixed shape), and zeros (or -inf for max pooling) outside the map:
exactly the padding the whole-map layer sees, but only at the map's true borders.

Written once on ``keras.ops`` (the same graph or kernels as the framework's own ops once traced
or jitted). Every window is one ``take`` from a flat table of pixels (the region's, the clean
map's and a fill pixel), indexed by small int tensors without a channel axis: ``keras.ops`` has
no batched 2-D gather, and a gather per axis would read whole rows of the clean map first. A
window that is the source box itself (a 1x1 convolution, an Add's branch already on the union
box) is the region as it is: no gather at all.
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


def _flat_rows(rows, cols, h, w):
    """Each item's ``rows x cols`` window as row numbers of :func:`_flat` of a ``(B, h, w, C)``
    tensor: ``(B, len(rows), len(cols))`` ints."""
    items = _ops().arange(_ops().shape(rows)[0], dtype=rows.dtype)[:, None, None]
    return (items * h + rows[:, :, None]) * w + cols[:, None, :]


def _flat(t):
    """``(n, h, w, C)`` as a ``(n * h * w, C)`` table of pixels (a reshape: no copy)."""
    return _ops().reshape(t, (-1, int(t.shape[-1])))


def _window(clean, patch, p_off, p_size, w_off, w_size, fill, inside):
    """The ``w_size`` window at ``w_off`` of (clean with ``patch`` pasted at ``p_off``).

    One gather per window: the patch pixels and the clean pixels (and a fill pixel, where the
    window can leave the map) form one table, and each window pixel's row in it is worked out
    on small int tensors without a channel axis. No window-sized select, no full-width
    intermediate rows (profile: benchmarks/profile_incremental.py).

    Returns the window and, when it can leave the map, a ``(B, h, w, 1)`` float mask of the
    in-map values.
    """
    ops = _ops()
    h, w = int(clean.shape[1]), int(clean.shape[2])
    ph, pw = p_size
    rows, cols = _indices(w_off[:, 0], w_size[0]), _indices(w_off[:, 1], w_size[1])
    pr, pc = rows - p_off[:, :1], cols - p_off[:, 1:]
    in_patch = ops.logical_and(
        ops.logical_and(pr >= 0, pr < ph)[:, :, None], ops.logical_and(pc >= 0, pc < pw)[:, None, :]
    )
    at_patch = _flat_rows(ops.clip(pr, 0, ph - 1), ops.clip(pc, 0, pw - 1), ph, pw)
    at_clean = rows[:, :, None] * w + cols[:, None, :]
    patch_rows = _flat(patch)
    tables = [patch_rows, _flat(clean)]
    mask = None
    if not inside:
        in_map = ops.logical_and(
            ops.logical_and(rows >= 0, rows < h)[:, :, None],
            ops.logical_and(cols >= 0, cols < w)[:, None, :],
        )
        at_clean = ops.where(in_map, at_clean, h * w)  # the fill pixel, after the map
        tables.append(ops.full((1, int(clean.shape[-1])), fill, dtype=clean.dtype))
        mask = ops.cast(in_map, clean.dtype)[..., None]
    at = ops.where(in_patch, at_patch, ops.shape(patch_rows)[0] + at_clean)
    return ops.take(ops.concatenate(tables, axis=0), at, axis=0), mask


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
        y = _bias_add(y, layer.bias)
    return layer.activation(y) if layer.activation is not None else y


def _bias_add(y, bias):
    """``y + bias``; on TensorFlow as ``BiasAdd``, which Grappler fuses into the convolution
    before it (an ``AddV2`` on a batch of unknown size stays a separate pass over the box)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.nn.bias_add(y, bias)
    return y + bias


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
    import keras

    ops = _ops()
    order = {tid: k for k, tid in enumerate(clean_ids)}
    slot_of: dict = {}  # tensor id -> box slot, for the region tensors
    inside = {}
    for step in plan.steps:
        for slot, _ in step.windows:
            src = shapes[step.inputs[0]]
            inside[slot] = _inside(plan.offsets[slot], plan.sizes[slot], src)

    same: dict = {}  # (slot, slot) -> whether the two boxes are one at every position

    def same_box(a, b):
        if (a, b) not in same:
            same[a, b] = plan.sizes[a] == plan.sizes[b] and np.array_equal(
                plan.offsets[a], plan.offsets[b]
            )
        return same[a, b]

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

        def do_step(step):
            node = step.node
            if step.kind == "input":
                slot_of[step.output] = step.slot
                rows = _indices(offsets[:, step.slot, 0], plan.sizes[step.slot][0])
                cols = _indices(offsets[:, step.slot, 1], plan.sizes[step.slot][1])
                at = _flat_rows(rows, cols, int(x.shape[1]), int(x.shape[2]))
                regions[step.output] = ops.take(_flat(x), at, axis=0)
                full[step.output] = x
                return
            if step.kind == "full":
                values = {tid: to_full(tid) for tid in step.inputs}
                args, kwargs = node.arguments.fill_in(values)
                outs = node.operation(*args, **kwargs)
                outs = outs if isinstance(outs, (list, tuple)) else [outs]
                for t, y in zip(node.outputs, outs, strict=False):
                    full[id(t)] = y
                return
            slot_of[step.output] = step.slot
            if step.kind == "pointwise":
                y = node.operation(regions[step.inputs[0]])
            elif step.kind == "pad":
                y = regions[step.inputs[0]]
            else:
                wins = []
                for tid, (w_slot, fill) in zip(step.inputs, step.windows, strict=True):
                    src = slot_of[tid]
                    if same_box(src, w_slot):  # a 1x1 convolution, a branch already on the union
                        wins.append((regions[tid], None))
                        continue
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

        for step in plan.steps:
            with keras.name_scope(step.kind):  # the profile groups ops by step kind
                do_step(step)
        return to_full(plan.output) if plan.output in regions else full[plan.output]

    return run
