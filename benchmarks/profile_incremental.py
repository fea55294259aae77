"""Where the incremental pass spends its time, per op kind, against the floor (TensorFlow).

Traces the compiled incremental function and the model's own batched forward pass for the
same batch, freezes both graphs (weights as constants), runs each in a TensorFlow session with
full tracing, and sums the time of every executed node by what it does: convolutions and
matrix products ("conv"), the per-item gathers that build windows and rebase regions
("gather"), the selects and masks around them ("select/mask"), element-wise arithmetic and
activations ("elementwise"), pooling, and the rest. The incremental graph is also split by the
step that issued the op (the runtime's name scopes: ``conv``, ``merge``, ``pointwise``,
``full``...). Node times overlap where the executor runs ops in parallel, so the shares are of
summed op time, not of the wall time (also printed).

Usage::

    python -m benchmarks.profile_incremental --models resnet50 vgg16
    python -m benchmarks.profile_incremental --models resnet50 --batch 32 --stride 4 --runs 3
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time

from benchmarks.bench_incremental import MODELS, PATCH, case

KINDS = {
    "conv": ("Conv2D", "DepthwiseConv2dNative", "_FusedConv2D", "MatMul", "_FusedMatMul"),
    "gather": ("GatherV2", "GatherNd", "ResourceGather", "StridedSlice", "Slice", "Pad"),
    "select/mask": ("Select", "SelectV2", "LogicalAnd", "GreaterEqual", "Less", "Cast"),
    "pool": ("MaxPool", "AvgPool"),
    "concat/copy": ("ConcatV2", "Pack", "Tile", "BroadcastTo", "Identity", "Reshape"),
}
ELEMENTWISE = ("Add", "AddV2", "Mul", "Sub", "Relu", "Relu6", "BiasAdd", "RealDiv", "Rsqrt")


def kind_of(op_type):
    for kind, types in KINDS.items():
        if op_type in types:
            return kind
    return "elementwise" if op_type in ELEMENTWISE else "other"


def profile_graph(fn, args, runs):
    """Summed op micros by op kind and by top-level scope, and the median wall ms.

    ``fn(*args)`` runs under TensorFlow's profiler; every op event of its compute threads
    (named ``node:OpType``) is counted.
    """
    import glob
    import shutil
    import tempfile

    import tensorflow as tf
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    fn(*args)  # warm-up
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(*args)
        walls.append(1000 * (time.perf_counter() - t0))
    by_kind, by_scope = collections.Counter(), collections.Counter()
    logdir = tempfile.mkdtemp(prefix="profile_incremental_")
    try:
        tf.profiler.experimental.start(logdir)
        for _ in range(runs):
            fn(*args)
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        space.ParseFromString(
            open(glob.glob(f"{logdir}/**/*.xplane.pb", recursive=True)[0], "rb").read()
        )
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for ev in line.events:
                name = plane.event_metadata[ev.metadata_id].name
                if ":" not in name or "::" in name:
                    continue
                node, op_type = name.rsplit(":", 1)
                if op_type in ("ReadVariableOp", "Const", "NoOp", "_Arg", "_Retval", "Identity"):
                    continue
                micros = ev.duration_ps / 1e6 / runs
                by_kind[kind_of(op_type)] += micros
                scope = node.split("/")[0] if "/" in node else "(top)"
                scope = scope.rstrip("_0123456789") or scope
                by_scope[scope] += micros
                by_kind_type[f"{scope}/{op_type}"] += micros
    return by_kind, by_scope, statistics.median(walls)


by_kind_type: collections.Counter = collections.Counter()


def table(title, counter, wall):
    total = sum(counter.values()) or 1.0
    print(f"\n{title}: wall {wall:.0f} ms, summed op time {total / 1000:.0f} ms")
    print("| kind | ms | share |\n|---|---|---|")
    for kind, micros in counter.most_common():
        print(f"| {kind} | {micros / 1000:.1f} | {micros / total:.0%} |")


def bench(name, stride, batch, runs):
    import keras
    import numpy as np
    import tensorflow as tf

    from occlusion_widget.engine.incremental import make_incremental

    keras.utils.set_random_seed(0)
    net, params, base, clean = case(name, stride, batch)
    grid, fill = params.grid, params.baseline
    inc = make_incremental(net, base, clean, grid)
    cells = grid.order()[grid.total // 3 : grid.total // 3 + batch]
    raw = np.repeat(params.image.pixels[None], batch, axis=0)
    for j, cell in enumerate(cells):
        top, left = grid.tops[cell // grid.cols], grid.lefts[cell % grid.cols]
        raw[j, top : top + PATCH, left : left + PATCH] = fill[
            top : top + PATCH, left : left + PATCH
        ]
    x = base.prepare(raw).astype(np.float32)
    offsets = np.stack([off[cells] for off in inc.plan.offsets], axis=1)
    share = inc.plan.flop_fraction
    print(f"\n## {MODELS[name][0]}, stride {stride}, batch {batch}, FLOP share {share:.2f}")
    cleans = [np.asarray(c) for c in inc._cleans]
    inc_args = (tf.constant(x), tf.constant(offsets), [tf.constant(c) for c in cleans])
    got = inc._fn(*inc_args)
    floor_fn = tf.function(lambda t: net(t, training=False), jit_compile=False)
    want = floor_fn(tf.constant(x))
    print(f"max abs diff {float(np.abs(np.asarray(got) - np.asarray(want)).max()):.1e}")
    by_kind_type.clear()
    f_kind, _, f_wall = profile_graph(floor_fn, (tf.constant(x),), runs)
    floor_types = dict(by_kind_type)
    by_kind_type.clear()
    i_kind, i_scope, i_wall = profile_graph(inc._fn, inc_args, runs)
    print(
        "op types, floor:",
        {k: round(v / 1000) for k, v in sorted(floor_types.items(), key=lambda kv: -kv[1])[:12]},
    )
    print("op types, incremental:", {k: round(v / 1000) for k, v in by_kind_type.most_common(12)})
    table("floor by op kind", f_kind, f_wall)
    table("incremental by op kind", i_kind, i_wall)
    table("incremental by step", i_scope, i_wall)
    print(f"\nwall ratio (session, one batch): {i_wall / f_wall:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet50", "vgg16"], choices=MODELS)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    for name in args.models:
        bench(name, args.stride, args.batch, args.runs)


if __name__ == "__main__":
    main()
