"""The incremental pass against its own earlier version, in one process (loaded machines).

On a machine shared with other work the floor moves 2-10x between runs, so two versions of the
incremental pass are only comparable inside one process: this script extracts the plan and
runtime of an earlier commit (``git show``) into a temporary package, builds both passes for
the same model, image and grid, and times the floor, the earlier pass and the current one
alternated on the same prepared batches (median of ``--rounds``). TensorFlow; random weights
(timing does not depend on them); 224x224, patch 16, stride 4.

Usage::

    python -m benchmarks.bench_incremental_before resnet50 --before 96c201a
    python -m benchmarks.bench_incremental_before vgg16 --before 96c201a --batch 16
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SIZE, PATCH, STRIDE = 224, 16, 4
MODELS = {"resnet50": ("ResNet50", "resnet50"), "vgg16": ("VGG16", "vgg16")}


def earlier(commit):
    """The plan and runtime modules of ``commit``, as the package ``earlier_incremental``."""
    folder = Path(tempfile.mkdtemp(prefix="incremental_before_"))
    for name in ("plan", "regions", "runtime"):
        path = f"occlusion_widget/engine/incremental/{name}.py"
        text = subprocess.run(
            ["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        (folder / f"{name}.py").write_bytes(text)
    package = types.ModuleType("earlier_incremental")
    package.__path__ = [str(folder)]
    sys.modules["earlier_incremental"] = package
    import earlier_incremental.plan
    import earlier_incremental.runtime

    return earlier_incremental.plan, earlier_incremental.runtime


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("--before", required=True, help="the earlier commit")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    old_plan, old_runtime = earlier(args.before)

    import keras
    import numpy as np
    import tensorflow as tf

    from occlusion_widget.engine import make_forward, validate_params
    from occlusion_widget.engine.incremental import make_incremental
    from occlusion_widget.engine.incremental.backends import compile_runner
    from occlusion_widget.engine.incremental.forward import IncrementalForward, _clean_pass
    from occlusion_widget.engine.incremental.plan import graph_nodes

    cls, module = MODELS[args.model]
    net = getattr(keras.applications, cls)(weights=None, input_shape=(SIZE, SIZE, 3))
    prep = getattr(keras.applications, module).preprocess_input
    image = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    params = validate_params(image, patch_size=PATCH, stride=STRIDE)
    grid, fill, batch = params.grid, params.baseline, args.batch
    base = make_forward(net, prep, batch_shape=(batch, SIZE, SIZE, 3))
    clean = base.prepare(params.image.pixels[None].copy())[0].astype(np.float32)
    new = make_incremental(net, base, clean, grid)
    graph, nodes = graph_nodes(net)
    values = _clean_pass(nodes, graph, tf.constant(clean[None]))
    shapes = {k: tuple(int(s) for s in v.shape) for k, v in values.items()}
    cells = np.arange(grid.total)
    tops, lefts = grid.tops[cells // grid.cols], grid.lefts[cells % grid.cols]
    plan = old_plan.make_plan(net, shapes, tops, lefts, grid.patch_size, old_plan.FULL_SHARE)
    ids = sorted(plan.needs_clean)
    cleans = [values[t] for t in ids]
    run = old_runtime.make_runner(plan, shapes, ids)
    fn = compile_runner("tensorflow", run, net, clean.shape, len(plan.offsets), cleans)
    old = IncrementalForward(base, plan, fn, cleans, clean)

    order = grid.order()
    start = grid.total // 3  # one batch, away from the first rows
    batch_cells = order[start : start + batch]
    raw = np.repeat(params.image.pixels[None], batch, axis=0)
    for j, cell in enumerate(batch_cells):
        top, left = grid.tops[cell // grid.cols], grid.lefts[cell % grid.cols]
        raw[j, top : top + PATCH, left : left + PATCH] = fill[
            top : top + PATCH, left : left + PATCH
        ]
    x = base.prepare(raw)

    def incremental(inc):
        def go():
            inc.set_cells(batch_cells)
            return inc.run(x)

        return go

    passes = {"floor": lambda: base.run(x), "before": incremental(old), "after": incremental(new)}
    want = passes["floor"]()
    diff = {k: float(np.abs(passes[k]() - want).max()) for k in ("before", "after")}
    times: dict = {k: [] for k in passes}
    for _ in range(args.rounds):
        for key, go in passes.items():
            t0 = time.perf_counter()
            go()
            times[key].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"| {cls} | {os.getloadavg()[0]:.1f} | {1000 * med['floor'] / batch:.1f} | "
        f"{med['before'] / med['floor']:.2f} | {med['after'] / med['floor']:.2f} | "
        f"{plan.flop_fraction:.2f} -> {new.plan.flop_fraction:.2f} | "
        f"{diff['before']:.1e} / {diff['after']:.1e} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
